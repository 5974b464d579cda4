"""Key drivers of NPS, CSAT, CES and churn: Johnson's relative weights with bootstrap intervals and per-driver F-tests.

Definition: docs/metrics.md (key drivers).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

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
    z = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    z = z - z.mean(axis=0)
    cov = z.T @ z / len(z)
    return _weights_from_cov(cov, np.diag(cov)[:-1] > 0)


def _weights_from_cov(cov: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, float]:
    """`relative_weights` from the covariance matrix of the columns and y (y last), over the
    columns in `keep` (the others, which do not vary, get weight 0)."""
    weights = np.zeros(len(keep))
    if not keep.any() or not cov[-1, -1] > 0:
        return weights, 0.0
    both = np.append(keep, True)
    sd = np.sqrt(np.diag(cov)[both])
    r = cov[np.ix_(both, both)] / np.outer(sd, sd)
    rxx, rxy = r[:-1, :-1], r[:-1, -1]
    evals, evecs = np.linalg.eigh(rxx)
    evals = np.clip(evals, 0, None)
    lam = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    inv_sqrt = evecs @ np.diag([1 / math.sqrt(v) if v > 1e-10 else 0.0 for v in evals]) @ evecs.T
    beta = inv_sqrt @ rxy
    w = (lam**2) @ (beta**2)
    weights[keep] = w
    return weights, float(w.sum())


# target -> (what it is called in sentences, what a customer needs to be in the model)
TARGETS = {
    "nps": ("NPS", "a relationship NPS answer (metric 'nps' without a touchpoint)"),
    "nps_score": ("NPS", "a relationship NPS answer (metric 'nps' without a touchpoint)"),
    "detractor": ("being a detractor", "a relationship NPS answer (metric 'nps' without a touchpoint)"),
    "csat": ("CSAT", "a CSAT answer"),
    "ces": ("CES", "a CES answer"),
    "churn": ("churn", "a churn status (subscriptions, or events or orders for inactivity)"),
}
_OTHER_RATING = {"csat": "ces", "ces": "csat"}
HIGH_IMPORTANCE = 10.0  # percent of R^2 from which an insignificant, collinear driver gets a note
HIGH_VIF = 5.0
HIGH_R = 0.7


class _Inputs:
    """What the driver models of any target read from the store at one as-of date, each read once
    (`drivers_by_target` fits several targets on them): customer_features, the touchpoint ratings
    of each rating metric (customer x touchpoint), the customer attributes."""

    def __init__(self, con: duckdb.DuckDBPyConnection, as_of) -> None:
        from cxlib.store.connection import as_of as store_as_of

        self.con = con
        self.cutoff = to_timestamp(as_of, "as_of") or store_as_of(con)
        self._features: pd.DataFrame | None = None
        self._ratings: dict[str, pd.DataFrame] = {}
        self._attributes: dict[tuple[str, ...], pd.DataFrame] = {}

    def features(self) -> pd.DataFrame:
        if self._features is None:
            from cxlib.analysis.features import customer_features

            self._features = customer_features(self.con, as_of=self.cutoff).set_index("customer_id")
        return self._features

    def ratings(self, metric: str) -> pd.DataFrame:
        if metric not in self._ratings:
            long = sql.run(self.con, "voc_driver_ratings", {"metric": metric, "as_of": self.cutoff})
            self._ratings[metric] = long.pivot(index="customer_id", columns="touchpoint", values="rating")
        return self._ratings[metric]

    def attributes(self, attributes: list[str]) -> pd.DataFrame:
        key = tuple(attributes)
        if key not in self._attributes:
            cust = sql.run(self.con, "voc_customer_attributes", {}, {"columns": _attribute_list(self.con, attributes)})
            self._attributes[key] = cust.set_index("customer_id")
        return self._attributes[key]


def _target_frame(con, feats: pd.DataFrame, target: str, cutoff, definition, inactivity_days) -> pd.DataFrame:
    """The customers in the model, indexed by customer_id, with the target in column `_y`."""
    frame = feats
    if target in ("nps", "nps_score", "detractor"):
        frame = frame[frame["nps_score"].notna()].copy()
        frame["_y"] = frame["nps_score"] if target != "detractor" else (frame["nps_score"] <= 6)
    elif target in ("csat", "ces"):
        scores = sql.run(con, "voc_driver_target_scores", {"metric": target, "as_of": cutoff}).set_index("customer_id")
        frame = frame.join(scores["score"].rename("_y"), how="inner")
    else:
        from cxlib.analysis.churn import churn_status

        try:
            status = churn_status(con, definition=definition, inactivity_days=inactivity_days, as_of=cutoff)
        except CxDataError as exc:
            raise CxDataError(f"key drivers of churn need churn status: {exc}") from exc
        status = status.loc[status["judged"].astype(bool)].set_index("customer_id")
        frame = frame.join(status["churned"].rename("_y"), how="inner")
    frame["_y"] = frame["_y"].astype(float)
    return frame


def _driver_frame(inputs: _Inputs, *, target, attributes, rating_metric, min_ratings_share, max_customers,
                  max_levels, definition, inactivity_days):
    frame = _target_frame(inputs.con, inputs.features(), target, inputs.cutoff, definition, inactivity_days)
    if max_customers is not None and len(frame) > max_customers:
        frame = frame.sample(n=max_customers, random_state=0)
    groups: dict[str, tuple[str, list[str]]] = {}
    # touchpoint ratings: only touchpoints rated by enough of the customers; a missing rating is
    # set to that touchpoint's mean (mean imputation), so it carries no signal. A CSAT or CES
    # target is explained by the touchpoint ratings of the other metric, never by its own answers.
    metric = _OTHER_RATING[target] if target == rating_metric else rating_metric
    wide = inputs.ratings(metric).reindex(frame.index)
    for tp in sorted(wide.columns):
        col = wide[tp]
        if col.notna().mean() >= min_ratings_share:
            name = f"rating_{tp}"
            frame[name] = col.fillna(col.mean())
            groups[f"{tp} rating"] = ("touchpoint rating", [name])
    if target in ("csat", "ces", "churn") and frame["nps_score"].notna().mean() >= min_ratings_share:
        nps = frame["nps_score"].astype(float)
        frame["nps_answer"] = nps.fillna(nps.mean())  # mean-imputed, as the ratings
        groups["NPS answer"] = ("relationship NPS", ["nps_answer"])
    frame["long_resolution"] = frame["long_resolution"].astype(float)
    frame["log_max_resolution_hours"] = np.log1p(frame["max_resolution_hours"].fillna(0).astype(float))
    for label, cols in _SERVICE.items():
        groups[label] = ("service", cols)
    if attributes:
        cust = inputs.attributes(attributes).reindex(frame.index)
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
    return frame, frame["_y"], groups


def _attribute_list(con, attributes) -> sql.Ident:
    cols = [sql.checked_column(con, "customers", a, exclude=("customer_id", "signup_at")) for a in attributes]
    return sql.Ident(", ".join(cols))


def key_drivers(
    con: duckdb.DuckDBPyConnection,
    *,
    target: str = "nps",
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
    definition: str | None = None,
    inactivity_days: int = 90,
    _inputs: _Inputs | None = None,  # drivers_by_target's store reads, shared by its targets
) -> pd.DataFrame:
    """Key driver analysis of NPS, CSAT, CES or churn: which touchpoint ratings, service measures
    and customer attributes move it, as relative importance with bootstrap intervals.

    *Definition*: one row per customer (cxlib.analysis.features.customer_features at `as_of`:
    latest NPS answer, ticket measures) who has the target. Target (`target`):
    ``"nps"`` (or its older name ``"nps_score"``): the latest relationship NPS answer (0-10);
    ``"detractor"``: 1 if that answer is 0-6, a linear probability model of detractor odds;
    ``"csat"`` / ``"ces"``: the mean of the customer's CSAT (1-5) / CES (1-7) answers up to
    `as_of`; ``"churn"``: 1 if the customer churned by `as_of` (cxlib.analysis.churn.churn_status
    under `definition`, default contractual when the store has subscriptions, else non-contractual
    with `inactivity_days`; judged customers only), a linear probability model, whose relative
    weights split its R^2 as for a score (the convention of Johnson's weights on a 0/1 target).
    Drivers: the customer's mean `rating_metric` per touchpoint (touchpoints rated by at least
    `min_ratings_share` of the customers; missing ratings mean-imputed; a CSAT or CES target
    takes the ratings of the other metric, never its own answers), for CSAT, CES and churn the
    NPS answer (mean-imputed, when at least `min_ratings_share` answered), service measures (any
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
    of the OLS coefficient (single-column drivers; '' for attributes).
    Collinearity: vif = the driver's variance inflation factor (generalised VIF of Fox & Monette
    1992 for an attribute's dummies: det(R_jj) det(R_rest) / det(R); the plain VIF for one
    column); partner / partner_r = the single-column driver it correlates with most (Pearson r).
    note: for a driver with importance >= 10% of R^2 that is not significant and collinear
    (|partner_r| > 0.7 or vif > 5), a sentence saying that its joint weight with the others is
    clear but the split is not; else ''.
    The model fit is in r_squared (of the full model) and n (customers); both repeat on every
    row, with target. Customer-level rows come to pandas only for this model, at most
    `max_customers` of them (a seeded random sample beyond that). The result always has a row
    per driver: when the store lacks the target, has too few customers for the drivers, no
    driver that varies, or one value of the target for all, it raises CxDataError saying which.

    Columns: driver, kind, importance, ci_lower, ci_upper, direction, p_value, p_adjusted,
    significant, vif, partner, partner_r, note, rank, r_squared, n, target.
    """
    _check_options(target, rating_metric, bootstrap, min_ratings_share)
    if isinstance(bootstrap_customers, bool) or not isinstance(bootstrap_customers, int) or bootstrap_customers < 100:
        raise CxInputError(f"bootstrap_customers must be a whole number of at least 100, got {bootstrap_customers!r}")
    target = "nps" if target == "nps_score" else target
    attributes = _attribute_names(con, attributes)
    if target == "churn" and definition is None:
        from cxlib.analysis.voc.peakend import churn_definition_for

        definition = churn_definition_for(con)
    # called from here: its warning's stacklevel points at key_drivers' caller
    frame, y, groups = _driver_frame(_inputs or _Inputs(con, as_of), target=target, attributes=attributes,
                                     rating_metric=rating_metric, min_ratings_share=min_ratings_share,
                                     max_customers=max_customers, max_levels=max_levels, definition=definition,
                                     inactivity_days=inactivity_days)
    n = len(frame)
    labels = list(groups)
    cols = [c for g in labels for c in groups[g][1]]
    x = frame[cols].astype(float).to_numpy()
    yv = y.to_numpy(dtype=float)
    _check_data(n, x, yv, len(cols), target)
    col_group = np.array([labels.index(g) for g in labels for _ in groups[g][1]])
    # one BLAS thread: small products, where threads on a shared machine only wait on each other
    with threadpool_limits(1):
        w, r2 = relative_weights(x, yv)
        share = _importance(w, r2, col_group, len(labels))
        lo, hi = _bootstrap_interval(x, yv, col_group, len(labels), bootstrap, seed, share, bootstrap_customers)
        pvals, direction = _f_tests(x, yv, cols, groups)
        collinearity = _collinearity(x, col_group, labels)
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
    out["significant"] = (out["p_adjusted"] < alpha).fillna(False).astype(bool)
    out = pd.concat([out, collinearity], axis=1)
    out["note"] = _notes(out)
    out = _ranked(out, r2, n)
    out["target"] = target
    return out


def _check_data(n: int, x: np.ndarray, yv: np.ndarray, columns: int, target: str = "nps") -> None:
    """CxDataError, in plain words, when the data cannot carry a driver model of `target`."""
    what, needs = TARGETS[target]
    if n == 0:
        if target in ("nps", "detractor"):
            raise CxDataError("key drivers need customers with a relationship NPS answer (metric 'nps' without a "
                              "touchpoint), and this store (up to the as-of date) has none; load NPS survey answers")
        if target == "churn":
            raise CxDataError("key drivers of churn need customers followed long enough to judge whether they "
                              "churned, and this store (up to the as-of date) has none")
        raise CxDataError(f"key drivers of {what} need customers with {needs}, and this store (up to the as-of date) "
                          f"has none; load {what} survey answers")
    who = "customers with an NPS answer" if target in ("nps", "detractor") else f"customers with {needs}"
    if n < columns + 10:
        raise CxDataError(f"key drivers need more {who} than drivers: {n} customers for "
                          f"{columns} model columns; widen the data or pass fewer attributes")
    if not (x.std(axis=0) > 0).any():
        raise CxDataError(f"none of the drivers varies among the {n} {who}: the store holds no "
                          f"touchpoint ratings, service tickets, events or customer attributes to explain {what} with")
    if yv.std() == 0:
        if target == "churn":
            raise CxDataError(f"{'all' if yv[0] else 'none'} of the {n} customers churned, so there is nothing for "
                              "drivers to explain")
        said = "the same NPS answer" if target in ("nps", "detractor") else f"the same {what}"
        raise CxDataError(f"all {n} customers gave {said}, so there is nothing for drivers to explain")


def _check_options(target, rating_metric, bootstrap, min_ratings_share) -> None:
    if target not in TARGETS:
        raise unknown_name("target", str(target), "the driver targets", TARGETS)
    if rating_metric not in _RATING_MIDPOINT:
        raise unknown_name("rating_metric", str(rating_metric), "the interaction ratings", _RATING_MIDPOINT)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise CxInputError(f"bootstrap must be a whole number of resamples (0 for none), got {bootstrap!r}")
    if not (isinstance(min_ratings_share, (int, float)) and 0 <= min_ratings_share <= 1):
        raise CxInputError(f"min_ratings_share must be a share between 0 and 1, got {min_ratings_share!r}")


def _collinearity(x: np.ndarray, col_group: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Per driver: vif (generalised VIF, Fox & Monette 1992: det(R_jj) det(R_rest) / det(R) over the
    correlation matrix R of the varying columns; the plain VIF for one column; NaN for a driver
    that does not vary, inf for an exact linear dependence) and the single-column driver it
    correlates with most (partner, partner_r)."""
    keep = x.std(axis=0) > 0
    r = np.corrcoef(x[:, keep], rowvar=False).reshape(keep.sum(), keep.sum())
    groups = col_group[keep]

    def logdet(m: np.ndarray) -> float:
        sign, value = np.linalg.slogdet(m) if m.size else (1.0, 0.0)
        return value if sign > 0 else -math.inf

    whole = logdet(r)
    vif, partner, partner_r = [], [], []
    single = [g for g in range(len(labels)) if (groups == g).sum() == 1 and (col_group == g).sum() == 1]
    for g in range(len(labels)):
        mine = groups == g
        if not mine.any():
            vif.append(math.nan)
        elif whole == -math.inf:
            vif.append(math.inf)
        else:
            vif.append(math.exp(logdet(r[np.ix_(mine, mine)]) + logdet(r[np.ix_(~mine, ~mine)]) - whole))
        best, best_r = "", math.nan
        if g in single:
            i = int(np.flatnonzero(mine)[0])
            for other in single:
                if other != g:
                    value = r[i, int(np.flatnonzero(groups == other)[0])]
                    if math.isnan(best_r) or abs(value) > abs(best_r):
                        best, best_r = labels[other], float(value)
        partner.append(best)
        partner_r.append(best_r)
    return pd.DataFrame({"vif": vif, "partner": partner, "partner_r": partner_r})


