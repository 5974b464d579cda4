"""Funnels with PostHog's semantics: attempts from each step-1 event, a conversion window, ordered, strict or
any order, exclusions, breakdowns, and the customers who dropped at a step; and retentioneering's open,
closed and hybrid funnel types. A step may be a set of touchpoints, any of which fills it, or a touchpoint
on given channels (PostHog's step with a property filter).

Definition: docs/metrics.md (funnel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey.common import (
    FUNNEL_ORDERS,
    FUNNEL_TYPES,
    _check_choice,
    _check_touchpoints,
    _date_bounds,
    _horizon,
    _ratio,
    _seconds_to_timedelta,
    _segment,
    funnel_nps_groups,
    parse_window,
    stored_events,
)
from cxlib.errors import CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

STEP_KEYS = ("touchpoint", "channel")  # a dict step: PostHog's event + property filter (the property here: channel)


def _known_channels(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Channels that occur in the store's events (the stored table, as _known_touchpoints)."""
    return {r[0] for r in con.execute(f"SELECT DISTINCT channel FROM {stored_events(con)} "
                                      "WHERE channel IS NOT NULL").fetchall()}


def _names(value, *, step, what: str) -> list[str]:
    """A touchpoint or channel part of a dict step as a sorted list of names (text, or a set/list/tuple of text)."""
    members = [value] if isinstance(value, str) else list(value) if isinstance(value, (AbstractSet, list, tuple)) \
        else None
    if members is None:
        raise CxInputError(f"the {what} of the step {step!r} must be a name (text) or a list of names, got {value!r}")
    if not members:
        raise CxInputError(f"the {what} of the step {step!r} needs at least one name, got {value!r}")
    for v in members:
        if not isinstance(v, str):
            raise CxInputError(f"each {what} of the step {step!r} must be a name (text), got {v!r}")
    return sorted(set(members))


def _check_steps(con, steps, *, with_channels: bool = False):
    """The steps as lists of touchpoints (a plain touchpoint is a one-touchpoint step) and their labels
    (and, with `with_channels`, each step's channel filter: a list, empty = any channel).

    A step may be a set, frozenset, list or tuple of touchpoints: any of them fills the step. Its
    label is its touchpoints sorted and joined with " or " ("product1 or product2"). A step may also
    be a dict ``{"touchpoint": ..., "channel": ...}`` (PostHog's step = an event with property
    filters; here the property is the event's channel): a touchpoint (or a set of them) whose event
    fills the step only on one of the given channels (a name or a list); label "checkout (app)",
    several channels joined with " or ". Every touchpoint is checked against the store's events,
    every channel against the store's channels ("did you mean" error).
    """
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        raise CxInputError(
            f"steps must be a list of touchpoints, e.g. ['product_page', 'checkout'] (a step may be a set "
            f"of touchpoints, any of which fills it: ['catalog', {{'product1', 'product2'}}, 'cart'], or a "
            f"touchpoint on a channel: {{'touchpoint': 'checkout', 'channel': 'app'}}), got {steps!r}")
    steps = list(steps)
    if len(steps) < 2:
        raise CxInputError(f"steps needs at least 2 touchpoints, got {len(steps)}: {steps!r}")
    out: list[list[str]] = []
    channels: list[list[str]] = []
    for step in steps:
        if isinstance(step, str):
            out.append([step])
            channels.append([])
            continue
        if isinstance(step, Mapping):
            unknown = sorted(str(k) for k in step if k not in STEP_KEYS)
            if unknown or "touchpoint" not in step:
                raise CxInputError(
                    f"a step given as a dict takes the keys 'touchpoint' (a name or a set of names) and 'channel' "
                    f"(a name or a list), e.g. {{'touchpoint': 'checkout', 'channel': 'app'}}; got {step!r}"
                    + (f" (unknown keys {unknown})" if unknown else " (no 'touchpoint')"))
            out.append(_names(step["touchpoint"], step=step, what="touchpoint"))
            channels.append([] if step.get("channel") is None else _names(step["channel"], step=step, what="channel"))
            continue
        if not isinstance(step, (AbstractSet, list, tuple)):
            raise CxInputError(f"each step must be a touchpoint name (text), a set of touchpoints or a dict "
                               f"{{'touchpoint': ..., 'channel': ...}}, got {step!r}")
        members = list(step)
        if not members:
            raise CxInputError(f"a step that is a set needs at least one touchpoint, got {step!r}")
        for v in members:
            if not isinstance(v, str):
                raise CxInputError(f"each touchpoint of the step {step!r} must be a touchpoint name (text), got {v!r}")
        out.append(sorted(set(members)))
        channels.append([])
    _check_touchpoints(con, sorted({t for step in out for t in step}), name="steps")
    wanted = sorted({c for chs in channels for c in chs})
    if wanted:
        known = _known_channels(con)
        for c in wanted:
            if c not in known:
                raise unknown_name("channel", c, "this store's events", known)
    labels = [" or ".join(step) + (f" ({' or '.join(chs)})" if chs else "") for step, chs in zip(out, channels)]
    if with_channels:
        return out, labels, channels
    return out, labels


