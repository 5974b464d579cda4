"""A store on Spark: the canonical tables where the data is, named in a small config file, and the
derived tables built there by the same SQL as on DuckDB.

The config file (YAML, e.g. ``cx-spark.yml``)::

    master: local[*]            # optional: else CX_SPARK_MASTER, else the session given, else local[*]
    tables:                     # each canonical table: a Parquet or Delta path, or a Spark table
      events: /lake/cx/events/                      # a Parquet file or folder
      customers: analytics.cx_customers             # a table the session's catalog knows
      orders: {path: s3a://lake/cx/orders, format: delta}
    # optional: load_log, survey_metrics, personal_columns (bookkeeping, as `export_parquet` writes)

A table the file does not name is empty (with the canonical columns), so every analysis runs on a
store holding part of the tables and says what it lacks, as on DuckDB. Relative paths are read
from the config file's folder. `export_parquet` writes a DuckDB store's tables and such a file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from cxlib.errors import CxDataError, CxInputError
from cxlib.sql import has_table
from cxlib.sql.spark import SparkConnection
from cxlib.store.schema import (
    ALL_ACTIVE_CUSTOMERS,
    CUSTOMER_ACTIVITY_SELECT,
    EVENTS_ORDERED_SELECT,
    LOAD_ORDER,
    SURVEY_METRICS,
    TABLES,
)

MASTER_VARIABLE = "CX_SPARK_MASTER"
CONFIG_VARIABLE = "CX_SPARK_CONFIG"
BOOKKEEPING = ("load_log", "survey_metrics", "personal_columns")
_SPARK_TYPES = {"id": "string", "text": "string", "timestamp": "timestamp_ntz", "int": "int", "float": "double",
                "bool": "boolean"}


def spark_session(master: str | None = None):
    """A SparkSession for cxlib: UTC, no UI, Arrow transfers, few shuffle partitions in local mode."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise CxInputError("the Spark engine needs PySpark: pip install 'cxlib[spark]' (and Java 17 or newer)") from None
    master = master or os.environ.get(MASTER_VARIABLE) or "local[*]"
    builder = (SparkSession.builder.appName("cxlib").master(master).config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "2g")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # the error is raised; no JSON dump too
    return spark


def read_config(path: str | os.PathLike | None) -> tuple[dict, Path]:
    """The config file's mapping and its folder (CX_SPARK_CONFIG when `path` is None)."""
    config, path = _read_config(path)
    return config, path.parent


def _read_config(path: str | os.PathLike | None) -> tuple[dict, Path]:
    """The config file's mapping and the file's resolved path."""
    path = path or os.environ.get(CONFIG_VARIABLE)
    if path is None:
        raise CxInputError(f"the Spark engine needs a config file naming the tables: pass its path or set {CONFIG_VARIABLE}")
    path = Path(path)
    if not path.is_file():
        raise CxDataError(f"no Spark config file at {path}")
    config = yaml.safe_load(path.read_text()) or {}
    if not isinstance(config, dict) or not isinstance(config.get("tables", {}), dict):
        raise CxInputError(f"{path}: expected 'tables:' mapping each canonical table to a path or a Spark table")
    unknown = set(config.get("tables") or {}) - set(LOAD_ORDER) - set(BOOKKEEPING)
    if unknown:
        raise CxInputError(f"{path}: no canonical table {sorted(unknown)}; the tables are {LOAD_ORDER}")
    return config, path.resolve()


_OPENED: dict[tuple, SparkConnection] = {}  # the last store opened, while its config and files are unchanged


def connect_spark(config: str | os.PathLike | None = None, *, spark=None) -> SparkConnection:
    """A store on Spark, which every public analysis accepts: the tables `config` names as
    temporary views, the missing ones empty, the derived tables built (events_ordered,
    customer_keys, customer_activity).

    Opening the same config again in the same process (a report run reads the store several
    times before its notebooks start) returns the store already built, unless the config file or
    a local file it names has changed since."""
    settings, path = _read_config(config)
    session = spark or spark_session(settings.get("master"))
    key = (str(path), id(session), _stamp(settings, path))
    if key in _OPENED:
        return _OPENED[key]
    _OPENED.clear()
    _OPENED[key] = _build(session, settings, path.parent)
    return _OPENED[key]


def _stamp(settings: dict, config: Path) -> tuple:
    """When the config file and the local files it names last changed."""
    folder, paths = config.parent, [config]
    for source in (settings.get("tables") or {}).values():
        where = source.get("path") if isinstance(source, dict) else str(source)
        where = str(where or "")
        if "://" not in where and ("/" in where or where.endswith((".parquet", ".pq"))):
            paths.append(Path(_resolve(where, folder)))
    return tuple(p.stat().st_mtime_ns if p.exists() else None for p in paths)


