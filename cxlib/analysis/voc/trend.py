"""Score trends over periods and the plain-language headlines of the voice-of-the-customer report.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cxlib.analysis.voc.scores import PERIODS
from cxlib.errors import CxInputError, unknown_name


def score_trend(df: pd.DataFrame, *, period: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Is a score rising or falling over the periods? A weighted straight-line fit per segment.

    *Definition*: takes the result of `nps`, `csat` or `ces` with ``period=``; suppressed and
    empty periods are left out. Score (nps, csat or mean) regressed on the period number
    (0, 1, 2, ... in date order, gaps counted) by weighted least squares with weights n
    (statsmodels WLS); slope = change per period in the score's units, with its 95% t interval
    and two-sided p-value; significant = p_value < alpha. Fewer than 3 periods: NaN.
    The period number is the count of whole `period`s (week/month/quarter; default: read off
    the spacing of the dates) since the first, so a gap of a missing period counts.

    Columns: [segment] periods, first_period, last_period, slope, ci_lower, ci_upper, p_value,
    significant.
    """
    import statsmodels.api as sm

    if not isinstance(df, pd.DataFrame) or "period" not in df.columns:
        raise CxInputError("score_trend takes the result of nps/csat/ces called with period=...")
    score = next((c for c in ("nps", "csat", "mean") if c in df.columns), None)
    if score is None:
        raise CxInputError("score_trend needs a score column: nps, csat or mean")
    if period is not None and period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    hidden = df["suppressed"].astype(bool) if "suppressed" in df.columns else pd.Series(False, index=df.index)
    data = df[~hidden & df[score].notna() & (df["n"].fillna(0) > 0)].copy()
    data["period"] = pd.to_datetime(data["period"])
    groups = data.groupby("segment", sort=True) if "segment" in data.columns else [(None, data)]
    step = period or (_period_step(df["period"]) if len(df) else "month")
    rows = []
    for seg, g in groups:
        g = g.sort_values("period")
        first = g["period"].min()
        x = np.array([_periods_between(first, p, step) for p in g["period"]], float)
        rec = {"periods": len(g), "first_period": first if len(g) else pd.NaT,
               "last_period": g["period"].max() if len(g) else pd.NaT}
        if len(g) >= 3:
            fit = sm.WLS(g[score].to_numpy(float), sm.add_constant(x), weights=g["n"].to_numpy(float)).fit()
            lo, hi = fit.conf_int(alpha=0.05)[1]
            rec.update(slope=float(fit.params[1]), ci_lower=float(lo), ci_upper=float(hi),
                       p_value=float(fit.pvalues[1]))
        else:
            rec.update(slope=math.nan, ci_lower=math.nan, ci_upper=math.nan, p_value=math.nan)
        rec["significant"] = bool(rec["p_value"] < alpha) if not math.isnan(rec["p_value"]) else False
        if seg is not None:
            rec = {"segment": seg, **rec}
        rows.append(rec)
    cols = (["segment"] if "segment" in data.columns else []) + [
        "periods", "first_period", "last_period", "slope", "ci_lower", "ci_upper", "p_value", "significant"]
    return pd.DataFrame(rows, columns=cols)


def _period_step(periods: pd.Series) -> str:
    """week / month / quarter, read off the spacing of date_trunc'ed periods."""
    p = pd.to_datetime(pd.Series(periods).dropna()).sort_values().unique()
    if len(p) < 2:
        return "month"
    gap = min(np.diff(p)).astype("timedelta64[D]").astype(int)
    return "week" if gap <= 7 else ("month" if gap <= 31 else "quarter")


def _periods_between(a: pd.Timestamp, b: pd.Timestamp, step: str) -> int:
    if step == "week":
        return int((b - a).days // 7)
    months = (b.year - a.year) * 12 + (b.month - a.month)
    return months if step == "month" else months // 3


def score_headline(nps_df: pd.DataFrame, csat_df: pd.DataFrame, ces_df: pd.DataFrame) -> str:
    """One plain-language sentence with the overall NPS (and interval), CSAT and CES, from the
    one-row results of `nps`, `csat` and `ces`; says so when a score has no (or too few) answers."""
    parts = []
    n = nps_df.iloc[0] if len(nps_df) else None
    if n is None or pd.isna(n["nps"]):
        parts.append("NPS: too few answers to show")
    else:
        parts.append(f"NPS {n['nps']:.0f} (95% interval {n['ci_lower']:.0f} to {n['ci_upper']:.0f}, n = {n['n']:.0f})")
    c = csat_df.iloc[0] if len(csat_df) else None
    parts.append("CSAT: too few answers" if c is None or pd.isna(c["csat"]) else f"CSAT {c['csat']:.0f}% satisfied")
    e = ces_df.iloc[0] if len(ces_df) else None
    parts.append("CES: too few answers" if e is None or pd.isna(e["mean"])
                 else f"CES {e['mean']:.1f} of 7 ({e['easy_share']:.0f}% found it easy)")
    return "; ".join(parts)


def trend_headline(trend: pd.DataFrame, *, period: str, score: str = "NPS") -> str:
    """One sentence on a one-row `score_trend` result: the change per period and whether it is real."""
    t = trend.iloc[0] if len(trend) else None
    if t is None or pd.isna(t["slope"]):
        return f"Too few {period}s with enough answers to judge the {score} trend"
    verdict = "a real trend" if t["significant"] else "no clear trend"
    return (f"{score} changes by {t['slope']:+.1f} points per {period} "
            f"(95% interval {t['ci_lower']:+.1f} to {t['ci_upper']:+.1f}): {verdict}")
