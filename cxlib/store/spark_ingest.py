"""Ingestion on Spark: a file Spark can read into a store on Spark, validated by the same rules.

`ingest_spark` reads a CSV or Parquet file (or folder) as text columns into Spark, then runs the
SQL that types and checks every row on DuckDB (`cxlib.store.validate.build_typed`, the rules of
`cxlib.store.schema`; the rows already in the store and unknown customers by the same
`validate.Mark` definitions), transpiled for Spark by `cxlib.sql.spark.SparkConnection`. It
writes the accepted rows to ``OUT/<table>.parquet`` (a Parquet folder, appended to on each
load), the rejected ones with line, column and reason to ``OUT/rejects/<table>.parquet``, a row
per load to ``OUT/load_log.parquet``, and names the tables in ``OUT/cx-spark.yml``, so that
``cxlib.connect(OUT / "cx-spark.yml", engine="spark")`` reads them. As on DuckDB, every row read
is loaded or rejected: ``read == loaded + rejected``.

What runs here as on DuckDB: the header check and mapping, presets, constants, lowercase,
derived keys (orders, answers, tickets without their id), every per-value and cross-column rule
(missing, wrong kind, ambiguous day/month dates, NUL bytes, the plausible time window, minimums,
allowed values, resolved before opened, survey metrics and scales), keys repeated in the file or
already in the store, unknown customers and ``add_customers`` (the customers a file names are
created from first sight), look-alike identifiers (`validate.mark_lookalikes`: the distinct
values outside ASCII are judged in Python, the rows marked on Spark), ISO timestamps with or
without an offset, read in ``timezone``.

What does not run on Spark yet, and fails with a CxInputError naming it rather than loading
differently: ``date_format`` (strptime and epoch numbers), ``update``, ``wide`` survey exports,
``metric_scales``, subscriptions given by ``tenure``, JSON-lines and whitespace-separated files,
a column mapped to ``properties``, and DataFrames (load them into DuckDB). Differences that
remain, said here rather than hidden:

- Properties (the columns beyond the schema on events, orders, ...) are kept as a JSON object
  of text values; a value holding a JSON object stays text, not nested as on DuckDB.
- A malformed CSV line is found by Spark's parser; its reason names the fields it has (too many
  or too few), or says the line could not be read. A CSV is read whole by one task per file
  (quoted values may span lines); split big inputs into files, or use Parquet.
- A naive time in a daylight-saving fold may be read at the zone's first (summer) offset (Java's
  rule), where DuckDB takes the standard-time one (not checked by a test yet).
- A load is not one transaction: the files are written after every row has been checked and
  counted, accepted rows first, then rejects, the load log and the config file.
- A customers file cannot complete customers created from first sight (on DuckDB it does): it
  rejects them as already in the store.
"""

from __future__ import annotations

import csv
import json
import os
import zoneinfo
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from cxlib.errors import CxDataError, CxInputError
from cxlib.sql.spark import SparkConnection
from cxlib.store import schema
from cxlib.store.ingest import (
    LoadReport,
    _day,
    _with_preset_constants,
    derived_keys,
    load_options,
    map_header,
    new_customers,
)
from cxlib.store.sources import CSV_SUFFIXES, ENCODINGS, PARQUET_SUFFIXES, Source, _first_line, _header_names
from cxlib.store.spark import SESSION_CONF, _canonical, _columns, _empty, _read, read_config, spark_session
from cxlib.store.validate import (
    ORPHAN,
    Mark,
    Typing,
    build_typed,
    derives_end,
    derives_start,
    mark_lookalikes,
    stored_duplicate,
)

CONFIG = "cx-spark.yml"


@dataclass(frozen=True)
class SparkLoadReport(LoadReport):
    """A LoadReport of a load on Spark; its rejects are in the Parquet folder `rejects_path`."""

    rejects_path: str = ""

    @property
    def rejects_query(self) -> str:
        return f"SELECT * FROM parquet.`{self.rejects_path}` WHERE load_id = {self.load_id} ORDER BY line"


