"""Paths: directly-follows transitions, path variants, the step matrix, paths to and from a touchpoint, and
the journey map by stage.

Definitions: docs/metrics.md (transitions, paths).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey.common import (
    LEVELS,
    _check_choice,
    _check_int,
    _check_touchpoints,
    _date_bounds,
    _horizon,
    _seconds_to_timedelta,
    _segment,
    _to_lists,
)
from cxlib.errors import CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.privacy.suppression import order_published


def _by_params(con, by, hi) -> tuple[dict, dict]:
    """Parameters and slot for a breakdown of the path queries: None, a customers column or 'nps_group'."""
    by_mode, slot = _segment(con, by)
    return {"by_mode": by_mode, "horizon": _horizon(con, hi)}, {"segment": slot}


def _finish(out: pd.DataFrame, by) -> pd.DataFrame:
    """Without `by` the frame is today's (no segment column); with it, segment first."""
    out = out.reset_index(drop=True)
    return out.drop(columns="segment") if by is None else out


# Distinct customers per pair and leaving a source: filtered counts on the stored flags, else DISTINCT counts.
_COUNT_FIRST = sql.Ident("count(*) FILTER (WHERE is_first)")
_COUNT_DISTINCT = sql.Ident("count(DISTINCT customer_id)")
_FLAGS = {"touchpoint": ("e.first_pair", "e.first_source"), "stage": ("e.first_stage_pair", "e.first_stage_source")}


def _customer_count(con, level: str, *, ranged: bool) -> dict[str, sql.Ident]:
    """The slots {first}, {first_source}, {customers} and {leaving} of transitions.sql: the stored
    first-pair and first-source flags of events_ordered when they answer the question (no date range,
    and the table, or a view rebuilt over filtered rows, has them; a store of an earlier version may
    not), else exact DISTINCT counts."""
    if not ranged:
        have = {d[0] for d in con.execute("SELECT * FROM events_ordered LIMIT 0").description}
        if {"first_pair", "first_stage_pair", "first_source", "first_stage_source"} <= have:
            first, first_source = _FLAGS[level]
            return {"first": sql.Ident(first), "first_source": sql.Ident(first_source), "customers": _COUNT_FIRST,
                    "leaving": sql.Ident("FALSE")}
    no_flag = sql.Ident("CAST(NULL AS BOOLEAN)")  # typed: Spark's FILTER (WHERE ...) needs a BOOLEAN, not a bare NULL
    return {"first": no_flag, "first_source": no_flag, "customers": _COUNT_DISTINCT, "leaving": sql.Ident("TRUE")}


def _hidden_sources(raw: pd.DataFrame, min_group_size: int) -> pd.Index:
    """The (segment, source) groups whose ``source_customers`` must not be shown: below `min_group_size`,
    or workable out from the other segments and the table without `by` (complementary suppression of the
    segments of each source, which add up to the source's customers)."""
    leaving = raw.drop_duplicates(["segment", "source"])[["segment", "source", "source_customers"]]
    leaving = suppress(leaving, n="source_customers", values=[], min_group_size=min_group_size,
                       margins=[["source"]])
    return leaving.loc[leaving["suppressed"]].set_index(["segment", "source"]).index


