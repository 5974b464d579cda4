"""Comparing NPS, CSAT or CES between groups or periods: z-tests, each-vs-rest with Benjamini-Hochberg.

Definitions: docs/metrics.md (NPS, CSAT, CES; comparisons).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib.analysis.features import to_timestamp
from cxlib.analysis.intervals import nps_se
from cxlib.analysis.voc.scores import _counts, ces, csat, nps
from cxlib.errors import CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

_METRICS = {"nps": nps, "csat": csat, "ces": ces}


_SCORE = {"nps": "nps", "csat": "csat", "ces": "mean"}


def _se(metric: str, df: pd.DataFrame) -> np.ndarray:
    """Standard error of each row's score, in the score's units."""
    n = df["n"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "nps":
            return nps_se(df["promoters"].astype(float), df["detractors"].astype(float), n)
        if metric == "csat":
            p = df["satisfied"].astype(float) / n
            return np.sqrt(p * (1 - p) / n) * 100
        return (df["sd"].astype(float) / np.sqrt(n)).to_numpy()


def _pool(metric: str, rows: pd.DataFrame) -> pd.Series:
    """Counts of several groups pooled into one (for 'the rest')."""
    out = {"n": rows["n"].sum()}
    if metric == "nps":
        out.update(promoters=rows["promoters"].sum(), detractors=rows["detractors"].sum())
    elif metric == "csat":
        out.update(satisfied=rows["satisfied"].sum())
    else:  # pooled mean and SD from group means and SDs
        n = rows["n"].astype(float)
        total = n.sum()
        mean = (rows["mean"] * n).sum() / total if total else math.nan
        ss = ((n - 1) * rows["sd"].fillna(0) ** 2 + n * (rows["mean"] - mean) ** 2).sum()
        out.update(mean=mean, sd=math.sqrt(ss / (total - 1)) if total > 1 else math.nan)
    return pd.Series(out)


def _score(metric: str, row) -> float:
    n = float(row["n"])
    if n <= 0:
        return math.nan
    if metric == "nps":
        return (row["promoters"] - row["detractors"]) / n * 100
    if metric == "csat":
        return row["satisfied"] / n * 100
    return float(row["mean"])


def compare(
    con: duckdb.DuckDBPyConnection,
    *,
    metric: str = "nps",
    by: str | None = None,
    period: str | None = None,
    groups: tuple | list | None = None,
    start=None,
    end=None,
    touchpoint: str | None = None,
    channel: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Are differences in NPS / CSAT / CES between groups or periods more than chance?

    Give exactly one of `by` (a segment column, as in `nps`) or `period` (week/month/quarter).
    - ``groups=(a, b)``: compares group (or period) a with b: one row.
    - ``groups=None``: each visible group against all the other visible groups pooled, with
      Benjamini-Hochberg false-discovery-rate correction over the groups (statsmodels
      ``multipletests(method='fdr_bh')``), so that one of twenty segments differing by chance
      is not reported as significant.
    *Definition*: z = diff / sqrt(SE1^2 + SE2^2) (docs/metrics.md), with SE the score's standard error:
    NPS multinomial (sqrt((pP + pD - (pP - pD)^2) / n) * 100), CSAT sqrt(p(1-p)/n) * 100,
    CES s / sqrt(n); two-sided p = 2 * (1 - Phi(|z|)); significant when p_adjusted < alpha
    (for one comparison p_adjusted = p_value, so alpha 0.05 is docs/metrics.md's |z| > 1.96).
    Suppressed groups (fewer than `min_group_size` answers, or complementary) are neither tested
    nor pooled into 'the rest', so no shown figure can reveal them; their row stays, marked.

    Columns: segment (or period), reference ('rest' or group b), n, score, reference_score,
    diff, z, p_value, p_adjusted, significant, suppressed.
    """
    if metric not in _METRICS:
        raise unknown_name("metric", str(metric), "the survey metrics", _METRICS)
    if (by is None) == (period is None):
        raise CxInputError("give exactly one of by= (compare segments) or period= (compare periods)")
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise CxInputError(f"alpha must be a number between 0 and 1, such as 0.05, got {alpha!r}")
    check_min_group_size(min_group_size)
    df = _counts(con, metric, by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size)
    key = "segment" if by is not None else "period"
    small = suppress(df[[key, "n"]], values=[], min_group_size=min_group_size)["suppressed"]
    df["suppressed"] = small.to_numpy()
    cols = [key, "reference", "n", "score", "reference_score", "diff", "z", "p_value", "p_adjusted", "significant",
            "suppressed"]
    if groups is not None:
        if not isinstance(groups, (tuple, list)) or len(groups) != 2:
            raise CxInputError(f"groups must be two {key}s to compare, such as ('north', 'south'), got {groups!r}")
        keys = df[key] if by is not None else df[key].dt.strftime("%Y-%m-%d")
        rows = []
        for g in groups:
            label = str(g) if by is not None else str(to_timestamp(g, "groups").date())
            hit = df[keys == label]
            if hit.empty:
                raise unknown_name(key, str(g), f"the {metric} answers", keys.tolist())
            rows.append(hit.iloc[0])
        a, b = rows
        hidden = bool(a["suppressed"] or b["suppressed"])
        out = {key: a[key], "reference": b[key], "n": a["n"], "suppressed": hidden}
        res = _test(metric, a, b) if not hidden else dict.fromkeys(["score", "reference_score", "diff", "z", "p_value"],
                                                                  math.nan)
        out.update(res)
        out["p_adjusted"] = out["p_value"]
        out["significant"] = bool(out["p_value"] < alpha) if not pd.isna(out["p_value"]) else False
        if hidden:
            out["n"] = math.nan
        return pd.DataFrame([out])[cols].astype({"n": "Int64"})
    from statsmodels.stats.multitest import multipletests

    visible = df[~df["suppressed"]]
    out = []
    for i, row in df.iterrows():
        rec = {key: row[key], "reference": "rest", "n": row["n"], "suppressed": bool(row["suppressed"])}
        rest = visible.drop(index=i, errors="ignore")
        if row["suppressed"] or rest.empty:
            rec.update(dict.fromkeys(["score", "reference_score", "diff", "z", "p_value"], math.nan))
            if row["suppressed"]:
                rec["n"] = math.nan
        else:
            rec.update(_test(metric, row, _pool(metric, rest)))
        out.append(rec)
    res = pd.DataFrame(out, columns=[key, "reference", "n", "suppressed", "score", "reference_score", "diff", "z",
                                     "p_value"])
    res["p_adjusted"] = math.nan
    ok = res["p_value"].notna()
    if ok.any():
        res.loc[ok, "p_adjusted"] = multipletests(res.loc[ok, "p_value"].to_numpy(), method="fdr_bh")[1]
    res["significant"] = (res["p_adjusted"] < alpha).fillna(False).astype(bool)
    return res[cols].astype({"n": "Int64"})


