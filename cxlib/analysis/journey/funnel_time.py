"""Funnels over time: conversion per period of entering step 1 (PostHog's funnel trends) and the time-to-convert
histogram with the median and its interval (PostHog's time to convert).

Definition: docs/metrics.md (funnel). Both run the funnel of :mod:`cxlib.analysis.journey.funnels` (same
steps, window, order, exclusions, `by`) and read its per-customer table.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import binom

from cxlib import sql
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey.common import _check_choice, _ratio, _seconds_to_timedelta
from cxlib.analysis.journey.funnels import POSTHOG_ORDERS, _funnel_customers
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

PERIODS = ("week", "month")


def funnel_trend(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str | AbstractSet[str] | Sequence[str]],
    *,
    period: str = "week",
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    attribution: str | None = None,
    attribution_step: int | None = None,
) -> pd.DataFrame:
    """Conversion over time: per period in which customers entered step 1, how many entered and converted.

    *Definition* (PostHog's funnel "trends" view, posthog/hogql_queries/insights/funnels/funnel_trends.py
    and the funnel UDF's trends.rs: each person's attempts grouped by the start of the interval of
    their step-1 time): attempts as in :func:`funnel` (same `window`, `order` 'ordered' | 'strict' |
    'any', `exclusions`, `start`/`end`); for each customer and period (``'week'``: Monday to Sunday,
    ``'month'``: calendar month) with an attempt whose step 1 falls in it, the best of those
    attempts counts. A customer is in every period in which they entered. ``entered`` = such
    customers, ``converted`` = of them, those whose attempt reached the last step (a conversion
    after the period's end still counts for the period of entry), ``open_window`` = not converted
    and a window from the period still open at the end of the data (left out of the rate, as in
    :func:`funnel`), ``conversion`` = converted / (entered - open_window) with its 95% Wilson
    interval ``ci_lower``, ``ci_upper``; ``median_time_to_convert`` from step 1 to the last step.
    `by`: a customers column, 'nps_group' or 'channel' (with `attribution`, `attribution_step` as
    :func:`funnel`).

    Suppression: a period of a segment with fewer than `min_group_size` entered customers is
    hidden, complementary across the segments of a period.

    Returns ``segment, period`` (the period's first day, a date), ``entered, converted, open_window,
    conversion, ci_lower, ci_upper, median_time_to_convert, suppressed``.
    """
    _check_choice(period, PERIODS, "period")
    check_min_group_size(min_group_size)
    if order not in POSTHOG_ORDERS:
        raise CxInputError(f"funnel_trend needs one of PostHog's orders {list(POSTHOG_ORDERS)}, got order={order!r}")
    labels, _ = _funnel_customers(con, steps, window=window, order=order, by=by, exclusions=exclusions,
                                  start=start, end=end, count="trend", period=period, attribution=attribution,
                                  attribution_step=attribution_step)
    out = sql.run(con, "funnel_trend", {"n_steps": len(labels), "period": period})
    if out.empty:
        raise CxDataError(f"funnel_trend: no customer did step 1 ({labels[0]}) between {start or 'the first event'} "
                          f"and {end or 'the last event'}")
    decided = out["entered"] - out["open_window"]
    out["conversion"] = _ratio(out["converted"], decided)
    out["ci_lower"], out["ci_upper"] = wilson_bounds(out["converted"], decided)
    out["median_time_to_convert"] = _seconds_to_timedelta(out.pop("median_seconds"))
    out["period"] = pd.to_datetime(out["period"]).dt.date
    out = out[["segment", "period", "entered", "converted", "open_window", "conversion", "ci_lower", "ci_upper",
               "median_time_to_convert"]]
    return suppress(out, n="entered", values=["converted", "open_window", "conversion", "ci_lower", "ci_upper",
                                              "median_time_to_convert"],
                    min_group_size=min_group_size, within=["period"])


def _median_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Median and its distribution-free 95% interval (order statistics x(r), x(n-r+1), r the 2.5% binomial
    quantile of Bin(n, 1/2); coverage at least 95%; NaN bounds when n is too small, below 6)."""
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan
    med = float(np.median(values))
    r = int(binom.ppf(0.025, n, 0.5))  # P(B <= r - 1) <= 2.5%
    while r > 0 and binom.cdf(r - 1, n, 0.5) > 0.025:
        r -= 1
    if r < 1:
        return med, np.nan, np.nan
    return med, float(values[r - 1]), float(values[n - r])


def time_to_convert(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str | AbstractSet[str] | Sequence[str]],
    *,
    from_step: int = 1,
    to_step: int | None = None,
    bins: int | None = None,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    attribution: str | None = None,
    attribution_step: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The distribution of the time to convert from `from_step` to `to_step` (default: the last step).

    *Definition* (PostHog's "time to convert", posthog/hogql_queries/insights/funnels/funnel_time_to_convert.py):
    the funnel of :func:`funnel` (same options, `by` and `attribution` included; PostHog orders),
    each customer's best attempt; x =
    seconds from their `from_step` event to their `to_step` event, over customers who reached
    `to_step`. *Bin rule* (PostHog's): from = floor(min x), to = ceil(max x); bin count = `bins`
    clamped to 1..90, or automatic min(60, max(1, ceil(cbrt(n)))); width = ceil((to - from) / bin
    count) seconds, 60 when that is 0; x falls in the bin starting at from + floor((x - from) /
    width) * width; bins are from + i * width for i = 0..bin count (one more than the bin count, as
    PostHog, so the maximum has a bin), the same edges for every segment.

    Returns ``(histogram, summary)``: histogram ``segment, bin_from, bin_to`` (Timedelta),
    ``customers``, ``share`` (of the segment's converted), ``suppressed`` (bins of fewer than
    `min_group_size` customers hidden, complementary within the segment); summary ``segment,
    converted, median, ci_lower, ci_upper`` (median of x as a Timedelta with its distribution-free
    95% interval from order statistics: x(r) and x(n-r+1), r the 2.5% quantile of Binomial(n, 1/2),
    coverage at least 95%, blank below 6 customers), ``mean``, ``suppressed`` (fewer than
    `min_group_size` converted: all values blank, ``converted`` too).
    Raises CxDataError when no customer reached `to_step`.
    """
    check_min_group_size(min_group_size)
    if order not in POSTHOG_ORDERS:
        raise CxInputError(f"time_to_convert needs one of PostHog's orders {list(POSTHOG_ORDERS)}, got {order!r}")
    n_steps = len(steps) if isinstance(steps, Sequence) and not isinstance(steps, str) else 0
    to_step = n_steps if to_step is None else to_step
    for name, v in (("from_step", from_step), ("to_step", to_step)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise CxInputError(f"{name} must be a whole number (a funnel step), got {v!r}")
    if n_steps and not 1 <= from_step < to_step <= n_steps:
        raise CxInputError(f"need 1 <= from_step < to_step <= {n_steps}, got from_step={from_step}, to_step={to_step}")
    if bins is not None and (isinstance(bins, bool) or not isinstance(bins, int) or bins < 1):
        raise CxInputError(f"bins must be a whole number of at least 1 (at most 90 are used) or None, got {bins!r}")
    labels, _ = _funnel_customers(con, steps, window=window, order=order, by=by, exclusions=exclusions,
                                  start=start, end=end, attribution=attribution, attribution_step=attribution_step)
    raw = sql.run(con, "funnel_time_to_convert", {"from_step": from_step, "to_step": to_step, "bins": bins})
    if raw.empty:
        raise CxDataError(f"time_to_convert: no customer reached step {to_step} ({labels[to_step - 1]}) in the range")
    rows = []
    for seg, part in raw.groupby("segment", sort=True):
        vals = np.asarray(part["values"].iloc[0], dtype=float)
        med, lo, hi = _median_interval(vals)
        rows.append({"segment": seg, "converted": len(vals), "median": med, "ci_lower": lo, "ci_upper": hi,
                     "mean": float(vals.mean())})
    summary = pd.DataFrame(rows)
    for col in ("median", "ci_lower", "ci_upper", "mean"):
        summary[col] = _seconds_to_timedelta(summary[col])
    small = summary["converted"] < min_group_size
    summary.loc[small, ["median", "ci_lower", "ci_upper", "mean"]] = pd.NaT
    summary["converted"] = summary["converted"].astype("Int64").mask(small)
    summary["suppressed"] = small
    hist = raw[["segment", "bin_from_seconds", "bin_width_seconds", "customers"]].copy()
    hist["share"] = _ratio(hist["customers"], hist.groupby("segment")["customers"].transform("sum"))
    hist["bin_from"] = _seconds_to_timedelta(hist["bin_from_seconds"])
    hist["bin_to"] = _seconds_to_timedelta(hist["bin_from_seconds"] + hist["bin_width_seconds"])
    hist = hist[["segment", "bin_from", "bin_to", "customers", "share"]].reset_index(drop=True)
    hist = suppress(hist, n="customers", values=["share"], min_group_size=min_group_size, within=["segment"])
    return hist, summary
