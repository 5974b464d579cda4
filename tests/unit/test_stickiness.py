"""Stickiness (PostHog's definition, day interval) on a hand-made store, and its intervals.

As-of 2024-06-30 12:00; a 7-day window is 2024-06-24 .. 2024-06-30 (UTC dates of ts).
"""

import numpy as np
import pytest
from scipy import stats

import cxlib
from cxlib.analysis import churn
from cxlib.analysis.churn.active_days import _mean_interval
from cxlib.errors import CxDataError, CxInputError

AS_OF = "2024-06-30 12:00:00"


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "s.duckdb", read_only=False)
    con.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('X', '2024-01-01'), ('Y', '2024-01-01'), "
                "('Z', '2024-01-01'), ('W', '2024-01-01')")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('X', '2024-06-28 08:00', 'home_page', 'web'), ('X', '2024-06-28 22:00', 'home_page', 'web'),  -- one day
        ('X', '2024-06-29 10:00', 'app_login', 'app'),
        ('X', '2024-06-30 13:00', 'app_login', 'app'),   -- after as-of: not counted
        ('Y', '2024-06-23 23:59', 'home_page', 'web'),   -- the day before the window
        ('Y', '2024-06-24 00:00', 'home_page', 'web'),   -- the window's first moment
        ('Z', '2024-06-25 09:00', 'chat', 'chat'),
        ('W', '2024-06-30 12:00:01', 'chat', 'chat')     -- after as-of: W is not active""")
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES "
                "('o1', 'X', '2024-06-30 09:00', 10.0, 'web')")  # an order is activity: X's third day
    cxlib.store.refresh_derived(con)
    yield con
    con.close()


def test_stickiness_by_hand(con):
    s = churn.stickiness(con, days=7, as_of=AS_OF, min_group_size=1)
    assert s.active_days.tolist() == [1, 2, 3, 4, 5, 6, 7]  # every N, as PostHog
    assert s.customers.tolist() == [2, 0, 1, 0, 0, 0, 0]  # Y and Z one day; X three (28th, 29th, order on 30th)
    assert s.share.tolist() == pytest.approx([2 / 3, 0, 1 / 3, 0, 0, 0, 0])
    ci = stats.binomtest(2, 3).proportion_ci(method="wilson")
    assert (s.ci_lower[0], s.ci_upper[0]) == pytest.approx((ci.low, ci.high))
    assert s.ci_lower[1] == 0.0 and s.ci_upper[1] > 0  # nobody on 2 days: 0 with an upper bound


def test_stickiness_event_filter_counts_only_that_touchpoint(con):
    s = churn.stickiness(con, days=7, touchpoint="chat", as_of=AS_OF, min_group_size=1)
    assert s.customers.tolist() == [1, 0, 0, 0, 0, 0, 0]  # Z; W's chat is after as-of; orders do not count
    with pytest.raises(CxInputError, match="chatt"):
        churn.stickiness(con, touchpoint="chatt", as_of=AS_OF)


def test_stickiness_summary_by_hand(con):
    row = churn.stickiness_summary(con, days=7, as_of=AS_OF, min_group_size=1).iloc[0]
    assert row.active_customers == 3 and row.mean_active_days == pytest.approx(5 / 3)
    t = stats.t.interval(0.95, 2, loc=np.mean([1, 1, 3]), scale=stats.sem([1, 1, 3]))
    assert (row.ci_lower, row.ci_upper) == pytest.approx(t)
    assert str(row.first_day.date()) == "2024-06-24" and str(row.last_day.date()) == "2024-06-30"


def test_stickiness_suppresses_small_rows_and_small_totals(con):
    s = churn.stickiness(con, days=7, as_of=AS_OF, min_group_size=2)
    # 1 customer on 3 days is hidden; its complement is the smallest other non-zero row (2 on 1 day)
    assert s.suppressed.tolist() == [True, False, True, False, False, False, False]
    assert s.share[[0, 2]].isna().all() and s.ci_lower[[0, 2]].isna().all()
    row = churn.stickiness_summary(con, days=7, as_of=AS_OF, min_group_size=5).iloc[0]
    assert row.suppressed and np.isnan(row.mean_active_days) and np.isnan(row.ci_lower)


def test_stickiness_without_activity_says_what_it_needs(tmp_path):
    con = cxlib.connect(tmp_path / "e.duckdb", read_only=False)
    with pytest.raises(CxDataError, match="needs dated activity"):
        churn.stickiness(con)
    with pytest.raises(CxInputError, match="days"):
        churn.stickiness_summary(con, days=0)


def test_stickiness_on_the_sample_adds_up(sample_con):
    s = churn.stickiness(sample_con, days=30, min_group_size=1)
    row = churn.stickiness_summary(sample_con, days=30).iloc[0]
    assert len(s) == 30 and s.customers.sum() == row.active_customers
    assert (s.active_days * s.customers).sum() / s.customers.sum() == pytest.approx(row.mean_active_days)


def test_mean_interval_covers_the_truth_95_percent_of_the_time():
    # active days of 200 customers drawn from a skewed law on 1..30 (mostly 1-3 days), 1,000 times; on such
    # skewed counts the t interval covers about 94.5% (5,000 runs), a z interval of half the width about 68%
    rng = np.random.default_rng(30)
    law = np.exp(-0.5 * np.arange(30))
    law /= law.sum()
    truth = law @ np.arange(1, 31)
    draws = rng.choice(np.arange(1, 31), p=law, size=(1000, 200))
    hits = 0
    for sample in draws:
        counts = np.bincount(sample, minlength=31)[1:]
        _, lower, upper = _mean_interval(np.arange(1, 31), counts)
        hits += lower <= truth <= upper
    assert 0.93 <= hits / 1000 <= 0.97


def test_chart_stickiness_draws_wilson_whiskers(con):
    from cxlib.charts import churn as charts
    from cxlib.charts.theme import colour

    spec = charts.chart_stickiness(churn.stickiness(con, days=7, as_of=AS_OF, min_group_size=1)).to_dict()
    whiskers = spec["layer"][1]
    assert whiskers["mark"] == {"type": "rule", "color": colour("interval")}
    assert whiskers["encoding"]["y2"]["field"] == "ci_upper" and "Wilson" in spec["description"]


def test_an_as_of_date_alone_counts_that_whole_day(con):
    # as-of '2024-06-30' (no time): W's chat at 12:00:01 and X's event at 13:00 count; X already had the 30th
    s = churn.stickiness(con, days=7, as_of="2024-06-30", min_group_size=1)
    assert s.customers.tolist() == [3, 0, 1, 0, 0, 0, 0]  # Y, Z, W one day; X three
    same = churn.stickiness(con, days=7, as_of="2024-06-30 23:59:59.999999", min_group_size=1)
    assert same.customers.tolist() == s.customers.tolist()
