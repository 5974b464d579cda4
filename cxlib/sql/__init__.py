"""The query layer: every query of the workbench runs through here (the engine seam).

Owns the query files beside this module (one query per file, named after what it computes),
the runner that binds their parameters, identifier checking and quoting, and the catalog
look-up (`table_columns`). May import only ``cxlib.errors``; every other layer may use it.
The second engine, Spark (`cxlib.sql.spark`), plugs in here: a `SparkConnection` takes DuckDB
SQL and runs it on a SparkSession, so no analysis knows which engine it runs on.
See docs/architecture.md.

Running a query file:

Each file holds one query and starts with a header comment naming its parameters and output
columns. Values enter only as DuckDB named parameters (``$start``); the runner checks that the
parameters passed are exactly the ``$names`` in the file. Identifiers a user picks (a segment
column) enter through ``{name}`` slots, and only after ``checked_column`` has found them among the
table's real columns and quoted them, so a user-supplied string can never change a query's meaning.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from cxlib.errors import CxInputError, unknown_name

SQL_DIR = Path(__file__).resolve().parent
_PARAM = re.compile(r"(?<![:$\w])\$([A-Za-z_]\w*)")
_SLOT = re.compile(r"\{([A-Za-z_]\w*)\}")
_COMMENT = re.compile(r"--[^\n]*")


@cache
def load(name: str, engine: str = "duckdb") -> str:
    """The text of cxlib/sql/<name>.sql; on another engine its own form <name>.<engine>.sql when there is
    one (rare: a query whose algorithm has no form there, e.g. funnel_customers.spark.sql; still DuckDB's
    dialect, transpiled like the rest, and tested against the DuckDB file on both engines)."""
    own = SQL_DIR / f"{name}.{engine}.sql"
    if engine != "duckdb" and own.exists():
        return own.read_text()
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise CxInputError(f"no query file {path.name} in {SQL_DIR}")
    return path.read_text()


def parameters(text: str) -> set[str]:
    """The $names a query uses (comments ignored)."""
    return set(_PARAM.findall(_COMMENT.sub("", text)))


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The real columns of a table, in order ([] when there is no such table)."""
    if getattr(con, "engine", "duckdb") != "duckdb":
        return con.table_columns(table)
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the store has a table (or view) of this name, on either engine."""
    return bool(table_columns(con, table))


def shadowed(con: duckdb.DuckDBPyConnection, tables) -> bool:
    """Whether a connection-local (TEMP) table or view hides one of the store's `tables`, or is
    the only one of that name (DuckDB: a filtered store's views, `cxlib.explore.filtered`). On
    Spark every table is a session view the store itself defined (`cxlib.store.spark`): False."""
    if getattr(con, "engine", "duckdb") != "duckdb":
        return False
    names = list(tables)
    row = con.execute(
        "SELECT count(*) FROM (SELECT table_name AS name FROM duckdb_tables() WHERE temporary AND schema_name = 'main' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND schema_name = 'main') "
        "WHERE list_contains(?, name)",
        [names],
    ).fetchone()
    return bool(row[0])



class Ident(str):
    """An identifier that has been checked against a table's real columns and quoted."""


def quote_ident(name: str) -> Ident:
    return Ident('"' + name.replace('"', '""') + '"')


def checked_column(con: duckdb.DuckDBPyConnection, table: str, column: str, *, exclude=()) -> Ident:
    """`column` quoted, after checking it is a real column of `table`; else a helpful error."""
    if not isinstance(column, str):
        raise CxInputError(f"a column name must be text, got {column!r}")
    choices = [c for c in table_columns(con, table) if c not in exclude]
    if column not in choices:
        raise unknown_name("column", column, table, choices)
    return quote_ident(column)


def render(name: str, slots: dict[str, Ident] | None = None, *, engine: str = "duckdb") -> str:
    """The query text (for `engine`, see `load`) with its {slots} filled by checked identifiers or SQL
    fragments of ours."""
    text = load(name, engine)
    slots = slots or {}
    wanted = set(_SLOT.findall(_COMMENT.sub("", text)))
    if wanted != set(slots):
        raise CxInputError(f"{name}.sql needs slots {sorted(wanted)}, got {sorted(slots)}")
    for key, value in slots.items():
        if not isinstance(value, Ident):
            raise CxInputError(f"slot {key!r} of {name}.sql takes a checked identifier (Ident), got {value!r}")
    return _SLOT.sub(lambda m: slots[m.group(1)], text)


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: dict | None = None,
    slots: dict[str, Ident] | None = None,
) -> pd.DataFrame:
    """Run cxlib/sql/<name>.sql with bound `params`; returns the result as a DataFrame."""
    text = render(name, slots, engine=getattr(con, "engine", "duckdb"))
    params = params or {}
    needed = parameters(text)
    if needed != set(params):
        missing, extra = sorted(needed - set(params)), sorted(set(params) - needed)
        raise CxInputError(f"{name}.sql takes parameters {sorted(needed)}; missing {missing}, unexpected {extra}")
    return con.execute(text, params).df()
