"""The methods that keep reports fast on a large store give the same answers as the slow ones.

BG/NBD and Gamma-Gamma fitted on grouped sufficient statistics (identical customers as one
weighted row, special functions once per distinct frequency, analytic gradients) against the
plain per-customer likelihood; the key-driver bootstrap of at most `bootstrap_customers`
customers (m-out-of-n, scaled to n) against the full bootstrap; clustering fitted on a sample
only above `fit_sample` customers.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from cxlib.analysis import clv
from cxlib.analysis.segments import behaviour_clusters
from cxlib.analysis.voc import drivers
from cxlib.errors import CxInputError

CDNOW = (0.243, 4.414, 0.793, 2.426)  # FHL (2005) estimates on CDNOW


def _cdnow_like(n=2357, seed=11, params=CDNOW):
    """Purchases simulated from BG/NBD with the CDNOW estimates, first purchases spread over 12
    weeks, 39 weeks observed; times in whole days, expressed in weeks (as clv_summary does)."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = params
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = (273 - rng.integers(0, 84, n)) / 7.0
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = np.floor(t * 7) / 7
            if rng.random() < p[i]:
                break
    return x, tx, T


def _plain_fit(x, tx, T):
    """The per-customer fit as it was: Nelder-Mead on the summed log-likelihood of every row,
    tightened, then polished; the reference for the grouped fit."""
    def neg(lp):
        v = -np.sum(clv.bgnbd_log_likelihood(np.exp(lp), x, tx, T))
        return v if np.isfinite(v) else 1e300

    best = None
    for start in [(1, 1, 1, 1), (0.5, 5, 0.8, 2.5)]:
        res = optimize.minimize(neg, np.log(start), method="Nelder-Mead",
                                options={"maxiter": 40000, "maxfev": 40000, "xatol": 1e-11, "fatol": 1e-12})
        if best is None or res.fun < best.fun:
            best = res
    return np.exp(best.x), -best.fun


def test_grouped_objective_is_the_summed_log_likelihood_with_its_gradient():
    x, tx, T = _cdnow_like(n=400, seed=3)
    (xg, txg, Tg), w, inverse = clv._grouped([x, tx, T])
    assert len(xg) < len(x) and w.sum() == len(x)
    assert np.array_equal(xg[inverse], x) and np.array_equal(Tg[inverse], T)  # exact: nothing rounded
    f, total = clv._bgnbd_mean_neg_ll(xg, txg, Tg, w)
    for params in [CDNOW, (1.0, 1.0, 1.0, 1.0), (2.0, 30.0, 0.4, 7.0)]:
        lp = np.log(params)
        value, grad = f(lp)
        assert value * total == pytest.approx(-clv.bgnbd_log_likelihood(params, x, tx, T).sum(), rel=1e-12)
        numeric = optimize.approx_fprime(lp, lambda z: f(z)[0], 1e-7)
        assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_grouped_gamma_gamma_objective_and_gradient():
    rng = np.random.default_rng(5)
    x = rng.integers(1, 8, 500).astype(float)
    m = np.round(rng.gamma(3, 20, 500), 0)  # whole amounts: many customers share (x, m)
    (xg, mg), w, _ = clv._grouped([x, m])
    assert len(xg) < len(x)
    g, total = clv._gamma_gamma_mean_neg_ll(xg, mg, w)
    for params in [(6.0, 4.0, 15.0), (2.0, 3.0, 50.0)]:
        lp = np.log(params)
        value, grad = g(lp)
        assert value * total == pytest.approx(-clv.gamma_gamma_log_likelihood(params, x, m).sum(), rel=1e-12)
        assert grad == pytest.approx(optimize.approx_fprime(lp, lambda z: g(z)[0], 1e-7), rel=1e-4, abs=1e-6)


