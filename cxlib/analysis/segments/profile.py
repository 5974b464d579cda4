"""Segments: profiles by any customer attribute, RFM, behavioural clusters, personalisation cues.

Heavy work runs in DuckDB (cxlib/sql/segment_*.sql, rfm*.sql, cluster_*.sql). A segmentation is
first written to the connection's temporary table ``cx_segment_members(customer_id, segment)``
(from a customers column, from RFM, or from a caller's assignment frame), and the profile and
usage queries read that one relation; temporary tables work on read-only connections and never
touch the store file. Intervals are cxlib.analysis.intervals' (`nps_interval`, `wilson_interval`,
`t_interval`), so a segment's NPS here is the number the voice-of-customer notebook shows."""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.intervals import nps_interval, nps_se, t_interval, wilson_interval
from cxlib.analysis.voc.scores import MISSING_SEGMENT
from cxlib.errors import CxDataError, CxInputError, CxWarning
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.privacy.suppression import order_published
from cxlib.store.connection import as_of as store_as_of

PROFILE_METRICS = ("revenue_per_customer", "nps", "csat", "ces", "churn_rate")


_NOT_ATTRIBUTES = ("customer_id", "signup_at")


_ONE_TICK = timedelta(microseconds=1)


def _window(start, end) -> dict:
    """start inclusive, end exclusive; a date-only end ('2026-03-31') includes that day (as voc)."""
    start_ts, end_ts = to_timestamp(start, "start"), to_timestamp(end, "end")
    if end_ts is not None and isinstance(end, str) and len(end) == 10:
        end_ts = end_ts + timedelta(days=1)
    if start_ts is not None and end_ts is not None and end_ts <= start_ts:
        raise CxInputError(f"end ({end}) must be after start ({start})")
    return {"start": start_ts, "end": end_ts}


def _cutoff(con: duckdb.DuckDBPyConnection, as_of) -> datetime:
    """`as_of` as a timestamp (default: the store's as-of date). A date-only string
    ('2025-06-30') means the end of that day, so that day's data counts, as `end` does."""
    cutoff = to_timestamp(as_of, "as_of")
    if cutoff is None:
        return store_as_of(con)
    if isinstance(as_of, str) and len(as_of) == 10:
        cutoff = cutoff + timedelta(days=1) - _ONE_TICK
    return cutoff


def _members(con: duckdb.DuckDBPyConnection, by) -> None:
    """Write the segmentation `by` to the temp table cx_segment_members(customer_id, segment).

    `by`: the name of a customers column (region, plan, ...), or a DataFrame with columns
    customer_id and segment (e.g. RFM segments or clusters). Blank values become '(none)'.
    """
    if isinstance(by, str):
        slot = sql.checked_column(con, "customers", by, exclude=_NOT_ATTRIBUTES)
        sql.run(con, "segment_members", {"missing": MISSING_SEGMENT}, {"segment": slot})
        return
    if isinstance(by, pd.DataFrame):
        missing = {"customer_id", "segment"} - set(by.columns)
        if missing:
            raise CxInputError(
                f"a segment frame needs columns customer_id and segment; missing {sorted(missing)} "
                f"(got {list(by.columns)}). Rename yours, e.g. df.rename(columns={{'cluster': 'segment'}})"
            )
        if by["customer_id"].duplicated().any():
            raise CxInputError("a segment frame must hold each customer_id once; drop the duplicates first")
        frame = by[["customer_id", "segment"]].astype({"customer_id": str}).astype({"segment": object})
        frame["segment"] = frame["segment"].where(frame["segment"].notna(), None)
        frame["segment"] = frame["segment"].map(lambda v: None if v is None else str(v))
        if hasattr(con, "complete"):  # DuckDB 2 refuses register() while a result is unread
            con.complete()
        con.register("cx_segment_input", frame)
        try:
            sql.run(con, "segment_members_frame", {"missing": MISSING_SEGMENT})
        finally:
            con.unregister("cx_segment_input")
        return
    raise CxInputError(
        f"by must be a customers column name such as 'region', or a DataFrame with customer_id and "
        f"segment columns; got {type(by).__name__}"
    )


