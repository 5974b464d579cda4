"""The store layer: the DuckDB file, its schema, ingestion and the sample data.

Owns: ``connection`` (connect, schema creation, derived tables, as-of date), ``schema`` (the one
description of every table), ``ingest`` (files and DataFrames into the schema, with rejects),
``sample`` (the seeded synthetic store with planted effects).
May import: ``cxlib.errors``, ``cxlib.locations`` and ``cxlib.sql``'s identifier quoting; never an
analysis, chart, report or explore module. See docs/architecture.md.
"""

from cxlib.store.connection import (
    DEFAULT_DB,
    STAGE_MAP,
    as_of,
    connect,
    default_path,
    init_schema,
    refresh_derived,
    table_columns,
)

__all__ = ["DEFAULT_DB", "STAGE_MAP", "as_of", "connect", "default_path", "init_schema", "refresh_derived", "table_columns"]
