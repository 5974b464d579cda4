"""Ingestion: files as users have them, or a DataFrame, into the canonical schema, validated in DuckDB.

Every row read either loads or lands in ``rejects`` with its source, line, column and reason,
so ``read == loaded + rejected`` always holds. A load is one transaction: a failure, or a
killed process, leaves the store exactly as it was. A row whose key is already in the store is
rejected as a duplicate, so loading the same file twice adds nothing; with ``update`` it
replaces the stored row instead (the previous version goes to ``history``) or counts as
unchanged.

Meeting exports where they are (see also presets, cxlib/store/presets.py):
- ``mapping`` renames columns (``{"user_id": "customer_id"}``; to None drops one);
  ``constants`` supplies a column every row shares (``{"channel": "web"}``).
- Columns the schema does not know are kept: customer attributes on ``customers``, and a JSON
  ``properties`` object on events, surveys, orders, tickets and subscriptions.
- ``add_customers`` creates the customers a file names that are not in the store yet, with
  ``signup_at`` the first time they are seen; customers loaded without ``signup_at`` get the
  same. Without it such rows are rejected, and a load where every row is such a row says so.
- Rows without a natural key (orders without ``order_id``, answers without ``response_id``,
  tickets without ``ticket_id``) get one derived from their content and their occurrence in
  the file, so a re-load still adds nothing.
- Timestamps: ISO 8601 values load without a ``date_format``; a value with an offset (``Z``,
  ``+02:00``) is converted to UTC, a naive one is read in ``timezone`` (default UTC). A day/month
  value such as ``03/04/2024`` is rejected as ambiguous unless ``date_format`` (strptime codes,
  e.g. ``%d/%m/%Y %H:%M`` or ``%Y%m%d``) says how to read it; ``epoch_s``, ``epoch_ms`` and
  ``epoch_us`` read numbers since 1970 (UTC; with a ``timezone``, numbers that an export wrote
  as that zone's clock time, as Mixpanel does for projects with a time zone). A naive time in a daylight-saving gap or fold is
  read at the zone's standard-time offset, as ICU does.
- Surveys: metrics beyond nps/csat/ces load once their scale is declared (``metric_scales``);
  ``wide`` turns one-row-per-response exports into one row per answer.
- Subscriptions may give ``tenure`` (and ``churned``) instead of dates, with the export's
  ``as_of`` date: started = as_of - tenure (whole months, weeks or days), ended = as_of if churned.
- ``lowercase`` folds touchpoint and channel names, so ``Checkout`` and ``checkout`` are one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import timezone as tz

import duckdb
import pandas as pd

from cxlib.errors import CxDataError, CxInputError, did_you_mean
from cxlib.sql import quote_ident, table_columns
from cxlib.store import schema
from cxlib.store.connection import connect, fill_first_seen, refresh_derived
from cxlib.store.sources import WHITESPACE, Source, drop_staging, stage_source
from cxlib.store.validate import (
    EPOCHS,
    TENURE_UNITS,
    Typing,
    build_typed,
    derives_end,
    derives_start,
    mark_duplicates,
    mark_lookalikes,
    mark_orphans,
)

LOWERCASE_DEFAULT = ("touchpoint", "channel")
# Required columns whose value a whole file often shares, so that --set can supply them.
_SETTABLE = ("channel", "plan", "metric", "touchpoint")
# The timestamp that dates a row, and so a customer's first sight, in each table.
FIRST_SEEN = {"events": "ts", "survey_responses": "ts", "orders": "ts", "tickets": "opened_at",
              "subscriptions": "started_at"}


@dataclass(frozen=True)
class LoadOptions:
    """Everything that says how a file becomes rows (the arguments of `ingest`, or a preset)."""

    mapping: dict = field(default_factory=dict)
    preset_mapping: dict = field(default_factory=dict)  # applied to the columns a file has
    constants: dict = field(default_factory=dict)
    preset_constants: dict = field(default_factory=dict)  # defaults for columns a file (as mapped) lacks
    timezone: str = "UTC"
    date_format: str | None = None
    delimiter: str | None = None
    encoding: str = "utf-8"
    columns: tuple[str, ...] | None = None
    skip_rows: int = 0
    add_customers: bool = False
    update: bool = False
    lowercase: tuple[str, ...] = ()
    metric_scales: dict = field(default_factory=dict)
    as_of: str | None = None
    tenure_unit: str = "month"
    wide: dict | None = None
    earliest: str | None = None  # timestamps before are implausible (default 1970-01-01)
    latest: str | None = None  # timestamps after are implausible (default: the load time plus one day)


@dataclass(frozen=True)
class LoadReport:
    """What one load read, loaded and rejected. ``rejects_query`` selects its rejected rows.

    ``loaded`` = ``inserted`` + ``updated`` + ``unchanged`` (the last two only with update).
    """

    load_id: int
    table: str
    source: str
    read: int
    loaded: int
    rejected: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_added: int = 0
    orphans: int = 0
    kept_as_properties: tuple[str, ...] = ()

    @property
    def rejects_query(self) -> str:
        return f"SELECT * FROM rejects WHERE load_id = {self.load_id} ORDER BY line"

    def __str__(self) -> str:
        text = f"{self.table} <- {self.source}: read {self.read:,}, loaded {self.loaded:,}, rejected {self.rejected:,}"
        if self.updated or self.unchanged:
            text += f" (inserted {self.inserted:,}, updated {self.updated:,}, unchanged {self.unchanged:,})"
        if self.customers_added:
            text += f"; {self.customers_added:,} new customer(s) created from first sight"
        if self.kept_as_properties:
            text += f"; kept as properties: {', '.join(self.kept_as_properties)}"
        if self.rejected:
            text += f" (see: {self.rejects_query})"
        if self.orphans and self.orphans == self.read:
            text += (". Every row names a customer_id that is not in the store: load customers first, or "
                     "pass --add-customers to create them from first sight")
        return text


def ingest(
    source: str | os.PathLike | pd.DataFrame,
    table: str,
    *,
    db: str | os.PathLike | duckdb.DuckDBPyConnection | None = None,
    preset: str | os.PathLike | None = None,
    force: bool = False,
    **options,
) -> LoadReport:
    """Load `source` into `table` of the store and return a LoadReport.

    `db` is a store path, an open read-write connection, or None for the default store.
    `preset` names a shipped preset ('amplitude', ...) or a preset file; its settings apply
    unless an option here says otherwise. Options (see the module docstring and LoadOptions):
    mapping, constants, timezone, date_format, delimiter ('whitespace' for blank-separated
    text), encoding, columns (names for a headerless file), skip_rows, add_customers, update,
    lowercase (True for touchpoint and channel, or column names), metric_scales
    ({'trust': (0, 10)}), as_of and tenure_unit (subscriptions given by tenure), wide, earliest and
    latest (the plausible window for timestamps: default 1970-01-01 to the load time plus a day).
    A sample store (cx sample) takes no real data unless `force`: the two would mix.
    Raises CxInputError for bad options and CxDataError, with the store unchanged, when the
    file cannot be loaded at all (a header that does not match, an unreadable file).
    """
    spec = schema.table(table)
    opts = load_options(spec, preset, options)
    con = db if isinstance(db, duckdb.DuckDBPyConnection) else connect(db, read_only=False)
    try:
        if not force and _is_sample(con):
            raise CxInputError("this is a sample store (synthetic data with planted effects): load your data into "
                               "your own store (the default data/cx.duckdb, or --db PATH), or pass --force to mix them")
        return _ingest(con, source, spec, opts)
    finally:
        if con is not db:
            con.close()


def _is_sample(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'sample_truth'")
                .fetchone()[0])


def load_options(spec: schema.Table, preset, options: dict) -> LoadOptions:
    """The options of one load: a preset's settings, then the given ones, checked."""
    from cxlib.store.presets import load_preset

    unknown = sorted(set(options) - set(LoadOptions.__dataclass_fields__))
    if unknown:
        raise CxInputError(f"unknown ingest option(s) {unknown}; options: {sorted(LoadOptions.__dataclass_fields__)}")
    given = {k: v for k, v in options.items() if v is not None}
    if preset is not None:
        settings = load_preset(preset)
        if settings.pop("table", spec.name) != spec.name:
            raise CxInputError(f"preset {preset!r} loads table {load_preset(preset)['table']}, not {spec.name}")
        for key in ("constants", "metric_scales", "wide"):  # dictionaries merge, the given entries win
            if key in settings and key in given:
                given[key] = {**settings[key], **given[key]}
        given = {**settings, **given}
    lowercase = given.get("lowercase", ())
    given["lowercase"] = LOWERCASE_DEFAULT if lowercase is True else tuple(lowercase or ())
    if given.get("columns") is not None:
        given["columns"] = tuple(given["columns"])
    opts = LoadOptions(**given)
    _check_options(spec, opts)
    return opts


