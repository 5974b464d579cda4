"""Peak-end: does (peak + end) / 2 of a customer's interaction ratings predict relationship NPS, or
churn, better than their plain mean? Correlations with Fisher-z intervals, Williams' t for the
comparison.

Definition: docs/metrics.md (peak-end).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib import sql
from cxlib.analysis.intervals import Z95, p_text, t_interval, wilson_interval
from cxlib.analysis.voc.scores import _params
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

_RATING_MIDPOINT = {"csat": 3.0, "ces": 4.0}
OUTCOMES = ("nps", "churn")
_PREDICTORS = ("peak_end", "mean", "peak", "end")


def fisher_z_interval(r: float, n: int) -> tuple[float, float]:
    """95% interval for a Pearson (or point-biserial) correlation by Fisher's z transformation.

    *Definition*: z = atanh(r), SE = 1 / sqrt(n - 3), interval = tanh(z -/+ 1.96 SE) (as
    scipy.stats.pearsonr(...).confidence_interval()). (nan, nan) when n < 4 or r is blank;
    (r, r) when |r| = 1. Exact for bivariate normal data as n grows; for a 0/1 variable (a
    point-biserial r) it is the usual large-sample approximation.
    """
    if n is None or pd.isna(n) or n < 4 or r is None or pd.isna(r):
        return (math.nan, math.nan)
    if abs(r) >= 1:
        return (float(r), float(r))
    z, half = math.atanh(r), Z95 / math.sqrt(n - 3)
    return (math.tanh(z - half), math.tanh(z + half))


def williams_t(r_y1: float, r_y2: float, r_12: float, n: int) -> tuple[float, float]:
    """Williams' t for two dependent correlations sharing y (Steiger 1980, eq. 3): (t, two-sided p).

    t = (r_y1 - r_y2) * sqrt((n-1)(1+r_12) / (2 (n-1)/(n-3) |R| + rbar^2 (1-r_12)^3)),
    |R| = 1 - r_y1^2 - r_y2^2 - r_12^2 + 2 r_y1 r_y2 r_12, rbar = (r_y1 + r_y2)/2, df = n - 3.
    """
    if n is None or n < 4 or any(pd.isna(x) for x in (r_y1, r_y2, r_12)):
        return (math.nan, math.nan)
    det = 1 - r_y1**2 - r_y2**2 - r_12**2 + 2 * r_y1 * r_y2 * r_12
    rbar = (r_y1 + r_y2) / 2
    denom = 2 * (n - 1) / (n - 3) * det + rbar**2 * (1 - r_12) ** 3
    if denom <= 0:
        return (math.nan, math.nan)
    t = (r_y1 - r_y2) * math.sqrt((n - 1) * (1 + r_12) / denom)
    return (t, 2 * stats.t.sf(abs(t), n - 3))


def _peak_end_params(con, rating_metric, min_ratings, start, end, min_group_size) -> dict:
    if rating_metric not in _RATING_MIDPOINT:
        raise unknown_name("rating_metric", str(rating_metric), "the interaction ratings", _RATING_MIDPOINT)
    if isinstance(min_ratings, bool) or not isinstance(min_ratings, int) or min_ratings < 1:
        raise CxInputError(f"min_ratings must be a whole number of at least 1, got {min_ratings!r}")
    check_min_group_size(min_group_size)
    p = _params(con, "nps", period=None, start=start, end=end, touchpoint=None, channel=None)
    return {"metric": rating_metric, "midpoint": _RATING_MIDPOINT[rating_metric], "min_ratings": min_ratings,
            "start": p["start"], "end": p["end"]}


def _check_outcome(outcome) -> str:
    if outcome not in OUTCOMES:
        raise unknown_name("outcome", str(outcome), "the peak-end outcomes", OUTCOMES)
    return outcome


def _churn_customers(con, params: dict, definition: str | None, inactivity_days: int, as_of) -> pd.DataFrame:
    """Per judged customer with enough ratings: peak, end and mean rating and churned (0/1)."""
    from cxlib.analysis.churn import churn_status
    from cxlib.analysis.features import to_timestamp
    from cxlib.store.connection import as_of as store_as_of

    definition = definition or churn_definition_for(con)
    try:
        status = churn_status(con, definition=definition, inactivity_days=inactivity_days, as_of=as_of)
    except CxDataError as exc:
        raise CxDataError(f"peak-end against churn needs churn status: {exc}") from exc
    cutoff = to_timestamp(as_of, "as_of") or store_as_of(con)
    ratings = sql.run(con, "voc_peak_end_ratings", {**params, "as_of": cutoff})
    status = status.loc[status["judged"].astype(bool), ["customer_id", "churned", "definition"]]
    out = ratings.merge(status, on="customer_id", how="inner")
    out["churned"] = out["churned"].astype(float)
    return out


def churn_definition_for(con: duckdb.DuckDBPyConnection) -> str:
    """The churn definition peak-end and key drivers use when none is given: contractual when the
    store holds subscriptions, else non-contractual (inactivity)."""
    return "contractual" if con.execute("SELECT EXISTS (SELECT 1 FROM subscriptions)").fetchone()[0] else "non_contractual"


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; NaN when either side does not vary (as DuckDB's corr)."""
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def _churn_correlations(df: pd.DataFrame) -> dict:
    y = df["churned"].to_numpy(float)
    pe = ((df["peak_rating"] + df["end_rating"]) / 2).to_numpy(float)
    mean = df["mean_rating"].to_numpy(float)
    return {"n": len(df), "r_peak_end": _corr(y, pe), "r_mean": _corr(y, mean),
            "r_peak": _corr(y, df["peak_rating"].to_numpy(float)), "r_end": _corr(y, df["end_rating"].to_numpy(float)),
            "r_peak_end_mean": _corr(pe, mean), "mean_ratings": df["ratings"].mean() if len(df) else math.nan}