def ingest_spark(source: str | os.PathLike, table: str, *, out: str | os.PathLike, spark=None,
                 preset: str | os.PathLike | None = None, **options) -> SparkLoadReport:
    """Load `source` (a CSV or Parquet path Spark can read) into `table` of the store on Spark in
    folder `out`, validated by the same rules as `cxlib.ingest`; return the counts.

    Definition: every row read is loaded (written to ``out/<table>.parquet``) or rejected (written
    to ``out/rejects/<table>.parquet`` with its line, column and reason): read = loaded + rejected.
    `spark` is a SparkSession or a SparkConnection whose session to use (default: a local one, or
    ``CX_SPARK_MASTER``); the store is the tables ``out/cx-spark.yml`` names (rows already there
    are duplicates; its customers are the known ones). `preset` and `options` are `ingest`'s; see
    the module docstring for those that do not run on Spark yet.

    >>> ingest_spark("events.csv", "events", out="lake/cx", preset="clickstream")  # doctest: +SKIP
    """
    spec = schema.table(table)
    opts = load_options(spec, preset, options)
    _check_supported(spec, opts, source)
    opts = replace(opts, timezone=_zone(opts.timezone))
    out = Path(out)
    started = datetime.now(UTC).replace(tzinfo=None)
    base = spark.spark if isinstance(spark, SparkConnection) else (spark or spark_session())
    session = base.newSession()  # its own temporary views: _cx_* never meet another store's
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    con = SparkConnection(session)
    settings = _store(session, out, spec)
    src, frame = _read_source(session, source, opts)
    opts = _with_preset_constants(spec, src, opts)
    pairs, extras = map_header(None, spec, src, opts)
    if any(d == "properties" for _, d in pairs):
        raise CxInputError("a column mapped to 'properties' is not read on Spark yet: load the file with cxlib.ingest")
    if derives_start(spec, [d for _, d in pairs]) or derives_end(spec, [d for _, d in pairs]):
        raise CxInputError("not on Spark yet: subscriptions given by tenure or churned. Load this file with "
                           "cxlib.ingest (DuckDB), then export the store with cxlib.store.spark.export_parquet")
    targets = _stage(con, spec, src, opts, frame, pairs, extras)
    typing = Typing(opts.timezone, opts.date_format, opts.lowercase, None, opts.tenure_unit,
                    _day(opts.earliest, "earliest") or datetime(1970, 1, 1),
                    _day(opts.latest, "latest") or started + timedelta(days=1))
    build_typed(con, spec, targets, typing)
    _with_existing(con)
    mark_lookalikes(con, spec, apply=_apply, rename=_rename)
    if spec.name != "touchpoint_stages":  # a stage map replaces the stored one
        _apply(con, stored_duplicate(spec))
    load_id = _next_load_id(con, settings)
    added = _add_customers(con, spec, out, settings) if spec.references_customers and opts.add_customers else 0
    if spec.references_customers:
        _apply(con, ORPHAN)
    return _write(con, spec, src, opts, out, settings, targets, extras, load_id, started, added)


# --------------------------------------------------------------------------- what runs here


def _check_supported(spec: schema.Table, opts, source) -> None:
    not_yet = [name for name, used in (
        ("date_format", opts.date_format is not None), ("update", opts.update), ("wide", opts.wide is not None),
        ("metric_scales", bool(opts.metric_scales)), ("tenure (subscriptions without started_at)", opts.as_of is not None),
        ("delimiter='whitespace'", opts.delimiter == "whitespace")) if used]
    if not isinstance(source, (str, os.PathLike)):
        not_yet.append("a DataFrame source")
    elif not str(source).lower().rstrip("/").endswith(CSV_SUFFIXES + PARQUET_SUFFIXES) and not Path(source).is_dir():
        not_yet.append(f"the file type of {Path(source).name} (Spark reads .csv/.tsv/.txt and Parquet here)")
    if not_yet:
        raise CxInputError(f"not on Spark yet: {', '.join(not_yet)}. Load this file with cxlib.ingest (DuckDB), "
                           "then export the store with cxlib.store.spark.export_parquet")


