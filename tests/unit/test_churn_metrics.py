"""Churn status, churn rates, period churn, cohort retention and lifecycle on a hand-made store.

Every expected number below is worked out by hand from the rows inserted in the fixture.
As-of is 2024-06-30 unless a test says otherwise; 90 days of inactivity before it is 2024-04-01.
"""

from datetime import datetime

import pandas as pd
import pytest

import cxlib
from cxlib.analysis import churn

AS_OF = "2024-06-30"


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("""INSERT INTO customers (customer_id, signup_at) VALUES
        ('A', '2024-01-01'), ('B', '2024-01-01'), ('C', '2024-02-01'), ('D', '2024-01-10'),
        ('E', '2024-05-01'), ('F', '2024-03-01'), ('G', '2024-08-01')""")
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.execute("UPDATE customers SET region = CASE WHEN customer_id IN ('A', 'B', 'C') THEN 'north' ELSE 'south' END")
    con.execute("""INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES
        ('A', 'basic', '2024-01-01', '2024-03-15'),   -- churned after 74 days
        ('B', 'basic', '2024-01-01', NULL),           -- running: censored at as-of (181 days)
        ('C', 'basic', '2024-02-01', '2024-02-20'),   -- a gap, then a new subscription: not churned
        ('C', 'plus',  '2024-04-01', NULL),
        ('D', 'basic', '2024-01-10', '2024-07-01'),   -- ends after as-of: still running then
        ('E', 'basic', '2024-03-01', '2024-03-01'),   -- ended the day it started: churned, 0 days
        ('G', 'basic', '2024-08-01', NULL)            -- starts after as-of: not counted""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('A', '2024-01-05', 'home_page', 'web'), ('A', '2024-03-01', 'chat', 'chat'),
        ('B', '2024-01-15', 'home_page', 'web'), ('B', '2024-06-01', 'app_login', 'app'),
        ('B', '2024-07-15', 'app_login', 'app'),     -- after as-of: ignored
        ('E', '2024-05-02', 'home_page', 'web'), ('E', '2024-06-10', 'home_page', 'web'),
        ('F', '2024-02-20', 'ad_click', 'web'),      -- before F's signup: F starts here
        ('F', '2024-04-02', 'home_page', 'web')""")
    con.execute("""INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES
        ('o1', 'A', '2024-01-20', 10.0, 'web'),
        ('o2', 'D', '2024-04-01 00:00:00', 25.0, 'web')   -- exactly 90 days before as-of""")
    cxlib.store.refresh_derived(con)
    yield con
    con.close()


# ---------------------------------------------------------------- churn_status


def test_contractual_status_by_hand(con):
    s = churn.churn_status(con, definition="contractual", as_of=AS_OF).set_index("customer_id")
    assert list(s.index) == ["A", "B", "C", "D", "E"]  # F has no subscription, G starts later
    assert list(s["churned"]) == [True, False, False, False, True]
    assert list(s["censored"]) == [False, True, True, True, False]
    assert s.loc["A", "end"] == datetime(2024, 3, 15) and pd.isna(s.loc["B", "end"])
    assert s.loc["C", "start"] == datetime(2024, 2, 1)
    assert list(s["duration_days"]) == pytest.approx([74, 181, 150, 172, 0])
    assert s["definition"].iloc[0].startswith("contractual churn")


def test_non_contractual_status_by_hand(con):
    s = churn.churn_status(con, definition="non_contractual", as_of=AS_OF).set_index("customer_id")
    assert list(s.index) == ["A", "B", "C", "D", "E", "F"]
    # A last active 03-01; C never active (last = signup); D exactly 90 days before as-of: churned
    assert list(s["churned"]) == [True, False, True, True, False, False]
    assert list(s["judged"]) == [True, True, True, True, False, True]  # E started 2024-05-01
    assert s.loc["F", "start"] == datetime(2024, 2, 20)
    assert s.loc["D", "end"] == datetime(2024, 4, 1) and pd.isna(s.loc["B", "end"])
    assert s.loc["B", "last_activity"] == datetime(2024, 6, 1)  # the July event is after as-of
    # censored customers are censored at their last activity
    assert list(s["duration_days"]) == pytest.approx([60, 152, 0, 82, 40, 42])


def test_inactivity_days_moves_the_boundary(con):
    s = churn.churn_status(con, definition="non_contractual", inactivity_days=91, as_of=AS_OF).set_index("customer_id")
    assert not s.loc["D", "churned"]  # 90 days of inactivity is not 91


# ---------------------------------------------------------------- churn_rate


