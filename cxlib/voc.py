"""Voice of the customer: NPS, CSAT and CES with honest intervals, significance, drivers,
peak-end and the closed loop.

Every metric follows DESIGN.md. Counts are computed in DuckDB (cxlib/sql/nps.sql, csat.sql,
ces.sql); intervals and tests are computed from those small aggregated counts in Python.
"""

from __future__ import annotations

import math
from datetime import timedelta
from itertools import combinations

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from . import sql
from .errors import CxDataError, CxInputError, unknown_name
from .features import to_timestamp
from .privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from .text import comments as feedback_comments
from .text import quotes, sentiment, sentiment_by_group, themes, topics

__all__ = [
    "nps",
    "csat",
    "ces",
    "nps_interval",
    "wilson_interval",
    "t_interval",
    "compare",
    "compare_nps",
    "score_trend",
    "williams_t",
    "peak_end",
    "peak_end_bins",
    "relative_weights",
    "key_drivers",
    "followup_list",
    "followup_summary",
    "score_headline",
    "trend_headline",
    "export_followup",
    "check_options",
    "neutralise_formulas",
    # feedback text (cxlib.text), re-exported so that cxlib.themes(...) etc. work
    "themes",
    "feedback_comments",
    "topics",
    "quotes",
    "sentiment",
    "sentiment_by_group",
]

Z95 = 1.959963984540054  # the 97.5% normal quantile
PERIODS = ("week", "month", "quarter")
INTERVALS = ("wald", "adjusted_wald")
RESPONSE_COLUMNS = ("touchpoint", "channel")  # `by` values taken from the response, not the customer
MISSING_SEGMENT = "(none)"


# --------------------------------------------------------------------------- intervals


def nps_interval(promoters: int, detractors: int, n: int, *, method: str = "wald") -> tuple[float, float]:
    """95% interval for NPS in points, clamped to [-100, 100]; (nan, nan) when n = 0.

    *Definition* (wald, DESIGN.md): pP = promoters/n, pD = detractors/n,
    var = pP + pD - (pP - pD)^2, SE = sqrt(var / n), NPS +/- 1.96 * SE * 100.
    adjusted_wald (Rocks 2016, "Interval Estimation for the Net Promoter Score", The American
    Statistician 70(4), as popularised by Sauro at MeasuringU): add 3/4 to promoters and 3/4
    to detractors and use n + 3; the interval is centred on that adjusted NPS. It keeps a
    sensible width for small n and for all-promoter / all-detractor samples, where the Wald
    variance is 0.
    Clamping: an interval running past +/-100 is cut at +/-100 (NPS cannot leave that range).
    """
    if method not in INTERVALS:
        raise unknown_name("interval", str(method), "the NPS interval methods", INTERVALS)
    if n is None or n <= 0 or pd.isna(n):
        return (math.nan, math.nan)
    if method == "adjusted_wald":
        promoters, detractors, n = promoters + 0.75, detractors + 0.75, n + 3
    p_p, p_d = promoters / n, detractors / n
    centre = (p_p - p_d) * 100
    var = p_p + p_d - (p_p - p_d) ** 2
    half = Z95 * math.sqrt(max(var, 0.0) / n) * 100
    return (max(centre - half, -100.0), min(centre + half, 100.0))


def nps_se(promoters, detractors, n):
    """Standard error of NPS in points (multinomial, DESIGN.md); nan when n = 0."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_p, p_d = np.asarray(promoters) / n, np.asarray(detractors) / n
        return np.sqrt((p_p + p_d - (p_p - p_d) ** 2) / n) * 100


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion, in percent (0..100); (nan, nan) when n = 0.

    *Definition*: statsmodels ``proportion_confint(method='wilson')``:
    (p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
    """
    from statsmodels.stats.proportion import proportion_confint

    if n is None or n <= 0 or pd.isna(n):
        return (math.nan, math.nan)
    lo, hi = proportion_confint(int(successes), int(n), alpha=0.05, method="wilson")
    return (float(lo) * 100, float(hi) * 100)


def t_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    """95% Student-t interval on a mean: mean +/- t(0.975, n-1) * sd / sqrt(n).

    (nan, nan) when n < 2 (one answer says nothing about spread).
    """
    if n is None or pd.isna(n) or n < 2 or pd.isna(sd):
        return (math.nan, math.nan)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return (mean - half, mean + half)


# --------------------------------------------------------------------------- shared plumbing


