"""How fast service tickets are resolved: the median with its interval, the share still open, and
the share in each resolution-time band, overall or by channel or category.

Definitions: docs/metrics.md ("Service responsiveness").
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.service.common import (
    DEFAULT_BANDS,
    as_counts,
    band_labels,
    check_bands,
    group_slot,
    median_ranks,
    window,
    with_wilson,
)
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

OPEN = "still open"


def median_bounds(con: duckdb.DuckDBPyConnection, counts: pd.DataFrame, slot: sql.Ident, params: dict) -> pd.DataFrame:
    """The order-statistic 95% interval of each group's median resolution time (see `median_ranks`).

    `counts` has grp and resolved; returns grp, median_hours_lower, median_hours_upper (NaN when
    a group has too few resolved tickets for the interval)."""
    picks = {g: median_ranks(int(n)) for g, n in zip(counts["grp"], counts["resolved"])}
    wanted = [f"{rank}:{g}" for g, r in picks.items() if r is not None for rank in r]
    found = sql.run(con, "service_resolution_ranks", {**params, "picks": wanted}, {"grp": slot}) \
        if wanted else pd.DataFrame(columns=["grp", "rank", "hours"])
    value = {(g, int(r)): h for g, r, h in zip(found["grp"], found["rank"], found["hours"])}
    rows = [(g, value.get((g, r[0]), math.nan) if r else math.nan, value.get((g, r[1]), math.nan) if r else math.nan)
            for g, r in picks.items()]
    return pd.DataFrame(rows, columns=["grp", "median_hours_lower", "median_hours_upper"])


def _band_counts(con, slot, params, limits) -> pd.DataFrame:
    """grp, band (label, or 'still open'), tickets: every band of every group, zeros included."""
    df = sql.run(con, "service_bands", {**params, "limits": limits}, {"grp": slot})
    labels = band_labels(limits)
    df["band"] = [labels[int(b)] if pd.notna(b) else OPEN for b in df["band"]]
    full = pd.MultiIndex.from_product([sorted(df["grp"].unique()), labels + [OPEN]], names=["grp", "band"])
    return df.groupby(["grp", "band"])["tickets"].sum().reindex(full, fill_value=0).reset_index()


def _named(df: pd.DataFrame, by: str | None) -> pd.DataFrame:
    return df.drop(columns="grp") if by is None else df.rename(columns={"grp": by})


def resolution_times(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    bands=DEFAULT_BANDS,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """How long tickets take to resolve, overall or by `by` ('channel' or 'category').

    *Definition*: tickets opened in `start`..`end` and by the store's as-of date (the horizon).
    Resolution time = resolved_at - opened_at, in hours, for tickets resolved by the horizon; a
    ticket not resolved by then is open (censored: it is counted in ``still_open`` and
    ``open_share``, never dropped). ``median_hours`` is the median over the resolved tickets, with
    a distribution-free 95% interval from order statistics (`median_ranks`; blank below 6 resolved
    tickets); with many tickets still open it understates the typical time, so read it with
    ``open_share``. ``share_over_<limit>h`` = tickets known to take longer than the last band
    limit (resolved after it, or open for longer than it at the horizon) / tickets. Rates carry
    95% Wilson intervals (0..1).
    Suppression: groups with fewer than `min_group_size` tickets (complementary).

    Columns: [by,] tickets, resolved, still_open, open_share (+ _lower, _upper), median_hours
    (+ _lower, _upper), share_over_<limit>h (+ _lower, _upper), suppressed.
    """
    check_min_group_size(min_group_size)
    limits = check_bands(bands)
    slot, params = group_slot(con, by), window(con, start, end)
    df = sql.run(con, "service_resolution", params, {"grp": slot})
    df = df.merge(median_bounds(con, df, slot, params), on="grp", how="left")
    top = _band_counts(con, slot, params, limits)
    top = top[top["band"] == band_labels(limits)[-1]].rename(columns={"tickets": "slow"})[["grp", "slow"]]
    df = df.merge(top, on="grp", how="left").fillna({"slow": 0})
    df = with_wilson(df, "still_open", "tickets", "open_share")
    slow = f"share_over_{limits[-1]:g}h"
    df = with_wilson(df, "slow", "tickets", slow)
    cols = ["grp", "tickets", "resolved", "still_open", "open_share", "open_share_lower", "open_share_upper",
            "median_hours", "median_hours_lower", "median_hours_upper", slow, f"{slow}_lower", f"{slow}_upper"]
    out = suppress(df[cols], n="tickets", values=cols[2:], min_group_size=min_group_size)
    return _named(as_counts(out, ["tickets", "resolved", "still_open"]), by).reset_index(drop=True)


def resolution_bands(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    bands=DEFAULT_BANDS,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """The share of tickets in each resolution-time band, overall or by `by` ('channel', 'category').

    *Definition*: bands from `bands` (hours; (24, 72) gives '0-24 h', '24-72 h', '> 72 h'). A
    resolved ticket falls in the band of resolved_at - opened_at (a time equal to a limit falls in
    the lower band); an open ticket already open longer than the last limit is in the last band
    (it is known to be slow); any other open ticket is 'still open' (its band is not known yet).
    share = tickets in the band / all tickets of the group, with a 95% Wilson interval (0..1).
    Suppression: on the group's tickets (fewer than `min_group_size`: the group's rows are hidden,
    complementary across groups).

    Columns: [by,] band, tickets, share, share_lower, share_upper, suppressed.
    """
    check_min_group_size(min_group_size)
    limits = check_bands(bands)
    slot, params = group_slot(con, by), window(con, start, end)
    df = _band_counts(con, slot, params, limits)
    df["group_tickets"] = df.groupby("grp")["tickets"].transform("sum")
    df = with_wilson(df, "tickets", "group_tickets", "share")
    totals = suppress(df.drop_duplicates("grp")[["grp", "group_tickets"]], n="group_tickets", values=[],
                      min_group_size=min_group_size)
    hidden = set(totals.loc[totals["suppressed"], "grp"])
    df["suppressed"] = df["grp"].isin(hidden)
    for col in ("tickets", "share", "share_lower", "share_upper"):
        df[col] = df[col].astype(float).where(~df["suppressed"])
    cols = ["grp", "band", "tickets", "share", "share_lower", "share_upper", "suppressed"]
    return _named(as_counts(df[cols], ["tickets"]), by).reset_index(drop=True)


def resolution_headline(times: pd.DataFrame) -> str:
    """One sentence on an overall `resolution_times` result: the median with its interval, the
    share beyond the last limit and the share still open."""
    if times is None or len(times) == 0 or pd.isna(times["tickets"].iloc[0]) or times["tickets"].iloc[0] == 0:
        return "No service tickets in the period selected"
    row = times.iloc[0]
    slow = next(c for c in times.columns if c.startswith("share_over_") and not c.endswith(("_lower", "_upper")))
    limit = slow.removeprefix("share_over_")
    if pd.isna(row["median_hours"]):
        median = "no ticket is resolved yet"
    else:
        ci = (f" (95% interval {row['median_hours_lower']:.0f} to {row['median_hours_upper']:.0f} h)"
              if pd.notna(row["median_hours_lower"]) else "")
        median = f"half of the resolved tickets took up to {row['median_hours']:.0f} hours{ci}"
    return (f"{row['tickets']:,.0f} tickets: {median}; {row[slow]:.0%} took longer than {limit.rstrip('h')} hours; "
            f"{row['open_share']:.1%} are still open")
