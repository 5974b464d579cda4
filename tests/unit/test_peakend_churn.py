"""Peak-end against churn, and Fisher-z intervals on every peak-end correlation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxlib
from cxlib.analysis import voc
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived


def _store(tmp_path, customers, answers=(), subscriptions=()):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')", [(c,) for c in customers])
    rows = [(f"r{i:05d}", *a) for i, a in enumerate(answers)]
    if rows:
        con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) "
                        "VALUES (?, ?, ?, ?, ?, ?)", rows)
    if subscriptions:
        con.executemany("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES (?, 'basic', "
                        "'2024-01-01', ?)", list(subscriptions))
    con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) "
                "VALUES ('asof', ?, '2024-12-31', 'nps', 8)", [customers[0]])  # fixes the as-of date
    refresh_derived(con)
    return con


def _planted_store(tmp_path, n=300, seed=11):
    """Three CSAT ratings per customer; the END rating drives churn, the first two are noise."""
    rng = np.random.default_rng(seed)
    customers, answers, subs, truth = [], [], [], []
    for i in range(n):
        cid = f"c{i:04d}"
        ratings = rng.integers(1, 6, size=3)
        churned = rng.random() < (0.85 if ratings[-1] <= 2 else 0.08)
        customers.append(cid)
        for day, r in enumerate(ratings, start=1):
            answers.append((cid, f"2024-03-{day:02d} 10:00", "csat", int(r), "checkout"))
        subs.append((cid, "2024-06-01" if churned else None))
        truth.append((cid, ratings, churned))
    return _store(tmp_path, customers, answers, subs), truth


# ------------------------------------------------------------------ Fisher z


@pytest.mark.parametrize("rho,n,seed", [(0.0, 12, 1), (0.5, 40, 2), (-0.8, 200, 3), (0.95, 8, 4)])
def test_fisher_z_matches_scipy(rho, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    res = stats.pearsonr(x[:, 0], x[:, 1])
    want = res.confidence_interval(confidence_level=0.95)
    got = voc.fisher_z_interval(res.statistic, n)
    assert got == pytest.approx((want.low, want.high), abs=1e-9)


def test_fisher_z_edge_cases():
    assert all(math.isnan(v) for v in voc.fisher_z_interval(0.3, 3))  # n - 3 = 0: no interval
    assert all(math.isnan(v) for v in voc.fisher_z_interval(0.3, 0))
    assert all(math.isnan(v) for v in voc.fisher_z_interval(float("nan"), 50))
    assert voc.fisher_z_interval(1.0, 10) == (1.0, 1.0)
    assert voc.fisher_z_interval(-1.0, 10) == (-1.0, -1.0)
    lo, hi = voc.fisher_z_interval(0.0, 4)  # n = 4: SE = 1, z = +/-1.96
    assert (lo, hi) == pytest.approx((-math.tanh(1.959963984540054), math.tanh(1.959963984540054)))


def test_fisher_z_covers_the_true_correlation_95_percent_of_the_time():
    # 1,000 bivariate normal samples of n = 10 with rho = 0.6: a 1/sqrt(n) standard error would cover ~90%
    rng = np.random.default_rng(20)
    rho, n, sims = 0.6, 10, 1000
    x = rng.standard_normal((sims, n))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((sims, n))
    xc, yc = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    r = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    ci = np.array([voc.fisher_z_interval(v, n) for v in r])
    covered = ((ci[:, 0] <= rho) & (rho <= ci[:, 1])).mean()
    assert 0.93 <= covered <= 0.97


def test_fisher_z_covers_a_point_biserial_correlation():
    # churned (0/1) from a latent normal with rho = 0.5: the true point-biserial r is rho * sqrt(2 / pi)
    # (p = 1/2); in 1,000 samples of n = 40 the Fisher-z interval covers it ~95% (it over-covers, ~98%,
    # only for strong correlations such as r = 0.64)
    rng = np.random.default_rng(5)
    rho, n, sims = 0.5, 40, 1000
    x = rng.standard_normal((sims, n))
    y = (rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((sims, n)) > 0).astype(float)
    truth = rho * math.sqrt(2 / math.pi)
    xc, yc = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    r = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    ci = np.array([voc.fisher_z_interval(v, n) for v in r])
    covered = ((ci[:, 0] <= truth) & (truth <= ci[:, 1])).mean()
    assert 0.93 <= covered <= 0.97


# ------------------------------------------------------------------ peak-end against churn


def test_peak_end_churn_recovers_the_planted_end_effect(tmp_path):
    con, truth = _planted_store(tmp_path)
    res = voc.peak_end(con, outcome="churn", min_group_size=5).iloc[0]
    churned = np.array([float(c) for _, _, c in truth])
    ratings = np.array([r for _, r, _ in truth], dtype=float)
    peak = np.array([min(r, key=lambda v: (-abs(v - 3), v)) for r in ratings])
    end, mean = ratings[:, -1], ratings.mean(axis=1)
    # point-biserial correlations against scipy's, computed from the planted data
    assert res["n"] == len(truth) and res["churned"] == churned.sum()
    assert res["r_end"] == pytest.approx(stats.pointbiserialr(churned, end).statistic)
    assert res["r_mean"] == pytest.approx(stats.pointbiserialr(churned, mean).statistic)
    assert res["r_peak"] == pytest.approx(stats.pointbiserialr(churned, peak).statistic)
    assert res["r_peak_end"] == pytest.approx(stats.pointbiserialr(churned, (peak + end) / 2).statistic)
    assert (res["r_end_lower"], res["r_end_upper"]) == pytest.approx(voc.fisher_z_interval(res["r_end"], res["n"]))
    # the end drives churn: strongly negative, its interval clear of 0; peak-end beats the mean
    assert res["r_end"] < -0.5 and res["r_end_upper"] < 0
    assert res["r_peak_end"] < res["r_mean"] < 0
    assert res["peak_end_better"] and res["p_value"] < 0.05
    assert "contractual" in res["definition"]
    headline = voc.peak_end_headline(voc.peak_end(con, outcome="churn"))
    assert headline.startswith("(Peak + end) / 2 predicts churn better") and "95% CI" in headline


def test_peak_end_nps_correlations_carry_fisher_intervals(tmp_path):
    con, truth = _planted_store(tmp_path, n=40)
    for cid, ratings, _ in truth:  # a relationship NPS after the ratings that follows the end rating
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES "
                    "(?, ?, '2024-04-01', 'nps', ?)", [f"n{cid}", cid, int(2 * ratings[-1])])
    res = voc.peak_end(con).iloc[0]
    assert res["outcome"] == "nps" and res["n"] == 40
    for name in ("peak_end", "mean", "peak", "end"):
        lo, hi = voc.fisher_z_interval(res[f"r_{name}"], 40)
        assert res[f"r_{name}_lower"] == pytest.approx(lo) and res[f"r_{name}_upper"] == pytest.approx(hi)
        assert lo <= res[f"r_{name}"] <= hi
    assert res["r_end"] == pytest.approx(1.0) and res["r_end_lower"] == pytest.approx(1.0)


def test_peak_end_churn_with_few_churned_is_suppressed_intervals_too(tmp_path):
    customers = [f"c{i}" for i in range(30)]
    answers = [(c, f"2024-03-0{d}", "csat", (i + d) % 5 + 1, "checkout") for i, c in enumerate(customers)
               for d in (1, 2)]
    subs = [(c, "2024-06-01" if i < 3 else None) for i, c in enumerate(customers)]  # 3 churned < 5
    con = _store(tmp_path, customers, answers, subs)
    res = voc.peak_end(con, outcome="churn").iloc[0]
    assert res["suppressed"] and not res["peak_end_better"]
    blank = [c for c in res.index if c.startswith("r_") or c in ("n", "churned", "t", "p_value", "diff")]
    assert all(pd.isna(res[c]) for c in blank)
    assert voc.peak_end_headline(voc.peak_end(con, outcome="churn")).startswith("Too few customers")
    assert not voc.peak_end(con, outcome="churn", min_group_size=3)["suppressed"].iloc[0]


def test_peak_end_churn_on_a_surveys_only_store_says_what_it_needs(tmp_path):
    customers = [f"c{i}" for i in range(10)]
    answers = [(c, f"2024-03-0{d}", "csat", d + 1, "checkout") for c in customers for d in (1, 2)]
    con = _store(tmp_path, customers, answers)
    with pytest.raises(CxDataError, match="peak-end against churn needs churn status: non-contractual churn needs "
                                          "dated activity"):
        voc.peak_end(con, outcome="churn")
    with pytest.raises(CxDataError, match="needs churn status"):
        voc.peak_end_bins(con, outcome="churn")
    with pytest.raises(CxInputError, match="outcome 'revenue'"):
        voc.peak_end(con, outcome="revenue")


def test_peak_end_churn_bins_carry_wilson_intervals(tmp_path):
    from statsmodels.stats.proportion import proportion_confint

    con, truth = _planted_store(tmp_path)
    bins = voc.peak_end_bins(con, outcome="churn", min_group_size=5)
    assert list(bins.columns) == ["predictor", "value", "customers", "churned", "churn_rate", "ci_lower", "ci_upper",
                                  "suppressed"]
    shown = bins[~bins["suppressed"]]
    assert len(shown) >= 6
    for row in shown.itertuples():
        lo, hi = proportion_confint(int(row.churned), int(row.customers), method="wilson")
        assert (row.ci_lower, row.ci_upper) == pytest.approx((lo, hi))
        assert row.churn_rate == pytest.approx(row.churned / row.customers)
    hidden = bins[bins["suppressed"]]
    assert hidden[["churned", "churn_rate", "ci_lower", "ci_upper"]].isna().all().all()
    assert bins.groupby("predictor")["customers"].apply(lambda c: c.fillna(0).sum()).max() <= len(truth)
    # peak_end bin 1.0 (peak 1, end 1) churns more than bin 5.0
    pe = shown[shown["predictor"] == "peak_end"].set_index("value")
    assert pe["churn_rate"].iloc[0] > pe["churn_rate"].iloc[-1]


def test_peak_end_nps_bins_carry_t_intervals(tmp_path):
    con, truth = _planted_store(tmp_path, n=60)
    for cid, ratings, _ in truth:
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES "
                    "(?, ?, '2024-04-01', 'nps', ?)", [f"n{cid}", cid, int(ratings.sum() % 11)])
    bins = voc.peak_end_bins(con, min_group_size=5)
    assert list(bins.columns) == ["predictor", "value", "customers", "mean_nps", "ci_lower", "ci_upper", "suppressed"]
    per = pd.DataFrame({"pe": [(min(r, key=lambda v: (-abs(v - 3), v)) + r[-1]) / 2 for _, r, _ in truth],
                        "nps": [int(r.sum() % 11) for _, r, _ in truth]})
    per.loc[0, "nps"] = 8  # the first customer's later answer, the one that fixes the as-of date
    per["value"] = np.floor(per["pe"] * 2 + 0.5) / 2
    for row in bins[(bins["predictor"] == "peak_end") & ~bins["suppressed"]].itertuples():
        y = per.loc[per["value"] == row.value, "nps"]
        lo, hi = stats.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
        assert row.customers == len(y) and (row.ci_lower, row.ci_upper) == pytest.approx((lo, hi))
    assert bins.loc[bins["suppressed"], ["mean_nps", "ci_lower", "ci_upper"]].isna().all().all()


def test_chart_peak_end_draws_the_intervals_of_either_outcome(tmp_path):
    from cxlib.charts import voc as charts

    con, _ = _planted_store(tmp_path)
    d = charts.chart_peak_end(voc.peak_end_bins(con, outcome="churn")).to_dict()
    rules, lines = d["layer"]
    assert rules["mark"]["type"] == "rule" and rules["mark"]["color"] == charts.colour("interval")
    assert rules["encoding"]["y"]["field"] == "ci_lower" and rules["encoding"]["y2"]["field"] == "ci_upper"
    assert lines["encoding"]["y"]["field"] == "churn_rate" and lines["encoding"]["y"]["axis"]["format"] == "%"
    assert "95% Wilson intervals" in d["description"] and "churn" in d["title"]
    shown = d["datasets"][d["data"]["name"]] if "datasets" in d else None
    assert shown is None or all(r["churn_rate"] is not None for r in shown)  # suppressed bins are not drawn
    nps_bins = pd.DataFrame({"predictor": ["peak_end", "mean"], "value": [4.0, 4.0], "customers": [30, 40],
                             "mean_nps": [7.5, 7.2], "ci_lower": [6.9, 6.7], "ci_upper": [8.1, 7.7],
                             "suppressed": [False, False]})
    d = charts.chart_peak_end(nps_bins).to_dict()
    assert d["layer"][1]["encoding"]["y"]["scale"]["domain"] == [0, 10]
    assert "95% Student t intervals" in d["description"]


def test_peak_end_table_lists_each_correlation_with_its_interval(tmp_path):
    con, _ = _planted_store(tmp_path, n=120)
    res = voc.peak_end(con, outcome="churn")
    t = voc.peak_end_table(res)
    assert t["predictor"].tolist() == ["(peak + end) / 2", "mean of all ratings", "peak", "end"]
    row = t.set_index("predictor").loc["end"]
    assert (row["r"], row["ci_lower"], row["ci_upper"]) == pytest.approx(
        (res["r_end"].iloc[0], res["r_end_lower"].iloc[0], res["r_end_upper"].iloc[0]), abs=0.005)  # two decimals
    assert voc.peak_end_table(voc.peak_end(con, outcome="churn", min_group_size=500)).empty  # suppressed: no rows
