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
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from cxlib.errors import CxInputError
from cxlib.explore.filters import FilteredStore
from cxlib.sql import parameters as sql_parameters
from cxlib.store.connection import connect

__all__ = ["SqlResult", "query", "load_ipython_extension"]

READ_STATEMENTS = {"SELECT", "EXPLAIN"}
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


def _statement_kind(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise CxInputError(f"the SQL does not parse: {exc}") from None
    if len(statements) != 1:
        raise CxInputError(f"run one statement at a time (got {len(statements)}); split them into cells")
    return statements[0].type.name


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
    Refuses statements that could write (INSERT, CREATE, COPY, SET, ATTACH, PRAGMA, ...).
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
        kind = _statement_kind(base, sql)
        if kind not in READ_STATEMENTS:
            raise CxInputError(
                f"only reading statements run here (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN); "
                f"got a {kind} statement. Change data with 'cx ingest'."
            )
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
            chunks, rows = [], 0
            while rows <= limit:
                chunk = cur.fetch_df_chunk(1)
                if chunk.empty:
                    if not chunks:
                        chunks.append(chunk)
                    break
                chunks.append(chunk)
                rows += len(chunk)
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
