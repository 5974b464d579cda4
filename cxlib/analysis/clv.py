"""Non-contractual customers: BG/NBD purchase model, Gamma-Gamma spend and customer lifetime value.

The likelihoods are the published ones, maximised with scipy (the `lifetimes` package is
unmaintained and breaks on current numpy):

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
  the Pareto/NBD Model", Marketing Science 24(2). While alive a customer buys as a Poisson
  process with rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out with
  probability p ~ Beta(a, b).
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value". A customer's
  order values are Gamma(p, nu) with nu ~ Gamma(q, gamma); spend is independent of frequency.

The per-customer summary (frequency, recency, T, monetary value) is computed in DuckDB
(cxlib/sql/clv_summary.sql). The fits run on sufficient statistics: customers with identical
(frequency, recency, T), or (frequency, mean value) for Gamma-Gamma, collapse into one row with
a weight (exact, nothing rounded), and the special functions are evaluated once per distinct
frequency. Predictions stay per customer and vectorised. Customer-level outputs are for exports
and models, not stakeholder reports.

The fits, their covariances and the CLV draws run with one BLAS thread: they are thousands of
products of vectors of up to 100,000 values, where two BLAS threads on a shared machine
wait on each other (measured on the 10M-event store under load: a dot product of 85,000 values
15 ms with two threads, 0.02 ms with one; the lifetime value report 52.6 s -> 18.8 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.store.connection import as_of as store_as_of

__all__ = [
    "BgNbdResult",
    "LifetimeValue",
    "bgnbd",
    "bgnbd_expected_purchases",
    "bgnbd_expected_purchases_new",
    "bgnbd_holdout_check",
    "bgnbd_log_likelihood",
    "bgnbd_p_alive",
    "clv_by_segment",
    "clv_summary",
    "customer_lifetime_value",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_pareto_nbd",
    "gamma_gamma_expected_spend",
    "gamma_gamma_log_likelihood",
    "holdout_by_frequency",
    "holdout_models",
    "lifetime_value_report",
    "parameter_draws",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_expected_purchases_new",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_p_alive",
]

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


# --------------------------------------------------------------------------- BG/NBD maths


def _arrays(*xs):
    return [np.asarray(x, dtype=float) for x in xs]


def bgnbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    *Definition*: L = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
      + [x > 0] * B(a+1, b+x-1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+t_x)^(r+x),
    with x = frequency (repeat purchases), t_x = recency (time of the last purchase since the
    first), T = time since the first purchase. Computed on the log scale.
    """
    r, alpha, a, b = params
    x, tx, T = _arrays(frequency, recency, T)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + tx)
    a4 = np.where(x > 0, a4, -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_p_alive(params, frequency, recency, T) -> np.ndarray:
    """P(still alive | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
    r, alpha, a, b = params
    x, tx, T = _arrays(frequency, recency, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def bgnbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next `t` time units given x, t_x, T (FHL 2005, eq. 10).

    *Definition*: E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1)
      * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
      / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
    """
    x, tx, T = _arrays(frequency, recency, T)
    t = float(t)
    if t < 0:
        raise CxInputError(f"the horizon t must be at least 0, got {t!r}")
    return _bgnbd_purchases_if_alive(params, t, x, T) * bgnbd_p_alive(params, x, tx, T)


def _bgnbd_purchases_if_alive(params, t, x, T):
    """The part of `bgnbd_expected_purchases` before P(alive), which depends on x and T only:
    (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]."""
    r, alpha, a, b = params
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return (a + b + x - 1) / (a - 1) * (1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp)


def bgnbd_expected_purchases_new(params, t) -> float:
    """E[X(t)] for a new customer: (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]."""
    r, alpha, a, b = params
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t))))


def _grouped(columns, weights=None):
    """Rows with identical values collapsed into one: the distinct rows (one array per column),
    their weights (how many rows, or the sum of `weights`) and each input row's distinct row.

    Exact: values are compared as they are, nothing is rounded. The likelihoods below are sums
    over customers, so a sum over the distinct rows times their weights is the same sum.
    """
    cols = [np.asarray(c, dtype=float) for c in columns]
    order = np.lexsort(cols[::-1])  # by the first column, then the second, ... (np.unique(axis=0)'s order)
    ordered = [c[order] for c in cols]
    starts = np.ones(len(order), dtype=bool)  # where a distinct row starts in that order
    starts[1:] = np.any([c[1:] != c[:-1] for c in ordered], axis=0)
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    w = np.bincount(inverse, weights=weights, minlength=int(starts.sum())).astype(float)
    return [c[starts] for c in ordered], w, inverse


def _histories(frequency, recency, T, weights, model: str):
    """The purchase histories (x, t_x, T) checked and grouped into distinct rows with their weights."""
    x, tx, T = _arrays(frequency, recency, T)
    if len(x) == 0:
        raise CxDataError(f"no purchasing customers to fit the {model} model to")
    if np.any(x < 0) or np.any(tx < 0) or np.any(T < tx) or np.any(tx[x == 0] != 0):
        raise CxInputError("frequency and recency must be >= 0, recency <= T, and recency 0 when frequency is 0")
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is not None and (w.shape != x.shape or np.any(w < 0) or not np.any(w > 0)):
        raise CxInputError("weights must be one non-negative count per row, not all 0")
    (x, tx, T), w, _ = _grouped([x, tx, T], w)
    return x, tx, T, w


def _fit(neg_ll, start_points, n_params, *, until_converged=False):
    """Minimise `neg_ll` (log-parameters -> (value, gradient); a mean over customers, so the
    tolerances mean the same on 5,000 customers as on 500,000) with L-BFGS-B from each start;
    the best optimum is kept; converged if the best run reported success (or its gradient is
    below 1e-6). until_converged: stop at the first start whose run converges."""
    def quiet(logp):  # far from the optimum the parameters overflow: the value is then 1e300
        with np.errstate(all="ignore"):
            return neg_ll(logp)

    best = None
    with threadpool_limits(1):  # one BLAS thread: many small products (see the module docstring)
        for start in start_points:
            res = optimize.minimize(quiet, np.log(start), jac=True, method="L-BFGS-B",
                                    options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10})
            if np.isfinite(res.fun) and res.fun < 1e300 and (best is None or res.fun < best.fun):
                best = res
                if until_converged and _converged(best):
                    break
    if best is None or len(best.x) != n_params:
        raise CxDataError("the model could not be fitted to these data (the likelihood is not finite anywhere tried)")
    return np.exp(best.x), -float(best.fun), _converged(best)


