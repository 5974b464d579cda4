"""Reading a file (or a DataFrame) as rows of text columns, with the lines that cannot be read.

A source becomes a temporary table ``_cx_raw(_rn, <source columns as VARCHAR>)`` and a table
``_cx_structural(line, raw, reason)`` of lines that could not be split into those columns, so
that ingestion can validate every value in DuckDB and count every line. Shapes read:

- CSV/TSV/TXT (optionally gzipped) with a header line, or headerless with the names given
  (``columns``); delimiter detected from the header among , ; tab | or given. The dialect is
  fixed (RFC 4180 quoting) rather than sniffed: a sniffer that meets one broken quote switches
  quoting off for the whole file, while with it fixed a bad line is rejected alone.
- Whitespace-separated text (``delimiter="whitespace"``): fields split on runs of spaces or tabs,
  leading and trailing blanks ignored (e.g. the CDNOW transaction log).
- JSON lines (``.json``, ``.jsonl``, ``.ndjson``, optionally gzipped): one object per line; its
  top-level keys (whatever their characters, e.g. Amplitude's ``$insert_id``), found on every
  line, are the columns, and a mapping may name a path into the object
  (``properties.distinct_id``); a nested object is kept as JSON text.
- Parquet, and pandas DataFrames.

Line numbers count every physical line of the file, header included, as the user's editor shows
them (a quoted CSV value spanning lines counts as one line).
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cxlib.errors import CxDataError, CxInputError
from cxlib.sql import quote_ident

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".csv.gz", ".tsv.gz", ".txt.gz", ".dat.gz")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1",
             "utf-16": "utf-16"}
WHITESPACE = "whitespace"
_DELIMITERS = (",", ";", "\t", "|")
# A line holding nothing but blanks (spaces, tabs, a stray carriage return) is no row. DuckDB's
# trim() removes spaces only, so a tab-only line used to count as a malformed row.
_NOT_BLANK = "NOT regexp_full_match(coalesce(line, ''), '\\s*')"
_PATH = re.compile(r"^[^.]+(\.[^.]+)*$")  # a path into nested JSON objects: non-empty keys joined by '.'



@dataclass
class Source:
    """A source staged as ``_cx_raw``: its label for the load log and its column names."""

    label: str
    columns: list[str]
    structural: int = 0  # lines in _cx_structural
    header_lines: int = 1  # lines before the first record
    rn_is_line: bool = False  # _rn is the physical line (line-based files), else the record number


def stage_source(con: duckdb.DuckDBPyConnection, source, *, delimiter: str | None = None, encoding: str = "utf-8",
                 columns: list[str] | None = None, skip_rows: int = 0, json_paths: list[str] = ()) -> Source:
    """Read `source` into ``_cx_raw`` and ``_cx_structural`` (temporary tables) and describe it.

    `columns` names the columns of a headerless file; `skip_rows` skips rows after the header
    (survey tools put question texts there); `json_paths` are paths a JSON-lines load needs
    beyond the top-level keys.
    """
    if isinstance(source, pd.DataFrame):
        return _stage_dataframe(con, source)
    path = Path(source)
    if not path.exists():
        raise CxInputError(f"no such file: {path}")
    lower = path.name.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return _stage_parquet(con, path)
    enc = ENCODINGS.get(encoding.lower())
    if enc is None:
        raise CxInputError(f"unknown encoding {encoding!r}; use one of {sorted(set(ENCODINGS.values()))}")
    if lower.endswith(JSON_SUFFIXES):
        return _stage_json_lines(con, path, enc, json_paths)
    if not lower.endswith(CSV_SUFFIXES):
        raise CxInputError(f"{path.name}: unknown file type; use .csv, .tsv, .txt (optionally .gz), "
                           ".json/.jsonl (JSON lines) or .parquet")
    if delimiter == WHITESPACE:
        return _stage_whitespace(con, path, enc, columns, skip_rows)
    if delimiter is not None and len(delimiter) != 1:
        raise CxInputError(f"delimiter must be one character or 'whitespace', got {delimiter!r}")
    if delimiter is None and lower.endswith((".tsv", ".tsv.gz")):
        delimiter = "\t"
    return _stage_csv(con, path, enc, delimiter, columns, skip_rows)


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("_cx_raw", "_cx_structural", "_cx_lines"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


# --------------------------------------------------------------------------- CSV


def _stage_csv(con, path: Path, encoding: str, delimiter: str | None, columns: list[str] | None,
               skip_rows: int) -> Source:
    first, delimiter = _first_line(path, encoding, delimiter)
    if columns:
        names, header = _checked_names(columns, f"--columns for {path}"), False
    else:
        names, header = _header_names(first, delimiter, path), True
    args = {"path": str(path), "encoding": encoding, "delim": delimiter, "columns": {n: "VARCHAR" for n in names},
            "skip": skip_rows}
    relation = ("read_csv($path, header = $header, auto_detect = false, columns = $columns, delim = $delim, "
                "quote = '\"', escape = '\"', encoding = $encoding, store_rejects = true, skip = $skip)")
    # `skip` drops lines before the header; rows after the header are dropped by number below.
    args["header"], args["skip"] = header, 0
    cols = ", ".join(f"{quote_ident(n)}" for n in names)
    con.execute(f"CREATE TEMP TABLE _cx_raw AS SELECT _rn - $skip_rows AS _rn, * EXCLUDE (_rn) FROM "
                f"(SELECT row_number() OVER () AS _rn, {cols} FROM {relation}) WHERE _rn > $skip_rows",
                {**args, "skip_rows": skip_rows})
    _stage_structural(con, path, encoding, delimiter, len(names))
    con.execute("DELETE FROM reject_errors")
    con.execute("DELETE FROM reject_scans")
    structural = con.execute("SELECT count(*) FROM _cx_structural").fetchone()[0]
    return Source(str(path), names, structural, header_lines=int(header) + skip_rows)


_PAGE = 50_000  # malformed lines handled at a time: a file of nothing but bad lines stays in bounded memory


def _stage_structural(con, path: Path, encoding: str, delimiter: str, expected: int) -> None:
    """_cx_structural: the lines DuckDB could not split into the columns (too many or too few
    fields, an unclosed quote, bytes invalid in the encoding), one row per line, a page at a time."""
    con.execute("CREATE TEMP TABLE _cx_structural (line BIGINT, raw VARCHAR, reason VARCHAR)")
    con.execute("CREATE TEMP TABLE _cx_bad AS SELECT row_number() OVER (ORDER BY line) AS k, line, "
                "any_value(csv_line) AS raw, list(DISTINCT error_type) AS kinds, any_value(error_message) AS message "
                "FROM reject_errors GROUP BY line")
    numbered = _numbered_lines(path, encoding)
    try:
        total = con.execute("SELECT count(*) FROM _cx_bad").fetchone()[0]
        for start in range(0, total, _PAGE):
            page = con.execute("SELECT line, raw, kinds, message FROM _cx_bad WHERE k > $a AND k <= $b ORDER BY k",
                               {"a": start, "b": start + _PAGE}).fetchall()
            # DuckDB keeps only the start of a long line: fields are counted on the line as the file has it
            counted = {n for n, _, kinds, _ in page if set(kinds) <= {"TOO MANY COLUMNS", "MISSING COLUMNS"}}
            full = _take_lines(numbered, counted)
            con.executemany("INSERT INTO _cx_structural VALUES (?, ?, ?)",
                            [(line, raw, _malformed(full.get(line, raw), kinds, message, delimiter, expected))
                             for line, raw, kinds, message in page])
    finally:
        numbered.close()
        con.execute("DROP TABLE _cx_bad")


def _malformed(raw: str | None, kinds: list[str], message: str, delimiter: str, expected: int) -> str:
    """A reason a person can read for a line DuckDB could not split into the header's columns."""
    if "UNQUOTED VALUE" in kinds:
        return "a quoted value is not closed (this line, and the lines its open quote swallowed, are rejected)"
    if "INVALID UNICODE" in kinds or "INVALID ENCODING" in kinds:
        return "not valid text in the file's encoding (is it another one? try --encoding latin-1)"
    if "LINE SIZE OVER MAXIMUM" in kinds:
        return "longer than the 2 MB a line may hold"
    if kinds and set(kinds) <= {"TOO MANY COLUMNS", "MISSING COLUMNS"}:
        found = len(next(csv.reader([(raw or "").rstrip("\r\n")], delimiter=delimiter), []))
        words = "too many" if "TOO MANY COLUMNS" in kinds else "too few"
        return f"{words} fields: expected {expected}, found {found}"
    return f"{', '.join(k.lower() for k in kinds)}: {message}"