# What every store's session needs, whoever made the SparkSession it comes from.
# constraintPropagation off: Spark 4.1 fails ("key not found") planning a union of checkpoints whose
# inferred constraints name columns the checkpoint renamed (a recursive CTE's rounds, cxlib.sql.spark)
SESSION_CONF = {"spark.sql.session.timeZone": "UTC", "spark.sql.timestampType": "TIMESTAMP_NTZ",
                "spark.sql.execution.arrow.pyspark.enabled": "true", "spark.sql.constraintPropagation.enabled": "false"}


def _build(base, settings: dict, folder: Path) -> SparkConnection:
    """The store in a session of its own (`newSession`: its own temporary views and settings, the
    same Spark context), so two stores opened in one process never see each other's tables."""
    session = base.newSession()
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    con = SparkConnection(session)
    named = settings.get("tables") or {}
    for name in LOAD_ORDER:
        frame = _read(session, named[name], folder) if name in named else _empty(session, name)
        _canonical(frame, name).createOrReplaceTempView(name)
    for name in BOOKKEEPING:
        if name in named:
            _read(session, named[name], folder).createOrReplaceTempView(name)
    if "survey_metrics" not in named:
        session.createDataFrame([(m, lo, hi) for m, (lo, hi) in SURVEY_METRICS.items()],
                                "metric string, scale_min int, scale_max int").createOrReplaceTempView("survey_metrics")
    refresh_derived(con)
    return con


def refresh_derived(con: SparkConnection) -> None:
    """The derived tables, from the same SELECTs as the DuckDB store's (cxlib.store.schema)."""
    con.execute("CREATE OR REPLACE TABLE customer_keys AS SELECT customer_id, row_number() OVER (ORDER BY customer_id) "
                f"AS cid FROM ({ALL_ACTIVE_CUSTOMERS})")
    con.execute("CREATE OR REPLACE TABLE events_ordered AS" + EVENTS_ORDERED_SELECT.format(scope="TRUE"))
    con.execute("CREATE OR REPLACE TABLE customer_activity AS" + CUSTOMER_ACTIVITY_SELECT.format(scope="TRUE"))


def _read(session, source, folder: Path):
    if isinstance(source, dict):
        fmt, where = source.get("format", "parquet"), source.get("path")
        if where is None:
            raise CxInputError(f"a table given as a mapping needs 'path': {source}")
        return session.read.format(fmt).load(_resolve(where, folder))
    source = str(source)
    if "/" in source or source.endswith((".parquet", ".pq")):
        return session.read.parquet(_resolve(source, folder))
    return session.table(source)


def _resolve(where: str, folder: Path) -> str:
    if "://" in where or Path(where).is_absolute():
        return where
    return str(folder / where)


def _columns(name: str) -> list[tuple[str, str]]:
    t = TABLES[name]
    cols = [(c.name, _SPARK_TYPES[c.kind]) for c in t.columns if not c.virtual]
    return cols + ([("properties", "string")] if t.properties else [])


def _empty(session, name: str):
    return session.createDataFrame([], ", ".join(f"`{c}` {kind}" for c, kind in _columns(name)))


def _canonical(frame, name: str):
    """The table with its canonical columns in their types (further customer columns kept as they are)."""
    from pyspark.sql import functions as F

    have = set(frame.columns)
    missing = [c for c, _ in _columns(name) if c not in have and c != "properties"]
    if missing:
        raise CxDataError(f"Spark table {name} lacks the columns {missing}")
    typed = [F.col(f"`{c}`").cast(kind).alias(c) if c in have else F.lit(None).cast(kind).alias(c)
             for c, kind in _columns(name)]
    extra = [F.col(f"`{c}`") for c in frame.columns if c not in dict(_columns(name))] if TABLES[name].extra_columns else []
    return frame.select(*typed, *extra)


def export_parquet(con, folder: str | os.PathLike) -> Path:
    """Write a DuckDB store's tables as Parquet files in `folder`, with a config file naming them
    (``cx-spark.yml``); returns the config file's path. Empty tables are left out (they read as empty)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name in (*LOAD_ORDER, *BOOKKEEPING):
        if not has_table(con, name):  # a store from before a bookkeeping table
            continue
        rows = con.sql(f'SELECT * FROM "{name}"').to_arrow_table()  # our own table names (LOAD_ORDER, BOOKKEEPING)
        if rows.num_rows:
            pq.write_table(rows, folder / f"{name}.parquet")
            tables[name] = f"{name}.parquet"
    config = folder / "cx-spark.yml"
    config.write_text(yaml.safe_dump({"tables": tables}, sort_keys=False))
    return config
