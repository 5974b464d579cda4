"""Typing and checking staged rows inside DuckDB: each value typed once, each row's first problem.

Reads ``_cx_stage(_rn, _line, <columns as text>, _props)`` and builds ``_cx_typed``: the typed
values plus ``_column`` and ``_reason`` of the row's first problem (NULL for a good row). The
problems, most basic first: a missing required value; a value of the wrong kind (with the
ambiguous day/month dates named as such; whole numbers written as 8 or 8.0, never 1e1); a NUL
byte in text; a timestamp outside the plausible window; a number below its minimum; a value
outside its allowed set; a rule across columns; a survey metric without a declared scale or a
score outside it; a key repeated within the load. Look-alike identifiers, keys already in the
store and unknown customers are marked afterwards (`mark_lookalikes`, `mark_duplicates`,
`mark_orphans`).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field

import duckdb

from cxlib.sql import quote_ident
from cxlib.store import schema

_ISO_TS = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
_ISO_TZ = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)"
_DAY_MONTH = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}([ T].*)?"
EPOCHS = {"epoch_s": "to_timestamp({v}) AT TIME ZONE 'UTC'", "epoch_ms": "epoch_ms(CAST({v} AS BIGINT))",
          "epoch_us": "make_timestamp(CAST({v} AS BIGINT))"}
# Units per second of each epoch format; numbers outside years 1-9999 are not timestamps (a
# value in the wrong unit, a stray id) and would make DuckDB's conversions fail the whole load.
_EPOCH_UNITS = {"epoch_s": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}
_EPOCH_NAMES = {"epoch_s": "seconds", "epoch_ms": "milliseconds", "epoch_us": "microseconds"}
_EPOCH_MIN, _EPOCH_END = -62_135_596_800, 253_402_300_800  # 0001-01-01 and 10000-01-01 in seconds since 1970
TENURE_UNITS = ("day", "week", "month")


@dataclass(frozen=True)
class Typing:
    """How text becomes values in one load."""

    timezone: str = "UTC"
    date_format: str | None = None  # strptime codes, or epoch_s / epoch_ms / epoch_us
    lowercase: tuple[str, ...] = ()  # id columns folded to lower case (e.g. touchpoint, channel)
    as_of: object = None  # with tenure: the day the export was taken
    tenure_unit: str = "month"
    earliest: object = None  # timestamps before this are implausible (default 1970-01-01)
    latest: object = None  # and after this (default: the load time plus one day)

    @property
    def epoch(self) -> bool:
        return self.date_format in EPOCHS

    @property
    def offset_in_format(self) -> bool:
        return self.date_format is not None and not self.epoch and "%z" in self.date_format


def typed_value(col: schema.Column, raw: str, typing: Typing) -> str:
    """SQL giving the typed value of `raw` (NULL when blank or unparseable)."""
    v = f"nullif(trim({raw}), '')"
    if col.kind == "id":
        return f"lower({v})" if col.choices or col.name == "metric" or col.name in typing.lowercase else v
    if col.kind == "text":
        return f"nullif({raw}, '')"
    if col.kind == "int":  # written as a whole number: 8 or 8.0, not 1e1 or 7.5
        return (f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]{{1,9}}(\\.0*)?') "
                f"THEN CAST(CAST({v} AS DOUBLE) AS INTEGER) END")
    if col.kind == "float":
        return f"CASE WHEN isfinite(try_cast({v} AS DOUBLE)) THEN try_cast({v} AS DOUBLE) END"
    if col.kind == "bool":
        return (f"CASE WHEN lower({v}) IN ('true','t','yes','y','1') THEN true "
                f"WHEN lower({v}) IN ('false','f','no','n','0') THEN false END")
    if col.kind == "timestamp":
        return _typed_timestamp(v, typing)
    raise AssertionError(col.kind)


def _typed_timestamp(v: str, typing: Typing) -> str:
    if typing.epoch:
        # The number gives a clock time in UTC, or in the load's zone when the export wrote local
        # clock times as epoch numbers (Mixpanel projects with a time zone).
        number, unit = f"try_cast({v} AS DOUBLE)", _EPOCH_UNITS[typing.date_format]
        return (f"CASE WHEN {number} >= {_EPOCH_MIN * unit} AND {number} < {_EPOCH_END * unit} "
                f"THEN timezone($tz, {EPOCHS[typing.date_format].format(v=number)}) AT TIME ZONE 'UTC' END")
    if typing.date_format is not None:
        parsed = f"try_strptime({v}, $date_format)"
        return f"({parsed}) AT TIME ZONE 'UTC'" if typing.offset_in_format else f"timezone($tz, {parsed}) AT TIME ZONE 'UTC'"
    return (f"CASE WHEN regexp_full_match({v}, '{_ISO_TZ}') THEN try_cast({v} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
            f"WHEN regexp_full_match({v}, '{_ISO_TS}') THEN timezone($tz, try_cast({v} AS TIMESTAMP)) AT TIME ZONE 'UTC' END")


def _problems(col: schema.Column, raw: str, typed: str, typing: Typing) -> list[tuple[str, str]]:
    """(condition, reason) pairs for one column, most basic first."""
    blank = f"nullif(trim({raw}), '') IS NULL"
    checks = []
    if not col.nullable:
        checks.append((blank, f"'missing {col.name}'"))
    kind = {"int": "whole number", "float": "number", "bool": "true/false", "timestamp": "timestamp"}.get(col.kind)
    if col.kind == "timestamp" and typing.epoch:
        kind = f"number of {_EPOCH_NAMES[typing.date_format]} since 1970"
    if col.kind == "timestamp" and typing.date_format is None:
        checks.append((f"NOT {blank} AND {typed} IS NULL AND regexp_full_match(trim({raw}), '{_DAY_MONTH}')",
                       f"'ambiguous date format ' || {raw} || ': day/month order unknown; pass date_format, e.g. %d/%m/%Y'"))
    if kind:
        checks.append((f"NOT {blank} AND {typed} IS NULL", f"'not a {kind}: ' || {raw}"))
    if col.kind in ("id", "text"):
        checks.append((f"strpos({raw}, chr(0)) > 0", f"'a NUL byte in {col.name}: not text'"))
    if col.kind == "timestamp":
        checks.append((f"{typed} < $earliest", f"'implausible timestamp ' || {raw} || ': before ' || "
                       "strftime($earliest, '%Y-%m-%d') || ' (pass --earliest DATE to allow earlier times)'"))
        if not col.future_ok:
            checks.append((f"{typed} > $latest", f"'implausible timestamp ' || {raw} || ': after ' || "
                           "strftime($latest, '%Y-%m-%d %H:%M') || ' (pass --latest DATE to allow later times)'"))
    if col.min is not None:
        checks.append((f"{typed} < {col.min}", f"'{col.name} below {col.min:g}: ' || {raw}"))
    if col.choices:
        allowed = ", ".join(f"'{c}'" for c in col.choices)
        checks.append((f"{typed} NOT IN ({allowed})", f"'{col.name} not one of {'/'.join(col.choices)}: ' || {raw}"))
    return checks


_BUILT_IN = ", ".join(f"'{m}'" for m in schema.SURVEY_METRICS)
# Survey scores are checked against the metric's scale in survey_metrics (joined as _m).
_SURVEY_CHECKS = [
    ("metric", "_m.metric IS NOT NULL",
     "'metric not one of ' || (SELECT string_agg(metric, '/' ORDER BY metric NOT IN (" + _BUILT_IN + "), "
     "CASE metric WHEN 'nps' THEN 1 WHEN 'csat' THEN 2 WHEN 'ces' THEN 3 END, metric) FROM survey_metrics) "
     "|| ': ' || @.metric"),
    ("score", "@.score BETWEEN _m.scale_min AND _m.scale_max",
     "'score out of range for its metric (' || CASE WHEN @.metric IN (" + _BUILT_IN + ") "
     "THEN 'nps 0-10, csat 1-5, ces 1-7' ELSE @.metric || ' ' || @._scale_min || '-' || @._scale_max END || ')'"),
]


def build_typed(con: duckdb.DuckDBPyConnection, spec: schema.Table, targets: list[str], typing: Typing) -> None:
    """Build _cx_typed: typed values plus the first problem (column, reason) of each row.

    Each value is typed once (inner query); the problem checks then read the typed columns and
    give the number of the first failing check, which picks the column and reason.
    """
    inner, outer, cases = ["s._rn", "s._line", "s._props"], [], []
    for i, col in enumerate(spec.columns):
        name = quote_ident(col.name)
        if col.name in targets:
            raw_alias = f"_s{i}"
            inner.append(f"s.{name} AS {raw_alias}")
            inner.append(f"{typed_value(col, f's.{name}', typing)} AS {name}")
            cases += [(cond, col.name, reason) for cond, reason in _problems(col, f"@.{raw_alias}", f"@.{name}", typing)]
        else:
            inner.append(f"CAST(NULL AS {schema.SQL_TYPES[col.kind]}) AS {name}")
        outer.append(name)
    extras = [t for t in targets if t not in spec.accepted]
    inner += [f"nullif(trim(s.{quote_ident(e)}), '') AS {quote_ident(e)}" for e in extras]
    outer += [quote_ident(e) for e in extras]
    # Rules across columns come after each column's own checks.
    cases += [(f"NOT ({condition})", column, "'" + reason.replace("'", "''") + "'")
              for column, condition, reason in spec.checks]
    join = ""
    if spec.name == "survey_responses":
        cases += [(f"NOT ({cond})", column, reason) for column, cond, reason in _SURVEY_CHECKS]
        join = ", _m.scale_min AS _scale_min, _m.scale_max AS _scale_max FROM derived t " \
               "LEFT JOIN survey_metrics _m ON _m.metric = t.metric"
    first, column, reason = _case_columns(cases)
    derived = _derived_columns(spec, targets)
    key = ", ".join(quote_ident(k) for k in spec.key)
    same = " AND ".join(f"c.{quote_ident(k)} = f.{quote_ident(k)}" for k in spec.key)
    dup = "c._p IS NULL AND c._rn > f._first"
    # A key seen earlier in this load, among rows without a problem, makes the row a duplicate
    # (found by aggregating keys seen twice and joining back: half the cost of a window).
    con.execute(
        f"""CREATE TEMP TABLE _cx_typed AS
            WITH typed AS (SELECT {', '.join(inner)} FROM _cx_stage s),
                 derived AS (SELECT * {f'REPLACE ({derived}) ' if derived else ''}FROM typed),
                 checked AS (SELECT t.*, {first} AS _p {join or 'FROM derived t'}),
                 firsts AS (SELECT {key}, min(_rn) AS _first FROM checked WHERE _p IS NULL
                            GROUP BY {key} HAVING count(*) > 1)
            SELECT c._rn, c._line, c._props,
                   CASE WHEN {dup} THEN '{', '.join(spec.key)}' ELSE {column} END AS _column,
                   CASE WHEN {dup} THEN 'duplicate key: repeats an earlier row of this load'
                        ELSE {reason} END AS _reason,
                   {', '.join('c.' + o for o in outer)}
            FROM checked c LEFT JOIN firsts f ON {same}""",
        _parameters(spec, targets, typing),
    )


def _case_columns(cases: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """SQL for the number of the first failing check, and its column and reason."""
    if not cases:
        return "CAST(NULL AS INTEGER)", "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"
    # Conditions are evaluated on the typed row (alias t), reasons on the checked row (alias c).
    first = "CASE " + " ".join(f"WHEN {c.replace('@.', 't.')} THEN {k}" for k, (c, _, _) in enumerate(cases, 1)) + " END"
    column = "CASE c._p " + " ".join(f"WHEN {k} THEN '{f}'" for k, (_, f, _) in enumerate(cases, 1)) + " END"
    reason = "CASE c._p " + " ".join(f"WHEN {k} THEN {r.replace('@.', 'c.')}" for k, (_, _, r) in enumerate(cases, 1)) + " END"
    return first, column, reason


def derives_start(spec: schema.Table, targets: list[str]) -> bool:
    """A subscription's start comes from its tenure (elsewhere `tenure` is just an attribute)."""
    return "tenure" in spec.accepted and "tenure" in targets and "started_at" not in targets