def _numbered_lines(path: Path, encoding: str):
    """(number, line) for every physical line of the file (1-based), opened on the first request."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace",
                newline="") as fh:
        yield from enumerate(fh, 1)


def _take_lines(numbered, wanted: set[int]) -> dict[int, str]:
    """The lines numbered `wanted`, read on from where `numbered` (_numbered_lines) stopped: ask
    in increasing order, so that the file is read in one pass."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    last = max(wanted)
    for number, line in numbered:
        if number in wanted:
            found[number] = line
        if number >= last:
            break
    return found


def _first_line(path: Path, encoding: str, delimiter: str | None) -> tuple[str, str]:
    """The first line (decoded) and the delimiter: given, or the candidate that line uses most."""
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
        raise CxDataError(f"{path} is empty or its first line is blank: the first line must name the columns "
                          "(or name them with --columns)")
    if delimiter is None:
        counts = {d: len(next(csv.reader([line], delimiter=d))) for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (',')
    return line, delimiter


def _header_names(line: str, delimiter: str, path) -> list[str]:
    names = [n.strip() for n in next(csv.reader([line], delimiter=delimiter))]
    return _checked_names([n or f"column{i + 1}" for i, n in enumerate(names)], f"the header of {path}")


def _checked_names(names: list[str], where: str) -> list[str]:
    names = [str(n).strip() for n in names]
    if not names or not all(names):
        raise CxInputError(f"{where} must name every column, got {names}")
    folded = [n.lower() for n in names]  # DuckDB's column names are case-insensitive
    twice = sorted({n for n in names if folded.count(n.lower()) > 1})
    if twice:
        raise CxDataError(f"{where} names columns twice: {twice}. Nothing was loaded.")
    return names


# --------------------------------------------------------------------------- line-based files


def _stage_lines(con, path: Path, encoding: str) -> None:
    """_cx_lines(line_no, line): every physical line, blank ones included, numbered from 1."""
    con.execute(
        "CREATE TEMP TABLE _cx_lines AS SELECT row_number() OVER () AS line_no, line FROM read_csv($path, "
        "header = false, auto_detect = false, columns = {'line': 'VARCHAR'}, delim = chr(31), quote = '', "
        "escape = '', encoding = $encoding)",
        {"path": str(path), "encoding": encoding},
    )


def _stage_whitespace(con, path: Path, encoding: str, columns: list[str] | None, skip_rows: int) -> Source:
    """Fields split on runs of blanks; a line with another number of fields is rejected."""
    _stage_lines(con, path, encoding)
    split = "regexp_split_to_array(regexp_replace(line, '^\\s+|\\s+$', '', 'g'), '\\s+')"
    first_data = 1
    if columns:
        names = _checked_names(columns, f"--columns for {path}")
    else:
        row = con.execute(f"SELECT line_no, {split} FROM _cx_lines WHERE {_NOT_BLANK} "
                          "ORDER BY line_no LIMIT 1").fetchone()
        if row is None:
            raise CxDataError(f"{path} is empty: nothing to load")
        first_data, names = row[0] + 1, _checked_names(row[1], f"the header of {path}")
    first_data += skip_rows
    fields = ", ".join(f"f[{i + 1}] AS {quote_ident(n)}" for i, n in enumerate(names))
    records = (f"SELECT line_no, line, {split} AS f FROM _cx_lines "
               f"WHERE line_no >= $first AND {_NOT_BLANK}")
    con.execute(f"CREATE TEMP TABLE _cx_raw AS SELECT line_no AS _rn, {fields} FROM ({records}) "
                "WHERE len(f) = $n", {"first": first_data, "n": len(names)})
    con.execute(f"CREATE TEMP TABLE _cx_structural AS SELECT line_no AS line, line AS raw, "
                f"CASE WHEN len(f) > $n THEN 'too many' ELSE 'too few' END || ' fields: expected ' || $n || ', found ' "
                f"|| len(f) AS reason FROM ({records}) WHERE len(f) <> $n",
                {"first": first_data, "n": len(names)})
    return _line_source(con, path, names)


def _stage_json_lines(con, path: Path, encoding: str, json_paths) -> Source:
    """One JSON object per line; columns are the top-level keys plus `json_paths` (dotted)."""
    _stage_lines(con, path, encoding)
    # CASE, not AND: DuckDB evaluates both sides of an AND, and the cast fails on a malformed line.
    valid = "coalesce(CASE WHEN json_valid(line) THEN json_type(CAST(line AS JSON)) = 'OBJECT' END, false)"
    # Every line's keys (a key that first appears late in the file is a column too; reading them
    # all costs a fraction of a second per 100,000 lines).
    keys = con.execute(
        f"SELECT DISTINCT unnest(json_keys(line::JSON)) FROM (SELECT line FROM _cx_lines WHERE {_NOT_BLANK} AND {valid})"
    ).fetchall()
    top = [k for (k,) in sorted(keys)]
    # A top-level key is read as it is ('$insert_id', 'my key', 'a.b'); a path a mapping names
    # beyond them ('properties.distinct_id') is read into the nested objects.
    pointers = {k: _json_pointer([k]) for k in top}
    bad = [p for p in json_paths if p and p not in pointers and not _PATH.match(p)]
    if bad:
        raise CxInputError(f"{path}: {bad} cannot be read as paths into the JSON objects (keys separated by '.')")
    pointers.update({p: _json_pointer(p.split(".")) for p in json_paths if p and p not in pointers})
    if not pointers:
        raise CxDataError(f"{path} holds no JSON object: nothing to load")
    names = _checked_names(list(pointers), f"the keys of {path}")
    fields = ", ".join(f"line::JSON ->> {pointers[n]} AS {quote_ident(n)}" for n in names)
    rows = f"FROM _cx_lines WHERE {_NOT_BLANK}"
    con.execute(f"CREATE TEMP TABLE _cx_raw AS SELECT line_no AS _rn, {fields} {rows} AND {valid}")
    con.execute(f"CREATE TEMP TABLE _cx_structural AS SELECT line_no AS line, line AS raw, "
                f"'not a JSON object' AS reason {rows} AND NOT ({valid})")
    return _line_source(con, path, names, header_lines=0)


def _json_pointer(parts: list[str]) -> str:
    """A SQL literal of the JSON Pointer (RFC 6901) to a key, whatever characters it holds."""
    pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)
    return "'" + pointer.replace("'", "''") + "'"


