"""Funnels with PostHog's semantics: attempts from each step-1 event, a conversion window, ordered, strict or
any order, exclusions, breakdowns, and the customers who dropped at a step.

Definition: docs/metrics.md (funnel).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.journey.common import (
    ORDERS,
    _check_choice,
    _check_touchpoints,
    _date_bounds,
    _horizon,
    _ratio,
    _seconds_to_timedelta,
    _segment,
    _wilson,
    parse_window,
)
from cxlib.errors import CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


def _funnel_customers(con, steps, *, window, order, by, exclusions, start, end) -> tuple[list[str], str]:
    steps = _check_touchpoints(con, steps, name="steps", min_len=2)
    _check_choice(order, ORDERS, "order")
    if order == "any" and len(set(steps)) != len(steps):
        raise CxInputError(f"order='any' needs distinct steps, got {steps!r}: a repeated step has no meaning without order")
    exclusions = _check_touchpoints(con, [] if exclusions is None else exclusions, name="exclusions")
    clash = sorted(set(exclusions) & set(steps))
    if clash:
        raise CxInputError(f"exclusions {clash} are also funnel steps: an exclusion must be a different touchpoint")
    seconds = parse_window(window)
    lo, hi = _date_bounds(start, end)
    by_mode, slot = _segment(con, by)
    sql.run(
        con,
        "funnel_customers",
        {
            "steps": steps,
            "exclusions": exclusions,
            "window_seconds": seconds,
            "order": order,
            "start": lo,
            "end": hi,
            "horizon": _horizon(con, hi),
            "by_mode": by_mode,
        },
        {"segment": slot},
    )
    return steps, by_mode


def funnel(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    *,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Conversion through `steps` (touchpoints), PostHog's funnel semantics.

    *Definition*: every occurrence of step 1 starts an attempt; step k counts for that attempt if
    steps 2..k occur in order after it, all within `window` measured from that attempt's step 1;
    a customer's result is the furthest step reached in any attempt (ties: the earliest attempt,
    which also gives the times to convert). With ``window=None`` there is no time limit, and the
    result equals "did step 1, then step 2 after it, ..." from the first occurrence.

    Edge rules (as PostHog): events with the same timestamp count as in order (PostHog compares
    ``step_k_time <= step_k+1_time``), but one event never fills two steps; an event exactly at
    the window limit (step 1 + window) counts. ``order='strict'``: step k+1 must be the customer's
    very next event (any other event in between breaks the attempt; events at the same timestamp
    are ordered by touchpoint, then channel, as in ``events_ordered``). ``order='any'``: an attempt
    starts at any step event and reaches step k when k distinct steps occurred within the window.
    `exclusions`: an attempt with an exclusion event strictly between its step 1 and its last
    reached step is discarded (PostHog's exclusion steps); a customer left with no attempt is not
    in the funnel. Events outside `start`..`end` are ignored.

    Open windows: a customer who stopped before the last step while an attempt's window is still
    open at the end of the data (the store's as-of date, or `end` if earlier) is not a drop: they
    are counted in ``open_window`` at the step after the one they reached and left out of the
    conversion denominators. With ``window=None`` no window ever closes, so nobody is open
    (PostHog's convention: everybody not converted counts as dropped).

    Returns one row per segment and step: ``segment`` ('all' without `by`; `by` may be a
    customers column or 'nps_group' = the latest relationship NPS answer: promoter, passive,
    detractor, or 'no_response'), ``step`` (1..n), ``touchpoint``, ``customers`` (furthest step >=
    step), ``conversion_from_previous`` = customers / (customers + dropped), ``conversion_from_first``
    = customers / (step-1 customers - customers still open before this step), ``ci_lower``,
    ``ci_upper`` (95% Wilson interval of conversion_from_first), ``median_time_to_convert`` (from
    the previous step, a Timedelta), ``open_window``, ``dropped``, ``suppressed``.
    Suppression: a step of fewer than `min_group_size` customers (0 excepted: it is shown) is hidden,
    complementary across the segments of the step; a segment's later steps are hidden with it.
    Counts are ``Int64``.

    >>> funnel(con, ["product_page", "add_to_cart", "checkout"], window="1 day")  # doctest: +SKIP
    """
    check_min_group_size(min_group_size)
    steps, _ = _funnel_customers(
        con, steps, window=window, order=order, by=by, exclusions=exclusions, start=start, end=end
    )
    raw = sql.run(con, "funnel", {"n_steps": len(steps)})
    if raw.empty:
        out = pd.DataFrame(
            {"segment": "all", "step": range(1, len(steps) + 1), "customers": 0, "open_window": 0, "dropped": 0,
             "open_before": 0, "median_seconds": np.nan}
        )
    else:
        out = raw
    out = out.copy()
    out["step"] = out["step"].astype(int)
    out["touchpoint"] = [steps[k - 1] for k in out["step"]]
    first = out.groupby("segment")["customers"].transform("first")
    decided_first = first - out["open_before"]
    out["conversion_from_previous"] = _ratio(out["customers"], out["customers"] + out["dropped"])
    out["conversion_from_first"] = _ratio(out["customers"], decided_first)
    out["ci_lower"], out["ci_upper"] = _wilson(out["customers"], decided_first)
    out["median_time_to_convert"] = _seconds_to_timedelta(out["median_seconds"])
    cols = ["segment", "step", "touchpoint", "customers", "conversion_from_previous", "conversion_from_first",
            "median_time_to_convert", "ci_lower", "ci_upper", "open_window", "dropped"]
    out = out[cols].astype({"customers": "int64", "open_window": "int64", "dropped": "int64"})
    out = out.sort_values(["segment", "step"], kind="stable").reset_index(drop=True)
    return _suppress_funnel(out, min_group_size)


def _suppress_funnel(out: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Small steps hidden, complementary across the segments of each step (they add up to the step
    without a breakdown); a step of 0 customers is shown. A segment's rows after a hidden step are
    hidden too, 0 included: their drops, open windows and conversions would give the hidden count
    back (customers at a step = customers at the next + dropped + open there)."""
    values = ["conversion_from_previous", "conversion_from_first", "median_time_to_convert", "ci_lower", "ci_upper",
              "open_window", "dropped"]
    forced = np.zeros(len(out), dtype=bool)
    while True:
        res = suppress(out, n="customers", values=values, min_group_size=min_group_size, within=["step"],
                       hidden=forced)
        after = res.groupby("segment", sort=False)["suppressed"].transform(
            lambda s: s.cummax().shift(1, fill_value=False)).to_numpy(dtype=bool)
        if not (after & ~forced).any():
            return res
        forced = forced | after


def funnel_dropped(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    *,
    step: int,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """The customers who dropped at `step` of the funnel (analyst use: customer ids, never for reports).

    *Definition*: customers whose furthest step (see :func:`funnel`, same options) is ``step - 1``
    and whose windows are all closed; customers still inside an open window are not drops.
    Returns ``customer_id, segment, reached_step, reached_at`` (time of the last step reached).
    """
    if isinstance(step, bool) or not isinstance(step, int):
        raise CxInputError(f"step must be a whole number (the funnel step, 2..n), got {step!r}")
    n = len(steps) if isinstance(steps, Sequence) and not isinstance(steps, str) else 0
    if n and not 2 <= step <= n:
        raise CxInputError(f"step must be between 2 and {n} (customers drop at a step after the first), got {step}")
    _funnel_customers(con, steps, window=window, order=order, by=by, exclusions=exclusions, start=start, end=end)
    return sql.run(con, "funnel_dropped", {"step": step})
