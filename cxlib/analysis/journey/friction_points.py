"""Friction points: touchpoints after which customers stop and that they rate poorly.

Definition: docs/metrics.md (friction).
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.journey.common import _date_bounds, _horizon, _ratio, parse_window
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


def friction(
    con: duckdb.DuckDBPyConnection,
    *,
    gap: str | timedelta = "30 minutes",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Friction points: touchpoints (per channel) ranked by drop-off after them combined with low ratings.

    *Definition*: an occurrence of a touchpoint is followed by a *drop-off* when the customer's next
    event is missing or more than `gap` later (default 30 minutes, the usual web-analytics session
    timeout; exactly at the limit is a continuation); occurrences less than `gap` before the end of
    the data are not judged (censored). ``dropoff_rate`` = dropped_off / occurrences.
    ``dissatisfaction`` = 1 - CSAT (share of answers 4-5 about this touchpoint and channel), or,
    where there is no CSAT, (7 - mean CES) / 6; blank with fewer than `min_group_size` answers.
    ``friction_score`` = the mean of the percentile ranks (0-1, ties averaged) of dropoff_rate and
    dissatisfaction among the shown rows that have both; rows without ratings get no score and come
    last. Sorted by friction_score, worst first, then the rows without a score by dropoff_rate, highest
    first (so on a store without ratings the ranking is by drop-off alone). A row of fewer than
    `min_group_size` customers is suppressed (no complement: a customer is in many rows) and comes
    last, by touchpoint and channel.

    Returns ``touchpoint, channel, stage, occurrences, customers, dropped_off, dropoff_rate, csat_n,
    csat, ces_n, ces, dissatisfaction, friction_score, suppressed``.
    """
    gap_s = parse_window(gap, name="gap", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "friction", {"start": lo, "end": hi, "gap_seconds": gap_s, "horizon": _horizon(con, hi)})
    out["dropoff_rate"] = _ratio(out["dropped_off"], out["occurrences"])
    out["csat"] = out["csat"].astype(float).where(out["csat_n"] >= min_group_size)
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out["dissatisfaction"] = (1 - out["csat"]).fillna((7 - out["ces"]) / 6)
    # A customer visits many touchpoints: the rows add up to nothing published, so no complement.
    out = suppress(out, n="customers",
                   values=["occurrences", "dropped_off", "dropoff_rate", "csat", "ces", "dissatisfaction"],
                   min_group_size=min_group_size, margins=[])
    scored = ~out["suppressed"] & out["dropoff_rate"].notna() & out["dissatisfaction"].notna()
    ranks = pd.concat([out.loc[scored, "dropoff_rate"].rank(pct=True),
                       out.loc[scored, "dissatisfaction"].rank(pct=True)], axis=1)
    out["friction_score"] = ranks.mean(axis=1).reindex(out.index)
    cols = ["touchpoint", "channel", "stage", "occurrences", "customers", "dropped_off", "dropoff_rate", "csat_n",
            "csat", "ces_n", "ces", "dissatisfaction", "friction_score", "suppressed"]
    unrated_dropoff = out["dropoff_rate"].where(out["friction_score"].isna())  # orders the rows without a score
    out = out.assign(_unrated=unrated_dropoff).sort_values(
        ["friction_score", "_unrated", "touchpoint", "channel"], ascending=[False, False, True, True],
        na_position="last", kind="stable")
    return out[cols].reset_index(drop=True)