CHANNEL = "channel"  # by="channel": the event's channel (PostHog's event-property breakdown)


ATTRIBUTIONS = ("first_touch", "last_touch", "step", "all_events")  # PostHog's breakdown_attribution_type


COUNTS = ("customers", "totals")


POSTHOG_ORDERS = ("ordered", "strict", "any")


def _check_attribution(order, by, attribution, attribution_step, n_steps) -> tuple[str, int]:
    """('none' | an attribution, the 1-based attribution step or 0), checked against `by` and `order`."""
    if by != CHANNEL:
        if attribution is not None or attribution_step is not None:
            raise CxInputError(f"attribution applies to by='channel' (an event property), not by={by!r}: a customer "
                               "attribute or NPS group has one value per customer; leave attribution out")
        return "none", 0
    attribution = "first_touch" if attribution is None else attribution
    _check_choice(attribution, ATTRIBUTIONS, "attribution")
    if order not in POSTHOG_ORDERS:
        raise CxInputError(f"by='channel' needs one of PostHog's orders {list(POSTHOG_ORDERS)} (PostHog's breakdown "
                           f"attribution), got order={order!r}")
    if attribution == "all_events" and order == "strict":
        raise CxInputError("attribution='all_events' with order='strict' is not supported: PostHog's strict order "
                           "would count only the events of one channel as 'next'; use order='ordered'")
    if attribution == "step":
        if isinstance(attribution_step, bool) or not isinstance(attribution_step, int) \
                or not 1 <= attribution_step <= n_steps:
            raise CxInputError(f"attribution='step' needs attribution_step, the step (1..{n_steps}) whose event gives "
                               f"the channel, got {attribution_step!r}")
        if order == "any" and attribution_step != 1:
            raise CxInputError("order='any' allows attribution_step=1 only (as PostHog: in an unordered funnel any "
                               "event can be the n-th step)")
        return attribution, attribution_step
    if attribution_step is not None:
        raise CxInputError(f"attribution_step applies to attribution='step' only, got attribution={attribution!r}")
    return attribution, 0


def _kept_slots(count: str, exclusions: list[str]) -> dict[str, sql.Ident]:
    """The slots naming the attempts each count reads: for the count asked, the kept attempts (for
    'customers' without exclusions the step rows, which need no grouping per attempt), for the others
    an empty set of the same rows (so that DuckDB builds nothing for them)."""
    source = "step_rows" if count == "customers" and not exclusions else "kept"
    return {f"kept_{c}": sql.Ident(source if c == count else f"(SELECT * FROM {source} LIMIT 0)")
            for c in ("customers", "totals", "trend")}


def _key_slots(con) -> dict[str, sql.Ident]:
    """The slots {key}, {keys_join} and {customer} of funnel_customers.sql: the integer customer key of
    events_ordered and the join that gives the customer_id back, or the customer_id itself on a store
    whose events_ordered has no keys (built before them and opened read-only)."""
    have = {d[0] for d in con.execute("SELECT * FROM events_ordered LIMIT 0").description}
    if "cid" in have and con.execute("SELECT 1 FROM events_ordered WHERE cid IS NOT NULL LIMIT 1").fetchone():
        return {"key": sql.Ident("cid"), "keys_join": sql.Ident("JOIN customer_keys k ON k.cid = b.cid"),
                "customer": sql.Ident("k.customer_id")}
    return {"key": sql.Ident("customer_id"), "keys_join": sql.Ident(""), "customer": sql.Ident("b.cid")}


