"""Rows in, rows out: the segment SQL files on tiny tables, whole frames compared."""

import pandas as pd
import pytest

import cxlib
from cxlib import sql


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.execute("""INSERT INTO customers (customer_id, signup_at, region) VALUES
        ('A', '2024-01-01', 'north'), ('B', '2024-01-01', 'north'), ('C', '2024-01-01', NULL)""")
    con.execute("""INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('o1', 'A', '2024-02-01', 30, 'web'), ('o2', 'A', '2024-03-01', 10, 'web'),
        ('o3', 'C', '2024-02-01', 5, 'web')""")
    con.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES
        ('1', 'A', '2024-02-01', 'nps', 10), ('2', 'B', '2024-02-01', 'nps', 5), ('3', 'B', '2024-02-02', 'nps', 8),
        ('4', 'A', '2024-02-01', 'csat', 4), ('5', 'A', '2024-02-01', 'ces', 6), ('6', 'B', '2024-02-01', 'ces', 2),
        ('7', 'C', '2024-02-01', 'csat', 1)""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('A', '2024-02-01 10:00', 'home_page', 'web'), ('A', '2024-02-01 11:00', 'checkout', 'app'),
        ('B', '2024-02-01 10:00', 'home_page', 'web')""")
    yield con
    con.close()


def test_segment_members_and_summary(con):
    slot = sql.checked_column(con, "customers", "region")
    assert sql.run(con, "segment_members", {"missing": "(none)"}, {"segment": slot})["Count"].iloc[0] == 3
    got = sql.run(con, "segment_summary", {"start": None, "end": None})
    expected = pd.DataFrame({
        "segment": ["(none)", "north"], "customers": [1, 2], "revenue": [5.0, 40.0],
        "revenue_mean": [5.0, 20.0], "revenue_sd": [float("nan"), 28.284271247461902],
        "nps_n": [0, 3], "promoters": [0, 1], "passives": [0, 1], "detractors": [0, 1],
        "csat_n": [1, 1], "satisfied": [0, 1], "ces_n": [0, 2], "ces_mean": [float("nan"), 4.0],
        "ces_sd": [float("nan"), 2.8284271247461903], "ces_easy": [0, 1],
    })
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # the window is start-inclusive, end-exclusive
    late = sql.run(con, "segment_summary", {"start": pd.Timestamp("2024-02-02"), "end": pd.Timestamp("2024-03-02")})
    assert late.set_index("segment").loc["north", ["revenue", "nps_n", "ces_n"]].tolist() == [10.0, 1, 0]


def test_segment_usage(con):
    sql.run(con, "segment_members", {"missing": "(none)"}, {"segment": sql.checked_column(con, "customers", "region")})
    got = sql.run(con, "segment_usage", {"start": None, "end": None})
    expected = pd.DataFrame({
        "segment": ["north"] * 4,
        "kind": ["channel", "channel", "touchpoint", "touchpoint"],
        "value": ["app", "web", "checkout", "home_page"],
        "customers": [2] * 4, "users": [1, 2, 1, 2], "events": [1, 2, 1, 2], "segment_events": [3] * 4,
        "overall_customers": [3] * 4, "overall_users": [1, 2, 1, 2], "overall_events": [1, 2, 1, 2],
        "all_events": [3] * 4,
    })
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_rfm_table(con):
    sql.run(con, "rfm", {"as_of": pd.Timestamp("2024-03-31")})
    got = sql.run(con, "rfm_customers")
    assert got["customer_id"].tolist() == ["A", "B", "C"]
    assert got["recency_days"].tolist()[0] == 30 and got["recency_days"].tolist()[2] == 59
    # two buyers: A ranks 2nd of 2 on every value -> 1 + floor(5 * 1 / 2) = 3; C ranks 1st -> 1
    assert got["rfm_cell"].tolist() == ["333", None, "111"]
    assert got["rfm_segment"].tolist() == ["need attention", "no purchase", "lost"]
    grid = sql.run(con, "rfm_grid")
    assert grid.to_dict("records") == [{"r_score": 1, "f_score": 1, "segment": "lost", "customers": 1},
                                       {"r_score": 3, "f_score": 3, "segment": "need attention", "customers": 1}]


def test_injection_through_the_segment_column_is_refused(con):
    with pytest.raises(cxlib.CxInputError, match="not in customers"):
        sql.checked_column(con, "customers", 'region"; DROP TABLE orders; --')
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 3
