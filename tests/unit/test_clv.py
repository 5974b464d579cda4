"""BG/NBD and Gamma-Gamma: formulas against numerical integration of the individual-level
model, parameter recovery from simulated purchases, and the SQL summary on a hand-made store."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import cxlib
from cxlib.analysis import clv

CDNOW = (0.243, 4.414, 0.793, 2.426)  # FHL (2005) estimates on CDNOW, used as plausible values


def _lam(params, x, s):
    """The Gamma(r, alpha) integral of lambda^x exp(-lambda s): G(r+x)/G(r) alpha^r / (alpha+s)^(r+x)."""
    r, alpha, _, _ = params
    return np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + s))


def _over_p(params, f):
    """Integrate f(p) over the Beta(a, b) dropout distribution numerically."""
    _, _, a, b = params
    val, _ = integrate.quad(lambda p: f(p) * stats.beta.pdf(p, a, b), 0, 1, epsabs=1e-14, epsrel=1e-10, limit=200)
    return val


@pytest.mark.parametrize("x, tx, T", [(2, 30.43, 38.86), (0, 0.0, 38.86), (1, 5.0, 20.0), (7, 29.43, 38.86)])
def test_bgnbd_formulas_equal_the_integrated_individual_model(x, tx, T):
    """The individual model (FHL 2005, eq. 3): L = (1-p)^x lambda^x e^(-lambda T)
    + [x>0] p (1-p)^(x-1) lambda^x e^(-lambda t_x), mixed over Gamma(lambda) analytically and over
    Beta(p) by numerical integration: independent of the Beta-function and 2F1 algebra."""
    params = CDNOW
    alive = _over_p(params, lambda p: (1 - p) ** x * _lam(params, x, T))
    dead = _over_p(params, lambda p: p * (1 - p) ** (x - 1) * _lam(params, x, tx)) if x > 0 else 0.0
    like = alive + dead
    assert clv.bgnbd_log_likelihood(params, [x], [tx], [T])[0] == pytest.approx(np.log(like), rel=1e-7)
    assert clv.bgnbd_p_alive(params, [x], [tx], [T])[0] == pytest.approx(alive / like, rel=1e-7)
    t = 39.0
    # a live customer buys (1 - exp(-lambda p t)) / p times in the next t (FHL 2005, eq. 7)
    ey = _over_p(params, lambda p: (1 - p) ** x * (_lam(params, x, T) - _lam(params, x, T + p * t)) / p) / like
    assert clv.bgnbd_expected_purchases(params, t, [x], [tx], [T])[0] == pytest.approx(ey, rel=1e-6)


def test_bgnbd_small_values_by_hand():
    r, alpha, _, _ = CDNOW
    # x = 0: L = (alpha/(alpha+T))^r * B(a, b)/B(a, b) = (alpha/(alpha+T))^r; P(alive) = 1
    assert clv.bgnbd_log_likelihood(CDNOW, [0], [0], [10])[0] == pytest.approx(r * np.log(alpha / (alpha + 10)))
    assert clv.bgnbd_p_alive(CDNOW, [0], [0], [10])[0] == 1.0
    # a customer whose last purchase was long ago is less likely alive than one who just bought
    p = clv.bgnbd_p_alive(CDNOW, [3, 3], [5, 30], [38.86, 38.86])
    assert p[0] < p[1] <= 1
    assert clv.bgnbd_expected_purchases(CDNOW, 0, [2], [30.43], [38.86])[0] == pytest.approx(0.0)
    # E[X(t)] of a new customer equals the mean of the simulated model's repeat purchases
    assert clv.bgnbd_expected_purchases_new(CDNOW, 0) == pytest.approx(0.0)


def _simulate_bgnbd(params, n, rng, T_low=30, T_high=80):
    r, alpha, a, b = params
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(T_low, T_high, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return x, tx, T


def test_bgnbd_recovers_simulated_parameters():
    rng = np.random.default_rng(2024)
    truth = (0.25, 4.0, 0.8, 2.5)
    x, tx, T = _simulate_bgnbd(truth, 6000, rng)
    fit = clv.fit_bgnbd(x, tx, T)
    got = (fit["r"], fit["alpha"], fit["a"], fit["b"])
    for g, t, tol in zip(got, truth, (0.15, 0.3, 0.3, 0.4)):
        assert g == pytest.approx(t, rel=tol)
    # the optimum is a maximum: the truth and small moves have a lower likelihood
    ll = fit["log_likelihood"]
    assert ll >= clv.bgnbd_log_likelihood(truth, x, tx, T).sum()
    for k in range(4):
        moved = list(got)
        moved[k] *= 1.05
        assert ll > clv.bgnbd_log_likelihood(moved, x, tx, T).sum()
    # and the model predicts the simulated population's purchases: E[X(T)] averaged
    sim_mean = x.mean()
    model_mean = np.mean([clv.bgnbd_expected_purchases_new(got, t) for t in T])
    assert model_mean == pytest.approx(sim_mean, rel=0.08)


def test_gamma_gamma_formula_and_recovery():
    params = (6.0, 4.0, 15.0)
    rng = np.random.default_rng(7)
    n = 6000
    nu = rng.gamma(params[1], 1 / params[2], n)
    x = rng.integers(1, 15, n)
    m = np.array([rng.gamma(params[0], 1 / nu[i], x[i]).mean() for i in range(n)])
    fit = clv.fit_gamma_gamma(x, m)
    assert fit["p"] == pytest.approx(6.0, rel=0.15)
    assert fit["q"] == pytest.approx(4.0, rel=0.25)
    assert fit["gamma"] == pytest.approx(15.0, rel=0.35)
    # the log-likelihood integrates to 1 over m for a fixed x (a proper density)
    dens = integrate.quad(lambda v: np.exp(clv.gamma_gamma_log_likelihood(params, [3], [v])[0]), 0, np.inf)[0]
    assert dens == pytest.approx(1.0, rel=1e-6)
    # conditional mean spend: p (gamma + x m) / (p x + q - 1), by hand for x = 2, m = 10
    assert clv.gamma_gamma_expected_spend(params, [2], [10.0])[0] == pytest.approx(6 * (15 + 20) / (12 + 3))
    assert clv.gamma_gamma_expected_spend(params, [0], [0.0])[0] == pytest.approx(6 * 15 / 3)


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "c.duckdb", read_only=False)
    con.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('A', '2024-01-01'), ('B', '2024-01-01'), ('C', '2024-01-01')")
    con.execute("""INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES
        ('o1', 'A', '2024-01-01 09:00', 10, 'web'),
        ('o2', 'A', '2024-01-01 18:00', 5, 'web'),    -- same day: one transaction of 15
        ('o3', 'A', '2024-01-15 10:00', 20, 'web'),   -- repeat 1, day 14
        ('o4', 'A', '2024-01-29 10:00', 40, 'web'),   -- repeat 2, day 28
        ('o5', 'A', '2024-03-01 10:00', 7, 'web'),    -- holdout
        ('o6', 'B', '2024-02-01 10:00', 30, 'web'),   -- one purchase only
        ('o7', 'C', '2024-03-05 10:00', 30, 'web')    -- first purchase after calibration: not in""")
    yield con
    con.close()


def test_clv_summary_by_hand(con):
    s = clv.clv_summary(con, calibration_end="2024-02-12", holdout_end="2024-03-31", unit="week").set_index("customer_id")
    assert list(s.index) == ["A", "B"]
    a, b = s.loc["A"], s.loc["B"]
    assert (a.frequency, a.recency, a["T"]) == (2, pytest.approx(4.0), pytest.approx(6.0))  # 28 and 42 days
    assert a.monetary_value == pytest.approx(30.0) and a.holdout_purchases == 1
    assert (b.frequency, b.recency, b["T"], b.monetary_value) == (0, 0, pytest.approx(11 / 7), 0)
    with pytest.raises(cxlib.CxInputError, match="before calibration_end"):
        clv.clv_summary(con, calibration_end="2024-02-12", holdout_end="2024-01-01")
    with pytest.raises(cxlib.CxInputError, match="time unit 'weeks'"):
        clv.clv_summary(con, calibration_end="2024-02-12", unit="weeks")


def test_bgnbd_on_the_sample_store_predicts_the_holdout(sample_con):
    m = clv.bgnbd(sample_con, calibration_end="2025-12-31", unit="week")
    s = m.summary().iloc[0]
    assert m.converged and all(v > 0 for v in m.params)
    assert s.holdout_expected == pytest.approx(s.holdout_actual, rel=0.25)
    c = m.customers
    assert c.p_alive.between(0, 1).all() and (c.expected_purchases >= 0).all()
    pd.testing.assert_series_equal(m.expected_purchases(m.horizon).reset_index(drop=True),
                                   c.expected_purchases.rename("expected_purchases"), check_names=False)
    customers, summary = clv.customer_lifetime_value(sample_con, horizon_months=12)
    assert summary.total_clv[0] == pytest.approx(customers.clv.sum())
    assert (customers.clv >= 0).all() and customers.clv.is_monotonic_decreasing
    undiscounted, _ = clv.customer_lifetime_value(sample_con, horizon_months=12, annual_discount_rate=0.0)
    assert undiscounted.clv.sum() > customers.clv.sum()


def _fitted(customers: pd.DataFrame) -> clv.BgNbdResult:
    return clv.BgNbdResult(r=0.25, alpha=4.4, a=0.8, b=2.4, log_likelihood=-1.0, converged=True, unit="week",
                           horizon=26.0, holdout_length=26.0, customers=customers)


def test_holdout_by_frequency_by_hand():
    c = pd.DataFrame({"customer_id": list("abcdefgh"),
                      "frequency": [0, 0, 0, 1, 1, 2, 5, 9],
                      "holdout_purchases": [0, 1, 0, 2, 0, 3, 4, 1],
                      "expected_holdout": [0.2, 0.2, 0.5, 1.0, 0.8, 2.0, 3.0, 5.0]})
    out = clv.holdout_by_frequency(_fitted(c), max_frequency=2, min_group_size=2).set_index("label")
    assert list(out.index) == ["0", "1", "2+"] and list(out["frequency"]) == [0, 1, 2]
    assert list(out["customers"]) == [3, 2, 3]
    assert out.loc["0", "actual"] == pytest.approx(1 / 3) and out.loc["0", "expected"] == pytest.approx(0.3)
    assert out.loc["1", "actual"] == pytest.approx(1.0) and out.loc["1", "expected"] == pytest.approx(0.9)
    assert out.loc["2+", "actual"] == pytest.approx(8 / 3) and out.loc["2+", "expected"] == pytest.approx(10 / 3)
    hidden = clv.holdout_by_frequency(_fitted(c), max_frequency=2, min_group_size=3).set_index("label")
    # '1' has 2 customers: hidden, and the next smallest ('0', 3) with it (complementary)
    assert hidden["suppressed"].tolist() == [True, True, False] and hidden["actual"].isna().tolist()[:2] == [True, True]
    with pytest.raises(cxlib.CxInputError, match="bgnbd"):
        clv.holdout_by_frequency(c)
    with pytest.raises(cxlib.CxInputError, match="max_frequency"):
        clv.holdout_by_frequency(_fitted(c), max_frequency=0)


def test_lifetime_value_report_says_plainly_why_it_cannot_fit(con):
    report = clv.lifetime_value_report(con, horizon_months=12)
    assert not report.fitted and report.summary is None and report.by_frequency is None
    assert report.headline == ("The lifetime value models could not be fitted to this store's orders: the Gamma-Gamma "
                               "spend model needs at least two customers with repeat purchases.")
    with pytest.raises(cxlib.CxInputError, match="holdout_days"):
        clv.lifetime_value_report(con, holdout_days=0)


def test_lifetime_value_fits_on_a_store_of_orders_alone(sample_con, tmp_path):
    """A transaction log alone (customers created from first sight) gives the sample's lifetime value."""
    path = tmp_path / "orders.duckdb"
    orders = sample_con.execute("SELECT order_id, customer_id, ts, amount FROM orders").df()
    assert cxlib.ingest(orders, "orders", db=path, add_customers=True).rejected == 0
    only = cxlib.connect(path)
    report = clv.lifetime_value_report(only, horizon_months=12)
    _, full = clv.customer_lifetime_value(sample_con, horizon_months=12)
    assert report.fitted and report.summary["total_clv"][0] == pytest.approx(full["total_clv"][0], rel=1e-6)
    assert report.headline.startswith("Expected value of today's buying customers over the next 12 months: ")
    assert report.holdout["holdout_expected"][0] == pytest.approx(report.holdout["holdout_actual"][0], rel=0.25)
    shown = report.by_frequency[~report.by_frequency["suppressed"]]
    assert len(shown) >= 4 and shown["actual"].notna().all()
    only.close()