def _line_source(con, path: Path, names: list[str], header_lines: int = 1) -> Source:
    con.execute("DROP TABLE _cx_lines")
    structural = con.execute("SELECT count(*) FROM _cx_structural").fetchone()[0]
    return Source(str(path), names, structural, header_lines=header_lines, rn_is_line=True)


# --------------------------------------------------------------------------- tables


def _stage_parquet(con, path: Path) -> Source:
    names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)}).fetchall()]
    _stage_relation(con, "read_parquet($path)", {"path": str(path)}, names)
    return Source(str(path), names)  # rows are numbered as lines of a file with a header


def _stage_dataframe(con, df: pd.DataFrame) -> Source:
    name = f"_cx_df_{id(df)}"
    if hasattr(con, "complete"):  # DuckDB 2 refuses register() while a result is unread
        con.complete()
    con.register(name, df)
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()]
        _checked_names(names, "the DataFrame's columns")
        _stage_relation(con, name, {}, names)
    finally:
        con.unregister(name)
    return Source("DataFrame", names)  # rows are numbered as lines of a file with a header


def _stage_relation(con, relation: str, args: dict, names: list[str]) -> None:
    cols = ", ".join(f"CAST({quote_ident(n)} AS VARCHAR) AS {quote_ident(n)}" for n in names)
    con.execute(f"CREATE TEMP TABLE _cx_raw AS SELECT row_number() OVER () AS _rn, {cols} FROM {relation}", args)
    con.execute("CREATE TEMP TABLE _cx_structural (line BIGINT, raw VARCHAR, reason VARCHAR)")
