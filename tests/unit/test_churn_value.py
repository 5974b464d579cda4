"""Cox model, value of experience, at-risk list and CSV export: by hand and against lifelines."""

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from test_churn_metrics import AS_OF, con  # noqa: F401  (the hand-made store)

import cxlib
from cxlib.analysis import churn


def _fixed_covariate_store(tmp_path, n=300, seed=5):
    """Subscriptions with exponential lifetimes; NPS answered at signup, no tickets: the
    covariates never change, so the time-varying model must equal an ordinary Cox fit."""
    rng = np.random.default_rng(seed)
    con = cxlib.connect(tmp_path / "cox.duckdb", read_only=False)
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    score = rng.choice([2, 5, 7, 8, 9, 10], n)
    group = np.where(score <= 6, "detractor", np.where(score <= 8, "passive", "promoter"))
    rate = np.where(group == "detractor", 1 / 150, np.where(group == "passive", 1 / 300, 1 / 400))
    life = np.maximum(1, np.ceil(rng.exponential(1 / rate)))
    end = start + pd.to_timedelta(life, unit="D")
    as_of = pd.Timestamp("2024-06-30")
    ended = end <= as_of
    ids = [f"c{i:04d}" for i in range(n)]
    cust = pd.DataFrame({"customer_id": ids, "signup_at": start})
    subs = pd.DataFrame({"customer_id": ids, "plan": "basic", "started_at": start, "ended_at": pd.Series(end).where(ended)})
    resp = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "customer_id": ids, "ts": start,
                         "metric": "nps", "score": score})
    ords = pd.DataFrame({"order_id": [f"o{i}" for i in range(n)], "customer_id": ids,
                           "ts": as_of - pd.Timedelta(days=10), "amount": 100.0})
    ords = ords[~ended].copy()
    con.execute("INSERT INTO customers SELECT * FROM cust")
    con.execute("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) SELECT * FROM subs")
    con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) SELECT * FROM resp")
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount) SELECT order_id, customer_id, ts, amount FROM ords")
    duration = np.where(ended, life, (as_of - start).days)
    truth = pd.DataFrame({"customer_id": ids, "duration": duration.astype(float), "event": ended,
                          "nps_detractor": (group == "detractor").astype(float),
                          "nps_passive": (group == "passive").astype(float)})
    return con, as_of, truth