def _notes(out: pd.DataFrame) -> list[str]:
    """The plain-words note of each important-but-insignificant collinear driver (see key_drivers)."""
    share = dict(zip(out["driver"], out["importance"]))
    notes = []
    for row in out.itertuples():
        if row.significant or not row.importance >= HIGH_IMPORTANCE:
            notes.append("")
        elif abs(row.partner_r) > HIGH_R:
            together = row.importance + share[row.partner]
            notes.append(f"{row.driver} and {row.partner} move together (r = {row.partner_r:.2f}): their joint weight "
                         f"is clear ({together:.0f}% of the explained variation together), the split between them "
                         "is not")
        elif row.vif > HIGH_VIF:
            notes.append(f"{row.driver} moves with the other drivers (VIF = {row.vif:.1f}): its weight is clear, how "
                         "much of it is its own is not")
        else:
            notes.append("")
    return notes


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
    n = len(yv)
    m = min(n, resample_size)
    rng = np.random.default_rng(seed)
    # Each resample's covariance from one cross-product of [1, x, y], centred once on the whole
    # data so the resample's means are small (no cancellation); a column whose variance in the
    # resample is below 1e-9 of its whole-data variance does not vary there (weight 0).
    z = np.column_stack([np.ones(n), x - x.mean(axis=0), yv - yv.mean()])
    floor = 1e-9 * np.diag(z.T @ z)[1:] / n
    boots = []
    for _ in range(bootstrap):
        zb = z[rng.integers(0, n, m)]
        g = zb.T @ zb / m
        cov = g[1:, 1:] - np.outer(g[0, 1:], g[0, 1:])
        varies = np.diag(cov) > floor
        bw, br2 = _weights_from_cov(cov, varies[:-1]) if varies[-1] else (np.zeros(len(floor) - 1), 0.0)
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
    """Per driver: the joint F-test p-value of its coefficients in the full OLS model (with an
    intercept, over the columns that vary), and its sign.

    F = b_g' (s^2 C_gg)^-1 b_g / q, b the OLS slopes, C = (Xc'Xc)^+ of the centred columns (the
    slopes' block of (X'X)^-1 with the intercept), s^2 = residual sum of squares / (n - rank - 1),
    q the driver's columns; p from F(q, n - rank - 1). The Wald F-test statsmodels'
    ``OLS(...).fit().f_test`` gives, from the p x p cross-products instead of the n-row design."""
    from scipy import stats

    keep = x.std(axis=0) > 0
    xc = x[:, keep] - x[:, keep].mean(axis=0)
    yc = yv - yv.mean()
    cross = xc.T @ xc
    inverse = np.linalg.pinv(cross, hermitian=True)
    slopes = inverse @ (xc.T @ yc)
    resid = yc - xc @ slopes
    df_resid = len(yv) - np.linalg.matrix_rank(cross, hermitian=True) - 1
    s2 = resid @ resid / df_resid
    position = {c: i for i, c in enumerate(np.array(cols)[keep])}
    pvals, direction = [], []
    for g in groups:
        idx = [position[c] for c in groups[g][1] if c in position]
        if not idx:
            pvals.append(math.nan)
            direction.append("")
            continue
        b = slopes[idx]
        f = b @ np.linalg.pinv(s2 * inverse[np.ix_(idx, idx)]) @ b / len(idx)
        pvals.append(float(stats.f.sf(f, len(idx), df_resid)))
        direction.append(("+" if b[0] > 0 else "-") if len(idx) == 1 else "")
    return np.array(pvals), direction


