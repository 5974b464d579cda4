"""The Spark engine: a SparkSession behind the part of DuckDB's connection interface cxlib uses.

cxlib writes DuckDB SQL everywhere (the query files and a few inline statements); DuckDB's
dialect stays the source of truth. `SparkConnection.execute` parses each statement once with
sqlglot (read ``duckdb``, write ``spark``; cached per text) and runs it with its values bound as
Spark parameters: DuckDB's ``$name`` becomes Spark's ``:name`` and ``?`` stays ``?``; nothing is
pasted into the text. Identifiers are the ones `cxlib.sql.checked_column` checked and quoted;
sqlglot re-quotes them with backticks.

What DuckDB does that Spark SQL does not, and what this module does instead:

* ``CREATE [OR REPLACE] [TEMP] TABLE name AS SELECT ...``: the select is run, checkpointed
  (computed once, kept in the executors' memory or disk) and registered as a temporary view of
  that name, so later queries read it as they would a table.
* ``DROP TABLE|VIEW [IF EXISTS] name``: drops the temporary view.
* ``WITH RECURSIVE``: run here, not by Spark, as DuckDB does it: the anchor, then the recursive
  term over the rows the last round added, until a round adds none; each round's rows are
  checkpointed. So the recursive term may join and aggregate as on DuckDB (Spark's own recursion
  takes neither, and a correlated-subquery form took 192 s where this takes under 2, the funnel
  on the sample). The other CTEs become temporary views; those a recursive term reads are
  checkpointed once, not recomputed each round.
* ``SET name = value`` (DuckDB settings such as ``TimeZone``): ignored; the session is made
  with UTC as its time zone.
* ``con.register(name, frame)`` / ``con.unregister(name)``: a pandas frame as a temporary view.
* ``information_schema.columns``: use `SparkConnection.table_columns` (`cxlib.sql.table_columns`
  does).

Results come back as DuckDB's do: ``.df()`` (a pandas frame through Arrow), ``.fetchone()``,
``.fetchall()`` (tuples) and ``.description``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from functools import lru_cache

import numpy as np
import pandas as pd

from cxlib.errors import CxInputError

ENGINE = "spark"


MAX_ROUNDS = 10_000  # a recursive CTE's rounds before it is taken for one that never ends


def _columns(frame, columns):
    """`frame` with its columns named `columns` (a CTE's column list), or as it is."""
    return frame.toDF(*columns) if columns else frame


class SparkResult:
    """What `SparkConnection.execute` returns: the last statement's rows, read on demand."""

    def __init__(self, frame=None):
        self._frame = frame  # a pyspark DataFrame, or None after a statement without rows
        self._rows: list[tuple] | None = None
        self._next = 0

    def _all(self) -> list[tuple]:
        if self._rows is None:
            self._rows = [] if self._frame is None else [tuple(r) for r in self._frame.collect()]
        return self._rows

    def df(self) -> pd.DataFrame:
        if self._frame is None:
            return pd.DataFrame()
        return _as_duckdb_frame(self._frame.toPandas(), self._frame.schema)

    fetchdf = df

    def fetchone(self):
        rows = self._all()
        if self._next >= len(rows):
            return None
        self._next += 1
        return rows[self._next - 1]

    def fetchall(self) -> list[tuple]:
        rows = self._all()[self._next:]
        self._next = len(self._all())
        return rows

    @property
    def description(self):
        if self._frame is None:
            return None
        return [(f.name, f.dataType.simpleString(), None, None, None, None, None) for f in self._frame.schema.fields]


def _as_duckdb_frame(frame: pd.DataFrame, schema) -> pd.DataFrame:
    """Spark's pandas types made DuckDB's: DECIMAL as float, not Python Decimal objects; DATE as
    datetime64, not Python date objects."""
    for f in schema.fields:
        if f.name not in frame.columns:
            continue
        if f.dataType.typeName() == "decimal":
            frame[f.name] = frame[f.name].astype("float64")
        elif f.dataType.typeName() == "date":
            frame[f.name] = pd.to_datetime(frame[f.name])
    return frame


def _value(v):
    """A parameter value Spark can bind (numpy and pandas scalars as Python ones)."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


# DuckDB functions with no Spark namesake (or one that means something else), as Spark templates
# over the call's arguments __0, __1, ... Each keeps DuckDB's meaning on the values cxlib uses.
_TEMPLATES = {
    "to_seconds": "make_dt_interval(0, 0, 0, __0)",
    "to_microseconds": "make_dt_interval(0, 0, 0, __0 / 1000000)",
    "to_days": "make_dt_interval(__0)",
    "to_months": "make_ym_interval(0, __0)",
    # NULLs are skipped and an empty or all-NULL list sums to NULL, as in DuckDB
    "list_sum": "aggregate(filter(__0, x -> x IS NOT NULL), CAST(NULL AS DOUBLE), (acc, x) -> coalesce(acc, 0) + x)",
    "regexp_split_to_array": "split(__0, __1)",
    # regexp_full_match(s, p): the whole of s matches p (NULL for NULL); \\z, not $, so that a
    # trailing newline is no match, as in DuckDB (ingestion's typing, cxlib/store/validate.py)
    "regexp_full_match": "regexp_like(__0, concat('^(?:', __1, ')\\\\z'))",
    # isfinite(x): neither infinite nor NaN (NULL for NULL); Spark orders NaN above Infinity
    "isfinite": "abs(__0) < CAST('Infinity' AS DOUBLE)",
}
# DuckDB's `timezone(zone, naive) AT TIME ZONE 'UTC'`: the naive clock time read in the zone, as a
# naive UTC time (ingestion's typing). The session's time zone is UTC (cxlib.store.spark).
_LOCAL_TO_UTC = "CAST(to_utc_timestamp(__1, __0) AS TIMESTAMP_NTZ)"
# DuckDB's `try_cast(text AS TIMESTAMPTZ) AT TIME ZONE 'UTC'`: ISO text with an offset right after
# the time (Z, +02, +0200, +02:00; seconds optional) as a naive UTC time, NULL when not one (DuckDB
# takes no blank before the offset and no lower-case z). Spark's cast wants seconds and +hh:mm, so
# the text is written that way first; a blank before the offset is NULL, as in DuckDB.
_OFFSET_TO_UTC = (
    "CASE WHEN NOT regexp_like(__0, '\\\\d\\\\s+[Zz+-]') THEN CAST(try_cast("
    "regexp_replace(regexp_replace(regexp_replace(regexp_replace(__0, '^(\\\\d{4}-\\\\d{2}-\\\\d{2}[ T]\\\\d{2}:\\\\d{2})(?!:)', '$1:00'), "
    "'(\\\\d)Z\\\\z', '$1+00:00'), '(\\\\d[+-]\\\\d{2})(\\\\d{2})\\\\z', '$1:$2'), "
    "'(\\\\d[+-]\\\\d{2})\\\\z', '$1:00') AS TIMESTAMP_LTZ) AS TIMESTAMP_NTZ) END")
# epoch(): seconds as a double, of a timestamp or of a difference of two (DuckDB's interval)
_EPOCH = "unix_micros(CAST(__0 AS TIMESTAMP_LTZ)) / CAST(1000000 AS DOUBLE)"
_EPOCH_OF_DIFFERENCE = "(unix_micros(CAST(__0 AS TIMESTAMP_LTZ)) - unix_micros(CAST(__1 AS TIMESTAMP_LTZ))) / CAST(1000000 AS DOUBLE)"
# date_diff(part, start, end) counts the part's boundaries between start and end (DuckDB), not
# whole parts elapsed (Spark's datediff with a unit)
_DATE_DIFF = {
    "DAY": "datediff(CAST(__1 AS DATE), CAST(__0 AS DATE))",
    "MONTH": "(year(__1) * 12 + month(__1)) - (year(__0) * 12 + month(__0))",
    "YEAR": "year(__1) - year(__0)",
    "SECOND": "unix_seconds(CAST(__1 AS TIMESTAMP_LTZ)) - unix_seconds(CAST(__0 AS TIMESTAMP_LTZ))",
}


def _fill(template: str, *args):
    import sqlglot
    from sqlglot import exp

    args = [a.transform(_portable) for a in args]  # the arguments' own DuckDB calls too
    tree = sqlglot.parse_one(template, read="spark")
    tree = tree.transform(lambda n: args[int(n.name[2:])].copy()
                          if isinstance(n, exp.Column) and n.name.startswith("__") and not n.table else n)
    # in brackets, so that the operators around the call bind to all of it (date_diff(..) / 3600.0)
    return exp.Paren(this=tree) if isinstance(tree, exp.Binary) else tree


def _portable(node):
    """One node of a DuckDB tree in a form Spark runs with DuckDB's meaning (see the tables above)."""
    from sqlglot import exp

    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this and not isinstance(node.parent, exp.Cast):
        # 3600.0 is a DOUBLE in DuckDB's arithmetic; Spark keeps a DECIMAL and rounds quotients to 6 places
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    if isinstance(node, exp.ArgMax | exp.ArgMin) and node.expression is not None:
        # DuckDB's arg_max(a, v) skips rows where a is NULL; Spark's max_by(a, v) returns that NULL,
        # and skips rows whose v is NULL: so v is NULL where a is (works in FILTER and OVER alike)
        picked = node.copy()
        picked.set("this", node.this.transform(_portable))
        picked.set("expression", _fill("CASE WHEN __0 IS NOT NULL THEN __1 END", node.this, node.expression))
        return picked
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node = node.copy()
        node.set("materialized", None)  # WITH x AS MATERIALIZED (..): a DuckDB hint; Spark plans it itself
        return node
    if isinstance(node, exp.Column) and not node.table and _row_alias(node):
        return exp.Column(this=exp.Star(), table=exp.to_identifier(node.name))
    if isinstance(node, exp.Anonymous) and node.name.lower() in _TEMPLATES:
        return _fill(_TEMPLATES[node.name.lower()], *node.expressions)
    if isinstance(node, exp.RegexpFullMatch):  # sqlglot's own node for DuckDB's regexp_full_match
        return _fill(_TEMPLATES["regexp_full_match"], node.this, node.expression)
    if isinstance(node, exp.AtTimeZone) and node.text("zone").upper() == "UTC":
        inner = node.this
        if isinstance(inner, exp.Anonymous) and inner.name.lower() == "timezone" and len(inner.expressions) == 2:
            return _fill(_LOCAL_TO_UTC, *inner.expressions)
        if isinstance(inner, exp.TryCast) and inner.to.is_type(exp.DataType.Type.TIMESTAMPTZ):
            return _fill(_OFFSET_TO_UTC, inner.this)
    if isinstance(node, exp.ToDays):
        return _fill(_TEMPLATES["to_days"], node.this)
    if isinstance(node, exp.TimeToUnix):
        if isinstance(node.this, exp.Sub):
            return _fill(_EPOCH_OF_DIFFERENCE, node.this.this, node.this.expression)
        return _fill(_EPOCH, node.this)
    if isinstance(node, exp.DateDiff):
        unit = (node.text("unit") or "DAY").upper()
        if unit not in _DATE_DIFF:
            raise CxInputError(f"date_diff with part {unit!r} has no Spark form here; use one of {sorted(_DATE_DIFF)}")
        return _fill(_DATE_DIFF[unit], node.expression, node.this)  # DuckDB: date_diff(part, start, end)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return _fill("percentile(__0, __1)", node.this, node.expression)
    return node


def _row_alias(column) -> bool:
    """A bare name that is a table alias of its SELECT: DuckDB reads it as the whole row (``hash(t)``);
    Spark's form is ``t.*``."""
    from sqlglot import exp

    select = column.find_ancestor(exp.Select)
    if select is None or not isinstance(column.parent, exp.Func):
        return False
    scope = [select.args.get("from_") or select.args.get("from"), *(select.args.get("joins") or [])]
    aliases = {t.alias_or_name for part in scope if part is not None for t in part.find_all(exp.Table, exp.Subquery)
               if t.find_ancestor(exp.Select) is select}
    return column.name in aliases and column.name not in {c.alias_or_name for c in select.expressions}


def _spark(tree) -> str:
    return tree.transform(_portable).sql(dialect="spark")


@lru_cache(maxsize=4096)
def translate(query: str) -> tuple[tuple, ...]:
    """DuckDB SQL as Spark statements: ('query', text, parameter names) | ('create', name, select
    text, parameter names) | ('drop', name) | ('skip',)."""
    import sqlglot
    from sqlglot import exp

    out = []
    for tree in sqlglot.parse(query, read="duckdb"):
        if tree is None:
            continue
        if isinstance(tree, exp.Create) and tree.args.get("kind") in ("TABLE", "VIEW") and tree.expression is not None:
            select = tree.expression
            name = tree.this.name if not isinstance(tree.this, exp.Schema) else tree.this.this.name
            out.append(("recursive", name, *_recursion(select)) if _is_recursive(select) else
                       ("create", name, _spark(select), _names(select)))
        elif _is_recursive(tree):
            out.append(("recursive", None, *_recursion(tree)))
        elif isinstance(tree, exp.Drop) and tree.args.get("kind") in ("TABLE", "VIEW"):
            for table in tree.args.get("tables") or [tree.this]:
                out.append(("drop", table.name))
        elif isinstance(tree, (exp.Set, exp.Command)) and tree.sql(dialect="duckdb").upper().startswith(("SET ", "PRAGMA")):
            out.append(("skip",))
        else:
            out.append(("query", _spark(tree), _names(tree)))
    return tuple(out)


def _with(tree):
    return tree.args.get("with_") or tree.args.get("with")


def _is_recursive(tree) -> bool:
    """A query whose WITH RECURSIVE has a CTE reading itself."""
    from sqlglot import exp

    with_ = _with(tree) if isinstance(tree, exp.Query) else None
    return bool(with_ and with_.args.get("recursive") and any(_self_reading(c) for c in with_.expressions))


def _self_reading(cte) -> bool:
    from sqlglot import exp

    return isinstance(cte.this, exp.Union) and any(
        t.name == cte.alias and not t.db for t in cte.this.expression.find_all(exp.Table))


def _renamed(tree, names: dict[str, str]):
    """`tree` with its tables named in `names` (CTEs) read from their temporary views instead."""
    from sqlglot import exp

    def rename(node):
        if isinstance(node, exp.Table) and not node.db and node.name in names:
            return exp.Table(this=exp.to_identifier(names[node.name]),
                             alias=node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(node.name)))
        return node

    return tree.transform(rename)


