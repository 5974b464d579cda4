"""Why did NPS change? The change between two periods split into a shift in the mix of segments and
change within segments (the Kitagawa shift-share decomposition), with bootstrap intervals.

Definitions: docs/metrics.md ("What moved", decomposition).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from cxlib.analysis.service.common import as_counts
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

__all__ = ["decomposition_headline", "kitagawa", "nps_decomposition"]

PERIODS = ("week", "month", "quarter")
ALL = "all"


def kitagawa(n0, p0, d0, n1, p1, d1) -> tuple[np.ndarray, np.ndarray]:
    """Per segment (last axis) the mix and within contributions to the NPS change, in points.

    *Definition* (Kitagawa 1955, the symmetric two-factor decomposition): with w = a segment's
    share of the period's answers and s = its NPS, NPS_1 - NPS_0 = sum of mix + within exactly, where
    mix_g = (w_g1 - w_g0) (s_g0 + s_g1) / 2 and within_g = (s_g1 - s_g0) (w_g0 + w_g1) / 2.
    A segment without answers in one period takes its score from the other (its change is all mix).
    Arrays may carry leading axes (bootstrap draws)."""
    n0, n1 = np.asarray(n0, float), np.asarray(n1, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s0 = (np.asarray(p0) - np.asarray(d0)) / n0 * 100
        s1 = (np.asarray(p1) - np.asarray(d1)) / n1 * 100
        w0 = n0 / n0.sum(axis=-1, keepdims=True)
        w1 = n1 / n1.sum(axis=-1, keepdims=True)
    s0, s1 = np.where(n0 > 0, s0, np.where(n1 > 0, s1, 0.0)), np.where(n1 > 0, s1, np.where(n0 > 0, s0, 0.0))
    return (w1 - w0) * (s0 + s1) / 2, (s1 - s0) * (w0 + w1) / 2


def _counts(con, by: str, period: str, periods, start, end) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """Promoters, detractors and answers per segment in the two periods compared (wide: _0 before, _1 after)."""
    from cxlib.analysis.voc.scores import nps

    df = nps(con, by=by, period=period, start=start, end=end, min_group_size=1)
    df["period"] = pd.to_datetime(df["period"])
    totals = df.groupby("period")["n"].sum()
    if periods is None:
        shown = sorted(totals.index)
        if len(shown) < 2:
            raise CxDataError(f"an NPS decomposition needs NPS answers in two {period}s; the data give {len(shown)}")
        before, after = shown[-2], shown[-1]
    else:
        before, after = (pd.Timestamp(p) for p in periods)
        for p in (before, after):
            if p not in totals.index:
                raise unknown_name("period", f"{p:%Y-%m-%d}", "the periods with NPS answers",
                                   [f"{q:%Y-%m-%d}" for q in totals.index])
    wide = df[df["period"].isin([before, after])].pivot_table(
        index="segment", columns="period", values=["n", "promoters", "detractors"], aggfunc="sum", fill_value=0)
    wide.columns = [f"{name}_{0 if p == before else 1}" for name, p in wide.columns]
    wide = wide.reindex(columns=[f"{c}_{k}" for c in ("n", "promoters", "detractors") for k in (0, 1)], fill_value=0)
    return wide.reset_index(), before, after


def _draws(w: pd.DataFrame, bootstrap: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap mix and within contributions: each period's answers resampled (multinomial over segment x
    promoter / passive / detractor cells, the period's total fixed)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in (0, 1):
        p, d, n = (w[f"{c}_{k}"].to_numpy(float) for c in ("promoters", "detractors", "n"))
        cells = np.column_stack([p, n - p - d, d]).ravel()
        draw = rng.multinomial(int(n.sum()), cells / cells.sum(), size=bootstrap).reshape(bootstrap, len(w), 3)
        out.append((draw.sum(axis=2), draw[:, :, 0], draw[:, :, 2]))
    (n0, p0, d0), (n1, p1, d1) = out
    return kitagawa(n0, p0, d0, n1, p1, d1)


def nps_decomposition(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str,
    period: str = "month",
    periods=None,
    start=None,
    end=None,
    bootstrap: int = 1000,
    seed: int = 0,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """The NPS change between two periods, split into segment mix and change within segments.

    *Definition*: `periods` = (before, after) period starts, or the two latest `period`s with NPS
    answers. Per segment of `by` (a customer attribute, or the answer's touchpoint/channel; a blank
    value is '(none)'): its share of the period's NPS answers and its NPS in each period, and its
    contributions (`kitagawa`): ``mix`` (the change its share made) and ``within`` (the change of its
    own NPS). Summed over segments, mix + within = the overall NPS change exactly (row 'all').
    95% intervals: percentiles of `bootstrap` resamples of each period's answers (seeded).
    Suppression: a segment with fewer than `min_group_size` answers in either period has its row
    blanked (complementary); the 'all' row, which includes it, stays.

    Columns: segment, n_before, n_after, share_before, share_after, nps_before, nps_after, mix,
    mix_lower, mix_upper, within, within_lower, within_upper, suppressed; attrs['periods'] =
    (before, after).
    """
    if period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 100:
        raise CxInputError(f"bootstrap must be a whole number of at least 100, got {bootstrap!r}")
    check_min_group_size(min_group_size)
    w, before, after = _counts(con, by, period, periods, start, end)
    mix, within = kitagawa(w["n_0"], w["promoters_0"], w["detractors_0"], w["n_1"], w["promoters_1"],
                           w["detractors_1"])
    mix_b, within_b = _draws(w, bootstrap, seed)
    rows = pd.DataFrame({"segment": w["segment"], "n_before": w["n_0"], "n_after": w["n_1"],
                         "share_before": w["n_0"] / w["n_0"].sum(), "share_after": w["n_1"] / w["n_1"].sum(),
                         "nps_before": (w["promoters_0"] - w["detractors_0"]) / w["n_0"].where(w["n_0"] > 0) * 100,
                         "nps_after": (w["promoters_1"] - w["detractors_1"]) / w["n_1"].where(w["n_1"] > 0) * 100})
    total = {"segment": ALL, "n_before": w["n_0"].sum(), "n_after": w["n_1"].sum(), "share_before": 1.0,
             "share_after": 1.0,
             "nps_before": (w["promoters_0"].sum() - w["detractors_0"].sum()) / w["n_0"].sum() * 100,
             "nps_after": (w["promoters_1"].sum() - w["detractors_1"].sum()) / w["n_1"].sum() * 100}
    rows = pd.concat([rows, pd.DataFrame([total])], ignore_index=True)
    for name, point, draws in (("mix", mix, mix_b), ("within", within, within_b)):
        rows[name] = np.append(point, point.sum())
        full = np.column_stack([draws, draws.sum(axis=1)])
        rows[f"{name}_lower"], rows[f"{name}_upper"] = np.percentile(full, [2.5, 97.5], axis=0)
    return _with_periods(_suppressed(rows, min_group_size), before, after)


def _suppressed(rows: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    values = [c for c in rows.columns if c != "segment"]
    segments = rows[rows["segment"] != ALL].assign(n_min=lambda d: d[["n_before", "n_after"]].min(axis=1))
    hidden = suppress(segments, n="n_min", values=values, min_group_size=min_group_size).drop(columns="n_min")
    out = pd.concat([hidden, rows[rows["segment"] == ALL].assign(suppressed=False)], ignore_index=True)
    out[values] = out[values].astype(float)
    return as_counts(out, ["n_before", "n_after"])


def _with_periods(df: pd.DataFrame, before, after) -> pd.DataFrame:
    df.attrs["periods"] = (before, after)
    return df


def decomposition_headline(decomposition: pd.DataFrame, *, by: str) -> str:
    """One sentence on an `nps_decomposition` result: the change, and how much came from the mix of
    segments and how much from change within them, each with its interval."""
    total = decomposition[decomposition["segment"] == ALL].iloc[0]
    before, after = decomposition.attrs.get("periods", (None, None))
    dates = (f" ({before:%Y-%m-%d})", f" ({after:%Y-%m-%d})") if before is not None else ("", "")
    change = total["nps_after"] - total["nps_before"]

    def part(name: str) -> str:
        return (f"{total[name]:+.1f} (95% interval {total[name + '_lower']:+.1f} to {total[name + '_upper']:+.1f})")

    chance = [n for n in ("mix", "within") if total[f"{n}_lower"] <= 0 <= total[f"{n}_upper"]]
    note = "; neither part is beyond chance" if len(chance) == 2 else ""
    return (f"NPS went from {total['nps_before']:.1f}{dates[0]} to {total['nps_after']:.1f}{dates[1]}, "
            f"{change:+.1f} points: "
            f"{part('mix')} from a different mix of customers across {by} and {part('within')} from change within "
            f"each {by}{note}")
