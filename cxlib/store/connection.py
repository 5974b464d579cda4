"""The connection helper, schema creation, the derived tables refreshed after each load, and the as-of date."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import duckdb

from cxlib.errors import CxDataError, CxInputError, CxStoreLockedError
from cxlib.locations import DEFAULT_DB, default_store, shipped  # noqa: F401 - DEFAULT_DB re-exported
from cxlib.sql import has_table, table_columns  # noqa: F401 - table_columns is part of the store's interface
from cxlib.store.resources import apply_resources
from cxlib.store.schema import (
    ADDED_COLUMNS,
    ALL_ACTIVE_CUSTOMERS,
    BOOKKEEPING_DDL,
    CUSTOMER_ACTIVITY_SELECT,
    CUSTOMER_ACTIVITY_SQL,
    CUSTOMER_KEYS_DDL,
    EVENTS_ORDERED_SELECT,
    EVENTS_ORDERED_SQL,
    NEW_CUSTOMER_KEYS_SQL,
    SURVEY_METRICS,
    TABLES,
    create_table_sql,
)

STAGE_MAP = shipped("touchpoint_stages.csv")


def default_path() -> Path:
    """`CX_DB` if set, else data/cx.duckdb in the workspace (cxlib.locations)."""
    return default_store()


def connect(path: str | os.PathLike | None = None, *, read_only: bool = True, engine: str | None = None,
            spark=None) -> duckdb.DuckDBPyConnection:
    """Open the store. Read-only by default, so reports never block or corrupt a writer.

    ``engine="spark"`` (or ``CX_ENGINE=spark``) opens a store on Spark instead: `path` is then
    its config file (else ``CX_SPARK_CONFIG``) and `spark` an optional SparkSession to use
    (`cxlib.store.spark`). Every public analysis accepts either connection.

    The path defaults to the ``CX_DB`` environment variable, else ``data/cx.duckdb``.
    A read-write connection creates the file and the schema when missing.
    Raises CxStoreLockedError, naming the file, when another process holds it for writing.
    """
    engine = engine or os.environ.get("CX_ENGINE") or "duckdb"
    if engine == "spark":
        from cxlib.store.spark import connect_spark

        return connect_spark(path, spark=spark)
    if engine != "duckdb":
        raise CxInputError(f"no engine {engine!r}: the engines are 'duckdb' (the default) and 'spark'")
    path = Path(path) if path is not None else default_path()
    if read_only and not path.exists():
        raise CxDataError(
            f"no store at {path}: build one with 'cx sample' or load your data with 'cx ingest', "
            "or point CX_DB at an existing store"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            holder = re.search(r"PID (\d+)", str(exc))
            who = f" (process {holder.group(1)})" if holder else ""
            if "read-only mode" in str(exc):  # the holder only reads: a writer must wait for it to close
                raise CxStoreLockedError(
                    f"the store {path} is open for reading in another process{who}, so it cannot be opened "
                    "for writing. Close that session (a notebook kernel or a report run), then run the load again."
                ) from None
            raise CxStoreLockedError(
                f"the store {path} is held for writing by another process{who}. "
                "Wait for that load to finish or close that session (a notebook kernel holding a "
                "read-write connection), then run again; reports only need read access."
            ) from None
        raise CxDataError(f"cannot open the store {path}: {exc}") from None
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    apply_resources(con, path)  # memory limit and spill folder (cxlib.store.resources)
    if not read_only:
        init_schema(con)
    return con


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table of the canonical schema that does not exist yet."""
    for t in TABLES.values():
        con.execute(create_table_sql(t))
    for ddl in BOOKKEEPING_DDL:
        con.execute(ddl)
    _migrate(con)
    if not con.execute("SELECT count(*) FROM touchpoint_stages").fetchone()[0] and STAGE_MAP.exists():
        # A new store starts with the shipped, user-editable touchpoint -> stage map.
        con.execute("INSERT INTO touchpoint_stages SELECT touchpoint, stage FROM read_csv(?, all_varchar = true)",
                    [str(STAGE_MAP)])
    if not _derived_current(con):  # a new store, or one made before the derived tables had their columns
        refresh_derived(con)


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a store made by an earlier version up to the schema, changing nothing that is current
    (so that opening a current store for writing leaves its file as it was)."""
    have = set(con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'main'").fetchall())
    for table, column, kind in ADDED_COLUMNS:
        if (table, column) not in have:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    nullable = con.execute("SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'main' "
                           "AND table_name = 'customers' AND column_name = 'signup_at'").fetchone()[0]
    if nullable == "NO":
        con.execute("ALTER TABLE customers ALTER COLUMN signup_at DROP NOT NULL")
    known = {m for (m,) in con.execute("SELECT metric FROM survey_metrics").fetchall()}
    missing = [(m, lo, hi) for m, (lo, hi) in SURVEY_METRICS.items() if m not in known]
    if missing:
        con.executemany("INSERT INTO survey_metrics VALUES (?, ?, ?)", missing)


def refresh_derived(con: duckdb.DuckDBPyConnection, *, table: str | None = None, customers: str | None = None) -> None:
    """Bring the derived tables up to date after a load: customer_keys (integer keys, only grow),
    events_ordered (each customer's events in time order with neighbours, stage and first-pair
    and first-source flags) and customer_activity (customer x week / month activity from events and orders).

    `table` is the table just loaded and `customers` a query listing the customer ids the load
    wrote (e.g. ``SELECT customer_id FROM _cx_typed WHERE _reason IS NULL``). After an events or
    orders load with `customers`, only those customers' rows are deleted and rebuilt (the result
    equals a full rebuild). Without them, after a stage-map load, or on a store whose derived
    tables are missing or from an earlier version, everything is rebuilt.
    """
    if customers is None or table not in ("events", "orders") or not _derived_current(con):
        con.execute(CUSTOMER_KEYS_DDL)
        con.execute(NEW_CUSTOMER_KEYS_SQL.format(touched=ALL_ACTIVE_CUSTOMERS))
        con.execute(EVENTS_ORDERED_SQL)
        con.execute(CUSTOMER_ACTIVITY_SQL)
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_touched AS SELECT DISTINCT customer_id FROM ({customers})")
    try:
        scope = "customer_id IN (SELECT customer_id FROM _cx_touched)"
        con.execute(NEW_CUSTOMER_KEYS_SQL.format(touched="SELECT customer_id FROM _cx_touched"))
        if table == "events":
            con.execute(f"DELETE FROM events_ordered WHERE {scope}")
            con.execute("INSERT INTO events_ordered" + EVENTS_ORDERED_SELECT.format(scope="e." + scope))
        con.execute("DELETE FROM customer_activity WHERE cid IN "
                    "(SELECT cid FROM customer_keys WHERE customer_id IN (SELECT customer_id FROM _cx_touched))")
        con.execute("INSERT INTO customer_activity" + CUSTOMER_ACTIVITY_SELECT.format(scope=scope))
    finally:
        con.execute("DROP TABLE IF EXISTS _cx_touched")


def _derived_current(con: duckdb.DuckDBPyConnection) -> bool:
    """The derived tables exist with this version's columns."""
    have = set(con.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' "
                           "AND table_catalog = current_database() AND table_name IN "
                           "('events_ordered', 'customer_keys', 'customer_activity')").fetchall())
    return {("events_ordered", "first_stage_source"), ("customer_keys", "cid"), ("customer_activity", "first_ts")} <= have


