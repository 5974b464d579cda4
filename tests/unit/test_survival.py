"""Kaplan-Meier, median survival and log-rank: hand-computed on 5-6 rows, and equal to lifelines
fitted directly on the per-customer durations."""

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from test_churn_metrics import AS_OF, con  # noqa: F401  (the hand-made store)

import cxlib
from cxlib.analysis import churn


def test_km_contractual_by_hand(con):
    # durations (days): A 74 churned, B 181 censored, C 150 censored, D 172 censored, E 0 churned
    s = churn.survival(con, unit="day", definition="contractual", as_of=AS_OF, min_group_size=1)
    assert s.group.unique().tolist() == ["all"]
    s = s.set_index("time")
    assert s.index.tolist() == [0, 74, 150, 172, 181]
    assert s.at_risk.tolist() == [5, 4, 3, 2, 1]
    assert s.events.tolist() == [1, 1, 0, 0, 0]
    assert s.censored.tolist() == [0, 0, 1, 1, 1]
    assert s.survival.tolist() == pytest.approx([0.8, 0.6, 0.6, 0.6, 0.6])
    # exponential Greenwood at t=0: var(log S) = 1/(5*4); V = var / log(S)^2
    v = (1 / 20) / np.log(0.8) ** 2
    z = 1.959963984540054
    lo = 0.8 ** np.exp(z * np.sqrt(v))
    hi = 0.8 ** np.exp(-z * np.sqrt(v))
    assert (s.ci_lower[0], s.ci_upper[0]) == (pytest.approx(lo), pytest.approx(hi))
    assert s.alpha.eq(0.05).all() and "contractual" in s.definition.iloc[0]


def test_km_non_contractual_with_ties_by_hand(con):
    # A 60 churned, B 152 censored, C 0 churned, D 82 churned, E 40 censored, F 42 censored
    s = churn.survival(con, unit="day", definition="non_contractual", as_of=AS_OF, min_group_size=1).set_index("time")
    assert s.loc[[0, 40, 42, 60, 82, 152], "survival"].tolist() == pytest.approx(
        [5 / 6, 5 / 6, 5 / 6, 5 / 6 * 2 / 3, 5 / 6 * 2 / 3 * 1 / 2, 5 / 6 * 2 / 3 * 1 / 2]
    )
    assert s.loc[60, "at_risk"] == 3


def test_km_units(con):
    days = churn.survival(con, unit="day", as_of=AS_OF, min_group_size=1)
    weeks = churn.survival(con, unit="week", as_of=AS_OF, min_group_size=1)
    assert weeks.time.tolist() == pytest.approx((days.time / 7).tolist())
    assert weeks.survival.tolist() == pytest.approx(days.survival.tolist())


def _random_store(tmp_path, n=400, seed=3):
    rng = np.random.default_rng(seed)
    con = cxlib.connect(tmp_path / "r.duckdb", read_only=False)
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    life = pd.to_timedelta(rng.exponential(200, n).round(), unit="D")
    end = start + life
    as_of = pd.Timestamp("2024-06-30")
    ended = end <= as_of
    cust = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)], "signup_at": start,
                         "plan": rng.choice(["basic", "plus", "pro"], n)})
    subs = pd.DataFrame({"customer_id": cust.customer_id, "plan": cust.plan, "started_at": start,
                         "ended_at": pd.Series(end).where(ended)})
    con.execute("ALTER TABLE customers ADD COLUMN plan VARCHAR")
    con.execute("INSERT INTO customers SELECT * FROM cust")
    con.execute("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) SELECT * FROM subs")
    dur = np.where(ended, (end - start).days, (as_of - start).days)
    return con, as_of, cust.assign(duration=dur, event=ended)


def test_km_equals_lifelines_on_the_same_durations(tmp_path):
    con, as_of, truth = _random_store(tmp_path)
    s = churn.survival(con, by="plan", unit="week", as_of=as_of)
    for plan, g in truth.groupby("plan"):
        kmf = KaplanMeierFitter().fit(g.duration / 7, g.event)
        mine = s[s.group == plan].set_index("time")
        np.testing.assert_allclose(mine.survival, kmf.survival_function_.iloc[:, 0].loc[mine.index])
        ci = kmf.confidence_interval_survival_function_.loc[mine.index]
        np.testing.assert_allclose(mine.ci_lower, ci.iloc[:, 0])
        np.testing.assert_allclose(mine.ci_upper, ci.iloc[:, 1])
        np.testing.assert_array_equal(mine.at_risk, kmf.event_table.at_risk.loc[mine.index])
    summ = churn.survival_summary(con, by="plan", unit="week", as_of=as_of, at=26).set_index("group")
    for plan, g in truth.groupby("plan"):
        kmf = KaplanMeierFitter().fit(g.duration / 7, g.event)
        assert summ.loc[plan, "median_survival"] == pytest.approx(kmf.median_survival_time_)
        assert summ.loc[plan, "survival_at"] == pytest.approx(float(kmf.predict(26)))
        assert summ.loc[plan, "customers"] == len(g) and summ.loc[plan, "churned"] == g.event.sum()
    lr = churn.logrank(con, by="plan", unit="week", as_of=as_of)
    ref = multivariate_logrank_test(truth.duration / 7, truth.plan, truth.event)
    assert lr.test_statistic == pytest.approx(ref.test_statistic)
    assert lr.p_value == pytest.approx(ref.p_value) and lr.degrees_of_freedom == 2
    assert lr["p_value"] == lr.p_value
    con.close()


def test_two_group_logrank_equals_lifelines_logrank_test(tmp_path):
    con, as_of, truth = _random_store(tmp_path, seed=11)
    con.execute("UPDATE customers SET plan = CASE WHEN plan = 'basic' THEN 'basic' ELSE 'paid' END")
    truth["plan"] = np.where(truth.plan == "basic", "basic", "paid")
    lr = churn.logrank(con, by="plan", as_of=as_of)
    a, b = truth[truth.plan == "basic"], truth[truth.plan == "paid"]
    ref = logrank_test(a.duration, b.duration, a.event, b.event)
    assert lr.test_statistic == pytest.approx(ref.test_statistic)
    assert lr.p_value == pytest.approx(ref.p_value)
    assert lr.summary.tested.all()
    con.close()


def test_small_groups_are_suppressed_and_left_out_of_the_test(con):
    s = churn.survival(con, by="region", as_of=AS_OF, min_group_size=3)
    north = s[s.group == "north"]
    # south has 2 customers with a subscription (D, E): below 3, and north is then hidden too
    assert s.suppressed.all() and len(north) == 1 and north.survival.isna().all()
    with pytest.raises(cxlib.CxDataError, match="at least two groups"):
        churn.logrank(con, by="region", as_of=AS_OF, min_group_size=3)
    with pytest.raises(cxlib.CxInputError, match="compares groups"):
        churn.logrank(con, by=None)


def test_median_survival_by_hand(con):
    # non-contractual: S drops to 0.2778 at day 82, first time at or below 0.5
    m = churn.survival_summary(con, unit="day", definition="non_contractual", as_of=AS_OF, min_group_size=1, at=61)
    assert m.median_survival[0] == 82
    assert m.survival_at[0] == pytest.approx(5 / 9) and m.churn_probability_at[0] == pytest.approx(4 / 9)
    assert (m.customers[0], m.churned[0]) == (6, 3)
