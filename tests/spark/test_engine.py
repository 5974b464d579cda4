"""The Spark engine's seam: DuckDB SQL runs on Spark with its values bound, the store on Spark
holds the same tables as the DuckDB store it was exported from, and a store missing tables reads
them as empty."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import same

import cxlib
from cxlib.errors import CxInputError
from cxlib.sql.spark import translate

pytestmark = pytest.mark.spark


def test_parameters_are_bound_never_pasted(spark_con):
    hostile = "x' OR '1'='1"
    got = spark_con.execute("SELECT count(*) FROM customers WHERE customer_id = $id", {"id": hostile}).fetchone()
    assert got == (0,)
    (text, names), = [(s[1], s[2]) for s in translate("SELECT count(*) FROM customers WHERE customer_id = $id")]
    assert ":id" in text and hostile not in text and names == ("id",)


def test_positional_parameters_none_and_timestamps(spark_con):
    row = spark_con.execute("SELECT ? IS NULL, CAST(? AS TIMESTAMP) < TIMESTAMP '2030-01-01'",
                            [None, pd.Timestamp("2025-01-01")]).fetchone()
    assert row == (True, True)


def test_a_missing_parameter_is_named(spark_con):
    with pytest.raises(CxInputError, match="start"):
        spark_con.execute("SELECT count(*) FROM events WHERE ts >= $start", {})


def test_temp_tables_become_views_and_drop(spark_con):
    spark_con.execute("CREATE OR REPLACE TEMP TABLE _t AS SELECT customer_id FROM customers WHERE customer_id = $c",
                      {"c": "nobody"})
    assert spark_con.execute("SELECT count(*) FROM _t").fetchone() == (0,)
    spark_con.execute("DROP TABLE IF EXISTS _t")
    assert cxlib.sql.table_columns(spark_con, "_t") == []


@pytest.mark.parametrize("table", ["customers", "events", "survey_responses", "orders", "tickets", "subscriptions",
                                   "events_ordered", "customer_activity"])
def test_every_table_holds_what_duckdb_holds(sample_con, spark_con, table):
    count = f"SELECT count(*) FROM {table}"
    assert sample_con.execute(count).fetchone() == spark_con.execute(count).fetchone()
    assert cxlib.sql.table_columns(sample_con, table) == cxlib.sql.table_columns(spark_con, table)


def test_events_ordered_is_built_by_the_same_select(sample_con, spark_con):
    """Same order, neighbours and first-pair flags per customer (the integer key cid may differ)."""
    q = ("SELECT customer_id, seq, touchpoint, next_touchpoint, prev_ts, first_pair, first_stage_source "
         "FROM events_ordered ORDER BY customer_id, seq")
    same(sample_con.execute(q).df(), spark_con.execute(q).df())


def test_as_of_and_a_metric_agree(sample_con, spark_con):
    assert cxlib.as_of(sample_con) == cxlib.as_of(spark_con)
    same(cxlib.nps(sample_con), cxlib.nps(spark_con))


def test_a_store_with_only_events(spark_config, tmp_path, sample_con):
    """The config names events only: every other table reads as empty with its columns."""
    import shutil

    shutil.copy(spark_config.parent / "events.parquet", tmp_path / "events.parquet")
    config = tmp_path / "cx-spark.yml"
    config.write_text("tables:\n  events: events.parquet\n")
    con = cxlib.connect(config, engine="spark", spark=None)
    assert con.execute("SELECT count(*) FROM survey_responses").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM events").fetchone() == sample_con.execute(
        "SELECT count(*) FROM events").fetchone()
    assert cxlib.as_of(con) == sample_con.execute("SELECT max(ts) FROM events").fetchone()[0]


def test_config_errors_are_plain(tmp_path):
    bad = tmp_path / "cx-spark.yml"
    bad.write_text("tables:\n  clicks: x.parquet\n")
    with pytest.raises(CxInputError, match="no canonical table"):
        cxlib.connect(bad, engine="spark")
    with pytest.raises(CxInputError, match="no engine"):
        cxlib.connect(bad, engine="oracle")


def test_timestamps_come_back_naive_utc(spark_con):
    got = spark_con.execute("SELECT CAST($t AS TIMESTAMP) AS t", {"t": dt.datetime(2025, 3, 1, 12, 30)}).df()
    assert got["t"].iloc[0] == pd.Timestamp("2025-03-01 12:30")


def test_duckdb_functions_without_a_spark_namesake_keep_their_meaning(spark_con):
    """Interval constructors, epoch of a timestamp and of a difference, date_diff counting
    boundaries (a day, a month and seconds apart across a month end), list_sum skipping NULLs and
    giving NULL for an empty list, regexp_split_to_array, quantile_cont: DuckDB's answers."""
    import duckdb

    query = """SELECT CAST($a AS TIMESTAMP) + to_seconds(90) AS t1, CAST($a AS TIMESTAMP) - to_days(3) AS t2,
      CAST($a AS TIMESTAMP) + to_months(2) AS t3, CAST($a AS TIMESTAMP) + to_microseconds(1500000) AS t4,
      epoch(CAST($b AS TIMESTAMP) - CAST($a AS TIMESTAMP)) AS e1, epoch(CAST($a AS TIMESTAMP)) AS e2,
      date_diff('day', CAST($a AS TIMESTAMP), CAST($b AS TIMESTAMP)) AS d1,
      date_diff('month', CAST($a AS TIMESTAMP), CAST($b AS TIMESTAMP)) AS d2,
      date_diff('second', CAST($a AS TIMESTAMP), CAST($b AS TIMESTAMP)) AS d3,
      date_diff('year', CAST($a AS TIMESTAMP), CAST($b AS TIMESTAMP)) AS d4,
      date_diff('second', CAST($a AS TIMESTAMP), CAST($b AS TIMESTAMP)) / 3600.0 AS hours,
      list_sum([1, NULL, 2]) AS l1, list_sum(CAST([] AS INTEGER[])) AS l2,
      regexp_split_to_array('a, b,c', ',\\s*') AS r"""
    values = {"a": dt.datetime(2025, 1, 31, 23, 59, 59, 500000), "b": dt.datetime(2025, 3, 1, 0, 0, 1)}
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    expected = duck.execute(query, values).fetchall()
    assert expected[0][6:11] == (29, 2, 2419202, 0, 2419202 / 3600)  # the boundaries DuckDB counts; a double
    assert spark_con.execute(query, values).fetchall() == expected
    picks = ("SELECT arg_max(a, b), arg_min(a, b), arg_max(a, b) FILTER (WHERE b < 5), "
             "arg_max(a, epoch(ts)) FROM (VALUES (NULL, 5, TIMESTAMP '2025-01-03'), ('x', 1, TIMESTAMP '2025-01-01'), "
             "('y', 2, TIMESTAMP '2025-01-02'), ('z', NULL, NULL)) t(a, b, ts)")
    assert duck.execute(picks).fetchall() == [("y", "x", "y", "y")]  # DuckDB skips a NULL pick
    assert spark_con.execute(picks).fetchall() == [("y", "x", "y", "y")]
    quantiles = "SELECT quantile_cont(x, 0.3), median(x) FROM (SELECT unnest([1.0, 2.0, 10.0, 4.0]) AS x)"
    assert [tuple(map(float, r)) for r in spark_con.execute(quantiles).fetchall()] == [
        tuple(map(float, r)) for r in duck.execute(quantiles).fetchall()]


