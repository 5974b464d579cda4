"""Ingestion on Spark (cxlib.store.spark_ingest) against ingestion on DuckDB (cxlib.ingest): the same
file gives the same accepted rows and the same rejects (line, column, reason, raw values), every row
read is loaded or rejected, a hostile value stays data, and the translation rules ingestion needs
keep DuckDB's meaning."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from conftest import same

import cxlib
from cxlib.errors import CxInputError
from cxlib.store.spark_ingest import ingest_spark

pytestmark = pytest.mark.spark

HOSTILE = "x' OR '1'='1"

CUSTOMERS = f"""customer_id,signup_at,region
C1,2024-01-01,north
C2,2024-01-02 10:00:00+02:00,south
C3,2024-01-03T08:00Z,"{HOSTILE}"
"""

# One good row or one bad row of each kind the rules catch, with the line of the file in a comment
# of the test below.
ORDERS = """order_id,customer_id,ts,amount,channel
O1,C1,2024-02-01 10:00:00,19.90,web
O2,C2,2024-02-01T10:00+0200,5,app
O3,C1,not a time,10,web
O4,,2024-02-02 10:00,10,web
O5,C1,2024-02-02 10:00,-3,web
O6,C2,03/04/2024,7,web
O1,C2,2024-02-03 10:00,8,web
O7,C9,2024-02-03 10:00,8,web
O8,C1,2024-02-03 10:00,abc,web
O9,C1,1900-01-01 00:00,8,web
O10,C3,"2024-02-04 10:00","8","'); DROP TABLE orders; --"
O11,C1,2024-02-04 10:00,8,web,extra
O12,C1,2024-02-05 10:00 z,1e1,Web
O13,C1,2024-02-05 10:00:00.5+02,inf,web
"""

STAGES = """touchpoint,stage
home,awareness
cart,purchase
help,support
"""

# A generic clickstream export (the clickstream preset): user_id, event, timestamp, and a column
# beyond the schema kept as a property.
CLICKS = """user_id,event,timestamp,page
u1,Home,2024-03-01 09:00:00,/
u1,Cart,2024-03-01 09:05:00,/cart
u2,home,2024-03-02T10:00:00Z,/
u2,home,2024-03-02T10:00:00Z,/
u3,cart,yesterday,/cart
,home,2024-03-03 10:00:00,/
"""

REJECTS = "SELECT line, column_name, reason, raw FROM rejects WHERE table_name = $t ORDER BY line"


def _files(tmp_path):
    for name, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("stages", STAGES), ("clicks", CLICKS)):
        (tmp_path / f"{name}.csv").write_text(text)
    return tmp_path


def _spark_rejects(out, table: str) -> pd.DataFrame:
    con = duckdb.connect()
    return con.execute(f"SELECT line, column_name, reason, raw FROM read_parquet('{out}/rejects/{table}.parquet/*.parquet') "
                       "ORDER BY line").df()


@pytest.fixture(scope="module")
def loads(tmp_path_factory):
    """The same files loaded on DuckDB (a new store) and on Spark (a new lake folder)."""
    files = _files(tmp_path_factory.mktemp("files"))
    db, out = tmp_path_factory.mktemp("duck") / "cx.duckdb", tmp_path_factory.mktemp("lake")
    plan = [("customers", "customers.csv", {}), ("orders", "orders.csv", {}),
            ("touchpoint_stages", "stages.csv", {}), ("events", "clicks.csv", {"preset": "clickstream"})]
    reports = {}
    for table, name, options in plan:
        reports[table] = (cxlib.ingest(files / name, table, db=db, **options),
                          ingest_spark(files / name, table, out=out, **options))
    return files, db, out, reports


@pytest.mark.parametrize("table", ["customers", "orders", "touchpoint_stages", "events"])
def test_the_same_counts_and_every_row_accounted_for(loads, table):
    _, _, _, reports = loads
    duck, spark = reports[table]
    assert (spark.read, spark.loaded, spark.rejected) == (duck.read, duck.loaded, duck.rejected)
    assert spark.read == spark.loaded + spark.rejected
    assert (spark.customers_added, spark.orphans, spark.kept_as_properties) == (
        duck.customers_added, duck.orphans, duck.kept_as_properties)


@pytest.mark.parametrize("table", ["orders", "touchpoint_stages", "events"])
def test_the_same_rejects_with_the_same_reasons(loads, table):
    """orders: line 4 not a timestamp, 5 missing customer_id, 6 negative amount, 7 ambiguous day/month,
    8 key repeated in the file, 9 unknown customer, 10 not a number, 11 before 1970, 13 too many
    fields, 14 offset after a blank (DuckDB: not a timestamp), 15 infinite amount; stages: a stage
    not among the allowed ones; events: a bad time, a repeated event, a missing user."""
    _, db, out, _ = loads
    con = duckdb.connect(str(db), read_only=True)
    try:
        duck = con.execute(REJECTS, {"t": table}).df()
    finally:
        con.close()
    spark = _spark_rejects(out, table)
    same(duck, spark)
    if table == "orders":
        assert list(duck["line"]) == [4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15]


@pytest.mark.parametrize("table, order", [("customers", "customer_id"), ("orders", "order_id"),
                                          ("touchpoint_stages", "touchpoint"), ("events", "customer_id, ts")])
def test_the_same_rows_accepted_and_read_back_on_spark(loads, table, order):
    """The lake folder's config opens as a store on Spark holding what DuckDB's store holds; the
    hostile values (a quote, SQL) are data."""
    _, db, out, _ = loads
    con = duckdb.connect(str(db), read_only=True)
    columns = "customer_id, signup_at, region" if table == "customers" else "* EXCLUDE (properties)" \
        if table != "touchpoint_stages" else "*"
    query = f"SELECT {columns} FROM {table} ORDER BY {order}"
    try:
        duck = con.execute(query).df()
    finally:
        con.close()
    spark = cxlib.connect(out / "cx-spark.yml", engine="spark").execute(query).df()
    same(duck, spark)
    if table == "customers":
        assert HOSTILE in set(spark["region"])
    if table == "orders":
        assert "'); DROP TABLE orders; --" in set(spark["channel"])


def test_clickstream_properties_and_customers_from_first_sight(loads):
    _, _, out, reports = loads
    spark = cxlib.connect(out / "cx-spark.yml", engine="spark")
    props = spark.execute("SELECT touchpoint, properties FROM events ORDER BY ts").fetchall()
    assert props[0] == ("home", '{"page":"/"}')  # lowercase: Home is home
    assert reports["events"][1].customers_added == 2  # u1 and u2; u3's only row is rejected
    assert spark.execute("SELECT count(*) FROM customers WHERE customer_id IN ('u1', 'u2')").fetchone() == (2,)


def test_loading_the_same_file_again_adds_nothing(loads):
    files, _, out, _ = loads
    again = ingest_spark(files / "orders.csv", "orders", out=out)
    assert (again.read, again.loaded) == (14, 0)
    rejects = _spark_rejects(out, "orders")
    assert (rejects["reason"] == "duplicate key: already in the store").sum() == 3


def test_what_does_not_run_on_spark_yet_says_so(loads, tmp_path):
    files, _, _, _ = loads
    with pytest.raises(CxInputError, match="not on Spark yet: date_format"):
        ingest_spark(files / "orders.csv", "orders", out=tmp_path, date_format="%d/%m/%Y")
    with pytest.raises(CxInputError, match="unknown time zone"):
        ingest_spark(files / "orders.csv", "orders", out=tmp_path, timezone="Mars/Olympus")


def test_lookalike_identifiers_are_found_as_on_duckdb(tmp_path):
    """A Cyrillic С imitating C1 is rejected, a full-width ７ is stored as 7: the same on both engines."""
    (tmp_path / "c.csv").write_text("customer_id\nC1\n\u0421\u0031\nC\uff17\n")
    duck = cxlib.ingest(tmp_path / "c.csv", "customers", db=tmp_path / "cx.duckdb")
    spark = ingest_spark(tmp_path / "c.csv", "customers", out=tmp_path / "lake")
    assert (spark.loaded, spark.rejected) == (duck.loaded, duck.rejected) == (2, 1)
    con = duckdb.connect(str(tmp_path / "cx.duckdb"), read_only=True)
    try:
        same(con.execute("SELECT line, column_name, reason FROM rejects ORDER BY line").df(),
             _spark_rejects(tmp_path / "lake", "customers")[["line", "column_name", "reason"]])
        stored = con.execute("SELECT customer_id FROM customers ORDER BY 1").df()
    finally:
        con.close()
    same(stored, cxlib.connect(tmp_path / "lake" / "cx-spark.yml", engine="spark")
         .execute("SELECT customer_id FROM customers ORDER BY 1").df())


# The translation rules ingestion's typing needs (cxlib/sql/spark.py), each on values where
# DuckDB's answer is known: the same query on both engines gives the same rows (a NULL truth value
# as -1, so that frames compare without pandas' NULL-versus-NaN ambiguity).
RULE_CASES = {
    "regexp_full_match": ("SELECT v, coalesce(CAST(regexp_full_match(v, '[+-]?[0-9]{1,9}(\\.0*)?') AS INTEGER), -1) AS m FROM (VALUES ('8'), ('8.0'), "
                          "('8.5'), ('x8'), ('8\n'), (NULL)) t(v) ORDER BY v"),
    "isfinite": ("SELECT v, coalesce(CAST(isfinite(try_cast(v AS DOUBLE)) AS INTEGER), -1) AS f FROM (VALUES ('1.5'), ('inf'), ('-Infinity'), ('nan'), "
                 "('1e1'), (NULL)) t(v) ORDER BY v"),
    "timezone_at_utc": ("SELECT v, timezone('Europe/Berlin', try_cast(v AS TIMESTAMP)) AT TIME ZONE 'UTC' AS utc FROM "
                        "(VALUES ('2024-01-02 10:00:00'), ('2024-07-02T10:00'), ('2024-01-02'), ('2024-03-31 02:30'), "
                        "('2024-02-30 10:00')) t(v) ORDER BY v"),
    "timestamptz_at_utc": ("SELECT v, try_cast(v AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS utc FROM (VALUES "
                           "('2024-02-05 10:00Z'), ('2024-02-05 10:00 Z'), ('2024-02-05 10:00z'), "
                           "('2024-02-05 10:00 +0200'), ('2024-02-05 10:00+02'), ('2024-02-05 10:00:00-0530'), "
                           "('2024-02-05 10:00:00 -05:30'), ('2024-02-05T10:00:00.123456+01:00'), "
                           "('2024-02-30 10:00+00:00'), ('2024-02-05T23:30:00+02:00')) t(v) ORDER BY v"),
}


@pytest.fixture(scope="module")
def bare_spark():
    from cxlib.sql.spark import SparkConnection
    from cxlib.store.spark import SESSION_CONF, spark_session

    session = spark_session().newSession()
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return SparkConnection(session)


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_translation_rules_for_ingestion_keep_duckdbs_meaning(bare_spark, rule):
    query = RULE_CASES[rule]
    duck = duckdb.connect().execute(query).df()
    spark = bare_spark.execute(query).df()
    same(duck, spark)
    assert duck.notna().any().all()  # the cases hold values, not only NULLs


def test_the_offset_rule_reads_the_instant(bare_spark):
    got = bare_spark.execute("SELECT try_cast('2024-02-05T23:30:00+02:00' AS TIMESTAMPTZ) AT TIME ZONE 'UTC'").fetchone()
    assert got == (dt.datetime(2024, 2, 5, 21, 30),)