def _converged(res) -> bool:
    return bool(res.success or np.max(np.abs(res.jac)) < 1e-6)


def _bgnbd_mean_neg_ll(x, tx, T, w):
    """-(sum of w * bgnbd_log_likelihood) / sum(w) and its gradient, as a function of the
    log-parameters.

    The same terms as `bgnbd_log_likelihood`, but the special functions are evaluated once per
    distinct frequency, and log(alpha + T), log(alpha + t_x) once per distinct T and t_x (a few
    hundred), then looked up per row: one evaluation costs a few array look-ups, one logaddexp
    and one exp per distinct (x, t_x, T) row. The gradient is analytic (digamma for the gamma
    functions; s = the share of the 'dropped out at t_x' term in each row's likelihood).
    """
    xu, xi = np.unique(x, return_inverse=True)
    Tu, Ti = np.unique(T, return_inverse=True)
    tu, ti = np.unique(tx, return_inverse=True)
    total = float(w.sum())
    wx = np.bincount(xi, weights=w, minlength=len(xu))  # customers per distinct frequency
    pos = xu > 0

    def neg_ll(logp):
        r, alpha, a, b = np.exp(logp)
        head = ((special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha))
                + (special.gammaln(a + b) + special.gammaln(b + xu) - special.gammaln(b) - special.gammaln(a + b + xu)))
        drop = np.where(pos, np.log(a) - np.log(b + np.maximum(xu, 1) - 1), -np.inf)
        rx = (r + xu)[xi]
        lT, lt = np.log(alpha + Tu)[Ti], np.log(alpha + tu)[ti]
        u, v = -rx * lT, drop[xi] - rx * lt
        both = np.logaddexp(u, v)
        val = -(float(wx @ head) + float(w @ both)) / total
        if not np.isfinite(val):
            return 1e300, np.zeros(4)
        ws = w * np.exp(v - both)  # weight times the share of the dropped-out term (0 when x = 0)
        wa = w - ws
        dig_ab, dig_abx = special.digamma(a + b), special.digamma(a + b + xu)
        grad = np.array([
            r * (wx @ (special.digamma(r + xu) - special.digamma(r) + np.log(alpha)) - wa @ lT - ws @ lt),
            alpha * (r * total / alpha - wa @ (rx / (alpha + Tu)[Ti]) - ws @ (rx / (alpha + tu)[ti])),
            a * (wx @ (dig_ab - dig_abx) + ws.sum() / a),
            b * (wx @ (dig_ab + special.digamma(b + xu) - special.digamma(b) - dig_abx)
                 - ws @ (1 / (b + np.maximum(xu, 1) - 1))[xi]),
        ])
        return val, -grad / total

    return neg_ll, total


def fit_bgnbd(frequency, recency, T, *, weights=None) -> dict:
    """Maximum-likelihood BG/NBD parameters: {'r', 'alpha', 'a', 'b', 'log_likelihood', 'converged',
    'log_covariance'} (the log-parameters' covariance, `_log_covariance`).

    *Definition*: maximises the sum of `bgnbd_log_likelihood` (times `weights`, a count of
    identical customers) over log-parameters with L-BFGS-B and the analytic gradient from three
    starting points; the best optimum is kept. Fitted on sufficient statistics: customers with
    identical (frequency, recency, T) are one row weighted by their number (exact grouping,
    nothing rounded; `weights` are summed), so grouped data with `weights` give the same fit as
    the rows themselves, and the cost follows the distinct rows, not the customers. The
    objective is the mean log-likelihood per customer, so the tolerances mean the same on any
    number of customers.
    """
    x, tx, T, w = _histories(frequency, recency, T, weights, "BG/NBD")
    neg_ll, total = _bgnbd_mean_neg_ll(x, tx, T, w)
    mean_T = float(np.average(T, weights=w))
    params, ll, ok = _fit(neg_ll, [(1, 1, 1, 1), (0.5, 5, 0.8, 2.5), (2, max(mean_T, 1), 1, 5)], 4)
    return {"r": params[0], "alpha": params[1], "a": params[2], "b": params[3], "log_likelihood": ll * total,
            "converged": ok, "log_covariance": _log_covariance(neg_ll, params, total)}


# --------------------------------------------------------------------------- Gamma-Gamma maths