def _zone(name: str) -> str:
    """The zone's IANA spelling ('utc' -> 'UTC'), or a CxInputError (DuckDB's check, by Python's list)."""
    found = sorted(z for z in zoneinfo.available_timezones() | {"UTC"} if z.lower() == str(name).lower())
    if not found:
        raise CxInputError(f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'")
    return found[0]


# --------------------------------------------------------------------------- the store


def _store(session, out: Path, spec: schema.Table) -> dict:
    """The config's settings; registers customers, the loaded table, survey_metrics and load_log."""
    config = out / CONFIG
    settings, folder = read_config(config) if config.exists() else ({"tables": {}}, out)
    named = settings.setdefault("tables", {}) or {}
    settings["tables"] = named
    ours = f"{spec.name}.parquet"
    if spec.name in named and named[spec.name] != ours:
        raise CxInputError(f"{config} names {spec.name} as {named[spec.name]!r}; Spark ingestion writes {ours} in "
                           f"{out}: use another folder, or point the config at {ours}")
    for name in {"customers", spec.name}:
        frame = _read(session, named[name], folder) if name in named else _empty(session, name)
        _canonical(frame, name).createOrReplaceTempView(name)
    for name in ("survey_metrics", "load_log"):
        if name in named:
            _read(session, named[name], folder).createOrReplaceTempView(name)
    if "survey_metrics" not in named:
        session.createDataFrame([(m, lo, hi) for m, (lo, hi) in schema.SURVEY_METRICS.items()],
                                "metric string, scale_min int, scale_max int").createOrReplaceTempView("survey_metrics")
    return settings


def _next_load_id(con: SparkConnection, settings: dict) -> int:
    if "load_log" not in settings["tables"]:
        return 1
    return _count(con, "SELECT coalesce(max(load_id), 0) + 1 FROM load_log")


def _count(con: SparkConnection, query: str) -> int:
    return int(con.execute(query).fetchone()[0])


# --------------------------------------------------------------------------- reading


def _read_source(session, source, opts) -> tuple[Source, object]:
    """The source as a Spark frame: _file, _rn (unique, in file order), _line (each record's line
    in its file, header included), _bad
    (the raw text of a line Spark could not split, else NULL) and the columns as text."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    path = str(source)
    if not Path(path).exists() and "://" not in path:
        raise CxInputError(f"no such file: {path}")
    header_lines = 1
    if path.lower().rstrip("/").endswith(PARQUET_SUFFIXES) or Path(path).is_dir():
        raw = session.read.parquet(path)
        names = list(raw.columns)
        raw = raw.select(*[F.col(f"`{n}`").cast("string").alias(n) for n in names], F.lit(None).cast("string").alias("_bad"))
    else:
        enc = ENCODINGS.get(opts.encoding.lower())
        if enc is None:
            raise CxInputError(f"unknown encoding {opts.encoding!r}; use one of {sorted(set(ENCODINGS.values()))}")
        delimiter = opts.delimiter or ("\t" if path.lower().endswith((".tsv", ".tsv.gz")) else None)
        first, delimiter = _first_line(Path(path), enc, delimiter)
        if opts.columns:
            names, header = list(opts.columns), False
        else:
            names, header = _header_names(first, delimiter, path), True
        header_lines = int(header) + opts.skip_rows
        fields = StructType([StructField(n, StringType()) for n in names] + [StructField("_bad", StringType())])
        raw = session.read.csv(path, schema=fields, header=header, sep=delimiter, quote='"', escape='"',
                               multiLine=True, mode="PERMISSIVE", columnNameOfCorruptRecord="_bad", encoding=enc,
                               enforceSchema=True, ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False)
    # A record's number in its file: Spark keeps a file's records in order within and across its
    # partitions, so the increasing id orders them.
    numbered = raw.select("*", F.col("_metadata.file_path").alias("_file"),
                          F.monotonically_increasing_id().alias("_order")).localCheckpoint(eager=True)
    rn = F.row_number().over(Window.partitionBy("_file").orderBy("_order"))
    frame = (numbered.withColumn("_n", rn).where(F.col("_n") > opts.skip_rows)
             .withColumn("_line", F.col("_n") - opts.skip_rows + header_lines).drop("_n")
             .withColumnRenamed("_order", "_rn").cache())
    return Source(path, names, 0, header_lines=header_lines, rn_is_line=True), frame


def _malformed(raw: str | None, delimiter: str, expected: int) -> str:
    found = len(next(csv.reader([(raw or "").rstrip("\r\n")], delimiter=delimiter), []))
    if found != expected:
        return f"{'too many' if found > expected else 'too few'} fields: expected {expected}, found {found}"
    return "could not be read as a record of the header's columns (a quote not closed?)"


# --------------------------------------------------------------------------- staging


def _stage(con: SparkConnection, spec, src: Source, opts, frame, pairs, extras) -> list[str]:
    """_cx_stage(_rn, _line, <target columns as text>, _props) and _cx_structural(line, raw,
    reason, file), as ingest's staging makes them; returns the target columns."""
    from pyspark.sql import functions as F

    good = frame.where(F.col("_bad").isNull())
    cols = [F.col(f"`{s}`").cast("string").alias(d) for s, d in pairs
            if d != "properties" and (d not in extras or spec.extra_columns)]
    cols += [F.lit(str(v)).alias(k.strip().lower()) for k, v in opts.constants.items()]
    kept = [(s, d) for s, d in pairs if d in extras] if spec.properties else []
    props = F.lit(None).cast("string")
    if kept:
        values = F.map_filter(F.create_map(*[x for s, d in kept for x in
                                             (F.lit(d), F.nullif(F.trim(F.col(f"`{s}`")), F.lit("")))]),
                              lambda k, v: v.isNotNull())
        props = F.when(F.size(values) > 0, F.to_json(values))
    staged = good.select("_rn", "_line", "_file", *cols, props.alias("_props"))
    staged.localCheckpoint(eager=True).createOrReplaceTempView("_cx_stage")
    targets = [c for c in staged.columns if not c.startswith("_")]
    if spec.derived_key and spec.derived_key not in targets:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_stage AS SELECT s.*, k.key AS {spec.derived_key} "
                    f"FROM _cx_stage s JOIN ({derived_keys(spec, targets)}) k ON k._rn = s._rn")
        targets.append(spec.derived_key)
    bad = frame.where(F.col("_bad").isNotNull()).orderBy("_rn").select("_line", "_bad", "_file").collect()
    delimiter = _first_line(Path(src.label), "utf-8", opts.delimiter)[1] if bad else ","
    rows = [(r["_line"], r["_bad"], "malformed line: " + _malformed(r["_bad"], delimiter, len(src.columns)),
             r["_file"]) for r in bad]
    con.spark.createDataFrame(rows, "line bigint, raw string, reason string, file string") \
        .createOrReplaceTempView("_cx_structural")
    return targets


