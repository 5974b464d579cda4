"""Score trends over periods and the plain-language headlines of the voice-of-the-customer report.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from cxlib.analysis.voc.comparisons import _METRICS, compare
from cxlib.analysis.voc.scores import PERIODS
from cxlib.errors import CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE


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


LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def _answered(df: pd.DataFrame | None) -> bool:
    """The one-row result of nps/csat/ces counts some answers: shown (n > 0) or too few to show
    (suppressed); a store without the metric gives n = 0."""
    if df is None or len(df) == 0:
        return False
    row = df.iloc[0]
    return bool(row.get("suppressed", False)) or (not pd.isna(row["n"]) and row["n"] > 0)


def score_headline(nps_df: pd.DataFrame | None, csat_df: pd.DataFrame | None = None,
                   ces_df: pd.DataFrame | None = None, *, detail: bool = True) -> str:
    """One plain-language sentence with the overall NPS (and interval), CSAT and CES, from the
    one-row results of `nps`, `csat` and `ces` (or None).

    Only the scores that have answers are named: a store with NPS alone gives a sentence about
    NPS alone. A hidden score (too few answers, or hidden so that a small group cannot be worked out) says so. With no
    answers at all: a sentence saying there are none. `detail` adds the number of answers to NPS
    and the easy share to CES.
    """
    parts = []
    if _answered(nps_df):
        n = nps_df.iloc[0]
        if pd.isna(n["nps"]):
            parts.append("NPS: hidden (too few answers, or it would give a small group away)")
        else:
            count = f", n = {n['n']:.0f}" if detail else ""
            parts.append(f"NPS {n['nps']:.0f} (95% interval {n['ci_lower']:.0f} to {n['ci_upper']:.0f}{count})")
    if _answered(csat_df):
        c = csat_df.iloc[0]
        parts.append("CSAT: hidden (too few answers, or it would give a small group away)" if pd.isna(c["csat"]) else f"CSAT {c['csat']:.0f}% satisfied")
    if _answered(ces_df):
        e = ces_df.iloc[0]
        easy = f" ({e['easy_share']:.0f}% found it easy)" if detail else ""
        parts.append("CES: hidden (too few answers, or it would give a small group away)" if pd.isna(e["mean"]) else f"CES {e['mean']:.1f} of 7{easy}")
    return "; ".join(parts) if parts else "No NPS, CSAT or CES answers in the data selected"


def scores_table(nps_df: pd.DataFrame | None, csat_df: pd.DataFrame | None = None,
                 ces_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The overall NPS, CSAT and CES side by side, one row per score that has answers.

    Takes the one-row results of `nps`, `csat` and `ces` (or None); a score without answers
    (n = 0, e.g. a store with NPS alone) is left out rather than shown as a row of blanks, so
    the table may be empty. Columns: metric (with its scale), n, score, ci_lower, ci_upper,
    suppressed.
    """
    cols = ["metric", "n", "score", "ci_lower", "ci_upper", "suppressed"]
    parts = [df.rename(columns={score: "score"}).assign(metric=label)
             for df, score, label in ((nps_df, "nps", "NPS (-100 to 100)"), (csat_df, "csat", "CSAT (% satisfied)"),
                                      (ces_df, "mean", "CES (1-7, higher = easier)"))
             if _answered(df)]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat([p[cols] for p in parts], ignore_index=True)


def trend_headline(trend: pd.DataFrame, *, period: str, score: str = "NPS") -> str:
    """One sentence on a one-row `score_trend` result: the change per period and whether it is real."""
    t = trend.iloc[0] if len(trend) else None
    if t is None or pd.isna(t["slope"]):
        return f"Too few {period}s with enough answers to judge the {score} trend"
    verdict = "a real trend" if t["significant"] else "no clear trend"
    return (f"{score} changes by {t['slope']:+.1f} points per {period} "
            f"(95% interval {t['ci_lower']:+.1f} to {t['ci_upper']:+.1f}): {verdict}")


def latest_change(
    con: duckdb.DuckDBPyConnection,
    *,
    period: str = "month",
    metrics: tuple[str, ...] | list[str] = ("nps", "csat", "ces"),
    start=None,
    end=None,
    touchpoint: str | None = None,
    channel: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each score's latest period against the one before: did it change more than chance?

    *Definition*: for each metric in `metrics` ('nps', 'csat', 'ces'), the two latest `period`s
    (week/month/quarter) whose answers are shown (at least `min_group_size` answers, not
    suppressed), compared with `compare(..., period=period, groups=(latest, previous))` (z-test;
    significant when p < alpha). A metric with fewer than two such periods is left out, so the
    result may be empty (no answers, or all in one period). Filters as in `nps`.

    Columns: metric (NPS, CSAT, CES), period (the latest), reference (the one before), n,
    score, reference_score, diff, z, p_value, p_adjusted, significant, suppressed.
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    for metric in metrics:
        if metric not in _METRICS:
            raise unknown_name("metric", str(metric), "the survey metrics", _METRICS)
    filters = {"start": start, "end": end, "touchpoint": touchpoint, "channel": channel,
               "min_group_size": min_group_size}
    cols = ["metric", "period", "reference", "n", "score", "reference_score", "diff", "z", "p_value", "p_adjusted",
            "significant", "suppressed"]
    rows = []
    for metric in metrics:
        scores = _METRICS[metric](con, period=period, **filters)
        shown = scores.loc[~scores["suppressed"].astype(bool) & (scores["n"] > 0), "period"].sort_values()
        if len(shown) < 2:
            continue
        latest, previous = (f"{p:%Y-%m-%d}" for p in (shown.iloc[-1], shown.iloc[-2]))
        row = compare(con, metric=metric, period=period, groups=(latest, previous), alpha=alpha, **filters)
        rows.append(row.assign(metric=LABELS[metric]))
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


def change_headline(change: pd.DataFrame, *, period: str) -> str:
    """One sentence on a `latest_change` result: each score's change and whether it is real.

    Scores compared over the same two periods share one lead ("month of 2026-06-01 against
    2026-05-01: NPS +2.1 (within chance); CSAT -0.4 (within chance)"); an empty result says
    that no score has answers in two periods yet.
    """
    if period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    if change is None or len(change) == 0:
        return (f"No score has enough answers in two different {period}s yet, so there is no change to show "
                f"(each needs at least two {period}s with answers)")
    groups = []
    for (latest, previous), rows in change.groupby(["period", "reference"], sort=False):
        said = "; ".join(
            f"{r.metric}: too few answers to compare" if r.suppressed or pd.isna(r.diff)
            else f"{r.metric} {r.diff:+.1f} ({'a real change' if r.significant else 'within chance'})"
            for r in rows.itertuples())
        groups.append(f"{period} of {pd.Timestamp(latest):%Y-%m-%d} against {pd.Timestamp(previous):%Y-%m-%d}: {said}")
    return ". ".join(groups)