def gamma_gamma_log_likelihood(params, frequency, monetary_value) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean order value m_x over x orders.

    *Definition* (Fader & Hardie 2013): f(m_x | p, q, gamma, x) = G(px+q) / (G(px) G(q))
      * gamma^q m_x^(px-1) x^(px) / (gamma + m_x x)^(px+q).
    """
    p, q, g = params
    x, m = _arrays(frequency, monetary_value)
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(g)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))


def _gamma_gamma_mean_neg_ll(x, m, w):
    """-(sum of w * gamma_gamma_log_likelihood) / sum(w) and its analytic gradient, as a
    function of the log-parameters: the gamma functions once per distinct frequency, log(m_x)
    once (it does not depend on the parameters)."""
    xu, xi = np.unique(x, return_inverse=True)
    log_m, log_x, mx = np.log(m), np.log(xu)[xi], m * x
    total = float(w.sum())
    wx = np.bincount(xi, weights=w, minlength=len(xu))

    def neg_ll(logp):
        p, q, g = np.exp(logp)
        head = special.gammaln(p * xu + q) - special.gammaln(p * xu) - special.gammaln(q) + q * np.log(g)
        px = p * x
        log_gmx = np.log(g + mx)
        val = -(float(wx @ head) + float(w @ ((px - 1) * log_m + px * log_x - (px + q) * log_gmx))) / total
        if not np.isfinite(val):
            return 1e300, np.zeros(3)
        dig_pq, dig_p = special.digamma(p * xu + q), special.digamma(p * xu)
        grad = np.array([
            p * (wx @ (xu * (dig_pq - dig_p)) + w @ (x * (log_m + log_x - log_gmx))),
            q * (wx @ (dig_pq - special.digamma(q) + np.log(g)) - w @ log_gmx),
            g * (total * q / g - w @ ((px + q) / (g + mx))),
        ])
        return val, -grad / total

    return neg_ll, total


def fit_gamma_gamma(frequency, monetary_value, *, weights=None) -> dict:
    """Maximum-likelihood Gamma-Gamma parameters {'p', 'q', 'gamma', 'log_likelihood', 'converged',
    'log_covariance'} (as in `fit_bgnbd`)
    on customers with at least one repeat purchase and a positive mean value.

    Fitted on sufficient statistics: customers with identical (frequency, mean value) are one
    row weighted by their number (exact, nothing rounded; `weights`, a count of identical
    customers, are summed); the objective is the mean log-likelihood per customer (see
    `fit_bgnbd`).
    """
    x, m = _arrays(frequency, monetary_value)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != x.shape or np.any(w < 0):
        raise CxInputError("weights must be one non-negative count per row")
    keep = (x > 0) & (m > 0) & (w > 0)
    x, m, w = x[keep], m[keep], w[keep]
    if w.sum() < 2:
        raise CxDataError("the Gamma-Gamma spend model needs at least two customers with repeat purchases")
    (x, m), w, _ = _grouped([x, m], w)
    neg_ll, total = _gamma_gamma_mean_neg_ll(x, m, w)
    params, ll, ok = _fit(neg_ll, [(1, 1, 1), (2, 3, float(np.average(m, weights=w))), (6, 4, 15)], 3)
    return {"p": params[0], "q": params[1], "gamma": params[2], "log_likelihood": ll * total, "converged": ok,
            "log_covariance": _log_covariance(neg_ll, params, total)}


def gamma_gamma_expected_spend(params, frequency, monetary_value) -> np.ndarray:
    """E[mean order value | x, m_x] = p (gamma + x m_x) / (p x + q - 1); the population mean
    p gamma / (q - 1) for customers without repeat purchases (x = 0). Needs q > 1."""
    p, q, g = params
    x, m = _arrays(frequency, monetary_value)
    if q <= 1:
        raise CxDataError(f"the fitted Gamma-Gamma q = {q:.3g} is not above 1: the mean spend is not defined")
    return np.where(x > 0, p * (g + x * m) / (p * x + q - 1), p * g / (q - 1))


# --------------------------------------------------------------------------- Pareto/NBD maths


def _pnbd_log_f(params, x, t):
    """log of the Pareto/NBD 2F1 term at time t (Fader & Hardie 2005, "A Note on Deriving the
    Pareto/NBD Model and Related Expressions", eq. 19-20), on the side of the larger of alpha and
    beta so that the argument stays in [0, 1):
    alpha >= beta: 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t)) / (alpha+t)^(r+s+x);
    alpha < beta: 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+t)) / (beta+t)^(r+s+x)."""
    r, alpha, s, beta = params
    rsx = r + s + x
    big, gap, b = (alpha, alpha - beta, s + 1) if alpha >= beta else (beta, beta - alpha, r + x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(special.hyp2f1(rsx, b, rsx + 1, gap / (big + t))) - rsx * np.log(big + t)


def _pnbd_log_f_rows(params, x, t):
    """`_pnbd_log_f` per row, the 2F1 evaluated once per distinct (x, t) and looked up."""
    x, t = np.broadcast_arrays(x, t)
    (ux, ut), _, i = _grouped([x.ravel(), t.ravel()])
    return _pnbd_log_f(params, ux, ut)[i].reshape(x.shape)


def _pnbd_log_a0(first, last, tx, T):
    """log A0 = log([the 2F1 term at t_x] - [at T]) from the two logs `_pnbd_log_f` gives:
    A0 = (r+s+x) times the integral over the dropout time tau in (t_x, T] of
    (alpha+tau)^-(r+x) (beta+tau)^-(s+1). The difference is taken on the log scale (log1p);
    -inf when t_x = T."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(T > tx, first + np.log(-np.expm1(np.minimum(last - first, 0.0))), -np.inf)


def _pnbd_dead_log_odds(params, x, tx, T, log_a0=None):
    """log of P(dropped out by T) / P(alive at T) given the history: log(s/(r+s+x)) + (r+x) log(alpha+T)
    + s log(beta+T) + log A0 (the dead term of the likelihood over the alive term)."""
    r, alpha, s, beta = params
    if log_a0 is None:
        log_a0 = _pnbd_log_a0(_pnbd_log_f_rows(params, x, tx), _pnbd_log_f_rows(params, x, T), tx, T)
    return np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T) + log_a0


def pareto_nbd_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (Schmittlein, Morrison & Colombo 1987; Fader &
    Hardie 2005, "A Note on Deriving the Pareto/NBD Model and Related Expressions", eq. 22).

    *Definition*: while alive a customer buys as a Poisson process with rate lambda ~ Gamma(r,
    alpha) and dies after an exponential lifetime with rate mu ~ Gamma(s, beta);
    L = G(r+x) alpha^r beta^s / G(r) * [1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0],
    A0 as in `_pnbd_log_a0` (both cases alpha >= beta and alpha < beta, `_pnbd_log_f`), with x = frequency,
    t_x = recency, T = time since the first purchase. Computed on the log scale.
    """
    x, tx, T = _arrays(frequency, recency, T)
    return _pnbd_ll(params, x, tx, T)


def _pnbd_ll(params, x, tx, T, log_a0=None):
    """`pareto_nbd_log_likelihood` on arrays, with log A0 given when the caller has it."""
    r, alpha, s, beta = params
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return head + alive + np.logaddexp(0.0, _pnbd_dead_log_odds(params, x, tx, T, log_a0))


def pareto_nbd_p_alive(params, frequency, recency, T) -> np.ndarray:
    """P(alive at T | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0) (Fader &
    Hardie 2005 note, eq. 18); for x = 0 and alpha = beta it is 1 / (1 + s/(r+s) [((alpha+T)/alpha)^(r+s) - 1])."""
    x, tx, T = _arrays(frequency, recency, T)
    return special.expit(-_pnbd_dead_log_odds(params, x, tx, T))


def _expm1_ratio(k, log_ratio):
    """[1 - exp(k log_ratio)] / k, and its limit -log_ratio at k = 0."""
    return -log_ratio if k == 0 else -np.expm1(k * log_ratio) / k


def pareto_nbd_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected purchases in (T, T + t] given x, t_x, T (Fader & Hardie 2005 note, eq. 25;
    Schmittlein et al. 1987).

    *Definition*: E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1))
      * [1 - ((beta+T)/(beta+T+t))^(s-1)] * P(alive | x, t_x, T); at s = 1 the bracket over
      (s-1) is its limit log((beta+T+t)/(beta+T)).
    """
    r, alpha, s, beta = params
    x, tx, T = _arrays(frequency, recency, T)
    t = float(t)
    if t < 0:
        raise CxInputError(f"the horizon t must be at least 0, got {t!r}")
    rate = (r + x) / (alpha + T) * (beta + T) * _expm1_ratio(s - 1, np.log(beta + T) - np.log(beta + T + t))
    return rate * pareto_nbd_p_alive(params, x, tx, T)


