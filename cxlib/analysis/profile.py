"""Know the store: what it holds, what each report section can show on it, and what to load next.

``profile(con)`` (``cx profile`` on the command line) lists the tables with their rows and date
ranges, the customers (and how many were created from first sight), the touchpoints seen and
which have no stage, the customer attributes usable as segments, the survey metrics present,
and for every report section whether it can run here and, if not, what to load to enable it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from cxlib.analysis.defaults import MAX_SEGMENT_VALUES, NOT_ATTRIBUTES, common_path
from cxlib.analysis.needs import SECTIONS, readiness
from cxlib.errors import unknown_name
from cxlib.privacy import suppress
from cxlib.privacy.suppression import MIN_GROUP_SIZE
from cxlib.sql import Ident, has_table, quote_ident, run, table_columns
from cxlib.store.connection import as_of
from cxlib.store.schema import LOAD_ORDER
from cxlib.store.stages import unmapped_touchpoints

# The timestamp that dates each table's rows.
DATED = {"customers": "signup_at", "events": "ts", "survey_responses": "ts", "orders": "ts", "tickets": "opened_at",
         "subscriptions": "started_at"}


@dataclass(frozen=True)
class StoreProfile:
    """What a store holds (see the module docstring); every part is a small DataFrame."""

    tables: pd.DataFrame  # table, rows, first, last
    customers: int
    customers_from_first_sight: int
    touchpoints: pd.DataFrame  # touchpoint, events, stage (None when unmapped)
    attributes: pd.DataFrame  # attribute, values, missing, numeric, usable_as_segment
    survey_metrics: pd.DataFrame  # metric, answers, scale_min, scale_max, with_comment
    sections: pd.DataFrame  # section, ready, needs
    sample: bool

    @property
    def unmapped(self) -> list[str]:
        return self.touchpoints.loc[self.touchpoints["stage"].isna(), "touchpoint"].tolist()

    def __str__(self) -> str:
        lines = ["Tables"]
        for r in self.tables.itertuples():
            span = f"  {r.first:%Y-%m-%d} to {r.last:%Y-%m-%d}" if r.rows and pd.notna(r.first) else ""
            lines.append(f"  {r.table:18} {r.rows:>12,}{span}" if r.rows else f"  {r.table:18} {'empty':>12}")
        lines.append(f"Customers: {self.customers:,}" + (f" ({self.customers_from_first_sight:,} created from first "
                                                         "sight)" if self.customers_from_first_sight else ""))
        if len(self.touchpoints):
            lines.append(f"Touchpoints seen: {len(self.touchpoints)}; without a stage: "
                         + (", ".join(self.unmapped[:12]) + (" ..." if len(self.unmapped) > 12 else "")
                            + " (cx stages suggest writes a map to edit and load)" if self.unmapped else "none"))
        usable = self.attributes.loc[self.attributes["usable_as_segment"].astype(bool)]
        lines.append("Segment attributes: " + (", ".join(f"{a} ({v} values)" for a, v in
                                                        zip(usable["attribute"], usable["values"])) or "none"))
        lines.append("Survey metrics: " + (", ".join(f"{m} ({n:,} answers)" for m, n in
                                                    zip(self.survey_metrics["metric"], self.survey_metrics["answers"]))
                                           or "none"))
        lines.append("Report sections")
        for r in self.sections.itertuples():
            lines.append(f"  {'ready ' if r.ready else 'needs '} {r.section}" + ("" if r.ready else f": {r.needs}"))
        if self.sample:
            lines.append("This is a sample store (synthetic data with planted effects).")
        return "\n".join(lines)


def profile(con: duckdb.DuckDBPyConnection) -> StoreProfile:
    """Profile the store (read-only; small queries, one per table and attribute)."""
    rows = []
    for table in LOAD_ORDER:
        if table == "touchpoint_stages":
            continue
        col = DATED[table]
        n, first, last = con.execute(f"SELECT count(*), min({col}), max({col}) FROM {table}").fetchone()
        rows.append((table, n, first, last))
    tables = pd.DataFrame(rows, columns=["table", "rows", "first", "last"])
    customers = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    added = con.execute("SELECT count(*) FROM added_customers").fetchone()[0] if _exists(con, "added_customers") else 0
    touchpoints = con.execute(
        """SELECT e.touchpoint, count(*) AS events, any_value(m.stage) AS stage FROM events e
           LEFT JOIN touchpoint_stages m USING (touchpoint) GROUP BY 1 ORDER BY events DESC, 1"""
    ).df()
    metrics = con.execute(
        """SELECT r.metric, count(*) AS answers, any_value(m.scale_min) AS scale_min, any_value(m.scale_max) AS scale_max,
                  count(*) FILTER (WHERE nullif(trim(r.comment), '') IS NOT NULL) AS with_comment
           FROM survey_responses r LEFT JOIN survey_metrics m USING (metric) GROUP BY 1 ORDER BY answers DESC, 1"""
    ).df() if _exists(con, "survey_metrics") else con.execute(
        "SELECT metric, count(*) AS answers FROM survey_responses GROUP BY 1 ORDER BY 2 DESC").df()
    # judged as a report would run here: with the defaults fitted to this store
    has_subscriptions = bool(con.execute("SELECT count(*) FROM subscriptions").fetchone()[0])
    context = {"segment": _any_segment(con), "steps": common_path(con),
               "definition": "contractual" if has_subscriptions else "non_contractual"}
    sections = []
    for name in SECTIONS:
        ready = readiness(con, name, **context)
        sections.append((name, bool(ready), ready.sentence.removeprefix("This section needs ")))
    return StoreProfile(tables, customers, added, touchpoints, _attributes(con), metrics,
                        pd.DataFrame(sections, columns=["section", "ready", "needs"]), _exists(con, "sample_truth"))


def _attributes(con) -> pd.DataFrame:
    rows = []
    for column in table_columns(con, "customers"):
        if column in NOT_ATTRIBUTES:
            continue
        q = quote_ident(column)
        values, missing, numeric = con.execute(
            f"SELECT count(DISTINCT {q}), count(*) FILTER (WHERE {q} IS NULL), "
            f"count(*) FILTER (WHERE {q} IS NOT NULL AND try_cast({q} AS DOUBLE) IS NULL) = 0 FROM customers"
        ).fetchone()
        rows.append((column, values, missing, bool(numeric) and values > 0, 2 <= values <= MAX_SEGMENT_VALUES))
    return pd.DataFrame(rows, columns=["attribute", "values", "missing", "numeric", "usable_as_segment"])


def _any_segment(con) -> str | None:
    """A usable breakdown, for judging the sections that need one."""
    attrs = _attributes(con)
    usable = attrs.loc[attrs["usable_as_segment"].astype(bool), "attribute"].tolist()
    return usable[0] if usable else "nps_group"


def _exists(con, name: str) -> bool:
    return has_table(con, name)


__all__ = ["StoreProfile", "profile", "unmapped_touchpoints"]


ACTIVITY_GROUPS = {"channel": "e.channel", "touchpoint": "e.touchpoint",
                   "week": "CAST(date_trunc('week', e.ts) AS DATE)", "month": "CAST(date_trunc('month', e.ts) AS DATE)"}


def activity(con: duckdb.DuckDBPyConnection, by: str = "channel", *, start=None, end=None,
             min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Customers and events per channel, touchpoint, week or month: a first look at a clickstream.

    *Definition*: events with ``ts`` in [start, end) (a date-only `end` includes that day, as every
    metric); ``customers`` counts distinct customers with an event in the group, ``events`` the events.
    Weeks start on Monday (ISO, DuckDB's ``date_trunc('week')``). A customer is in several groups
    when active in several, so the groups overlap and have no published total: a group of fewer than
    `min_group_size` customers is hidden (``suppressed``), and hiding it reveals nothing by subtraction.
    Columns: the grouping named by `by` (``channel``, ``touchpoint``: text; ``week``, ``month``: the
    period's first day), ``customers``, ``events``, ``suppressed``, and for periods ``complete``:
    False for a period that starts before the observed span or ends after it, whose counts are
    therefore lower than a whole period's (the span runs from `start`, else the first event's day,
    to `end`, else the store's as-of day, both included). PostHog likewise marks the current,
    incomplete period of a trend.
    """
    from cxlib.analysis.journey.common import _date_bounds
    if by not in ACTIVITY_GROUPS:
        raise unknown_name("by", str(by), "the activity groupings", list(ACTIVITY_GROUPS))
    lo, hi = _date_bounds(start, end)
    df = run(con, "activity", {"start": lo, "end": hi}, {"group": Ident(ACTIVITY_GROUPS[by])}).rename(
        columns={"value": by})
    if by in ("week", "month") and len(df):
        first = lo or con.execute("SELECT CAST(min(ts) AS DATE) FROM events").fetchone()[0]
        last = hi or pd.Timestamp(as_of(con)).normalize() + pd.Timedelta(days=1)
        starts = pd.to_datetime(df[by])
        ends = starts + (pd.DateOffset(weeks=1) if by == "week" else pd.DateOffset(months=1))
        df["complete"] = (starts >= pd.Timestamp(first)) & (ends <= pd.Timestamp(last))
    df["customers"] = df["customers"].astype("Int64")
    df["events"] = df["events"].astype("Int64")
    return suppress(df, n="customers", values=["events"], min_group_size=min_group_size, margins=[])
