"""Ingestion: CSV, Parquet or a DataFrame into the canonical schema, validated inside DuckDB.

Every row read either loads or lands in ``rejects`` with its source, line, column and reason,
so ``read == loaded + rejected`` always holds. A load is one transaction: a failure, or a
killed process, leaves the store exactly as it was. Rows whose key is already in the store are
rejected as duplicates, so loading the same file twice adds nothing the second time.

Line numbers count the header as line 1; a quoted value that spans several lines counts as one.

Timestamps: ISO 8601 values load without a ``date_format``; a value with an offset (``Z``,
``+02:00``) is converted to UTC, a naive one is read in ``timezone`` (default UTC). A day/month
value such as ``03/04/2024`` is rejected as ambiguous unless ``date_format`` (strptime codes,
e.g. ``%d/%m/%Y %H:%M``) says how to read it. A naive time that falls in a daylight-saving gap
(does not exist) or fold (happens twice) is read at the zone's standard-time offset, as ICU does.
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as tz
from pathlib import Path

import duckdb
import pandas as pd

from cxlib.errors import CxDataError, CxInputError
from cxlib.sql import quote_ident, table_columns
from cxlib.store import schema
from cxlib.store.connection import connect, refresh_derived

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "utf-16": "utf-16"}

_ISO_TS = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
_ISO_TZ = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)"
_DAY_MONTH = r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}([ T].*)?"


@dataclass(frozen=True)
class LoadReport:
    """What one load read, loaded and rejected. ``rejects_query`` selects its rejected rows."""

    load_id: int
    table: str
    source: str
    read: int
    loaded: int
    rejected: int

    @property
    def rejects_query(self) -> str:
        return f"SELECT * FROM rejects WHERE load_id = {self.load_id} ORDER BY line"

    def __str__(self) -> str:
        text = f"{self.table} <- {self.source}: read {self.read:,}, loaded {self.loaded:,}, rejected {self.rejected:,}"
        if self.rejected:
            text += f" (see: {self.rejects_query})"
        return text


def ingest(
    source: str | os.PathLike | pd.DataFrame,
    table: str,
    *,
    db: str | os.PathLike | duckdb.DuckDBPyConnection | None = None,
    mapping: dict[str, str | None] | None = None,
    timezone: str = "UTC",
    date_format: str | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> LoadReport:
    """Load `source` into `table` of the store and return a LoadReport.

    `mapping` renames source columns to schema names (``{"cust": "customer_id"}``); mapping a
    column to None drops it. `db` is a store path, an open read-write connection, or None for
    the default store. Raises CxDataError, with the store unchanged, when the header does not
    match the schema.
    """
    spec = schema.table(table)
    if isinstance(db, duckdb.DuckDBPyConnection):
        return _ingest(db, source, spec, mapping or {}, timezone, date_format, delimiter, encoding)
    con = connect(db, read_only=False)
    try:
        return _ingest(con, source, spec, mapping or {}, timezone, date_format, delimiter, encoding)
    finally:
        con.close()


def _ingest(con, source, spec: schema.Table, mapping, timezone, date_format, delimiter, encoding) -> LoadReport:
    timezone = _check_timezone(con, timezone)
    _check_date_format(con, date_format)
    label, relation, csv_args = _open_source(con, source, delimiter, encoding)
    try:
        columns = _map_header(con, relation, csv_args, spec, mapping)
        targets = [dst for _, dst in columns]
        started = datetime.now(tz.utc).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        try:
            structural = _stage(con, relation, csv_args, columns)
            if spec.extra_columns:
                _add_attribute_columns(con, spec, targets)
            _validate(con, spec, targets, timezone, date_format)
            report = _write(con, spec, label, structural, started, timezone, date_format, targets)
            if spec.name in ("events", "touchpoint_stages"):
                refresh_derived(con)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(con)
            # One line for the command line (no DuckDB traceback); the store is as it was.
            raise CxDataError(f"{label} could not be loaded into {spec.name}: {str(exc).splitlines()[0]}. "
                              "Nothing was loaded.") from None
        except BaseException:
            _rollback(con)
            raise
        finally:
            for name in ("_cx_stage", "_cx_typed", "_cx_structural"):
                con.execute(f"DROP TABLE IF EXISTS {name}")
    finally:
        if relation.startswith("_cx_df_"):
            con.unregister(relation)
    return report


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:  # a failed COMMIT has already rolled back
        pass


def _check_timezone(con, timezone: str) -> str:
    """The zone's IANA spelling ('utc' -> 'UTC'), or a CxInputError."""
    found = con.execute("SELECT min(name) FROM pg_timezone_names() WHERE lower(name) = lower(?)",
                        [str(timezone)]).fetchone()[0]
    if found is None:
        raise CxInputError(f"unknown time zone {timezone!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'")
    return found


