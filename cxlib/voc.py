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
from .errors import CxInputError, unknown_name
from .features import to_timestamp
from .privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

__all__ = [
    "nps",
    "csat",
    "ces",
    "nps_interval",
    "wilson_interval",
    "t_interval",
    "compare",
    "compare_nps",
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
        known = sql.run(con, "survey_values", {"metric": metric})
        choices = known.loc[known["kind"] == name, "value"].tolist()
        if value not in choices:
            raise unknown_name(name, value, f"the {metric} survey answers", choices)
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
    res = pd.DataFrame(out)
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