# --------------------------------------------------------------------------- the marks


def _with_existing(con: SparkConnection) -> None:
    """_cx_typed gains _existing (false: updates do not run on Spark), as mark_duplicates adds it."""
    con.execute("CREATE OR REPLACE TEMP TABLE _cx_typed AS SELECT *, false AS _existing FROM _cx_typed")


def _apply(con: SparkConnection, mark: Mark) -> None:
    """Reject the rows `mark` finds: _cx_typed rebuilt with their column and reason (DuckDB
    updates it in place: validate.apply_mark)."""
    cols = [c for c in con.table_columns("_cx_typed") if c not in ("_column", "_reason")]
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cx_typed AS
            SELECT {', '.join(_q(c) for c in cols)},
                   CASE WHEN {mark.condition} THEN {mark.column} ELSE _column END AS _column,
                   CASE WHEN {mark.condition} THEN {mark.reason} ELSE _reason END AS _reason
            FROM _cx_typed""", mark.params or None)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rename(con: SparkConnection, column: str, raw: str, normal: str) -> None:
    """Store `raw` as `normal` in `column` of the accepted rows (validate.mark_lookalikes on Spark)."""
    cols = [c for c in con.table_columns("_cx_typed")]
    con.execute("CREATE OR REPLACE TEMP TABLE _cx_typed AS SELECT " + ", ".join(
        f"CASE WHEN {_q(c)} = $r AND _reason IS NULL THEN $n ELSE {_q(c)} END AS {_q(c)}" if c == column else _q(c)
        for c in cols) + " FROM _cx_typed", {"r": raw, "n": normal})


def _add_customers(con: SparkConnection, spec: schema.Table, out: Path, settings: dict) -> int:
    """Create the customers the accepted rows name that the store lacks (signup_at: first seen),
    appended to out/customers.parquet; returns how many."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_new_customers AS {new_customers(spec)}")
    added = _count(con, "SELECT count(*) FROM _cx_new_customers")
    if added:
        from pyspark.sql import functions as F

        # In the columns the stored customers have (their attributes empty): one schema per folder
        known = con.spark.table("customers")
        rows = con.spark.sql("SELECT customer_id, first_seen AS signup_at FROM _cx_new_customers")
        rows = rows.select(*[F.col(f.name) if f.name in rows.columns else F.lit(None).cast(f.dataType).alias(f.name)
                             for f in known.schema.fields])
        rows.write.mode("append").parquet(str(out / "customers.parquet"))
        settings["tables"]["customers"] = "customers.parquet"
        known.unionByName(rows).localCheckpoint(eager=True).createOrReplaceTempView("customers")
    return added


