"""Retention: cohort retention by first-activity period and the lifecycle of active, new, returning and dormant customers.

Definitions: docs/metrics.md (retention).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.churn.status import PERIODS, _as_of, _check_choice, _run, _segments_fragment
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.intervals import wilson_bounds
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

# Activity (events and orders) as (customer_id, p) pairs at or before $as_of: read from the table
# kept at load (customer_id is the integer key there), or computed from the rows when the table
# cannot answer (a filtered store shadows events and orders with views; a store of an earlier version).
_ACTIVITY_STORED = sql.Ident("SELECT cid AS customer_id, p FROM customer_activity WHERE period = $period "
                             "AND first_ts <= $as_of")
_ACTIVITY_SCANNED = sql.Ident("SELECT DISTINCT customer_id, date_trunc($period, ts) AS p FROM ("
                              "SELECT customer_id, ts FROM events WHERE ts <= $as_of UNION ALL "
                              "SELECT customer_id, ts FROM orders WHERE ts <= $as_of)")


def _activity(con) -> sql.Ident:
    """Which activity the retention queries read (see above): the stored table when the store has
    it and no connection-local view hides it (a filtered store), else the rows of events and orders."""
    stored = sql.has_table(con, "customer_activity") and not sql.shadowed(con, ("events", "orders", "customer_activity"))
    return _ACTIVITY_STORED if stored else _ACTIVITY_SCANNED


def cohort_retention(
    con: duckdb.DuckDBPyConnection,
    *,
    period: str = "month",
    kind: str = "first_time",
    as_of=None,
    start=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Cohort retention matrix: share of each cohort active in each later period.

    *Definition*: activity = events and orders at or before as-of. kind='first_time' (default,
    docs/metrics.md): a customer's cohort is the period of their first activity. kind='recurring'
    (PostHog's convention): a customer joins the cohort of every period they were active in.
    retention = retained / customers, where retained = cohort members with activity in the
    period `period_number` periods after the cohort's (period_number 0 is 1.0 by definition).
    ``incomplete``: the period ends after as-of (only partly observed; do not read a drop there
    as churn). ``ci_lower``, ``ci_upper``: 95% Wilson score interval of retention (retained of
    customers); period_number 0 has none to give (1.0 by definition: both bounds 1.0). Weeks start on Monday. Cohorts with fewer than `min_group_size` customers are
    suppressed in all their rows (first-time cohorts with complementary suppression across
    cohorts, whose sizes add up to all customers with activity; recurring cohorts overlap, so
    without). Counts are ``Int64``.
    Columns: cohort, period_number, period, customers, retained, retention, ci_lower, ci_upper,
    incomplete, suppressed, kind. `start` ('YYYY-MM-DD' or None) keeps only the cohorts of the period
    holding `start` and later (suppression is applied to the cohorts kept).
    """
    first = to_timestamp(start, "start")
    _check_choice(period, PERIODS, "period")
    _check_choice(kind, ("first_time", "recurring"), "retention kind")
    check_min_group_size(min_group_size)
    cutoff = _as_of(con, as_of)
    df = sql.run(con, "cohort_retention", {"period": period, "as_of": cutoff, "kind": kind},
                 {"activity": _activity(con)})
    if first is not None:
        step = pd.DateOffset(months=1) if period == "month" else pd.Timedelta(days=7)
        df = df[df["cohort"] + step > first].reset_index(drop=True)
    # A cohort is one group, the same in every period_number: suppressed once, on its size, so its
    # rows are hidden (or shown) together. First-time cohorts add up to every customer with activity;
    # recurring cohorts overlap (a customer is in each period they were active), so no complement.
    df = _with_interval(df)
    sizes = df.drop_duplicates("cohort")[["cohort", "customers"]]
    sizes = suppress(sizes, n="customers", values=[], min_group_size=min_group_size,
                     margins=[[]] if kind == "first_time" else [])
    hidden = df["cohort"].isin(sizes.loc[sizes["suppressed"], "cohort"]).to_numpy()
    df = suppress(df, n="customers", values=["retained", "retention", "ci_lower", "ci_upper"],
                  min_group_size=min_group_size, margins=[], hidden=hidden)
    df["kind"] = kind
    return df