def test_time_varying_cox_equals_an_ordinary_cox_when_nothing_changes(tmp_path):
    con, as_of, truth = _fixed_covariate_store(tmp_path)
    m = churn.cox_churn(con, as_of=as_of)
    ref = CoxPHFitter().fit(truth.drop(columns="customer_id"), "duration", "event")
    s = m.summary.set_index("covariate")
    assert list(s.index) == ["nps_detractor", "nps_passive"]  # constant covariates are left out
    for cov in s.index:
        assert s.loc[cov, "coef"] == pytest.approx(ref.params_[cov], rel=1e-5)
        assert s.loc[cov, "se"] == pytest.approx(ref.standard_errors_[cov], rel=1e-4)
        assert s.loc[cov, "p_value"] == pytest.approx(ref.summary.loc[cov, "p"], rel=1e-3, abs=1e-12)
        assert s.loc[cov, "hazard_ratio"] == pytest.approx(np.exp(s.loc[cov, "coef"]))
        lo, hi = np.exp(ref.confidence_intervals_.loc[cov])
        assert (s.loc[cov, "ci_lower"], s.loc[cov, "ci_upper"]) == (pytest.approx(lo, rel=1e-4), pytest.approx(hi, rel=1e-4))
    assert s.loc["nps_detractor", "hazard_ratio"] > 1.5  # planted: 400/150 = 2.7 vs promoters
    assert m.n_customers == len(truth) and m.n_events == truth.event.sum()

    # churn probability over the next 90 days, against lifelines' conditional survival
    risk = churn.at_risk_customers(con, as_of=as_of, horizon_days=90, top=None, model=m)
    assert len(risk) == (~truth.event).sum() and risk["rank"].tolist() == list(range(1, len(risk) + 1))
    assert risk.churn_probability.is_monotonic_decreasing
    t = truth.set_index("customer_id")
    for cid in risk.customer_id.iloc[[0, len(risk) // 2, -1]]:
        x = t.loc[[cid], ["nps_detractor", "nps_passive"]]
        tenure = t.loc[cid, "duration"]
        sf = ref.predict_survival_function(x, times=[tenure, tenure + 90]).iloc[:, 0]
        expected = 1 - sf.iloc[1] / sf.iloc[0]
        got = risk.set_index("customer_id").loc[cid, "churn_probability"]
        assert got == pytest.approx(expected, rel=1e-3)
    top = risk.iloc[0]
    assert top.nps_group == "detractor" and "detractor" in top.reasons
    assert top.expected_lost_revenue == pytest.approx(top.churn_probability * 100 * 90 / 365)
    promoters = risk[risk.nps_group == "promoter"]
    assert (promoters.reasons == "no CX factor above average").all()

    rar = churn.revenue_at_risk(con, as_of=as_of, horizon_days=90, threshold=0.2, model=m).iloc[0]
    likely = risk[risk.churn_probability >= 0.2]
    assert rar.likely_to_churn == len(likely)
    assert rar.revenue_at_risk == pytest.approx(likely.expected_lost_revenue.sum())
    assert rar.expected_lost_revenue_all == pytest.approx(risk.expected_lost_revenue.sum())
    assert "no discounting" in rar.assumptions
    con.close()


def _with_nps_and_orders(con):
    con.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) VALUES
        ('r1', 'A', '2024-01-10', 'nps', 3, NULL), ('r2', 'B', '2024-01-10', 'nps', 5, NULL),
        ('r3', 'C', '2024-02-10', 'nps', 8, NULL), ('r4', 'D', '2024-01-20', 'nps', 7, NULL),
        ('r5', 'E', '2024-03-01', 'nps', 10, NULL)""")
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('o3', 'B', '2024-05-01', 40.0, 'web')")


def test_value_by_nps_group_by_hand(con):
    _with_nps_and_orders(con)
    v = churn.value_by_nps_group(con, as_of=AS_OF, horizon_months=3, min_group_size=1).set_index("segment")
    assert list(v.index) == ["promoter", "passive", "detractor"]
    d, p, e = v.loc["detractor"], v.loc["passive"], v.loc["promoter"]
    # detractors A (churned day 74) and B (censored day 181): KM at 91.3 days = 1/2
    assert (d.customers, d.churned, d.churn_rate, d.retention_at_horizon) == (2, 1, 0.5, 0.5)
    assert (d.revenue, d.revenue_per_customer, d.active, d.revenue_last_year_per_active) == (50, 25, 1, 40)
    assert (p.customers, p.churned, p.retention_at_horizon, p.revenue, p.active) == (2, 0, 1.0, 25, 2)
    assert p.revenue_last_year_per_active == 12.5
    assert (e.customers, e.churned, e.retention_at_horizon, e.revenue) == (1, 1, 0.0, 0)
    assert pd.isna(e.revenue_last_year_per_active)  # no active promoter: no division by zero


def test_detractor_to_passive_value_by_hand(con):
    _with_nps_and_orders(con)
    out = churn.detractor_to_passive_value(con, as_of=AS_OF, horizon_months=3, min_group_size=1).iloc[0]
    # 1 active detractor (B) x churn gap (0.5 - 0) x 40 a year x 3/12 = 5
    assert (out.active_detractors, out.churn_gap, out.customers_kept) == (1, 0.5, 0.5)
    assert out.value == pytest.approx(5.0)
    half = churn.detractor_to_passive_value(con, as_of=AS_OF, horizon_months=3, share_moved=0.5, min_group_size=1)
    assert half.value[0] == pytest.approx(2.5)
    assert "observational" in out.assumptions and "contractual" in out.definition
    blank = churn.detractor_to_passive_value(con, as_of=AS_OF, horizon_months=3)  # groups of 2 < 5
    assert blank.value.isna().all() and "observational" in blank.assumptions[0]
    with pytest.raises(cxlib.CxInputError, match="share_moved"):
        churn.detractor_to_passive_value(con, share_moved=1.5)


def test_export_csv_neutralises_formulas(tmp_path):
    df = pd.DataFrame({"customer_id": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "safe"],
                       "churn_probability": [0.5, -0.25, 0, 1, 0.1, 0.2, 0.3]})
    path = churn.export_csv(df, tmp_path / "out" / "risk.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert back.customer_id.tolist()[:4] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)"]
    assert back.customer_id.tolist()[4:] == ["'\tx", "'\rx", "safe"]
    assert back.churn_probability.tolist()[1] == -0.25  # numbers stay numbers
    assert df.customer_id[0].startswith("=")  # the input is not changed
    with pytest.raises(cxlib.CxInputError, match="DataFrame"):
        churn.export_csv([1, 2], tmp_path / "x.csv")


def test_cox_needs_churners(con):
    con.execute("UPDATE subscriptions SET ended_at = NULL")
    with pytest.raises(cxlib.CxDataError, match="churned"):
        churn.cox_churn(con, as_of=AS_OF)


def test_cox_on_a_sample_of_customers_scores_everyone(tmp_path):
    con, as_of, truth = _fixed_covariate_store(tmp_path, n=300)
    m = churn.cox_churn(con, as_of=as_of, max_customers=150)
    assert m.n_customers == 150 and len(m.customers) == 300
    again = churn.cox_churn(con, as_of=as_of, max_customers=150)
    pd.testing.assert_frame_equal(m.summary, again.summary)  # the sample is seeded
    with pytest.raises(cxlib.CxInputError, match="max_customers"):
        churn.cox_churn(con, as_of=as_of, max_customers=0)
    con.close()


def test_value_by_nps_group_intervals_by_hand(con):
    """Detractors A (10 of orders, churned) and B (40, active) of the hand-made store: the churn
    rate's Wilson interval equals statsmodels', revenue per customer's t interval scipy's on
    [10, 40]; one active detractor says nothing about spread (blank interval); the KM interval
    brackets the survival."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    _with_nps_and_orders(con)
    v = churn.value_by_nps_group(con, as_of=AS_OF, horizon_months=3, min_group_size=1).set_index("segment")
    d = v.loc["detractor"]
    lo, hi = proportion_confint(1, 2, method="wilson")
    assert (d.churn_rate_lower, d.churn_rate_upper) == (pytest.approx(lo), pytest.approx(hi))
    lo, hi = stats.t.interval(0.95, 1, loc=25, scale=stats.sem([10.0, 40.0]))
    assert (d.revenue_per_customer_lower, d.revenue_per_customer_upper) == (pytest.approx(lo), pytest.approx(hi))
    assert np.isnan(d.revenue_last_year_per_active_lower)  # n = 1
    assert d.retention_at_horizon_lower < d.retention_at_horizon < d.retention_at_horizon_upper
    hidden = churn.value_by_nps_group(con, as_of=AS_OF, horizon_months=3)  # groups below 5: all suppressed
    cols = ["churn_rate_lower", "churn_rate_upper", "retention_at_horizon_lower", "retention_at_horizon_upper", "revenue_per_customer_lower",
            "revenue_per_customer_upper", "revenue_last_year_per_active_lower", "revenue_last_year_per_active_upper"]
    assert hidden.suppressed.all() and hidden[cols].isna().all().all()


def _groups(rng, sims, n, rate, horizon, rev_mean):
    """`sims` value_by_nps_group-like rows of n customers each with exponential lifetimes (rate per
    month, followed past the horizon, so Kaplan-Meier is the share still there) and lognormal
    yearly revenue: survival at the horizon with the exponential Greenwood ("log(-log)")
    interval lifelines gives, revenue mean with its t interval."""
    from scipy import stats

    surv = rng.binomial(n, np.exp(-rate * horizon), sims) / n
    half = 1.959963984540054 * np.sqrt((1 - surv) / (n * surv)) / np.abs(np.log(surv))
    rev = rng.lognormal(np.log(rev_mean) - 0.5, 1.0, (sims, n))  # mean rev_mean
    mean, sem = rev.mean(axis=1), rev.std(axis=1, ddof=1) / np.sqrt(n)
    t = stats.t.ppf(0.975, n - 1)
    return pd.DataFrame({"active": n, "retention_at_horizon": surv, "retention_at_horizon_lower": surv ** np.exp(half),
                         "retention_at_horizon_upper": surv ** np.exp(-half), "revenue_last_year_per_active": mean,
                         "revenue_last_year_per_active_lower": mean - t * sem,
                         "revenue_last_year_per_active_upper": mean + t * sem})


def test_detractor_to_passive_value_interval_covers_the_truth():
    """1,000 simulated detractor and passive groups of 300 (monthly churn hazards 0.04 and 0.02,
    yearly revenue 100 a customer): the delta-method 95% interval of the value kept over 12 months
    covers the true value, 300 x (e^-0.24 - e^-0.48) x 100, in 93-97% of them."""
    from cxlib.analysis.churn.value import _move_value

    rng = np.random.default_rng(3)
    truth = 300 * (np.exp(-0.02 * 12) - np.exp(-0.04 * 12)) * 100
    det, pas = _groups(rng, 1000, 300, 0.04, 12, 100), _groups(rng, 1000, 300, 0.02, 12, 100)
    hits = sum(out["value_lower"] <= truth <= out["value_upper"]
               for out in (_move_value(d, p, 1.0, 12) for (_, d), (_, p) in zip(det.iterrows(), pas.iterrows())))
    assert 0.93 <= hits / 1000 <= 0.97, hits / 1000


def test_chart_value_by_nps_draws_the_interval_and_the_headline_gives_it():
    from cxlib.charts import churn as charts
    from cxlib.charts.theme import colour

    df = pd.DataFrame({"segment": ["promoter", "passive", "detractor"], "customers": [10, 8, None],
                       "churn_rate": [0.1, 0.2, None], "churn_rate_lower": [0.05, 0.1, None],
                       "churn_rate_upper": [0.2, 0.35, None], "suppressed": [False, False, True]})
    spec = charts.chart_value_by_nps(df, measure="churn_rate").to_dict()
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert len(rules) == 1 and rules[0]["mark"]["color"] == colour("interval")
    assert rules[0]["encoding"]["x"]["field"] == "low" and rules[0]["encoding"]["x2"]["field"] == "high"
    assert "95% Wilson interval" in spec["description"]
    bare = charts.chart_value_by_nps(df.drop(columns=["churn_rate_lower", "churn_rate_upper"]), measure="churn_rate")
    assert not [layer for layer in bare.to_dict()["layer"] if layer["mark"]["type"] == "rule"]
    row = {"customers_kept": 45.2, "value": 5661.4, "value_lower": 3180.0, "value_upper": 8141.6,
           "horizon_months": 12, "assumptions": "as stated"}
    assert "5,661 (95% interval 3,180 to 8,142) in revenue" in churn.experience_value_headline(pd.DataFrame([row]))


def _lifelines_fit(df, **options):
    from lifelines import CoxTimeVaryingFitter

    return CoxTimeVaryingFitter(**options).fit(df, id_col="customer_id", event_col="event", start_col="start",
                                               stop_col="stop")


def test_cox_fitter_equals_lifelines_with_tied_death_times():
    """cox_churn's fitter (lifelines' Newton-Raphson with Efron's risk-set sums from cumulative
    sums) gives lifelines' own CoxTimeVaryingFitter fit to rounding, on counting-process rows in
    whole days, where many deaths tie (Efron's correction matters), with and without a penalizer."""
    from cxlib.analysis.churn.cox import _fitter

    rng = np.random.default_rng(7)
    rows = []
    for i in range(300):
        t, x1, x2 = 0, rng.integers(0, 2), 0
        for _ in range(rng.integers(1, 4)):
            stop = t + int(rng.integers(1, 30))
            rows.append((f"c{i}", t, stop, False, x1, x2))
            t, x2 = stop, x2 + int(rng.integers(0, 3))
        if rng.random() < 0.5 + 0.3 * x1:
            rows[-1] = rows[-1][:3] + (True,) + rows[-1][4:]
    df = pd.DataFrame(rows, columns=["customer_id", "start", "stop", "event", "x1", "x2"])
    assert df[df.event].duplicated("stop").sum() > 50  # many tied death times
    for options in ({}, {"penalizer": 0.1}):
        ref = _lifelines_fit(df, **options)
        fast = _fitter(**options).fit(df, id_col="customer_id", event_col="event", start_col="start",
                                      stop_col="stop")
        np.testing.assert_allclose(fast.params_, ref.params_, rtol=1e-9)
        np.testing.assert_allclose(fast.standard_errors_, ref.standard_errors_, rtol=1e-9)
        np.testing.assert_allclose(fast.summary["p"], ref.summary["p"], rtol=1e-8)
        assert fast.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-12)
        assert fast.log_likelihood_ratio_test().p_value == pytest.approx(ref.log_likelihood_ratio_test().p_value,
                                                                         rel=1e-8)
        pd.testing.assert_frame_equal(fast.baseline_cumulative_hazard_, ref.baseline_cumulative_hazard_,
                                      check_exact=False, rtol=1e-9)