def derives_end(spec: schema.Table, targets: list[str]) -> bool:
    """A subscription's end comes from its churned flag (elsewhere `churned` is just an attribute)."""
    return "churned" in spec.accepted and "churned" in targets and "ended_at" not in targets


def _derived_columns(spec: schema.Table, targets: list[str]) -> str:
    """Stored columns computed from virtual ones (a subscription's dates from its tenure)."""
    parts = []
    if derives_start(spec, targets):
        parts.append("CASE $unit WHEN 'month' THEN $as_of - to_months(CAST(round(tenure) AS INTEGER)) "
                     "WHEN 'week' THEN $as_of - to_days(CAST(round(tenure * 7) AS INTEGER)) "
                     "ELSE $as_of - to_days(CAST(round(tenure) AS INTEGER)) END AS started_at")
    if derives_end(spec, targets):
        parts.append("CASE WHEN churned THEN $as_of END AS ended_at")
    return ", ".join(parts)


def _parameters(spec: schema.Table, targets: list[str], typing: Typing) -> dict:
    params = {}
    present = [c for c in spec.columns if c.name in targets]
    if any(c.kind == "timestamp" for c in present):
        params["earliest"] = typing.earliest
        if any(c.kind == "timestamp" and not c.future_ok for c in present):
            params["latest"] = typing.latest
        if not typing.offset_in_format:  # a format with %z reads the offset from each value; the zone is unused
            params["tz"] = typing.timezone
        if typing.date_format is not None and not typing.epoch:
            params["date_format"] = typing.date_format
    if derives_start(spec, targets):
        params["unit"] = typing.tenure_unit
    if derives_start(spec, targets) or derives_end(spec, targets):
        params["as_of"] = typing.as_of
    return params


