"""Why customers churn: a time-varying Cox model (lifelines), so that no covariate is used before it is known.

Definition: docs/metrics.md (Cox churn model).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from cxlib.analysis.churn.kaplan_meier import _check_alpha
from cxlib.analysis.churn.status import (
    _as_of,
    _check_data,
    _check_definition,
    _check_inactivity,
    _run,
    _status_fragment,
    definition_text,
)
from cxlib.errors import CxDataError, CxInputError
from cxlib.sql import Ident

COX_COVARIATES = {
    "nps_detractor": "latest NPS answer was 0-6 (detractor)",
    "nps_passive": "latest NPS answer was 7-8 (passive)",
    "nps_no_answer": "no NPS answer yet",
    "long_resolution": "a ticket took more than 72 hours",
    "ticket_contacts": "service contacts on resolved tickets",
    "channel_switches": "channel switches within a day",
}


@dataclass(frozen=True)
class CoxResult:
    """A fitted time-varying Cox model of churn.

    summary: covariate, description, coef, se, hazard_ratio, ci_lower, ci_upper, p_value, alpha.
    customers: per customer (customer-level: exports only) customer_id, churned, tenure_days and
    the covariates at the end of their follow-up, with partial_hazard.
    """

    summary: pd.DataFrame
    customers: pd.DataFrame
    baseline_cumulative_hazard: pd.Series
    concordance: float
    log_likelihood_ratio_p: float
    n_customers: int
    n_events: int
    definition: str
    covariate_means: pd.Series

    def churn_probability(self, horizon_days: float) -> pd.Series:
        """P(churn within `horizon_days` | still a customer after tenure_days), per customer.

        1 - exp(-(H0(t + h) - H0(t)) * partial_hazard), H0 the Breslow baseline cumulative
        hazard (a step function, held flat after the last event time: beyond the follow-up the
        data hold, no further risk is extrapolated).
        """
        h0 = self.baseline_cumulative_hazard
        times, values = h0.index.to_numpy(dtype=float), h0.to_numpy(dtype=float)

        def at(t):
            i = np.searchsorted(times, t, side="right") - 1
            return np.where(i >= 0, values[np.clip(i, 0, None)], 0.0)

        t = self.customers["tenure_days"].to_numpy(dtype=float)
        inc = at(t + horizon_days) - at(t)
        p = 1 - np.exp(-inc * self.customers["partial_hazard"].to_numpy(dtype=float))
        return pd.Series(p, index=self.customers["customer_id"], name="churn_probability")


def _design(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "nps_detractor": (df["nps_group"] == "detractor").astype(float),
            "nps_passive": (df["nps_group"] == "passive").astype(float),
            "nps_no_answer": (df["nps_group"] == "no_answer").astype(float),
            "long_resolution": df["long_resolution"].astype(float),
            "ticket_contacts": df["ticket_contacts"].astype(float),
            "channel_switches": df["channel_switches"].astype(float),
        },
        index=df.index,
    )
    return out


def cox_factors(con: duckdb.DuckDBPyConnection, *, definition: str = "contractual", inactivity_days: int = 90,
                as_of=None, max_customers: int | None = 10_000) -> list[str]:
    """The covariates `cox_churn` would estimate here: those that vary between the customers it would
    fit (empty when none does, or when nobody churned). Only the rows of those customers are built
    (the same seeded sample), so this check costs a fraction of the fit."""
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_max_customers(max_customers)
    try:
        _check_data(con, definition)
    except CxDataError:
        return []
    params = {"as_of": _as_of(con, as_of), "inactivity_days": inactivity_days}
    followed = _run(con, "churn_cox_customers", params, {"status": _status_fragment(definition)})
    if not followed["churned"].any():
        return []
    chosen = _sample(followed["customer_id"].to_numpy(), max_customers)
    status = _status_fragment(definition)
    if chosen is not None:
        status = Ident(f"(SELECT * FROM {status} WHERE customer_id IN (SELECT unnest($customers)))")
        params["customers"] = list(chosen)
    X = _design(_run(con, "churn_cox_intervals", params, {"status": status}))
    return [c for c in X.columns if X[c].nunique() > 1]


def cox_churn(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    alpha: float = 0.05,
    penalizer: float = 0.0,
    max_customers: int | None = 10_000,
) -> CoxResult:
    """A Cox proportional-hazards model of churn with CX covariates that change over time.

    *Definition*: lifelines' CoxTimeVaryingFitter on counting-process rows (churn_cox_intervals.sql):
    each customer's follow-up (as in `churn_status`, time since start in days) is cut at every
    moment a covariate changes, and each interval carries the covariates known at its start.
    Covariates: NPS group of the latest relationship answer so far (promoter is the reference;
    nps_detractor, nps_passive, nps_no_answer), long_resolution (a ticket has been open more than
    72 hours), ticket_contacts (contacts of tickets resolved so far), channel_switches (hand-offs
    between channels within a day, so far).
    Leakage: covariates measured at the as-of date would see the future (a customer who stays
    longer has more time to collect tickets and answers, which makes tickets look protective);
    the time-varying form uses only what was known before each moment of risk.
    hazard_ratio = exp(coef); a value above 1 means faster churn; intervals are Wald intervals
    at level 1 - alpha. Customers with no follow-up time (churned at their start) are left out.
    Scale: when there are more than `max_customers` customers the model is fitted on a random
    sample of that many (seeded: the same data give the same sample) and then applied to every
    customer; n_customers says how many were fitted. None fits everyone.
    Fitting: lifelines' Newton-Raphson (its normalisation, steps, stopping rules, standard errors
    and Breslow baseline), with Efron's risk-set sums taken from cumulative sums over the rows
    sorted by start and by stop (`_efron_sums`) instead of a pass over every row at each death
    time: the same fit to rounding (within 1e-8 of lifelines' own fitter, Efron ties included:
    tests/unit/test_churn_value.py, test_churn_planted.py), in a fraction of the time.
    Only covariates that vary between the customers fitted are estimated (a store without NPS
    answers has no NPS factors); CxDataError when none varies or nobody churned.
    """
    from threadpoolctl import threadpool_limits

    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_alpha(alpha)
    _check_penalizer(penalizer)
    _check_data(con, definition)
    rows = _interval_rows(con, definition, inactivity_days, _as_of(con, as_of))
    _check_max_customers(max_customers)
    X = _design(rows)
    fit_rows = _rows_to_fit(rows, max_customers)
    Xf = X.loc[fit_rows.index]
    keep = [c for c in Xf.columns if Xf[c].nunique() > 1]  # a constant covariate cannot be estimated
    if not keep:
        raise CxDataError("the Cox model needs a CX factor that differs between customers (NPS answers, service "
                          "tickets or channel switches between events); every customer here has the same")
    fit_df = pd.concat([fit_rows[["customer_id", "start_day", "stop_day", "event"]], Xf[keep]], axis=1)
    ctv = _fitter(alpha=alpha, penalizer=penalizer)
    with threadpool_limits(1):  # small products, where BLAS threads on a shared machine only wait on each other
        ctv.fit(fit_df, id_col="customer_id", event_col="event", start_col="start_day", stop_col="stop_day")
    summary = _summary_table(ctv.summary, alpha)
    cust = _customer_table(rows, keep, ctv)
    llr = ctv.log_likelihood_ratio_test()
    conc = _concordance(cust)
    return CoxResult(
        summary=summary,
        customers=cust,
        baseline_cumulative_hazard=ctv.baseline_cumulative_hazard_.iloc[:, 0],
        concordance=conc,
        log_likelihood_ratio_p=float(llr.p_value),
        n_customers=int(fit_rows["customer_id"].nunique()),
        n_events=int(fit_rows["event"].sum()),
        definition=definition_text(definition, inactivity_days),
        covariate_means=Xf[keep].mean(),
    )


def _check_penalizer(penalizer) -> None:
    if isinstance(penalizer, bool) or not isinstance(penalizer, (int, float)) or penalizer < 0:
        raise CxInputError(f"penalizer must be a number of at least 0, got {penalizer!r}")


def _check_max_customers(max_customers) -> None:
    if max_customers is not None and (isinstance(max_customers, bool) or not isinstance(max_customers, int)
                                      or max_customers < 10):
        raise CxInputError(f"max_customers must be a whole number of at least 10, or None, got {max_customers!r}")


def _interval_rows(con, definition: str, inactivity_days: int, cutoff) -> pd.DataFrame:
    """The counting-process rows (churn_cox_intervals.sql); CxDataError when no customer churned."""
    rows = _run(
        con,
        "churn_cox_intervals",
        {"as_of": cutoff, "inactivity_days": inactivity_days},
        {"status": _status_fragment(definition)},
    )
    if rows.empty or not rows["event"].any():
        raise CxDataError("the Cox model needs customers who churned; none did under this definition")
    return rows


def _rows_to_fit(rows: pd.DataFrame, max_customers: int | None) -> pd.DataFrame:
    """Every row, or the rows of a seeded random sample of `max_customers` customers (`_sample`)."""
    chosen = _sample(rows["customer_id"].unique(), max_customers)
    return rows if chosen is None else rows[rows["customer_id"].isin(chosen)]


def _sample(ids: np.ndarray, max_customers: int | None) -> np.ndarray | None:
    """A seeded random sample of `max_customers` of the customer ids (the same ids give the same
    sample, in any order), or None when there are not more than that."""
    if max_customers is None or len(ids) <= max_customers:
        return None
    return np.random.default_rng(20240607).choice(np.sort(ids), size=max_customers, replace=False)


def _summary_table(s: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per covariate from lifelines' summary `s`, with hazard ratios and their intervals."""
    return pd.DataFrame(
        {
            "covariate": s.index,
            "description": [COX_COVARIATES[c] for c in s.index],
            "coef": s["coef"].to_numpy(),
            "se": s["se(coef)"].to_numpy(),
            "hazard_ratio": s["exp(coef)"].to_numpy(),
            "ci_lower": np.exp(s.iloc[:, s.columns.get_loc("coef lower %g%%" % ((1 - alpha) * 100))].to_numpy()),
            "ci_upper": np.exp(s.iloc[:, s.columns.get_loc("coef upper %g%%" % ((1 - alpha) * 100))].to_numpy()),
            "p_value": s["p"].to_numpy(),
            "alpha": alpha,
        }
    )


