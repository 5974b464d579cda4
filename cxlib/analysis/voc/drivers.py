"""Key drivers of NPS: Johnson's relative weights with bootstrap intervals and per-driver F-tests.

Definition: docs/metrics.md (key drivers).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.voc.peakend import _RATING_MIDPOINT
from cxlib.analysis.voc.scores import MISSING_SEGMENT, _customer_attributes
from cxlib.errors import CxDataError, CxInputError, unknown_name

_SERVICE = {
    "ticket resolution > 72h": ["long_resolution"],
    "resolution hours (max, log)": ["log_max_resolution_hours"],
    "tickets": ["tickets"],
    "ticket contacts": ["ticket_contacts"],
    "reopened tickets": ["reopened_tickets"],
    "open tickets": ["open_tickets"],
    "channel switches": ["channel_switches"],
}


def relative_weights(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Johnson's (2000) relative weights: each column's share of the OLS R^2, and that R^2.

    *Definition*: with R the predictors' correlation matrix = V diag(l) V', Lambda = R^(1/2) =
    V diag(sqrt l) V', beta = R^(-1/2) r_xy (y on the orthogonal counterparts of X);
    weight_j = sum_k Lambda_jk^2 beta_k^2. The weights are non-negative and sum to R^2.
    Constant columns get weight 0.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sd = x.std(axis=0)
    keep = sd > 0
    weights = np.zeros(x.shape[1])
    if not keep.any() or y.std() == 0:
        return weights, 0.0
    xs = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    ys = (y - y.mean()) / y.std()
    n = len(y)
    rxx = xs.T @ xs / n
    rxy = xs.T @ ys / n
    evals, evecs = np.linalg.eigh(rxx)
    evals = np.clip(evals, 0, None)
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    inv_sqrt = evecs @ np.diag([1 / math.sqrt(v) if v > 1e-10 else 0.0 for v in evals]) @ evecs.T
    beta = inv_sqrt @ rxy
    w = (lam**2) @ (beta**2)
    weights[keep] = w
    return weights, float(w.sum())


def _driver_frame(con, *, target, attributes, rating_metric, min_ratings_share, max_customers, as_of, max_levels):
    from cxlib.analysis.features import customer_features

    feats = customer_features(con, as_of=as_of)
    feats = feats[feats["nps_score"].notna()].copy()
    if max_customers is not None and len(feats) > max_customers:
        feats = feats.sample(n=max_customers, random_state=0)
    cutoff = to_timestamp(as_of, "as_of")
    if cutoff is None:
        from cxlib.store.connection import as_of as store_as_of

        cutoff = store_as_of(con)
    ratings = sql.run(con, "voc_driver_ratings", {"metric": rating_metric, "as_of": cutoff})
    wide = ratings.pivot(index="customer_id", columns="touchpoint", values="rating")
    frame = feats.set_index("customer_id")
    groups: dict[str, tuple[str, list[str]]] = {}
    # touchpoint ratings: only touchpoints rated by enough of the NPS respondents; a missing
    # rating is set to that touchpoint's mean (mean imputation), so it carries no signal
    for tp in sorted(wide.columns):
        col = wide[tp].reindex(frame.index)
        if col.notna().mean() >= min_ratings_share:
            name = f"rating_{tp}"
            frame[name] = col.fillna(col.mean())
            groups[f"{tp} rating"] = ("touchpoint rating", [name])
    frame["long_resolution"] = frame["long_resolution"].astype(float)
    frame["log_max_resolution_hours"] = np.log1p(frame["max_resolution_hours"].fillna(0).astype(float))
    for label, cols in _SERVICE.items():
        groups[label] = ("service", cols)
    if attributes:
        cust = sql.run(con, "voc_customer_attributes", {}, {"columns": _attribute_list(con, attributes)})
        cust = cust.set_index("customer_id").reindex(frame.index)
        too_many = [a for a in attributes if cust[a].nunique(dropna=True) > max_levels]
        if too_many:
            import warnings

            from cxlib.errors import CxWarning

            warnings.warn(f"left out of the driver model: {', '.join(too_many)} (more than {max_levels} distinct "
                          "values; an identifier or free text is not a segment)", CxWarning, stacklevel=3)
        for attr in [a for a in attributes if a not in too_many]:
            values = cust[attr].astype("object").where(cust[attr].notna(), MISSING_SEGMENT).astype(str)
            dummies = pd.get_dummies(values, prefix=f"attr_{attr}", drop_first=True, dtype=float)
            frame = pd.concat([frame, dummies], axis=1)
            groups[attr] = ("customer attribute", list(dummies.columns))
    y = frame["nps_score"].astype(float) if target == "nps_score" else (frame["nps_score"] <= 6).astype(float)
    return frame, y, groups


def _attribute_list(con, attributes) -> sql.Ident:
    cols = [sql.checked_column(con, "customers", a, exclude=("customer_id", "signup_at")) for a in attributes]
    return sql.Ident(", ".join(cols))


def key_drivers(
    con: duckdb.DuckDBPyConnection,
    *,
    target: str = "nps_score",
    attributes: list[str] | tuple[str, ...] | None = None,
    rating_metric: str = "csat",
    min_ratings_share: float = 0.05,
    bootstrap: int = 200,
    seed: int = 0,
    max_customers: int | None = 50_000,
    as_of=None,
    alpha: float = 0.05,
    max_levels: int = 30,
    bootstrap_customers: int = 10_000,
) -> pd.DataFrame:
    """Key driver analysis of relationship NPS: which touchpoint ratings, service measures and
    customer attributes move it, as relative importance with bootstrap intervals.

    *Definition*: one row per customer with a relationship NPS answer (cxlib.analysis.features.
    customer_features at `as_of`: latest answer, ticket measures). Target: ``"nps_score"`` (0-10)
    or ``"detractor"`` (1 if 0-6: a linear probability model of detractor odds). Drivers:
    the customer's mean `rating_metric` per touchpoint (touchpoints rated by at least
    `min_ratings_share` of respondents; missing ratings mean-imputed), service measures (any
    ticket resolved after > 72 h, log max resolution hours, tickets, contacts, reopened and open
    tickets, channel switches) and each customer attribute in `attributes` (default: every
    customers column; dummy-coded, its dummies summed into one driver; an attribute with more
    than `max_levels` distinct values is left out with a CxWarning).
    importance = Johnson's relative weight (the driver's share of the OLS R^2, summing to
    r_squared; close to the Shapley/dominance decomposition) as PERCENT of R^2; ci_lower/ci_upper:
    bootstrap percentile 95% interval over `bootstrap` resamples of customers (seeded). Each
    resample draws m = min(n, `bootstrap_customers`) customers with replacement; when m < n
    (an m-out-of-n bootstrap) the percentiles are scaled to n: with c the resamples' mean,
    estimate + (m/n)(c - estimate) + sqrt(m/n)(percentile - c) (spread ~ 1/sqrt(size), bias
    ~ 1/size). So the cost follows the precision wanted (resamples of 10,000 customers show
    the interval's shape well), not the number of customers; with n <= m it is the plain
    percentile interval.
    Significance: the joint F-test that the driver's coefficients are 0 in the full OLS model,
    Benjamini-Hochberg adjusted over drivers; significant = p_adjusted < alpha. direction = sign
    of the OLS coefficient (single-column drivers; '' for attributes). The model fit is in
    r_squared (of the full model) and n (customers); both repeat on every row.
    Customer-level rows come to pandas only for this model, at most `max_customers` of them
    (a seeded random sample beyond that). The result always has a row per driver: with no
    customer answering NPS, too few customers for the drivers, no driver that varies, or one NPS
    answer for all, it raises CxDataError saying which.

    Columns: driver, kind, importance, ci_lower, ci_upper, direction, p_value, p_adjusted,
    significant, rank, r_squared, n.
    """
    _check_options(target, rating_metric, bootstrap, min_ratings_share)
    if isinstance(bootstrap_customers, bool) or not isinstance(bootstrap_customers, int) or bootstrap_customers < 100:
        raise CxInputError(f"bootstrap_customers must be a whole number of at least 100, got {bootstrap_customers!r}")
    attributes = _attribute_names(con, attributes)
    # called from here: its warning's stacklevel points at key_drivers' caller
    frame, y, groups = _driver_frame(con, target=target, attributes=attributes, rating_metric=rating_metric,
                                     min_ratings_share=min_ratings_share, max_customers=max_customers, as_of=as_of,
                                     max_levels=max_levels)
    n = len(frame)
    labels = list(groups)
    cols = [c for g in labels for c in groups[g][1]]
    x = frame[cols].astype(float).to_numpy()
    yv = y.to_numpy(dtype=float)
    _check_data(n, x, yv, len(cols))
    col_group = np.array([labels.index(g) for g in labels for _ in groups[g][1]])
    w, r2 = relative_weights(x, yv)
    share = _importance(w, r2, col_group, len(labels))
    lo, hi = _bootstrap_interval(x, yv, col_group, len(labels), bootstrap, seed, share, bootstrap_customers)
    pvals, direction = _f_tests(x, yv, cols, groups)
    padj = _adjusted(pvals)
    out = pd.DataFrame({
        "driver": labels,
        "kind": [groups[g][0] for g in labels],
        "importance": share,
        "ci_lower": lo,
        "ci_upper": hi,
        "direction": direction,
        "p_value": pvals,
        "p_adjusted": padj,
    })
    return _ranked(out, alpha, r2, n)


def _check_data(n: int, x: np.ndarray, yv: np.ndarray, columns: int) -> None:
    """CxDataError, in plain words, when the data cannot carry a driver model."""
    if n == 0:
        raise CxDataError("key drivers need customers with a relationship NPS answer (metric 'nps' without a "
                          "touchpoint), and this store (up to the as-of date) has none; load NPS survey answers")
    if n < columns + 10:
        raise CxDataError(f"key drivers need more customers with an NPS answer than drivers: {n} customers for "
                          f"{columns} model columns; widen the data or pass fewer attributes")
    if not (x.std(axis=0) > 0).any():
        raise CxDataError(f"none of the drivers varies among the {n} customers with an NPS answer: the store holds no "
                          "touchpoint ratings, service tickets, events or customer attributes to explain NPS with")
    if yv.std() == 0:
        raise CxDataError(f"all {n} customers gave the same NPS answer, so there is nothing for drivers to explain")


def _check_options(target, rating_metric, bootstrap, min_ratings_share) -> None:
    if target not in ("nps_score", "detractor"):
        raise unknown_name("target", str(target), "the driver targets", ["nps_score", "detractor"])
    if rating_metric not in _RATING_MIDPOINT:
        raise unknown_name("rating_metric", str(rating_metric), "the interaction ratings", _RATING_MIDPOINT)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise CxInputError(f"bootstrap must be a whole number of resamples (0 for none), got {bootstrap!r}")
    if not (isinstance(min_ratings_share, (int, float)) and 0 <= min_ratings_share <= 1):
        raise CxInputError(f"min_ratings_share must be a share between 0 and 1, got {min_ratings_share!r}")


def _attribute_names(con, attributes) -> list[str]:
    """The attributes asked for as a list (None: every customers column)."""
    if attributes is None:
        attributes = _customer_attributes(con)
    elif isinstance(attributes, str):
        attributes = [attributes]
    return list(attributes)


def _importance(w: np.ndarray, r2: float, col_group: np.ndarray, n_groups: int) -> np.ndarray:
    """Each driver's relative weight (its columns' weights summed) as percent of R^2."""
    by_group = np.array([w[col_group == i].sum() for i in range(n_groups)])
    return by_group / r2 * 100 if r2 > 0 else np.zeros(n_groups)


def _bootstrap_interval(x: np.ndarray, yv: np.ndarray, col_group: np.ndarray, n_groups: int, bootstrap: int,
                        seed: int, estimate: np.ndarray, resample_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile 95% interval of each driver's importance over `bootstrap` seeded resamples (NaN for none).

    Each resample draws m = min(n, `resample_size`) customers with replacement. With m < n the
    percentiles are scaled to n (m-out-of-n bootstrap): with c the resamples' mean,
    estimate + (m/n)(c - estimate) + sqrt(m/n)(percentile - c), since the spread of a smooth
    statistic shrinks as 1/sqrt(size) and its bias as 1/size; kept within 0-100; with m = n
    this is the plain percentile interval.
    """
    from threadpoolctl import threadpool_limits

    n = len(yv)
    m = min(n, resample_size)
    rng = np.random.default_rng(seed)
    boots = []
    # one BLAS thread: many small products, where threads on a shared machine only wait on each other
    with threadpool_limits(1):
        for _ in range(bootstrap):
            idx = rng.integers(0, n, m)
            bw, br2 = relative_weights(x[idx], yv[idx])
            boots.append(_importance(bw, br2, col_group, n_groups))
    if not boots:
        return np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    boots = np.array(boots)
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
    if m < n:  # spread scaled by sqrt(m/n), the resamples' bias (mean - estimate, ~1/size) by m/n
        centre = boots.mean(axis=0)
        shift = estimate + (m / n) * (centre - estimate)
        lo, hi = shift + math.sqrt(m / n) * (lo - centre), shift + math.sqrt(m / n) * (hi - centre)
        lo, hi = np.clip(lo, 0, 100), np.clip(hi, 0, 100)  # a share of R^2 in percent
    return lo, hi