def test_bgnbd_grouped_fit_equals_the_per_customer_fit_on_cdnow_like_data():
    x, tx, T = _cdnow_like()
    fit = clv.fit_bgnbd(x, tx, T)
    got = np.array([fit["r"], fit["alpha"], fit["a"], fit["b"]])
    # the same customers handed over grouped, with weights: the same fit
    g = pd.DataFrame({"x": x, "tx": tx, "T": T}).value_counts().reset_index(name="w")
    assert len(g) < len(x)
    again = clv.fit_bgnbd(g["x"], g["tx"], g["T"], weights=g["w"])
    assert np.array([again["r"], again["alpha"], again["a"], again["b"]]) == pytest.approx(got, rel=1e-6)
    assert again["log_likelihood"] == pytest.approx(fit["log_likelihood"], rel=1e-12)
    # and the optimum of the plain per-customer likelihood: the same maximum; the parameters
    # agree to 1e-5 (a and b lie on a flat ridge: both optimisers stop within it)
    ref, ref_ll = _plain_fit(x, tx, T)
    assert fit["log_likelihood"] == pytest.approx(ref_ll, rel=1e-12)
    assert clv.bgnbd_log_likelihood(got, x, tx, T).sum() >= ref_ll - 1e-7
    assert got == pytest.approx(ref, rel=1e-5)
    assert fit["converged"]
    # the simulation's r and alpha are recovered (2,357 customers, as CDNOW; a and b are loose)
    assert got[:2] == pytest.approx(np.array(CDNOW[:2]), rel=0.35)