def fill_first_seen(con: duckdb.DuckDBPyConnection) -> None:
    """A customer without ``signup_at``, or one created from first sight, gets the time they were
    first seen in any table (which an earlier row of a later load can move back)."""
    con.execute(
        """UPDATE customers SET signup_at = f.first_seen FROM (
             SELECT customer_id, min(ts) AS first_seen FROM (
               SELECT customer_id, ts FROM events UNION ALL SELECT customer_id, ts FROM survey_responses
               UNION ALL SELECT customer_id, ts FROM orders UNION ALL SELECT customer_id, opened_at FROM tickets
               UNION ALL SELECT customer_id, started_at FROM subscriptions)
             WHERE customer_id IN (SELECT customer_id FROM customers WHERE signup_at IS NULL
                                   UNION ALL SELECT customer_id FROM first_sight)
             GROUP BY customer_id) f
           WHERE customers.customer_id = f.customer_id
             AND (customers.signup_at IS NULL OR customers.signup_at > f.first_seen)"""
    )


# Every dated column of the store, as (table, column).
DATED = [("customers", "signup_at"), ("events", "ts"), ("survey_responses", "ts"), ("orders", "ts"),
         ("tickets", "opened_at"), ("tickets", "resolved_at"), ("subscriptions", "started_at"),
         ("subscriptions", "ended_at")]
STRAY_WINDOW_DAYS = 30  # the data must be dense enough within this many days before the as-of date
STRAY_SHARE = 10_000  # ... at least one row in this many (and at least one row)


def as_of(con: duckdb.DuckDBPyConnection):
    """The store's as-of date: the latest timestamp in its data (never the wall clock), robust to strays.

    *Definition*: the latest timestamp T of any dated column, not after the store's last load
    (a planned subscription end lies after it), such that at least max(1, rows / 10,000) dated
    values fall within the 30 days up to T. A stray row far after the rest of the data (a
    mistyped year) therefore cannot move it; on a store of under 20,000 dated values it is
    simply the latest timestamp.
    """
    cap = con.execute("SELECT max(finished_at) FROM load_log").fetchone()[0] if has_table(con, "load_log") else None
    cap = cap or datetime.max

    def each(expr: str, where: str = "") -> str:  # one aggregate per dated column (fast), then combined
        return ", ".join(f"(SELECT {expr.format(c=c)} FROM {t} WHERE {c} <= $cap {where.format(c=c)})" for t, c in DATED)

    sums = con.execute(f"SELECT list_value({each('count({c})')}), greatest({each('max({c})')})", {"cap": cap}).fetchone()
    needed, candidate = max(1, sum(sums[0]) // STRAY_SHARE), sums[1]
    for _ in range(50):  # each step skips one stray timestamp
        if candidate is None:
            break
        window = f"AND {{c}} >= $c - INTERVAL {STRAY_WINDOW_DAYS} DAY AND {{c}} <= $c"
        near = sum(con.execute(f"SELECT list_value({each('count({c})', window)})", {"cap": cap, "c": candidate})
                   .fetchone()[0])
        if near >= needed:
            return candidate
        candidate = con.execute(f"SELECT greatest({each('max({c})', 'AND {c} < $c')})",
                                {"cap": cap, "c": candidate}).fetchone()[0]
    if candidate is None:
        raise CxDataError("the store holds no dated rows yet: load data with 'cx ingest' or build 'cx sample'")
    return candidate


def data_span(con: duckdb.DuckDBPyConnection, start=None, end=None) -> str:
    """What a page covers, for its first line: 'Data from 2026-01-05 up to 2026-05-31' (the
    `start`/`end` asked for, else the store's as-of date), or that there is no dated data."""
    try:
        last = str(end)[:10] if end is not None else f"{as_of(con):%Y-%m-%d}"
    except CxDataError:
        return "The store holds no dated data yet"
    return (f"Data from {str(start)[:10]} up to {last}" if start is not None else f"Data up to {last}")
