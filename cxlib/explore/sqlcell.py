"""Ad-hoc DuckDB SQL against the store: a DataFrame and a quick chart, read-only.

In a notebook::

    r = cxlib.explore.sqlcell.query("SELECT channel, count(*) AS events FROM events GROUP BY 1")
    r            # shows the rows and a chart; r.df is the DataFrame, r.chart the chart

or as a cell magic (``%load_ext cxlib.explore.sqlcell`` once)::

    %%cxsql -o by_channel
    SELECT channel, count(*) AS events FROM events WHERE ts >= $start GROUP BY 1

The analyst writes the SQL; values still enter as bound parameters: ``params=`` for
:func:`query`, and in the magic every ``$name`` is bound to the notebook variable ``name``
(never pasted into the text). Only one read statement (SELECT / WITH / FROM / DESCRIBE /
SHOW / SUMMARIZE / EXPLAIN) runs; anything that could write is refused, and without an explicit
connection the store is opened read-only. Pass a filtered store (cxlib.explore.filtered) or its
connection to run the SQL inside the analyst's filter.

The helper reads only the store. Before anything runs, DuckDB's own parser
(``json_serialize_sql``) turns the statement into a tree and every part of it is checked:

- a table (``FROM x``) must be a table or view of the store (its current database, or a TEMP
  view such as a filtered store's) or a CTE in scope; anything else would be a replacement scan
  (``FROM 'x.csv'``, ``FROM 's3://...'``, a Python DataFrame) that reads from outside;
- a table function must be one of :data:`TABLE_FUNCTIONS` (``range``, ``generate_series``,
  ``unnest``): ``read_csv``, ``read_parquet``, ``read_text``, ``glob``, ``query``,
  ``duckdb_settings`` and every other table function are refused;
- a function must be one of DuckDB's built-in functions (an unknown name could load an
  extension; a macro's body is not visible to the check) and not one that reaches outside the
  store (:data:`OUTSIDE_FUNCTIONS`, such as ``current_setting``);
- ``SHOW`` lists only the store's tables (``SHOW TABLES``), ``EXPLAIN`` is checked on the
  statement it explains; ATTACH, SET, PRAGMA, COPY, INSTALL/LOAD, CREATE SECRET, CALL and every
  other statement that is not a SELECT are refused.

The refusal is a one-line :class:`~cxlib.errors.CxInputError` that says what was refused and why.
A store the helper opens itself is also opened with external access, extension autoloading and
Python replacement scans switched off and its configuration locked.
"""

from __future__ import annotations

import functools
import html
import json
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from cxlib.errors import CxInputError
from cxlib.explore.filters import FilteredStore
from cxlib.sql import parameters as sql_parameters
from cxlib.store.connection import connect

__all__ = ["SqlResult", "check_reads_only_store", "load_ipython_extension", "query"]

DEFAULT_LIMIT = 10_000
SHOWN_ROWS = 50


@dataclass
class SqlResult:
    """The rows of an ad-hoc query (at most `limit`), a quick chart of them, and how it ran."""

    df: pd.DataFrame
    chart: Any
    sql: str
    params: Any
    seconds: float
    truncated: bool

    def _repr_html_(self) -> str:
        note = f"{len(self.df):,} row(s){' (first rows only: raise limit= for more)' if self.truncated else ''}"
        note += f" in {self.seconds:.3f} s"
        table = self.df.head(SHOWN_ROWS).to_html(escape=True, max_cols=30)
        more = f"<div>showing {SHOWN_ROWS} of {len(self.df):,}</div>" if len(self.df) > SHOWN_ROWS else ""
        return f'<div class="cx-sql-result"><div>{html.escape(note)}</div>{table}{more}</div>'

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))
        if self.chart is not None:
            display(self.chart)


