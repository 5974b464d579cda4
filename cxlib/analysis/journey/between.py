"""Paths between a start point and an end point: what customers did between their first visit to one
touchpoint and the first visit to another after it (PostHog's paths with both a start and an end point).

Definition: docs/metrics.md (Paths, "Paths between two touchpoints").
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.journey.common import _check_int, _check_touchpoints, _date_bounds, _horizon, _ratio, segment_rows
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.privacy.suppression import order_published


def paths_between(
    con: duckdb.DuckDBPyConnection,
    start_touchpoint: str,
    end_touchpoint: str,
    *,
    steps: int = 5,
    top: int = 10,
    by: str | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """The paths customers took from `start_touchpoint` to `end_touchpoint`, and how many got there.

    *Definition* (PostHog's paths with both ``start_point`` and ``end_point``, read in
    ``ee/clickhouse/queries/paths/paths.py``: ``get_target_clause`` takes ``indexOf`` of the start
    point in the compacted path, slices from there, then ``indexOf`` of the end point in that slice;
    ``get_target_point_filter`` keeps paths where both are found): each customer's events in
    `start`..`end`, in the order of ``events_ordered`` (time, then touchpoint, then channel), with
    consecutive repeats collapsed (PostHog's ``compact_path``); the **first** occurrence of
    `start_touchpoint`, then the **first** occurrence of `end_touchpoint` after it. The path is what
    lies strictly between the two (both left out; ``[]`` = the end came right after the start). A
    path of more than `steps` touchpoints shows its first ``(steps + 1) // 2`` and last ``steps // 2``
    around ``'...'`` (PostHog collapses the middle of a path over its step limit the same way).
    Unlike PostHog, journeys are not cut into 30-minute sessions: a customer's journey is all their
    events in the range.

    Rows per segment: the `top` paths of the customers who reached the end (``reached=True``), most
    customers first, then one row ``reached=False`` (``path`` None) for the customers who had the
    start point but no end point after it.

    ``customers`` = customers with that path; ``share`` = customers / customers with the start point
    in the range (the segment's; all rows together sum to 1, so 1 - the share of the not-reached row
    is the share who reached the end from the start); ``share_of_reached`` = customers / customers who
    reached the end (NaN on the not-reached row).

    `by`: a customers column or ``'nps_group'`` (the NPS group at the start of the customer's
    journey, ``common.segment_rows``); a first column ``segment``, without `by` none. Rows of fewer
    than `min_group_size` customers are suppressed (:func:`cxlib.privacy.suppress`, complementary
    within each segment, as :func:`paths`), shown rows first.

    Raises CxDataError when no customer has `start_touchpoint` in the range.

    >>> paths_between(con, "product_page", "payment", steps=4)  # doctest: +SKIP
    """
    for name, value in (("start_touchpoint", start_touchpoint), ("end_touchpoint", end_touchpoint)):
        if not isinstance(value, str):
            raise CxInputError(f"{name} must be one touchpoint name, e.g. 'checkout', got {value!r}")
    start_touchpoint = _check_touchpoints(con, [start_touchpoint], name="start_touchpoint")[0]
    end_touchpoint = _check_touchpoints(con, [end_touchpoint], name="end_touchpoint")[0]
    if start_touchpoint == end_touchpoint:
        raise CxInputError(f"start_touchpoint and end_touchpoint are both {start_touchpoint!r}: give two different "
                           "touchpoints (for what follows one touchpoint use paths(..., direction='from'))")
    _check_int(steps, "steps")
    _check_int(top, "top")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    by_mode, segments = segment_rows(con, by, horizon=_horizon(con, hi), start=lo, end=hi)
    raw = sql.run(con, "paths_between",
                  {"start_touchpoint": start_touchpoint, "end_touchpoint": end_touchpoint, "steps": steps,
                   "start": lo, "end": hi, "top": top, "by_mode": by_mode}, {"segments": segments})
    if raw.empty:
        raise CxDataError(f"no customer has {start_touchpoint!r} between {start or 'the first event'} and "
                          f"{end or 'the last event'}: choose a start touchpoint (or a range) that holds events")
    # every segment gets its not-reached row, 0 when everybody reached the end
    totals = raw.groupby("segment", sort=False)[["started", "reached_customers"]].first()
    missing = totals.index.difference(raw.loc[~raw["reached"].astype(bool), "segment"])
    if len(missing):
        zero = pd.DataFrame({"segment": missing, "reached": False, "path": None, "customers": 0})
        zero = zero.join(totals, on="segment")
        raw = pd.concat([raw, zero], ignore_index=True)
    raw["reached"] = raw["reached"].astype(bool)
    raw["path"] = [None if not r else [str(x) for x in p] for r, p in zip(raw["reached"], raw["path"])]
    raw["share"] = _ratio(raw["customers"], raw["started"])
    raw["share_of_reached"] = _ratio(raw["customers"], raw["reached_customers"]).where(raw["reached"], np.nan)
    out = raw[["segment", "reached", "path", "customers", "share", "share_of_reached"]].astype({"customers": "int64"})
    out = suppress(out, n="customers", values=["share", "share_of_reached"], min_group_size=min_group_size,
                   within=["segment"])
    out["_not_reached"] = ~out["reached"]
    out = order_published(out, by=["_not_reached", "customers"], ascending=[True, False],
                          keys=["_not_reached", "path"], groups=["segment"])
    out = out.drop(columns="_not_reached").reset_index(drop=True)
    return out.drop(columns="segment") if by is None else out