def _recursion(tree) -> tuple:
    """A WITH RECURSIVE query as steps `SparkConnection` runs one by one: ('view', view, columns, text,
    names, checkpoint) for a plain CTE; ('loop', view, columns, anchor text, names, recursive text, names)
    for a CTE reading itself (its recursive term reads the view as the last round's rows); then the
    final select's text and names."""
    from sqlglot import exp

    views: dict[str, str] = {}
    steps = []
    ctes = list(_with(tree).expressions)
    read_in_loops = {t.name for c in ctes if _self_reading(c) for t in c.this.expression.find_all(exp.Table)
                     if not t.db and t.name != c.alias}
    for cte in ctes:
        view = f"cx_cte_{cte.alias}"
        columns = tuple(c.name for c in cte.args["alias"].columns)
        if _self_reading(cte):
            anchor = _renamed(cte.this.this, views)
            views[cte.alias] = view
            step = _renamed(cte.this.expression, views)
            steps.append(("loop", view, columns, _spark(anchor), _names(anchor), _spark(step), _names(step)))
        else:
            body = _renamed(cte.this, views)
            views[cte.alias] = view
            steps.append(("view", view, columns, _spark(body), _names(body), cte.alias in read_in_loops))
    final = _renamed(tree.copy(), views)
    final.set("with_" if "with_" in final.args else "with", None)
    return tuple(steps), _spark(final), _names(final)