def test_two_stores_in_one_process_keep_their_own_tables(spark_con, spark_config, tmp_path, sample_con):
    """Each store gets a session of its own: opening an events-only store leaves the full one whole."""
    import shutil

    shutil.copy(spark_config.parent / "events.parquet", tmp_path / "events.parquet")
    (tmp_path / "cx-spark.yml").write_text("tables:\n  events: events.parquet\n")
    other = cxlib.connect(tmp_path / "cx-spark.yml", engine="spark")
    count = "SELECT count(*) FROM survey_responses"
    assert other.execute(count).fetchone() == (0,)
    assert spark_con.execute(count).fetchone() == sample_con.execute(count).fetchone() != (0,)
    assert cxlib.connect(spark_config, engine="spark") is cxlib.connect(spark_config, engine="spark")


def test_a_table_alias_as_a_whole_row(spark_con):
    """DuckDB's hash(t) hashes t's whole row; on Spark it is hash(t.*): two stores differing in one
    value differ in the report header's fingerprint on either engine."""
    (text, _), = [(s[1], s[2]) for s in translate("SELECT sum(hash(t)), hash(customer_id) FROM customers t")]
    assert "HASH(t.*)" in text and "HASH(customer_id)" in text
    one = spark_con.execute("SELECT sum(hash(t)) FROM (SELECT customer_id, region FROM customers) t").fetchone()
    other = spark_con.execute("SELECT sum(hash(t)) FROM (SELECT customer_id, CASE WHEN customer_id = "
                              "(SELECT min(customer_id) FROM customers) THEN 'elsewhere' ELSE region END AS region "
                              "FROM customers) t").fetchone()
    assert one != other


