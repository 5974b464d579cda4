"""What moved? Shifts of NPS, CSAT, CES, conversion and churn between the latest period and the one
before, overall and in every segment, with Benjamini-Hochberg control of false discoveries, said in
plain sentences.

Definitions: docs/metrics.md ("What moved").
"""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib.analysis.intervals import nps_se, p_text
from cxlib.analysis.service.common import as_counts
from cxlib.errors import CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size
from cxlib.store.connection import as_of as store_as_of

__all__ = ["shifts", "shifts_headline"]

METRICS = ("nps", "csat", "ces", "conversion", "churn")
PERIODS = ("week", "month", "quarter")
LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "conversion": "conversion", "churn": "churn"}
UNITS = {"nps": "points", "csat": "points", "ces": "points", "conversion": "points", "churn": "points"}
ALL = "all"
COLUMNS = ["metric", "breakdown", "segment", "period", "reference", "n", "reference_n", "score", "reference_score",
           "diff", "p_value", "p_adjusted", "moved", "suppressed"]


def _step(p: pd.Timestamp, period: str, k: int = 1) -> pd.Timestamp:
    if period == "week":
        return p + pd.Timedelta(days=7 * k)
    return p + pd.DateOffset(months=k * (1 if period == "month" else 3))


def _survey(con, metric: str, by, period: str, window: dict, min_group_size: int) -> pd.DataFrame:
    """segment, period, n, score, se for NPS, CSAT or CES (overall as segment 'all'); suppressed rows
    (cxlib.nps / csat / ces) carry no score."""
    from cxlib.analysis.voc import scores

    fn = {"nps": scores.nps, "csat": scores.csat, "ces": scores.ces}[metric]
    parts = [fn(con, period=period, min_group_size=min_group_size, **window).assign(segment=ALL)]
    if by is not None:
        parts.append(fn(con, by=by, period=period, min_group_size=min_group_size, **window))
    df = pd.concat(parts, ignore_index=True)
    n = df["n"].astype(float)
    if metric == "nps":
        df["score"], df["se"] = df["nps"], nps_se(df["promoters"].astype(float), df["detractors"].astype(float), n)
    elif metric == "csat":
        p = df["csat"] / 100
        df["score"], df["se"] = df["csat"], np.sqrt(p * (1 - p) / n) * 100
    else:
        tq = stats.t.ppf(0.975, (n - 1).clip(lower=1))
        df["score"], df["se"] = df["mean"], (df["ci_upper"] - df["ci_lower"]) / (2 * tq)
    return df[["segment", "period", "n", "score", "se", "suppressed"]]


def _rate(df: pd.DataFrame, hits: str, n: str) -> pd.DataFrame:
    """score = hits / n in percent with its binomial standard error."""
    m = pd.to_numeric(df[n]).astype("Float64").astype(float)  # a hidden count (<NA>) is NaN here
    p = pd.to_numeric(df[hits]).astype("Float64").astype(float) / m.where(m > 0)
    return df.assign(score=p * 100, se=np.sqrt(p * (1 - p) / m) * 100)


def _conversion(con, by, period: str, steps, window_text: str, min_group_size: int) -> pd.DataFrame:
    """Funnel conversion (first step to last, cxlib.funnel) of customers who start in each of the two
    latest periods (up to the as-of date)."""
    from cxlib.analysis.journey import funnel

    latest = pd.Timestamp(store_as_of(con)).to_period({"week": "W-SUN", "month": "M", "quarter": "Q"}[period]) \
        .start_time
    rows = []
    for p0 in (_step(latest, period, -1), latest):
        lo, hi = datetime.fromisoformat(f"{p0:%Y-%m-%d}"), datetime.fromisoformat(f"{_step(p0, period):%Y-%m-%d}")
        for breakdown in ([None] + ([by] if by is not None else [])):
            f = funnel(con, steps, window=window_text, by=breakdown, start=lo, end=hi, min_group_size=min_group_size)
            for seg, g in f.groupby("segment", sort=False):
                g = g.sort_values("step")
                n = g["customers"].iloc[0] - g["open_window"].iloc[1:].sum()
                rows.append({"segment": ALL if breakdown is None else seg, "period": p0, "n": n,
                             "hits": g["customers"].iloc[-1], "suppressed": bool(g["suppressed"].any())})
    return _rate(pd.DataFrame(rows), "hits", "n")