def _check_options(spec: schema.Table, opts: LoadOptions) -> None:
    if opts.tenure_unit not in TENURE_UNITS:
        raise CxInputError(f"tenure_unit must be one of {'/'.join(TENURE_UNITS)}, got {opts.tenure_unit!r}")
    if isinstance(opts.skip_rows, bool) or not isinstance(opts.skip_rows, int) or opts.skip_rows < 0:
        raise CxInputError(f"skip_rows must be a whole number of at least 0, got {opts.skip_rows!r}")
    bad = [c for c in opts.lowercase if c not in spec.accepted or spec.column(c).kind != "id"]
    if bad:
        raise CxInputError(f"lowercase takes identifier columns of {spec.name}; not {bad}")
    if opts.metric_scales and spec.name != "survey_responses":
        raise CxInputError("metric scales are declared with survey answers (table survey_responses)")
    if opts.wide is not None and spec.name != "survey_responses":
        raise CxInputError("a wide export (one column per question) loads into survey_responses")
    for name, value in {**opts.preset_constants, **opts.constants}.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise CxInputError(f"the constant for {name!r} must be text or a number, got {value!r}")


# --------------------------------------------------------------------------- one load


def _ingest(con, source, spec: schema.Table, opts: LoadOptions) -> LoadReport:
    opts = replace(opts, timezone=_check_timezone(con, opts.timezone))
    _check_date_format(con, opts.date_format)
    started = datetime.now(tz.utc).replace(tzinfo=None)
    order = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    try:
        src = stage_source(con, source, delimiter=opts.delimiter, encoding=opts.encoding,
                           columns=list(opts.columns) if opts.columns else None, skip_rows=opts.skip_rows,
                           json_paths=[p for p in {**opts.preset_mapping, **opts.mapping} if "." in p])
        opts = _with_preset_constants(spec, src, opts)
        pairs, extras = map_header(con, spec, src, opts)
        # Every staged row carries its record number and line: the steps after staging need no file
        # order, and keeping it makes DuckDB hold rows back in memory (restored below).
        con.execute("SET preserve_insertion_order = false")
        con.execute("BEGIN TRANSACTION")
        try:
            report = _load(con, spec, src, opts, pairs, extras, started)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(con)
            # One line for the command line (no DuckDB traceback); the store is as it was.
            raise CxDataError(f"{src.label} could not be loaded into {spec.name}: {str(exc).splitlines()[0]}. "
                              "Nothing was loaded.") from None
        except BaseException:
            _rollback(con)
            raise
    except duckdb.Error as exc:  # reading the file failed before anything was written
        label = "DataFrame" if isinstance(source, pd.DataFrame) else str(source)
        raise CxDataError(f"cannot read {label}: {str(exc).splitlines()[0]}. Nothing was loaded.") from None
    finally:
        con.execute(f"SET preserve_insertion_order = {order}")
        drop_staging(con)
        for name in ("_cx_stage", "_cx_typed"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return report


def _load(con, spec, src: Source, opts: LoadOptions, pairs, extras, started) -> LoadReport:
    targets = _stage(con, spec, src, opts, pairs, extras)
    if spec.extra_columns:
        _add_attribute_columns(con, spec, [t for t in targets if t not in spec.accepted])
    if opts.metric_scales:
        _declare_metric_scales(con, opts.metric_scales)
    typing = Typing(opts.timezone, opts.date_format, opts.lowercase, _as_of(spec, opts, targets), opts.tenure_unit,
                    _day(opts.earliest, "earliest") or datetime(1970, 1, 1),
                    _day(opts.latest, "latest") or started + timedelta(days=1))
    build_typed(con, spec, targets, typing)
    mark_lookalikes(con, spec)
    mark_duplicates(con, spec, update=opts.update)
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM load_log").fetchone()[0]
    added = _add_customers(con, spec, load_id) if spec.references_customers and opts.add_customers else 0
    orphans = mark_orphans(con) if spec.references_customers else 0
    counts = _write(con, spec, targets, load_id)
    if spec.name == "customers":
        _note_first_sight_signups(con, targets)
    _write_rejects(con, spec, src, targets, load_id)
    con.execute("RESET preserve_insertion_order")  # the derived-table refresh below runs with the default (see _ingest)
    if spec.name in ("events", "touchpoint_stages", "orders"):  # for the customers the load wrote or moved rows from
        refresh_derived(con, table=spec.name, customers="SELECT customer_id FROM _cx_typed WHERE _reason IS NULL "
                        "UNION ALL SELECT json_extract_string(previous, '$.customer_id') FROM history "
                        f"WHERE load_id = {int(load_id)} AND table_name = '{spec.name}'")
    if spec.name == "customers" or spec.name in FIRST_SEEN:
        fill_first_seen(con)
    return _log(con, spec, src, opts, load_id, started, counts, added, orphans, extras)


def _note_first_sight_signups(con, targets: list[str]) -> None:
    """Customers whose signup the file leaves blank take it from first sight (listed in first_sight,
    so an earlier row of a later load can still move it back); a signup the file gives is theirs."""
    if "signup_at" in targets:
        given = "SELECT customer_id FROM _cx_typed WHERE _reason IS NULL AND signup_at IS NOT NULL"
        con.execute(f"DELETE FROM first_sight WHERE customer_id IN ({given})")
        con.execute(f"DELETE FROM added_customers WHERE customer_id IN ({given})")
    con.execute("INSERT OR IGNORE INTO first_sight SELECT customer_id FROM _cx_typed WHERE _reason IS NULL "
                "AND signup_at IS NULL")


def _day(value, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise CxInputError(f"{name} must be a date like 2024-01-31, got {value!r}") from None


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
    if date_format is None or date_format in EPOCHS:
        return
    try:
        con.execute("SELECT try_strptime('2000-01-01', ?)", [date_format]).fetchall()
    except duckdb.Error as exc:
        detail = str(exc).split(": ", 1)[-1]
        raise CxInputError(f"date_format {date_format!r} is not a strptime format ({detail}); "
                           "e.g. '%d/%m/%Y %H:%M', '%Y%m%d', or epoch_s / epoch_ms / epoch_us") from None


def _as_of(spec: schema.Table, opts: LoadOptions, targets: list[str]):
    if not (derives_start(spec, targets) or derives_end(spec, targets)):
        return None
    if opts.as_of is None:
        raise CxInputError("subscriptions given by tenure need the day the export was taken: pass --as-of YYYY-MM-DD")
    if isinstance(opts.as_of, (date, datetime)):
        return datetime(opts.as_of.year, opts.as_of.month, opts.as_of.day)
    try:
        return datetime.fromisoformat(str(opts.as_of))
    except ValueError:
        raise CxInputError(f"as_of must be a date like 2024-01-31, got {opts.as_of!r}") from None


# --------------------------------------------------------------------------- the header


def map_header(con, spec: schema.Table, src: Source, opts: LoadOptions) -> tuple[list[tuple[str, str]], list[str]]:
    """(source column, target column) pairs after checking the header against the schema, and the
    target names kept beyond the schema (customer attributes or properties)."""
    found = src.columns
    unknown = sorted(set(opts.mapping) - set(found))
    if unknown:
        raise CxInputError(f"--map names columns not in the file: {unknown}{did_you_mean(unknown[0], found)} "
                           f"Found: {found}")
    wide = opts.wide or {}
    questions = set(wide.get("questions", {})) | set(wide.get("comments", {}).values()) | {wide.get("id")}
    missing_questions = sorted(q for q in questions - set(found) if q)
    if missing_questions:
        raise CxInputError(f"question columns not in the file: {missing_questions}"
                           f"{did_you_mean(missing_questions[0], found)} Found: {found}")
    pairs = _source_pairs(spec, found, opts, questions)
    targets = [d for _, d in pairs] + [c.strip().lower() for c in opts.constants]
    if opts.wide:
        targets += ["metric", "score"] + (["comment"] if opts.wide.get("comments") else [])
        targets += ["response_id"] if opts.wide.get("id") else []
    _check_targets(spec, targets, found, opts)
    extras = [t for t in targets if t not in spec.accepted and t != "properties"]
    return pairs, extras


def _source_pairs(spec: schema.Table, found: list[str], opts: LoadOptions, questions=frozenset()) -> list[tuple[str, str]]:
    """(source column, target column) for the file's columns that load (not dropped, not questions)."""
    mapping = _preset_mapping(opts.preset_mapping, found, opts.mapping)
    pairs = []
    for src_name in found:
        if src_name in questions:
            continue
        dst = mapping.get(src_name, src_name)
        if not dst:
            continue
        dst = dst.strip()
        # Schema names match in any case; a customer attribute keeps its spelling.
        pairs.append((src_name, dst.lower() if dst.lower() in spec.accepted or dst.lower() == "properties" else dst))
    return pairs


def _with_preset_constants(spec: schema.Table, src: Source, opts: LoadOptions) -> LoadOptions:
    """A preset's constants are defaults: each applies where the file, as mapped, has no such
    column and no constant of the load gives it (a clickstream's own channel column wins)."""
    if not opts.preset_constants:
        return opts
    have = {d.lower() for _, d in _source_pairs(spec, src.columns, opts)} | {c.strip().lower() for c in opts.constants}
    defaults = {k: v for k, v in opts.preset_constants.items() if k.strip().lower() not in have}
    return replace(opts, constants={**defaults, **opts.constants})


def _preset_mapping(preset: dict, found: list[str], given: dict) -> dict:
    """The preset's mapping for the columns this file has (the first column for each target wins,
    later ones are dropped), then the given mapping."""
    mapping, taken = {}, {d for d in given.values() if d}
    for src_name, dst in preset.items():
        if src_name not in found or src_name in given:
            continue
        mapping[src_name] = None if dst in taken else dst
        taken.add(dst)
    return {**mapping, **given}


def _check_targets(spec: schema.Table, targets: list[str], found: list[str], opts: LoadOptions) -> None:
    folded = [t.lower() for t in targets]
    dupes = sorted({t for t in targets if folded.count(t.lower()) > 1})
    required = [c for c in spec.required if not (c == spec.derived_key)]
    missing = [c for c in required if c not in targets]
    if spec.name == "subscriptions" and "started_at" not in targets and "tenure" not in targets:
        missing.append("started_at (or tenure)")
    extra = [] if spec.extra_columns or spec.properties else [t for t in targets if t not in spec.accepted]
    if missing or extra or dupes:
        problems = [f"{label} {names}" for label, names in
                    (("missing", missing), ("unexpected", extra), ("named twice", dupes)) if names]
        mapped = f"; as mapped {targets}" if opts.mapping or opts.constants or opts.preset_mapping else ""
        settable = [c for c in missing if c in _SETTABLE]
        hint = (f" If every row has the same {settable[0]}, supply it with --set {settable[0]}=VALUE."
                if settable else "")
        constant = [c for c in dupes if c.lower() in {k.strip().lower() for k in opts.constants}]
        if constant:
            hint += (f" {constant[0]} is both a column of the file and a --set constant: drop the column with "
                     f"--map SOURCE= or leave out --set {constant[0]}.")
        raise CxDataError(
            f"header does not match table {spec.name}: {'; '.join(problems)}. "
            f"Expected {spec.required} (optional {[c for c in spec.accepted if c not in spec.required]}), "
            f"found {found}{mapped}. Rename columns with --map SOURCE=TARGET, drop one with --map SOURCE=.{hint} "
            "Nothing was loaded."
        )
    bad = [t for t in targets if t.startswith("_")]
    if bad:
        raise CxDataError(f"column names may not start with '_': {bad}")


# --------------------------------------------------------------------------- staging


def _stage(con, spec: schema.Table, src: Source, opts: LoadOptions, pairs, extras) -> list[str]:
    """_cx_stage(_rn, _line, <target columns as text>, _props); returns the target columns."""
    params: dict = {}
    cols = [f"CAST(r.{quote_ident(s)} AS VARCHAR) AS {quote_ident(d)}" for s, d in pairs
            if d != "properties" and (d not in extras or spec.extra_columns)]
    for i, (name, value) in enumerate(opts.constants.items()):
        params[f"set{i}"] = str(value)
        cols.append(f"CAST($set{i} AS VARCHAR) AS {quote_ident(name.strip().lower())}")
    line = "r._rn" if src.rn_is_line else _line_of_record(src)
    rows = (f"SELECT r._rn AS _src, 0 AS _q, {line} AS _line, {''.join(c + ', ' for c in cols)}"
            f"{_properties(spec, pairs, extras)} FROM _cx_raw r")
    if opts.wide:
        rows = _unpivot(rows, opts.wide)
        params.update({f"metric{q}": str(m).strip().lower()
                       for q, m in enumerate((opts.wide.get("questions") or {}).values(), 1)})
    # One row per record keeps the record's number; only an unpivot renumbers (a sort of every row).
    number = "row_number() OVER (ORDER BY _src, _q)" if opts.wide else "_src"
    con.execute(f"CREATE TEMP TABLE _cx_stage AS SELECT {number} AS _rn, * EXCLUDE (_src, _q) FROM ({rows})", params)
    con.execute("DROP TABLE _cx_raw")  # later steps read _cx_stage only: free the file's text now
    targets = [c[0] for c in con.execute("DESCRIBE _cx_stage").fetchall() if not c[0].startswith("_")]
    if spec.derived_key and spec.derived_key not in targets:
        _derive_key(con, spec, targets)
        targets.append(spec.derived_key)
    return targets


def _line_of_record(src: Source) -> str:
    """A CSV record's line: its number, the header lines, and the malformed lines before it."""
    if not src.structural:  # no malformed line: no join
        return f"r._rn + {src.header_lines}"
    return (f"r._rn + {src.header_lines} + (SELECT count(*) FROM (SELECT line - row_number() OVER (ORDER BY line) "
            f"AS gap FROM _cx_structural) g WHERE g.gap <= r._rn + {src.header_lines - 1})")


def _properties(spec: schema.Table, pairs, extras: list[str]) -> str:
    """SQL for the JSON object of the columns kept as properties (NULL when a row has none); a
    column mapped to `properties` that holds a JSON object is its base."""
    if not spec.properties:
        return "CAST(NULL AS JSON) AS _props"
    kept = [(s, d) for s, d in pairs if d in extras]
    base = next((s for s, d in pairs if d == "properties"), None)
    obj = None
    if kept:
        obj = "json_object(" + ", ".join(f"'{d.replace(chr(39), chr(39) * 2)}', {_property_value(f'r.{quote_ident(s)}')}"
                                          for s, d in kept) + ")"
    if base is not None:
        # Nested CASE, not AND: DuckDB may evaluate both sides of an AND, and the cast fails on
        # text that is not JSON. A value that is not a JSON object is kept as text under its name.
        col, name = f"r.{quote_ident(base)}", base.replace("'", "''")
        is_object = f"coalesce(CASE WHEN json_valid({col}) THEN json_type(CAST({col} AS JSON)) = 'OBJECT' END, false)"
        base = (f"CASE WHEN {is_object} THEN CAST({col} AS JSON) "
                f"WHEN nullif(trim({col}), '') IS NOT NULL THEN json_object('{name}', {col}) END")
        obj = f"json_merge_patch(coalesce({base}, '{{}}'), {obj})" if obj else base
    elif obj:
        obj = f"json_merge_patch('{{}}', {obj})"
    if obj is None:
        return "CAST(NULL AS JSON) AS _props"
    # A blank value is no property (merge_patch drops nulls), and a row without any has none.
    return f"CASE WHEN CAST({obj} AS VARCHAR) <> '{{}}' THEN {obj} END AS _props"


def _property_value(col: str) -> str:
    """A kept value as JSON: a JSON object or array (a nested object of a JSON-lines record)
    stays nested, so that ``properties->'context'->>'locale'`` reads it; anything else is text."""
    container = f"coalesce(CASE WHEN json_valid({col}) THEN json_type(CAST({col} AS JSON)) IN ('OBJECT', 'ARRAY') END, false)"
    return f"CASE WHEN {container} THEN CAST({col} AS JSON) ELSE to_json(nullif(trim({col}), '')) END"


def _unpivot(rows: str, wide: dict) -> str:
    """One row per answered question of a wide survey export (a blank answer is no answer)."""
    questions = wide.get("questions") or {}
    comments = wide.get("comments") or {}
    if not questions:
        raise CxInputError("a wide survey export (one column per question) needs its question columns: pass "
                           "--question COLUMN=METRIC for each, e.g. --question Q1=nps (in Python: "
                           "wide={'questions': {column: metric}})")
    parts = []
    for q, (column, metric) in enumerate(questions.items(), 1):
        answer = f"CAST(r.{quote_ident(column)} AS VARCHAR)"
        comment = f", CAST(r.{quote_ident(comments[column])} AS VARCHAR) AS comment" if column in comments else (
            ", CAST(NULL AS VARCHAR) AS comment" if comments else "")
        if wide.get("id"):
            comment += f", CAST(r.{quote_ident(wide['id'])} AS VARCHAR) || ':' || $metric{q} AS response_id"
        parts.append(f"SELECT s.* EXCLUDE (_q), {q} AS _q, $metric{q} AS metric, {answer} AS score{comment} "
                     f"FROM ({rows}) s JOIN _cx_raw r ON r._rn = s._src WHERE nullif(trim({answer}), '') IS NOT NULL")
    return " UNION ALL ".join(parts)


def _derive_key(con, spec: schema.Table, targets: list[str]) -> None:
    """A key from the row's content and its occurrence among identical rows of this file, so
    that loading the same file again gives the same keys (and adds nothing)."""
    con.execute(f"ALTER TABLE _cx_stage ADD COLUMN {spec.derived_key} VARCHAR")
    con.execute(f"UPDATE _cx_stage SET {spec.derived_key} = k.key FROM ({derived_keys(spec, targets)}) k "
                "WHERE _cx_stage._rn = k._rn")


def derived_keys(spec: schema.Table, targets: list[str]) -> str:
    """SELECT _rn, key FROM _cx_stage: each row's derived key (both engines run this SELECT)."""
    content = "concat_ws(chr(31), " + ", ".join(f"coalesce({quote_ident(t)}, '')" for t in sorted(targets)) + ")"
    prefix = spec.derived_key.removesuffix("_id")
    return (f"SELECT _rn, '{prefix}-' || substr(md5({content}), 1, 16) || '-' "
            f"|| row_number() OVER (PARTITION BY md5({content}) ORDER BY _rn) AS key FROM _cx_stage")


def _add_attribute_columns(con, spec: schema.Table, names: list[str]) -> None:
    existing = {c.lower() for c in table_columns(con, spec.name)}
    for name in names:
        if name.lower() not in existing:
            con.execute(f"ALTER TABLE {spec.name} ADD COLUMN {quote_ident(name)} VARCHAR")


def _declare_metric_scales(con, scales: dict) -> None:
    """Declare survey metrics with their scales; a metric keeps the scale it was declared with."""
    for metric, scale in scales.items():
        name = str(metric).strip().lower()
        try:
            lo, hi = (int(x) for x in (scale.split("-") if isinstance(scale, str) else scale))
        except (TypeError, ValueError):
            raise CxInputError(f"the scale of metric {name!r} must be two whole numbers MIN-MAX, got {scale!r}") from None
        if not name or lo >= hi:
            raise CxInputError(f"metric {name!r}: the scale's minimum must be below its maximum, got {lo}-{hi}")
        known = con.execute("SELECT scale_min, scale_max FROM survey_metrics WHERE metric = ?", [name]).fetchone()
        if known and tuple(known) != (lo, hi):
            raise CxInputError(f"metric {name!r} already has the scale {known[0]}-{known[1]}; it cannot become {lo}-{hi}")
        con.execute("INSERT OR IGNORE INTO survey_metrics VALUES (?, ?, ?)", [name, lo, hi])


# --------------------------------------------------------------------------- writing


def _add_customers(con, spec: schema.Table, load_id: int) -> int:
    """Create the customers this load names that are not in the store (signup_at: first seen)."""
    con.execute(f"CREATE TEMP TABLE _cx_new_customers AS {new_customers(spec)}")
    try:
        con.execute("INSERT INTO customers (customer_id, signup_at) SELECT customer_id, first_seen FROM _cx_new_customers")
        con.execute("INSERT INTO added_customers SELECT customer_id, ? FROM _cx_new_customers", [load_id])
        con.execute("INSERT OR IGNORE INTO first_sight SELECT customer_id FROM _cx_new_customers")
        return con.execute("SELECT count(*) FROM _cx_new_customers").fetchone()[0]
    finally:
        con.execute("DROP TABLE _cx_new_customers")


def new_customers(spec: schema.Table) -> str:
    """SELECT customer_id, first_seen: the customers the accepted rows of _cx_typed name that the
    store lacks, first seen at their earliest time in this load (both engines run this SELECT)."""
    first = FIRST_SEEN[spec.name]
    return (f"SELECT customer_id, min({quote_ident(first)}) AS first_seen FROM _cx_typed WHERE _reason IS NULL "
            "AND customer_id NOT IN (SELECT customer_id FROM customers) GROUP BY customer_id")


def _write(con, spec: schema.Table, targets: list[str], load_id: int) -> dict:
    """Insert new rows; with update, replace changed ones (their previous version to history)."""
    if spec.name == "touchpoint_stages":
        con.execute("DELETE FROM touchpoint_stages")
    stored = {c.lower() for c in table_columns(con, spec.name)}  # DuckDB's names are case-insensitive
    cols = [c for c in spec.names + [t for t in targets if t not in spec.accepted] if c.lower() in stored]
    if spec.properties:
        cols.append("properties")
    select = ", ".join("_props" if c == "properties" else quote_ident(c) for c in cols)
    col_list = ", ".join(quote_ident(c) for c in cols)
    con.execute(f"INSERT INTO {spec.name} ({col_list}) SELECT {select} FROM _cx_typed WHERE _reason IS NULL "
                "AND NOT _existing")
    counts = {"inserted": con.execute("SELECT count(*) FROM _cx_typed WHERE _reason IS NULL AND NOT _existing")
              .fetchone()[0], "updated": 0, "unchanged": 0}
    if con.execute("SELECT count(*) FROM _cx_typed WHERE _existing").fetchone()[0]:
        counts.update(_upsert(con, spec, [c for c in cols if c in targets or c == "properties"], load_id))
    return counts


def _upsert(con, spec: schema.Table, cols: list[str], load_id: int) -> dict:
    """Replace the stored rows that differ in a column the file gives; keep their previous version."""
    same = " AND ".join(f"t.{quote_ident(k)} = u.{quote_ident(k)}" for k in spec.key)
    values = {c: ("u._props" if c == "properties" else f"u.{quote_ident(c)}") for c in cols if c not in spec.key}
    differs = " OR ".join(f"t.{quote_ident(c)} IS DISTINCT FROM {v}" for c, v in values.items()) or "false"
    key_text = " || '|' || ".join(f"CAST(t.{quote_ident(k)} AS VARCHAR)" for k in spec.key)
    con.execute(f"""CREATE TEMP TABLE _cx_changed AS SELECT u._rn FROM _cx_typed u JOIN {spec.name} t ON {same}
                    WHERE u._existing AND ({differs})""")
    try:
        changed = con.execute("SELECT count(*) FROM _cx_changed").fetchone()[0]
        existing = con.execute("SELECT count(*) FROM _cx_typed WHERE _existing").fetchone()[0]
        con.execute(f"""INSERT INTO history SELECT $load_id, $table, {key_text}, now()::TIMESTAMP, to_json(t)
                        FROM {spec.name} t JOIN _cx_typed u ON {same} WHERE u._rn IN (SELECT _rn FROM _cx_changed)""",
                    {"load_id": load_id, "table": spec.name})
        if values:
            assign = ", ".join(f"{quote_ident(c)} = {v}" for c, v in values.items())
            con.execute(f"UPDATE {spec.name} AS t SET {assign} FROM _cx_typed u "
                        f"WHERE {same} AND u._rn IN (SELECT _rn FROM _cx_changed)")
    finally:
        con.execute("DROP TABLE _cx_changed")
    return {"updated": changed, "unchanged": existing - changed}


def _write_rejects(con, spec: schema.Table, src: Source, targets: list[str], load_id: int) -> None:
    raw_json = ("CAST(to_json(struct_pack(" + ", ".join(f"{quote_ident(t)} := s.{quote_ident(t)}" for t in targets)
                + ")) AS VARCHAR)")
    con.execute(
        f"""INSERT INTO rejects
           SELECT $load_id, $table, $source, t._line, t._column, t._reason, {raw_json}
           FROM _cx_typed t JOIN _cx_stage s USING (_rn) WHERE t._reason IS NOT NULL
           UNION ALL
           SELECT $load_id, $table, $source, line, NULL, 'malformed line: ' || reason, raw FROM _cx_structural""",
        {"load_id": load_id, "table": spec.name, "source": src.label},
    )


def _log(con, spec, src: Source, opts: LoadOptions, load_id, started, counts, added, orphans, extras) -> LoadReport:
    loaded = counts["inserted"] + counts["updated"] + counts["unchanged"]
    rejected = con.execute("SELECT count(*) FROM rejects WHERE load_id = ?", [load_id]).fetchone()[0]
    read = con.execute("SELECT count(*) FROM _cx_typed").fetchone()[0] + src.structural
    options = {k: v for k, v in opts.__dict__.items() if v not in (None, {}, (), False, 0) and k not in
               ("timezone", "date_format")}
    con.execute(
        "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, spec.name, src.label, started, datetime.now(tz.utc).replace(tzinfo=None), read, loaded, rejected,
         opts.timezone, opts.date_format, counts["inserted"], counts["updated"], counts["unchanged"], added,
         json.dumps(options, default=str)],
    )
    if read != loaded + rejected:
        raise CxDataError(f"internal error: read {read} != loaded {loaded} + rejected {rejected}; nothing was loaded")
    kept = tuple(extras) if spec.properties else ()
    return LoadReport(load_id, spec.name, src.label, read, loaded, rejected, counts["inserted"], counts["updated"],
                      counts["unchanged"], added, orphans, kept)


__all__ = ["LoadOptions", "LoadReport", "WHITESPACE", "ingest", "load_options", "map_header"]