# --------------------------------------------------------------------------- writing


def _write(con: SparkConnection, spec, src: Source, opts, out: Path, settings: dict, targets, extras, load_id,
           started, added) -> SparkLoadReport:
    from pyspark.sql import functions as F

    session = con.spark
    typed = session.table("_cx_typed")
    structural = session.table("_cx_structural").count()
    rows, loaded, orphans = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE _reason IS NULL), "
        "count(*) FILTER (WHERE _reason LIKE 'unknown customer_id %') FROM _cx_typed").fetchone()
    read, rejected = rows + structural, rows - loaded + structural
    if read != loaded + rejected:
        raise CxDataError(f"internal error: read {read} != loaded {loaded} + rejected {rejected}; nothing was loaded")
    out.mkdir(parents=True, exist_ok=True)
    # Accepted rows, in the canonical columns and types (customers keep their further columns as text).
    names = [c for c, _ in _columns(spec.name)]
    accepted = typed.where(F.col("_reason").isNull()).withColumn("properties", F.col("_props"))
    more = [F.col(f"`{t}`").cast("string") for t in targets if t not in spec.accepted] if spec.extra_columns else []
    rows = _canonical(accepted.select(*[F.col(f"`{c}`") for c in names if c in accepted.columns], *more), spec.name)
    mode = "overwrite" if spec.name == "touchpoint_stages" else "append"
    rows.write.mode(mode).parquet(str(out / f"{spec.name}.parquet"))
    # Rejects: each row's staged values as JSON (nulls kept, as DuckDB's to_json does).
    one_file = Path(src.label).is_file()
    stage = session.table("_cx_stage")
    raw = F.to_json(F.struct(*[F.col(f"`{t}`") for t in targets]), {"ignoreNullFields": "false"})
    label = F.lit(src.label) if one_file else F.col("_file")
    bad = (typed.where(F.col("_reason").isNotNull()).select("_rn", "_line", "_column", "_reason")
           .join(stage.select("_rn", "_file", raw.alias("raw")), "_rn")
           .select(F.lit(load_id).alias("load_id"), F.lit(spec.name).alias("table_name"), label.alias("source"),
                   F.col("_line").cast("long").alias("line"), F.col("_column").alias("column_name"),
                   F.col("_reason").alias("reason"), "raw"))
    lines = session.table("_cx_structural").select(
        F.lit(load_id).alias("load_id"), F.lit(spec.name).alias("table_name"),
        (F.lit(src.label) if one_file else F.col("file")).alias("source"), "line", F.lit(None).cast("string")
        .alias("column_name"), "reason", "raw")
    rejects_path = out / "rejects" / f"{spec.name}.parquet"
    bad.unionByName(lines).write.mode("append").parquet(str(rejects_path))
    # The load log, then the config naming every table written.
    options = {k: v for k, v in opts.__dict__.items() if v not in (None, {}, (), False, 0) and k not in
               ("timezone", "date_format")}
    log = [(load_id, spec.name, src.label, started, datetime.now(UTC).replace(tzinfo=None), read, loaded, rejected,
            opts.timezone, opts.date_format, loaded, 0, 0, added, json.dumps(options, default=str))]
    session.createDataFrame(log, "load_id int, table_name string, source string, started_at timestamp_ntz, "
                            "finished_at timestamp_ntz, read bigint, loaded bigint, rejected bigint, timezone string, "
                            "date_format string, inserted bigint, updated bigint, unchanged bigint, "
                            "customers_added bigint, options string").write.mode("append").parquet(
        str(out / "load_log.parquet"))
    settings["tables"].update({spec.name: f"{spec.name}.parquet", "load_log": "load_log.parquet"})
    (out / CONFIG).write_text(yaml.safe_dump(settings, sort_keys=False))
    kept = tuple(extras) if spec.properties else ()
    return SparkLoadReport(load_id, spec.name, src.label, read, loaded, rejected, loaded, 0, 0, added, orphans, kept,
                           rejects_path=str(rejects_path))


__all__ = ["SparkLoadReport", "ingest_spark"]
