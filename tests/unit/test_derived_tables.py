"""Derived tables kept at load (customer_keys, events_ordered's flags, customer_activity): an
incremental refresh equals a full rebuild, and transitions, cohort retention and lifecycle give
the same frames as the queries did before the tables existed (frozen in derived_reference/)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cxlib
from cxlib import sql
from cxlib.analysis.churn import retention
from cxlib.analysis.journey import flows
from cxlib.analysis.journey.common import _date_bounds, _horizon
from cxlib.explore import Filters, filtered
from cxlib.store import refresh_derived
from cxlib.store.ingest import ingest

REFERENCE = Path(__file__).parent / "derived_reference"
DERIVED = {"customer_keys": "customer_id", "events_ordered": "customer_id, seq", "customer_activity": "cid, period, p"}
RANGES = [(None, None), ("2025-01-01", "2025-07-01")]


def reference(con, name: str, params: dict) -> pd.DataFrame:
    """The query as it was before the derived tables (segment: region)."""
    return con.execute((REFERENCE / f"{name}.sql").read_text().replace("{segment}", '"region"'), params).df()


def check_transitions(con, by_modes=("none", "column", "nps")) -> int:
    checked = 0
    for level in ("touchpoint", "stage"):
        for by_mode in by_modes:
            for rng in RANGES:
                lo, hi = _date_bounds(*rng)
                params = {"start": lo, "end": hi, "level": level, "by_mode": by_mode, "horizon": _horizon(con, hi)}
                count = flows._customer_count(con, level, ranged=lo is not None)
                got = sql.run(con, "transitions", params, {"segment": sql.Ident('"region"'), **count})
                # source_customers (the share's denominator) came later; tests/unit/test_journey_intervals.py checks it
                pd.testing.assert_frame_equal(got.drop(columns="source_customers"), reference(con, "transitions", params))
                checked += len(got)
    return checked


def check_retention(con, cutoffs) -> int:
    checked = 0
    for period in ("month", "week"):
        for cut in cutoffs:
            for kind in ("first_time", "recurring"):
                params = {"period": period, "as_of": cut, "kind": kind}
                got = sql.run(con, "cohort_retention", params, {"activity": retention._activity(con)})
                pd.testing.assert_frame_equal(got, reference(con, "cohort_retention", params))
                checked += len(got)
            params = {"period": period, "as_of": cut}
            got = sql.run(con, "lifecycle", params, {"activity": retention._activity(con)})
            pd.testing.assert_frame_equal(got, reference(con, "lifecycle", params))
            checked += len(got)
    return checked


def derived_rows(con) -> dict[str, list]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY {order}").fetchall() for t, order in DERIVED.items()}


# --- the sample store -----------------------------------------------------------------------------


def test_the_flags_and_activity_read_the_stored_tables_on_the_sample(sample_con):
    assert flows._customer_count(sample_con, "touchpoint", ranged=False)["first"] == "e.first_pair"
    assert flows._customer_count(sample_con, "stage", ranged=False)["first"] == "e.first_stage_pair"
    assert flows._customer_count(sample_con, "touchpoint", ranged=True)["customers"] is flows._COUNT_DISTINCT
    assert retention._activity(sample_con) is retention._ACTIVITY_STORED


def test_transitions_on_the_sample_equal_the_query_before_the_flags(sample_con):
    assert check_transitions(sample_con) > 1000


def test_retention_and_lifecycle_on_the_sample_equal_the_queries_before_the_activity_table(sample_con):
    as_of = cxlib.as_of(sample_con)
    # the store's as-of date, and a cut in the middle of a week and a month (first_ts <= as_of stays exact)
    assert check_retention(sample_con, [as_of, pd.Timestamp("2025-03-12 13:00")]) > 1000


def test_a_filtered_store_computes_from_its_rows(sample_con):
    with filtered(sample_con, Filters(channel="app")) as fs:  # events_ordered rebuilt over the app events
        assert retention._activity(fs.con) is retention._ACTIVITY_SCANNED
        # transitions use the view's flags if it has them, else compute them: either way the customers are right
        got = cxlib.transitions(fs.con, min_group_size=1)
        pairs = fs.con.execute("SELECT touchpoint, next_touchpoint, count(DISTINCT customer_id) FROM events_ordered "
                               "WHERE next_ts IS NOT NULL GROUP BY ALL").fetchall()
        assert sorted(map(tuple, got[["source", "target", "customers"]].astype(object).values.tolist())) == sorted(pairs)
        cohorts = cxlib.cohort_retention(fs.con, min_group_size=1)
        first_month = fs.con.execute(
            "SELECT count(*) FROM (SELECT customer_id FROM (SELECT customer_id, ts FROM events UNION ALL "
            "SELECT customer_id, ts FROM orders) GROUP BY customer_id)").fetchone()[0]
        assert cohorts.drop_duplicates("cohort")["customers"].sum() == first_month


# --- incremental loads ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batches(sample_db):
    """Customers, events and orders of 300 sample customers, cut into loads: most events and orders
    first; later events (existing customers and new ones); the earliest event of some customers
    (an earlier event for an existing customer); then an update of session ids and of an order's customer."""
    con = cxlib.connect(sample_db)
    try:
        customers = con.execute("SELECT customer_id, signup_at, region FROM customers "
                                "WHERE customer_id IN (SELECT customer_id FROM customers ORDER BY hash(customer_id) "
                                "LIMIT 300) ORDER BY customer_id").df()
        keep = set(customers["customer_id"])
        events = con.execute("SELECT customer_id, ts, touchpoint, channel, session_id FROM events").df()
        orders = con.execute("SELECT order_id, customer_id, ts, amount, channel FROM orders").df()
    finally:
        con.close()
    events = events[events["customer_id"].isin(keep)].sort_values(["customer_id", "ts", "touchpoint", "channel"])
    orders = orders[orders["customer_id"].isin(keep)].sort_values("order_id")
    ids = sorted(keep)
    late_customers = set(ids[-40:])  # first seen in the second events load
    earliest = events.groupby("customer_id").head(1)
    earliest = earliest[earliest["customer_id"].isin(ids[:60])]  # held back: loaded after their later events
    rest = events.drop(earliest.index)
    cut = pd.Timestamp("2025-09-01")
    first = rest[(rest["ts"] < cut) & ~rest["customer_id"].isin(late_customers)]
    second = rest.drop(first.index)
    updated = rest.iloc[::50].copy()
    updated["session_id"] = "s-updated"
    # an order alone in its month and week (before all events), later moved to another customer
    alone = pd.DataFrame({"order_id": ["o-alone"], "customer_id": [ids[0]], "ts": [pd.Timestamp("2024-03-05 10:00")],
                          "amount": [10.0], "channel": ["web"]})
    orders = pd.concat([alone, orders], ignore_index=True)
    moved = orders.iloc[:5].copy()  # these orders move to another customer
    moved["customer_id"] = ids[-1]
    return {"customers": customers, "events": [first, second, earliest, updated],
            "orders": [orders.iloc[: len(orders) // 2], orders.iloc[len(orders) // 2:], moved]}


@pytest.fixture(scope="module")
def loaded(batches, tmp_path_factory):
    """A store loaded in batches (events, orders, events, events, events with update, orders with update)."""
    con = cxlib.connect(tmp_path_factory.mktemp("derived") / "inc.duckdb", read_only=False)
    ingest(batches["customers"], "customers", db=con)
    events, orders = batches["events"], batches["orders"]
    for frame, table, update in [(events[0], "events", False), (orders[0], "orders", False),
                                 (events[1], "events", False), (orders[1], "orders", False),
                                 (events[2], "events", False), (events[3], "events", True),
                                 (orders[2], "orders", True)]:
        report = ingest(frame, table, db=con, update=update)
        assert report.rejected == 0, (table, report)
    yield con
    con.close()


def test_the_loads_did_what_the_test_needs(loaded, batches):
    con = loaded
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == sum(map(len, batches["events"][:3]))
    assert con.execute("SELECT count(*) FROM events WHERE session_id = 's-updated'").fetchone()[0] == len(
        batches["events"][3])
    moved = batches["orders"][2]
    assert con.execute("SELECT count(*) FROM orders WHERE customer_id = ?", [moved["customer_id"].iloc[0]]
                       ).fetchone()[0] >= len(moved)


def test_incremental_refreshes_equal_a_full_rebuild_row_by_row(loaded):
    con = loaded
    before = derived_rows(con)
    keys = dict(before["customer_keys"])
    assert sorted(keys.values()) == list(range(1, len(keys) + 1))  # dense, one per customer
    con.execute("BEGIN TRANSACTION")
    try:
        refresh_derived(con)  # a full rebuild, keeping the keys
        after = derived_rows(con)
    finally:
        con.execute("ROLLBACK")
    for table in DERIVED:
        assert len(before[table]) == len(after[table]) > 0, table
        assert before[table] == after[table], table


def test_transitions_retention_and_lifecycle_after_incremental_loads_equal_the_old_queries(loaded):
    assert check_transitions(loaded, by_modes=("none", "column")) > 100
    assert check_retention(loaded, [cxlib.as_of(loaded), pd.Timestamp("2025-10-15 08:00")]) > 100


def test_keys_only_grow_and_a_stage_map_load_rebuilds_in_full(loaded):
    con = loaded  # the last test on this store: it changes the stage map
    keys = con.execute("SELECT * FROM customer_keys ORDER BY cid").fetchall()
    stages = con.execute("SELECT touchpoint, stage FROM touchpoint_stages").df()
    stages.loc[stages["touchpoint"] == "checkout", "stage"] = "loyalty"
    ingest(stages, "touchpoint_stages", db=con)
    assert con.execute("SELECT * FROM customer_keys ORDER BY cid").fetchall() == keys
    assert con.execute("SELECT DISTINCT stage FROM events_ordered WHERE touchpoint = 'checkout'").fetchall() == [
        ("loyalty",)]
    assert con.execute("SELECT count(*) FROM events_ordered WHERE next_touchpoint = 'checkout' "
                       "AND next_stage <> 'loyalty'").fetchone()[0] == 0
    assert check_transitions(con, by_modes=("none",)) > 100


def test_a_store_of_an_earlier_version_is_rebuilt_when_opened_for_writing(tmp_path):
    path = tmp_path / "old.duckdb"
    con = cxlib.connect(path, read_only=False)
    con.execute("INSERT INTO customers VALUES ('A', NULL), ('B', NULL)")
    con.execute("INSERT INTO events VALUES ('A', '2024-01-01', 'chat', 'chat', NULL, NULL), "
                "('A', '2024-01-02', 'checkout', 'web', NULL, NULL), ('B', '2024-01-03', 'chat', 'web', NULL, NULL)")
    con.execute("CREATE OR REPLACE TABLE events_ordered AS SELECT customer_id, ts FROM events")  # the old shape
    con.execute("DROP TABLE customer_activity")
    con.close()
    con = cxlib.connect(path)  # read-only: the queries fall back to the rows
    assert flows._customer_count(con, "touchpoint", ranged=False)["customers"] is flows._COUNT_DISTINCT
    assert retention._activity(con) is retention._ACTIVITY_SCANNED
    con.close()
    con = cxlib.connect(path, read_only=False)
    assert con.execute("SELECT customer_id, seq, first_pair FROM events_ordered ORDER BY ALL").fetchall() == [
        ("A", 1, True), ("A", 2, False), ("B", 1, False)]
    assert con.execute("SELECT count(*) FROM customer_activity").fetchone()[0] == 4  # A and B, a week and a month
    con.close()


def test_a_store_of_an_earlier_version_filters_in_the_explorer_when_opened_read_only(tmp_path):
    path = tmp_path / "old.duckdb"
    con = cxlib.connect(path, read_only=False)
    con.execute("INSERT INTO customers VALUES ('A', NULL), ('B', NULL)")
    con.execute("INSERT INTO events VALUES ('A', '2024-01-01', 'chat', 'app', NULL, NULL), "
                "('A', '2024-01-02', 'checkout', 'app', NULL, NULL), ('A', '2024-01-03', 'chat', 'app', NULL, NULL), "
                "('A', '2024-01-04', 'checkout', 'app', NULL, NULL), ('B', '2024-01-03', 'chat', 'web', NULL, NULL)")
    refresh_derived(con)
    # the shape events_ordered had before the integer keys and flags
    con.execute("CREATE OR REPLACE TABLE events_ordered AS "
                "SELECT * EXCLUDE (cid, next_stage, first_pair, first_stage_pair) FROM events_ordered")
    con.close()
    con = cxlib.connect(path)  # read-only: not migrated
    with filtered(con, Filters(channel="app")) as fs:
        got = flows.transitions(fs.con, min_group_size=1)
    con.close()
    assert got[["source", "target", "transitions", "customers"]].values.tolist() == [
        ["chat", "checkout", 2, 1], ["checkout", "chat", 1, 1]]