def _segment_slot(con: duckdb.DuckDBPyConnection, by: str | None) -> sql.Ident:
    """The {segment} slot: a checked column of survey_responses (touchpoint/channel) or customers."""
    if by is None:
        return sql.Ident("NULL")
    if by in RESPONSE_COLUMNS:
        return sql.Ident("r." + sql.checked_column(con, "survey_responses", by))
    try:
        return sql.Ident("c." + sql.checked_column(con, "customers", by, exclude=("customer_id", "signup_at")))
    except CxInputError:
        choices = [c for c in _customer_attributes(con)] + list(RESPONSE_COLUMNS)
        raise unknown_name("column", str(by), "customers (or the response's touchpoint/channel)", choices) from None


def _customer_attributes(con: duckdb.DuckDBPyConnection) -> list[str]:
    from .store import table_columns

    return [c for c in table_columns(con, "customers") if c not in ("customer_id", "signup_at")]


def _params(con, metric, *, period, start, end, touchpoint, channel) -> dict:
    if period is not None and period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    start_ts, end_ts = to_timestamp(start, "start"), to_timestamp(end, "end")
    if end_ts is not None and isinstance(end, str) and len(end) == 10:
        end_ts = end_ts + timedelta(days=1)  # a date-only end includes that whole day
    if start_ts is not None and end_ts is not None and end_ts <= start_ts:
        raise CxInputError(f"end ({end}) must be after start ({start})")
    for name, value in (("touchpoint", touchpoint), ("channel", channel)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise CxInputError(f"{name} must be text such as 'checkout', got {value!r}")
        # any touchpoint/channel some survey carries is accepted (a metric not asked there gives
        # n = 0); anything else is a misspelling
        known = sql.run(con, "survey_values", {"metric": None})
        choices = known.loc[known["kind"] == name, "value"].tolist()
        if value not in choices:
            raise unknown_name(name, value, "the survey answers", choices)
    return {"start": start_ts, "end": end_ts, "touchpoint": touchpoint, "channel": channel, "period": period}


def _counts(con, metric, *, by, period, start, end, touchpoint, channel, min_group_size) -> pd.DataFrame:
    check_min_group_size(min_group_size)
    params = _params(con, metric, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel)
    slot = _segment_slot(con, by)
    df = sql.run(con, metric, params, {"segment": slot})
    if by is None and period is None and df.empty:
        df = pd.DataFrame([{"segment": None, "period": None, "n": 0}])  # the overall row is always there
    df["n"] = df["n"].astype("int64")
    if by is None:
        df = df.drop(columns="segment")
    else:
        df["segment"] = df["segment"].astype("object").where(df["segment"].notna(), MISSING_SEGMENT)
        df["segment"] = df["segment"].astype(str)
    if period is None:
        df = df.drop(columns="period")
    else:
        df["period"] = pd.to_datetime(df["period"])
    return df.reset_index(drop=True)


def _suppress(df: pd.DataFrame, values: list[str], *, by, period, min_group_size) -> pd.DataFrame:
    within = ["period"] if (by is not None and period is not None) else None
    out = suppress(df, values=values, min_group_size=min_group_size, within=within)
    # A group with no answers hides nobody: keep its n = 0 visible (its scores are NaN anyway).
    # Only the always-present overall row can have n = 0, so no complement was hidden for it.
    empty = (df["n"] == 0).to_numpy()
    out.loc[empty, "n"] = 0
    out.loc[empty, "suppressed"] = False
    return out


# --------------------------------------------------------------------------- metrics


def nps(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    period: str | None = None,
    start=None,
    end=None,
    touchpoint: str | None = None,
    channel: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    interval: str = "wald",
) -> pd.DataFrame:
    """Net Promoter Score overall, by a customer attribute or the response's touchpoint/channel,
    and/or by period.

    *Definition*: NPS = %promoters (9-10) - %detractors (0-6) of the answers with metric 'nps',
    in points from -100 to 100. `touchpoint=None` takes every nps answer (relationship surveys,
    which have a blank touchpoint, and touchpoint surveys); pass a touchpoint to restrict.
    Interval (95%): ``interval="wald"`` is DESIGN.md's multinomial Wald interval; "adjusted_wald"
    is Rocks' adjusted Wald (n + 3, +3/4 to promoters and detractors); see `nps_interval`.
    Both are clamped to [-100, 100].
    `start` is inclusive, `end` exclusive; a date-only `end` ('2026-03-31') includes that day.
    `period` in week/month/quarter is DuckDB's date_trunc (weeks start on Monday).
    A `touchpoint`/`channel` must be one some survey answer carries (else a "did you mean"
    error); one where this metric was not asked gives the n = 0 row.
    `by` is any customers column, or 'touchpoint' / 'channel' of the answer; a missing value
    becomes the segment '(none)'. Groups with fewer than `min_group_size` answers are kept,
    marked ``suppressed=True`` with counts and scores blanked, with complementary suppression
    within each period. With no answers at all, one row with n = 0 and NaN scores.

    Columns: [segment] [period] n, promoters, passives, detractors, nps, ci_lower, ci_upper, suppressed.

    >>> nps(con, by="region", period="quarter")  # doctest: +SKIP
    """
    if interval not in INTERVALS:
        raise unknown_name("interval", str(interval), "the NPS interval methods", INTERVALS)
    df = _counts(con, "nps", by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size)
    for col in ("promoters", "passives", "detractors"):
        df[col] = df[col].fillna(0).astype("int64") if col in df else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        df["nps"] = np.where(df["n"] > 0, (df["promoters"] - df["detractors"]) / df["n"].where(df["n"] > 0) * 100,
                             np.nan)
    cis = [nps_interval(p, d, n, method=interval) for p, d, n in zip(df["promoters"], df["detractors"], df["n"])]
    df["ci_lower"] = [c[0] for c in cis]
    df["ci_upper"] = [c[1] for c in cis]
    df = _suppress(df, ["promoters", "passives", "detractors", "nps", "ci_lower", "ci_upper"], by=by, period=period,
                   min_group_size=min_group_size)
    keys = [c for c in ("segment", "period") if c in df]
    return df[keys + ["n", "promoters", "passives", "detractors", "nps", "ci_lower", "ci_upper", "suppressed"]]


def csat(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    period: str | None = None,
    start=None,
    end=None,
    touchpoint: str | None = None,
    channel: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Customer satisfaction (top-2-box) overall, by segment and/or by period.

    *Definition*: CSAT = share of answers 4 or 5 on the 1-5 scale (metric 'csat'), in PERCENT
    (0..100, like NPS points). Interval: 95% Wilson score interval (statsmodels
    ``proportion_confint(method='wilson')``), in percent. n = 0: csat and interval NaN.
    Options, grouping, dates and suppression as in `nps`.

    Columns: [segment] [period] n, satisfied, csat, ci_lower, ci_upper, suppressed.
    """
    df = _counts(con, "csat", by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size)
    df["satisfied"] = df["satisfied"].fillna(0).astype("int64") if "satisfied" in df else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        df["csat"] = df["satisfied"] / df["n"].where(df["n"] > 0) * 100
    cis = [wilson_interval(s, n) for s, n in zip(df["satisfied"], df["n"])]
    df["ci_lower"] = [c[0] for c in cis]
    df["ci_upper"] = [c[1] for c in cis]
    df = _suppress(df, ["satisfied", "csat", "ci_lower", "ci_upper"], by=by, period=period,
                   min_group_size=min_group_size)
    keys = [c for c in ("segment", "period") if c in df]
    return df[keys + ["n", "satisfied", "csat", "ci_lower", "ci_upper", "suppressed"]]


def ces(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    period: str | None = None,
    start=None,
    end=None,
    touchpoint: str | None = None,
    channel: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Customer effort score overall, by segment and/or by period (1-7, HIGHER = EASIER).

    *Definition*: mean of the 1-7 answers (metric 'ces') with a 95% Student-t interval
    (mean +/- t(0.975, n-1) * s / sqrt(n), s the sample SD; NaN for n < 2), and
    easy_share = share of answers 5-7 in PERCENT (0..100). n = 0: everything NaN.
    Options, grouping, dates and suppression as in `nps`.

    Columns: [segment] [period] n, mean, ci_lower, ci_upper, easy_share, suppressed.
    """
    df = _counts(con, "ces", by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size)
    for col in ("mean", "sd", "easy"):
        if col not in df:
            df[col] = np.nan
    df["mean"] = df["mean"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["easy_share"] = df["easy"].astype(float) / df["n"].where(df["n"] > 0) * 100
    cis = [t_interval(m, s, n) for m, s, n in zip(df["mean"], df["sd"].astype(float), df["n"])]
    df["ci_lower"] = [c[0] for c in cis]
    df["ci_upper"] = [c[1] for c in cis]
    df = _suppress(df, ["mean", "ci_lower", "ci_upper", "easy_share", "sd", "easy"], by=by, period=period,
                   min_group_size=min_group_size)
    keys = [c for c in ("segment", "period") if c in df]
    return df[keys + ["n", "mean", "ci_lower", "ci_upper", "easy_share", "suppressed"]]


# --------------------------------------------------------------------------- significance

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
    *Definition*: z = diff / sqrt(SE1^2 + SE2^2) (DESIGN.md), with SE the score's standard error:
    NPS multinomial (sqrt((pP + pD - (pP - pD)^2) / n) * 100), CSAT sqrt(p(1-p)/n) * 100,
    CES s / sqrt(n); two-sided p = 2 * (1 - Phi(|z|)); significant when p_adjusted < alpha
    (for one comparison p_adjusted = p_value, so alpha 0.05 is DESIGN.md's |z| > 1.96).
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
        return pd.DataFrame([out])[cols]
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
    return res[cols]


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


# --------------------------------------------------------------------------- peak-end

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


# --------------------------------------------------------------------------- key drivers

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
    from .features import customer_features

    feats = customer_features(con, as_of=as_of)
    feats = feats[feats["nps_score"].notna()].copy()
    if max_customers is not None and len(feats) > max_customers:
        feats = feats.sample(n=max_customers, random_state=0)
    cutoff = to_timestamp(as_of, "as_of")
    if cutoff is None:
        from .store import as_of as store_as_of

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

            from .errors import CxWarning

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
) -> pd.DataFrame:
    """Key driver analysis of relationship NPS: which touchpoint ratings, service measures and
    customer attributes move it, as relative importance with bootstrap intervals.

    *Definition*: one row per customer with a relationship NPS answer (cxlib.features.
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
    bootstrap percentile 95% interval over `bootstrap` resamples of customers (seeded).
    Significance: the joint F-test that the driver's coefficients are 0 in the full OLS model,
    Benjamini-Hochberg adjusted over drivers; significant = p_adjusted < alpha. direction = sign
    of the OLS coefficient (single-column drivers; '' for attributes). The model fit is in
    r_squared (of the full model) and n (customers); both repeat on every row.
    Customer-level rows come to pandas only for this model, at most `max_customers` of them
    (a seeded random sample beyond that).

    Columns: driver, kind, importance, ci_lower, ci_upper, direction, p_value, p_adjusted,
    significant, rank, r_squared, n.
    """
    import statsmodels.api as sm
    from statsmodels.stats.multitest import multipletests

    if target not in ("nps_score", "detractor"):
        raise unknown_name("target", str(target), "the driver targets", ["nps_score", "detractor"])
    if rating_metric not in _RATING_MIDPOINT:
        raise unknown_name("rating_metric", str(rating_metric), "the interaction ratings", _RATING_MIDPOINT)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise CxInputError(f"bootstrap must be a whole number of resamples (0 for none), got {bootstrap!r}")
    if not (isinstance(min_ratings_share, (int, float)) and 0 <= min_ratings_share <= 1):
        raise CxInputError(f"min_ratings_share must be a share between 0 and 1, got {min_ratings_share!r}")
    if attributes is None:
        attributes = _customer_attributes(con)
    elif isinstance(attributes, str):
        attributes = [attributes]
    attributes = list(attributes)
    frame, y, groups = _driver_frame(con, target=target, attributes=attributes, rating_metric=rating_metric,
                                     min_ratings_share=min_ratings_share, max_customers=max_customers, as_of=as_of,
                                     max_levels=max_levels)
    n = len(frame)
    labels = list(groups)
    cols = [c for g in labels for c in groups[g][1]]
    x = frame[cols].astype(float).to_numpy()
    yv = y.to_numpy(dtype=float)
    if n < len(cols) + 10:
        raise CxDataError(f"key drivers need more customers with an NPS answer than drivers: {n} customers for "
                          f"{len(cols)} model columns; widen the data or pass fewer attributes")
    col_group = np.array([labels.index(g) for g in labels for _ in groups[g][1]])

    def by_group(w):
        return np.array([w[col_group == i].sum() for i in range(len(labels))])

    w, r2 = relative_weights(x, yv)
    share = by_group(w) / r2 * 100 if r2 > 0 else np.zeros(len(labels))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(bootstrap):
        idx = rng.integers(0, n, n)
        bw, br2 = relative_weights(x[idx], yv[idx])
        boots.append(by_group(bw) / br2 * 100 if br2 > 0 else np.zeros(len(labels)))
    if boots:
        lo, hi = np.percentile(np.array(boots), [2.5, 97.5], axis=0)
    else:
        lo = hi = np.full(len(labels), np.nan)
    # significance: joint F-test per driver in the full OLS model
    keep = x.std(axis=0) > 0
    exog = sm.add_constant(pd.DataFrame(x[:, keep], columns=np.array(cols)[keep]), has_constant="add")
    fit = sm.OLS(yv, exog).fit()
    pvals, direction = [], []
    for g in labels:
        gcols = [c for c in groups[g][1] if c in exog.columns]
        if not gcols:
            pvals.append(math.nan)
            direction.append("")
            continue
        restriction = np.eye(len(exog.columns))[[list(exog.columns).index(c) for c in gcols]]
        res = fit.f_test(restriction)
        pvals.append(float(np.squeeze(res.pvalue)))
        direction.append(("+" if fit.params[gcols[0]] > 0 else "-") if len(gcols) == 1 else "")
    pvals = np.array(pvals)
    padj = np.full(len(labels), np.nan)
    ok = ~np.isnan(pvals)
    if ok.any():
        padj[ok] = multipletests(pvals[ok], method="fdr_bh")[1]
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
    out = out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["r_squared"] = r2
    out["n"] = n
    return out


# --------------------------------------------------------------------------- closed loop

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` safe to open in a spreadsheet: every text cell starting with = + - @, a tab
    or a carriage return gets a leading apostrophe (OWASP "CSV injection"), so it is shown as
    text and never run as a formula. Numbers, dates and missing values are left alone;
    column names are neutralised too. The input is not changed.
    """
    def fix(v):
        if isinstance(v, str) and v.startswith(FORMULA_START):
            return "'" + v
        return v

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(fix)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def followup_list(
    con: duckdb.DuckDBPyConnection,
    *,
    days: int = 30,
    last_n: int = 5,
    as_of=None,
) -> pd.DataFrame:
    """Closed loop: detractors to contact, with their recent journey (customer-level: for the
    CSV export or an interactive session, never for a stakeholder report).

    *Definition*: customers whose latest relationship NPS answer (metric 'nps', blank
    touchpoint) is 0-6 and was given within the `days` days up to `as_of` (default: the store's
    as-of date); last_touchpoints = their last `last_n` events, oldest first, joined by ' > ';
    open_tickets = tickets unresolved at `as_of`. The comment has personal data (emails, phone
    numbers, introduced names) masked. Ordered by score (most unhappy first), then open tickets.

    Columns: customer_id, responded_at, nps_score, comment, last_touchpoints, last_channel,
    last_event_at, open_tickets, last_ticket_category, last_ticket_opened_at.
    """
    from .privacy import mask_personal_data
    from .store import as_of as store_as_of

    for name, value in (("days", days), ("last_n", last_n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CxInputError(f"{name} must be a whole number of at least 1, got {value!r}")
    cutoff = to_timestamp(as_of, "as_of") or store_as_of(con)
    df = sql.run(con, "voc_followup", {"since": cutoff - timedelta(days=days), "as_of": cutoff, "last_n": last_n})
    df["comment"] = df["comment"].map(mask_personal_data)
    return df


def export_followup(df: pd.DataFrame, path) -> "Path":  # noqa: F821
    """Write a follow-up list to CSV (UTF-8) with spreadsheet formula injection neutralised
    (`neutralise_formulas`); returns the path written. Parent folders are created."""
    from pathlib import Path

    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"export_followup takes the DataFrame from followup_list, got {type(df).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(df).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- trend


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


# --------------------------------------------------------------------------- notebook helpers


def check_options(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    period: str | None = None,
    start=None,
    end=None,
    touchpoint: str | None = None,
    channel: str | None = None,
    interval: str = "wald",
    min_group_size: int = MIN_GROUP_SIZE,
) -> None:
    """Check a notebook's or report's options up front, with the same errors `nps` would raise
    later (a misspelt segment, period, touchpoint or date says what to use instead)."""
    check_min_group_size(min_group_size)
    if interval not in INTERVALS:
        raise unknown_name("interval", str(interval), "the NPS interval methods", INTERVALS)
    _segment_slot(con, by)
    _params(con, "nps", period=period, start=start, end=end, touchpoint=None, channel=None)
    _params(con, "nps", period=None, start=None, end=None, touchpoint=touchpoint, channel=channel)


def followup_summary(df: pd.DataFrame, *, min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """What a stakeholder may see of a follow-up list: detractors per NPS score, how many still
    have an open ticket, no one named. Scores with fewer than `min_group_size` detractors are
    suppressed (with complementary suppression, as the total is shown alongside).
    Columns: nps_score, detractors, with_open_ticket, suppressed."""
    if not isinstance(df, pd.DataFrame) or not {"nps_score", "open_tickets"} <= set(df.columns):
        raise CxInputError("followup_summary takes the DataFrame from followup_list")
    out = (df.assign(open_=df["open_tickets"] > 0).groupby("nps_score")
           .agg(detractors=("open_", "size"), with_open_ticket=("open_", "sum")).reset_index())
    out = out.astype({"detractors": "int64", "with_open_ticket": "int64"})
    return suppress(out, n="detractors", values=["with_open_ticket"], min_group_size=min_group_size)


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