def _funnel_customers(con, steps, *, window, order, by, exclusions, start, end, attribution=None,
                      attribution_step=None, count="customers", period="week") -> tuple[list[str], str]:
    _check_choice(order, FUNNEL_ORDERS, "order")
    _check_choice(count, COUNTS + ("trend",), "count")
    steps, labels, step_channels = _check_steps(con, steps, with_channels=True)
    attribution, attribution_step = _check_attribution(order, by, attribution, attribution_step, len(steps))
    if count != "customers" and order not in POSTHOG_ORDERS:
        raise CxInputError(f"count={count!r} needs one of PostHog's orders {list(POSTHOG_ORDERS)} (attempts with a "
                           f"window), got order={order!r}")
    if order == "any":
        flat = [t for step in steps for t in step]
        if len(set(flat)) != len(flat):
            raise CxInputError(f"order='any' needs distinct steps, got {labels!r}: a repeated step (or a touchpoint "
                               "in two steps) has no meaning without order")
    if order in FUNNEL_TYPES:
        if window is not None:
            raise CxInputError(f"order={order!r} is retentioneering's {order} funnel, which has no conversion window: "
                               "pass window=None (or use order='ordered' for a funnel with a window)")
        if exclusions:
            raise CxInputError(f"order={order!r} is retentioneering's {order} funnel, which has no exclusions: "
                               "leave exclusions out (or use order='ordered')")
    exclusions = _check_touchpoints(con, [] if exclusions is None else exclusions, name="exclusions")
    clash = sorted(set(exclusions) & {t for step in steps for t in step})
    if clash:
        raise CxInputError(f"exclusions {clash} are also funnel steps: an exclusion must be a different touchpoint")
    seconds = parse_window(window)
    lo, hi = _date_bounds(start, end)
    by_mode, slot = ("channel", _segment(con, None)[1]) if by == CHANNEL else _segment(con, by)
    sql.run(
        con,
        "funnel_customers",
        {
            "steps": steps,
            "step_channels": step_channels,
            "exclusions": exclusions,
            "window_seconds": seconds,
            "order": order,
            "start": lo,
            "end": hi,
            "horizon": _horizon(con, hi),
            "by_mode": by_mode,
            "attribution": attribution,
            "attribution_step": attribution_step,
            "count": count,
            "period": period,
            "overlap": len({t for step in steps for t in step}) < sum(len(step) for step in steps),
        },
        {"segment": slot, **_kept_slots(count, exclusions), **_key_slots(con)},
    )
    if by_mode == "nps":  # the NPS group at the customer's step-1 time, not the latest answer ever
        funnel_nps_groups(con, horizon=_horizon(con, hi), start=lo, end=hi)
    return labels, by_mode