def _check_date_format(con, date_format: str | None) -> None:
    if date_format is None:
        return
    try:
        con.execute("SELECT try_strptime('2000-01-01', ?)", [date_format]).fetchall()
    except duckdb.Error as exc:
        detail = str(exc).split(": ", 1)[-1]
        raise CxInputError(f"date_format {date_format!r} is not a strptime format ({detail}); "
                           "e.g. '%d/%m/%Y %H:%M'") from None


def _open_source(con, source, delimiter, encoding):
    """A label for the load log, a relation expression, and its bound arguments."""
    if isinstance(source, pd.DataFrame):
        name = f"_cx_df_{id(source)}"
        if hasattr(con, "complete"):  # DuckDB 2 refuses register() while a result is unread
            con.complete()
        con.register(name, source)
        return "DataFrame", name, {}
    path = Path(source)
    if not path.exists():
        raise CxInputError(f"no such file: {path}")
    lower = path.name.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return str(path), "read_parquet($path)", {"path": str(path)}
    if not lower.endswith(CSV_SUFFIXES):
        raise CxInputError(f"{path.name}: unknown file type; use .csv, .tsv, .txt (optionally .gz) or .parquet")
    if encoding.lower() not in ENCODINGS:
        raise CxInputError(f"unknown encoding {encoding!r}; use one of {sorted(set(ENCODINGS.values()))}")
    if delimiter is not None and len(delimiter) != 1:
        raise CxInputError(f"delimiter must be one character, got {delimiter!r}")
    if delimiter is None and lower.endswith((".tsv", ".tsv.gz")):
        delimiter = "\t"
    names, delimiter = _read_header(path, ENCODINGS[encoding.lower()], delimiter)
    # The dialect is fixed (RFC 4180 quoting, the header's names) rather than sniffed: a sniffer
    # that meets one broken quote switches quoting off for the whole file and loads '"ok"' with
    # its quotes. With it fixed, a bad line is a structural reject and its neighbours load intact.
    args = {"path": str(path), "encoding": ENCODINGS[encoding.lower()], "delim": delimiter,
            "columns": {n: "VARCHAR" for n in names}}
    expr = ("read_csv($path, header = true, auto_detect = false, columns = $columns, delim = $delim, "
            "quote = '\"', escape = '\"', encoding = $encoding, store_rejects = true)")
    return str(path), expr, args


_DELIMITERS = (",", ";", "\t", "|")