REFUSED = "the SQL helper reads only the store's tables"
# Table functions that only generate values; every other table function (read_csv, glob, query,
# duckdb_settings, checkpoint, ...) is refused.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
# Built-in functions that reach outside the store or change state; all others built into DuckDB
# compute on the values they are given.
OUTSIDE_FUNCTIONS = {
    "current_setting": "reads the session's settings (paths, credentials)",
    "getenv": "reads the environment of the process",
    "nextval": "advances a sequence (a write)",
    "setval": "changes a sequence (a write)",
}
# Why a statement type is refused (anything not listed: "is not a reading statement").
STATEMENT_REASONS = {
    "ATTACH": "opens another database",
    "DETACH": "changes the attached databases",
    "SET": "changes a setting, variable or the current database",
    "PRAGMA": "runs a pragma (settings, files, IMPORT DATABASE)",
    "COPY": "reads or writes files",
    "COPY_DATABASE": "copies a database",
    "EXPORT": "writes files",
    "LOAD": "installs or loads an extension",
    "CALL": "calls a table function",
    "CREATE": "creates an object (a table, view, macro or secret)",
    "MULTI": "runs several statements (a PIVOT without IN (...) runs one to find its columns: list them with IN)",
}
# Spelled only to explain a refusal, never to decide one.
_WHY_TABLE_FUNCTION = (
    (("read_", "parquet_", "sniff_", "glob"), "reads files or URLs"),
    (("query", "json_execute"), "runs SQL text that this check cannot see"),
    (("duckdb_", "pragma_", "which_secret", "test_"), "reads the database system's state, not the store"),
)


def _refuse(what: str) -> CxInputError:
    return CxInputError(f"{REFUSED}; {' '.join(what.split())}")