def _churn(con, by, period: str, definition: str, inactivity_days: int, min_group_size: int) -> pd.DataFrame:
    """Period churn (lost in the period / active at its start, as cxlib.period_churn) per segment, for
    the two latest periods whose churn can be judged."""
    from cxlib.analysis.churn.status import churn_status
    from cxlib.privacy import suppress
    from cxlib.sql import checked_column

    status = churn_status(con, definition=definition, inactivity_days=inactivity_days)
    status["segment"] = ALL
    if by is not None:
        col = checked_column(con, "customers", by, exclude=("customer_id", "signup_at"))
        values = con.execute(f"SELECT customer_id, CAST({col} AS VARCHAR) AS segment FROM customers").df()
        values["segment"] = values["segment"].fillna("(none)")
        status = pd.concat([status, status.drop(columns="segment").merge(values, on="customer_id")])
    lag = inactivity_days if definition == "non_contractual" else 0  # periods judged once this long has passed
    cutoff = pd.Timestamp(store_as_of(con)) - pd.Timedelta(days=lag)
    last = pd.Timestamp(cutoff).to_period({"week": "W-SUN", "month": "M", "quarter": "Q"}[period]).start_time
    rows = []
    for p0 in (_step(last, period, -2), _step(last, period, -1)):  # both ended by the cutoff: judged
        p1 = _step(p0, period)
        active = (status["start"] < p0) & (~status["churned"].astype(bool) | (status["end"] >= p0))
        lost = active & status["churned"].astype(bool) & (status["end"] < p1)
        g = pd.DataFrame({"segment": status["segment"], "n": active, "hits": lost}).groupby("segment").sum()
        rows.append(g.reset_index().assign(period=p0))
    df = pd.concat(rows, ignore_index=True)
    overall, segments = df[df["segment"] == ALL].assign(suppressed=False), df[df["segment"] != ALL]
    if len(segments):
        segments = suppress(segments, n="n", values=["hits"], min_group_size=min_group_size, within=["period"])
    return _rate(pd.concat([overall, segments], ignore_index=True), "hits", "n")


def _test(a, b) -> dict:
    """Two-sample z-test of two scores with their standard errors (as cxlib.compare)."""
    diff = a["score"] - b["score"]
    se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
    if se > 0:
        p = float(2 * stats.norm.sf(abs(diff / se)))
    else:
        p = 1.0 if diff == 0 else 0.0
    return {"score": a["score"], "reference_score": b["score"], "diff": diff, "p_value": p}


def _latest_two(df: pd.DataFrame, min_group_size: int) -> tuple | None:
    """The two latest periods whose overall figure is shown (n >= min_group_size, not suppressed)."""
    overall = df[(df["segment"] == ALL) & ~df["suppressed"].astype(bool) & (df["n"].fillna(0) >= min_group_size)
                 & df["score"].notna()]
    periods = sorted(pd.to_datetime(overall["period"]).unique())
    return (pd.Timestamp(periods[-1]), pd.Timestamp(periods[-2])) if len(periods) >= 2 else None


def _compare(df: pd.DataFrame, metric: str, by, min_group_size: int) -> pd.DataFrame:
    """One row per segment (and 'all'): the latest period against the one before."""
    pair = _latest_two(df, min_group_size)
    if pair is None:
        return pd.DataFrame(columns=COLUMNS)
    latest, previous = pair
    df = df.assign(period=pd.to_datetime(df["period"]))
    rows = []
    for seg, g in df.groupby("segment", sort=True):
        a, b = g[g["period"] == latest], g[g["period"] == previous]
        rec = {"metric": LABELS[metric], "breakdown": ALL if seg == ALL else by, "segment": seg, "period": latest,
               "reference": previous, "n": a["n"].sum() if len(a) else 0, "reference_n": b["n"].sum() if len(b) else 0}
        hidden = bool(a["suppressed"].any() or b["suppressed"].any())
        rec["suppressed"] = hidden
        if not hidden and len(a) and len(b) and a["score"].notna().all() and b["score"].notna().all():
            rec.update(_test(a.iloc[0], b.iloc[0]))
        if hidden:
            rec["n"] = rec["reference_n"] = math.nan
        rows.append(rec)
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    order = out["segment"] != ALL
    return out.assign(_o=order).sort_values(["_o", "segment"]).drop(columns="_o")


def _check(by, period, metrics, min_group_size, alpha) -> list[str]:
    if period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for metric in metrics:
        if metric not in METRICS:
            raise unknown_name("metric", str(metric), "the metrics shifts can watch", METRICS)
    check_min_group_size(min_group_size)
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise CxInputError(f"alpha must be a number between 0 and 1, such as 0.05, got {alpha!r}")
    if by is not None and not isinstance(by, str):
        raise CxInputError(f"by must be one breakdown (a customer attribute such as 'region'), got {by!r}")
    return metrics


def _scores(con, metric, by, period, options, min_group_size) -> pd.DataFrame | None:
    """The metric's scores per segment and period, or None when the store cannot give it."""
    from cxlib.analysis.voc.scores import RESPONSE_COLUMNS
    from cxlib.errors import CxDataError

    window = {"start": options["start"], "end": options["end"]}
    attribute = by if by not in RESPONSE_COLUMNS else None  # an answer's touchpoint/channel splits survey scores only
    try:
        if metric in ("nps", "csat", "ces"):
            return _survey(con, metric, by, period, window, min_group_size)
        if metric == "conversion":
            steps = options["funnel_steps"]
            if not steps or not con.execute("SELECT count(*) FROM events").fetchone()[0]:
                return None
            return _conversion(con, attribute, period, steps, options["funnel_window"], min_group_size)
        return _churn(con, attribute, period, options["churn_definition"], options["inactivity_days"], min_group_size)
    except CxDataError:
        return None  # e.g. contractual churn on a store without subscriptions: nothing to watch