def _read_header(path: Path, encoding: str, delimiter: str | None) -> tuple[list[str], str]:
    """The header's column names and the delimiter (given, or the candidate the header uses most).

    Only the first line is read here; the rows are read by DuckDB.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    py_encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        if encoding == "utf-16":
            with opener(path, "rt", encoding=py_encoding, newline="") as fh:
                line = fh.readline()
        else:  # decode the first line only: a bad byte further down is a row's problem, not the header's
            with opener(path, "rb") as fh:
                line = fh.readline().decode(py_encoding)
    except (UnicodeDecodeError, OSError) as exc:
        raise CxDataError(f"cannot read the header of {path}: {exc}; is the encoding {encoding!r} right?") from None
    line = line.rstrip("\r\n")
    if not line.strip():
        raise CxDataError(f"{path} is empty or its first line is blank: the first line must name the columns")
    if delimiter is None:
        counts = {d: next(csv.reader([line], delimiter=d)).__len__() for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (',')
    names = [n.strip() for n in next(csv.reader([line], delimiter=delimiter))]
    names = [n or f"column{i + 1}" for i, n in enumerate(names)]
    folded = [n.lower() for n in names]  # DuckDB's column names are case-insensitive
    twice = sorted({n for n in names if folded.count(n.lower()) > 1})
    if twice:
        raise CxDataError(f"the header of {path} names columns twice: {twice}. Nothing was loaded.")
    return names, delimiter


def _map_header(con, relation, args, spec: schema.Table, mapping) -> list[tuple[str, str]]:
    """(source column, schema column) pairs, after checking the header against the schema."""
    try:
        found = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}", args).fetchall()]
    except duckdb.Error as exc:
        raise CxDataError(f"cannot read the source: {str(exc).splitlines()[0]}") from None
    unknown = sorted(set(mapping) - set(found))
    if unknown:
        raise CxInputError(f"--map names columns not in the file: {unknown}. Found: {found}")
    pairs = [(src, mapping.get(src, src)) for src in found]
    # Schema names match in any case; a customer attribute keeps its spelling (DuckDB column
    # names are case-insensitive, so 'Region' and 'region' are the same attribute).
    pairs = [(src, dst.strip().lower() if not spec.extra_columns or dst.strip().lower() in spec.names else dst.strip())
             for src, dst in pairs if dst]
    targets = [dst for _, dst in pairs]
    folded = [d.lower() for d in targets]
    dupes = sorted({d for d in targets if folded.count(d.lower()) > 1})
    missing = [c for c in spec.required if c not in targets]
    extra = [] if spec.extra_columns else [d for d in targets if d not in spec.names]
    if missing or extra or dupes:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if extra:
            problems.append(f"unexpected {extra}")
        if dupes:
            problems.append(f"named twice {dupes}")
        raise CxDataError(
            f"header does not match table {spec.name}: {'; '.join(problems)}. "
            f"Expected {spec.required} (optional {[c for c in spec.names if c not in spec.required]}), "
            f"found {found}. Rename columns with --map SOURCE=TARGET, drop one with --map SOURCE=. "
            "Nothing was loaded."
        )
    bad = [d for d in targets if d.startswith("_")]
    if bad:
        raise CxDataError(f"column names may not start with '_': {bad}")
    return pairs


def _stage(con, relation, args, columns) -> int:
    """Copy the source into _cx_stage as text with a record number; return structural rejects."""
    cols = ", ".join(f"CAST({quote_ident(src)} AS VARCHAR) AS {quote_ident(dst)}" for src, dst in columns)
    con.execute(
        f"CREATE TEMP TABLE _cx_stage AS SELECT row_number() OVER () AS _rn, {cols} FROM {relation}", args
    )
    if "store_rejects" in relation:
        # Rows DuckDB could not split into the header's columns (too many or too few fields,
        # an unclosed quote, invalid characters for the encoding). One row per bad line.
        con.execute(
            """CREATE TEMP TABLE _cx_structural AS
               SELECT line, any_value(csv_line) AS raw,
                      string_agg(DISTINCT error_type || ': ' || error_message, '; ') AS reason
               FROM reject_errors GROUP BY line"""
        )
        con.execute("DELETE FROM reject_errors")
        con.execute("DELETE FROM reject_scans")
        return con.execute("SELECT count(*) FROM _cx_structural").fetchone()[0]
    con.execute("CREATE TEMP TABLE _cx_structural (line BIGINT, raw VARCHAR, reason VARCHAR)")
    return 0


def _add_attribute_columns(con, spec: schema.Table, targets: list[str]) -> None:
    existing = {c.lower() for c in table_columns(con, spec.name)}
    for name in targets:
        if name.lower() not in existing:
            con.execute(f"ALTER TABLE {spec.name} ADD COLUMN {quote_ident(name)} VARCHAR")


def _typed(col: schema.Column, raw: str, has_date_format: bool, tz_in_format: bool) -> str:
    """SQL giving the typed value of `raw` (NULL when blank or unparseable)."""
    v = f"nullif(trim({raw}), '')"
    if col.kind == "id":
        return f"lower({v})" if col.choices else v
    if col.kind == "text":
        return f"nullif({raw}, '')"
    if col.kind == "int":
        return f"CASE WHEN try_cast({v} AS DOUBLE) = floor(try_cast({v} AS DOUBLE)) AND abs(try_cast({v} AS DOUBLE)) < 2e9 THEN CAST(try_cast({v} AS DOUBLE) AS INTEGER) END"
    if col.kind == "float":
        return f"CASE WHEN isfinite(try_cast({v} AS DOUBLE)) THEN try_cast({v} AS DOUBLE) END"
    if col.kind == "bool":
        return (f"CASE WHEN lower({v}) IN ('true','t','yes','y','1') THEN true "
                f"WHEN lower({v}) IN ('false','f','no','n','0') THEN false END")
    if col.kind == "timestamp":
        if has_date_format:
            parsed = f"try_strptime({v}, $date_format)"
            return f"({parsed}) AT TIME ZONE 'UTC'" if tz_in_format else f"timezone($tz, {parsed}) AT TIME ZONE 'UTC'"
        return (f"CASE WHEN regexp_full_match({v}, '{_ISO_TZ}') THEN try_cast({v} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
                f"WHEN regexp_full_match({v}, '{_ISO_TS}') THEN timezone($tz, try_cast({v} AS TIMESTAMP)) AT TIME ZONE 'UTC' END")
    raise AssertionError(col.kind)


def _problem(col: schema.Column, raw: str, typed: str, has_date_format: bool) -> list[tuple[str, str]]:
    """(condition, reason) pairs for one column, most basic first."""
    blank = f"nullif(trim({raw}), '') IS NULL"
    checks = []
    if not col.nullable:
        checks.append((blank, f"'missing {col.name}'"))
    kind = {"int": "whole number", "float": "number", "bool": "true/false", "timestamp": "timestamp"}.get(col.kind)
    if col.kind == "timestamp" and not has_date_format:
        checks.append((f"NOT {blank} AND {typed} IS NULL AND regexp_full_match(trim({raw}), '{_DAY_MONTH}')",
                       f"'ambiguous date format ' || {raw} || ': day/month order unknown; pass date_format, e.g. %d/%m/%Y'"))
    if kind:
        checks.append((f"NOT {blank} AND {typed} IS NULL", f"'not a {kind}: ' || {raw}"))
    if col.min is not None:
        checks.append((f"{typed} < {col.min}", f"'{col.name} below {col.min:g}: ' || {raw}"))
    if col.choices:
        allowed = ", ".join(f"'{c}'" for c in col.choices)
        checks.append((f"{typed} NOT IN ({allowed})", f"'{col.name} not one of {'/'.join(col.choices)}: ' || {raw}"))
    return checks


def _validate(con, spec: schema.Table, targets: list[str], timezone: str, date_format: str | None) -> None:
    """Build _cx_typed: typed values plus the first problem (column, reason) of each row.

    Each value is typed once (inner query); the problem checks then read the typed columns and
    give the number of the first failing check, which picks the column and reason. The raw
    values of rejected rows are taken from _cx_stage when the rejects are written.
    """
    has_fmt = date_format is not None
    tz_in_fmt = has_fmt and "%z" in date_format
    inner, outer, cases = ["s._rn"], [], []
    present = [c for c in spec.columns if c.name in targets]
    for i, col in enumerate(spec.columns):
        name = quote_ident(col.name)
        if col.name in targets:
            raw_alias = f"_s{i}"
            inner.append(f"s.{name} AS {raw_alias}")
            inner.append(f"{_typed(col, f's.{name}', has_fmt, tz_in_fmt)} AS {name}")
            for cond, reason in _problem(col, raw_alias, name, has_fmt):
                cases.append((cond, col.name, reason))
        else:
            inner.append(f"CAST(NULL AS {schema.SQL_TYPES[col.kind]}) AS {name}")
        outer.append(name)
    extras = [t for t in targets if t not in spec.names]
    inner += [f"nullif(trim(s.{quote_ident(e)}), '') AS {quote_ident(e)}" for e in extras]
    outer += [quote_ident(e) for e in extras]
    params = {}
    if any(c.kind == "timestamp" for c in present):
        if not tz_in_fmt:  # a format with %z reads the offset from each value; the zone is not used
            params["tz"] = timezone
        if has_fmt:
            params["date_format"] = date_format
    # Rules across columns come after each column's own checks.
    for column, condition, reason in spec.checks:
        cases.append((f"NOT ({condition})", column, "'" + reason.replace("'", "''") + "'"))
    if cases:
        first = "CASE " + " ".join(f"WHEN {c} THEN {k}" for k, (c, _, _) in enumerate(cases, 1)) + " END"
        column = "CASE c._p " + " ".join(f"WHEN {k} THEN '{f}'" for k, (_, f, _) in enumerate(cases, 1)) + " END"
        reason = "CASE c._p " + " ".join(f"WHEN {k} THEN {r}" for k, (_, _, r) in enumerate(cases, 1)) + " END"
    else:
        first, column, reason = "CAST(NULL AS INTEGER)", "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"
    # A key seen earlier in this load, among rows without a problem, makes the row a duplicate
    # (found by aggregating keys seen twice and joining back: half the cost of a window).
    key = ", ".join(quote_ident(k) for k in spec.key)
    key_text = "'" + ", ".join(spec.key) + "'"
    same = " AND ".join(f"c.{quote_ident(k)} = f.{quote_ident(k)}" for k in spec.key)
    dup = "c._p IS NULL AND c._rn > f._first"
    con.execute(
        f"""CREATE TEMP TABLE _cx_typed AS
            WITH typed AS (SELECT {', '.join(inner)} FROM _cx_stage s),
                 checked AS (SELECT *, {first} AS _p FROM typed),
                 firsts AS (SELECT {key}, min(_rn) AS _first FROM checked WHERE _p IS NULL
                            GROUP BY {key} HAVING count(*) > 1)
            SELECT c._rn,
                   CASE WHEN {dup} THEN {key_text} ELSE {column} END AS _column,
                   CASE WHEN {dup} THEN 'duplicate key: repeats an earlier row of this load'
                        ELSE {reason} END AS _reason,
                   {', '.join('c.' + o for o in outer)}
            FROM checked c LEFT JOIN firsts f ON {same}""",
        params,
    )
    # Then keys already in the store and references; each only for rows still without a problem.
    if spec.name != "touchpoint_stages":  # a map in a file replaces the map in the store (configuration)
        same = " AND ".join(f"t.{quote_ident(k)} = _cx_typed.{quote_ident(k)}" for k in spec.key)
        con.execute(
            f"""UPDATE _cx_typed SET _column = $key, _reason = 'duplicate key: already in the store'
                WHERE _reason IS NULL AND EXISTS (SELECT 1 FROM {spec.name} t WHERE {same})""",
            {"key": ", ".join(spec.key)},
        )
    if spec.references_customers:
        con.execute(
            """UPDATE _cx_typed SET _column = 'customer_id',
                      _reason = 'unknown customer_id ' || customer_id || ': load its customer first'
               WHERE _reason IS NULL
                 AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = _cx_typed.customer_id)"""
        )


def _write(con, spec, label, structural, started, timezone, date_format, targets) -> LoadReport:
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchone()[0]
    if spec.name == "touchpoint_stages":
        con.execute("DELETE FROM touchpoint_stages")
    cols = spec.names + [t for t in targets if t not in spec.names]
    col_list = ", ".join(quote_ident(c) for c in cols)
    con.execute(f"INSERT INTO {spec.name} ({col_list}) SELECT {col_list} FROM _cx_typed WHERE _reason IS NULL")
    loaded = con.execute("SELECT count(*) FROM _cx_typed WHERE _reason IS NULL").fetchone()[0]
    # A good record's line: its record number + 1 for the header + structural rejects before it.
    raw_json = ("CAST(to_json(struct_pack(" + ", ".join(f"{quote_ident(t)} := s.{quote_ident(t)}" for t in targets)
                + ")) AS VARCHAR)")
    con.execute(
        f"""INSERT INTO rejects
           SELECT $load_id, $table, $source,
                  t._rn + 1 + (SELECT count(*) FROM (SELECT line - row_number() OVER (ORDER BY line) AS gap
                                                      FROM _cx_structural) g WHERE g.gap <= t._rn),
                  t._column, t._reason, {raw_json}
           FROM _cx_typed t JOIN _cx_stage s USING (_rn) WHERE t._reason IS NOT NULL
           UNION ALL
           SELECT $load_id, $table, $source, line, NULL, 'malformed line: ' || reason, raw FROM _cx_structural""",
        {"load_id": load_id, "table": spec.name, "source": label},
    )
    rejected = con.execute("SELECT count(*) FROM rejects WHERE load_id = ?", [load_id]).fetchone()[0]
    read = con.execute("SELECT count(*) FROM _cx_typed").fetchone()[0] + structural
    con.execute(
        "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, spec.name, label, started, datetime.now(tz.utc).replace(tzinfo=None), read, loaded, rejected,
         timezone, date_format],
    )
    if read != loaded + rejected:
        raise CxDataError(f"internal error: read {read} != loaded {loaded} + rejected {rejected}; nothing was loaded")
    return LoadReport(load_id, spec.name, label, read, loaded, rejected)