def _test(metric: str, a, b) -> dict:
    frame = pd.DataFrame([a, b]).reset_index(drop=True)
    se = np.asarray(_se(metric, frame), dtype=float)
    score_a, score_b = _score(metric, a), _score(metric, b)
    diff = score_a - score_b
    denom = math.sqrt(se[0] ** 2 + se[1] ** 2)
    if denom > 0 and not math.isnan(denom):
        z = diff / denom
        p = 2 * stats.norm.sf(abs(z))
    elif not math.isnan(diff) and diff != 0 and denom == 0:
        z, p = math.copysign(math.inf, diff), 0.0  # no sampling variation at all, yet a difference
    else:
        z, p = (0.0, 1.0) if diff == 0 else (math.nan, math.nan)
    return {"score": score_a, "reference_score": score_b, "diff": diff, "z": z, "p_value": p}


def compare_nps(con: duckdb.DuckDBPyConnection, **options) -> pd.DataFrame:
    """`compare` for NPS: ``compare_nps(con, by="region")`` or ``compare_nps(con, period="month",
    groups=("2026-01-01", "2026-02-01"))``. See `compare` for the definition and columns."""
    if "metric" in options:
        raise CxInputError("compare_nps compares NPS; use compare(con, metric=...) for CSAT or CES")
    return compare(con, metric="nps", **options)
