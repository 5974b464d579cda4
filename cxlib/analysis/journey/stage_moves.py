"""The stage map honest about gaps: how customers come into each journey stage (in order, skipping
stages, coming back from a later stage), who goes back and who jumps over a stage, and the NPS of
answers about each stage's touchpoints, per segment.

Definition: docs/metrics.md (Journey map: gaps, skips and reversals).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.intervals import nps_interval
from cxlib.analysis.journey.common import _date_bounds, _horizon, _ratio, segment_rows
from cxlib.errors import CxDataError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

COUNTS = ["started_here", "from_previous", "skipped_stage", "from_later", "reversed", "skipped_over"]
COLUMNS = ["segment", "stage", "customers", "share", *COUNTS, "reversed_share", "nps_n", "nps", "nps_lower",
           "nps_upper", "suppressed"]


def stage_gaps(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Per stage (and segment): how customers first came into it, who went back, who jumped over it,
    and the NPS of answers about its touchpoints.

    *Definition*: each customer's events in `start`..`end` that have a stage (unmapped touchpoints
    left out), in time order, as a stage sequence with consecutive repeats collapsed; stage order
    awareness, consideration, purchase, service, loyalty. Per stage: ``customers`` who reached it
    (``share`` of the segment's customers with a staged event), split by how they **first** came
    into it: ``started_here`` (their first stage), ``from_previous`` (from the stage just before),
    ``skipped_stage`` (from an earlier stage, skipping at least one), ``from_later`` (back from a
    later stage); these four add up to ``customers``. ``reversed`` = customers who moved from this
    stage to an earlier one at least once (``reversed_share`` of customers); ``skipped_over`` =
    customers who never reached it but moved from a stage before it to one after it. ``nps`` =
    NPS (-100..100) of the NPS answers whose touchpoint maps to the stage (survey_responses.touchpoint),
    95% Wald interval (docs/metrics.md, NPS), blank below `min_group_size` answers (``nps_n``).

    `by`: a customers column (blank -> '(none)') or 'nps_group' (the relationship answer at the
    start of the customer's journey in the range: docs/metrics.md, NPS group at the time of the
    journey); answers count in the answering customer's segment. Rows of fewer than `min_group_size`
    customers are suppressed; with `by`, complementary across the segments of each stage (they add
    up to the stage without `by`). No event with a stage in the range: `CxDataError`.

    Returns ``segment, stage, customers, share, started_here, from_previous, skipped_stage,
    from_later, reversed, skipped_over, reversed_share, nps_n, nps, nps_lower, nps_upper,
    suppressed``: segments in order, stages in stage order.
    """
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    by_mode, segments = segment_rows(con, by, horizon=_horizon(con, hi), start=lo, end=hi)
    out = sql.run(con, "stage_gaps", {"start": lo, "end": hi, "by_mode": by_mode}, {"segments": segments})
    if not int(out["staged_customers"].sum()):
        raise CxDataError("the stage map by stage needs events whose touchpoints have a journey stage (awareness, "
                          "consideration, purchase, service, loyalty) in the range: load a stage map with cx stages "
                          "suggest, then cx ingest touchpoint_stages touchpoint_stages.csv")
    out["share"] = _ratio(out["customers"], out["staged_customers"])
    out["reversed_share"] = _ratio(out["reversed"], out["customers"])
    n, p, d = out["nps_n"].astype(float), out["promoters"].astype(float), out["detractors"].astype(float)
    out["nps"] = ((p - d) / n.where(n > 0) * 100).where(n >= min_group_size)
    bounds = [nps_interval(int(pp), int(dd), int(nn)) if nn >= min_group_size else (np.nan, np.nan)
              for pp, dd, nn in zip(p, d, n)]
    out["nps_lower"] = [b[0] for b in bounds]
    out["nps_upper"] = [b[1] for b in bounds]
    out = out[out["staged_customers"] > 0].reset_index(drop=True)  # a segment with NPS answers but no journey
    out = suppress(out, n="customers",
                   values=["share", *COUNTS, "reversed_share", "nps_n", "nps", "nps_lower", "nps_upper"],
                   min_group_size=min_group_size, **({"within": ["stage"]} if by_mode != "none" else {"margins": []}))
    return out[COLUMNS]