def _adjusted(pvals: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN)."""
    from statsmodels.stats.multitest import multipletests

    padj = np.full(len(pvals), np.nan)
    ok = ~np.isnan(pvals)
    if ok.any():
        padj[ok] = multipletests(pvals[ok], method="fdr_bh")[1]
    return padj


def _ranked(out: pd.DataFrame, r2: float, n: int) -> pd.DataFrame:
    """The driver table sorted by importance, with rank, r_squared and n."""
    out = out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["r_squared"] = r2
    out["n"] = n
    return out


def drivers_headline(df: pd.DataFrame) -> str:
    """One or more sentences on a `key_drivers` result: the top driver of the target with its share of
    the explained variation and 95% interval, the model's R^2 and customers, then each collinearity
    note (a pair once)."""
    need = {"driver", "importance", "ci_lower", "ci_upper", "r_squared", "n", "note", "target"}
    if not isinstance(df, pd.DataFrame) or not need <= set(df.columns) or df.empty:
        raise CxInputError("drivers_headline takes the result of key_drivers")
    top = df.sort_values("importance", ascending=False, kind="stable").iloc[0]
    what = TARGETS[top["target"]][0]
    ci = (f", 95% interval {top['ci_lower']:.0f}-{top['ci_upper']:.0f}%" if not pd.isna(top["ci_lower"]) else "")
    said = (f"Top driver of {what}: {top['driver']} ({top['importance']:.0f}% of the explained variation{ci}); "
            f"model R² = {top['r_squared']:.2f} over {int(top['n']):,} customers.")
    notes, seen = [], set()
    for row in df.itertuples():
        pair = frozenset((row.driver, row.partner)) if " move together " in row.note else frozenset((row.driver,))
        if row.note and pair not in seen:
            seen.add(pair)
            notes.append(row.note[0].upper() + row.note[1:] + ".")
    return " ".join([said, *notes])


def drivers_by_target(
    con: duckdb.DuckDBPyConnection,
    *,
    targets: list[str] | tuple[str, ...] = ("nps", "csat", "ces", "churn"),
    **options,
) -> pd.DataFrame:
    """The top driver of each target, one row per target, for a compact comparison.

    *Definition*: `key_drivers(con, target=t, **options)` for each t in `targets` (the store read
    once for all of them: customer features, ratings, attributes); the row holds
    the top driver (highest importance) with its importance and bootstrap interval, whether it is
    significant, the model's r_squared and n, and note: the top driver's collinearity note, or,
    when the store cannot carry the target's model, the sentence saying what it needs (the
    figures are then blank).
    Columns: target, top_driver, importance, ci_lower, ci_upper, significant, r_squared, n, note.
    """
    rows = []
    inputs = _Inputs(con, options.get("as_of"))  # what every target's model reads, read once
    for target in targets:
        _check_options(target, options.get("rating_metric", "csat"), options.get("bootstrap", 200),
                       options.get("min_ratings_share", 0.05))
        name = TARGETS[target][0]
        try:
            top = key_drivers(con, target=target, **options, _inputs=inputs).iloc[0]
        except CxDataError as exc:
            rows.append({"target": name, "top_driver": "", "importance": math.nan, "ci_lower": math.nan,
                         "ci_upper": math.nan, "significant": False, "r_squared": math.nan, "n": pd.NA,
                         "note": str(exc)[0].upper() + str(exc)[1:]})
            continue
        rows.append({"target": name, "top_driver": top["driver"], "importance": top["importance"],
                     "ci_lower": top["ci_lower"], "ci_upper": top["ci_upper"], "significant": bool(top["significant"]),
                     "r_squared": top["r_squared"], "n": int(top["n"]), "note": top["note"]})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("Int64")
    return out
