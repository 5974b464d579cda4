"""Peak-end: does (peak + end) / 2 of a customer's interaction ratings predict relationship NPS
better than their plain mean? Williams' t for dependent correlations.

Definition: docs/metrics.md (peak-end).
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd
from scipy import stats

from cxlib import sql
from cxlib.analysis.intervals import p_text
from cxlib.analysis.voc.scores import _params
from cxlib.errors import CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

_RATING_MIDPOINT = {"csat": 3.0, "ces": 4.0}


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


def peak_end(
    con: duckdb.DuckDBPyConnection,
    *,
    rating_metric: str = "csat",
    min_ratings: int = 2,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Peak-end: does (peak+end)/2 of a customer's interaction ratings predict relationship NPS
    better than the mean of all their ratings?

    *Definition*: per customer, the latest relationship NPS answer (metric 'nps', blank
    touchpoint) and the interaction ratings (`rating_metric`, 'csat' 1-5 or 'ces' 1-7, answers
    with a touchpoint) given strictly before it; customers with fewer than `min_ratings` ratings
    are left out (with one rating, peak, end and mean coincide). peak = the rating farthest from
    the scale midpoint (3 for CSAT, 4 for CES), a low rating winning a tie with a high one;
    end = the latest rating. r_* are Pearson correlations with the NPS score over customers.
    The test is Williams' t for two dependent correlations sharing NPS (Steiger 1980), df n - 3.
    `start`/`end` window the NPS answers. Fewer than `min_group_size` customers: every figure
    is blanked and suppressed=True.

    Columns (one row): n, r_peak_end, r_mean, r_peak, r_end, diff (r_peak_end - r_mean),
    t, p_value, peak_end_better (diff > 0 and p < 0.05), mean_ratings, suppressed.
    """
    params = _peak_end_params(con, rating_metric, min_ratings, start, end, min_group_size)
    row = sql.run(con, "voc_peak_end", params).iloc[0].to_dict()
    n = int(row["n"])
    t, p = williams_t(row["r_peak_end"], row["r_mean"], row["r_peak_end_mean"], n)
    out = {
        "n": n,
        "r_peak_end": row["r_peak_end"],
        "r_mean": row["r_mean"],
        "r_peak": row["r_peak"],
        "r_end": row["r_end"],
        "diff": row["r_peak_end"] - row["r_mean"] if n else math.nan,
        "t": t,
        "p_value": p,
        "mean_ratings": row["mean_ratings"],
    }
    out = {k: (float(v) if v is not None else math.nan) for k, v in out.items()}
    out["n"] = n
    out["peak_end_better"] = bool(out["diff"] > 0 and out["p_value"] < 0.05)
    out["suppressed"] = n < min_group_size
    if out["suppressed"]:
        for k in out:
            if k not in ("suppressed",):
                out[k] = math.nan if k != "peak_end_better" else False
    return pd.DataFrame([out])


def peak_end_bins(
    con: duckdb.DuckDBPyConnection,
    *,
    rating_metric: str = "csat",
    min_ratings: int = 2,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Mean relationship NPS (0-10) by the value of each predictor, for `chart_peak_end`.

    *Definition*: customers as in `peak_end`; predictor 'peak_end' = (peak+end)/2 and 'mean' =
    the mean rating, each rounded to the nearest half point. Bins with fewer than
    `min_group_size` customers are suppressed (complementary suppression within a predictor).
    Columns: predictor, value, customers, mean_nps, suppressed.
    """
    params = _peak_end_params(con, rating_metric, min_ratings, start, end, min_group_size)
    df = sql.run(con, "voc_peak_end_bins", params)
    return suppress(df, n="customers", values=["mean_nps"], min_group_size=min_group_size, within=["predictor"])


def peak_end_headline(df: pd.DataFrame) -> str:
    """One sentence on a `peak_end` result: does (peak + end) / 2 predict NPS better than the mean?

    Says so plainly when too few customers rated interactions before answering NPS (the result
    is suppressed or has no correlation), instead of printing blanks.
    """
    if not isinstance(df, pd.DataFrame) or not {"n", "r_peak_end", "r_mean", "p_value", "peak_end_better",
                                                   "suppressed"} <= set(df.columns):
        raise CxInputError("peak_end_headline takes the one-row result of peak_end")
    row = df.iloc[0] if len(df) else None
    if row is None or bool(row["suppressed"]) or pd.isna(row["r_peak_end"]) or pd.isna(row["r_mean"]):
        return ("Too few customers rated two or more interactions before answering NPS to test whether the peak "
                "and the end predict it")
    said = ("(Peak + end) / 2 predicts NPS better than the average rating" if row["peak_end_better"]
            else "No evidence that peak and end predict NPS better than the average rating")
    p = f", {p_text(row['p_value'])}" if not pd.isna(row["p_value"]) else ""
    return f"{said} (r = {row['r_peak_end']:.2f} vs {row['r_mean']:.2f}{p}; {int(row['n'])} customers)"
