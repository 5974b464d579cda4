"""Pareto/NBD: the published CDNOW fit, BTYD's published predictions, the likelihood against
numerical integration of the individual-level model, and hand-derived cases."""

import numpy as np
import pandas as pd
import pytest
from realdata import data_file
from scipy import integrate, special

from cxlib.analysis import clv

CDNOW_PNBD = (0.5534, 10.5802, 0.6061, 11.6562)  # BTYD vignette's CDNOW estimates (r, alpha, s, beta)


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(data_file("cdnow_summary"))


def test_pareto_nbd_matches_the_published_cdnow_fit(cdnow):
    """Fader & Hardie (2005, "A Note on Deriving the Pareto/NBD Model and Related Expressions"; and
    the BTYD vignette) on the 2,357 CDNOW customers, 39 weeks: r = 0.55, alpha = 10.58, s = 0.61,
    beta = 11.67, LL = -9595.0."""
    fit = clv.fit_pareto_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert fit["converged"]
    for name, published in (("r", 0.55), ("alpha", 10.58), ("s", 0.61), ("beta", 11.67)):
        assert fit[name] == pytest.approx(published, abs=0.01), name
    assert fit["log_likelihood"] == pytest.approx(-9595.0, abs=0.1)
    # grouped rows with weights give the same fit as the customers themselves
    g = cdnow.groupby(["x", "t_x", "T"], as_index=False).size()
    again = clv.fit_pareto_nbd(g["x"], g["t_x"], g["T"], weights=g["size"])
    assert again["log_likelihood"] == pytest.approx(fit["log_likelihood"], abs=1e-6)
    # the parameters' standard errors are finite and the covariance symmetric positive definite
    cov = fit["log_covariance"]
    assert np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)


def test_pareto_nbd_predictions_match_btyd_published_values():
    """BTYD walkthrough (McCarthy & Wadsworth, "Buy 'Til You Die - A Walkthrough", Pareto/NBD section),
    with the CDNOW estimates: a new customer's expected purchases in 52 weeks
    pnbd.Expectation(params, t = 52) = 1.473; customer 1516 (x = 26, t_x = 30.86, T = 31 weeks)
    pnbd.ConditionalExpectedTransactions(params, T.star = 52, ...) = 25.46 and pnbd.PAlive = 0.9979."""
    assert clv.pareto_nbd_expected_purchases_new(CDNOW_PNBD, 52) == pytest.approx(1.473, abs=0.001)
    assert clv.pareto_nbd_expected_purchases(CDNOW_PNBD, 52, [26], [30.86], [31])[0] == pytest.approx(25.46, abs=0.01)
    assert clv.pareto_nbd_p_alive(CDNOW_PNBD, [26], [30.86], [31])[0] == pytest.approx(0.9979, abs=0.0001)


def _integrated_likelihood(params, x, tx, T):
    """The individual model mixed over Gamma(lambda) analytically, the dropout time tau by
    numerical integration (no hypergeometric function): alive at T, or died at tau in (t_x, T]."""
    r, alpha, s, beta = params
    head = np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta))
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    dead, _ = integrate.quad(lambda tau: s * (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), tx, T,
                             epsabs=0, epsrel=1e-12, limit=200)
    return head * (alive + dead), head * alive


@pytest.mark.parametrize("params", [CDNOW_PNBD, (0.8, 12.0, 1.3, 4.0), (2.0, 3.0, 0.5, 3.0)],
                         ids=["alpha<beta", "alpha>beta", "alpha=beta"])
@pytest.mark.parametrize("x, tx, T", [(0, 0.0, 38.86), (2, 30.43, 38.86), (26, 30.86, 31.0), (7, 38.86, 38.86)])
def test_pareto_nbd_likelihood_and_p_alive_equal_the_integrated_model(params, x, tx, T):
    like, alive = _integrated_likelihood(params, x, tx, T)
    assert clv.pareto_nbd_log_likelihood(params, [x], [tx], [T])[0] == pytest.approx(np.log(like), rel=1e-8)
    assert clv.pareto_nbd_p_alive(params, [x], [tx], [T])[0] == pytest.approx(alive / like, rel=1e-8)


def test_pareto_nbd_zero_purchase_p_alive_by_hand():
    """x = 0 and alpha = beta: the dead-term integral is closed-form, P(alive) =
    1 / (1 + s/(r+s) [((alpha+T)/alpha)^(r+s) - 1])."""
    r, a, s, T = 0.5, 10.0, 0.6, 39.0
    hand = 1 / (1 + s / (r + s) * (((a + T) / a) ** (r + s) - 1))
    assert clv.pareto_nbd_p_alive((r, a, s, a), [0], [0.0], [T])[0] == pytest.approx(hand, rel=1e-10)
    # seen up to T (t_x = T): alive for sure; nothing is expected over no time
    assert clv.pareto_nbd_p_alive(CDNOW_PNBD, [3], [20.0], [20.0])[0] == 1.0
    assert clv.pareto_nbd_expected_purchases(CDNOW_PNBD, 0, [3], [10.0], [20.0])[0] == 0.0
    assert clv.pareto_nbd_expected_purchases_new(CDNOW_PNBD, 0) == 0.0


