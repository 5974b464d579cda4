"""customer_features on a hand-made store: every column checked by hand."""

from datetime import datetime

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.features import customer_features


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("""INSERT INTO customers (customer_id, signup_at) VALUES
        ('A', '2024-01-01'), ('B', '2024-01-01'), ('C', '2024-06-01'), ('LATE', '2025-01-01')""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('A', '2024-01-02 10:00', 'home_page', 'web'),
        ('A', '2024-01-02 12:00', 'chat', 'chat'),          -- switch within a day
        ('A', '2024-01-05 12:00', 'phone_call', 'phone'),   -- switch, but 3 days later: not counted
        ('A', '2024-01-05 13:00', 'phone_call', 'phone'),   -- same channel
        ('B', '2024-02-01 09:00', 'home_page', 'web')""")
    con.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) VALUES
        ('r1', 'A', '2024-01-03', 'nps', 10, NULL),
        ('r2', 'A', '2024-03-01', 'nps', 4, NULL),           -- latest relationship answer wins
        ('r3', 'A', '2024-04-01', 'nps', 9, 'checkout'),     -- transactional: ignored
        ('r4', 'B', '2024-02-02', 'nps', 7, NULL),
        ('r5', 'B', '2024-02-02', 'csat', 2, NULL)""")
    con.execute("""INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('o1', 'A', '2024-01-02', 10.5, 'web'), ('o2', 'A', '2024-02-02', 4.5, 'web')""")
    con.execute("""INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id, contacts, reopened) VALUES
        ('t1', 'A', '2024-01-05 00:00', '2024-01-09 00:00', 'phone', 'billing', 'ag1', 3, true),   -- 96 h
        ('t2', 'A', '2024-02-01 00:00', '2024-02-01 12:00', 'chat', 'billing', 'ag1', 1, false),   -- 12 h
        ('t3', 'B', '2024-02-01 00:00', NULL, 'email', 'delivery', 'ag2', NULL, NULL)""")
    cxlib.store.refresh_derived(con)
    yield con
    con.close()


def test_every_measure_matches_the_hand_computed_values(con):
    f = customer_features(con, as_of="2024-12-31").set_index("customer_id")
    assert list(f.index) == ["A", "B", "C"]  # LATE signed up after as_of
    a, b, c = f.loc["A"], f.loc["B"], f.loc["C"]
    assert (a.events, a.channels_used, a.channel_switches) == (4, 3, 1)
    assert (a.nps_score, a.nps_group) == (4, "detractor")
    assert (b.nps_score, b.nps_group) == (7, "passive")
    assert pd.isna(c.nps_score) and c.nps_group is None
    assert (a.orders, a.revenue) == (2, 15.0)
    assert (a.tickets, a.open_tickets, a.ticket_contacts, a.reopened_tickets) == (2, 0, 4, 1)
    assert a.mean_resolution_hours == pytest.approx(54.0) and a.max_resolution_hours == pytest.approx(96.0)
    assert a.long_resolution and not b.long_resolution and not c.long_resolution
    assert (b.tickets, b.open_tickets) == (1, 1) and pd.isna(b.mean_resolution_hours)
    assert (c.events, c.orders, c.revenue, c.tickets) == (0, 0, 0, 0)


def test_as_of_hides_later_data(con):
    f = customer_features(con, as_of=datetime(2024, 1, 31)).set_index("customer_id")
    a = f.loc["A"]
    assert (a.nps_score, a.orders, a.tickets, a.events) == (10, 1, 1, 4)
    assert a.mean_resolution_hours == pytest.approx(96.0) and a.open_tickets == 0
    assert "C" not in f.index


def test_default_as_of_is_the_latest_timestamp_in_the_store(con):
    assert cxlib.as_of(con) == datetime(2025, 1, 1)  # LATE's signup is the latest timestamp
    assert len(customer_features(con)) == 4


def test_bad_as_of_is_a_clear_error(con):
    with pytest.raises(cxlib.CxInputError, match="as_of must be a date"):
        customer_features(con, as_of="last tuesday")