def _names(tree) -> tuple:
    from sqlglot import exp

    named = [p.name for p in tree.find_all(exp.Parameter, exp.Placeholder) if p.name and p.name != "?"]
    return tuple(dict.fromkeys(named))


class SparkConnection:
    """A SparkSession that cxlib's analyses accept where they take a DuckDB connection."""

    engine = ENGINE

    def __init__(self, spark):
        self.spark = spark

    def execute(self, query: str, parameters=None) -> SparkResult:
        statements = translate(query)
        result = SparkResult()
        positional = list(parameters) if isinstance(parameters, (list, tuple)) else None
        named = {k: _value(v) for k, v in (parameters or {}).items()} if positional is None else {}
        for step in statements:
            if step[0] == "skip":
                continue
            if step[0] == "drop":
                self.spark.catalog.dropTempView(step[1])
                result = SparkResult()
                continue
            if step[0] == "recursive":
                if positional is not None:  # its parts run one by one: each takes the values it names
                    raise CxInputError("a recursive query takes named parameters ($name) on Spark, not ?")
                frame = self._recursive(step[2], step[3], step[4], positional, named)
                if step[1] is not None:
                    frame.createOrReplaceTempView(step[1])
                result = SparkResult(None if step[1] is not None else frame)
                continue
            text, names = (step[2], step[3]) if step[0] == "create" else (step[1], step[2])
            frame = self._sql(text, names, positional, named)
            if step[0] == "create":
                frame.localCheckpoint(eager=True).createOrReplaceTempView(step[1])
                result = SparkResult()
            else:
                result = SparkResult(frame)
        return result

    def _sql(self, text: str, names: tuple, positional: list | None, named: dict):
        if positional is not None:
            args = [_value(v) for v in positional]
        else:
            missing = [n for n in names if n not in named]
            if missing:
                raise CxInputError(f"the query needs parameters {missing} that were not given")
            args = {n: named[n] for n in names}
        return self.spark.sql(text, args=args or None)

    def _recursive(self, steps: tuple, final: str, final_names: tuple, positional, named):
        """A WITH RECURSIVE query run step by step (see `_recursion`); its rows, checkpointed."""
        views = []
        try:
            for step in steps:
                views.append(step[1])
                if step[0] == "view":
                    _, view, columns, text, names, checkpoint = step
                    frame = _columns(self._sql(text, names, positional, named), columns)
                    (frame.localCheckpoint(eager=True) if checkpoint else frame).createOrReplaceTempView(view)
                    continue
                _, view, columns, anchor, anchor_names, term, term_names = step
                rounds = [_columns(self._sql(anchor, anchor_names, positional, named), columns).localCheckpoint(eager=True)]
                while not rounds[-1].isEmpty():  # each round checkpointed: the next one's plan stays small
                    if len(rounds) > MAX_ROUNDS:
                        raise CxInputError(f"a recursive query ran {MAX_ROUNDS} rounds without ending")
                    rounds[-1].createOrReplaceTempView(view)
                    rounds.append(_columns(self._sql(term, term_names, positional, named), rounds[0].columns)
                                  .localCheckpoint(eager=True))
                whole = rounds[0]
                for more in rounds[1:-1]:
                    whole = whole.unionAll(more)
                whole.createOrReplaceTempView(view)
            return self._sql(final, final_names, positional, named).localCheckpoint(eager=True)
        finally:
            for view in views:
                self.spark.catalog.dropTempView(view)

    def register(self, name: str, frame: pd.DataFrame) -> SparkConnection:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)
        return self

    def unregister(self, name: str) -> SparkConnection:
        self.spark.catalog.dropTempView(name)
        return self

    def table_columns(self, table: str) -> list[str]:
        """The columns of a table or view, in order ([] when there is none)."""
        if not self.spark.catalog.tableExists(table):
            return []
        return list(self.spark.table(table).columns)

    def cursor(self) -> SparkConnection:
        return self

    def close(self) -> None:
        """The session outlives a connection (it may be the caller's); nothing to close here."""
