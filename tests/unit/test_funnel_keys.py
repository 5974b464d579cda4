"""The funnel keys customers by events_ordered's integer key, and by customer_id on a store built before
the keys that is opened read-only (not migrated): the same answer either way, customer ids given back."""

from __future__ import annotations

import cxlib
from cxlib.analysis.journey import funnel, funnel_dropped
from cxlib.explore.filters import Filters, filtered
from cxlib.store import refresh_derived

STEPS = ["home", "cart", "pay"]
EVENTS = [("A", "2024-01-01 10:00", "home"), ("A", "2024-01-01 11:00", "cart"), ("A", "2024-01-01 12:00", "pay"),
          ("B", "2024-01-02 10:00", "home"), ("B", "2024-01-02 10:00", "cart"),  # a tie on time counts as in order
          ("C", "2024-01-03 10:00", "home"), ("C", "2024-01-20 10:00", "cart"),  # after the 7-day window
          ("D", "2024-01-04 10:00", "cart"), ("D", "2024-01-05 10:00", "home")]


def _store(path):
    con = cxlib.connect(path, read_only=False)
    con.executemany("INSERT INTO customers (customer_id) VALUES (?)", [[c] for c in "ABCD"])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, ?, 'web')", EVENTS)
    refresh_derived(con)
    return con


def _answer(con):
    got = funnel(con, STEPS, window="7 days", min_group_size=1)
    dropped = funnel_dropped(con, STEPS, step=2, window="7 days")
    return got[["customers", "dropped"]].values.tolist(), sorted(dropped["customer_id"])


def test_the_funnel_is_the_same_with_and_without_integer_keys(tmp_path):
    con = _store(tmp_path / "s.duckdb")
    keyed = _answer(con)
    assert keyed == ([[4, 0], [2, 2], [1, 1]], ["C", "D"])
    # the shape events_ordered had before the integer keys and flags; read-only, so not migrated
    con.execute("CREATE OR REPLACE TABLE events_ordered AS "
                "SELECT * EXCLUDE (cid, next_stage, first_pair, first_stage_pair) FROM events_ordered")
    con.close()
    con = cxlib.connect(tmp_path / "s.duckdb")
    assert _answer(con) == keyed
    with filtered(con, Filters(channel="web")) as fs:  # the explorer's view gives a NULL key there
        assert _answer(fs.con) == keyed
    con.close()
