"""Retention: cohort retention by first-activity period and the lifecycle of active, new, returning and dormant customers.

Definitions: docs/metrics.md (retention).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.churn.status import PERIODS, _as_of, _check_choice
from cxlib.analysis.features import to_timestamp
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
    """Which activity the retention queries read (see above)."""
    found = con.execute(
        """SELECT count(*) FILTER (WHERE NOT temporary AND table_name = 'customer_activity'),
                  count(*) FILTER (WHERE temporary AND table_name IN ('events', 'orders', 'customer_activity'))
           FROM (SELECT table_name, temporary FROM duckdb_tables() WHERE schema_name = 'main'
                 UNION ALL SELECT view_name, temporary FROM duckdb_views() WHERE schema_name = 'main')"""
    ).fetchone()
    return _ACTIVITY_STORED if found[0] and not found[1] else _ACTIVITY_SCANNED


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
    as churn). Weeks start on Monday. Cohorts with fewer than `min_group_size` customers are
    suppressed in all their rows (first-time cohorts with complementary suppression across
    cohorts, whose sizes add up to all customers with activity; recurring cohorts overlap, so
    without). Counts are ``Int64``.
    Columns: cohort, period_number, period, customers, retained, retention, incomplete,
    suppressed, kind. `start` ('YYYY-MM-DD' or None) keeps only the cohorts of the period
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
    sizes = df.drop_duplicates("cohort")[["cohort", "customers"]]
    sizes = suppress(sizes, n="customers", values=[], min_group_size=min_group_size,
                     margins=[[]] if kind == "first_time" else [])
    hidden = df["cohort"].isin(sizes.loc[sizes["suppressed"], "cohort"]).to_numpy()
    df = suppress(df, n="customers", values=["retained", "retention"], min_group_size=min_group_size, margins=[],
                  hidden=hidden)
    df["kind"] = kind
    return df


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
