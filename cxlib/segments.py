"""Segments: profiles by any customer attribute, RFM, behavioural clusters, personalisation cues.

Heavy work runs in DuckDB (cxlib/sql/segment_*.sql, rfm*.sql, cluster_*.sql). A segmentation is
first written to the connection's temporary table ``cx_segment_members(customer_id, segment)``
(from a customers column, from RFM, or from a caller's assignment frame), and the profile and
usage queries read that one relation; temporary tables work on read-only connections and never
touch the store file. Intervals are cxlib.voc's (`nps_interval`, `wilson_interval`,
`t_interval`), so a segment's NPS here is the number the voice-of-customer notebook shows.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from . import sql
from .errors import CxDataError, CxInputError, CxWarning
from .features import customer_features, to_timestamp
from .privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from .store import as_of as store_as_of
from .voc import MISSING_SEGMENT, nps_interval, nps_se, t_interval, wilson_interval

__all__ = [
    "RFM_SEGMENTS",
    "BehaviourClusters",
    "behaviour_clusters",
    "export_segments",
    "personalisation_cues",
    "rfm_grid",
    "rfm_scores",
    "rfm_segments",
    "segment_profile",
    "segment_usage",
]

# Named RFM segments in the order reports list them (best first), then customers without orders.
RFM_SEGMENTS = (
    "champions",
    "loyal customers",
    "potential loyalists",
    "new customers",
    "promising",
    "need attention",
    "about to sleep",
    "cannot lose them",
    "at risk",
    "hibernating",
    "lost",
    "no purchase",
)
PROFILE_METRICS = ("revenue_per_customer", "nps", "csat", "ces", "churn_rate")
_NOT_ATTRIBUTES = ("customer_id", "signup_at")
_ONE_TICK = timedelta(microseconds=1)


# --------------------------------------------------------------------------- shared plumbing


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
    """z = diff / sqrt(se1^2 + se2^2) (DESIGN.md) and its two-sided normal p-value."""
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
    # An empty segment (a named RFM segment nobody is in) hides nobody: it neither counts as
    # suppressed nor triggers a complement; it shows customers 0 and no scores.
    empty = (df["customers"] == 0).to_numpy()
    df = df.assign(customers=np.where(empty, min_group_size, df["customers"]))
    out = suppress(df, n="customers", values=values, min_group_size=min_group_size)
    out.loc[empty, "customers"] = 0
    out.loc[empty, "suppressed"] = False
    out.loc[empty, values] = np.nan
    out["customers"] = out["customers"].astype("Int64")
    # Scores from fewer than min_group_size answers are blanked too (the segment itself shows).
    for metric in ("nps", "csat", "ces"):
        few = out[f"{metric}_n"].fillna(0) < min_group_size
        for col in (metric, f"{metric}_ci_lower", f"{metric}_ci_upper"):
            out.loc[few, col] = np.nan
    return out


# --------------------------------------------------------------------------- segment profile


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
      in [start, end) from the segment's customers, as cxlib.voc counts them, with voc's
      intervals (NPS multinomial Wald, Wilson, t).
    - churn_rate (share 0..1) from cxlib.churn.churn_rate with `churn_definition` and
      `inactivity_days`, Wilson interval, judged at the store's as-of date (start/end do not
      apply); n = the judged customers. Only when `by` is a customers column (churn_rate groups
      by columns); when churn cannot be judged (e.g. contractual churn without subscriptions)
      the rows are left out with a CxWarning.
    Each segment is tested against the rest pooled (the other visible segments): z = diff /
    sqrt(SE1^2 + SE2^2) (DESIGN.md) with SE the multinomial NPS SE, sqrt(p(1-p)/n) for CSAT and
    churn, s/sqrt(n) for CES and revenue; two-sided normal p; Benjamini-Hochberg false discovery
    rate across the segments of each metric (statsmodels ``multipletests(method='fdr_bh')``);
    significant when p_adjusted < alpha. This is cxlib.voc.compare's test.
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


def _churn_rows(con, by, s: pd.DataFrame, *, churn_definition, inactivity_days) -> pd.DataFrame | None:
    """Churn rate per segment from cxlib.churn.churn_rate (None when it cannot be had)."""
    if not isinstance(by, str):
        return None
    from . import churn as churn_module

    churn_rate = getattr(churn_module, "churn_rate", None)
    if churn_rate is None:
        return None
    try:
        c = churn_rate(con, by=by, definition=churn_definition, inactivity_days=inactivity_days, min_group_size=1)
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
    # A segment hidden for its size counts as hidden here (n 0); a visible segment with no answers
    # at all hides nobody and shows NaN, so it does not trigger a complement.
    n_eff = np.where(seg_hidden, 0, np.where(n == 0, min_group_size, n))
    hidden = suppress(pd.DataFrame({"n": n_eff}), values=[], min_group_size=min_group_size)["suppressed"].to_numpy()
    hidden = hidden | seg_hidden
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


# --------------------------------------------------------------------------- usage and cues


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
    average). rank orders each segment's touchpoints (channels) by events, 1 = most used, ties
    by name. Touchpoints a segment never used have no row.
    Suppression: a segment with fewer than `min_group_size` customers, or a cell with fewer than
    `min_group_size` users, is blanked (complementary: per segment size across segments, per
    cell within each touchpoint/channel), its row kept with suppressed=True.
    `by` as in `segment_profile`.

    Columns: segment, kind ('touchpoint' | 'channel'), value, customers, users, reach,
    overall_reach, event_share, overall_event_share, lift, rank, suppressed.
    """
    check_min_group_size(min_group_size)
    window = _window(start, end)
    _members(con, by)
    u = sql.run(con, "segment_usage", window)
    cols = ["segment", "kind", "value", "customers", "users", "reach", "overall_reach", "event_share",
            "overall_event_share", "lift", "rank", "suppressed"]
    if u.empty:
        return pd.DataFrame(columns=cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        u["reach"] = u["users"] / u["customers"]
        u["overall_reach"] = u["overall_users"] / u["overall_customers"]
        u["event_share"] = u["events"] / u["segment_events"]
        u["overall_event_share"] = u["overall_events"] / u["all_events"]
        u["lift"] = u["event_share"] / u["overall_event_share"]
    u = u.sort_values(["segment", "kind", "events", "value"], ascending=[True, True, False, True])
    u["rank"] = u.groupby(["segment", "kind"]).cumcount() + 1
    sizes = u.drop_duplicates("segment")[["segment", "customers"]]
    seg_hidden = suppress(sizes, n="customers", values=[], min_group_size=min_group_size)
    hidden_segments = set(seg_hidden.loc[seg_hidden["suppressed"], "segment"])
    u["_users"] = np.where(u["segment"].isin(hidden_segments), 0, u["users"])
    cell = suppress(u[["kind", "value", "_users"]], n="_users", values=[], min_group_size=min_group_size,
                    within=["kind", "value"])
    hidden = cell["suppressed"].to_numpy() | u["segment"].isin(hidden_segments).to_numpy()
    out = u[cols[:-1]].copy()
    out["suppressed"] = hidden
    for col in ("users", "reach", "event_share", "lift", "rank"):
        out[col] = out[col].astype(float)
        out.loc[hidden, col] = np.nan
    out["customers"] = out["customers"].astype(float)
    out.loc[out["segment"].isin(hidden_segments), "customers"] = np.nan
    return out.reset_index(drop=True)


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

    *Definition*: from `segment_usage`: the visible cells with lift >= `min_lift`, the `top`
    highest lifts per segment and kind (ties by name); `cue` says it in words, e.g. "uses app
    2.1x as much as average (reach 64% vs 30%)". A suppressed segment keeps one row per kind
    with suppressed=True and no values. A segment whose use is close to average has no cue row.

    Columns: segment, kind, value, reach, overall_reach, lift, cue, suppressed.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise CxInputError(f"top must be a whole number of at least 1, got {top!r}")
    if isinstance(min_lift, bool) or not isinstance(min_lift, (int, float)) or min_lift <= 0:
        raise CxInputError(f"min_lift must be a positive number such as 1.2 (20% above average), got {min_lift!r}")
    u = segment_usage(con, by=by, start=start, end=end, min_group_size=min_group_size)
    cols = ["segment", "kind", "value", "reach", "overall_reach", "lift", "cue", "suppressed"]
    if u.empty:
        return pd.DataFrame(columns=cols)
    visible = u[~u["suppressed"] & (u["lift"] >= min_lift)]
    # equal lifts (up to float noise) rank by name
    visible = visible.assign(_lift=visible["lift"].round(9)).sort_values(
        ["segment", "kind", "_lift", "value"], ascending=[True, True, False, True])
    picked = visible.groupby(["segment", "kind"]).head(top).copy()
    picked["cue"] = [
        f"uses {v} {lift:.1f}x as much as average (reach {r:.0%} vs {o:.0%})"
        for v, lift, r, o in zip(picked["value"], picked["lift"], picked["reach"], picked["overall_reach"])
    ]
    fully_hidden = u.groupby("segment")["customers"].apply(lambda c: c.isna().all())
    hidden_rows = pd.DataFrame(
        [{"segment": seg, "kind": kind, "value": None, "reach": np.nan, "overall_reach": np.nan, "lift": np.nan,
          "cue": None, "suppressed": True}
         for seg in fully_hidden[fully_hidden].index for kind in ("channel", "touchpoint")],
        columns=cols,
    )
    parts = [p for p in (picked[cols], hidden_rows) if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out["suppressed"] = out["suppressed"].astype(bool)
    return out.sort_values(["segment", "kind"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- RFM


def rfm_scores(con: duckdb.DuckDBPyConnection, *, as_of=None) -> pd.DataFrame:
    """Recency, frequency and monetary scores per customer, and the named RFM segment.

    *Definition*: for customers signed up by `as_of` (default: the store's as-of date; a
    date-only string means the end of that day), from orders at or before `as_of`: recency_days = calendar days from the last order to `as_of`,
    frequency = orders, monetary = total amount. Scores 1-5 among customers with orders:
    score = 1 + floor(5 * (rank - 1) / n), rank = SQL RANK() over the value from worst to best
    (recency: most days first, so the most recent get 5; frequency, monetary: smallest first),
    n = customers with orders. These are equal-frequency quintiles of the ranking (like
    NTILE(5) / ``pd.qcut(x.rank(method='first'), 5)``) except that TIED VALUES SHARE THE SCORE of
    the first of them (``rank(method='min')``), so equal customers never get different scores;
    a large tie at the low end therefore leaves some scores unused.
    Customers with no orders get no scores and the segment 'no purchase'.
    rfm_cell = the three scores as text ('545'). Named segments from the R/F scores (the map
    of the widely used RFM segment grid, with 'lost' = R1 F1 split from hibernating):

        R 5, F 4-5: champions            R 3-4, F 4-5: loyal customers
        R 4-5, F 2-3: potential loyalists R 5, F 1: new customers     R 4, F 1: promising
        R 3, F 3: need attention          R 3, F 1-2: about to sleep
        R 1-2, F 5: cannot lose them      R 1-2, F 3-4: at risk
        R 1-2, F 1-2: hibernating, except R 1, F 1: lost

    Customer-level: for exports and modelling, never for stakeholder output as it is.

    Columns: customer_id, last_order_at, recency_days, frequency, monetary, r_score, f_score,
    m_score, rfm_cell, rfm_segment.
    """
    sql.run(con, "rfm", {"as_of": _cutoff(con, as_of)})
    df = sql.run(con, "rfm_customers")
    for col in ("recency_days", "r_score", "f_score", "m_score"):
        df[col] = df[col].astype("Int64")
    return df


def rfm_segments(
    con: duckdb.DuckDBPyConnection, *, as_of=None, min_group_size: int = MIN_GROUP_SIZE
) -> pd.DataFrame:
    """Each named RFM segment (see `rfm_scores`) with its size, typical R/F/M and CX scores.

    *Definition*: customers per segment and share of all customers; recency_days (median),
    frequency and monetary (means) of its customers; revenue_per_customer; NPS, CSAT, CES of
    every answer up to `as_of` by its customers, with cxlib.voc's intervals (scores from fewer
    than `min_group_size` answers are blanked). Segments with fewer than `min_group_size`
    customers are suppressed (complementary), rows kept. Every named segment and 'no purchase'
    has a row, in RFM_SEGMENTS order (empty segments with customers 0).

    Columns: segment, customers, share, recency_days, frequency, monetary, revenue_per_customer,
    nps_n, nps, nps_ci_lower, nps_ci_upper, csat_n, csat, csat_ci_lower, csat_ci_upper, ces_n,
    ces, ces_ci_lower, ces_ci_upper, suppressed.
    """
    check_min_group_size(min_group_size)
    cutoff = _cutoff(con, as_of)
    sql.run(con, "rfm", {"as_of": cutoff})
    sql.run(con, "rfm_members")
    summary = sql.run(con, "segment_summary", {"start": None, "end": cutoff + _ONE_TICK})
    extra = sql.run(con, "rfm_segments")
    # Every named segment gets a row, in the report order; an empty segment has 0 customers.
    summary = pd.DataFrame({"segment": list(RFM_SEGMENTS)}).merge(summary, on="segment", how="left")
    for col in ("customers", "revenue", "nps_n", "promoters", "passives", "detractors", "csat_n", "satisfied",
                "ces_n", "ces_easy"):
        summary[col] = summary[col].fillna(0).astype("int64")
    return _segment_table(summary, extra.drop(columns="customers"), min_group_size)


def rfm_grid(con: duckdb.DuckDBPyConnection, *, as_of=None, min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Customers per recency x frequency score cell with the cell's named segment.

    *Definition*: as in `rfm_scores`; customers without orders are not in the grid. Cells with
    fewer than `min_group_size` customers are suppressed (complementary), rows kept.

    Columns: r_score, f_score, segment, customers, suppressed.
    """
    check_min_group_size(min_group_size)
    sql.run(con, "rfm", {"as_of": _cutoff(con, as_of)})
    g = sql.run(con, "rfm_grid")
    g["customers"] = g["customers"].astype("int64")
    return suppress(g, n="customers", values=[], min_group_size=min_group_size)


# --------------------------------------------------------------------------- behavioural clusters

_COUNT_FEATURES = {
    "events": "activity (events)",
    "channels_used": "channels used",
    "channel_switches": "channel hand-offs",
    "stages_reached": "journey stages reached",
    "orders": "orders",
    "revenue": "spend",
    "tickets": "support tickets",
    "ticket_contacts": "support contacts",
}
_LEVEL_FEATURES = {
    "mean_resolution_hours": "ticket resolution time",
    "nps_score": "NPS rating",
    "mean_csat": "CSAT rating",
    "mean_ces": "ease rating (CES)",
}
_WORDS = {  # how to say "above / below average" for each count feature; rates and ratings: higher/lower
    "events": ("more", "less"),
    "revenue": ("more", "less"),
    "channels_used": ("more", "fewer"),
    "channel_switches": ("more", "fewer"),
    "stages_reached": ("more", "fewer"),
    "orders": ("more", "fewer"),
    "tickets": ("more", "fewer"),
    "ticket_contacts": ("more", "fewer"),
}


@dataclass(frozen=True)
class BehaviourClusters:
    """The result of `behaviour_clusters`.

    k, silhouette: the number of clusters and its mean silhouette.
    selection: k, silhouette for every k tried (one row when k was given).
    summary: segment ('cluster 1' is the largest), customers, share, description, then
      revenue_per_customer and NPS / CSAT / CES with intervals, suppressed.
    features: segment, feature, label, cluster_mean, overall_mean, z (the cluster's mean of the
      scaled feature: how many overall SDs it sits from the average).
    assignments: customer_id, segment (customer-level: for exports, not for stakeholders).
    """

    k: int
    silhouette: float
    selection: pd.DataFrame
    summary: pd.DataFrame
    features: pd.DataFrame
    assignments: pd.DataFrame


def _cluster_matrix(con, cutoff) -> tuple[pd.DataFrame, dict[str, str]]:
    """The raw per-customer features (customer_id index) and their plain-word labels."""
    f = customer_features(con, as_of=cutoff).set_index("customer_id")
    mix = sql.run(con, "cluster_mix", {"as_of": cutoff})
    ratings = sql.run(con, "cluster_ratings", {"as_of": cutoff}).set_index("customer_id")
    labels = dict(_COUNT_FEATURES) | dict(_LEVEL_FEATURES)
    cols = [c for c in _COUNT_FEATURES if c != "stages_reached"] + ["mean_resolution_hours", "nps_score"]
    x = f[cols].astype(float).join(ratings.astype(float))
    wide = mix.pivot_table(index="customer_id", columns=["kind", "value"], values="share", aggfunc="sum")
    for (kind, value) in sorted(wide.columns):
        name = f"{kind}_{value}"
        x[name] = wide[(kind, value)].reindex(x.index).fillna(0.0).astype(float)
        labels[name] = f"{value} channel use" if kind == "channel" else f"{value}-stage activity"
    stage_cols = [c for c in x.columns if c.startswith("stage_")]
    x["stages_reached"] = (x[stage_cols] > 0).sum(axis=1).astype(float) if stage_cols else 0.0
    return x, labels


def _scale(x: pd.DataFrame) -> pd.DataFrame:
    """Winsorised z-scores: missing values -> the column mean (neutral), each column clipped to
    its 1st-99th percentile (a few extreme customers do not make their own cluster), then
    standardised (population SD); columns without variation are dropped."""
    t = x.loc[:, x.notna().any()]
    t = t.fillna(t.mean())
    t = t.clip(t.quantile(0.01), t.quantile(0.99), axis=1)
    sd = t.std(ddof=0)
    t = t.loc[:, sd > 1e-12]
    return (t - t.mean()) / t.std(ddof=0)


def behaviour_clusters(
    con: duckdb.DuckDBPyConnection,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (3, 8),
    seed: int = 0,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
    silhouette_sample: int = 5000,
    fit_sample: int = 100_000,
) -> BehaviourClusters:
    """Behavioural clusters of customers, each described by what sets it apart.

    *Definition*: per customer signed up by `as_of` (features from DuckDB: customer_features,
    cluster_mix.sql, cluster_ratings.sql): events, channels used, channel hand-offs, journey
    stages reached, orders, spend, tickets, support contacts, mean resolution hours, NPS, mean
    CSAT and CES, and the share of the customer's events on each channel and each stage.
    A missing rating or resolution time takes the overall mean (neutral); each feature is
    clipped to its 1st-99th percentile and standardised (z-score); constant features are
    dropped. scikit-learn KMeans (n_init=10, random_state=`seed`: deterministic); with more
    than `fit_sample` customers it is fitted on a seeded random sample of that many and every
    customer is then assigned to the nearest centre.
    k: given, or the k in `k_range` (inclusive) with the highest mean silhouette (scikit-learn
    ``silhouette_score``, Euclidean, on a seeded sample of at most `silhouette_sample`
    customers); ties go to the smaller k. The default range starts at 3: on customer data
    k = 2 mostly splits buyers from non-buyers, which RFM already shows. Clusters are numbered
    by size, 'cluster 1' largest.
    Each cluster's description names its (up to) three features with the largest |z| (at
    least 0.3 SD from average), e.g. "more app channel use (+2.1 sd)".
    CX scores per cluster as in `rfm_segments`; clusters smaller than `min_group_size` are
    suppressed (complementary), rows kept.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    check_min_group_size(min_group_size)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise CxInputError(f"seed must be a whole number, got {seed!r}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 2):
        raise CxInputError(f"k must be a whole number of at least 2 (or None to choose by silhouette), got {k!r}")
    if k is None:
        if (not isinstance(k_range, (tuple, list)) or len(k_range) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in k_range)
                or not 2 <= k_range[0] <= k_range[1]):
            raise CxInputError(f"k_range must be two whole numbers (lowest, highest k) with 2 <= lowest <= highest, "
                               f"such as (2, 8); got {k_range!r}")
    for name, value in (("silhouette_sample", silhouette_sample), ("fit_sample", fit_sample)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 10:
            raise CxInputError(f"{name} must be a whole number of at least 10, got {value!r}")
    cutoff = _cutoff(con, as_of)
    raw, labels = _cluster_matrix(con, cutoff)
    raw = raw.sort_index()
    z = _scale(raw)
    n = len(z)
    tried = [k] if k is not None else list(range(k_range[0], k_range[1] + 1))
    if z.shape[1] == 0 or n <= max(tried):
        raise CxDataError(f"too little data to cluster: {n} customers and {z.shape[1]} varying features for "
                          f"k up to {max(tried)}; load more data or choose a smaller k")
    x = z.to_numpy()
    fits, scores = {}, []
    # One thread: on a shared machine OpenMP's many threads make KMeans 30x slower, not faster.
    # Many customers: fit on a seeded sample, then give every customer its nearest centre.
    fit_rows = (np.sort(np.random.default_rng(seed).choice(n, fit_sample, replace=False))
                if n > fit_sample else np.arange(n))
    with threadpool_limits(1):
        for kk in tried:
            km = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit(x[fit_rows])
            labels_k = km.predict(x) if len(fit_rows) < n else km.labels_
            fits[kk] = labels_k
            if len(set(labels_k)) < 2:
                sil = math.nan
            else:
                sil = float(silhouette_score(x, labels_k, sample_size=min(n, silhouette_sample),
                                             random_state=seed))
            scores.append({"k": kk, "silhouette": sil})
    selection = pd.DataFrame(scores)
    best = selection.dropna().sort_values(["silhouette", "k"], ascending=[False, True])
    chosen = int(best["k"].iloc[0]) if not best.empty else tried[0]
    raw_labels = fits[chosen]
    # Number clusters by size (largest first; ties by the smallest member id, deterministic).
    sizes = pd.Series(raw_labels).value_counts()
    first = pd.Series(np.arange(n)).groupby(raw_labels).min()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], first[c]))
    names = {c: f"cluster {i + 1}" for i, c in enumerate(order)}
    seg = pd.Series([names[c] for c in raw_labels], index=z.index, name="segment")
    assignments = seg.rename_axis("customer_id").reset_index()

    zmeans = z.groupby(seg).mean()
    raw_means = raw.groupby(seg).mean()
    overall = raw.mean()
    feats = []
    for s_name in zmeans.index:
        for col in z.columns:
            feats.append({"segment": s_name, "feature": col, "label": labels.get(col, col),
                          "cluster_mean": float(raw_means.loc[s_name, col]), "overall_mean": float(overall[col]),
                          "z": float(zmeans.loc[s_name, col])})
    features = pd.DataFrame(feats)
    descriptions = {s_name: _describe(g) for s_name, g in features.groupby("segment")}

    _members(con, assignments)
    summary = sql.run(con, "segment_summary", {"start": None, "end": cutoff + _ONE_TICK})
    extra = pd.DataFrame({"segment": list(descriptions), "description": list(descriptions.values())})
    table = _segment_table(summary, extra, min_group_size)
    table["_order"] = table["segment"].str.extract(r"(\d+)$")[0].astype(int)
    table = table.sort_values("_order").drop(columns="_order").reset_index(drop=True)
    hidden = set(table.loc[table["suppressed"], "segment"])
    features = features[~features["segment"].isin(hidden)].reset_index(drop=True)
    sil = float(selection.loc[selection["k"] == chosen, "silhouette"].iloc[0])
    return BehaviourClusters(k=chosen, silhouette=sil, selection=selection, summary=table, features=features,
                             assignments=assignments)


def _describe(g: pd.DataFrame) -> str:
    """The cluster's (up to) three most distinctive features in words."""
    g = g.assign(absz=g["z"].abs()).sort_values(["absz", "feature"], ascending=[False, True])
    g = g[g["absz"] >= 0.3].head(3)
    if g.empty:
        return "close to average on every feature"
    words = []
    for feature, label, z in zip(g["feature"], g["label"], g["z"]):
        more, less = _WORDS.get(feature, ("higher", "lower"))
        words.append(f"{more if z > 0 else less} {label} ({z:+.1f} sd)")
    return "; ".join(words)


# --------------------------------------------------------------------------- export


def export_segments(
    con: duckdb.DuckDBPyConnection, path, *, clusters: BehaviourClusters | None = None, as_of=None
):
    """Write each customer's RFM scores and segment (and cluster, when given) to CSV; returns the path.

    Customer-level, so it goes to a file for the teams who act on it, never into a report.
    Columns: the `rfm_scores` columns, then `cluster` when `clusters` is given (blank for a
    customer who was not clustered). Text cells that a spreadsheet would run as a formula are
    neutralised (cxlib.voc.neutralise_formulas). Parent folders are created.
    """
    from pathlib import Path

    from .voc import neutralise_formulas

    if clusters is not None and not isinstance(clusters, BehaviourClusters):
        raise CxInputError(f"clusters must be the result of behaviour_clusters, got {type(clusters).__name__}")
    if not isinstance(path, (str, Path)) or not str(path):
        raise CxInputError(f"path must be a file path such as 'exports/segments.csv', got {path!r}")
    df = rfm_scores(con, as_of=as_of)
    if clusters is not None:
        df = df.merge(clusters.assignments.rename(columns={"segment": "cluster"}), on="customer_id", how="left")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(df).to_csv(path, index=False)
    return path