def test_pareto_nbd_expected_purchases_new_at_s_one_is_the_limit():
    """At s = 1 the formula is 0/0; its limit r beta/alpha log((beta+t)/beta) is used, continuous in s."""
    r, alpha, beta, t = 0.5, 10.0, 12.0, 52.0
    limit = r * beta / alpha * np.log((beta + t) / beta)
    assert clv.pareto_nbd_expected_purchases_new((r, alpha, 1.0, beta), t) == pytest.approx(limit, rel=1e-12)
    assert clv.pareto_nbd_expected_purchases_new((r, alpha, 1.0 + 1e-7, beta), t) == pytest.approx(limit, rel=1e-6)


def test_pareto_nbd_expected_purchases_equal_simulation():
    """A live customer with rates (lambda, mu) buys lambda (1 - exp(-mu t)) / mu in the next t;
    averaged over the posterior of (lambda, mu) given x = 0 at T by importance weights from the
    prior (weight = the individual likelihood), it equals the closed form."""
    rng = np.random.default_rng(7)
    r, alpha, s, beta = CDNOW_PNBD
    n, T, t = 400_000, 20.0, 30.0
    lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
    weight = np.exp(-(lam + mu) * T)  # x = 0 and alive at T; a dead customer buys nothing later
    like_dead = mu / (lam + mu) * (1 - np.exp(-(lam + mu) * T))  # x = 0, died in (0, T]
    expected = np.sum(weight * lam * (1 - np.exp(-mu * t)) / mu) / np.sum(weight + like_dead)
    got = clv.pareto_nbd_expected_purchases(CDNOW_PNBD, t, [0], [0.0], [T])[0]
    assert got == pytest.approx(expected, rel=0.02)


def test_pareto_nbd_rejects_impossible_histories():
    with pytest.raises(clv.CxInputError):
        clv.fit_pareto_nbd([1, 2], [5.0, 3.0], [4.0, 10.0])  # recency after T
    with pytest.raises(clv.CxDataError):
        clv.fit_pareto_nbd([], [], [])


def test_pareto_nbd_fit_without_covariance_is_the_same_fit(cdnow):
    """covariance=False (holdout_models, which needs no interval) skips only the Hessian: the same
    parameters and log-likelihood, log_covariance None."""
    g = cdnow.groupby(["x", "t_x", "T"], as_index=False).size()
    full = clv.fit_pareto_nbd(g["x"], g["t_x"], g["T"], weights=g["size"])
    quick = clv.fit_pareto_nbd(g["x"], g["t_x"], g["T"], weights=g["size"], covariance=False)
    assert quick["log_covariance"] is None and full["log_covariance"] is not None
    assert {k: v for k, v in quick.items() if k != "log_covariance"} == {k: v for k, v in full.items() if k != "log_covariance"}


def test_pareto_nbd_p_alive_on_distinct_rows_equals_row_by_row(cdnow):
    """P(alive) evaluates the 2F1 terms once per distinct (x, t) and looks them up: the same as row by
    row, for alpha < beta (CDNOW) and alpha > beta."""
    x, tx, T = (cdnow[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    for params in (CDNOW_PNBD, (0.8, 20.0, 1.5, 5.0)):
        log_a0 = clv._pnbd_log_a0(clv._pnbd_log_f(params, x, tx), clv._pnbd_log_f(params, x, T), tx, T)
        row_by_row = special.expit(-clv._pnbd_dead_log_odds(params, x, tx, T, log_a0))
        np.testing.assert_allclose(clv.pareto_nbd_p_alive(params, x, tx, T), row_by_row, rtol=1e-14)


def test_pareto_nbd_first_start_is_the_best_of_three_on_cdnow(cdnow):
    """fit_pareto_nbd stops after the data-scaled start when it converges: on CDNOW that is the optimum
    the three starts reach together (best of three, as fit_bgnbd keeps)."""
    x, tx, T = (cdnow[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    (gx, gtx, gT), w, _ = clv._grouped([x, tx, T])
    neg_ll, total = clv._pareto_nbd_mean_neg_ll(gx, gtx, gT, w)
    mean_T = float(np.average(gT, weights=w))
    best, ll, _ = clv._fit(neg_ll, [(1, mean_T, 1, mean_T), (1, 1, 1, 1), (0.5, 10, 0.5, 10)], 4)
    fit = clv.fit_pareto_nbd(x, tx, T, covariance=False)
    assert fit["log_likelihood"] == pytest.approx(ll * total, abs=1e-6)
    np.testing.assert_allclose([fit[k] for k in ("r", "alpha", "s", "beta")], best, rtol=1e-5)


def test_fit_until_converged_tries_the_next_start_only_when_needed():
    """until_converged: one run when the first start converges; the next start when the first gives
    no finite value (the likelihood overflows there)."""
    calls = []

    def bowl(logp):  # minimum at log-parameters (1, 2); 'overflows' (1e300) beyond logp[0] > 3
        calls.append(logp.copy())
        if logp[0] > 3:
            return 1e300, np.zeros(2)
        return float(np.sum((logp - [1, 2]) ** 2)), 2 * (logp - [1, 2])

    params, ll, ok = clv._fit(bowl, [(1, 1), (2, 2)], 2, until_converged=True)
    first_run = len(calls)
    assert ok and params == pytest.approx(np.exp([1, 2])) and ll == pytest.approx(0, abs=1e-12)
    calls.clear()
    clv._fit(bowl, [(1, 1), (2, 2)], 2)
    assert len(calls) > first_run  # without it both starts run
    calls.clear()
    params, _, ok = clv._fit(bowl, [(np.exp(5), 1), (1, 1)], 2, until_converged=True)
    assert ok and params == pytest.approx(np.exp([1, 2]))