def pareto_nbd_expected_purchases_new(params, t) -> float:
    """E[X(t)] for a new customer: r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (limit at s = 1:
    r beta/alpha log((beta+t)/beta))."""
    r, alpha, s, beta = params
    return float(r * beta / alpha * _expm1_ratio(s - 1, np.log(beta) - np.log(beta + t)))


def _numeric_gradient(f, logp, step=1e-6):
    """Central differences of f at logp (log-parameters); (f(logp), gradient)."""
    val = f(logp)
    grad = np.empty(len(logp))
    for i in range(len(logp)):
        e = np.zeros(len(logp))
        e[i] = step
        grad[i] = (f(logp + e) - f(logp - e)) / (2 * step)
    return val, grad


def _pareto_nbd_mean_neg_ll(x, tx, T, w):
    """-(sum of w * pareto_nbd_log_likelihood) / sum(w) and its gradient (central differences),
    as a function of the log-parameters. The 2F1 terms, the costly part, are evaluated once per
    distinct (x, t_x) and (x, T) and looked up per row."""
    total = float(w.sum())
    (fx, ft), _, fi = _grouped([x, tx])
    (lx, lt), _, li = _grouped([x, T])

    def value(logp):
        params = np.exp(logp)
        log_a0 = _pnbd_log_a0(_pnbd_log_f(params, fx, ft)[fi], _pnbd_log_f(params, lx, lt)[li], tx, T)
        val = -float(w @ _pnbd_ll(params, x, tx, T, log_a0)) / total
        return val if np.isfinite(val) else 1e300

    def neg_ll(logp):
        val, grad = _numeric_gradient(value, logp)
        return (1e300, np.zeros(4)) if val >= 1e300 or not np.all(np.isfinite(grad)) else (val, grad)

    return neg_ll, total


def fit_pareto_nbd(frequency, recency, T, *, weights=None, covariance: bool = True) -> dict:
    """Maximum-likelihood Pareto/NBD parameters: {'r', 'alpha', 's', 'beta', 'log_likelihood',
    'converged', 'log_covariance'}.

    *Definition*: maximises the sum of `pareto_nbd_log_likelihood` (times `weights`) over
    log-parameters with L-BFGS-B, on sufficient statistics (customers with identical (frequency,
    recency, T) are one weighted row, as in `fit_bgnbd`); the gradient is by central differences.
    It starts from r = s = 1, alpha = beta = the mean T (scaled to the data's time unit) and tries
    the fixed starts (1, 1, 1, 1) and (0.5, 10, 0.5, 10) only when that run does not converge (each
    run costs seconds at 100,000 customers; on CDNOW the three starts reach the same optimum, and
    on the 10M-event test store the scaled start was the best of the three). log_covariance: the
    covariance of the log-parameters, the inverse of the Hessian of the negative log-likelihood
    there (`_log_covariance`; None with covariance=False, which saves its 8 gradient evaluations
    when only the fit is needed). On the CDNOW sample of 2,357 customers it gives Fader & Hardie's
    r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL = -9595.0 (tests/unit/test_pareto_nbd.py).
    """
    x, tx, T, w = _histories(frequency, recency, T, weights, "Pareto/NBD")
    neg_ll, total = _pareto_nbd_mean_neg_ll(x, tx, T, w)
    mean_T = float(np.average(T, weights=w))
    starts = [(1, max(mean_T, 1), 1, max(mean_T, 1)), (1, 1, 1, 1), (0.5, 10, 0.5, 10)]
    params, ll, ok = _fit(neg_ll, starts, 4, until_converged=True)
    return {"r": params[0], "alpha": params[1], "s": params[2], "beta": params[3], "log_likelihood": ll * total,
            "converged": ok, "log_covariance": _log_covariance(neg_ll, params, total) if covariance else None}


def _log_covariance(neg_ll, params, total, step=1e-4):
    """Covariance of the log-parameters at the maximum: the inverse of the Hessian of the total
    negative log-likelihood in log-parameter space (observed information), by central
    differences of its gradient; None when that Hessian is not positive definite (a flat or
    boundary optimum, where the normal approximation does not hold)."""
    logp = np.log(np.asarray(params, dtype=float))
    k = len(logp)
    hess = np.empty((k, k))
    with np.errstate(all="ignore"), threadpool_limits(1):
        for i in range(k):
            e = np.zeros(k)
            e[i] = step
            hess[:, i] = (neg_ll(logp + e)[1] - neg_ll(logp - e)[1]) / (2 * step) * total
    hess = (hess + hess.T) / 2
    if not np.all(np.isfinite(hess)) or np.any(np.linalg.eigvalsh(hess) <= 0):
        return None
    return np.linalg.inv(hess)


# --------------------------------------------------------------------------- store level


def _unit(unit: str) -> float:
    if unit not in UNIT_DAYS:
        raise unknown_name("time unit", str(unit), "the BG/NBD time units", UNIT_DAYS)
    return UNIT_DAYS[unit]


def clv_summary(con: duckdb.DuckDBPyConnection, *, calibration_end, holdout_end=None, unit: str = "week") -> pd.DataFrame:
    """Per purchasing customer: frequency, recency, T, monetary_value, holdout_purchases.

    *Definition* (the usual RFM summary, as lifetimes' summary_data_from_transaction_data):
    orders on one calendar day are one transaction; frequency = transaction days in the
    calibration period (up to `calibration_end`) minus one; recency = days from the first to
    the last of them; T = days from the first to `calibration_end`; both in `unit`s;
    monetary_value = mean value of the repeat transactions (0 without repeats);
    holdout_purchases = transaction days after `calibration_end` up to `holdout_end` (default:
    the store's as-of date). Customer-level: for models and exports.
    """
    udays = _unit(unit)
    cal = to_timestamp(calibration_end, "calibration_end")
    if cal is None:
        raise CxInputError("calibration_end is required: the date that ends the calibration period, e.g. '2026-01-01'")
    end = to_timestamp(holdout_end, "holdout_end") or store_as_of(con)
    if end < cal:
        raise CxInputError(f"holdout_end ({end:%Y-%m-%d}) is before calibration_end ({cal:%Y-%m-%d})")
    return sql.run(con, "clv_summary", {"calibration_end": cal, "holdout_end": end, "unit_days": udays})