def _f_tests(x: np.ndarray, yv: np.ndarray, cols: list[str],
             groups: dict[str, tuple[str, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """Per driver: the joint F-test p-value of its coefficients in the full OLS model, and its sign."""
    import statsmodels.api as sm

    keep = x.std(axis=0) > 0
    exog = sm.add_constant(pd.DataFrame(x[:, keep], columns=np.array(cols)[keep]), has_constant="add")
    fit = sm.OLS(yv, exog).fit()
    pvals, direction = [], []
    for g in groups:
        gcols = [c for c in groups[g][1] if c in exog.columns]
        if not gcols:
            pvals.append(math.nan)
            direction.append("")
            continue
        restriction = np.eye(len(exog.columns))[[list(exog.columns).index(c) for c in gcols]]
        res = fit.f_test(restriction)
        pvals.append(float(np.squeeze(res.pvalue)))
        direction.append(("+" if fit.params[gcols[0]] > 0 else "-") if len(gcols) == 1 else "")
    return np.array(pvals), direction


def _adjusted(pvals: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN)."""
    from statsmodels.stats.multitest import multipletests

    padj = np.full(len(pvals), np.nan)
    ok = ~np.isnan(pvals)
    if ok.any():
        padj[ok] = multipletests(pvals[ok], method="fdr_bh")[1]
    return padj


def _ranked(out: pd.DataFrame, alpha: float, r2: float, n: int) -> pd.DataFrame:
    """The driver table with significant, sorted by importance, with rank, r_squared and n."""
    out["significant"] = (out["p_adjusted"] < alpha).fillna(False).astype(bool)
    out = out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["r_squared"] = r2
    out["n"] = n
    return out