def mark_duplicates(con: duckdb.DuckDBPyConnection, spec: schema.Table, *, update: bool) -> None:
    """Rows whose key is already in the store: rejected as duplicates, or (with `update`) kept
    for the upsert, marked ``_existing``. The stage map is configuration: a file replaces it.

    A customer created from first sight (``added_customers``) is a placeholder: a customers file
    naming them completes them (their attributes, and their signup when the file has one), as
    an update, so that customers load in either order with activity."""
    con.execute("ALTER TABLE _cx_typed ADD COLUMN _existing BOOLEAN DEFAULT false")
    if spec.name == "touchpoint_stages":
        return
    if spec.name == "customers" and not update:
        con.execute("UPDATE _cx_typed SET _existing = true WHERE _reason IS NULL "
                    "AND customer_id IN (SELECT customer_id FROM added_customers)")
    mark = stored_duplicate(spec)
    if update:
        con.execute(f"UPDATE _cx_typed SET _existing = true WHERE {mark.condition}")
    else:
        apply_mark(con, mark)


@dataclass(frozen=True)
class Mark:
    """A rule checked after typing, on whole rows of ``_cx_typed`` against the store: the rows
    meeting `condition` (SQL) are rejected with `column` and `reason` (SQL expressions) and the
    values in `params`. One definition for both engines: DuckDB updates ``_cx_typed`` in place
    (`apply_mark`), Spark rebuilds it (cxlib.store.spark_ingest)."""

    condition: str
    column: str
    reason: str
    params: dict = field(default_factory=dict)


