"""Friction points: touchpoints after which customers fail to take the expected next step more often
than on the touchpoint's other channels, with their ratings.

Definition: docs/metrics.md (friction).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib import sql
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey.common import _check_touchpoints, _date_bounds, _horizon, _ratio, parse_window
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

COLUMNS = ["touchpoint", "channel", "stage", "expects", "occurrences", "customers", "dropped_off", "dropoff_rate",
           "dropoff_lower", "dropoff_upper", "baseline", "baseline_n", "baseline_rate", "excess", "excess_lower",
           "excess_upper", "p_value", "flagged", "csat_n", "csat", "ces_n", "ces", "dissatisfaction",
           "friction_score", "suppressed"]


def _check_goal(con, goal) -> list[list[str]]:
    """The goal's steps as lists of touchpoints (a step may be a set of touchpoints), checked."""
    if goal is None:
        return []
    if isinstance(goal, str) or not isinstance(goal, Sequence):
        raise CxInputError(f"goal must be a list of funnel steps, e.g. ['product_page', 'checkout', 'payment'], "
                           f"got {goal!r}")
    steps = [sorted({s} if isinstance(s, str) else set(s)) for s in goal]
    if len(steps) < 2 or any(not s for s in steps):
        raise CxInputError(f"goal needs at least 2 non-empty steps (the last is the goal itself), got {goal!r}")
    flat = [t for s in steps for t in s]
    if len(set(flat)) != len(flat):
        raise CxInputError(f"goal {goal!r} uses a touchpoint in two steps: each touchpoint may be one step only")
    _check_touchpoints(con, sorted(set(flat)), name="goal")
    return steps


def _baselines(out: pd.DataFrame) -> pd.DataFrame:
    """Each shown row's baseline, pooled from the other shown rows (a hidden row never enters it)."""
    shown = out[~out["suppressed"]]
    occ = shown["occurrences"].astype(float)
    drop = shown["dropped_off"].astype(float)
    tp_n = occ.groupby(shown["touchpoint"]).transform("sum")
    tp_d = drop.groupby(shown["touchpoint"]).transform("sum")
    tp_channels = shown.groupby("touchpoint")["channel"].transform("count")
    one_channel_store = len(shown) > 0 and int(tp_channels.max()) == 1
    base_n = pd.Series(np.where(tp_channels > 1, tp_n - occ, np.nan), index=shown.index)
    base_d = pd.Series(np.where(tp_channels > 1, tp_d - drop, np.nan), index=shown.index)
    label = pd.Series(np.where(tp_channels > 1, "other channels", None), index=shown.index, dtype=object)
    if one_channel_store and len(shown) > 1:  # no touchpoint on two channels: compare with the other touchpoints
        base_n, base_d = occ.sum() - occ, drop.sum() - drop
        label[:] = "other touchpoints"
    res = pd.DataFrame({"baseline": label, "baseline_n": base_n, "baseline_dropped": base_d}).reindex(out.index)
    res.loc[res["baseline_n"].fillna(0) <= 0, ["baseline", "baseline_n", "baseline_dropped"]] = [None, np.nan, np.nan]
    return res


