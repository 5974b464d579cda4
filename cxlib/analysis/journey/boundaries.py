"""Where journeys start and end: pm4py's start and end activities, per touchpoint or stage.

Definition: docs/metrics.md (Funnel, "Start and end of journeys").
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey.common import LEVELS, _check_choice, _date_bounds, _ratio
from cxlib.analysis.needs import LOAD
from cxlib.errors import CxDataError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.privacy.suppression import order_published

_POSITIONS = ("start", "end")


def start_end(
    con: duckdb.DuckDBPyConnection,
    *,
    start=None,
    end=None,
    level: str = "touchpoint",
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """How many customers' journeys start and end at each touchpoint (or stage).

    *Definition* (pm4py's start and end activities, ``pm4py.get_start_activities`` /
    ``get_end_activities``, which count the cases whose first / last event, by time, is that
    activity): a case is one customer's events in `start`..`end`; the customer's journey starts at
    the touchpoint of its first event and ends at that of its last. Events at the same time are
    ordered as in ``events_ordered`` (by touchpoint, then channel; pm4py keeps a log's row order,
    which a store does not have). A customer with one event starts and ends at it.
    ``level='stage'`` uses each event's stage ('unmapped' without one).

    ``customers`` = the cases starting (``position='start'``) or ending (``'end'``) at ``node``;
    ``share`` = customers / all customers with an event in the range (each position sums to 1);
    ``ci_lower``, ``ci_upper`` = its 95% Wilson interval. A node nobody starts (or ends) at has no
    row, as in pm4py's dictionaries. Nodes of fewer than `min_group_size` customers are suppressed,
    complementary within each position (its nodes add up to all customers); within a position,
    shown nodes by customers (most first), then suppressed nodes by name.

    Raises CxDataError when no event lies in the range (none loaded, or none then).

    Returns ``position, node, customers, share, ci_lower, ci_upper, suppressed`` (starts first).

    >>> start_end(con, start="2026-01-01", end="2026-03-31")  # doctest: +SKIP
    """
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "start_end", {"start": lo, "end": hi, "level": level})
    if out.empty:
        if not con.execute("SELECT count(*) FROM events_ordered").fetchone()[0]:
            raise CxDataError("the store has no events (a clickstream or interaction log) to find where journeys "
                              f"start and end; load them with {LOAD['events']}")
        raise CxDataError(f"no events between {start or 'the first event'} and {end or 'the last event'}: "
                          "choose a range that holds events")
    out["share"] = _ratio(out["customers"], out["cases"])
    out["ci_lower"], out["ci_upper"] = wilson_bounds(out["customers"], out["cases"])
    out = out[["position", "node", "customers", "share", "ci_lower", "ci_upper"]].astype({"customers": "int64"})
    out = suppress(out, n="customers", values=["share", "ci_lower", "ci_upper"], min_group_size=min_group_size,
                   within=["position"])
    out = order_published(out, by=["customers"], ascending=False, keys=["node"], groups=["position"])
    return out
