"""Intervals on retention and churn: cohort cells, churn rates, period churn, retention curves by group.

Expected intervals come from scipy's Wilson interval (an independent implementation); the
hand-made store is the one of test_churn_metrics.py (as-of 2024-06-30), worked out in the comments.
"""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxlib
from cxlib.analysis import churn
from cxlib.analysis.intervals import wilson_bounds

AS_OF = "2024-06-30"


def scipy_wilson(x: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(int(x), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("""INSERT INTO customers (customer_id, signup_at) VALUES
        ('A', '2024-01-01'), ('B', '2024-01-01'), ('C', '2024-02-01'), ('D', '2024-01-10'),
        ('E', '2024-05-01'), ('F', '2024-03-01')""")
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.execute("UPDATE customers SET region = CASE WHEN customer_id IN ('A', 'B', 'C') THEN 'north' ELSE 'south' END")
    con.execute("""INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES
        ('A', 'basic', '2024-01-01', '2024-03-15'), ('B', 'basic', '2024-01-01', NULL),
        ('C', 'basic', '2024-02-01', NULL), ('D', 'basic', '2024-01-10', '2024-07-01'),
        ('E', 'basic', '2024-03-01', '2024-03-01')""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES
        ('A', '2024-01-05', 'home_page', 'web'), ('A', '2024-03-01', 'chat', 'chat'),
        ('B', '2024-01-15', 'home_page', 'web'), ('B', '2024-06-01', 'app_login', 'app'),
        ('E', '2024-05-02', 'home_page', 'web'), ('E', '2024-06-10', 'home_page', 'web'),
        ('F', '2024-02-20', 'ad_click', 'web'), ('F', '2024-04-02', 'home_page', 'web')""")
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES "
                "('o1', 'A', '2024-01-20', 10.0, 'web'), ('o2', 'D', '2024-04-01', 25.0, 'web')")
    cxlib.store.refresh_derived(con)
    yield con
    con.close()


# ---------------------------------------------------------------- the interval itself


def test_wilson_bounds_match_scipy_and_edge_cases():
    lo, hi = wilson_bounds([55, 0, 7, 1, 0, 3], [64, 7, 7, 1, 0, None])
    for i, (x, n) in enumerate([(55, 64), (0, 7), (7, 7), (1, 1)]):
        assert (lo[i], hi[i]) == pytest.approx(scipy_wilson(x, n), abs=1e-12)
    assert lo[1] == pytest.approx(0.0) and hi[2] == pytest.approx(1.0)  # all failures, all successes
    assert np.isnan(lo[4]) and np.isnan(hi[4]) and np.isnan(lo[5])  # n = 0, n missing


def test_wilson_bounds_cover_the_truth_95_percent_of_the_time():
    # n = 20, p = 0.1: Wilson covers 95.7% exactly; the Wald interval only 87.6%, so a wrong method fails the band
    rng = np.random.default_rng(20)
    n, p = 20, 0.1
    x = rng.binomial(n, p, size=1000)
    lo, hi = wilson_bounds(x, np.full(1000, n))
    coverage = np.mean((lo <= p) & (p <= hi))
    assert 0.93 <= coverage <= 0.975


# ---------------------------------------------------------------- cohort cells, churn rates, period churn


def test_cohort_retention_cells_carry_the_wilson_interval(con):
    c = churn.cohort_retention(con, period="month", as_of=AS_OF, min_group_size=1)
    jan = c[c.cohort == datetime(2024, 1, 1)].reset_index(drop=True)
    assert jan.retained.tolist() == [2, 0, 1, 0, 0, 1]  # A back in March, B back in June; cohort of 2
    assert (jan.ci_lower[0], jan.ci_upper[0]) == (1.0, 1.0)  # period 0: 1.0 by definition
    assert (jan.ci_lower[2], jan.ci_upper[2]) == pytest.approx(scipy_wilson(1, 2))
    assert (jan.ci_lower[1], jan.ci_upper[1]) == pytest.approx(scipy_wilson(0, 2))
    assert (c.ci_lower <= c.retention).all() and (c.retention <= c.ci_upper).all()


def test_a_suppressed_cohort_has_no_interval(con):
    c = churn.cohort_retention(con, period="month", as_of=AS_OF)  # every cohort is below 5
    assert c.suppressed.all() and c.ci_lower.isna().all() and c.ci_upper.isna().all()


def test_churn_rate_interval_and_its_suppression(con):
    rate = churn.churn_rate(con, as_of=AS_OF, min_group_size=1)  # contractual: A and E of A-E churned
    assert (rate.churned[0], rate.customers[0]) == (2, 5)
    assert (rate.ci_lower[0], rate.ci_upper[0]) == pytest.approx(scipy_wilson(2, 5))
    by = churn.churn_rate(con, by="region", as_of=AS_OF, min_group_size=2).set_index("segment")
    assert (by.ci_lower["north"], by.ci_upper["north"]) == pytest.approx(scipy_wilson(1, 3))  # A of A, B, C
    assert (by.ci_lower["south"], by.ci_upper["south"]) == pytest.approx(scipy_wilson(1, 2))  # E of D, E
    hidden = churn.churn_rate(con, by="region", as_of=AS_OF, min_group_size=3)
    # south (2 < 3) is hidden, and north with it (its complement): no interval gives either away
    assert hidden.suppressed.all() and hidden.ci_lower.isna().all() and hidden.ci_upper.isna().all()


def test_period_churn_interval(con):
    p = churn.period_churn(con, period="month", as_of=AS_OF)
    mar = p[p.period == datetime(2024, 3, 1)].iloc[0]
    assert (mar.ci_lower, mar.ci_upper) == pytest.approx(scipy_wilson(mar.lost, mar.active_at_start))
    rated = p.dropna(subset=["churn_rate"])
    assert len(rated) > 2
    assert ((rated.ci_lower <= rated.churn_rate) & (rated.churn_rate <= rated.ci_upper)).all()
    blank = churn.period_churn(con, period="month", definition="non_contractual", as_of=AS_OF)
    assert blank.loc[~blank.judged, "ci_lower"].isna().all()  # not yet judged: no rate, no interval


# ---------------------------------------------------------------- retention curves by group


def test_retention_by_group_by_hand(con):
    r = churn.retention_by_group(con, by="region", as_of=AS_OF, min_group_size=1)
    north, south = r[r.segment == "north"], r[r.segment == "south"]
    # north: the January cohort A, B; June is not over at as-of, so periods 0..4
    assert north.customers.tolist() == [2] * 5 and north.retained.tolist() == [2, 0, 1, 0, 0]
    # south: F (Feb: 0..3), D (Apr: 0..1), E (May: 0); F back in April, D and E never
    assert south.customers.tolist() == [3, 2, 1, 1] and south.retained.tolist() == [3, 0, 1, 0]
    row = south[south.period_number == 2].iloc[0]
    assert row.retention == 1.0 and (row.ci_lower, row.ci_upper) == pytest.approx(scipy_wilson(1, 1))


def test_retention_by_group_hides_small_cohorts_and_empty_groups(con):
    r = churn.retention_by_group(con, by="region", as_of=AS_OF, min_group_size=2)
    north, south = r[r.segment == "north"], r[r.segment == "south"]
    assert not north.suppressed.any()  # the January cohort has 2
    assert south.suppressed.all() and south.retention.isna().all() and south.ci_lower.isna().all()
    assert south.customers.isna().all()  # every southern cohort has 1 customer


def test_retention_by_nps_group_and_none(sample_con):
    r = churn.retention_by_group(sample_con, by="nps_group")
    assert {"promoter", "passive", "detractor", "(none)"} <= set(r.segment)
    shown = r[~r.suppressed]
    assert ((shown.ci_lower <= shown.retention) & (shown.retention <= shown.ci_upper)).all()
    one = churn.retention_by_group(sample_con, by=None)
    assert set(one.segment) == {"all"} and one.retention.iloc[0] == 1.0


def _planted_store(path, rng):
    """400 customers over six monthly cohorts; 'loyal' ones come back each month with p 0.8, 'fickle' 0.4."""
    con = cxlib.connect(path, read_only=False)
    rows, customers = [], []
    for i in range(400):
        group = "loyal" if i % 2 else "fickle"
        cohort = i % 6 + 1
        customers.append((f"c{i}", datetime(2024, cohort, 1), group))
        rows.append((f"c{i}", datetime(2024, cohort, 3)))
        for month in range(cohort + 1, 9):
            if rng.random() < (0.8 if group == "loyal" else 0.4):
                rows.append((f"c{i}", datetime(2024, month, 10)))
    con.execute("ALTER TABLE customers ADD COLUMN tier VARCHAR")
    con.register("people", pd.DataFrame(customers, columns=["customer_id", "signup_at", "tier"]))
    con.register("visits", pd.DataFrame(rows, columns=["customer_id", "ts"]))
    con.execute("INSERT INTO customers (customer_id, signup_at, tier) SELECT * FROM people")
    con.execute("INSERT INTO events (customer_id, ts, touchpoint, channel) SELECT customer_id, ts, 'app_login', 'app' "
                "FROM visits")
    con.unregister("people")
    con.unregister("visits")
    cxlib.store.refresh_derived(con)
    return con


def test_retention_by_group_recovers_a_planted_difference(tmp_path):
    con = _planted_store(tmp_path / "p.duckdb", np.random.default_rng(3))
    r = churn.retention_by_group(con, by="tier", as_of="2024-08-31")
    loyal = r[r.segment == "loyal"].set_index("period_number")
    fickle = r[r.segment == "fickle"].set_index("period_number")
    for k in (1, 2, 3):
        assert fickle.loc[k, "ci_upper"] < loyal.loc[k, "ci_lower"]  # intervals apart
        assert loyal.loc[k, "retention"] == pytest.approx(0.8, abs=0.1)
        assert fickle.loc[k, "retention"] == pytest.approx(0.4, abs=0.1)
    con.close()


def test_charts_draw_the_intervals(con):
    from cxlib.charts import churn as charts
    from cxlib.charts.theme import colour

    spec = charts.chart_period_churn(churn.period_churn(con, period="month", as_of=AS_OF)).to_dict()
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert rules and rules[0]["mark"]["color"] == colour("interval") and rules[0]["encoding"]["y2"]["field"] == "ci_upper"
    curves = charts.chart_retention_by_group(churn.retention_by_group(con, by="region", as_of=AS_OF, min_group_size=2))
    spec = curves.to_dict()
    assert spec["layer"][0]["mark"]["type"] == "area" and spec["layer"][0]["encoding"]["y2"]["field"] == "ci_upper"
    assert {r["segment"] for r in next(iter(spec["datasets"].values()))} == {"north"}  # south is suppressed
    heat = charts.chart_cohort_retention(churn.cohort_retention(con, as_of=AS_OF, min_group_size=1)).to_dict()
    assert any("Wilson" in t.get("title", "") for t in heat["encoding"]["tooltip"])


def test_retention_by_group_is_the_same_from_the_stored_activity_and_from_the_rows(sample_con, monkeypatch):
    from cxlib.analysis.churn import retention

    assert retention._activity(sample_con) is retention._ACTIVITY_STORED  # keyed by the integer cid
    stored = churn.retention_by_group(sample_con, by="region")
    monkeypatch.setattr(retention, "_activity", lambda con: retention._ACTIVITY_SCANNED)  # keyed by customer_id
    scanned = churn.retention_by_group(sample_con, by="region")
    pd.testing.assert_frame_equal(stored, scanned)
    assert len(stored) > 40 and not stored.suppressed.any()