@dataclass(frozen=True)
class BgNbdResult:
    """A fitted BG/NBD model on a store.

    r, alpha, a, b: the fitted parameters; log_likelihood; customers: per customer
    customer_id, frequency, recency, T, monetary_value, holdout_purchases, p_alive,
    expected_purchases (over `horizon` units), expected_holdout (over the holdout period).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    unit: str
    horizon: float
    holdout_length: float
    customers: pd.DataFrame

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)

    def expected_purchases(self, t: float) -> pd.Series:
        """Each customer's expected purchases in the next `t` units after calibration_end."""
        c = self.customers
        return pd.Series(bgnbd_expected_purchases(self.params, t, c["frequency"], c["recency"], c["T"]),
                         index=c["customer_id"], name="expected_purchases")

    def summary(self) -> pd.DataFrame:
        """One row: the parameters, log-likelihood, customers, and the holdout check (actual vs
        expected purchases in the holdout period, summed over customers)."""
        c = self.customers
        return pd.DataFrame([{
            "r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b, "log_likelihood": self.log_likelihood,
            "customers": len(c), "unit": self.unit, "holdout_length": self.holdout_length,
            "holdout_actual": float(c["holdout_purchases"].sum()),
            "holdout_expected": float(c["expected_holdout"].sum()),
            "mean_p_alive": float(c["p_alive"].mean()),
        }])


def bgnbd(
    con: duckdb.DuckDBPyConnection,
    *,
    calibration_end,
    unit: str = "week",
    holdout_end=None,
    horizon: float | None = None,
) -> BgNbdResult:
    """Fit BG/NBD on the orders up to `calibration_end`; per customer P(alive) and expected purchases.

    *Definition*: `clv_summary` per customer who bought by `calibration_end`; parameters by
    maximum likelihood (`fit_bgnbd`); p_alive = P(alive at calibration_end | history);
    expected_purchases = E[purchases in the next `horizon` units] (default: the holdout length,
    or 52 weeks / 365 days / 12 months when there is no holdout); expected_holdout = the same
    over the holdout period (calibration_end to `holdout_end`, default the store's as-of date),
    to compare with holdout_purchases.
    """
    udays = _unit(unit)
    summary = clv_summary(con, calibration_end=calibration_end, holdout_end=holdout_end, unit=unit)
    if summary.empty:
        raise CxDataError(f"no customer bought by calibration_end {calibration_end}: choose a later date")
    cal = to_timestamp(calibration_end, "calibration_end")
    end = to_timestamp(holdout_end, "holdout_end") or store_as_of(con)
    hold = (pd.Timestamp(end).normalize() - pd.Timestamp(cal).normalize()).days / udays
    if horizon is None:
        horizon = hold if hold > 0 else 365.0 / udays
    if isinstance(horizon, bool) or not isinstance(horizon, (int, float)) or horizon <= 0:
        raise CxInputError(f"horizon must be a positive number of {unit}s, got {horizon!r}")
    fit = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    params = (fit["r"], fit["alpha"], fit["a"], fit["b"])
    out = summary.copy()
    out["p_alive"] = bgnbd_p_alive(params, out["frequency"], out["recency"], out["T"])
    out["expected_purchases"] = bgnbd_expected_purchases(params, horizon, out["frequency"], out["recency"], out["T"])
    out["expected_holdout"] = bgnbd_expected_purchases(params, max(hold, 0.0), out["frequency"], out["recency"], out["T"])
    return BgNbdResult(r=fit["r"], alpha=fit["alpha"], a=fit["a"], b=fit["b"], log_likelihood=fit["log_likelihood"],
                       converged=fit["converged"], unit=unit, horizon=float(horizon), holdout_length=float(hold),
                       customers=out)


DRAWS = 200  # parameter sets drawn for the CLV intervals


def _purchase_values(bg, x, T, month, horizon_months, monthly):
    """Per distinct (x, T) row, for one BG/NBD parameter set: the expected purchases over the
    horizon and their discounted sum over months k = 1..horizon_months, sum of [E(t_k) - E(t_(k-1))]
    / (1 + monthly)^k, both before P(alive) (`_bgnbd_purchases_if_alive`), which multiplies both."""
    prev = np.zeros(len(x))
    discounted = np.zeros(len(x))
    for k in range(1, horizon_months + 1):
        cum = _bgnbd_purchases_if_alive(bg, k * month, x, T)
        discounted += (cum - prev) / (1 + monthly) ** k
        prev = cum
    return prev, discounted


class _Rows:
    """The customers' (frequency, recency, T, monetary value) as the distinct rows the values are
    computed on (exact grouping, nothing rounded): purchases on distinct (x, t_x, T), their 2F1
    terms on distinct (x, T), spend on distinct (x, m), the value on distinct (x, t_x, T, m);
    `row` maps each customer to its distinct (x, t_x, T, m) row, `weight` counts them."""

    def __init__(self, x, tx, T, m):
        (self.x, self.tx, self.T), _, to_xtT = _grouped([x, tx, T])
        (self.xT_x, self.xT_T), _, self.xT = _grouped([self.x, self.T])
        (self.xm_x, self.xm_m), _, to_xm = _grouped([x, m])
        (self.xtT, self.xm), self.weight, self.row = _grouped([to_xtT, to_xm])
        self.xtT, self.xm = self.xtT.astype(int), self.xm.astype(int)

    def values(self, bg, gg, month, horizon_months, monthly):
        """Per distinct row: (expected purchases over the horizon, expected order value, discounted
        value) for one set of BG/NBD parameters `bg` and Gamma-Gamma parameters `gg` (see
        `customer_lifetime_value`): value = order value x discounted purchases."""
        alive = bgnbd_p_alive(bg, self.x, self.tx, self.T)
        purchases, discounted = _purchase_values(bg, self.xT_x, self.xT_T, month, horizon_months, monthly)
        purchases, discounted = (purchases[self.xT] * alive)[self.xtT], (discounted[self.xT] * alive)[self.xtT]
        spend = gamma_gamma_expected_spend(gg, self.xm_x, self.xm_m)[self.xm]
        return purchases, spend, spend * discounted


def parameter_draws(params, log_covariance, draws: int = DRAWS, *, seed: int = 0) -> np.ndarray:
    """`draws` parameter sets (one per row) from the large-sample normal distribution of the
    maximum-likelihood log-parameters: mean log(params), covariance `log_covariance` (the inverse
    Hessian of the negative log-likelihood, as `fit_bgnbd` returns). Drawing on the log scale keeps
    every parameter positive."""
    rng = np.random.default_rng(seed)
    return np.exp(rng.multivariate_normal(np.log(np.asarray(params, dtype=float)), log_covariance, size=draws))