def _with_interval(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with retention's 95% Wilson interval after it (period_number 0: 1.0 to 1.0, by definition)."""
    lo, hi = wilson_bounds(df["retained"], df["customers"])
    start = (df["period_number"] == 0).to_numpy() & (df["customers"] > 0).to_numpy()
    lo[start], hi[start] = 1.0, 1.0
    df = df.copy()
    df.insert(df.columns.get_loc("retention") + 1, "ci_lower", lo)
    df.insert(df.columns.get_loc("ci_lower") + 1, "ci_upper", hi)
    return df


def retention_by_group(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None,
    period: str = "month",
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Retention curve per group: share of a group's customers active k periods after their first activity.

    *Definition*: first-time cohorts (cohort_retention's default) split by `by`, pooled across
    cohorts the way Amplitude and PostHog average a retention table (weighted by cohort size):
    customers(k) = members of the group's cohorts whose period k is over by as-of (a cohort too
    young to have reached k counts in neither figure), retained(k) = those of them active in
    their period k, retention = retained / customers, with its 95% Wilson score interval
    (ci_lower, ci_upper; period_number 0 is 1.0 by definition). `by`: a customers column
    (region, plan, ...) or a CX group of churn_rate: 'nps_group' (the latest relationship NPS
    answer at or before as-of; '(none)' = never answered), 'long_resolution',
    'first_ticket_resolution'; None gives one curve, 'all'.
    Privacy: a group's cohort with fewer than `min_group_size` customers is left out of the
    group's curve, as the fall in customers from one period to the next is one cohort's size
    (suppression over the group x cohort table, with the groups and the cohorts as margins); a
    group with no cohort left is suppressed in all its rows.
    Columns: segment, period_number, customers, retained, retention, ci_lower, ci_upper, suppressed.
    """
    _check_choice(period, PERIODS, "period")
    check_min_group_size(min_group_size)
    cutoff = _as_of(con, as_of)
    activity = _activity(con)
    segments = _segments_fragment(con, by)
    if activity is _ACTIVITY_STORED:  # the stored activity is keyed by cid
        segments = sql.Ident(f"(SELECT k.cid AS customer_id, g.segment FROM {segments} g "
                             "JOIN customer_keys k USING (customer_id))")
    cells = _run(con, "cohort_retention_groups", {"period": period, "as_of": cutoff},
                 {"activity": activity, "segments": segments})
    sizes = cells.drop_duplicates(["segment", "cohort"])[["segment", "cohort", "customers"]]
    sizes = suppress(sizes, n="customers", values=[], min_group_size=min_group_size,
                     margins=[["segment"], ["cohort"]])
    shown = cells.merge(sizes.loc[~sizes["suppressed"], ["segment", "cohort"]], on=["segment", "cohort"],
                        how="left", indicator=True)["_merge"].eq("both").to_numpy()
    done = cells[cells["complete"].to_numpy()]
    kept = shown[done.index]
    curves = (done.assign(customers=done["customers"].where(kept, 0), retained=done["retained"].where(kept, 0))
              .groupby(["segment", "period_number"], as_index=False)[["customers", "retained"]].sum())
    sizes_left = curves.groupby("segment")["customers"].sum()
    gone = sizes_left.index[sizes_left.eq(0)]  # every cohort of the group hidden: the group is hidden
    curves = curves[(curves["customers"] > 0) | curves["segment"].isin(gone)].reset_index(drop=True)
    curves["retention"] = (curves["retained"] / curves["customers"].where(curves["customers"] > 0)).astype(float)
    curves = _with_interval(curves)
    hidden = curves["segment"].isin(gone).to_numpy()
    return suppress(curves, n="customers", values=["retained", "retention", "ci_lower", "ci_upper"],
                    min_group_size=min_group_size, margins=[], hidden=hidden).reset_index(drop=True)


def lifecycle(con: duckdb.DuckDBPyConnection, *, period: str = "month", as_of=None, start=None) -> pd.DataFrame:
    """Customers per period by lifecycle status: new, returning, resurrecting, dormant.

    *Definition* (PostHog's lifecycle): activity = events and orders. In period P a customer is
    new (first activity ever in P), returning (active in P and the period before), resurrecting
    (active in P, not the period before, active some time earlier) or dormant (active the
    period before, not in P). Counts are of whole customer bases (not broken down), so no
    suppression applies. ``incomplete``: the period ends after as-of.
    Columns: period, status, customers, incomplete. `start` ('YYYY-MM-DD' or None) hides
    periods that end before it.
    """
    first = to_timestamp(start, "start")
    _check_choice(period, PERIODS, "period")
    cutoff = _as_of(con, as_of)
    df = sql.run(con, "lifecycle", {"period": period, "as_of": cutoff}, {"activity": _activity(con)})
    if first is not None:
        step = pd.DateOffset(months=1) if period == "month" else pd.Timedelta(days=7)
        df = df[df["period"] + step > first].reset_index(drop=True)
    return df
