"""NPS, CSAT and CES by group and period, with intervals and small-group suppression.

Counts are computed in DuckDB (cxlib/sql/nps.sql, csat.sql, ces.sql); intervals come from
those small aggregated counts (cxlib.analysis.intervals). Definitions: docs/metrics.md.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.intervals import (
    INTERVALS,
    nps_interval,
    t_interval,
    wilson_interval,
)
from cxlib.errors import CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

PERIODS = ("week", "month", "quarter")
METRICS = ("nps", "csat", "ces")  # the survey metrics this package scores

RESPONSE_COLUMNS = ("touchpoint", "channel")  # `by` values taken from the response, not the customer


MISSING_SEGMENT = "(none)"
TOTAL_SEGMENT = "(all)"  # the total row a breakdown adds with total=True


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
    from cxlib.sql import table_columns

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


def _counts(con, metric, *, by, period, start, end, touchpoint, channel, min_group_size, total=False) -> pd.DataFrame:
    check_min_group_size(min_group_size)
    params = _params(con, metric, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel)
    slot = _segment_slot(con, by)
    df = sql.run(con, metric, params, {"segment": slot})
    if by is not None and total:  # the same counts without the breakdown: the margin beside the groups
        whole = sql.run(con, metric, params, {"segment": sql.Ident("NULL")})
        df = pd.concat([df.assign(_total=False), whole.assign(segment=TOTAL_SEGMENT, _total=True)],
                       ignore_index=True)
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
    """Margins: the groups of each period add up to that period's total (the score by period), and
    with `by` and `period` each group's periods add up to its total (the score by `by`)."""
    margins = [["period"], ["segment"]] if (by is not None and period is not None) else None
    total = "_total" if "_total" in df else None
    out = suppress(df, values=values, min_group_size=min_group_size, margins=margins, total=total)
    return out.drop(columns="_total", errors="ignore")


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
    total: bool = False,
) -> pd.DataFrame:
    """Net Promoter Score overall, by a customer attribute or the response's touchpoint/channel,
    and/or by period.

    *Definition*: NPS = %promoters (9-10) - %detractors (0-6) of the answers with metric 'nps',
    in points from -100 to 100. `touchpoint=None` takes every nps answer (relationship surveys,
    which have a blank touchpoint, and touchpoint surveys); pass a touchpoint to restrict.
    Interval (95%): ``interval="wald"`` is docs/metrics.md's multinomial Wald interval; "adjusted_wald"
    is Rocks' adjusted Wald (n + 3, +3/4 to promoters and detractors); see `nps_interval`.
    Both are clamped to [-100, 100].
    `start` is inclusive, `end` exclusive; a date-only `end` ('2026-03-31') includes that day.
    `period` in week/month/quarter is DuckDB's date_trunc (weeks start on Monday).
    A `touchpoint`/`channel` must be one some survey answer carries (else a "did you mean"
    error); one where this metric was not asked gives the n = 0 row.
    `by` is any customers column, or 'touchpoint' / 'channel' of the answer; a missing value
    becomes the segment '(none)'. Groups with fewer than `min_group_size` answers are kept,
    marked ``suppressed=True`` with counts and scores blanked (a group with no answers shows n = 0),
    with complementary suppression against the totals published beside the groups: the overall
    score (`by` alone), each period's score (`period` alone, or within each period with both), and
    each group's score over all periods (with both). Counts are ``Int64``.
    ``total=True`` (with `by`) adds the total row, segment '(all)' (one per period with `period`):
    the same figures as without `by`, suppressed together with the groups.
    With no answers at all, one row with n = 0 and NaN scores.

    Columns: [segment] [period] n, promoters, passives, detractors, nps, ci_lower, ci_upper, suppressed.

    >>> nps(con, by="region", period="quarter")  # doctest: +SKIP
    """
    if interval not in INTERVALS:
        raise unknown_name("interval", str(interval), "the NPS interval methods", INTERVALS)
    df = _counts(con, "nps", by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size, total=total)
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
    total: bool = False,
) -> pd.DataFrame:
    """Customer satisfaction (top-2-box) overall, by segment and/or by period.

    *Definition*: CSAT = share of answers 4 or 5 on the 1-5 scale (metric 'csat'), in PERCENT
    (0..100, like NPS points). Interval: 95% Wilson score interval (statsmodels
    ``proportion_confint(method='wilson')``), in percent. n = 0: csat and interval NaN.
    Options, grouping, dates, suppression and `total` as in `nps`.

    Columns: [segment] [period] n, satisfied, csat, ci_lower, ci_upper, suppressed.
    """
    df = _counts(con, "csat", by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size, total=total)
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
    total: bool = False,
) -> pd.DataFrame:
    """Customer effort score overall, by segment and/or by period (1-7, HIGHER = EASIER).

    *Definition*: mean of the 1-7 answers (metric 'ces') with a 95% Student-t interval
    (mean +/- t(0.975, n-1) * s / sqrt(n), s the sample SD; NaN for n < 2), and
    easy_share = share of answers 5-7 in PERCENT (0..100). n = 0: everything NaN.
    Options, grouping, dates, suppression and `total` as in `nps`.

    Columns: [segment] [period] n, mean, ci_lower, ci_upper, easy_share, suppressed.
    """
    df = _counts(con, "ces", by=by, period=period, start=start, end=end, touchpoint=touchpoint, channel=channel,
                 min_group_size=min_group_size, total=total)
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