def test_churn_rate_contractual(con):
    r = churn.churn_rate(con, definition="contractual", as_of=AS_OF)
    assert len(r) == 1 and "segment" not in r
    assert (r.customers[0], r.churned[0], r.churn_rate[0]) == (5, 2, pytest.approx(0.4))
    assert not r.suppressed[0] and "contractual" in r.definition[0]


def test_churn_rate_non_contractual_judges_only_customers_with_enough_follow_up(con):
    r = churn.churn_rate(con, definition="non_contractual", as_of=AS_OF)
    assert (r.customers[0], r.churned[0], r.not_judged[0]) == (5, 3, 1)
    assert r.churn_rate[0] == pytest.approx(0.6)
    assert "90 days" in r.definition[0]


def test_churn_rate_by_segment_and_suppression(con):
    r = churn.churn_rate(con, by="region", definition="non_contractual", as_of=AS_OF, min_group_size=1)
    r = r.set_index("segment")
    assert r.loc["north", ["customers", "churned"]].tolist() == [3, 2]  # A, B, C judged; A, C churned
    assert r.loc["south", ["customers", "churned", "not_judged"]].tolist() == [2, 1, 1]  # D, F judged
    hidden = churn.churn_rate(con, by="region", definition="non_contractual", as_of=AS_OF, min_group_size=3)
    hidden = hidden.set_index("segment")
    # south (2) is below 3; complementary suppression hides north too, but both rows stay
    assert hidden["suppressed"].tolist() == [True, True]
    assert hidden["churn_rate"].isna().all()