def test_cox_factors_are_those_of_the_rows_cox_churn_fits(tmp_path):
    """cox_factors builds only the sampled customers' rows: the covariates that vary there, as in
    the rows cox_churn fits (one detractor among promoters: in the sample or not)."""
    from cxlib.analysis.churn import cox

    con, as_of, _ = _fixed_covariate_store(tmp_path, n=300)
    con.execute("UPDATE survey_responses SET score = CASE WHEN customer_id = 'c0007' THEN 2 ELSE 10 END")
    rows = cox._interval_rows(con, "contractual", 90, pd.Timestamp(as_of))
    seen = set()
    for max_customers in (10, 20, 50, 150, None):
        fit = cox._design(cox._rows_to_fit(rows, max_customers))
        want = [c for c in fit.columns if fit[c].nunique() > 1]
        assert cox.cox_factors(con, as_of=as_of, max_customers=max_customers) == want
        seen.add(tuple(want))
    assert seen == {(), ("nps_detractor",)}  # the detractor is in some samples and not in others
    con.execute("UPDATE subscriptions SET ended_at = NULL")
    assert cox.cox_factors(con, as_of=as_of) == []  # nobody churned
    con.close()


def test_concordance_counts_as_lifelines():
    """The Cox model's concordance equals lifelines' concordance_index exactly (the same pair
    counts), with ties in tenure, in partial hazard and between churned and censored customers."""
    from lifelines.utils import concordance_index

    from cxlib.analysis.churn.cox import _concordance

    rng = np.random.default_rng(11)
    for n in (2, 5, 40, 300, 3000):
        for _ in range(20):
            t = rng.integers(0, int(rng.integers(1, 60)), n).astype(float)
            hazard = rng.integers(1, int(rng.integers(2, 30)), n) / 7
            churned = rng.random(n) < rng.random()
            churned[0] = True
            cust = pd.DataFrame({"tenure_days": t, "partial_hazard": hazard, "churned": churned})
            try:
                want = concordance_index(t, -hazard, churned)
            except ZeroDivisionError:  # no admissible pair: a plain error here
                with pytest.raises(cxlib.CxDataError, match="concordance"):
                    _concordance(cust)
                continue
            assert _concordance(cust) == want
