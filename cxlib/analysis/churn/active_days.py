"""Stickiness: how many days of a window customers were active (PostHog's stickiness insight).

Definitions: docs/metrics.md (retention, stickiness).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.churn.status import _as_of, _has_activity
from cxlib.analysis.intervals import t_interval, wilson_bounds
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


def _day_counts(con, days, touchpoint, as_of) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """stickiness.sql's counts, with the window's first day and the as-of time."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CxInputError(f"days must be a whole number of days of at least 1, got {days!r}")
    if touchpoint is not None and not isinstance(touchpoint, str):
        raise CxInputError(f"touchpoint must be a touchpoint name (text) or None, got {touchpoint!r}")
    if touchpoint is not None:
        known = [r[0] for r in con.execute("SELECT DISTINCT touchpoint FROM events ORDER BY 1").fetchall()]
        if touchpoint not in known:
            raise unknown_name("touchpoint", touchpoint, "events", known)
    if not _has_activity(con):
        raise CxDataError("stickiness needs dated activity (events or orders), which this store does not hold; "
                          "load events or orders")
    cutoff = pd.Timestamp(_as_of(con, as_of))
    if isinstance(as_of, str) and len(as_of) == 10 or isinstance(as_of, date) and not isinstance(as_of, datetime):
        cutoff += pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)  # a date alone: the whole of that day
    first_day = cutoff.normalize() - pd.Timedelta(days=days - 1)
    counts = sql.run(con, "stickiness", {"first_day": first_day.date(), "as_of": cutoff, "days": days,
                                         "touchpoint": touchpoint})
    return counts, first_day, cutoff


def _mean_interval(active_days, customers) -> tuple[float, float, float]:
    """Mean active days of the customers counted, and its 95% Student-t interval (NaN when undefined)."""
    values = np.asarray(active_days, dtype=float)
    weights = np.asarray(customers, dtype=float)
    n = weights.sum()
    mean = float(values @ weights / n) if n else np.nan
    sd = float(np.sqrt(((values - mean) ** 2) @ weights / (n - 1))) if n > 1 else np.nan
    lower, upper = t_interval(mean, sd, int(n))
    return mean, lower, upper


def stickiness(
    con: duckdb.DuckDBPyConnection,
    *,
    days: int = 30,
    touchpoint: str | None = None,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Customers by the number of days they were active in the last `days` days up to as-of.

    *Definition* (PostHog's stickiness, day interval): the window is the `days` UTC calendar days
    ending with the as-of date (the last day counts up to as-of, as PostHog's "last 30 days"
    counts today so far; an `as_of` given as a date alone, '2026-06-30', counts that whole day,
    as PostHog's date_to does). A customer's active days = distinct UTC dates of ``ts`` in the window
    with activity: events and orders, or, as PostHog's event filter, only the events at
    `touchpoint` (orders then do not count). For each N = 1..days: customers = customers active
    on exactly N days; share = customers / customers active at least once in the window, with
    its 95% Wilson score interval (ci_lower, ci_upper). Customers never active in the window are
    in no row (PostHog's convention). Rows below `min_group_size` customers are suppressed with
    complementary suppression (their total, the active customers, is published); their share
    and interval too. Needs events or orders (CxDataError without).
    Columns: active_days, customers, share, ci_lower, ci_upper, suppressed.
    """
    check_min_group_size(min_group_size)
    counts, _, _ = _day_counts(con, days, touchpoint, as_of)
    active = int(counts["customers"].sum())
    counts["share"] = counts["customers"] / active if active else np.nan
    counts["ci_lower"], counts["ci_upper"] = wilson_bounds(counts["customers"], [active] * len(counts))
    return suppress(counts, n="customers", values=["share", "ci_lower", "ci_upper"], min_group_size=min_group_size)


def stickiness_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    days: int = 30,
    touchpoint: str | None = None,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """One row: the window, the customers active in it and their mean number of active days.

    *Definition*: the window and active days as in `stickiness`. mean_active_days = the mean of
    the active days of the customers active at least once, with a 95% Student-t interval
    (ci_lower, ci_upper: mean +/- t(0.975, n-1) sd / sqrt(n), sd the sample standard deviation;
    none for fewer than 2 customers). Fewer than `min_group_size` active customers: the row is
    suppressed (count, mean and interval blank).
    Columns: first_day, last_day, days, active_customers, mean_active_days, ci_lower, ci_upper, suppressed.
    """
    check_min_group_size(min_group_size)
    counts, first_day, cutoff = _day_counts(con, days, touchpoint, as_of)
    n = int(counts["customers"].sum())
    mean, lower, upper = _mean_interval(counts["active_days"], counts["customers"])
    row = pd.DataFrame({"first_day": [first_day], "last_day": [cutoff.normalize()], "days": [days],
                        "active_customers": [n], "mean_active_days": [mean], "ci_lower": [lower], "ci_upper": [upper]})
    return suppress(row, n="active_customers", values=["mean_active_days", "ci_lower", "ci_upper"],
                    min_group_size=min_group_size, margins=[])