def _statement_kind(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise CxInputError(f"the SQL does not parse: {' '.join(str(exc).split())}") from None
    if len(statements) != 1:
        raise CxInputError(f"run one statement at a time (got {len(statements)}); split them into cells")
    try:
        return statements[0].type.name
    except ValueError:  # a statement type the Python client has no name for (UPDATE EXTENSIONS, ...)
        return "UNKNOWN"


def _explained(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The statement an EXPLAIN [ANALYZE] [(options)] explains, as a suffix of `sql`."""
    tokens = duckdb.tokenize(sql)
    spans = [(off, (tokens[i + 1][0] if i + 1 < len(tokens) else len(sql)), kind)
             for i, (off, kind) in enumerate(tokens)]
    words = [(off, sql[off:stop].strip(), kind) for off, stop, kind in spans if kind != duckdb.token_type.comment]
    i = 1  # words[0] is EXPLAIN
    if i < len(words) and words[i][1].upper() in ("ANALYZE", "ANALYSE"):
        i += 1

    def one_select(at: int) -> bool:
        try:
            inner = con.extract_statements(sql[words[at][0]:])
            return len(inner) == 1 and inner[0].type.name == "SELECT"
        except (duckdb.Error, ValueError, IndexError):
            return False

    if i < len(words) and words[i][1] == "(" and not one_select(i):  # an options list: skip it
        depth = 0
        while i < len(words):
            depth += (words[i][1] == "(") - (words[i][1] == ")")
            i += 1
            if depth == 0:
                break
    if i >= len(words) or not one_select(i):
        raise _refuse("EXPLAIN runs here only on one SELECT statement (EXPLAIN [ANALYZE] SELECT ...)")
    return sql[words[i][0]:]


class _Relations:
    """The tables and views of the store as seen by one connection: its current database and TEMP."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.database, self.schema = con.execute("SELECT current_database(), current_schema()").fetchone()
        rows = con.execute(
            "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog IN (current_database(), 'temp')"
        ).fetchall()
        self.rows = {(c.lower(), s.lower(), n.lower()) for c, s, n in rows}
        self.schemas = {(c.lower(), s.lower()) for c, s in con.execute(
            "SELECT catalog_name, schema_name FROM information_schema.schemata "
            "WHERE catalog_name IN (current_database(), 'temp')"
        ).fetchall()}

    def has(self, catalog: str, schema: str, name: str) -> bool:
        """Whether DuckDB's binder resolves [catalog.][schema.]name to one of the store's relations."""
        catalog, schema, name = catalog.lower(), schema.lower(), name.lower()
        db, current = self.database.lower(), self.schema.lower()
        if catalog:
            places = {(catalog, schema or "main")}
        elif schema:  # schema.name, or catalog.name when no such schema
            places = {(db, schema), ("temp", schema), (schema, "main")}
        else:  # the default search path: temp first, then the current schema
            places = {("temp", "main"), (db, current)}
        return any((c, s, name) in self.rows for c, s in places if c in (db, "temp"))

    def has_schema(self, catalog: str, schema: str) -> bool:
        """Whether [catalog.]schema (or a bare catalog name) is a schema of the store."""
        catalog, schema = catalog.lower(), schema.lower()
        db = self.database.lower()
        if catalog:
            return catalog in (db, "temp") and (catalog, schema or "main") in self.schemas
        return (db, schema) in self.schemas or ("temp", schema) in self.schemas or schema in (db, "temp")

    def names(self) -> str:
        shown = sorted({n for c, s, n in self.rows})
        return ", ".join(shown[:12]) + (", ..." if len(shown) > 12 else "")


def _looks_outside(name: str) -> bool:
    return any(ch in name for ch in "./\\:*?")


class _Check:
    """Walk DuckDB's serialized parse tree; refuse any part that could read outside the store."""

    def __init__(self, relations: _Relations):
        self.relations = relations
        self.functions: dict[str, str] = {}  # lower name -> name as written
        self.types: dict[str, str] = {}

    def walk(self, node: Any, scope: frozenset[str]) -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, scope)
            return
        if not isinstance(node, dict):
            return
        if "cte_map" in node:
            # a CTE's body sees the CTEs before it; the query sees them all (a name a CTE does
            # not cover in DuckDB's binder would be read as a file, so scope is kept exact)
            seen: list[str] = []
            for entry in (node.get("cte_map") or {}).get("map") or []:
                self.walk(entry.get("value"), scope | frozenset(seen))
                seen.append(str(entry.get("key", "")).lower())
            scope = scope | frozenset(seen)
        kind = node.get("type")
        if kind == "RECURSIVE_CTE_NODE":
            scope = scope | {str(node.get("cte_name", "")).lower()}
        if kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            self.table_function(function)
            self.walk([v for k, v in function.items() if k != "function_name"], scope)
            self.walk([v for k, v in node.items() if k != "function"], scope)
            return
        if kind == "BASE_TABLE":
            self.table(node.get("catalog_name", ""), node.get("schema_name", ""), node.get("table_name", ""), scope)
        elif kind == "SHOW_REF":
            self.show(node, scope)
        elif "function_name" in node and "class" in node:  # a scalar, aggregate or window function
            self.function(node)
        elif node.get("class") == "TYPE":  # a cast's target type
            self.types.setdefault(str(node.get("type_name", "")).lower(), str(node.get("type_name", "")))
        elif any(key in node for key in ("function_name", "table_name", "function")):
            raise _refuse(f"a part of this statement ({kind}) cannot be checked; write it as a plain SELECT")
        for key, value in node.items():
            if key != "cte_map":
                self.walk(value, scope)

    def table(self, catalog: str, schema: str, name: str, scope: frozenset[str]) -> None:
        if not catalog and not schema and name.lower() in scope:
            return  # a CTE
        if self.relations.has(catalog, schema, name):
            return
        written = ".".join(p for p in (catalog, schema, name) if p)
        if _looks_outside(name) or _looks_outside(schema):
            raise _refuse(f"'{written}' is not a table of the store: a file path or URL used as a table "
                          f"reads from outside (tables: {self.relations.names()})")
        raise _refuse(f"'{written}' is not a table or view of the store (tables: {self.relations.names()})")

    def table_function(self, function: dict) -> None:
        name = str(function.get("function_name", ""))
        qualified = function.get("catalog") or function.get("schema") not in (None, "", "main")
        if name.lower() not in TABLE_FUNCTIONS or qualified:
            why = next((why for starts, why in _WHY_TABLE_FUNCTION if name.lower().startswith(starts)),
                       f"only {', '.join(sorted(TABLE_FUNCTIONS))} are allowed as table functions")
            raise _refuse(f"{name} {why}")
        self.functions.setdefault(name.lower(), name)

    def function(self, node: dict) -> None:
        name = str(node.get("function_name", ""))
        if name.lower() in OUTSIDE_FUNCTIONS:
            raise _refuse(f"{name} {OUTSIDE_FUNCTIONS[name.lower()]}")
        if node.get("catalog") not in (None, "", "system") or node.get("schema") not in (None, "", "main"):
            raise _refuse(f"{name} is a function of another schema or database; use DuckDB's built-in functions")
        self.functions.setdefault(name.lower(), name)

    def show(self, node: dict, scope: frozenset[str]) -> None:
        name = str(node.get("table_name") or "")
        catalog, schema = str(node.get("catalog_name") or ""), str(node.get("schema_name") or "")
        if node.get("show_type") == "SHOW_SPECIAL":
            what = name.strip('"').lower()
            if what == "tables" and not catalog and not schema:
                return
            raise _refuse(f"SHOW {what.upper()} lists more than the store's tables (SHOW TABLES, DESCRIBE t)")
        if name:
            self.table(catalog, schema, name, scope)
        elif (catalog or schema) and not self.relations.has_schema(catalog, schema):
            written = ".".join(p for p in (catalog, schema) if p)
            raise _refuse(f"'{written}' is not a schema of the store (SHOW TABLES, DESCRIBE t)")
        # else DESCRIBE / SUMMARIZE / SHOW of a query: the query is walked

    def builtins(self, con: duckdb.DuckDBPyConnection) -> None:
        """Every function used is built into DuckDB (no autoload, macro or Python UDF); every type is known."""
        if self.functions:
            session = dict(con.execute(
                "SELECT lower(function_name), bool_and(internal) FROM duckdb_functions() "
                "WHERE lower(function_name) IN (SELECT unnest($names)) GROUP BY 1",
                {"names": sorted(self.functions)},
            ).fetchall())
            for lower, name in sorted(self.functions.items()):
                if session.get(lower) is False:
                    raise _refuse(f"{name} is a macro defined in this session; its body cannot be checked")
                if lower not in _builtin_functions() or lower not in session:
                    raise _refuse(f"{name} is not one of DuckDB's built-in functions (an unknown name could load "
                                  "an extension, a Python function's code cannot be checked)")
        if self.types:
            known = {r[0] for r in con.execute(
                "SELECT DISTINCT lower(type_name) FROM duckdb_types() WHERE lower(type_name) IN (SELECT unnest($names))",
                {"names": sorted(self.types)},
            ).fetchall()}
            for lower, name in sorted(self.types.items()):
                if lower not in known:
                    raise _refuse(f"type {name} is not known to this DuckDB (an unknown type could load an extension)")


@functools.lru_cache(maxsize=1)
def _builtin_functions() -> frozenset[str]:
    """The functions of a fresh DuckDB of this version: built in, not registered or loaded by a session."""
    fresh = duckdb.connect(config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    try:
        return frozenset(r[0] for r in fresh.execute("SELECT DISTINCT lower(function_name) FROM duckdb_functions()").fetchall())
    finally:
        fresh.close()


def check_reads_only_store(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Refuse `sql` unless it is one statement that reads only the store; return its kind.

    *Definition*: the statement is parsed by DuckDB (``extract_statements`` for its type,
    ``json_serialize_sql`` for its tree) and refused with a one-line CxInputError when it is not a
    SELECT (or an EXPLAIN of one), or when any table in it is not a table or view of the store
    (nor a CTE in scope), any table function is not in TABLE_FUNCTIONS, any function is not one of
    DuckDB's built-in functions or is in OUTSIDE_FUNCTIONS, or a SHOW lists more than the store's
    tables. Nothing runs before the check passes.
    """
    kind = _statement_kind(con, sql)
    checked = sql
    if kind == "EXPLAIN":
        checked = _explained(con, sql)
    elif kind != "SELECT":
        what = "a statement of a kind DuckDB's Python client does not name" if kind == "UNKNOWN" else (
            f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} statement")
        why = STATEMENT_REASONS.get(kind, "is not a reading statement (change data with 'cx ingest')")
        raise CxInputError(
            f"{REFUSED}; only reading statements run here (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, "
            f"EXPLAIN): {what} {why}"
        )
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql($sql)", {"sql": checked}).fetchone()[0])
    except (duckdb.Error, TypeError, ValueError) as exc:
        raise _refuse(f"the statement cannot be checked ({exc})") from None
    if tree.get("error") or len(tree.get("statements") or []) != 1:
        raise _refuse(f"the statement cannot be checked ({tree.get('error_message', 'not one SELECT')})")
    check = _Check(_Relations(con))
    check.walk(tree["statements"][0], frozenset())
    check.builtins(con)
    return kind


def _shut_outside(con: duckdb.DuckDBPyConnection) -> None:
    """The helper's own connection cannot reach outside even if the check missed something."""
    for setting in ("enable_external_access", "autoload_known_extensions", "autoinstall_known_extensions",
                    "python_enable_replacements"):
        con.execute(f"SET {setting} = false")
    con.execute("SET lock_configuration = true")


def _fetch(cur: duckdb.DuckDBPyConnection, limit: int) -> list[pd.DataFrame]:
    """Chunks of the result until more than `limit` rows (or the end); never an empty list."""
    chunks, rows = [], 0
    while rows <= limit:
        chunk = cur.fetch_df_chunk(1)
        if chunk.empty:
            if not chunks:
                chunks.append(chunk)
            break
        chunks.append(chunk)
        rows += len(chunk)
    if rows > limit:  # rows left unread: free the caller's connection for other work
        cur.abort()
    return chunks


def query(
    sql: str,
    params: dict | list | None = None,
    *,
    con: duckdb.DuckDBPyConnection | FilteredStore | None = None,
    db: str | None = None,
    limit: int = DEFAULT_LIMIT,
    chart: bool = True,
) -> SqlResult:
    """Run one read-only SQL statement on the store; return rows, a quick chart and timing.

    *Definition*: the first `limit` rows of the result in the query's own order (``truncated``
    says whether there were more); the chart is :func:`cxlib.charts.interactive.chart_quick` of
    those rows (None when no obvious chart fits or ``chart=False``). `params` are DuckDB
    parameters (``$name`` with a dict, ``?`` with a list). Without `con`, the store at `db`
    (default ``CX_DB``, else data/cx.duckdb) is opened read-only and closed again.
    Refuses statements that could write (INSERT, CREATE, COPY, SET, ATTACH, PRAGMA, ...) and
    anything that reads outside the store (see :func:`check_reads_only_store`), before it runs.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise CxInputError("sql must be a non-empty SQL statement")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise CxInputError(f"limit must be a whole number of at least 1, got {limit!r}")
    if params is not None and not isinstance(params, (dict, list, tuple)):
        raise CxInputError(f"params must be a dict ($name) or a list (?), got {type(params).__name__}")
    own = con is None
    if isinstance(con, FilteredStore):
        con = con.con
    base = connect(db, read_only=True) if own else con
    try:
        if own:
            _shut_outside(base)
        check_reads_only_store(base, sql)
        if isinstance(params, dict):
            wanted = sql_parameters(sql)
            missing = sorted(wanted - set(params))
            if missing:
                raise CxInputError(f"the SQL uses {', '.join('$' + m for m in missing)} but params has no value for it")
            params = {k: v for k, v in params.items() if k in wanted}
        # on the caller's own connection: its temp views (a filtered store) stay visible; writing
        # statements were refused above, so its state cannot change
        cur = base
        try:
            started = time.perf_counter()
            try:
                if params:
                    cur.execute(sql, list(params) if isinstance(params, tuple) else params)
                else:
                    cur.execute(sql)
            except duckdb.Error as exc:
                raise CxInputError(f"the query failed: {exc}") from None
            chunks = _fetch(cur, limit)
            seconds = time.perf_counter() - started
        finally:
            if own:
                cur.close()
    finally:
        if own:
            base.close()
    df = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0].reset_index(drop=True)
    truncated = len(df) > limit
    df = df.head(limit)
    quick = None
    if chart:
        from cxlib.charts.interactive import chart_quick

        quick = chart_quick(df)
    return SqlResult(df, quick, sql, params, seconds, truncated)


def _magic_arguments():
    import argparse

    parser = argparse.ArgumentParser(prog="%%cxsql", add_help=False)
    parser.add_argument("-o", "--out", help="name of the notebook variable that receives the DataFrame")
    parser.add_argument("--con", help="name of the notebook variable holding a connection or filtered store")
    parser.add_argument("--db", help="store path (default: $CX_DB, else data/cx.duckdb)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    parser.add_argument("--no-chart", action="store_true")
    return parser


def cxsql(line: str, cell: str, namespace: dict) -> SqlResult:
    """The body of the %%cxsql magic: `$name` in the SQL is bound to `namespace[name]`."""
    import shlex

    try:
        args = _magic_arguments().parse_args(shlex.split(line))
    except SystemExit:
        raise CxInputError(
            "usage: %%cxsql [-o NAME] [--con NAME] [--db PATH] [--limit N] [--no-chart]"
        ) from None
    names = sql_parameters(cell)
    missing = sorted(n for n in names if n not in namespace)
    if missing:
        raise CxInputError(f"the SQL uses {', '.join('$' + m for m in missing)}: define that notebook variable first")
    con = None
    if args.con:
        if args.con not in namespace:
            raise CxInputError(f"--con {args.con}: no such notebook variable")
        con = namespace[args.con]
    result = query(cell, {n: namespace[n] for n in names} or None, con=con, db=args.db,
                   limit=args.limit, chart=not args.no_chart)
    if args.out:
        if not args.out.isidentifier():
            raise CxInputError(f"-o takes a variable name, got {args.out!r}")
        namespace[args.out] = result.df
    return result


def load_ipython_extension(ipython) -> None:
    """``%load_ext cxlib.explore.sqlcell`` registers the ``%%cxsql`` cell magic."""

    def _magic(line, cell):
        return cxsql(line, cell, ipython.user_ns)

    ipython.register_magic_function(_magic, magic_kind="cell", magic_name="cxsql")