def transitions(
    con: duckdb.DuckDBPyConnection,
    *,
    start=None,
    end=None,
    level: str = "touchpoint",
    by: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Directly-follows transitions between consecutive events of each customer.

    *Definition*: for each customer's time-ordered events (``events_ordered``), every consecutive
    pair (event, next event) with both events in `start`..`end` is one transition from
    ``source`` to ``target``. ``transitions`` counts pairs, ``customers`` the distinct customers
    making them, ``median_duration`` is the median time between the two events (a Timedelta).
    ``level='stage'`` maps touchpoints to stages and keeps only pairs where the stage changes (the
    stage sequence with repeats collapsed), which is what a stage flow (Sankey) shows.
    `by`: a customers column or 'nps_group' (latest relationship NPS answer: promoter, passive,
    detractor, 'no_response'). Pairs made by fewer than `min_group_size` customers are suppressed;
    with `by`, the segments of a pair add up to the pair's customers without `by`, so suppression is
    complementary across the segments of each pair (a customer makes many pairs, so the pairs of a
    segment add up to nothing published). Order: segment, then the shown pairs by transitions
    (most first), then the suppressed pairs by source and target (never by a hidden count).

    ``source_customers`` = distinct customers (of the segment) with a pair from ``source``;
    ``share`` = customers / source_customers, the share of customers leaving ``source`` who went on
    to ``target`` (a customer counts once in each, so it is a binomial proportion of customers);
    ``share_lower``, ``share_upper``: its 95% Wilson score interval. The shares of a source add up
    to more than 1 when customers leave it for several targets. Blank when the pair is suppressed,
    and, with `by`, where the segments' ``source_customers`` of a source (which add up to the source's
    customers without `by`) need complementary suppression.

    Returns ``segment, source, target, transitions, customers, source_customers, share, share_lower,
    share_upper, median_duration, suppressed``.
    """
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    by_mode, slot = _segment(con, by)
    out = sql.run(
        con,
        "transitions",
        {"start": lo, "end": hi, "level": level, "by_mode": by_mode, "horizon": _horizon(con, hi)},
        {"segment": slot, **_customer_count(con, level, ranged=lo is not None or hi is not None)},
    )
    out["median_duration"] = _seconds_to_timedelta(out.pop("median_seconds"))
    out["share"] = out["customers"] / out["source_customers"]
    out["share_lower"], out["share_upper"] = wilson_bounds(out["customers"], out["source_customers"])
    out = out[["segment", "source", "target", "transitions", "customers", "source_customers", "share", "share_lower",
               "share_upper", "median_duration"]]
    hidden_sources = _hidden_sources(out, min_group_size) if by is not None else None
    out = suppress(out, n="customers", values=["transitions", "source_customers", "share", "share_lower",
                                               "share_upper", "median_duration"],
                   min_group_size=min_group_size, margins=[["source", "target"]])
    if hidden_sources is not None:
        rows = out.set_index(["segment", "source"]).index.isin(hidden_sources)
        out.loc[rows, ["source_customers", "share", "share_lower", "share_upper"]] = pd.NA
    return order_published(out, by=["transitions"], ascending=False, keys=["source", "target"], groups=["segment"])


def variants(
    con: duckdb.DuckDBPyConnection,
    *,
    top: int = 20,
    max_steps: int | None = None,
    level: str = "touchpoint",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    by: str | None = None,
) -> pd.DataFrame:
    """The most common journeys (path variants), as lists of touchpoints in time order.

    *Definition*: each customer's events in `start`..`end`, in time order, form one variant
    (``max_steps``: only the first N events; ``level='stage'``: the stages, with consecutive
    repeats collapsed). ``customers`` = customers whose journey is exactly that variant,
    ``share`` = customers / all customers with an event in the range. Ties in count are ordered
    by the variant itself, so the top list is the same on every run. ``share_lower``,
    ``share_upper``: the share's 95% Wilson score interval (each customer has exactly one variant,
    so customers with a variant are a binomial count out of the customers with an event).

    Returns ``variant`` (list of str), ``customers``, ``share``, ``share_lower``, ``share_upper``,
    ``suppressed``: the `top` most
    common; variants of fewer than `min_group_size` customers are suppressed (complementary: the
    variants add up to all customers, which the shares reveal). Shown variants come first, most
    customers first; suppressed ones last, ordered by the variant alone.

    `by` (a customers column or 'nps_group': latest relationship NPS answer, as :func:`transitions`):
    everything above per segment (shares of the segment's customers, the `top` of each segment,
    suppression complementary within each segment), with a first column ``segment``. Without `by`
    the result has no ``segment`` column.
    """
    _check_int(top, "top")
    _check_int(max_steps, "max_steps", allow_none=True)
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    params, slots = _by_params(con, by, hi)
    out = sql.run(con, "variants", {"start": lo, "end": hi, "level": level, "max_steps": max_steps, "top": top,
                                    **params}, slots)
    out["variant"] = _to_lists(out["variant"])
    out["share_lower"], out["share_upper"] = wilson_bounds(out["customers"], out["total_customers"])
    out = out[["segment", "variant", "customers", "share", "share_lower", "share_upper"]]
    out = suppress(out, n="customers", values=["share", "share_lower", "share_upper"], min_group_size=min_group_size,
                   within=["segment"])
    out = order_published(out, by=["customers"], ascending=False, keys=["variant"], groups=["segment"])
    return _finish(out, by)


def step_matrix(
    con: duckdb.DuckDBPyConnection,
    *,
    max_steps: int = 8,
    level: str = "touchpoint",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    by: str | None = None,
) -> pd.DataFrame:
    """Step matrix: the share of customers whose k-th event is each touchpoint.

    *Definition*: positions count each customer's events in `start`..`end` from 1 in time order.
    ``share`` = customers whose event at ``position`` is ``node`` / all customers with an event in
    the range; customers with fewer events are in the row ``node='(ended)'``, so each position sums
    to 1. ``level='stage'`` uses the stage of each event (repeats not collapsed). Nodes of fewer than
    `min_group_size` customers are suppressed, complementary within each position (whose nodes add up
    to all customers). Within a position, shown nodes by customers (most first), then suppressed nodes
    by name. ``share_lower``, ``share_upper``: the share's 95% Wilson score interval (each customer
    is at one node of a position: a binomial proportion of customers).

    `by` (a customers column or 'nps_group'): one matrix per segment (shares of the segment's
    customers, each position of a segment summing to 1, suppression within segment and position),
    with a first column ``segment``; without `by` no ``segment`` column. The differences between two
    segments, with tests: :func:`step_matrix_diff`.

    Returns ``position, node, customers, share, share_lower, share_upper, suppressed``.
    """
    _check_int(max_steps, "max_steps")
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    params, slots = _by_params(con, by, hi)
    out = sql.run(con, "paths_step_matrix", {"start": lo, "end": hi, "level": level, "max_steps": max_steps,
                                             **params}, slots)
    out["share_lower"], out["share_upper"] = wilson_bounds(out["customers"], out["total"])
    out = out[["segment", "position", "node", "customers", "share", "share_lower", "share_upper"]]
    out = suppress(out, n="customers", values=["share", "share_lower", "share_upper"], min_group_size=min_group_size,
                   within=["segment", "position"])
    out = order_published(out, by=["customers"], ascending=False, keys=["node"], groups=["segment", "position"])
    return _finish(out, by)


def paths(
    con: duckdb.DuckDBPyConnection,
    touchpoint: str,
    *,
    direction: str = "from",
    steps: int = 3,
    top: int = 10,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    by: str | None = None,
) -> pd.DataFrame:
    """Paths from (or to) a chosen touchpoint.

    *Definition*: for each customer with `touchpoint` in `start`..`end`, take its first occurrence
    and the `steps` events right after it (``direction='from'``) or right before it
    (``direction='to'``), in time order, the touchpoint itself excluded; an empty list means the
    journey ended (or began) there. ``share`` = customers with that path / customers with the
    touchpoint, with its 95% Wilson score interval ``share_lower``, ``share_upper`` (each customer has
    one path). Paths of fewer than `min_group_size` customers are suppressed (complementary: the
    paths add up to the customers with the touchpoint); shown paths by customers (most first), then
    suppressed paths by the path alone.

    `by` (a customers column or 'nps_group'): per segment (shares of the segment's customers with
    the touchpoint, the `top` of each segment, suppression within each segment), with a first column
    ``segment``; without `by` no ``segment`` column.

    Returns ``path`` (list of str), ``customers``, ``share``, ``share_lower``, ``share_upper``,
    ``suppressed``: the `top` most common.
    """
    if not isinstance(touchpoint, str):
        raise CxInputError(f"touchpoint must be one touchpoint name, e.g. 'checkout', got {touchpoint!r}")
    touchpoint = _check_touchpoints(con, [touchpoint], name="touchpoint")[0]
    _check_choice(direction, ("from", "to"), "direction")
    _check_int(steps, "steps")
    _check_int(top, "top")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    params, slots = _by_params(con, by, hi)
    out = sql.run(con, "paths", {"touchpoint": touchpoint, "direction": direction, "steps": steps,
                                 "start": lo, "end": hi, "top": top, **params}, slots)
    out["path"] = _to_lists(out["path"])
    out["share_lower"], out["share_upper"] = wilson_bounds(out["customers"], out["total_customers"])
    out = out[["segment", "path", "customers", "share", "share_lower", "share_upper"]]
    out = suppress(out, n="customers", values=["share", "share_lower", "share_upper"], min_group_size=min_group_size,
                   within=["segment"])
    out = order_published(out, by=["customers"], ascending=False, keys=["path"], groups=["segment"])
    return _finish(out, by)


def journey_map(
    con: duckdb.DuckDBPyConnection,
    *,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    by: str | None = None,
) -> pd.DataFrame:
    """The journey map by stage: reach, time between stages and the rating of each stage.

    *Definition*: per stage (awareness, consideration, purchase, service, loyalty, in that order):
    ``customers`` who had an event of the stage in `start`..`end` and their ``share`` of all
    customers with an event; ``median_time_from_previous`` / ``p90_time_from_previous``: time from
    a customer's first event in the previous stage to their first event in this stage, over the
    ``gap_customers`` who reached the previous stage first (p90 by linear interpolation, as
    numpy's default); ``csat`` (share of 4-5) and ``ces`` (mean 1-7, higher = easier) of survey
    answers about the stage's touchpoints, blank when fewer than `min_group_size` answers. A stage
    reached by fewer than `min_group_size` customers is suppressed; stages overlap (a customer
    reaches several), so there is no complementary suppression. ``share_lower``, ``share_upper``:
    the share's 95% Wilson score interval (customers reaching the stage out of customers with an
    event, each customer counted once).

    `by` (a customers column or 'nps_group'): the map per segment (reach, shares, gaps and ratings of
    the segment's customers; a survey answer goes to the answering customer's segment), with a first
    column ``segment`` and the same suppression rules per row; without `by` no ``segment`` column.

    Returns ``stage, customers, share, share_lower, share_upper, gap_customers, median_time_from_previous,
    p90_time_from_previous, csat_n, csat, ces_n, ces, suppressed``.
    """
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    params, slots = _by_params(con, by, hi)
    out = sql.run(con, "stage_map", {"start": lo, "end": hi, **params}, slots)
    out["median_time_from_previous"] = _seconds_to_timedelta(out.pop("median_seconds"))
    out["p90_time_from_previous"] = _seconds_to_timedelta(out.pop("p90_seconds"))
    small_gap = out["gap_customers"] < min_group_size
    out.loc[small_gap, ["median_time_from_previous", "p90_time_from_previous"]] = pd.NaT
    out["csat"] = out["csat"].astype(float).where(out["csat_n"] >= min_group_size)
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out["share_lower"], out["share_upper"] = wilson_bounds(out["customers"], out["total_customers"])
    out = out[["segment", "stage", "customers", "share", "share_lower", "share_upper", "gap_customers",
               "median_time_from_previous", "p90_time_from_previous", "csat_n", "csat", "ces_n", "ces"]]
    out = suppress(out, n="customers", values=["share", "share_lower", "share_upper", "gap_customers",
                                               "median_time_from_previous",
                                               "p90_time_from_previous", "csat", "ces"],
                   min_group_size=min_group_size, margins=[])
    return _finish(out, by)