def test_bgnbd_grouped_fit_equals_the_per_customer_fit_on_the_sample_store(sample_con):
    s = clv.clv_summary(sample_con, calibration_end="2025-12-31")
    x, tx, T = (s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    fit = clv.fit_bgnbd(x, tx, T)
    ref, ref_ll = _plain_fit(x, tx, T)
    assert fit["log_likelihood"] == pytest.approx(ref_ll, rel=1e-12)
    assert np.array([fit["r"], fit["alpha"], fit["a"], fit["b"]]) == pytest.approx(ref, rel=1e-5)
    # Gamma-Gamma: grouped with weights equals the rows
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = clv.fit_gamma_gamma(rep["frequency"], rep["monetary_value"])
    grouped = rep.groupby(["frequency", "monetary_value"]).size().reset_index(name="w")
    gg2 = clv.fit_gamma_gamma(grouped["frequency"], grouped["monetary_value"], weights=grouped["w"])
    assert [gg2[k] for k in ("p", "q", "gamma")] == pytest.approx([gg[k] for k in ("p", "q", "gamma")], rel=1e-6)


def test_fit_weights_are_checked():
    with pytest.raises(CxInputError):
        clv.fit_bgnbd([1, 2], [1, 2], [3, 3], weights=[1])
    with pytest.raises(CxInputError):
        clv.fit_bgnbd([1, 2], [1, 2], [3, 3], weights=[-1, 2])
    with pytest.raises(CxInputError):
        clv.fit_gamma_gamma([1, 2], [10, 20], weights=[1, -2])


def _driver_data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[:, 1] += 0.5 * x[:, 0]
    y = 1.0 * x[:, 0] + 0.6 * x[:, 1] + 0.3 * x[:, 2] + rng.normal(0, 2, n)
    groups = np.arange(4)
    w, r2 = drivers.relative_weights(x, y)
    return x, y, groups, drivers._importance(w, r2, groups, 4)


def test_driver_bootstrap_of_fewer_customers_scaled_to_n_matches_the_full_bootstrap():
    x, y, groups, est = _driver_data(20_000)
    full_lo, full_hi = drivers._bootstrap_interval(x, y, groups, 4, 300, 1, est, 20_000)
    lo, hi = drivers._bootstrap_interval(x, y, groups, 4, 300, 1, est, 2_000)
    width = full_hi - full_lo
    assert np.all(lo <= est) and np.all(est <= hi)
    assert lo == pytest.approx(full_lo, abs=0.2 * width.max())
    assert hi == pytest.approx(full_hi, abs=0.2 * width.max())
    assert (hi - lo) == pytest.approx(width, abs=0.2 * width.max())


def _resampled_importance(x, y, groups, n_groups, resamples, *, seed):
    """Each bootstrap resample's importance computed on its own rows: what the fast intervals must equal."""
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(resamples):
        idx = rng.integers(0, len(y), len(y))
        w, r2 = drivers.relative_weights(x[idx], y[idx])
        boots.append(drivers._importance(w, r2, groups, n_groups))
    return np.array(boots)


def test_driver_bootstrap_is_the_plain_percentile_interval_up_to_the_resample_size():
    x, y, groups, est = _driver_data(500)
    want = np.percentile(_resampled_importance(x, y, groups, 4, 50, seed=4), [2.5, 97.5], axis=0)
    for size in (500, 10_000):
        lo, hi = drivers._bootstrap_interval(x, y, groups, 4, 50, 4, est, size)
        assert lo == pytest.approx(want[0], rel=1e-12) and hi == pytest.approx(want[1], rel=1e-12)


def test_key_drivers_bootstrap_customers(sample_con):
    a = drivers.key_drivers(sample_con, bootstrap=20)
    b = drivers.key_drivers(sample_con, bootstrap=20, bootstrap_customers=int(a["n"].iloc[0]))
    pd.testing.assert_frame_equal(a, b)  # n customers or more: the plain bootstrap
    c = drivers.key_drivers(sample_con, bootstrap=20, bootstrap_customers=500).set_index("driver")
    assert (c["ci_lower"] <= c["importance"] + 1e-9).all() and (c["importance"] <= c["ci_upper"] + 1e-9).all()
    with pytest.raises(CxInputError):
        drivers.key_drivers(sample_con, bootstrap_customers=10)


def test_clusters_fit_every_customer_up_to_fit_sample(sample_con):
    a = behaviour_clusters(sample_con, k=3)
    n = len(a.assignments)
    assert n <= 20_000  # the sample store is clustered whole with the default fit_sample
    b = behaviour_clusters(sample_con, k=3, fit_sample=n)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    assert a.silhouette == b.silhouette


def _silhouettes_one_by_one(x, tried, seed, silhouette_sample, fit_sample):
    """Clustering as it was: every k fitted, every customer assigned under every k, and
    scikit-learn's sampled silhouette_score on all the labels."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(x)
    fit_rows = (np.sort(np.random.default_rng(seed).choice(n, fit_sample, replace=False))
                if n > fit_sample else np.arange(n))
    labels, scores = {}, []
    for k in tried:
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x[fit_rows])
        labels[k] = km.predict(x) if len(fit_rows) < n else km.labels_
        scores.append(silhouette_score(x, labels[k], sample_size=min(n, silhouette_sample), random_state=seed))
    return labels, scores


@pytest.mark.parametrize("fit_sample", [20_000, 1_000])
def test_silhouettes_on_distances_computed_once_equal_sklearns_per_k(sample_con, fit_sample):
    from cxlib.analysis.segments import clusters

    planted = np.concatenate([np.random.default_rng(2).normal(c, 1, size=(700, 3)) for c in (0, 4, 8)])
    sample = clusters._scale(clusters._cluster_matrix(sample_con, clusters._cutoff(sample_con, None))[0]).to_numpy()
    for x in (sample, planted):
        tried = [2, 3, 4, 5]
        chosen, fitted, selection, _ = clusters._fit_each_k(x, tried, 0, 1_500, fit_sample)
        labels, scores = _silhouettes_one_by_one(x, tried, 0, 1_500, fit_sample)
        assert selection["k"].tolist() == tried
        assert selection["silhouette"].to_numpy() == pytest.approx(scores, rel=1e-9, abs=1e-12)
        assert chosen == tried[int(np.argmax(scores))] and np.array_equal(fitted, labels[chosen])


def test_cluster_mix_shares_equal_the_joined_share_query(sample_con):
    from cxlib.analysis.segments import clusters

    cutoff = clusters._cutoff(sample_con, None)
    x = clusters._cluster_matrix(sample_con, cutoff)[0]
    # the share as it was computed: count over the customer's events, customers joined in SQL
    ref = sample_con.execute("""
        WITH ev AS (SELECT e.customer_id, e.channel, e.stage FROM events_ordered e
                    JOIN customers c ON c.customer_id = e.customer_id WHERE e.ts <= $as_of AND c.signup_at <= $as_of),
        tot AS (SELECT customer_id, count(*) AS n FROM ev GROUP BY customer_id)
        SELECT customer_id, 'channel_' || channel AS name, count(*) / any_value(tot.n) AS share
        FROM ev JOIN tot USING (customer_id) GROUP BY customer_id, channel
        UNION ALL
        SELECT customer_id, 'stage_' || stage, count(*) / any_value(tot.n)
        FROM ev JOIN tot USING (customer_id) GROUP BY customer_id, stage""", {"as_of": cutoff}).df()
    wide = ref.pivot(index="customer_id", columns="name", values="share").reindex(x.index).fillna(0.0)
    mix = sorted(wide.columns, key=lambda c: (not c.startswith("channel_"), c))  # channels, then stages
    assert [c for c in x.columns if c in mix] == mix
    pd.testing.assert_frame_equal(x[mix], wide[mix], check_names=False, rtol=0, atol=0)


def _statsmodels_f_tests(x, y, cols, groups):
    """The per-driver F-tests as they were: statsmodels OLS on the n-row design, f_test per driver."""
    import statsmodels.api as sm

    keep = x.std(axis=0) > 0
    exog = sm.add_constant(pd.DataFrame(x[:, keep], columns=np.array(cols)[keep]), has_constant="add")
    fit = sm.OLS(y, exog).fit()
    pvals, direction = [], []
    for g in groups:
        gcols = [c for c in groups[g][1] if c in exog.columns]
        if not gcols:
            pvals.append(np.nan)
            direction.append("")
            continue
        restriction = np.eye(len(exog.columns))[[list(exog.columns).index(c) for c in gcols]]
        pvals.append(float(np.squeeze(fit.f_test(restriction).pvalue)))
        direction.append(("+" if fit.params[gcols[0]] > 0 else "-") if len(gcols) == 1 else "")
    return np.array(pvals), direction


def test_driver_f_tests_from_cross_products_equal_statsmodels(sample_con):
    designs = []
    for target in ("nps", "churn"):
        frame, y, groups = drivers._driver_frame(
            drivers._Inputs(sample_con, None), target=target, attributes=drivers._attribute_names(sample_con, None),
            rating_metric="csat", min_ratings_share=0.05, max_customers=None, max_levels=30,
            definition="contractual", inactivity_days=90)
        cols = [c for g in groups for c in groups[g][1]]
        designs.append((frame[cols].astype(float).to_numpy(), y.to_numpy(dtype=float), cols, groups))
    # planted: two real drivers, a null one, a constant column and a three-level attribute
    rng = np.random.default_rng(8)
    x = np.column_stack([rng.normal(size=(800, 3)), np.ones(800), np.eye(3)[rng.integers(0, 3, 800)][:, 1:]])
    y = 2 * x[:, 0] - x[:, 1] + 0.8 * x[:, 4] + rng.normal(0, 2, 800)
    cols = ["a", "b", "null", "flat", "level_2", "level_3"]
    groups = {"a": ("", ["a"]), "b": ("", ["b"]), "null": ("", ["null"]), "flat": ("", ["flat"]),
              "level": ("", ["level_2", "level_3"])}
    designs.append((x, y, cols, groups))
    for x, y, cols, groups in designs:
        got, got_sign = drivers._f_tests(x, y, cols, groups)
        want, want_sign = _statsmodels_f_tests(x, y, cols, groups)
        assert got == pytest.approx(want, rel=1e-6, abs=1e-300, nan_ok=True) and got_sign == want_sign
    assert np.isnan(got[3]) and got[0] < 1e-10 and got[2] > 1e-3  # planted: a matters, null does not


def test_drivers_by_target_reads_the_store_once_and_gives_each_targets_own_model(sample_con):
    got = drivers.drivers_by_target(sample_con, bootstrap=20).set_index("target")
    for target in ("nps", "csat", "ces", "churn"):
        top = drivers.key_drivers(sample_con, target=target, bootstrap=20).iloc[0]
        row = got.loc[drivers.TARGETS[target][0]]
        assert row["top_driver"] == top["driver"] and row["n"] == top["n"]
        assert [row[c] for c in ("importance", "ci_lower", "ci_upper", "r_squared")] == pytest.approx(
            [top[c] for c in ("importance", "ci_lower", "ci_upper", "r_squared")], rel=1e-12)


def test_driver_bootstrap_from_cross_products_equals_weights_of_each_resample():
    # a rare dummy (absent from about 1 resample in 20), a constant column, a shifted column:
    # the cross-product route gives each resample's relative weights as computed on its rows
    rng = np.random.default_rng(6)
    x = np.column_stack([rng.normal(size=(500, 2)), np.zeros(500), 1000 + rng.normal(size=500), np.full(500, 7.0)])
    x[:3, 2] = 1.0
    y = x[:, 0] + 0.5 * x[:, 3] + 2 * x[:, 2] + rng.normal(size=500)
    groups = np.arange(5)
    w, r2 = drivers.relative_weights(x, y)
    est = drivers._importance(w, r2, groups, 5)
    boots = _resampled_importance(x, y, groups, 5, 200, seed=2)
    want = np.percentile(boots, [2.5, 97.5], axis=0)
    lo, hi = drivers._bootstrap_interval(x, y, groups, 5, 200, 2, est, 500)
    assert lo == pytest.approx(want[0], rel=1e-9) and hi == pytest.approx(want[1], rel=1e-9)
    assert boots[:, 2].min() == 0.0 and (boots[:, 4] == 0).all()  # absent dummy; constant