def test_churn_rate_by_a_cx_group(con):
    con.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) VALUES
        ('r1', 'A', '2024-02-01', 'nps', 3, NULL), ('r2', 'B', '2024-02-01', 'nps', 10, NULL)""")
    r = churn.churn_rate(con, by="nps_group", definition="contractual", as_of=AS_OF, min_group_size=1)
    assert r.set_index("segment")["churned"].to_dict() == {"(none)": 1, "detractor": 1, "promoter": 0}


def test_bad_arguments_are_clear_errors(con):
    with pytest.raises(cxlib.CxInputError, match="did you mean 'region'"):
        churn.churn_rate(con, by="regon", as_of=AS_OF)
    with pytest.raises(cxlib.CxInputError, match="churn definition 'contract'"):
        churn.churn_rate(con, definition="contract")
    with pytest.raises(cxlib.CxInputError, match="inactivity_days"):
        churn.churn_status(con, definition="non_contractual", inactivity_days=0)
    with pytest.raises(cxlib.CxInputError, match="as_of must be a date"):
        churn.churn_rate(con, as_of="yesterday")
    with pytest.raises(cxlib.CxInputError, match="period 'day'"):
        churn.period_churn(con, period="day")


def test_contractual_without_subscriptions_says_what_to_do(tmp_path):
    con = cxlib.connect(tmp_path / "e.duckdb", read_only=False)
    con.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('A', '2024-01-01')")
    with pytest.raises(cxlib.CxDataError, match="non_contractual"):
        churn.churn_rate(con)


def test_default_as_of_is_the_store_as_of(con):
    # the store's latest timestamp is G's signup and subscription start, 2024-08-01
    s = churn.churn_status(con, definition="contractual").set_index("customer_id")
    assert "G" in s.index and s.loc["D", "churned"]  # D's 07-01 end is before 08-01


# ---------------------------------------------------------------- period_churn


def test_period_churn_contractual_by_hand(con):
    p = churn.period_churn(con, period="month", definition="contractual", as_of=AS_OF)
    assert [d.month for d in p.period] == [1, 2, 3, 4, 5, 6]
    assert p.active_at_start.tolist() == [0, 3, 4, 3, 3, 3]
    assert p.lost.tolist() == [0, 0, 1, 0, 0, 0]  # E starts and ends in March: in neither count
    assert pd.isna(p.churn_rate[0]) and p.churn_rate[2] == pytest.approx(0.25)
    assert p.complete.tolist() == [True] * 5 + [False]


def test_period_churn_non_contractual_blanks_periods_not_yet_judged(con):
    p = churn.period_churn(con, period="month", definition="non_contractual", as_of=AS_OF)
    # judged only for periods that ended by 2024-04-01 (as-of minus 90 days): Jan..Mar
    assert p.judged.tolist() == [True, True, True, False, False, False]
    # Feb: started before 02-01: A, B, D. C starts 02-01 and churns at once (never active):
    # it is in neither count. Mar: A, B, D, F (C's churn date 02-01 is before); A lost 03-01.
    assert p.active_at_start.tolist()[:3] == [0, 3, 4]
    assert p.lost.tolist()[:3] == [0, 0, 1]
    assert p.churn_rate[2] == pytest.approx(0.25)
    assert p.lost[3:].isna().all() and p.churn_rate[3:].isna().all()


def test_churn_trend():
    df = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=5, freq="MS"),
                       "churn_rate": [0.1, 0.12, 0.14, 0.16, 0.5], "complete": [True] * 4 + [False],
                       "judged": True})
    t = churn.churn_trend(df)
    assert t["periods"] == 4 and t["slope"] == pytest.approx(0.02) and t["direction"] == "rising"
    assert churn.churn_trend(df.iloc[:2])["direction"] == "not enough periods"
    # the same rate in every period (no churn before a tenure export's date): flat, not "too few periods"
    flat = df.assign(churn_rate=0.0, complete=True)
    assert churn.churn_trend(flat) == {"slope": 0.0, "p_value": 1.0, "periods": 5, "direction": "flat"}


# ---------------------------------------------------------------- cohorts and lifecycle


def test_cohort_retention_first_time_by_hand(con):
    c = churn.cohort_retention(con, period="month", as_of=AS_OF, min_group_size=1)
    jan = c[c.cohort == datetime(2024, 1, 1)]
    assert jan.customers.tolist() == [2] * 6
    assert jan.retained.tolist() == [2, 0, 1, 0, 0, 1]  # A back in March, B back in June
    assert jan.retention.tolist() == pytest.approx([1, 0, 0.5, 0, 0, 0.5])
    assert jan.incomplete.tolist() == [False] * 5 + [True]
    assert sorted(c.cohort.dt.month.unique()) == [1, 2, 4, 5]  # C never active; B joined in January
    may = c[c.cohort == datetime(2024, 5, 1)]
    assert may.retained.tolist() == [1, 1]


def test_cohort_retention_recurring(con):
    c = churn.cohort_retention(con, period="month", kind="recurring", as_of=AS_OF, min_group_size=1)
    apr = c[c.cohort == datetime(2024, 4, 1)]
    assert apr.customers.tolist() == [2, 2, 2] and apr.retained.tolist() == [2, 0, 0]  # D and F
    mar = c[c.cohort == datetime(2024, 3, 1)]
    assert mar.customers.iloc[0] == 1  # A, active again in March


def test_cohort_retention_suppresses_small_cohorts(con):
    c = churn.cohort_retention(con, period="month", as_of=AS_OF)  # default min_group_size 5
    assert c.suppressed.all() and c.retention.isna().all() and len(c) > 0


def test_cohort_retention_weekly_boundaries(con):
    c = churn.cohort_retention(con, period="week", as_of=AS_OF, min_group_size=1)
    # 2024-01-01 is a Monday: A (01-05) and B (01-15) fall in different weekly cohorts
    first = c[c.cohort == datetime(2024, 1, 1)]
    assert first.customers.iloc[0] == 1 and first.retained.iloc[0] == 1
    assert first.retained.iloc[2] == 1  # A's order on 01-20 is in the week of 01-15


def test_lifecycle_by_hand(con):
    lc = churn.lifecycle(con, period="month", as_of=AS_OF)
    got = lc.pivot(index="period", columns="status", values="customers")
    got.index = got.index.month.astype("int64")
    expected = pd.DataFrame(
        {"new": [2, 1, 0, 1, 1, 0], "returning": [0, 0, 0, 0, 0, 1],
         "resurrecting": [0, 0, 1, 1, 0, 1], "dormant": [0, 2, 1, 1, 2, 0]},
        index=[1, 2, 3, 4, 5, 6],
    )
    pd.testing.assert_frame_equal(got[expected.columns].astype(int), expected, check_names=False)
    assert lc[lc.period == datetime(2024, 6, 1)].incomplete.all()


def test_start_only_hides_earlier_periods(con):
    full = churn.period_churn(con, definition="contractual", as_of=AS_OF)
    part = churn.period_churn(con, definition="contractual", as_of=AS_OF, start="2024-03-15")
    pd.testing.assert_frame_equal(part, full.iloc[2:].reset_index(drop=True))
    c = churn.cohort_retention(con, as_of=AS_OF, start="2024-02-10", min_group_size=1)
    assert sorted(c.cohort.dt.month.unique()) == [2, 4, 5]  # February's cohort holds the start
    lc = churn.lifecycle(con, as_of=AS_OF, start="2024-05-01")
    assert sorted(lc.period.dt.month.unique()) == [5, 6]


def test_check_parameters():
    churn.check_parameters(churn_definition="non_contractual", start="2024-01-01", end="2024-02-01")
    with pytest.raises(cxlib.CxInputError, match="after end"):
        churn.check_parameters(start="2024-03-01", end="2024-02-01")
    with pytest.raises(cxlib.CxInputError, match="retention kind"):
        churn.check_parameters(retention_kind="returning")
    with pytest.raises(cxlib.CxInputError, match="horizon_months"):
        churn.check_parameters(horizon_months=0)