def _customer_table(rows: pd.DataFrame, keep: list[str], ctv) -> pd.DataFrame:
    """Per customer: churned, tenure_days, the covariates at the end of follow-up, partial_hazard.

    The rows come ordered by customer and time (churn_cox_intervals.sql), so a customer's last row
    is where the next row's customer differs; only the last row can be a churn (it ends at the churn).
    """
    ids = rows["customer_id"].to_numpy()
    last = rows.iloc[np.flatnonzero(np.append(ids[1:] != ids[:-1], True))].reset_index(drop=True)
    cust = pd.concat([last[["customer_id"]], _design(last)], axis=1)
    cust.insert(1, "churned", last["event"].to_numpy(dtype=bool))
    cust.insert(2, "tenure_days", last["stop_day"].to_numpy())
    cust["partial_hazard"] = np.asarray(ctv.predict_partial_hazard(cust[keep])).ravel()
    return cust


def _concordance(cust: pd.DataFrame) -> float:
    """Concordance on the customers' final state: Harrell's C as lifelines' concordance_index
    (tenure_days, -partial_hazard, churned) counts it, with arrays instead of its loop (the same
    counts: tests/unit/test_churn_value.py).

    Each customer is compared with the churners before them (churned strictly earlier; for a
    censored customer, at or before their tenure): pairs counts the comparisons, correct those
    where the churner had the higher partial hazard, tied the equal ones; C = (correct + tied / 2)
    / pairs. The churners in time order are cut into blocks: counts over whole blocks come from a
    cumulative table (block x rank of the hazard), the rest of a block by direct comparison.
    """
    t = cust["tenure_days"].to_numpy(dtype=float)
    score = -cust["partial_hazard"].to_numpy(dtype=float)
    died = cust["churned"].to_numpy(dtype=bool)
    order = np.argsort(t[died], kind="stable")
    dt, ds = t[died][order], score[died][order]  # the churners in time order
    values = np.unique(ds)
    n, k = len(ds), len(values)
    size = max(64, -(-n * k // 4_000_000))  # churners per block: the table holds at most 4 million counts
    blocks = n // size
    table = np.zeros((blocks + 1, k + 1), dtype=np.int64)
    np.add.at(table, (np.arange(blocks * size) // size + 1, np.searchsorted(values, ds[:blocks * size]) + 1), 1)
    below = table.cumsum(axis=0).cumsum(axis=1)  # [b, v]: churners in the blocks before b with rank < v
    seen = np.where(died, np.searchsorted(dt, t, side="left"), np.searchsorted(dt, t, side="right"))
    block = seen // size
    lt, le = np.searchsorted(values, score, side="left"), np.searchsorted(values, score, side="right")
    correct = int(below[block, lt].sum())
    tied = int((below[block, le] - below[block, lt]).sum())
    for rows in np.array_split(np.arange(len(t)), max(1, len(t) * size // 4_000_000)):
        idx = block[rows, None] * size + np.arange(size)  # the churners seen in the block not counted whole
        other = np.where(idx < seen[rows, None], ds[np.minimum(idx, n - 1)], np.nan)
        correct += int((other < score[rows, None]).sum())
        tied += int((other == score[rows, None]).sum())
    pairs = int(seen.sum())
    if pairs == 0:
        raise CxDataError("the Cox model's concordance needs a customer who outlasted a churner; none did")
    return (correct + tied / 2) / pairs

def _fitter(**options):
    """lifelines' CoxTimeVaryingFitter with its per-death-time loops replaced by `_efron_sums`
    (the Newton-Raphson steps, the partial likelihood and the Breslow baseline are unchanged)."""
    from lifelines import CoxTimeVaryingFitter

    class FastCoxTimeVaryingFitter(CoxTimeVaryingFitter):
        _get_gradients = staticmethod(_efron_sums)

        def _compute_cumulative_baseline_hazard(self, tv_data, events, start, stop, weights):
            """Breslow: at each death time, the weighted deaths over the sum of the partial
            hazards at risk (start < t <= stop), cumulated."""
            hazards = self.predict_partial_hazard(tv_data).to_numpy()
            events, start, stop, weights = (np.asarray(a) for a in (events, start, stop, weights))
            times, _, deaths = _death_times(events, stop, weights)
            risk = _risk_set_sums(hazards[:, None], start, stop, times)[:, 0]
            return pd.DataFrame(np.cumsum(deaths / risk), index=times, columns=["baseline hazard"])

    return FastCoxTimeVaryingFitter(**options)


def _death_times(events, stop, weights):
    """The distinct death times, each death row's position among them, and the weighted deaths at each."""
    times, at = np.unique(stop[events], return_inverse=True)
    return times, at, np.bincount(at, weights=weights[events], minlength=len(times))


def _risk_set_sums(values, start, stop, times):
    """Per time t in `times`: the column sums of `values` over the rows at risk (start < t <= stop),
    as the sum over stop >= t less the sum over start >= t (a row starting at or after t ends after it)."""
    def from_on(key):
        order = np.argsort(key, kind="stable")
        suffix = np.zeros((len(key) + 1, values.shape[1]))
        suffix[:-1] = np.cumsum(values[order][::-1], axis=0)[::-1]
        return suffix[np.searchsorted(key[order], times, side="left")]

    return from_on(stop) - from_on(start)


def _efron_sums(X, events, start, stop, weights, beta):
    """Efron's partial log-likelihood of counting-process rows at `beta`, its gradient and Hessian:
    what lifelines' CoxTimeVaryingFitter._get_gradients returns (hessian, gradient, log_lik), the
    same terms summed in another order.

    At each death time t with d tied death rows: risk = sum over the rows at risk of
    w exp(x beta) (with x and x x' for the derivatives), tie = the same over the deaths; for
    l = 0..d-1 the term log(1 / (risk - l/d tie)), times the deaths' mean weight.
    """
    n, k = X.shape
    phi = weights * np.exp(X @ beta)
    xx = (X[:, :, None] * X[:, None, :]).reshape(n, k * k)
    values = phi[:, None] * np.column_stack([np.ones(n), X, xx])
    times, at, weight_count = _death_times(events, stop, weights)
    risk = _risk_set_sums(values, start, stop, times)
    tie = np.zeros_like(risk)
    np.add.at(tie, at, values[events])
    ties = np.bincount(at, minlength=len(times))
    time_of = np.repeat(np.arange(len(times)), ties)  # one entry per (death time, l)
    share = (np.arange(len(time_of)) - np.repeat(np.cumsum(ties) - ties, ties)) / ties[time_of]
    r, t = risk[time_of], tie[time_of]
    denom = 1.0 / (r[:, 0] - share * t[:, 0])
    summand = (r[:, 1:k + 1] - share[:, None] * t[:, 1:k + 1]) * denom[:, None]
    a1 = (r[:, k + 1:] - share[:, None] * t[:, k + 1:]) * denom[:, None]
    mean_weight = (weight_count / ties)[time_of]
    x_death_sum = weights[events] @ X[events]
    hessian = ((summand * mean_weight[:, None]).T @ summand
               - (mean_weight @ a1).reshape(k, k))
    gradient = x_death_sum - mean_weight @ summand
    log_lik = x_death_sum @ beta + mean_weight @ np.log(denom)
    return hessian, gradient, log_lik