# --------------------------------------------------------------------------- CLV intervals and segments


def _simulate_bgnbd_fast(params, n, rng, T_low=20, T_high=60):
    """`_simulate_bgnbd`, vectorised over customers (one purchase of every live customer per pass)."""
    r, alpha, a, b = params
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(T_low, T_high, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        alive &= t <= T
        x += alive
        tx = np.where(alive, t, tx)
        alive &= rng.random(n) >= p
    return x, tx, T


@pytest.mark.slow
def test_parameter_interval_covers_the_true_mean_expected_purchases():
    """200 simulated stores of 300 customers from known BG/NBD parameters (200, not 1,000: each
    store needs a fit; about 25 s on a busy machine, hence slow): the 95% parameter-uncertainty interval of the customers' mean expected purchases in
    the next 26 weeks (the quantity CLV multiplies by spend) covers its value under the true
    parameters in 92-98% of those with an interval (an interval 1.4 times too wide covers 99%).
    A fit at the boundary (no positive definite Hessian, so no interval) must be rare (at most 3%).
    Fitted as fit_bgnbd does (same objective, optimiser and Hessian), from one start to save time."""
    truth = (0.5, 8.0, 0.8, 3.0)
    rng = np.random.default_rng(11)
    hits, sims, boundary = 0, 200, 0
    for i in range(sims):
        x, tx, T = _simulate_bgnbd_fast(truth, 300, rng)
        (gx, gtx, gT), w, _ = clv._grouped([x, tx, T])
        neg_ll, total = clv._bgnbd_mean_neg_ll(gx, gtx, gT, w)
        est, _, _ = clv._fit(neg_ll, [truth], 4)
        cov = clv._log_covariance(neg_ll, est, total)
        if cov is None:
            boundary += 1
            continue
        draws = clv.parameter_draws(est, cov, 200, seed=i)
        with np.errstate(all="ignore"):
            means = np.nanmean(clv.bgnbd_expected_purchases(draws.T[:, :, None], 26, x, tx, T), axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
        hits += low <= clv.bgnbd_expected_purchases(truth, 26, x, tx, T).mean() <= high
    assert boundary <= 0.03 * sims
    assert 0.92 <= hits / (sims - boundary) <= 0.98, hits / (sims - boundary)


def test_log_covariance_equals_statsmodels_numerical_hessian():
    """The covariance behind the intervals: the inverse Hessian of the BG/NBD and Gamma-Gamma
    negative log-likelihoods in log-parameters, against statsmodels' own numerical Hessian of
    the per-customer log-likelihood summed over the CDNOW sample. Also the published CDNOW
    Gamma-Gamma fit (Fader & Hardie 2013: p = 6.25, q = 3.74, gamma = 15.44)."""
    from realdata import data_file
    from statsmodels.tools.numdiff import approx_hess

    d = pd.read_csv(data_file("cdnow_summary"))
    fit = clv.fit_bgnbd(d["x"], d["t_x"], d["T"])
    logp = np.log([fit["r"], fit["alpha"], fit["a"], fit["b"]])
    hess = approx_hess(logp, lambda lp: clv.bgnbd_log_likelihood(np.exp(lp), d["x"], d["t_x"], d["T"]).sum())
    np.testing.assert_allclose(fit["log_covariance"], np.linalg.inv(-hess), rtol=1e-3)
    rep = d[d["x"] > 0]
    gg = clv.fit_gamma_gamma(rep["x"], rep["zbar"])
    assert (gg["p"], gg["q"], gg["gamma"]) == (pytest.approx(6.25, abs=0.01), pytest.approx(3.74, abs=0.01),
                                               pytest.approx(15.44, abs=0.01))
    logq = np.log([gg["p"], gg["q"], gg["gamma"]])
    hess = approx_hess(logq, lambda lp: clv.gamma_gamma_log_likelihood(np.exp(lp), rep["x"], rep["zbar"]).sum())
    np.testing.assert_allclose(gg["log_covariance"], np.linalg.inv(-hess), rtol=1e-3)


def test_lifetime_value_intervals_and_segments_on_the_sample(sample_con):
    customers, summary = clv.customer_lifetime_value(sample_con, horizon_months=12)
    s = summary.iloc[0]
    assert s.draws >= 190 and s.total_clv_lower < s.total_clv < s.total_clv_upper
    assert s.mean_clv_lower == pytest.approx(s.total_clv_lower / s.customers)
    assert (customers.clv_lower <= customers.clv + 1e-9).all() and (customers.clv <= customers.clv_upper + 1e-9).all()
    again = clv.customer_lifetime_value(sample_con, horizon_months=12)[1].iloc[0]
    assert again.total_clv_lower == s.total_clv_lower  # seeded: the same figures every run
    none = clv.customer_lifetime_value(sample_con, horizon_months=12, draws=0)[1].iloc[0]
    assert none.draws == 0 and np.isnan(none.total_clv_lower) and none.total_clv == pytest.approx(s.total_clv)
    seg = clv.clv_by_segment(sample_con, by="nps_group")
    assert list(seg.segment) == ["promoter", "passive", "detractor", "(none)"]
    assert seg.customers.sum() == s.customers and seg.total_clv.sum() == pytest.approx(s.total_clv)
    assert (seg.total_clv_lower < seg.total_clv).all() and (seg.total_clv < seg.total_clv_upper).all()
    assert seg.mean_clv.tolist() == pytest.approx((seg.total_clv / seg.customers).tolist())
    region = clv.clv_by_segment(sample_con, by="region", min_group_size=400)
    hidden = region[region.suppressed]
    assert len(hidden) >= 1 and hidden[["total_clv", "total_clv_lower", "total_clv_upper", "mean_clv_lower"]].isna().all().all()
    with pytest.raises(cxlib.CxInputError, match="regon"):
        clv.clv_by_segment(sample_con, by="regon")


def test_lifetime_value_report_compares_bgnbd_and_pareto_nbd(sample_con):
    report = clv.lifetime_value_report(sample_con, horizon_months=12)
    m = report.models.set_index("model")
    assert list(m.index) == ["BG/NBD", "Pareto/NBD"] and m["log_likelihood"].notna().all()
    assert m.loc["BG/NBD", "holdout_expected"] == pytest.approx(report.holdout["holdout_expected"][0])
    assert (m["holdout_actual"] == report.holdout["holdout_actual"][0]).all()
    best = m["customer_mae"].idxmin()
    assert f"On the holdout, {best} forecast each customer's purchases more closely" in report.headline


def test_clv_by_segment_without_orders_says_so(con):
    con.execute("DELETE FROM orders")
    with pytest.raises(cxlib.CxDataError, match="no orders to value"):
        clv.clv_by_segment(con, by="nps_group")


def test_chart_clv_by_segment_draws_the_interval_and_leaves_suppressed_segments_out():
    from cxlib.charts import churn as charts
    from cxlib.charts.theme import colour

    df = pd.DataFrame({"segment": ["promoter", "passive", "tiny"], "customers": [600, 500, 3],
                       "total_clv": [6000.0, 4000.0, None], "mean_clv": [10.0, 8.0, None],
                       "mean_clv_lower": [9.0, 7.0, None], "mean_clv_upper": [11.0, 9.5, None],
                       "suppressed": [False, False, True]})
    spec = charts.chart_clv_by_segment(df).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [r["segment"] for r in rows] == ["promoter", "passive"]
    rule = spec["layer"][1]
    assert rule["mark"]["type"] == "rule" and rule["mark"]["color"] == colour("interval")
    assert rule["encoding"]["x"]["field"] == "mean_clv_lower" and rule["encoding"]["x2"]["field"] == "mean_clv_upper"
    assert "95% interval" in spec["description"]
    with pytest.raises(cxlib.CxInputError, match="chart_clv_by_segment"):
        charts.chart_clv_by_segment(df.drop(columns="mean_clv_upper"))


def test_values_on_distinct_rows_equal_the_values_customer_by_customer():
    """The values are computed once per distinct (x, t_x, T), (x, T) and (x, m) row and mapped back:
    they equal the definition applied to each customer (month k's purchases E[Y(t_k)] - E[Y(t_(k-1))]
    times the expected order value, discounted by (1 + monthly rate)^k), for the fitted and for drawn
    parameter sets, on customers with repeated and unique histories."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 400).astype(float)
    T = rng.choice([10.0, 20.0, 30.5], 400)
    tx = np.where(x > 0, np.round(rng.random(400) * T, 0), 0.0)
    m = np.where(x > 0, rng.choice([8.0, 12.5, 30.0], 400), 0.0)
    month, horizon, monthly = 365.25 / 12 / 7, 6, 1.1 ** (1 / 12) - 1
    rows = clv._Rows(x, tx, T, m)
    assert len(rows.weight) < 400 and rows.weight.sum() == 400  # there are repeated rows to share

    def by_customer(bg, gg):
        spend = clv.gamma_gamma_expected_spend(gg, x, m)
        cums = [np.zeros(400)] + [clv.bgnbd_expected_purchases(bg, k * month, x, tx, T) for k in range(1, horizon + 1)]
        value = sum((cums[k] - cums[k - 1]) * spend / (1 + monthly) ** k for k in range(1, horizon + 1))
        return cums[-1], spend, value

    for bg, gg in ((CDNOW, (6.25, 3.74, 15.44)), ((0.5, 8.0, 0.8, 3.0), (2.0, 5.0, 20.0))):
        for got, expected in zip(rows.values(bg, gg, month, horizon, monthly), by_customer(bg, gg)):
            np.testing.assert_allclose(got[rows.row], expected, rtol=1e-12)
    cov = np.diag([0.01, 0.01, 0.02, 0.02])
    fits = ({"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0, "log_covariance": cov},
            {"p": 2.0, "q": 5.0, "gamma": 20.0, "log_covariance": np.diag([0.01, 0.01, 0.01])})
    drawn = clv._value_draws(*fits, rows, month, horizon, monthly, 5, 1)
    bg = clv.parameter_draws((0.5, 8.0, 0.8, 3.0), cov, 5, seed=1)
    gg = clv.parameter_draws((2.0, 5.0, 20.0), np.diag([0.01, 0.01, 0.01]), 5, seed=2)
    assert drawn.shape == (5, len(rows.weight))
    for i in range(5):
        np.testing.assert_allclose(drawn[i][rows.row], by_customer(bg[i], gg[i])[2], rtol=1e-12)


def test_clv_by_segment_from_the_report_equals_fitting_again(sample_con):
    """clv_by_segment(lifetime=report) rolls up the report's values and draws: the same table as
    clv_by_segment fitting the models itself, suppressed segments (values and intervals blank) included."""
    report = clv.lifetime_value_report(sample_con, horizon_months=12)
    tables = {}
    for by, size in (("nps_group", 5), ("region", 400)):
        own = clv.clv_by_segment(sample_con, by=by, min_group_size=size)
        tables[by] = clv.clv_by_segment(sample_con, by=by, min_group_size=size, lifetime=report)
        pd.testing.assert_frame_equal(tables[by], own, rtol=1e-12)
    assert tables["nps_group"].total_clv.sum() == pytest.approx(report.summary["total_clv"][0], rel=1e-12)
    hidden = tables["region"][tables["region"].suppressed]
    assert len(hidden) and hidden[["total_clv", "total_clv_lower", "mean_clv_upper"]].isna().all().all()
    # a group's interval: the percentiles of its customers' drawn values summed, customer by customer
    values = report.values
    per_customer = values.drawn[:, values.row]
    idx = np.flatnonzero(np.random.default_rng(0).random(len(values.row)) < 0.3)
    total, lo, hi = values.totals(idx)
    assert total == pytest.approx(values.customers["clv"].to_numpy()[idx].sum(), rel=1e-12)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(per_customer[:, idx].sum(axis=1), [2.5, 97.5])), rel=1e-12)
    with pytest.raises(cxlib.CxDataError, match="not fitted"):
        clv.clv_by_segment(sample_con, lifetime=clv.LifetimeValue("no orders"))
    with pytest.raises(cxlib.CxInputError, match="lifetime_value_report"):
        clv.clv_by_segment(sample_con, lifetime=report.summary)


def test_lifetime_value_report_is_the_same_with_one_blas_thread(sample_con, monkeypatch):
    """The fits and draws run with one BLAS thread; with the machine's default threads (the
    method before) the report's figures agree to rounding: values, intervals and parameters
    within 1e-6, the Pareto/NBD beside it within 1e-4 (its optimum lies on a flat ridge, where the
    rounding of the sums moves it along the ridge: 1e-5 of the holdout total on the 10M store)."""
    import contextlib

    one = clv.lifetime_value_report(sample_con)
    monkeypatch.setattr(clv, "threadpool_limits", lambda n: contextlib.nullcontext())
    default = clv.lifetime_value_report(sample_con)
    num = ["customers", "total_clv", "mean_clv", "total_clv_lower", "total_clv_upper", "r", "alpha", "a", "b", "p",
           "q", "gamma"]
    pd.testing.assert_frame_equal(one.summary[num], default.summary[num], check_exact=False, rtol=1e-6)
    pd.testing.assert_frame_equal(one.holdout, default.holdout, check_exact=False, rtol=1e-6)
    pd.testing.assert_frame_equal(one.by_frequency, default.by_frequency, check_exact=False, rtol=1e-6)
    pd.testing.assert_frame_equal(one.models.drop(columns="error"), default.models.drop(columns="error"),
                                  check_exact=False, rtol=1e-4)


def test_grouped_rows_are_numpys_distinct_rows():
    """_grouped (a lexsort) gives np.unique(axis=0)'s distinct rows, in its order, with the same
    inverse and summed weights."""
    rng = np.random.default_rng(4)
    x, t = rng.integers(0, 5, 2000).astype(float), np.round(rng.random(2000) * 3, 1)
    weights = rng.random(2000)
    (gx, gt), w, inverse = clv._grouped([x, t], weights)
    distinct, ref_inverse = np.unique(np.column_stack([x, t]), axis=0, return_inverse=True)
    np.testing.assert_array_equal(np.column_stack([gx, gt]), distinct)
    np.testing.assert_array_equal(inverse, ref_inverse.reshape(-1))
    np.testing.assert_allclose(w, np.bincount(ref_inverse.reshape(-1), weights=weights), rtol=1e-12)