def _pool(n, mean, sd) -> tuple[float, float, float]:
    """n, mean and sample SD of several groups pooled from their n, means and sample SDs."""
    n, mean, sd = (np.asarray(x, dtype=float) for x in (n, mean, sd))
    keep = n > 0
    n, mean, sd = n[keep], mean[keep], np.nan_to_num(sd[keep])
    total = n.sum()
    if total == 0:
        return 0.0, math.nan, math.nan
    m = (n * mean).sum() / total
    ss = ((n - 1) * sd**2 + n * (mean - m) ** 2).sum()
    return float(total), float(m), math.sqrt(ss / (total - 1)) if total > 1 else math.nan


def _z_test(diff: float, se1: float, se2: float) -> tuple[float, float]:
    """z = diff / sqrt(se1^2 + se2^2) (docs/metrics.md) and its two-sided normal p-value."""
    denom = math.sqrt(se1**2 + se2**2) if not (math.isnan(se1) or math.isnan(se2)) else math.nan
    if math.isnan(diff) or math.isnan(denom):
        return math.nan, math.nan
    if denom == 0:
        return (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    z = diff / denom
    return z, float(2 * stats.norm.sf(abs(z)))


def _cx_scores(summary: pd.DataFrame) -> pd.DataFrame:
    """Adds revenue_per_customer, nps (+ interval), csat, ces to a segment_summary frame."""
    df = summary.copy()
    df["revenue_per_customer"] = df["revenue_mean"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        df["nps"] = (df["promoters"] - df["detractors"]) / df["nps_n"].where(df["nps_n"] > 0) * 100
        df["csat"] = df["satisfied"] / df["csat_n"].where(df["csat_n"] > 0) * 100
    nci = [nps_interval(p, d, n) for p, d, n in zip(df["promoters"], df["detractors"], df["nps_n"])]
    df["nps_ci_lower"], df["nps_ci_upper"] = [c[0] for c in nci], [c[1] for c in nci]
    cci = [wilson_interval(s, n) for s, n in zip(df["satisfied"], df["csat_n"])]
    df["csat_ci_lower"], df["csat_ci_upper"] = [c[0] for c in cci], [c[1] for c in cci]
    df["ces"] = df["ces_mean"].astype(float)
    eci = [t_interval(m, s, n) for m, s, n in zip(df["ces"], df["ces_sd"].astype(float), df["ces_n"])]
    df["ces_ci_lower"], df["ces_ci_upper"] = [c[0] for c in eci], [c[1] for c in eci]
    return df


_CX_COLUMNS = [
    "revenue_per_customer",
    "nps_n", "nps", "nps_ci_lower", "nps_ci_upper",
    "csat_n", "csat", "csat_ci_lower", "csat_ci_upper",
    "ces_n", "ces", "ces_ci_lower", "ces_ci_upper",
]


def _segment_table(summary: pd.DataFrame, extra: pd.DataFrame | None, min_group_size: int) -> pd.DataFrame:
    """segment, customers, share, [extra], CX scores; suppressed by customers (complementary)."""
    df = _cx_scores(summary)
    total = df["customers"].sum()
    df["share"] = df["customers"] / total if total else math.nan
    if extra is not None:
        df = df.merge(extra, on="segment", how="left", suffixes=("", "_extra"))
    extra_cols = [c for c in (extra.columns if extra is not None else []) if c not in ("segment", "customers")]
    cols = ["segment", "customers", "share"] + extra_cols + _CX_COLUMNS
    df = df[cols]
    values = [c for c in cols if c not in ("segment", "customers")]
    # An empty segment (a named RFM segment nobody is in) hides nobody: suppress shows its 0 and
    # never takes it as a complement; it has no scores.
    empty = (df["customers"] == 0).to_numpy()
    out = suppress(df, n="customers", values=values, min_group_size=min_group_size)
    out.loc[empty, values] = np.nan
    # Scores from fewer than min_group_size answers are blanked too (the segment itself shows).
    for metric in ("nps", "csat", "ces"):
        few = out[f"{metric}_n"].fillna(0) < min_group_size
        for col in (metric, f"{metric}_ci_lower", f"{metric}_ci_upper"):
            out.loc[few, col] = np.nan
    return out


def segment_profile(
    con: duckdb.DuckDBPyConnection,
    *,
    by,
    start=None,
    end=None,
    churn_definition: str = "non_contractual",
    inactivity_days: int = 90,
    min_group_size: int = MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each segment's value and CX scores, each compared with the rest of the customers.

    *Definition*: one row per segment and metric:
    - revenue_per_customer: order revenue in [start, end) / customers in the segment (customers
      without orders count as 0); 95% t interval.
    - nps, csat (percent top-2-box), ces (mean 1-7, higher = easier): every answer of the metric
      in [start, end) from the segment's customers, as cxlib.analysis.voc counts them, with voc's
      intervals (NPS multinomial Wald, Wilson, t).
    - churn_rate (share 0..1) from cxlib.analysis.churn.churn_rate with `churn_definition` and
      `inactivity_days`, Wilson interval, judged at the store's as-of date (start/end do not
      apply); n = the judged customers. For a segment frame, the same from each member's
      churn_status (members only); when churn cannot be judged (e.g. contractual churn without
      subscriptions, non-contractual churn without events or orders) the rows are left out
      with a CxWarning.
    Each segment is tested against the rest pooled (the other visible segments): z = diff /
    sqrt(SE1^2 + SE2^2) (docs/metrics.md) with SE the multinomial NPS SE, sqrt(p(1-p)/n) for CSAT and
    churn, s/sqrt(n) for CES and revenue; two-sided normal p; Benjamini-Hochberg false discovery
    rate across the segments of each metric (statsmodels ``multipletests(method='fdr_bh')``);
    significant when p_adjusted < alpha. This is cxlib.analysis.voc.comparisons's test.
    Suppression: a segment with fewer than `min_group_size` customers is suppressed on every
    row, a metric with fewer than `min_group_size` answers on its row, with complementary
    suppression per metric; suppressed rows stay (suppressed=True), are neither tested nor
    pooled into the rest.

    `by`: a customers column (validated against the real columns) or a DataFrame with
    customer_id and segment (RFM segments, clusters). Blank values form the segment '(none)'.

    Columns: segment, metric, customers, n, value, ci_lower, ci_upper, rest_value, difference,
    z, p_value, p_adjusted, significant, suppressed.

    >>> segment_profile(con, by="region").query("metric == 'nps'")  # doctest: +SKIP
    """
    check_min_group_size(min_group_size)
    if isinstance(alpha, bool) or not isinstance(alpha, float) or not 0 < alpha < 1:
        raise CxInputError(f"alpha must be a number between 0 and 1, such as 0.05, got {alpha!r}")
    window = _window(start, end)
    _members(con, by)
    s = sql.run(con, "segment_summary", window)
    if s.empty:
        raise CxDataError("no customers in the store: load customers before profiling segments")
    s = _cx_scores(s)
    seg_hidden = suppress(s[["segment", "customers"]], n="customers", values=[], min_group_size=min_group_size)[
        "suppressed"
    ].to_numpy()

    metrics = []
    # (metric, n, value, sd-for-SE or None, ci_lower, ci_upper, extra counts for pooling)
    metrics.append(("revenue_per_customer", s["customers"], s["revenue_mean"], s["revenue_sd"],
                    [t_interval(m, sd, n) for m, sd, n in zip(s["revenue_mean"], s["revenue_sd"], s["customers"])]))
    metrics.append(("nps", s["nps_n"], s["nps"], None, list(zip(s["nps_ci_lower"], s["nps_ci_upper"]))))
    metrics.append(("csat", s["csat_n"], s["csat"], None, list(zip(s["csat_ci_lower"], s["csat_ci_upper"]))))
    metrics.append(("ces", s["ces_n"], s["ces"], s["ces_sd"], list(zip(s["ces_ci_lower"], s["ces_ci_upper"]))))
    rows = []
    for metric, n, value, sd, cis in metrics:
        part = pd.DataFrame({
            "segment": s["segment"], "metric": metric, "customers": s["customers"], "n": n.astype("int64"),
            "value": value.astype(float), "ci_lower": [c[0] for c in cis], "ci_upper": [c[1] for c in cis],
        })
        part["_sd"] = sd.astype(float).to_numpy() if sd is not None else np.nan
        if metric == "nps":
            part["_a"], part["_b"] = s["promoters"].to_numpy(), s["detractors"].to_numpy()
        elif metric == "csat":
            part["_a"], part["_b"] = s["satisfied"].to_numpy(), 0
        rows.append(part)
    churn = _churn_rows(con, by, s, churn_definition=churn_definition, inactivity_days=inactivity_days)
    if churn is not None:
        rows.append(churn)
    out = []
    for part in rows:
        part = part.reset_index(drop=True)
        seg_mask = part["segment"].map(dict(zip(s["segment"], seg_hidden))).fillna(True).astype(bool).to_numpy()
        out.append(_test_part(part, seg_mask, min_group_size=min_group_size, alpha=alpha))
    res = pd.concat(out, ignore_index=True)
    order = {m: i for i, m in enumerate(PROFILE_METRICS)}
    res = res.sort_values(["metric", "segment"], key=lambda c: c.map(order) if c.name == "metric" else c)
    cols = ["segment", "metric", "customers", "n", "value", "ci_lower", "ci_upper", "rest_value", "difference", "z",
            "p_value", "p_adjusted", "significant", "suppressed"]
    return res[cols].reset_index(drop=True)


def _frame_churn(con, by: pd.DataFrame, *, definition, inactivity_days) -> pd.DataFrame:
    """churn_rate's segment, customers (judged), churned for a segment frame: each customer's
    churn_status joined to their segment (blank: '(none)'); customers not in the frame are left out."""
    from cxlib.analysis.churn import churn_status

    status = churn_status(con, definition=definition, inactivity_days=inactivity_days)
    members = by[["customer_id", "segment"]].astype({"customer_id": str})
    members = members.assign(segment=members["segment"].map(lambda v: MISSING_SEGMENT if pd.isna(v) else str(v)))
    m = status[["customer_id", "judged", "churned"]].merge(members, on="customer_id", how="inner")
    m["judged"] = m["judged"].astype(bool)
    m["churned_judged"] = m["judged"] & m["churned"].astype(bool)
    out = m.groupby("segment", as_index=False).agg(customers=("judged", "sum"), churned=("churned_judged", "sum"))
    return out.astype({"customers": "int64", "churned": "int64"})


def _churn_rows(con, by, s: pd.DataFrame, *, churn_definition, inactivity_days) -> pd.DataFrame | None:
    """Churn rate per segment from cxlib.analysis.churn (None when it cannot be had)."""
    from cxlib.analysis import churn as churn_module

    churn_rate = getattr(churn_module, "churn_rate", None)
    if churn_rate is None:
        return None
    try:
        if isinstance(by, str):
            c = churn_rate(con, by=by, definition=churn_definition, inactivity_days=inactivity_days, min_group_size=1)
        else:
            c = _frame_churn(con, by, definition=churn_definition, inactivity_days=inactivity_days)
    except CxDataError as exc:  # e.g. contractual churn on a store without subscriptions
        warnings.warn(f"segment profile without churn rate: {exc}", CxWarning, stacklevel=3)
        return None
    c = c.copy()
    c["segment"] = c["segment"].astype("object").where(c["segment"].notna(), MISSING_SEGMENT).astype(str)
    c = s[["segment", "customers"]].merge(c.rename(columns={"customers": "judged"}), on="segment", how="left")
    judged = c["judged"].fillna(0).astype("int64")
    churned = c["churned"].fillna(0).astype("int64")
    cis = [wilson_interval(k, n) for k, n in zip(churned, judged)]
    return pd.DataFrame({
        "segment": c["segment"], "metric": "churn_rate", "customers": c["customers"], "n": judged,
        "value": np.where(judged > 0, churned / judged.where(judged > 0), np.nan),
        "ci_lower": [x[0] / 100 for x in cis], "ci_upper": [x[1] / 100 for x in cis],
        "_sd": np.nan, "_a": churned, "_b": 0,
    })


def _se(metric: str, n: np.ndarray, value: np.ndarray, sd: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "nps":
            return np.asarray(nps_se(a, b, n), dtype=float)
        if metric == "csat":
            p = a / n
            return np.sqrt(p * (1 - p) / n) * 100
        if metric == "churn_rate":
            p = a / n
            return np.sqrt(p * (1 - p) / n)
        return sd / np.sqrt(n)


def _test_part(part: pd.DataFrame, seg_hidden: np.ndarray, *, min_group_size: int, alpha: float) -> pd.DataFrame:
    """Suppress one metric's rows, test each visible segment against the other visible ones, BH."""
    from statsmodels.stats.multitest import multipletests

    metric = part["metric"].iloc[0]
    n = part["n"].to_numpy(dtype=float)
    # A segment hidden for its size is hidden here too; a visible segment with no answers at all
    # hides nobody and shows n = 0 (never a complement).
    hidden = suppress(pd.DataFrame({"n": n}), values=[], min_group_size=min_group_size,
                      hidden=seg_hidden)["suppressed"].to_numpy()
    testable = ~hidden & (n > 0)
    a = part["_a"].to_numpy(dtype=float) if "_a" in part else np.full(len(part), np.nan)
    b = part["_b"].to_numpy(dtype=float) if "_b" in part else np.full(len(part), np.nan)
    sd = part["_sd"].to_numpy(dtype=float)
    value = part["value"].to_numpy(dtype=float)
    se = _se(metric, n, value, sd, a, b)
    rest_value, diff, zs, ps = (np.full(len(part), np.nan) for _ in range(4))
    for i in np.flatnonzero(testable):
        others = testable.copy()
        others[i] = False
        if not others.any():
            continue
        rn = n[others].sum()
        if metric == "nps":
            ra, rb = a[others].sum(), b[others].sum()
            rv = (ra - rb) / rn * 100
            rse = float(nps_se(ra, rb, rn))
        elif metric in ("csat", "churn_rate"):
            ra = a[others].sum()
            p = ra / rn
            scale = 100 if metric == "csat" else 1
            rv, rse = p * scale, math.sqrt(p * (1 - p) / rn) * scale
        else:
            rn, rv, rsd = _pool(n[others], value[others], sd[others])
            rse = rsd / math.sqrt(rn) if rn > 0 else math.nan
        rest_value[i], diff[i] = rv, value[i] - rv
        zs[i], ps[i] = _z_test(diff[i], float(se[i]), rse)
    p_adj = np.full(len(part), np.nan)
    ok = ~np.isnan(ps)
    if ok.any():
        p_adj[ok] = multipletests(ps[ok], method="fdr_bh")[1]
    out = part[["segment", "metric", "customers", "n", "value", "ci_lower", "ci_upper"]].copy()
    out["rest_value"], out["difference"], out["z"] = rest_value, diff, zs
    out["p_value"], out["p_adjusted"] = ps, p_adj
    out["significant"] = np.where(ok, p_adj < alpha, False).astype(bool)
    out["suppressed"] = hidden
    blank = ["value", "ci_lower", "ci_upper", "rest_value", "difference", "z", "p_value", "p_adjusted"]
    out[blank] = out[blank].astype(float)
    out.loc[hidden, blank] = np.nan
    out["n"] = out["n"].astype("Int64")
    out.loc[hidden, "n"] = pd.NA
    out["customers"] = out["customers"].astype("Int64")
    out.loc[seg_hidden, "customers"] = pd.NA
    return out


def lift_interval(n, a, b, a_sq, ab, b_sq, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each segment's lift of one touchpoint (channel) with its interval, customers the sampling unit.

    *Definition*: arrays whose last axis holds the segments (all of them: the overall share
    includes every segment): n customers, a events on the touchpoint, b events in all, a_sq =
    sum of each customer's a^2, ab = sum of a x b, b_sq = sum of b^2. lift = (a_s / b_s) /
    (A / B), A and B summed over the segments. A customer's events are not independent draws
    (one customer's many app events), so the interval is the delta method on log lift with the
    customer as the unit (the linearised, clustered variance of a ratio estimator, as survey
    software computes it; Katz's log interval treats events as independent and is too narrow
    on clickstreams). The segment is part of the overall population; the linearisation counts
    that overlap exactly: customer i of segment h contributes z_i = g_a a_i + g_b b_i with
    g = d log lift / d(A_h, B_h) (own segment: 1/a_s - 1/A, -(1/b_s - 1/B); any other: -1/A, 1/B),
    and Var = sum over segments of n_h / (n_h - 1) * sum_i (z_i - mean z_h)^2. Interval
    lift x exp(+-t sqrt(Var)), t the Student quantile with n_eff - 1 degrees of freedom (at least
    1), n_eff = b_s^2 / b_sq_s (Kish's effective number of the segment's customers, weighted by
    their events): a segment whose events come from a few heavy users gets a wider interval.
    (The normal quantile covered 92% at 10-50 customers a segment; this, 93-97%.) NaN where the
    segment has no events on it (lift 0) or fewer than 2 customers; a segment that is everybody
    has lift 1 exactly and the interval [1, 1]. Like every delta method it wants customers: with
    a handful (a segment of 3) it can be too narrow, which suppression below `min_group_size` hides.
    """
    n, a, b, a_sq, ab, b_sq = (np.asarray(v, dtype=float) for v in (n, a, b, a_sq, ab, b_sq))
    big_a, big_b = a.sum(axis=-1, keepdims=True), b.sum(axis=-1, keepdims=True)

    def spread(ga, gb):
        sum_sq = ga**2 * a_sq + 2 * ga * gb * ab + gb**2 * b_sq
        total = ga * a + gb * b
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (sum_sq - total**2 / n) * n / (n - 1)
        return np.where(n > 1, np.maximum(v, 0.0), np.nan)

    with np.errstate(invalid="ignore", divide="ignore"):
        lift = (a / b) / (big_a / big_b)
        own = spread(1 / a - 1 / big_a, -(1 / b - 1 / big_b))
        other = np.nan_to_num(spread(-1 / big_a, np.broadcast_to(1 / big_b, a.shape)))
        se = np.sqrt(own + other.sum(axis=-1, keepdims=True) - other)
        z = stats.t.ppf(0.5 + level / 2, np.maximum(b**2 / b_sq - 1, 1))
        ok = (a > 0) & np.isfinite(se)
        return lift, np.where(ok, lift * np.exp(-z * se), np.nan), np.where(ok, lift * np.exp(z * se), np.nan)


def _lift_intervals(con, u: pd.DataFrame, window: dict) -> pd.DataFrame:
    """lift_ci_lower and lift_ci_upper for each row of segment_usage's query (`lift_interval`)."""
    spread = sql.run(con, "segment_usage_spread", window)
    cells = u.merge(spread, on=["segment", "kind", "value"], how="left")
    seg = cells.drop_duplicates("segment").set_index("segment")
    wide = cells.pivot_table(index=["kind", "value"], columns="segment", values=["events", "a_sq", "ab"],
                             aggfunc="sum", fill_value=0.0)
    cols = list(seg.index)
    per_seg = {c: np.broadcast_to(seg.loc[cols, c].to_numpy(dtype=float), (len(wide), len(cols)))
               for c in ("customers", "segment_events", "b_sq")}
    _, low, high = lift_interval(per_seg["customers"], wide["events"][cols], per_seg["segment_events"],
                                 wide["a_sq"][cols], wide["ab"][cols], per_seg["b_sq"])
    ci = pd.DataFrame({"lift_ci_lower": low.ravel(), "lift_ci_upper": high.ravel()},
                      index=pd.MultiIndex.from_tuples([(k, v, s) for k, v in wide.index for s in cols],
                                                      names=["kind", "value", "segment"]))
    return u.join(ci, on=["kind", "value", "segment"])


def segment_usage(
    con: duckdb.DuckDBPyConnection,
    *,
    by,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """How much each segment uses each touchpoint and channel, against all customers.

    *Definition*: events in [start, end) of the segment's customers.
    reach = segment customers with such an event / segment customers; overall_reach the same
    over all customers. event_share = the segment's events on that touchpoint (channel) / all
    its events; overall_event_share the same over everybody. lift = event_share /
    overall_event_share (the media planner's index / 100: 1.5 means half again as much as
    average). lift_ci_lower, lift_ci_upper: its 95% interval, the delta method on log lift with
    customers as the unit (`lift_interval`; the segment's overlap with everybody counted).
    rank orders each segment's shown touchpoints (channels) by events, 1 = most used,
    ties by name. Touchpoints a segment never used have no row.
    Suppression: a segment with fewer than `min_group_size` customers, or a cell with fewer than
    `min_group_size` users, is blanked with its lift interval (complementary: per segment size
    across segments, per cell within each touchpoint/channel), its row kept with suppressed=True,
    after the shown rows of its segment and kind, ordered by name, with no rank (its place must
    not tell its events).
    Counts are ``Int64``.
    `by` as in `segment_profile`.

    Columns: segment, kind ('touchpoint' | 'channel'), value, customers, users, reach,
    overall_reach, event_share, overall_event_share, lift, lift_ci_lower, lift_ci_upper, rank,
    suppressed.
    """
    check_min_group_size(min_group_size)
    window = _window(start, end)
    _members(con, by)
    u = sql.run(con, "segment_usage", window)
    cols = ["segment", "kind", "value", "customers", "users", "reach", "overall_reach", "event_share",
            "overall_event_share", "lift", "lift_ci_lower", "lift_ci_upper", "rank", "suppressed"]
    if u.empty:
        return pd.DataFrame(columns=cols)
    u = _lift_intervals(con, u, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        u["reach"] = u["users"] / u["customers"]
        u["overall_reach"] = u["overall_users"] / u["overall_customers"]
        u["event_share"] = u["events"] / u["segment_events"]
        u["overall_event_share"] = u["overall_events"] / u["all_events"]
        u["lift"] = u["event_share"] / u["overall_event_share"]
    sizes = u.drop_duplicates("segment")[["segment", "customers"]]
    seg_hidden = suppress(sizes, n="customers", values=[], min_group_size=min_group_size)
    hidden_segments = set(seg_hidden.loc[seg_hidden["suppressed"], "segment"])
    in_hidden = u["segment"].isin(hidden_segments).to_numpy()
    # Each touchpoint's (channel's) users add up over the segments to its overall users.
    out = suppress(u, n="users", values=["reach", "event_share", "lift", "lift_ci_lower", "lift_ci_upper"],
                   min_group_size=min_group_size, within=["kind", "value"], hidden=in_hidden)
    # Order and rank from visible rows only: a hidden row's place would tell its events.
    out = order_published(out, by=["events"], ascending=False, keys=["value"], groups=["segment", "kind"])
    shown = ~out["suppressed"]
    out["rank"] = out[shown].groupby(["segment", "kind"]).cumcount().add(1).astype("Int64")
    out["customers"] = out["customers"].astype("Int64").mask(out["segment"].isin(hidden_segments))
    return out[cols].reset_index(drop=True)


def personalisation_cues(
    con: duckdb.DuckDBPyConnection,
    *,
    by,
    top: int = 3,
    min_lift: float = 1.2,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """For each segment, the touchpoints and channels it uses clearly more than average.

    *Definition*: from `segment_usage`: the visible cells with lift >= `min_lift` whose 95%
    interval (`lift_interval`, customers the unit) lies above 1, so that a cue is not noise, the
    `top` highest lifts per segment and kind (ties by name); `cue` says it in words, e.g. "uses
    app 2.1x as much as average (95% interval 1.8-2.4; reach 64% vs 30%)". A suppressed segment
    keeps one row per kind with suppressed=True and no values. A segment whose use is close to
    average, or not clearly above it, has no cue row.

    Columns: segment, kind, value, reach, overall_reach, lift, lift_ci_lower, lift_ci_upper, cue,
    suppressed.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise CxInputError(f"top must be a whole number of at least 1, got {top!r}")
    if isinstance(min_lift, bool) or not isinstance(min_lift, (int, float)) or min_lift <= 0:
        raise CxInputError(f"min_lift must be a positive number such as 1.2 (20% above average), got {min_lift!r}")
    u = segment_usage(con, by=by, start=start, end=end, min_group_size=min_group_size)
    cols = ["segment", "kind", "value", "reach", "overall_reach", "lift", "lift_ci_lower", "lift_ci_upper", "cue",
            "suppressed"]
    if u.empty:
        return pd.DataFrame(columns=cols)
    visible = u[~u["suppressed"] & (u["lift"] >= min_lift) & (u["lift_ci_lower"] > 1)]
    # equal lifts (up to float noise) rank by name
    visible = visible.assign(_lift=visible["lift"].round(9)).sort_values(
        ["segment", "kind", "_lift", "value"], ascending=[True, True, False, True])
    picked = visible.groupby(["segment", "kind"]).head(top).copy()
    picked["cue"] = [
        f"uses {v} {lift:.1f}x as much as average (95% interval {lo:.1f}-{hi:.1f}; reach {r:.0%} vs {o:.0%})"
        for v, lift, lo, hi, r, o in zip(picked["value"], picked["lift"], picked["lift_ci_lower"],
                                         picked["lift_ci_upper"], picked["reach"], picked["overall_reach"])
    ]
    fully_hidden = u.groupby("segment")["customers"].apply(lambda c: c.isna().all())
    hidden_rows = pd.DataFrame(
        [{"segment": seg, "kind": kind, "value": None, "reach": np.nan, "overall_reach": np.nan, "lift": np.nan,
          "lift_ci_lower": np.nan, "lift_ci_upper": np.nan, "cue": None, "suppressed": True}
         for seg in fully_hidden[fully_hidden].index for kind in ("channel", "touchpoint")],
        columns=cols,
    )
    parts = [p for p in (picked[cols], hidden_rows) if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out.sort_values(["segment", "kind"], kind="stable").reset_index(drop=True)