def funnel(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str | AbstractSet[str] | Sequence[str] | Mapping[str, object]],
    *,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    attribution: str | None = None,
    attribution_step: int | None = None,
    count: str = "customers",
) -> pd.DataFrame:
    """Conversion through `steps` (touchpoints, or sets of touchpoints), PostHog's funnel semantics, or
    retentioneering's open, closed and hybrid funnels.

    *Steps*: each step is a touchpoint or a set (a set, list or tuple inside the list) of
    touchpoints, any of which fills the step, as retentioneering's grouped stages:
    ``["catalog", {"product1", "product2"}, "cart"]``; the step is labelled "product1 or product2"
    (sorted) in ``touchpoint``. A funnel of single touchpoints is unchanged. Every touchpoint must
    occur in the store's events.

    A step may also carry a **channel filter**, PostHog's funnel step = an event with property filters
    (the property loaded here is the event's ``channel``): ``{"touchpoint": "checkout", "channel":
    "app"}`` is filled only by checkout events on the app; ``touchpoint`` may be a set of
    touchpoints and ``channel`` a list (any of them), e.g. ``{"touchpoint": {"cart", "checkout"},
    "channel": ["app", "web"]}``. Label "checkout (app)" (channels sorted, joined with " or ").
    Every rule below applies to the filtered events as to any step's events. Channels are checked
    against the store's events ("did you mean"). A dict without ``channel`` is a plain step.

    >>> funnel(con, ["product_page", {"touchpoint": "checkout", "channel": "app"}, "payment"])  # doctest: +SKIP

    *Definition* (``order='ordered'``, PostHog): every occurrence of step 1 starts an attempt; step k
    counts for that attempt if steps 2..k occur in order after it, all within `window` measured from
    that attempt's step 1; a customer's result is the furthest step reached in any attempt (ties:
    the earliest attempt, which also gives the times to convert). With ``window=None`` there is no
    time limit, and the result equals "did step 1, then step 2 after it, ..." from the first
    occurrence. `window`: '7 days', '48 hours', '1 month' (31 days, PostHog's month), a compound
    such as '1 day 2 hours', a timedelta or None (see :func:`parse_window`).

    Edge rules (as PostHog): events with the same timestamp count as in order (PostHog compares
    ``step_k_time <= step_k+1_time``), but one event never fills two steps; an event exactly at
    the window limit (step 1 + window) counts. ``order='strict'``: step k+1 must be the customer's
    very next event (any other event in between breaks the attempt; events at the same timestamp
    are ordered by touchpoint, then channel, as in ``events_ordered``). ``order='any'``: an attempt
    starts at any step event and reaches step k when k distinct steps occurred within the window
    (no touchpoint may be in two steps).
    `exclusions`: an attempt with an exclusion event strictly between its step 1 and its last
    reached step is discarded (PostHog's exclusion steps); a customer left with no attempt is not
    in the funnel. Events outside `start`..`end` are ignored.

    *Funnel types* (retentioneering 3.x ``funnel_type``, ``retentioneering/tooling/funnel/funnel.py``;
    they take ``window=None`` and no exclusions, as retentioneering has neither):

    - ``order='closed'``: t1 = the customer's first step-1 event; later steps only look at events
      at or after t1 whose touchpoint is not a step-1 touchpoint; step 2 is the first step-2 event
      at or after t1, each later step the first step-k event strictly after the previous step's.
      Differs from ``'ordered'`` with ``window=None`` only in those edge rules (ties in time after
      step 2, a step-1 touchpoint reused at a later step).
    - ``order='hybrid'``: step 1 as closed; a customer counts at step k if they count at step k-1
      and have a step-k event at or after t1 (not a step-1 touchpoint), in any order among steps 2..k.
    - ``order='open'``: every customer with a step-k event in `start`..`end` counts at step k, among
      all customers, whether or not they did step 1 or in which order: the counts do not depend on
      the order of the steps. ``conversion_from_first`` = customers(k) / customers(1) and
      ``conversion_from_previous`` = customers(k) / customers(k-1), as retentioneering's
      ``%_of_initial`` and ``%_of_previous``: they may exceed 1, so they have no interval (NaN), and
      ``dropped`` is NA (no customer drops out of an open funnel).

    For closed and hybrid, ``conversion_from_previous`` and ``conversion_from_first`` equal
    retentioneering's ``%_of_previous`` / 100 and ``%_of_initial`` / 100. Times to convert are given
    for the PostHog orders and closed (from m(k-1) to m(k)), not for hybrid and open.

    Open windows: a customer who stopped before the last step while an attempt's window is still
    open at the end of the data (the store's as-of date, or `end` if earlier) is not a drop: they
    are counted in ``open_window`` at the step after the one they reached and left out of the
    conversion denominators. With ``window=None`` no window ever closes, so nobody is open
    (PostHog's convention: everybody not converted counts as dropped).

    Returns one row per segment and step: ``segment`` ('all' without `by`; `by` may be a
    customers column or 'nps_group' = the latest relationship NPS answer: promoter, passive,
    detractor, or 'no_response'), ``step`` (1..n), ``touchpoint`` (the step's label), ``customers``
    (counted at the step), ``conversion_from_previous`` = customers / (customers + dropped),
    ``conversion_from_first`` = customers / (step-1 customers - customers still open before this step),
    ``ci_lower``, ``ci_upper`` (95% Wilson interval of conversion_from_first), ``conversion_from_previous_ci_lower``,
    ``conversion_from_previous_ci_upper`` (95% Wilson interval of conversion_from_previous: customers of customers +
    dropped), ``median_time_to_convert`` (from the previous step, a Timedelta), ``open_window``,
    ``dropped``, ``suppressed``.
    Suppression: a step of fewer than `min_group_size` customers (0 excepted: it is shown) is hidden,
    complementary across the segments of the step; a segment's later steps are hidden with it.
    Counts are ``Int64``.

    *Breakdown by event channel* (``by='channel'``; PostHog's event-property breakdown with
    ``breakdown_attribution_type``, read in posthog/hogql_queries/insights/funnels/base.py
    ``_get_breakdown_select_prop``, funnel_udf.py ``_prop_vals`` and the funnel UDF's steps.rs), for the
    orders 'ordered', 'strict', 'any'; the events considered are the step and exclusion events in
    `start`..`end`:

    - ``attribution='first_touch'`` (default) / ``'last_touch'``: each customer gets one channel,
      that of their earliest / latest such event (ties on time: events_ordered's order); the
      funnel runs on all their events.
    - ``'all_events'``: a customer counts under each channel of their step events, and the funnel
      of channel c uses only their events of channel c (exclusions too): every step of an attempt
      is on one channel. Not with order='strict'.
    - ``'step'`` with ``attribution_step=k``: a customer counts under each channel of their step-k
      events; under channel c the event filling step k must be of channel c, the other steps may
      be on any channel (PostHog's ``is_unmatched_step_attribution``). A customer with no step-k
      event in the range is in no segment (PostHog's older query, whose groupUniqArray skips the
      empty value). order='any' allows only attribution_step=1 (as PostHog).

    With 'all_events' and 'step' a customer may be in several segments, so the segments do not add
    up to the funnel without `by` (suppression is still done within each step across segments).

    *Totals* (``count='totals'``, Amplitude's "totals" / re-entry; PostHog's funnels count unique
    persons or groups only, its ``funnel_aggregate_by`` changing what is unique): a customer counts
    once per entry. Their earliest attempt is an entry; each next entry is the earliest attempt that
    starts strictly after the previous entry converted (its last step's time) or its window closed
    (its step 1 + `window`); with ``window=None`` only after converting. Each entry's furthest step
    counts (its own, not the best of several attempts). Adds ``entries`` (entries reaching the
    step); conversion, intervals, ``dropped`` and ``open_window`` are over entries, ``customers``
    counts distinct customers, and suppression uses ``customers``. PostHog orders only.

    >>> funnel(con, ["product_page", "add_to_cart", "checkout"], window="1 day")  # doctest: +SKIP
    >>> funnel(con, ["catalog", {"product1", "product2"}, "cart"], window=None, order="closed")  # doctest: +SKIP
    """
    check_min_group_size(min_group_size)
    _check_choice(count, COUNTS, "count")
    labels, _ = _funnel_customers(
        con, steps, window=window, order=order, by=by, exclusions=exclusions, start=start, end=end,
        attribution=attribution, attribution_step=attribution_step, count=count,
    )
    raw = sql.run(con, "funnel", {"n_steps": len(labels)},
                  {"customers": sql.Ident("count(DISTINCT f.customer_id)" if count == "totals" else "count(*)")})
    if raw.empty:
        out = pd.DataFrame(
            {"segment": "all", "step": range(1, len(labels) + 1), "customers": 0, "entries": 0, "open_window": 0,
             "dropped": 0, "open_before": 0, "median_seconds": np.nan}
        )
    else:
        out = raw
    out = out.copy()
    totals = count == "totals"
    if totals:  # conversion over entries; `customers` stays the distinct customers (for suppression)
        out["distinct"] = out["customers"]
        out["customers"] = out["entries"]
    out["step"] = out["step"].astype(int)
    out["touchpoint"] = [labels[k - 1] for k in out["step"]]
    out = out.sort_values(["segment", "step"], kind="stable").reset_index(drop=True)
    first = out.groupby("segment")["customers"].transform("first")
    decided_first = first - out["open_before"]
    if order == "open":
        # retentioneering's open funnel: ratios to step 1 and to the previous step, which need not
        # contain this step's customers, so no interval and no drops
        previous = out.groupby("segment")["customers"].shift(1).fillna(out["customers"])
        out["conversion_from_previous"] = _ratio(out["customers"], previous)
        out["conversion_from_first"] = _ratio(out["customers"], first)
        for col in ("ci_lower", "ci_upper", "conversion_from_previous_ci_lower", "conversion_from_previous_ci_upper"):
            out[col] = np.nan
    else:
        decided_previous = out["customers"] + out["dropped"]
        out["conversion_from_previous"] = _ratio(out["customers"], decided_previous)
        out["conversion_from_first"] = _ratio(out["customers"], decided_first)
        out["ci_lower"], out["ci_upper"] = wilson_bounds(out["customers"], decided_first)
        out["conversion_from_previous_ci_lower"], out["conversion_from_previous_ci_upper"] = wilson_bounds(out["customers"], decided_previous)
    out["median_time_to_convert"] = _seconds_to_timedelta(out["median_seconds"])
    cols = ["segment", "step", "touchpoint", "customers", "conversion_from_previous", "conversion_from_first",
            "median_time_to_convert", "ci_lower", "ci_upper", "conversion_from_previous_ci_lower", "conversion_from_previous_ci_upper", "open_window",
            "dropped"]
    if totals:
        out["entries"] = out["customers"]
        out["customers"] = out["distinct"]
        cols = cols[:4] + ["entries"] + cols[4:]
    out = out[cols].astype({"customers": "int64", "open_window": "int64", "dropped": "Int64"})
    if order == "open":
        out["dropped"] = pd.NA
    return _suppress_funnel(out, min_group_size, extra=["entries"] if totals else [])