def _value_draws(bg_fit, gg_fit, rows, month, horizon_months, monthly, draws, seed):
    """Discounted value per distinct row of `rows` (columns) for each drawn pair of parameter sets
    (rows); draws whose Gamma-Gamma q is not above 1 (mean spend undefined) are left out. None
    without covariances."""
    if bg_fit["log_covariance"] is None or gg_fit["log_covariance"] is None:
        return None
    bg = parameter_draws([bg_fit[k] for k in ("r", "alpha", "a", "b")], bg_fit["log_covariance"], draws, seed=seed)
    gg = parameter_draws([gg_fit[k] for k in ("p", "q", "gamma")], gg_fit["log_covariance"], draws, seed=seed + 1)
    keep = gg[:, 1] > 1
    with np.errstate(all="ignore"), threadpool_limits(1):
        out = np.array([rows.values(b, g, month, horizon_months, monthly)[2] for b, g in zip(bg[keep], gg[keep])])
    return out[np.all(np.isfinite(out), axis=1)] if len(out) else None


def _lifetime_values(con, calibration_end, unit, horizon_months, annual_discount_rate, draws, seed):
    """`customer_lifetime_value`'s summary row and its `_Values` (the customers in the summary's
    order, with the drawn values)."""
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int) or horizon_months < 1:
        raise CxInputError(f"horizon_months must be a whole number of at least 1, got {horizon_months!r}")
    if isinstance(annual_discount_rate, bool) or not isinstance(annual_discount_rate, (int, float)) \
            or not 0 <= annual_discount_rate < 1:
        raise CxInputError(f"annual_discount_rate must be a share from 0 up to 1 (0.1 = 10%), got {annual_discount_rate!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 0:
        raise CxInputError(f"draws must be a whole number of parameter sets, 0 for no interval, got {draws!r}")
    udays = _unit(unit)
    cal = to_timestamp(calibration_end, "calibration_end") or store_as_of(con)
    summary = clv_summary(con, calibration_end=cal, holdout_end=cal, unit=unit)
    if summary.empty:
        raise CxDataError(f"no customer bought by {cal:%Y-%m-%d}: the store has no orders to value")
    bg_fit = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    gg_fit = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    bg = (bg_fit["r"], bg_fit["alpha"], bg_fit["a"], bg_fit["b"])
    gg = (gg_fit["p"], gg_fit["q"], gg_fit["gamma"])
    rows = _Rows(*(summary[c] for c in ("frequency", "recency", "T", "monetary_value")))
    row = rows.row
    month = 365.25 / 12 / udays
    monthly = (1 + annual_discount_rate) ** (1 / 12) - 1
    purchases, spend, value = rows.values(bg, gg, month, horizon_months, monthly)
    drawn = _value_draws(bg_fit, gg_fit, rows, month, horizon_months, monthly, draws, seed) if draws else None
    if drawn is not None and len(drawn) < 2:
        drawn = None
    customers = pd.DataFrame({
        "customer_id": summary["customer_id"].to_numpy(),
        "p_alive": bgnbd_p_alive(bg, summary["frequency"], summary["recency"], summary["T"]),
        "expected_purchases": purchases[row], "expected_spend": spend[row], "clv": value[row],
        "clv_lower": np.nan if drawn is None else np.percentile(drawn, 2.5, axis=0)[row],
        "clv_upper": np.nan if drawn is None else np.percentile(drawn, 97.5, axis=0)[row],
    })
    totals = None if drawn is None else np.percentile(drawn @ rows.weight, [2.5, 97.5])
    n = len(customers)
    summary_row = pd.DataFrame([{
        "customers": n, "total_clv": float(customers["clv"].sum()), "mean_clv": float(customers["clv"].mean()),
        "total_clv_lower": np.nan if totals is None else totals[0], "total_clv_upper": np.nan if totals is None else totals[1],
        "mean_clv_lower": np.nan if totals is None else totals[0] / n,
        "mean_clv_upper": np.nan if totals is None else totals[1] / n,
        "draws": 0 if drawn is None else len(drawn),
        "r": bg[0], "alpha": bg[1], "a": bg[2], "b": bg[3], "p": gg[0], "q": gg[1], "gamma": gg[2],
        "horizon_months": horizon_months, "annual_discount_rate": annual_discount_rate,
        "assumptions": ("purchases follow BG/NBD and order values Gamma-Gamma (spend independent of frequency), "
                        "fitted on all orders up to the calibration end; revenue, not margin; "
                        f"{annual_discount_rate:.0%} a year discount; the interval reflects the uncertainty of "
                        "the fitted parameters only"),
    }])
    return summary_row, _Values(customers, drawn, row)


@dataclass(frozen=True)
class _Values:
    """The customers' lifetime values (`customer_lifetime_value`'s customers, in the summary's
    order) and the drawn values: `drawn` is draws x distinct (x, t_x, T, m) rows (None without an
    interval), `row` each customer's distinct row."""

    customers: pd.DataFrame
    drawn: np.ndarray | None
    row: np.ndarray

    def totals(self, idx) -> tuple[float, float, float]:
        """The total value of the customers at positions `idx` and its 95% interval (2.5% and
        97.5% percentiles of the drawn totals; NaN without draws)."""
        total = float(self.customers["clv"].to_numpy()[idx].sum())
        if self.drawn is None:
            return total, np.nan, np.nan
        lo, hi = np.percentile(self.drawn @ np.bincount(self.row[idx], minlength=self.drawn.shape[1]), [2.5, 97.5])
        return total, float(lo), float(hi)


def customer_lifetime_value(
    con: duckdb.DuckDBPyConnection,
    *,
    calibration_end=None,
    unit: str = "week",
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    draws: int = DRAWS,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customer lifetime value over `horizon_months`: BG/NBD purchases x Gamma-Gamma spend, discounted,
    with 95% intervals from the parameters' uncertainty.

    *Definition*: both models fitted on the orders up to `calibration_end` (default: the store's
    as-of date, i.e. all data). For month k = 1..horizon_months, expected purchases in that
    month (BG/NBD, E[Y(t_k)] - E[Y(t_(k-1))]) times the expected order value (Gamma-Gamma
    conditional mean) discounted by (1 + monthly rate)^k, monthly rate = (1 +
    annual_discount_rate)^(1/12) - 1; clv is the sum. Revenue, not margin.
    *Interval* (parameter uncertainty, a parametric bootstrap of the estimates): `draws` parameter
    sets of each model from the normal approximation of its maximum-likelihood log-parameters
    (`parameter_draws`: covariance = inverse Hessian of the negative log-likelihood, taken
    numerically), the value recomputed for each; the 2.5% and 97.5% percentiles over the draws
    (of each customer's value, and of the total; the mean's interval is the total's over the
    customers). Draws whose Gamma-Gamma q is not above 1 are left out (`draws` in the summary
    counts those used). It does not include the randomness of the customers' future purchases,
    only how well the data pin the models down. draws = 0: no interval (NaN).
    Returns (customers, summary): customers (customer-level: exports only) customer_id,
    p_alive, expected_purchases, expected_spend, clv, clv_lower, clv_upper; summary one row:
    customers, total_clv, mean_clv, total_clv_lower/upper, mean_clv_lower/upper, draws, the fitted r,
    alpha, a, b, p, q, gamma, horizon_months, annual_discount_rate, assumptions.
    """
    summary, values = _lifetime_values(con, calibration_end, unit, horizon_months, annual_discount_rate, draws, seed)
    order = np.argsort(-values.customers["clv"].to_numpy(), kind="stable")
    return values.customers.iloc[order].reset_index(drop=True), summary


NPS_ORDER = {"promoter": 0, "passive": 1, "detractor": 2}


def clv_by_segment(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str = "nps_group",
    unit: str = "week",
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    draws: int = DRAWS,
    seed: int = 0,
    min_group_size: int = MIN_GROUP_SIZE,
    lifetime: LifetimeValue | None = None,
) -> pd.DataFrame:
    """Customer lifetime value rolled up by segment, with 95% intervals from parameter uncertainty.

    *Definition*: `customer_lifetime_value` on all orders, per value of `by` (a customers column,
    or nps_group / long_resolution at the store's as-of date, as the churn breakdowns; '(none)' when
    blank): customers (buying customers in the segment), total_clv (sum of their values), mean_clv
    (total / customers). Interval: the 2.5% and 97.5% percentiles over the drawn parameter sets of
    the segment's total (and of the mean: the total's interval over the customers), as in
    `customer_lifetime_value`. Segments below `min_group_size` customers are suppressed (values
    and intervals blanked, complementary suppression as everywhere).
    `lifetime`: a fitted `lifetime_value_report` result on the same store, whose values (and drawn
    values) are rolled up instead of fitting the models again; `unit`, `horizon_months`,
    `annual_discount_rate`, `draws` and `seed` are then those of that report (the same figures as
    computing them here with them).
    Columns: segment, customers, total_clv, total_clv_lower, total_clv_upper, mean_clv, mean_clv_lower,
    mean_clv_upper, suppressed.
    """
    from cxlib.analysis.churn.status import _segments_fragment

    check_min_group_size(min_group_size)
    if lifetime is None:
        values = _lifetime_values(con, None, unit, horizon_months, annual_discount_rate, draws, seed)[1]
    elif not isinstance(lifetime, LifetimeValue):
        raise CxInputError(f"lifetime must be the result of lifetime_value_report, got {type(lifetime).__name__}")
    elif lifetime.values is None:
        raise CxDataError("the lifetime value report has no values to roll up (the models were not fitted)")
    else:
        values = lifetime.values
    customers = values.customers
    text = "SELECT customer_id, segment FROM " + _segments_fragment(con, by)
    segments = con.execute(text, {"as_of": store_as_of(con)} if sql.parameters(text) else {}).df()
    segment = customers["customer_id"].map(segments.set_index("customer_id")["segment"]).fillna("(none)").to_numpy()
    rows = []
    for name in pd.unique(segment):
        idx = np.flatnonzero(segment == name)
        total, lo, hi = values.totals(idx)
        rows.append({"segment": str(name), "customers": len(idx), "total_clv": total, "total_clv_lower": lo,
                     "total_clv_upper": hi, "mean_clv": total / len(idx), "mean_clv_lower": lo / len(idx),
                     "mean_clv_upper": hi / len(idx)})
    out = pd.DataFrame(rows)
    key = out["segment"].map(NPS_ORDER).fillna(3) if by == "nps_group" else -out["customers"]
    out = out.iloc[np.lexsort((out["segment"], key))].reset_index(drop=True)
    return suppress(out, n="customers", min_group_size=min_group_size,
                    values=["total_clv", "total_clv_lower", "total_clv_upper", "mean_clv", "mean_clv_lower", "mean_clv_upper"])


def bgnbd_holdout_check(con: duckdb.DuckDBPyConnection, *, holdout_days: int = 182, unit: str = "week") -> pd.DataFrame:
    """Fit BG/NBD on all orders but the last `holdout_days` and compare its forecast with them.

    *Definition*: calibration_end = the store's as-of date minus `holdout_days`; returns
    `BgNbdResult.summary()` (parameters, log-likelihood, holdout_actual = transaction days in
    the holdout, holdout_expected = the sum of the customers' expected purchases over it).
    """
    from datetime import timedelta

    if isinstance(holdout_days, bool) or not isinstance(holdout_days, int) or holdout_days < 1:
        raise CxInputError(f"holdout_days must be a whole number of days of at least 1, got {holdout_days!r}")
    cal = store_as_of(con) - timedelta(days=holdout_days)
    return bgnbd(con, calibration_end=cal, unit=unit).summary()


def holdout_by_frequency(model: BgNbdResult, *, max_frequency: int = 7,
                         min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Actual and expected purchases in the holdout period, by repeat purchases before it.

    *Definition* (the usual BG/NBD check, as lifetimes' calibration-vs-holdout plot): customers
    of a fitted `bgnbd` model grouped by their calibration frequency (repeat transaction days;
    `max_frequency` and more form one group); per group: customers, actual = mean
    holdout_purchases, expected = mean expected_holdout. Groups with fewer than `min_group_size`
    customers are suppressed (complementary), rows kept.
    Columns: frequency (the group's lowest frequency), label ('0', '1', ..., '7+'), customers,
    actual, expected, suppressed.
    """
    if not isinstance(model, BgNbdResult):
        raise CxInputError(f"holdout_by_frequency takes the result of bgnbd, got {type(model).__name__}")
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int) or max_frequency < 1:
        raise CxInputError(f"max_frequency must be a whole number of at least 1, got {max_frequency!r}")
    check_min_group_size(min_group_size)
    c = model.customers
    group = np.minimum(c["frequency"].to_numpy(dtype=float), max_frequency).astype(int)
    out = (pd.DataFrame({"frequency": group, "actual": c["holdout_purchases"].to_numpy(dtype=float),
                         "expected": c["expected_holdout"].to_numpy(dtype=float)})
           .groupby("frequency", as_index=False)
           .agg(customers=("actual", "size"), actual=("actual", "mean"), expected=("expected", "mean")))
    out.insert(1, "label", [f"{f}+" if f == max_frequency else str(f) for f in out["frequency"]])
    return suppress(out, n="customers", values=["actual", "expected"], min_group_size=min_group_size)


@dataclass(frozen=True)
class LifetimeValue:
    """Lifetime value for a report: `lifetime_value_report`'s result.

    headline: one sentence (the expected value, or why the models could not be fitted here);
    summary: `customer_lifetime_value`'s summary row (None when not fitted); holdout: the
    BG/NBD holdout check (`BgNbdResult.summary()`, None when it could not run); by_frequency:
    `holdout_by_frequency` of that check (None likewise); models: `holdout_models` of that
    check, BG/NBD beside Pareto/NBD (None likewise); values: the customers' values and drawn
    values behind the summary, which `clv_by_segment(..., lifetime=)` rolls up (None when not fitted).
    """

    headline: str
    summary: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    by_frequency: pd.DataFrame | None = None
    models: pd.DataFrame | None = None
    values: _Values | None = field(default=None, repr=False)

    @property
    def fitted(self) -> bool:
        return self.summary is not None


def lifetime_value_report(
    con: duckdb.DuckDBPyConnection,
    *,
    horizon_months: int = 12,
    holdout_days: int = 182,
    unit: str = "week",
    min_group_size: int = MIN_GROUP_SIZE,
) -> LifetimeValue:
    """Customer lifetime value and its holdout check, or a plain sentence on why not.

    *Definition*: `customer_lifetime_value` (BG/NBD x Gamma-Gamma, discounted, over
    `horizon_months`) on all orders; the check is `bgnbd` fitted on all orders but the last
    `holdout_days` (as `bgnbd_holdout_check`) with `holdout_by_frequency`. When a model cannot
    be fitted to the store's orders (too few repeat buyers, a Gamma-Gamma q not above 1, no
    purchase before the holdout, ...) the headline says why and the parts stay None; the numbers
    are never made up.
    """
    from datetime import timedelta

    if isinstance(holdout_days, bool) or not isinstance(holdout_days, int) or holdout_days < 1:
        raise CxInputError(f"holdout_days must be a whole number of days of at least 1, got {holdout_days!r}")
    try:
        summary, values = _lifetime_values(con, None, unit, horizon_months, 0.10, DRAWS, 0)  # as customer_lifetime_value
    except CxDataError as exc:
        return LifetimeValue(f"The lifetime value models could not be fitted to this store's orders: {exc}.")
    row = summary.iloc[0]
    if not (np.isfinite(row["total_clv"]) and np.isfinite(row["mean_clv"])):
        return LifetimeValue("The lifetime value models were fitted, but give no finite value for these orders "
                             "(the purchase model does not settle); the figures are left out.")
    interval = (f"; 95% interval from the models' parameter uncertainty {row['total_clv_lower']:,.0f} to "
                f"{row['total_clv_upper']:,.0f}" if np.isfinite(row["total_clv_lower"]) else "")
    headline = (f"Expected value of today's buying customers over the next {horizon_months} months: "
                f"{row['total_clv']:,.0f} ({row['mean_clv']:,.2f} per customer{interval}). "
                f"Assumptions: {row['assumptions']}.")
    try:
        model = bgnbd(con, calibration_end=store_as_of(con) - timedelta(days=holdout_days), unit=unit)
    except CxDataError as exc:
        return LifetimeValue(f"{headline} The purchase model could not be checked on the last {holdout_days} days: "
                             f"{exc}.", summary, values=values)
    models = holdout_models(model)
    return LifetimeValue(f"{headline} {_better_model(models)}", summary, model.summary(),
                         holdout_by_frequency(model, min_group_size=min_group_size), models, values)


def holdout_models(model: BgNbdResult) -> pd.DataFrame:
    """BG/NBD and Pareto/NBD on the same calibration period, against the same holdout.

    *Definition*: the Pareto/NBD model (`fit_pareto_nbd`) fitted on the customers of a fitted
    `bgnbd` model (same frequency, recency, T); per model: log_likelihood (calibration),
    holdout_actual (purchase days in the holdout), holdout_expected (the sum of the customers'
    expected purchases over it), error = expected - actual, customer_mae = the mean over customers
    of |expected - actual purchases| (smaller is better). A model that cannot be fitted has blank
    figures. Aggregated: no customer data.
    Columns: model, log_likelihood, customers, holdout_actual, holdout_expected, error, customer_mae.
    """
    if not isinstance(model, BgNbdResult):
        raise CxInputError(f"holdout_models takes the result of bgnbd, got {type(model).__name__}")
    c = model.customers
    actual = c["holdout_purchases"].to_numpy(dtype=float)
    rows = [("BG/NBD", model.log_likelihood, c["expected_holdout"].to_numpy(dtype=float))]
    try:
        fit = fit_pareto_nbd(c["frequency"], c["recency"], c["T"], covariance=False)
        params = (fit["r"], fit["alpha"], fit["s"], fit["beta"])
        rows.append(("Pareto/NBD", fit["log_likelihood"], pareto_nbd_expected_purchases(
            params, model.holdout_length, c["frequency"], c["recency"], c["T"])))
    except CxDataError:
        rows.append(("Pareto/NBD", np.nan, np.full(len(c), np.nan)))
    return pd.DataFrame([{
        "model": name, "log_likelihood": ll, "customers": len(c), "holdout_actual": float(actual.sum()),
        "holdout_expected": float(expected.sum()), "error": float(expected.sum() - actual.sum()),
        "customer_mae": float(np.mean(np.abs(expected - actual))),
    } for name, ll, expected in rows])


def _better_model(models: pd.DataFrame) -> str:
    """One sentence: which model's holdout forecast came closer, customer by customer."""
    m = models.dropna(subset=["customer_mae"]).sort_values("customer_mae", kind="stable")
    if len(m) < 2:
        return "The Pareto/NBD model could not be fitted for comparison."
    best, other = m.iloc[0], m.iloc[1]
    return (f"On the holdout, {best['model']} forecast each customer's purchases more closely than {other['model']} "
            f"(mean absolute error {best['customer_mae']:.3f} against {other['customer_mae']:.3f} purchases; "
            f"totals {best['holdout_expected']:,.0f} and {other['holdout_expected']:,.0f} against "
            f"{best['holdout_actual']:,.0f} actual).")
