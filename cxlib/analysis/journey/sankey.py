"""Multi-step journey flows for a Sankey chart: how customers move from their first step to the next ones.

Definition: docs/metrics.md (transitions, paths) for the shared rules; the function's docstring
states this flow's own. The chart is ``cxlib.charts.flow.chart_sankey``.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.journey.common import LEVELS, _check_choice, _check_int, _date_bounds
from cxlib.analysis.needs import LOAD
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.privacy.suppression import order_published

OTHER = "Other"
ENDED = "(ended)"
COLUMNS = ["step", "source", "target", "customers", "source_customers", "target_customers"]

_IN_RANGE = ("SELECT count(*) FROM events_ordered "
             "WHERE ($start IS NULL OR ts >= $start) AND ($end IS NULL OR ts < $end)")


def sankey_links(
    con: duckdb.DuckDBPyConnection,
    *,
    steps: int = 4,
    top: int = 5,
    level: str = "touchpoint",
    ended: bool = True,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Links between the first `steps` steps of customers' journeys, for a Sankey (flow) chart.

    *Definition*: each customer's events in `start`..`end` (first day included, last day included),
    in time order (``events_ordered``), as touchpoints (``level='touchpoint'``) or stages
    (``level='stage'``), with consecutive repeats collapsed (a, a, b is the journey a, b, as in
    PostHog paths); step k is the k-th element of that journey. At each step the `top` nodes with
    most customers are kept (ties by name) if they have at least `min_group_size` customers; every
    other one is lumped into ``'Other'``. A link
    ``(step, source, target)`` counts the ``customers`` at `source` in step k and at `target` in step
    k + 1. A journey that stops before step k + 1 goes to ``'(ended)'`` (``ended=True``; that node
    has no onward link) or is dropped (``ended=False``). ``source_customers`` = customers at the
    source node in step k, ``target_customers`` = customers at the target node in step k + 1.

    Flows are conserved: the links into a node add up to its ``target_customers``; the links out of
    it in the next step add up to its size (``ended=True``) or less (``ended=False``).

    Links of fewer than `min_group_size` customers are suppressed, with complements in the links
    out of each node and into each node (whose totals are published); node totals below it are
    blanked. Order: step, then shown links by customers (most first), then suppressed links by
    source and target.

    Returns ``step, source, target, customers, source_customers, target_customers, suppressed``.
    Raises CxDataError when there are no events in the range (none loaded, or a range without any).

    >>> links = sankey_links(con, steps=4, top=5)  # doctest: +SKIP
    >>> chart_sankey(links)  # doctest: +SKIP
    """
    _check_int(steps, "steps", low=2)
    _check_int(top, "top")
    _check_choice(level, LEVELS, "level")
    if not isinstance(ended, bool):
        raise CxInputError(f"ended must be True (journeys that stop flow into '(ended)') or False (dropped), "
                           f"got {ended!r}")
    k = check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "journey_sankey", {"start": lo, "end": hi, "level": level, "steps": steps, "top": top,
                                          "ended": ended, "min_size": k})
    if out.empty:
        _check_events(con, lo, hi, start, end)
    out = out[COLUMNS]
    out = suppress(out, n="customers", values=[], min_group_size=k,
                   margins=[["step", "source"], ["step", "target"]])
    for col in ("source_customers", "target_customers"):
        counts = out[col].astype("Int64")
        out[col] = counts.mask((counts > 0) & (counts < k))
    return order_published(out, by=["customers"], ascending=False, keys=["source", "target"], groups=["step"])


def _check_events(con, lo, hi, start, end) -> None:
    """Raise CxDataError when no event lies in the range (the store has none, or none then)."""
    if con.execute(_IN_RANGE, {"start": lo, "end": hi}).fetchone()[0]:
        return
    if not con.execute("SELECT count(*) FROM events_ordered").fetchone()[0]:
        raise CxDataError(f"the store has no events (a clickstream or interaction log) to draw journeys from; "
                          f"load them with {LOAD['events']}")
    raise CxDataError(f"no events between {start or 'the first event'} and {end or 'the last event'}: "
                      "choose a range that holds events")
