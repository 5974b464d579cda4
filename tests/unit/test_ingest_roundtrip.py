"""The sample store survives an export to CSV and Parquet and a re-ingest unchanged.

Sample comments hold commas, quotes, newlines and markup, ids have leading zeros where the
generator makes them, so this checks ingestion against realistic data: every row loads, none is
rejected, and every table is equal, value for value, to the one exported.
"""

from __future__ import annotations

import pytest

import cxlib
from cxlib.store import schema
from cxlib.store.ingest import ingest


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    from cxlib.store.sample import generate

    path = tmp_path_factory.mktemp("rt") / "sample.duckdb"
    generate(path, customers=300, seed=11)
    return path


def table_rows(con, table: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sample_store_round_trips_through_files(small_sample, tmp_path, fmt):
    src = cxlib.connect(small_sample)
    files, expected = {}, {}
    for table in schema.LOAD_ORDER:
        columns = cxlib.store.table_columns(src, table)
        path = tmp_path / f"{table}.{fmt}"
        option = "(HEADER, DELIMITER ',')" if fmt == "csv" else "(FORMAT parquet)"
        src.execute(f"COPY (SELECT * FROM {table}) TO '{path}' {option}")
        files[table] = path
        expected[table] = (columns, table_rows(src, table, columns))
    n_comments = src.execute("SELECT count(*) FROM survey_responses WHERE comment LIKE '%<%' "
                             "OR comment LIKE '%,%' OR comment LIKE '%\"%'").fetchone()[0]
    src.close()
    assert n_comments > 0, "the sample should hold comments with markup, commas or quotes"

    con = cxlib.connect(tmp_path / "copy.duckdb", read_only=False)
    for table in schema.LOAD_ORDER:
        report = ingest(files[table], table, db=con)
        columns, rows = expected[table]
        assert (report.read, report.loaded, report.rejected) == (len(rows), len(rows), 0), (
            table, con.execute(report.rejects_query).fetchall()[:5])
        assert cxlib.store.table_columns(con, table) == columns
        assert table_rows(con, table, columns) == rows, table
    assert con.execute("SELECT count(*) FROM events_ordered").fetchone() == (len(expected["events"][1]),)
    con.close()