def test_frames_come_back_in_duckdb_types(spark_con, sample_con):
    """A DATE column is a datetime64 column and a DECIMAL a float one, as DuckDB's .df() gives them."""
    query = "SELECT CAST(min(ts) AS DATE) AS first_day, CAST(1.25 AS DECIMAL(5, 2)) * 2 AS twice FROM events"
    duck, spark = sample_con.execute(query).df(), spark_con.execute(query).df()
    assert pd.api.types.is_datetime64_any_dtype(spark["first_day"]) and spark["twice"].dtype == "float64"
    assert spark["first_day"].iloc[0] == duck["first_day"].iloc[0] and spark["twice"].iloc[0] == 2.5


RECURSIVE = """
WITH RECURSIVE customers AS (SELECT customer_id FROM customers WHERE customer_id <= $last),
firsts AS (SELECT customer_id, min(ts) AS ts FROM events WHERE customer_id IN (SELECT customer_id FROM customers)
           GROUP BY customer_id),
hops(customer_id, n, ts) AS (  -- each customer's next events, one a round: an aggregate in the recursive term
  SELECT customer_id, 1, ts FROM firsts
  UNION ALL
  SELECT h.customer_id, any_value(h.n) + 1, min(e.ts)
  FROM hops h JOIN events e ON e.customer_id = h.customer_id AND e.ts > h.ts
  WHERE h.n < $hops
  GROUP BY h.customer_id
)
SELECT customer_id, n, ts FROM hops ORDER BY customer_id, n
"""


def test_a_recursive_cte_may_aggregate_and_runs_as_on_duckdb(spark_con, sample_con):
    params = {"last": "C0000020", "hops": 4}
    want = sample_con.execute(RECURSIVE, params).df()
    assert len(want) > 20 and want["n"].max() == 4  # several rounds, each adding rows
    same(want, spark_con.execute(RECURSIVE, params).df())
    spark_con.execute("CREATE OR REPLACE TEMP TABLE _hops AS " + RECURSIVE.replace("ORDER BY customer_id, n", ""), params)
    assert spark_con.execute("SELECT count(*) FROM _hops").fetchone() == (len(want),)
    # the CTE named customers was this query's own: the store's table is whole again, no CTE view is left
    assert spark_con.execute("SELECT count(*) FROM customers").fetchone() == \
        sample_con.execute("SELECT count(*) FROM customers").fetchone()
    assert not [t.name for t in spark_con.spark.catalog.listTables() if t.name.startswith("cx_cte_")]
    spark_con.execute("DROP TABLE _hops")


def test_a_recursive_cte_that_never_ends_is_stopped(spark_con, monkeypatch):
    monkeypatch.setattr("cxlib.sql.spark.MAX_ROUNDS", 5)
    with pytest.raises(CxInputError, match="5 rounds"):
        spark_con.execute("WITH RECURSIVE a(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM a) SELECT * FROM a")
    with pytest.raises(CxInputError, match="named parameters"):
        spark_con.execute("WITH RECURSIVE a(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM a WHERE n < 3) SELECT * FROM a",
                          [1])