def _suppress_funnel(out: pd.DataFrame, min_group_size: int, extra=()) -> pd.DataFrame:
    """Small steps hidden, complementary across the segments of each step (they add up to the step
    without a breakdown); a step of 0 customers is shown. A segment's rows after a hidden step are
    hidden too, 0 included: their drops, open windows and conversions would give the hidden count
    back (customers at a step = customers at the next + dropped + open there)."""
    values = ["conversion_from_previous", "conversion_from_first", "median_time_to_convert", "ci_lower", "ci_upper",
              "conversion_from_previous_ci_lower", "conversion_from_previous_ci_upper", "open_window", "dropped", *extra]
    forced = np.zeros(len(out), dtype=bool)
    while True:
        res = suppress(out, n="customers", values=values, min_group_size=min_group_size, within=["step"],
                       hidden=forced)
        after = res.groupby("segment", sort=False)["suppressed"].transform(
            lambda s: s.cummax().shift(1, fill_value=False)).to_numpy(dtype=bool)
        if not (after & ~forced).any():
            return res
        forced = forced | after


def funnel_dropped(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str | AbstractSet[str] | Sequence[str] | Mapping[str, object]],
    *,
    step: int,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
    attribution: str | None = None,
    attribution_step: int | None = None,
) -> pd.DataFrame:
    """The customers who dropped at `step` of the funnel (analyst use: customer ids, never for reports).

    *Definition*: customers whose furthest step (see :func:`funnel`, same options) is ``step - 1``
    and whose windows are all closed; customers still inside an open window are not drops. For
    ``order='closed'`` and ``'hybrid'`` (retentioneering, no window): customers counted at
    ``step - 1`` and not at `step`; ``order='open'`` has no drops (an error).
    Returns ``customer_id, segment, reached_step, reached_at`` (time of the last step reached;
    NaT for hybrid, which has no single time per step). With ``by='channel'`` (and `attribution`,
    as :func:`funnel`) a customer may drop in several segments.
    """
    if order == "open":
        raise CxInputError("order='open' has no drops: a customer counts at each step of an open funnel on their own "
                           "(use order='closed' or 'ordered' for the customers who dropped)")
    if isinstance(step, bool) or not isinstance(step, int):
        raise CxInputError(f"step must be a whole number (the funnel step, 2..n), got {step!r}")
    n = len(steps) if isinstance(steps, Sequence) and not isinstance(steps, str) else 0
    if n and not 2 <= step <= n:
        raise CxInputError(f"step must be between 2 and {n} (customers drop at a step after the first), got {step}")
    _funnel_customers(con, steps, window=window, order=order, by=by, exclusions=exclusions, start=start, end=end,
                      attribution=attribution, attribution_step=attribution_step)
    return sql.run(con, "funnel_dropped", {"step": step})