def friction(
    con: duckdb.DuckDBPyConnection,
    *,
    gap: str | timedelta = "30 minutes",
    goal: Sequence[str | Sequence[str]] | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Friction points: touchpoints (per channel) after which customers fail to take the expected next
    step more often than on the same touchpoint's other channels.

    *Definition*: an occurrence of a touchpoint is followed by a *drop-off* when the customer does
    not take the **expected next step** within `gap` (default 30 minutes, the usual web-analytics
    session timeout; exactly at the limit is in time):

    - with a `goal` (a funnel: steps in order, each a touchpoint or a set of touchpoints), the
      expected next step after a step-k touchpoint is any event of a later step within `gap`;
      touchpoints of the last step (the goal) and touchpoints outside the goal are not judged;
    - without a goal, from the stage map (awareness, consideration, purchase, service, loyalty): the
      customer's next event, within `gap`, of the same or a later stage (a step back to an earlier
      stage is a drop-off; a next event without a stage is in time); touchpoints of the last stage
      (loyalty) are natural ends and not judged; a touchpoint without a stage expects any next
      event within `gap` (``expects`` says which rule a row follows).

    Occurrences less than `gap` before the end of the data are not judged (censored).
    ``dropoff_rate`` = dropped_off / occurrences with a 95% Wilson interval. Each row is compared
    with its **baseline**: the same touchpoint on the other shown channels, pooled (on a store where
    no touchpoint is on two channels: all other shown touchpoints; a touchpoint seen on one channel
    of a multi-channel store has none, as whether its journeys should go on is not known).
    ``excess`` = dropoff_rate - baseline_rate with a 95% Newcombe (Wilson score) interval,
    ``p_value`` from the two-proportion z-test (pooled), ``flagged`` = excess_lower > 0.
    Occurrences are counted as independent (a customer may add many). ``friction_score`` =
    ``excess_lower``: the extra drop-off the data supports at 95%. Ratings (``csat``, ``ces``,
    ``dissatisfaction`` = 1 - CSAT, or (7 - mean CES) / 6 without CSAT; blank below `min_group_size`
    answers) are shown beside, not ranked on.

    Order: rows with a baseline by friction_score, worst first; then rows without a baseline by
    dropoff_rate; ties by touchpoint, then channel. A row of fewer than `min_group_size` customers
    is suppressed (no complement: a customer is in many rows), left out of every baseline, and comes
    last. No judged occurrence at all: `CxDataError`.

    Returns ``touchpoint, channel, stage, expects, occurrences, customers, dropped_off, dropoff_rate,
    dropoff_lower, dropoff_upper, baseline, baseline_n, baseline_rate, excess, excess_lower,
    excess_upper, p_value, flagged, csat_n, csat, ces_n, ces, dissatisfaction, friction_score,
    suppressed``.
    """
    gap_s = parse_window(gap, name="gap", allow_none=False)
    check_min_group_size(min_group_size)
    steps = _check_goal(con, goal)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "friction", {"start": lo, "end": hi, "gap_seconds": gap_s, "horizon": _horizon(con, hi),
                                    "goal": steps})
    if out.empty:
        raise CxDataError("friction: no occurrence to judge: no event in the range has an expected next step "
                          "(events of the goal's earlier steps, or of a stage before the last) at least "
                          f"{gap} before the end of the data")
    out["dropoff_rate"] = _ratio(out["dropped_off"], out["occurrences"])
    out["dropoff_lower"], out["dropoff_upper"] = wilson_bounds(out["dropped_off"], out["occurrences"])
    out["csat"] = out["csat"].astype(float).where(out["csat_n"] >= min_group_size)
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out["dissatisfaction"] = (1 - out["csat"]).fillna((7 - out["ces"]) / 6)
    # A customer visits many touchpoints: the rows add up to nothing published, so no complement.
    out = suppress(out, n="customers",
                   values=["occurrences", "dropped_off", "dropoff_rate", "dropoff_lower", "dropoff_upper", "csat",
                           "ces", "dissatisfaction"],
                   min_group_size=min_group_size, margins=[])
    base = _baselines(out)
    out["baseline"], out["baseline_n"] = base["baseline"], base["baseline_n"]
    out["baseline_rate"] = _ratio(base["baseline_dropped"], base["baseline_n"])
    b_lo, b_hi = wilson_bounds(base["baseline_dropped"].fillna(0), base["baseline_n"].fillna(0))
    p1, p2 = out["dropoff_rate"], out["baseline_rate"]
    out["excess"] = p1 - p2
    # Newcombe's hybrid score interval (method 10) for the difference of two independent proportions
    out["excess_lower"] = out["excess"] - np.sqrt((p1 - out["dropoff_lower"]) ** 2 + (b_hi - p2) ** 2)
    out["excess_upper"] = out["excess"] + np.sqrt((out["dropoff_upper"] - p1) ** 2 + (p2 - b_lo) ** 2)
    n1, n2 = out["occurrences"].astype(float), out["baseline_n"].astype(float)
    pooled = (out["dropped_off"].astype(float) + base["baseline_dropped"]) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (out["excess"] / se.where(se > 0)).astype(float)
    out["p_value"] = pd.Series(2 * stats.norm.sf(np.abs(z)), index=out.index).where(z.notna())
    out.loc[se.eq(0) & out["excess"].notna(), "p_value"] = 1.0  # both rates 0, or both 1: no difference
    out["flagged"] = (out["excess_lower"] > 0).fillna(False).astype(bool)
    out["friction_score"] = out["excess_lower"]
    out["baseline_n"] = out["baseline_n"].astype("Int64")
    untested = out["dropoff_rate"].where(out["friction_score"].isna())  # orders the rows without a baseline
    out = out.assign(_untested=untested).sort_values(
        ["suppressed", "friction_score", "_untested", "touchpoint", "channel"],
        ascending=[True, False, False, True, True], na_position="last", kind="stable")
    return out[COLUMNS].reset_index(drop=True)