def stored_duplicate(spec: schema.Table) -> Mark:
    """A row whose key is already in the store's `spec` table (an accepted row not yet marked)."""
    same = " AND ".join(f"t.{quote_ident(k)} = _cx_typed.{quote_ident(k)}" for k in spec.key)
    return Mark(f"_reason IS NULL AND NOT _existing AND EXISTS (SELECT 1 FROM {spec.name} t WHERE {same})",
                "$key", "'duplicate key: already in the store'", {"key": ", ".join(spec.key)})


# A row naming a customer the store does not know.
ORPHAN = Mark("_reason IS NULL AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = _cx_typed.customer_id)",
              "'customer_id'", "'unknown customer_id ' || customer_id || ': load its customer first'")


def apply_mark(con: duckdb.DuckDBPyConnection, mark: Mark) -> None:
    """Reject the rows of _cx_typed that `mark` finds (DuckDB: an UPDATE in place)."""
    con.execute(f"UPDATE _cx_typed SET _column = {mark.column}, _reason = {mark.reason} WHERE {mark.condition}",
                mark.params or None)


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cf", "Cc", "Zl", "Zp") and ch not in "\t"


def normalised_id(value: str) -> str:
    """An identifier as it should be stored: Unicode NFKC (full-width digits become digits), invisible
    characters (zero-width spaces, joiners, byte-order marks, bidi marks) removed, ends trimmed."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", value) if not _invisible(ch)).strip()


@functools.cache
def _latin_look_alike(ch: str) -> str:
    """The ASCII letter or digit `ch` looks like (Cyrillic С -> C), else `ch` itself."""
    if ch.isascii():
        return ch
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(ch, preferred_aliases=["latin"]) or []
    for entry in found:
        for glyph in entry.get("homoglyphs", []):
            if glyph["c"].isascii() and glyph["c"].isalnum():
                return glyph["c"]
    return ch


def skeleton(value: str) -> str:
    """`value` with every letter that looks like an ASCII one replaced by it (Unicode confusables)."""
    return "".join(_latin_look_alike(ch) for ch in value)


def mark_lookalikes(con: duckdb.DuckDBPyConnection, spec: schema.Table, *, apply=None, rename=None) -> None:
    """Identifiers that are written differently but look the same as another are not new keys.

    Only values with characters outside ASCII are examined (in Python; they are few). A value
    that normalisation changes (invisible or full-width characters) is stored normalised, unless
    the normalised value is already a key (in the store or this load): then the row is rejected.
    A value whose look-alike ASCII spelling (Cyrillic С0000001 -> C0000001) is already a key is
    rejected too, naming the key it imitates.

    `apply(con, mark)` rejects rows and `rename(con, column, raw, normal)` stores a value
    normalised; by default as DuckDB does it, in place (Spark passes its own: spark_ingest).
    """
    apply, rename = apply or apply_mark, rename or _rename
    columns = [c for c in dict.fromkeys(("customer_id", *spec.key)) if c in spec.names and spec.column(c).kind == "id"]
    for column in columns:
        col = quote_ident(column)
        values = [v for (v,) in con.execute(
            f"SELECT DISTINCT {col} FROM _cx_typed WHERE _reason IS NULL AND {col} IS NOT NULL "
            f"AND NOT regexp_full_match({col}, '[\x20-\x7e]*')").fetchall()]
        if not values:
            continue
        rows = [(v, normalised_id(v), skeleton(normalised_id(v))) for v in values]
        table = "customers" if column == "customer_id" and spec.name != "customers" else spec.name
        known = {k for (k,) in con.execute(
            f"SELECT {col} FROM {table} WHERE {col} IN (SELECT unnest($v)) UNION "
            f"SELECT {col} FROM _cx_typed WHERE _reason IS NULL AND {col} IN (SELECT unnest($v))",
            {"v": sorted({n for _, n, _ in rows} | {k for _, _, k in rows})}).fetchall()}
        for raw, normal, look in rows:
            if normal != raw and normal in known:
                apply(con, _value_mark(column, raw, f"{column} {raw!a} is {normal!r} written with invisible or "
                                                    f"full-width characters: a look-alike of an existing {column}"))
            elif look != normal and look in known:
                apply(con, _value_mark(column, raw, f"{column} {raw!a} looks like the existing {column} {look!r} "
                                                    "(it has letters of another script)"))
            elif normal != raw:
                rename(con, column, raw, normal)


def _value_mark(column: str, raw: str, reason: str) -> Mark:
    """The accepted rows whose `column` is `raw`, rejected with `reason`."""
    return Mark(f"{quote_ident(column)} = $r AND _reason IS NULL", "$c", "$reason", {"c": column, "reason": reason, "r": raw})


def _rename(con, column: str, raw: str, normal: str) -> None:
    col = quote_ident(column)
    con.execute(f"UPDATE _cx_typed SET {col} = $n WHERE {col} = $r AND _reason IS NULL", {"n": normal, "r": raw})


def mark_orphans(con: duckdb.DuckDBPyConnection) -> int:
    """Rows whose customer is not in the store are rejected; returns how many."""
    apply_mark(con, ORPHAN)
    return con.execute("SELECT count(*) FROM _cx_typed WHERE _reason LIKE 'unknown customer_id %'").fetchone()[0]
