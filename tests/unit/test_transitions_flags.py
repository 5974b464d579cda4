"""Customers leaving a source (transitions' source_customers, the share's denominator) counted on the
stored first-source flags of events_ordered equal the DISTINCT count that a date range falls back to:
on a store with repeated sources, after an incremental events load (earlier events for an existing
customer, later ones, a new customer), on a filtered view, and with breakdowns on the sample."""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import flows
from cxlib.explore import Filters, filtered
from cxlib.store import refresh_derived
from cxlib.store.ingest import ingest

KEY = ["segment", "source", "target"]


def events(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "ts", "touchpoint", "channel"]).assign(
        ts=lambda d: pd.to_datetime(d["ts"]))


# A repeats chat (to checkout, then to home_page, and ends on it); B repeats chat (chat -> chat); C has no pair.
FIRST = events([
    ("A", "2025-01-02", "chat", "web"), ("A", "2025-01-03", "checkout", "web"), ("A", "2025-01-04", "chat", "app"),
    ("A", "2025-01-05", "home_page", "web"), ("A", "2025-01-06", "chat", "web"),
    ("B", "2025-01-02", "chat", "web"), ("B", "2025-01-03", "chat", "app"), ("B", "2025-01-04", "checkout", "web"),
    ("C", "2025-01-02", "home_page", "web"),
])
# A gets an event before its first one and one after its last; B one before its first; D is new.
SECOND = events([
    ("A", "2025-01-01", "checkout", "web"), ("A", "2025-01-07", "home_page", "app"),
    ("B", "2025-01-01", "home_page", "web"),
    ("D", "2025-01-01", "chat", "web"), ("D", "2025-01-02", "chat", "app"),
])


def leaving(con, level: str, **kw) -> dict[str, int]:
    out = cxlib.transitions(con, level=level, min_group_size=1, **kw)
    return out.drop_duplicates("source").set_index("source")["source_customers"].astype(int).to_dict()


def assert_flags_equal_distinct(con, by=None) -> None:
    for level in ("touchpoint", "stage"):
        assert flows._customer_count(con, level, ranged=False)["leaving"] == "FALSE"  # the flags are used
        flagged = cxlib.transitions(con, level=level, by=by, min_group_size=1)
        plain = cxlib.transitions(con, level=level, by=by, start="2000-01-01", min_group_size=1)  # DISTINCT
        key = KEY if by is not None else KEY[1:]
        pd.testing.assert_frame_equal(flagged.sort_values(key).reset_index(drop=True),
                                      plain.sort_values(key).reset_index(drop=True))


def rows(con) -> list:
    return con.execute("SELECT * FROM events_ordered ORDER BY customer_id, seq").fetchall()


@pytest.fixture()
def store(tmp_path):
    con = cxlib.connect(tmp_path / "flags.duckdb", read_only=False)
    ingest(pd.DataFrame({"customer_id": list("ABCD"), "signup_at": pd.to_datetime(["2024-12-01"] * 4)}),
           "customers", db=con)
    assert ingest(FIRST, "events", db=con).rejected == 0
    yield con
    con.close()


def test_one_first_source_row_per_customer_and_source_with_a_pair(store):
    got = store.execute("SELECT customer_id, touchpoint, seq FROM events_ordered WHERE first_source ORDER BY ALL"
                        ).fetchall()
    assert got == [("A", "chat", 1), ("A", "checkout", 2), ("A", "home_page", 4), ("B", "chat", 1)]
    got = store.execute("SELECT customer_id, stage, seq FROM events_ordered WHERE first_stage_source ORDER BY ALL"
                        ).fetchall()
    # A: service, purchase, service, consideration, service; B: service, service, purchase (the 2nd service leaves)
    assert got == [("A", "consideration", 4), ("A", "purchase", 2), ("A", "service", 1), ("B", "service", 2)]


def test_source_customers_from_the_flags_equal_the_distinct_count(store):
    assert leaving(store, "touchpoint") == {"chat": 2, "checkout": 1, "home_page": 1}
    assert leaving(store, "stage") == {"service": 2, "purchase": 1, "consideration": 1}
    assert_flags_equal_distinct(store)


def test_after_an_incremental_events_load_the_flags_are_rebuilt_for_the_touched_customers(store):
    assert ingest(SECOND, "events", db=store).rejected == 0
    assert store.execute("SELECT count(*) FROM events_ordered").fetchone()[0] == len(FIRST) + len(SECOND)
    assert leaving(store, "touchpoint") == {"chat": 3, "checkout": 1, "home_page": 2}
    assert leaving(store, "stage") == {"service": 2, "purchase": 1, "consideration": 2}
    assert_flags_equal_distinct(store)
    incremental = rows(store)
    refresh_derived(store)  # a full rebuild gives the same rows, flags included
    assert rows(store) == incremental


def test_a_filtered_view_rebuilds_the_flags_over_its_rows(store):
    assert ingest(SECOND, "events", db=store).rejected == 0
    with filtered(store, Filters(channel="web")) as fs:
        # web only: A checkout, chat, home_page, chat; B home_page, chat, checkout; C home_page; D chat
        assert leaving(fs.con, "touchpoint") == {"checkout": 1, "chat": 2, "home_page": 2}
        assert_flags_equal_distinct(fs.con)


def test_a_store_without_the_first_source_flags_counts_distinct_customers(store):
    store.execute("CREATE OR REPLACE TABLE events_ordered AS "
                  "SELECT * EXCLUDE (first_source, first_stage_source) FROM events_ordered")
    assert flows._customer_count(store, "touchpoint", ranged=False)["leaving"] == "TRUE"
    assert leaving(store, "touchpoint") == {"chat": 2, "checkout": 1, "home_page": 1}


def test_with_breakdowns_on_the_sample_the_flags_equal_the_distinct_count(sample_con):
    for by in ("region", "nps_group"):
        assert_flags_equal_distinct(sample_con, by=by)
