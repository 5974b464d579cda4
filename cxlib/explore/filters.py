"""Interactive exploration: analyst filters as filtered views of the store, drill-down, `cx lab`.

The analyst's filter (:class:`Filters`: date range, a customer attribute and its values, a
channel, a touchpoint) reaches the data as a *filtered store*: a new cursor on the store's
connection in which TEMP VIEWs named like the canonical tables (customers, events,
events_ordered, survey_responses, orders, tickets, subscriptions) shadow the real tables and hold
only the filtered rows. Every cxlib metric function therefore runs unchanged on filtered data::

    fs = cxlib.explore.filtered(con, Filters(start="2025-01-01", channel="app"))
    cxlib.nps(fs.con, by="region")

Filter values reach SQL only as bound parameters (DuckDB variables set with ``SET VARIABLE name =
$value``, read by the views with ``getvariable``); the attribute column goes through
:func:`cxlib.sql.checked_column`. The store itself is never changed (temp objects live in the
cursor's own session), so the notebook's connection keeps seeing all data.

Drill-down (:func:`drilldown_sql`, :func:`drilldown_customers`) shows the SQL and the bound
parameters behind a result, and the customers behind an aggregate; customer lists are for the
analyst's interactive session only and refuse to run with ``interactive=False``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Self

import duckdb
import pandas as pd

from cxlib import sql as cxsql
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.sql import table_columns

# Tables shadowed by a filtered store, in the order their views are created (customers first:
# the others may semi-join on the filtered customers).
FILTERED_TABLES = (
    "customers",
    "subscriptions",
    "events",
    "events_ordered",
    "survey_responses",
    "orders",
    "tickets",
)
# Columns of customers that are not segment attributes.
NOT_ATTRIBUTES = ("customer_id", "signup_at")
# Saved segments live in an in-memory database attached to the store's connection (see save_segment).
SESSION_DB = "cx_session"
SEGMENT_MEMBERS = f"{SESSION_DB}.main.saved_segment_members"
SEGMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")


def _as_date(value: Any, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise CxInputError(f"{name} must be a date as 'YYYY-MM-DD' (or None for no limit), got {value!r}")


@dataclass(frozen=True)
class Filters:
    """The analyst's filter: a value, compared and hashed like one; ``Filters()`` is "everything".

    *Definition*: a row is inside the filter when its day is from ``start`` to ``end``, both
    days included (``ts >= start`` and ``ts < end + 1 day``; the meaning of a date-only ``end``
    in the metric functions and the notebooks' parameters), its customer's
    ``attribute`` is one of ``values`` (compared as text), its customer is in the saved
    ``segment`` (see :func:`save_segment`), and its channel / touchpoint equals the chosen one. Each condition applies only when set, and only to tables that carry that column:
    the date is ``ts`` (``opened_at`` for tickets); customers and subscriptions are restricted by
    customer only; orders and tickets carry no touchpoint. A row with a blank channel or touchpoint
    (such as a relationship survey) does not match a chosen channel or touchpoint.
    ``attribute`` without ``values`` restricts nothing: it is the breakdown the notebook passes
    on as ``by=`` (see :meth:`as_kwargs`).
    """

    start: str | None = None
    end: str | None = None
    attribute: str | None = None
    values: tuple[str, ...] = ()
    channel: str | None = None
    touchpoint: str | None = None
    segment: str | None = None

    def __post_init__(self) -> None:
        start, end = _as_date(self.start, "start"), _as_date(self.end, "end")
        if start and end and start > end:
            raise CxInputError(
                f"start {start} must be on or before end {end} (both days are included): widen the date range"
            )
        object.__setattr__(self, "start", start.isoformat() if start else None)
        object.__setattr__(self, "end", end.isoformat() if end else None)
        for name in ("attribute", "channel", "touchpoint", "segment"):
            value = getattr(self, name)
            if value == "":
                object.__setattr__(self, name, None)
            elif value is not None and not isinstance(value, str):
                raise CxInputError(f"{name} must be text or None, got {value!r}")
        if self.segment is not None:
            _segment_name(self.segment)
        values = self.values
        if values is None:
            values = ()
        if isinstance(values, str):
            values = (values,)
        try:
            values = tuple(str(v) for v in values)
        except TypeError:
            raise CxInputError(f"values must be a list of attribute values, got {self.values!r}") from None
        if values and self.attribute is None:
            raise CxInputError(
                f"values {list(values)} were given without an attribute: say which customer attribute "
                "they belong to, e.g. Filters(attribute='region', values=['north'])"
            )
        object.__setattr__(self, "values", tuple(dict.fromkeys(values)))

    def replace(self, **changes) -> Filters:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    @property
    def restricts_customers(self) -> bool:
        return (self.attribute is not None and bool(self.values)) or self.segment is not None

    @property
    def restricts_rows(self) -> bool:
        return any(v is not None for v in (self.start, self.end, self.channel, self.touchpoint))

    @property
    def is_empty(self) -> bool:
        return not (self.restricts_customers or self.restricts_rows)

    def as_kwargs(self, *, by: bool = False) -> dict[str, Any]:
        """``start``/``end`` (and ``by=attribute`` when asked) for a metric function's arguments.

        The filtered store already holds only the filtered rows; passing start/end as well keeps
        a metric's own period logic (as-of dates, period buckets) aligned with the filter. Both are
        date-only text, and a date-only ``end`` includes that day in the metric functions too.
        """
        kwargs: dict[str, Any] = {"start": self.start, "end": self.end}
        if by:
            kwargs["by"] = self.attribute
        return kwargs

    def describe(self) -> str:
        """One plain-language line, e.g. '2025-01-01 to 2025-01-31, region in north, south, channel app'.

        Dates read as an inclusive range: '2025-01-01 to 2025-01-31', 'from 2025-01-01' or
        'up to 2025-01-31'.
        """
        parts = []
        if self.start and self.end:
            parts.append(f"{self.start} to {self.end}")
        elif self.start:
            parts.append(f"from {self.start}")
        elif self.end:
            parts.append(f"up to {self.end}")
        if self.values:
            parts.append(f"{self.attribute} in {', '.join(self.values)}")
        if self.segment:
            parts.append(f"segment {self.segment}")
        if self.channel:
            parts.append(f"channel {self.channel}")
        if self.touchpoint:
            parts.append(f"touchpoint {self.touchpoint}")
        return ", ".join(parts) or "all data"


@dataclass
class FilteredStore:
    """A cursor on the store whose canonical tables are TEMP VIEWs restricted to `filters`.

    ``con`` is an ordinary DuckDB connection (a cursor of the store's connection): pass it to any
    cxlib function. ``views`` holds each view's SQL and ``variables`` the bound filter values,
    which :func:`drilldown_sql` reports with the SQL of a result.
    """

    con: duckdb.DuckDBPyConnection
    filters: Filters
    views: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.con.close()

    def interrupt(self) -> None:
        """Cancel the query running on this cursor, if any (a newer filter made it stale)."""
        try:
            self.con.interrupt()
        except duckdb.Error:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def attribute_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The customer attributes a filter or breakdown can use: customers' columns but the id and signup."""
    return [c for c in dict.fromkeys(table_columns(con, "customers")) if c not in NOT_ATTRIBUTES]


def attribute_values(con: duckdb.DuckDBPyConnection, attribute: str, *, limit: int = 500) -> pd.DataFrame:
    """The values of a customer attribute with their customer counts, most common first.

    Columns: ``value`` (text; None for blank), ``customers``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise CxInputError(f"limit must be a whole number of at least 1, got {limit!r}")
    col = cxsql.checked_column(con, "customers", attribute, exclude=NOT_ATTRIBUTES)
    return cxsql.run(con, "explore_attribute_values", {"limit": limit}, {"attribute": col})


def filter_choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The channels and touchpoints that occur in events: ``{'channel': [...], 'touchpoint': [...]}``."""
    df = cxsql.run(con, "explore_choices")
    return {kind: df.loc[df["kind"] == kind, "value"].tolist() for kind in ("channel", "touchpoint")}


def _check_choice(name: str, value: str | None, choices: list[str]) -> None:
    if value is not None and value not in choices:
        raise unknown_name(name, value, "events", choices)


def _key_slot(cur, table: str, base: cxsql.Ident) -> dict[str, cxsql.Ident]:
    """events_ordered's {cid} slot: the stored integer key, or NULL in a store built before the keys."""
    if table != "events_ordered":
        return {}
    have = {d[0] for d in cur.execute(f"SELECT * FROM {base} LIMIT 0").description}
    return {"cid": cxsql.Ident("x.cid" if "cid" in have else "CAST(NULL AS BIGINT)")}


def _database_name(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchone()[0]


def _set_variables(cur: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """Set the filter's values as the cursor's variables, each from a bound parameter; returns them."""
    variables = {
        "cx_start": filters.start,
        "cx_end": filters.end,  # the last day included
        "cx_channel": filters.channel,
        "cx_touchpoint": filters.touchpoint,
        "cx_values": list(filters.values) if filters.values else None,
        "cx_segment": filters.segment,
    }
    types = {"cx_start": "TIMESTAMP", "cx_end": "DATE", "cx_values": "VARCHAR[]"}
    for name, value in variables.items():
        cur.execute(f"SET VARIABLE {name} = CAST($v AS {types.get(name, 'VARCHAR')})", {"v": value})
    return variables


def _customer_slots(filters: Filters, attribute: cxsql.Ident | None) -> dict[str, cxsql.Ident]:
    """explore_view_customers' slots: the checked attribute (when values are chosen) and the segment's semi-join."""
    segment = "TRUE"
    if filters.segment is not None:
        segment = f"c.customer_id IN (SELECT customer_id FROM {SEGMENT_MEMBERS} WHERE name = getvariable('cx_segment'))"
    return {
        "attribute": cxsql.Ident(f"c.{attribute}" if filters.values else "NULL"),
        "segment": cxsql.Ident(segment),
    }


def filtered(
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None = None,
    *,
    check: bool = True,
) -> FilteredStore:
    """A filtered store: a new cursor on `con` whose canonical tables hold only the rows in `filters`.

    *Definition*: see :class:`Filters`. ``events_ordered`` is rebuilt over the filtered events
    when a date, channel or touchpoint filter is set (so seq, prev_* and next_* describe the
    filtered journey, with the stored table's tie-break), and only restricted by customer
    otherwise. ``touchpoint_stages``, ``load_log`` and ``rejects`` are not filtered.
    With ``check=True`` the attribute, channel and touchpoint are checked against the store and a
    misspelling fails with a suggestion; the filter panel passes ``check=False`` because its menus
    only offer existing values. A segment is always checked: a name not saved (or dropped since)
    fails, listing the saved ones. `con` is not changed: close the returned store when done.
    """
    filters = Filters() if filters is None else filters
    if not isinstance(filters, Filters):
        raise CxInputError(f"filters must be a cxlib.explore.Filters, got {type(filters).__name__}")
    # Everything below runs on a new cursor: the caller's connection is never used for a query, so
    # the panel's worker thread cannot disturb a query the notebook runs on it at the same time.
    cur = con.cursor()
    try:
        attribute = None
        if filters.attribute is not None:
            attribute = cxsql.checked_column(cur, "customers", filters.attribute, exclude=NOT_ATTRIBUTES)
        if check and (filters.channel is not None or filters.touchpoint is not None):
            choices = filter_choices(cur)
            _check_choice("channel", filters.channel, choices["channel"])
            _check_choice("touchpoint", filters.touchpoint, choices["touchpoint"])
        if filters.segment is not None:
            _check_segment(cur, filters.segment)
        db = cxsql.quote_ident(_database_name(cur))
        cur.execute("SET TimeZone = 'UTC'")
        variables = _set_variables(cur, filters)
        scope = cxsql.Ident(
            "x.customer_id IN (SELECT customer_id FROM temp.main.customers)"
            if filters.restricts_customers
            else "TRUE"
        )
        views: dict[str, str] = {}
        for table in FILTERED_TABLES:
            base = cxsql.Ident(f"{db}.main.{cxsql.quote_ident(table)}")
            if table == "customers":
                if filters.restricts_customers:
                    text = cxsql.render("explore_view_customers", {"base": base, **_customer_slots(filters, attribute)})
                else:
                    text = cxsql.render("explore_view_scope", {"base": base, "scope": cxsql.Ident("TRUE")})
            elif table == "subscriptions" or (table == "events_ordered" and not filters.restricts_rows):
                text = cxsql.render("explore_view_scope", {"base": base, "scope": scope})
            else:
                text = cxsql.render(f"explore_view_{table}", {"base": base, "scope": scope, **_key_slot(cur, table, base)})
            body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
            cur.execute(f"CREATE OR REPLACE TEMP VIEW {cxsql.quote_ident(table)} AS\n{body}")
            views[table] = body
    except duckdb.CatalogException as exc:
        cur.close()
        raise CxDataError(f"the store lacks a table the filtered views need: {exc}") from None
    except BaseException:
        cur.close()
        raise
    return FilteredStore(cur, filters, views, variables)


# --------------------------------------------------------------------------- saved segments


def _segment_name(name: Any) -> str:
    if not isinstance(name, str) or not SEGMENT_NAME.fullmatch(name):
        raise CxInputError(
            "a segment name is a letter, then letters, digits or underscores (at most 63), "
            f"e.g. 'dropped_at_payment'; got {name!r}"
        )
    return name


def _session(con: duckdb.DuckDBPyConnection) -> None:
    """Attach the session's in-memory database (once per DuckDB instance) with its segment table."""
    con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SESSION_DB} (READ_WRITE)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {SEGMENT_MEMBERS} (name VARCHAR NOT NULL, customer_id VARCHAR NOT NULL)")


def _own_cursor(con: duckdb.DuckDBPyConnection | FilteredStore) -> duckdb.DuckDBPyConnection:
    """A new cursor on the store: it sees the store's own tables (no filtered views) and the session's."""
    return (con.con if isinstance(con, FilteredStore) else con).cursor()


def _id_frame(customer_ids: Any) -> pd.DataFrame:
    """The ids as a one-column frame of distinct text (a frame's customer_id column, or any list of ids)."""
    if isinstance(customer_ids, pd.DataFrame):
        if "customer_id" not in customer_ids.columns:
            raise CxInputError(f"the frame has no customer_id column (columns: {', '.join(map(str, customer_ids.columns))})")
        customer_ids = customer_ids["customer_id"]
    if isinstance(customer_ids, str) or not isinstance(customer_ids, Iterable):
        raise CxInputError(f"customer_ids must be a list of customer ids (or a frame with customer_id), got {customer_ids!r}")
    ids = list(customer_ids)
    if any(pd.api.types.is_scalar(i) and pd.isna(i) for i in ids):
        raise CxInputError("customer_ids holds a blank id: save only ids of the store's customers")
    if not ids:
        raise CxInputError("customer_ids is empty: a segment needs at least one customer")
    return pd.DataFrame({"customer_id": pd.Series(list(dict.fromkeys(str(i) for i in ids)), dtype="object")})


def save_segment(con: duckdb.DuckDBPyConnection | FilteredStore, name: str, customer_ids: Any) -> int:
    """Save a list of customers under `name`; ``Filters(segment=name)`` then restricts every analysis to them.

    *Definition*: the segment is the distinct ids of `customer_ids` (a list of ids, or a frame with
    a ``customer_id`` column such as :func:`drilldown_funnel_dropped` returns); every one must be a
    customer of the store, else CxInputError naming how many are not and a few of them. Saving
    again under a name replaces its list. `name`: a letter, then letters, digits or underscores.

    Where it lives: in the session, an in-memory database (``cx_session``) attached to the store's
    DuckDB instance, so every cursor of `con` sees it (the filtered stores, the filter panel's
    worker), on a read-only or in-memory store too. It is never written to the store file and is
    gone when the connection closes. Ids are bound (a registered frame), never pasted into SQL.
    Returns the number of customers saved.

    >>> save_segment(con, "dropped_at_payment", drilldown_funnel_dropped(con, steps, step=3, interactive=True))  # doctest: +SKIP
    """
    name = _segment_name(name)
    ids = _id_frame(customer_ids)
    # a cursor of its own: no filtered views (ids are checked against all the store's customers),
    # and the registered frame goes away with it
    cur = _own_cursor(con)
    try:
        _session(cur)
        cur.register("cx_segment_ids", ids)
        unknown = cxsql.run(cur, "explore_segment_unknown")["customer_id"].tolist()
        if unknown:
            examples = ", ".join(repr(i) for i in unknown[:5])
            raise CxInputError(
                f"{len(unknown)} of the {len(ids)} customer ids are not customers of the store "
                f"(e.g. {examples}): save only ids from the store's customers"
            )
        cur.execute("BEGIN TRANSACTION")
        cxsql.run(cur, "explore_segment_drop", {"name": name})
        cxsql.run(cur, "explore_segment_insert", {"name": name})
        cur.execute("COMMIT")
        return len(ids)
    finally:
        cur.close()


def saved_segments(con: duckdb.DuckDBPyConnection | FilteredStore) -> pd.DataFrame:
    """The segments saved in this session (see :func:`save_segment`). Columns: ``name``, ``customers``."""
    cur = _own_cursor(con)
    try:
        _session(cur)
        return cxsql.run(cur, "explore_segments")
    finally:
        cur.close()


def drop_segment(con: duckdb.DuckDBPyConnection | FilteredStore, name: str) -> None:
    """Forget the saved segment `name` (CxInputError, listing the saved ones, when there is none)."""
    name = _segment_name(name)
    cur = _own_cursor(con)
    try:
        _check_segment(cur, name)
        cxsql.run(cur, "explore_segment_drop", {"name": name})
    finally:
        cur.close()


def _check_segment(con: duckdb.DuckDBPyConnection, name: str) -> None:
    names = saved_segments(con)["name"].tolist()
    if name not in names:
        if not names:
            raise CxInputError(
                f"segment '{name}' is not saved, and no segment is saved in this session: save one first "
                "with cxlib.explore.save_segment(con, name, customer_ids)"
            )
        raise unknown_name("segment", name, "the saved segments", names)


# --------------------------------------------------------------------------- drill-down


@dataclass(frozen=True)
class Query:
    """One statement a cxlib call ran: its SQL text and its bound parameters."""

    sql: str
    params: Any = None


@dataclass(frozen=True)
class Drilldown:
    """The result of a metric call with the SQL behind it.

    ``queries`` are the statements the call ran, in order (introspection of column names left
    out); ``views`` the filtered views they read and ``variables`` the filter's bound values
    (both empty on an unfiltered connection).
    """

    result: Any
    queries: tuple[Query, ...]
    views: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def sql(self) -> str:
        """The last query the call ran (usually the one that produced the result), as text."""
        return self.queries[-1].sql if self.queries else ""

    def text(self) -> str:
        """Everything as one readable SQL script: filter values, views, then the queries."""
        out = []
        if self.variables:
            out.append("\n".join(["-- filter values (bound parameters)"]
                                 + [f"--   {k} = {v!r}" for k, v in self.variables.items()]))
        for name, body in self.views.items():
            out.append(f"CREATE TEMP VIEW {name} AS\n{body.strip()};")
        for q in self.queries:
            if q.params:
                out.append(f"-- parameters: {q.params!r}")
            out.append(q.sql.strip().rstrip(";") + ";")
        return "\n\n".join(out)


class _RecordingConnection:
    """Forwards everything to a DuckDB connection and records each statement executed."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.queries: list[Query] = []

    def execute(self, query, parameters=None, *args, **kwargs):
        if isinstance(query, str) and "information_schema" not in query:
            self.queries.append(Query(query, parameters))
        if parameters is None:
            return self._con.execute(query, *args, **kwargs)
        return self._con.execute(query, parameters, *args, **kwargs)

    def sql(self, query, *args, **kwargs):
        if isinstance(query, str):
            self.queries.append(Query(query, kwargs.get("params")))
        return self._con.sql(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def drilldown_sql(func: Callable, con: duckdb.DuckDBPyConnection | FilteredStore, /, *args, **kwargs) -> Drilldown:
    """Call ``func(con, *args, **kwargs)`` and return its result with the SQL and parameters it ran.

    *Definition*: the queries are every statement `func` executed on the connection, in order,
    except introspection of column names; on a :class:`FilteredStore` the filter's views and
    bound values are included, so the SQL text reproduces the result on the store.
    Works with any cxlib function that runs its queries through the connection it is given.
    """
    if not callable(func):
        raise CxInputError(f"drilldown_sql needs the function to call first, got {func!r}")
    views, variables = {}, {}
    if isinstance(con, FilteredStore):
        views, variables, con = dict(con.views), dict(con.variables), con.con
    recorder = _RecordingConnection(con)
    result = func(recorder, *args, **kwargs)
    return Drilldown(result, tuple(recorder.queries), views, variables)


def drilldown_customers(
    con: duckdb.DuckDBPyConnection | FilteredStore,
    *,
    interactive: bool,
    segment: str | None = None,
    value: Any = None,
    touchpoint: str | None = None,
    channel: str | None = None,
    keywords: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The customers behind an aggregate, for the analyst's interactive session only.

    *Definition*: every customer of `con` (a filtered store restricts them to the filter) whose
    ``segment`` attribute equals ``value`` (compared as text), who has an event at
    ``touchpoint`` (the customers who reached a funnel step, in any order) on ``channel`` (one
    event with both when both are given), and who wrote a
    survey comment containing one of ``keywords`` as a whole word, case-insensitive (a feedback
    theme); each condition applies only when given. Columns: ``customer_id``, ``events``,
    ``responses``, ``last_event_at``, ordered by customer_id.

    Customer lists are personal data: with ``interactive=False`` (a scheduled or stakeholder run)
    this refuses with CxInputError; export such lists to CSV from an analyst session instead.
    """
    if interactive is not True:
        raise CxInputError(
            "customer lists are shown only in an analyst's interactive session (interactive=True); "
            "stakeholder reports must not show customer ids"
        )
    if isinstance(con, FilteredStore):
        con = con.con
    if (segment is None) != (value is None):
        raise CxInputError("segment and value go together: give the attribute and the segment's value, or neither")
    seg = cxsql.Ident("NULL")
    if segment is not None:
        seg = cxsql.Ident("c." + cxsql.checked_column(con, "customers", segment, exclude=NOT_ATTRIBUTES))
    for name, given in (("touchpoint", touchpoint), ("channel", channel)):
        if given is not None and not isinstance(given, str):
            raise CxInputError(f"{name} must be text, got {given!r}")
    words = None
    if keywords is not None:
        if isinstance(keywords, str):
            keywords = [keywords]
        words = [str(k).strip().lower() for k in keywords if str(k).strip()]
        if not words:
            raise CxInputError("keywords is empty: give the theme's words, e.g. ['bill', 'refund']")
    params = {"value": None if value is None else str(value), "touchpoint": touchpoint, "channel": channel,
              "keywords": words}
    return cxsql.run(con, "explore_drilldown_customers", params, {"segment": seg})


def drilldown_funnel_dropped(
    con: duckdb.DuckDBPyConnection | FilteredStore,
    steps,
    *,
    step: int,
    interactive: bool,
    **funnel_options,
) -> pd.DataFrame:
    """The customers who dropped at a funnel step, for the analyst's interactive session only.

    *Definition*: :func:`cxlib.analysis.journey.funnel_dropped` (the funnel's own semantics and options:
    window, order, by, exclusions, start, end) run on `con`; on a filtered store, on the
    filtered events. Columns as funnel_dropped: ``customer_id, segment, reached_step, reached_at``.
    Refuses with CxInputError when ``interactive`` is not True.
    """
    if interactive is not True:
        raise CxInputError(
            "customer lists are shown only in an analyst's interactive session (interactive=True); "
            "stakeholder reports must not show customer ids"
        )
    from cxlib.analysis.journey import funnel_dropped

    if isinstance(con, FilteredStore):
        con = con.con
    return funnel_dropped(con, steps, step=step, **funnel_options)