def shifts(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    period: str = "month",
    metrics=METRICS,
    funnel_steps=None,
    funnel_window: str = "7 days",
    churn_definition: str = "contractual",
    inactivity_days: int = 90,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Which of NPS, CSAT, CES, conversion and churn moved between the latest period and the one before,
    overall and in each segment of `by`, beyond chance?

    *Definition* (docs/metrics.md, "What moved"): per metric, its latest `period` against the one
    before: NPS, CSAT and CES over the two latest periods whose overall figure has at least
    `min_group_size` answers (as `latest_change`); conversion = customers reaching the last of
    `funnel_steps` / customers starting the funnel (as `cxlib.funnel`, `funnel_window`) among
    those who start in the period holding the as-of date and in the one before; churn = customers
    lost in the period / active at its start (as `period_churn`, `churn_definition`) in the two
    latest periods whose churn can be judged. Scores in points: NPS, CSAT %, CES mean, conversion %,
    churn %. Each segment's change is a two-sample z-test (as `compare`); the p-values of every
    test of every metric and segment together are adjusted by Benjamini-Hochberg (statsmodels
    ``fdr_bh``), and ``moved`` is p_adjusted < alpha, so the expected share of false alarms among
    the flagged shifts is at most alpha. Suppressed segments (fewer than `min_group_size` in either
    period, or complementary) are not tested. A metric the store cannot give (no answers, no
    funnel steps, no churn to judge) is left out. `by` is a customer attribute (or an answer's
    touchpoint/channel, which splits NPS, CSAT and CES only).

    Columns: metric, breakdown ('all' or `by`), segment, period, reference, n, reference_n, score,
    reference_score, diff, p_value, p_adjusted, moved, suppressed.
    """
    from statsmodels.stats.multitest import multipletests

    metrics = _check(by, period, metrics, min_group_size, alpha)
    options = {"start": start, "end": end, "funnel_steps": funnel_steps, "funnel_window": funnel_window,
               "churn_definition": churn_definition, "inactivity_days": inactivity_days}
    parts = []
    for metric in metrics:
        scores = _scores(con, metric, by, period, options, min_group_size)
        if scores is not None and len(scores):
            parts.append(_compare(scores, metric, by, min_group_size))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    tested = out["p_value"].notna()
    if tested.any():
        out.loc[tested, "p_adjusted"] = multipletests(out.loc[tested, "p_value"].astype(float), method="fdr_bh")[1]
    out["moved"] = (out["p_adjusted"].astype(float) < alpha).fillna(False).astype(bool)
    return as_counts(out, ["n", "reference_n"])


GOOD_WHEN_UP = {"NPS": True, "CSAT": True, "CES": True, "conversion": True, "churn": False}


def shifts_headline(moved: pd.DataFrame, *, top: int = 5) -> str:
    """Plain sentences on a `shifts` result: each shift beyond chance (at most `top`, strongest first),
    or that nothing moved beyond chance, or that nothing could be compared yet."""
    tested = moved[moved["p_value"].notna()] if moved is not None and len(moved) else pd.DataFrame()
    if tested.empty:
        return "Nothing to compare yet: no score or rate has two periods with enough data"
    hits = tested[tested["moved"]].sort_values("p_adjusted")
    names = list(dict.fromkeys(tested["metric"]))
    names = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    breakdowns = [b for b in dict.fromkeys(tested["breakdown"]) if b != ALL]
    where = "overall" + (f" and by {', '.join(breakdowns)}" if breakdowns else "")
    if hits.empty:
        return (f"Nothing moved beyond chance in {len(tested)} comparison{'s' if len(tested) != 1 else ''} of {names} "
                f"({where}; each latest period "
                "against the one before; false discovery rate held at 5%)")
    said = []
    for r in hits.head(top).itertuples():
        where = "overall" if r.segment == ALL else f"for {r.breakdown} = {r.segment}"
        verb = "rose" if r.diff > 0 else "fell"
        better = (r.diff > 0) == GOOD_WHEN_UP[r.metric]
        unit = "%" if r.metric in ("CSAT", "conversion", "churn") else ""
        name = r.metric[:1].upper() + r.metric[1:]  # a sentence opens in capitals: 'Churn rose overall'
        said.append(f"{name} {verb} {where}, from {r.reference_score:.1f}{unit} to {r.score:.1f}{unit} "
                    f"({r.period:%Y-%m-%d} against {r.reference:%Y-%m-%d}; {'better' if better else 'worse'}; "
                    f"{p_text(r.p_adjusted, 'adjusted p')})")
    more = f". {len(hits) - top} more moved beyond chance" if len(hits) > top else ""
    return ". ".join(said) + more + f". {len(tested)} comparison{'s' if len(tested) != 1 else ''} in all, false " \
        "discovery rate held at 5%"