def fit_breakdown(con: duckdb.DuckDBPyConnection, wanted: str | None) -> str | None:
    """The breakdown to score by: `wanted` when the store can serve it, else one that fits, said so.

    *Rules*: None or 'none' switches the breakdown off. The answers' 'touchpoint' or 'channel'
    is kept when survey answers carry at least two values of it. A customer attribute goes through
    cxlib.analysis.defaults.fit_segment (kept when it has 2-12 groups, else the attribute that
    fits best, else None, with one sentence saying what was adapted); NPS groups are never
    offered, as each group's NPS is fixed by its definition. A name that differs from one of the
    store's attributes only in case is taken as that attribute. A near miss of an attribute
    ('regon' for 'region') is a misspelling: CxInputError with the suggestion, as in `nps`.
    'nps_group' is returned as is (`check_options` then says it is not a column to score by).
    """
    import difflib

    from cxlib.analysis.defaults import NONE, fit_segment

    if wanted is None or wanted in NONE:
        return None
    if not isinstance(wanted, str):
        raise CxInputError(f"segment must be a column name (text) or None, got {wanted!r}")
    if wanted == "nps_group":
        return wanted
    if wanted in RESPONSE_COLUMNS:
        column = sql.checked_column(con, "survey_responses", wanted)
        if con.execute(f"SELECT count(DISTINCT {column}) FROM survey_responses").fetchone()[0] >= 2:
            return wanted
    attributes = _customer_attributes(con)
    same = [a for a in attributes if a.lower() == wanted.lower()]
    if same:
        wanted = same[0]
    elif wanted not in RESPONSE_COLUMNS and difflib.get_close_matches(wanted, attributes, n=1):
        _segment_slot(con, wanted)  # raises the "did you mean" error
    return fit_segment(con, wanted, allow_nps_group=False)


def other_metrics_note(con: duckdb.DuckDBPyConnection) -> str:
    """A sentence naming the store's survey metrics beyond NPS, CSAT and CES (declared with their
    scale at ingestion), which the voice-of-the-customer scores leave out; '' when there are none."""
    from cxlib.sql import table_columns

    scales = ("m.scale_min, m.scale_max", "LEFT JOIN survey_metrics m ON m.metric = r.metric")
    if not table_columns(con, "survey_metrics"):  # a store made before metrics were declared
        scales = ("NULL, NULL", "")
    rows = con.execute(
        f"SELECT r.metric, {scales[0]}, count(*) AS answers FROM survey_responses r {scales[1]} "
        "WHERE r.metric NOT IN ('nps', 'csat', 'ces') GROUP BY ALL ORDER BY answers DESC, r.metric").fetchall()
    if not rows:
        return ""
    named = ", ".join(f"{m} ({lo}-{hi}, {n:,} answers)" if lo is not None else f"{m} ({n:,} answers)"
                      for m, lo, hi, n in rows)
    return (f"This store's surveys also hold {named}; this report scores NPS, CSAT and CES only "
            "(cx profile lists every metric).")