def peak_end(
    con: duckdb.DuckDBPyConnection,
    *,
    outcome: str = "nps",
    rating_metric: str = "csat",
    min_ratings: int = 2,
    start=None,
    end=None,
    definition: str | None = None,
    inactivity_days: int = 90,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Peak-end: does (peak+end)/2 of a customer's interaction ratings predict relationship NPS
    (`outcome="nps"`) or churn (`outcome="churn"`) better than the mean of all their ratings?

    *Definition*: interaction ratings are `rating_metric` answers ('csat' 1-5 or 'ces' 1-7)
    with a touchpoint; customers with fewer than `min_ratings` ratings are left out (with one
    rating, peak, end and mean coincide). peak = the rating farthest from the scale midpoint
    (3 for CSAT, 4 for CES), a low rating winning a tie with a high one; end = the latest rating.
    outcome "nps": per customer the latest relationship NPS answer (metric 'nps', blank
    touchpoint) within `start`/`end`, and the ratings given strictly before it; r_* are Pearson
    correlations with the NPS score. outcome "churn": the ratings within `start`/`end` up to the
    as-of date, and whether the customer churned by then (cxlib.analysis.churn.churn_status under
    `definition`, default contractual when the store has subscriptions, else non-contractual with
    `inactivity_days`; judged customers only); r_* are point-biserial correlations with churned
    (0/1): a negative r means better experiences go with less churn.
    Each r has a 95% Fisher-z interval (`fisher_z_interval`): r_*_lower, r_*_upper. The
    comparison is Williams' t for two dependent correlations sharing the outcome (Steiger 1980),
    df n - 3; diff = r_peak_end - r_mean; peak_end_better = |r_peak_end| > |r_mean| and p < 0.05.
    Suppressed (every figure blanked, suppressed=True) below `min_group_size` customers, and for
    churn also when fewer than `min_group_size` churned or stayed.

    Columns (one row): outcome, n, r_peak_end, r_peak_end_lower, r_peak_end_upper, r_mean,
    r_mean_lower, r_mean_upper, r_peak, r_peak_lower, r_peak_upper, r_end, r_end_lower,
    r_end_upper, diff, t, p_value, peak_end_better, mean_ratings, suppressed; for churn also
    churned (customers) and definition.
    """
    _check_outcome(outcome)
    params = _peak_end_params(con, rating_metric, min_ratings, start, end, min_group_size)
    extra: dict = {}
    if outcome == "nps":
        row = sql.run(con, "voc_peak_end", params).iloc[0].to_dict()
    else:
        customers = _churn_customers(con, params, definition, inactivity_days, as_of)
        row = _churn_correlations(customers)
        definition = definition or churn_definition_for(con)
        from cxlib.analysis.churn import definition_text

        extra = {"churned": float(customers["churned"].sum()), "definition": definition_text(definition, inactivity_days)}
    n = int(row["n"])
    t, p = williams_t(row["r_peak_end"], row["r_mean"], row["r_peak_end_mean"], n)
    out: dict = {"outcome": outcome, "n": n}
    for name in _PREDICTORS:
        r = row[f"r_{name}"]
        r = float(r) if r is not None and not pd.isna(r) else math.nan
        out[f"r_{name}"] = r
        out[f"r_{name}_lower"], out[f"r_{name}_upper"] = fisher_z_interval(r, n)
    out["diff"] = out["r_peak_end"] - out["r_mean"] if n else math.nan
    out["t"], out["p_value"] = t, p
    out["peak_end_better"] = bool(abs(out["r_peak_end"]) > abs(out["r_mean"]) and p < 0.05)
    mean_ratings = row["mean_ratings"]
    out["mean_ratings"] = float(mean_ratings) if mean_ratings is not None else math.nan
    small = n < min_group_size
    if outcome == "churn":
        out["churned"] = extra["churned"]
        small = small or min(extra["churned"], n - extra["churned"]) < min_group_size
    out["suppressed"] = bool(small)
    if small:  # no figure of a group this small, not even its size
        out = {k: (v if k in ("outcome", "suppressed") else False if k == "peak_end_better" else math.nan)
               for k, v in out.items()}
    if outcome == "churn":
        out["definition"] = extra["definition"]
    return pd.DataFrame([out])


def peak_end_bins(
    con: duckdb.DuckDBPyConnection,
    *,
    outcome: str = "nps",
    rating_metric: str = "csat",
    min_ratings: int = 2,
    start=None,
    end=None,
    definition: str | None = None,
    inactivity_days: int = 90,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """The outcome by the value of each predictor, for `chart_peak_end`.

    *Definition*: customers as in `peak_end` (same `outcome`); predictor 'peak_end' =
    (peak+end)/2 and 'mean' = the mean rating, each rounded to the nearest half point.
    outcome "nps": mean_nps = mean relationship NPS answer (0-10), with a 95% Student-t interval
    (ci_lower, ci_upper; blank for a single customer). outcome "churn": churned customers and
    churn_rate = churned / customers (0-1), with a 95% Wilson interval (ci_lower, ci_upper, 0-1).
    Bins with fewer than `min_group_size` customers are suppressed, their interval with them
    (complementary suppression within a predictor).
    Columns: predictor, value, customers, mean_nps | churned + churn_rate, ci_lower, ci_upper, suppressed.
    """
    _check_outcome(outcome)
    params = _peak_end_params(con, rating_metric, min_ratings, start, end, min_group_size)
    if outcome == "nps":
        df = sql.run(con, "voc_peak_end_bins", params)
        ci = [t_interval(m, sd, c) for m, sd, c in zip(df["mean_nps"], df["sd_nps"], df["customers"])]
        df = df.drop(columns="sd_nps")
        values = ["mean_nps", "ci_lower", "ci_upper"]
    else:
        customers = _churn_customers(con, params, definition, inactivity_days, as_of)
        df = _churn_bins(customers)
        ci = [tuple(v / 100 for v in wilson_interval(k, c)) for k, c in zip(df["churned"], df["customers"])]
        values = ["churned", "churn_rate", "ci_lower", "ci_upper"]
    df["ci_lower"] = [lo for lo, _ in ci] if ci else []
    df["ci_upper"] = [hi for _, hi in ci] if ci else []
    return suppress(df, n="customers", values=values, min_group_size=min_group_size, within=["predictor"])


def _churn_bins(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers, churned and churn rate by predictor value (rounded to the nearest half point)."""
    long_form = pd.concat([
        pd.DataFrame({"predictor": "peak_end", "value": (customers["peak_rating"] + customers["end_rating"]) / 2,
                      "churned": customers["churned"]}),
        pd.DataFrame({"predictor": "mean", "value": customers["mean_rating"], "churned": customers["churned"]}),
    ])
    # halves round up, as DuckDB's round() in voc_peak_end_bins.sql (ratings are positive)
    long_form["value"] = np.floor(long_form["value"].astype(float) * 2 + 0.5) / 2
    out = long_form.groupby(["predictor", "value"], as_index=False).agg(customers=("churned", "size"),
                                                                       churned=("churned", "sum"))
    out["churned"] = out["churned"].astype(int)
    out["churn_rate"] = out["churned"] / out["customers"]
    return out.sort_values(["predictor", "value"], kind="stable").reset_index(drop=True)


def peak_end_headline(df: pd.DataFrame) -> str:
    """One sentence on a `peak_end` result: does (peak + end) / 2 predict NPS (or churn) better than
    the mean? With both correlations, their 95% intervals, p and the customers (for churn also how
    many churned, and the churn definition).

    Says so plainly when too few customers rated interactions (the result is suppressed or has
    no correlation), instead of printing blanks.
    """
    if not isinstance(df, pd.DataFrame) or not {"n", "r_peak_end", "r_mean", "p_value", "peak_end_better",
                                                   "suppressed"} <= set(df.columns):
        raise CxInputError("peak_end_headline takes the one-row result of peak_end")
    row = df.iloc[0] if len(df) else None
    churn = row is not None and row.get("outcome") == "churn"
    what = "churn" if churn else "NPS"
    if row is None or bool(row["suppressed"]) or pd.isna(row["r_peak_end"]) or pd.isna(row["r_mean"]):
        if churn:
            return ("Too few customers with two or more interaction ratings, among them enough who churned and "
                    "enough who stayed, to test whether the peak and the end predict churn")
        return ("Too few customers rated two or more interactions before answering NPS to test whether the peak "
                "and the end predict it")
    if row["peak_end_better"]:
        said = f"(Peak + end) / 2 predicts {what} better than the average rating"
    elif row["p_value"] < 0.05:  # a clear difference the other way
        said = f"The average rating predicts {what} better than (peak + end) / 2"
    else:
        said = f"No evidence that peak and end predict {what} better than the average rating"
    p = f", {p_text(row['p_value'])}" if not pd.isna(row["p_value"]) else ""
    rs = (f"r = {_r_text(row, 'peak_end')} vs {_r_text(row, 'mean')}{p}; {int(row['n']):,} customers"
          + (f", {int(row['churned']):,} of them churned; {row['definition']}" if churn else ""))
    return f"{said} ({rs})"


def _r_text(row: pd.Series, name: str) -> str:
    lo, hi = row.get(f"r_{name}_lower"), row.get(f"r_{name}_upper")
    ci = f" [95% CI {lo:.2f} to {hi:.2f}]" if lo is not None and not pd.isna(lo) else ""
    return f"{row[f'r_{name}']:.2f}{ci}"


def peak_end_table(df: pd.DataFrame) -> pd.DataFrame:
    """A `peak_end` result as one row per predictor, for a report table: predictor ('(peak + end) / 2',
    'mean of all ratings', 'peak', 'end'), r, ci_lower, ci_upper (95% Fisher z), customers; r and
    its interval rounded to two decimals, as correlations are read. Empty when the result is
    suppressed or has no correlation (the headline then says why)."""
    if not isinstance(df, pd.DataFrame) or "r_peak_end_lower" not in df.columns:
        raise CxInputError("peak_end_table takes the one-row result of peak_end")
    row = df.iloc[0] if len(df) else None
    columns = ["predictor", "r", "ci_lower", "ci_upper", "customers"]
    if row is None or bool(row["suppressed"]) or pd.isna(row["r_peak_end"]):
        return pd.DataFrame(columns=columns)
    names = {"peak_end": "(peak + end) / 2", "mean": "mean of all ratings", "peak": "peak", "end": "end"}
    return pd.DataFrame([{"predictor": label, "r": round(row[f"r_{k}"], 2), "ci_lower": round(row[f"r_{k}_lower"], 2),
                          "ci_upper": round(row[f"r_{k}_upper"], 2), "customers": int(row["n"])}
                         for k, label in names.items()], columns=columns)
