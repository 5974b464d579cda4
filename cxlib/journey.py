"""Journey analytics: stage map, funnels, paths, omnichannel hand-offs and friction points.

Every function reads the derived table ``events_ordered`` (each customer's events pre-sorted,
with ``seq`` and the previous/next touchpoint, channel and time), runs one SQL file of
``cxlib/sql`` with bound parameters and returns a small tidy DataFrame. Grouped results go
through :func:`cxlib.privacy.suppress`: groups with fewer than ``min_group_size`` customers stay
in the frame, marked ``suppressed=True``, with their values blanked.

Dates: ``start`` is the first day included, ``end`` the last day included ('YYYY-MM-DD',
a date or a datetime; a datetime with a time of day is an exclusive bound).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from . import sql
from .errors import CxInputError, unknown_name
from .privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from .sql import Ident, checked_column
from .store import as_of as store_as_of

__all__ = [
    "channel_switches",
    "friction",
    "funnel",
    "funnel_dropped",
    "funnel_explorer",
    "handoffs",
    "journey_map",
    "parse_window",
    "paths",
    "step_matrix",
    "switch_outcomes",
    "transitions",
    "variants",
]

ORDERS = ("ordered", "strict", "any")
LEVELS = ("touchpoint", "stage")
NPS_GROUP = "nps_group"
SERVICE_CONTACTS = ("chat", "phone_call", "email_support", "store_visit", "help_center")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)
_Z = 1.959963984540054  # two-sided 95%


# --------------------------------------------------------------------------- validation helpers


def parse_window(window, *, name: str = "window", allow_none: bool = True) -> float | None:
    """A time window as seconds: '7 days', '48 hours', '30 minutes', '2 weeks', a timedelta, or None.

    >>> parse_window("48 hours")
    172800.0
    """
    if window is None:
        if allow_none:
            return None
        raise CxInputError(f"{name} is required: give a duration such as '7 days' or '48 hours'")
    if isinstance(window, timedelta):
        seconds = window.total_seconds()
    elif isinstance(window, str):
        m = _WINDOW.match(window)
        if not m:
            raise CxInputError(
                f"{name} {window!r} is not a duration: write it like '7 days', '48 hours', '30 minutes' "
                f"or '2 weeks', or pass a datetime.timedelta" + (" (None means no limit)" if allow_none else "")
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    else:
        raise CxInputError(f"{name} must be text like '7 days', a timedelta or None, got {window!r}")
    if not seconds > 0:
        raise CxInputError(f"{name} must be longer than zero, got {window!r}")
    return float(seconds)


def _known_touchpoints(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT touchpoint FROM touchpoint_stages").fetchall()
    return {r[0] for r in rows}


def _check_touchpoints(con, values, *, name: str, min_len: int = 0) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise CxInputError(f"{name} must be a list of touchpoints, e.g. ['product_page', 'checkout'], got {values!r}")
    values = list(values)
    if len(values) < min_len:
        raise CxInputError(f"{name} needs at least {min_len} touchpoints, got {len(values)}: {values!r}")
    known = _known_touchpoints(con)
    for v in values:
        if not isinstance(v, str):
            raise CxInputError(f"each of {name} must be a touchpoint name (text), got {v!r}")
        if v not in known:
            # An unmapped touchpoint is still valid when the events hold it.
            hit = con.execute("SELECT 1 FROM events_ordered WHERE touchpoint = ? LIMIT 1", [v]).fetchone()
            if not hit:
                raise unknown_name("touchpoint", v, "the touchpoint map or the events", known)
    return values


def _contacts(con, contacts) -> list[str]:
    """The service-contact touchpoints: as given (checked), or the defaults the store knows."""
    if contacts is None:
        known = _known_touchpoints(con) | {
            r[0] for r in con.execute("SELECT DISTINCT touchpoint FROM events_ordered WHERE list_contains(?, touchpoint)",
                                      [list(SERVICE_CONTACTS)]).fetchall()}
        contacts = [c for c in SERVICE_CONTACTS if c in known]
        if not contacts:
            raise CxInputError(f"none of the default service contacts {list(SERVICE_CONTACTS)} is in this store: "
                               "pass contacts=[...] with your service touchpoints")
        return contacts
    return _check_touchpoints(con, contacts, name="contacts", min_len=1)


def _check_choice(value, choices, name: str) -> str:
    if value not in choices:
        raise unknown_name(name, str(value), f"the allowed {name} values", choices)
    return value


def _date_bounds(start, end) -> tuple[datetime | None, datetime | None]:
    """(inclusive start, exclusive end) from the user's start/end."""

    def parse(value, label):
        if value is None:
            return None, False
        if isinstance(value, datetime):
            return value, False
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day), True
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise CxInputError(f"{label} must be a date like '2026-01-31', got {value!r}") from None
            return parsed, len(value.strip()) <= 10
        raise CxInputError(f"{label} must be a date like '2026-01-31', got {value!r}")

    lo, _ = parse(start, "start")
    hi, whole_day = parse(end, "end")
    if hi is not None and whole_day:
        hi = hi + timedelta(days=1)
    if lo is not None and hi is not None and hi <= lo:
        raise CxInputError(f"end ({end!r}) is before start ({start!r}): give an end on or after the start")
    return lo, hi


def _horizon(con, end_excl: datetime | None) -> datetime:
    """The end of the observed data: the store's as-of date, or the end bound if earlier."""
    horizon = store_as_of(con)
    if end_excl is not None and end_excl < horizon:
        horizon = end_excl
    return horizon


def _segment(con, by) -> tuple[str, Ident]:
    """(by_mode, slot) for a breakdown: None, 'nps_group' or a customers column."""
    if by is None:
        return "none", Ident('"customer_id"')
    if by == NPS_GROUP:
        return "nps", Ident('"customer_id"')
    return "column", checked_column(con, "customers", by, exclude=("customer_id",))


def _wilson(x: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """95% Wilson score interval for x successes of n (NaN where n = 0)."""
    x = x.astype(float)
    n = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + _Z**2 / n
        centre = (p + _Z**2 / (2 * n)) / denom
        half = _Z * np.sqrt(p * (1 - p) / n + _Z**2 / (4 * n**2)) / denom
    # at x = 0 and x = n the exact bounds are 0 and 1; set them so rounding cannot move them
    lo = (centre - half).where(x > 0, 0.0).where(n > 0)
    hi = (centre + half).where(x < n, 1.0).where(n > 0)
    return lo.clip(lower=0.0), hi.clip(upper=1.0)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype(float)
    den = den.astype(float)
    return (num / den.where(den > 0)).astype(float)


def _seconds_to_timedelta(s: pd.Series) -> pd.Series:
    return pd.to_timedelta(s.astype(float), unit="s")


# --------------------------------------------------------------------------- funnel


def _funnel_customers(con, steps, *, window, order, by, exclusions, start, end) -> tuple[list[str], str]:
    steps = _check_touchpoints(con, steps, name="steps", min_len=2)
    _check_choice(order, ORDERS, "order")
    if order == "any" and len(set(steps)) != len(steps):
        raise CxInputError(f"order='any' needs distinct steps, got {steps!r}: a repeated step has no meaning without order")
    exclusions = _check_touchpoints(con, [] if exclusions is None else exclusions, name="exclusions")
    clash = sorted(set(exclusions) & set(steps))
    if clash:
        raise CxInputError(f"exclusions {clash} are also funnel steps: an exclusion must be a different touchpoint")
    seconds = parse_window(window)
    lo, hi = _date_bounds(start, end)
    by_mode, slot = _segment(con, by)
    sql.run(
        con,
        "funnel_customers",
        {
            "steps": steps,
            "exclusions": exclusions,
            "window_seconds": seconds,
            "order": order,
            "start": lo,
            "end": hi,
            "horizon": _horizon(con, hi),
            "by_mode": by_mode,
        },
        {"segment": slot},
    )
    return steps, by_mode


def funnel(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    *,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Conversion through `steps` (touchpoints), PostHog's funnel semantics.

    *Definition*: every occurrence of step 1 starts an attempt; step k counts for that attempt if
    steps 2..k occur in order after it, all within `window` measured from that attempt's step 1;
    a customer's result is the furthest step reached in any attempt (ties: the earliest attempt,
    which also gives the times to convert). With ``window=None`` there is no time limit, and the
    result equals "did step 1, then step 2 after it, ..." from the first occurrence.

    Edge rules (as PostHog): events with the same timestamp count as in order (PostHog compares
    ``step_k_time <= step_k+1_time``), but one event never fills two steps; an event exactly at
    the window limit (step 1 + window) counts. ``order='strict'``: step k+1 must be the customer's
    very next event (any other event in between breaks the attempt; events at the same timestamp
    are ordered by touchpoint, then channel, as in ``events_ordered``). ``order='any'``: an attempt
    starts at any step event and reaches step k when k distinct steps occurred within the window.
    `exclusions`: an attempt with an exclusion event strictly between its step 1 and its last
    reached step is discarded (PostHog's exclusion steps); a customer left with no attempt is not
    in the funnel. Events outside `start`..`end` are ignored.

    Open windows: a customer who stopped before the last step while an attempt's window is still
    open at the end of the data (the store's as-of date, or `end` if earlier) is not a drop: they
    are counted in ``open_window`` at the step after the one they reached and left out of the
    conversion denominators. With ``window=None`` no window ever closes, so nobody is open
    (PostHog's convention: everybody not converted counts as dropped).

    Returns one row per segment and step: ``segment`` ('all' without `by`; `by` may be a
    customers column or 'nps_group' = the latest relationship NPS answer: promoter, passive,
    detractor, or 'no_response'), ``step`` (1..n), ``touchpoint``, ``customers`` (furthest step >=
    step), ``conversion_from_previous`` = customers / (customers + dropped), ``conversion_from_first``
    = customers / (step-1 customers - customers still open before this step), ``ci_lower``,
    ``ci_upper`` (95% Wilson interval of conversion_from_first), ``median_time_to_convert`` (from
    the previous step, a Timedelta), ``open_window``, ``dropped``, ``suppressed``.

    >>> funnel(con, ["product_page", "add_to_cart", "checkout"], window="1 day")  # doctest: +SKIP
    """
    check_min_group_size(min_group_size)
    steps, by_mode = _funnel_customers(
        con, steps, window=window, order=order, by=by, exclusions=exclusions, start=start, end=end
    )
    raw = sql.run(con, "funnel", {"n_steps": len(steps)})
    if raw.empty:
        out = pd.DataFrame(
            {"segment": "all", "step": range(1, len(steps) + 1), "customers": 0, "open_window": 0, "dropped": 0,
             "open_before": 0, "median_seconds": np.nan}
        )
    else:
        out = raw
    out = out.copy()
    out["step"] = out["step"].astype(int)
    out["touchpoint"] = [steps[k - 1] for k in out["step"]]
    first = out.groupby("segment")["customers"].transform("first")
    decided_first = first - out["open_before"]
    out["conversion_from_previous"] = _ratio(out["customers"], out["customers"] + out["dropped"])
    out["conversion_from_first"] = _ratio(out["customers"], decided_first)
    out["ci_lower"], out["ci_upper"] = _wilson(out["customers"], decided_first)
    out["median_time_to_convert"] = _seconds_to_timedelta(out["median_seconds"])
    cols = ["segment", "step", "touchpoint", "customers", "conversion_from_previous", "conversion_from_first",
            "median_time_to_convert", "ci_lower", "ci_upper", "open_window", "dropped"]
    out = out[cols].astype({"customers": "int64", "open_window": "int64", "dropped": "int64"})
    out = out.sort_values(["segment", "step"], kind="stable").reset_index(drop=True)
    return suppress(
        out,
        n="customers",
        values=["conversion_from_previous", "conversion_from_first", "median_time_to_convert", "ci_lower",
                "ci_upper", "open_window", "dropped"],
        min_group_size=min_group_size,
        within=["step"],
    )


def funnel_dropped(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    *,
    step: int,
    window: str | timedelta | None = "7 days",
    order: str = "ordered",
    by: str | None = None,
    exclusions: Sequence[str] | None = None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """The customers who dropped at `step` of the funnel (analyst use: customer ids, never for reports).

    *Definition*: customers whose furthest step (see :func:`funnel`, same options) is ``step - 1``
    and whose windows are all closed; customers still inside an open window are not drops.
    Returns ``customer_id, segment, reached_step, reached_at`` (time of the last step reached).
    """
    if isinstance(step, bool) or not isinstance(step, int):
        raise CxInputError(f"step must be a whole number (the funnel step, 2..n), got {step!r}")
    n = len(steps) if isinstance(steps, Sequence) and not isinstance(steps, str) else 0
    if n and not 2 <= step <= n:
        raise CxInputError(f"step must be between 2 and {n} (customers drop at a step after the first), got {step}")
    _funnel_customers(con, steps, window=window, order=order, by=by, exclusions=exclusions, start=start, end=end)
    return sql.run(con, "funnel_dropped", {"step": step})


# --------------------------------------------------------------------------- paths


def _check_int(value, name: str, *, low: int = 1, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CxInputError(f"{name} must be a whole number of at least {low}, got {value!r}")
    return value


def _to_lists(series: pd.Series) -> pd.Series:
    return series.map(lambda v: [str(x) for x in v] if v is not None else [])


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
    detractor, 'no_response'). Pairs made by fewer than `min_group_size` customers are suppressed.

    Returns ``segment, source, target, transitions, customers, median_duration, suppressed``.
    """
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    by_mode, slot = _segment(con, by)
    out = sql.run(
        con,
        "transitions",
        {"start": lo, "end": hi, "level": level, "by_mode": by_mode, "horizon": _horizon(con, hi)},
        {"segment": slot},
    )
    out["median_duration"] = _seconds_to_timedelta(out.pop("median_seconds"))
    out = out[["segment", "source", "target", "transitions", "customers", "median_duration"]]
    return suppress(out, n="customers", values=["transitions", "median_duration"],
                    min_group_size=min_group_size, within=["segment"])


def variants(
    con: duckdb.DuckDBPyConnection,
    *,
    top: int = 20,
    max_steps: int | None = None,
    level: str = "touchpoint",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """The most common journeys (path variants), as lists of touchpoints in time order.

    *Definition*: each customer's events in `start`..`end`, in time order, form one variant
    (``max_steps``: only the first N events; ``level='stage'``: the stages, with consecutive
    repeats collapsed). ``customers`` = customers whose journey is exactly that variant,
    ``share`` = customers / all customers with an event in the range. Ties in count are ordered
    by the variant itself, so the top list is the same on every run.

    Returns ``variant`` (list of str), ``customers``, ``share``, ``suppressed``: the `top` most
    common; variants of fewer than `min_group_size` customers are suppressed.
    """
    _check_int(top, "top")
    _check_int(max_steps, "max_steps", allow_none=True)
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "variants", {"start": lo, "end": hi, "level": level, "max_steps": max_steps, "top": top})
    out["variant"] = _to_lists(out["variant"])
    out = out[["variant", "customers", "share"]]
    return suppress(out, n="customers", values=["share"], min_group_size=min_group_size)


def step_matrix(
    con: duckdb.DuckDBPyConnection,
    *,
    max_steps: int = 8,
    level: str = "touchpoint",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Step matrix: the share of customers whose k-th event is each touchpoint.

    *Definition*: positions count each customer's events in `start`..`end` from 1 in time order.
    ``share`` = customers whose event at ``position`` is ``node`` / all customers with an event in
    the range; customers with fewer events are in the row ``node='(ended)'``, so each position sums
    to 1. ``level='stage'`` uses the stage of each event (repeats not collapsed).

    Returns ``position, node, customers, share, suppressed``.
    """
    _check_int(max_steps, "max_steps")
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "paths_step_matrix", {"start": lo, "end": hi, "level": level, "max_steps": max_steps})
    return suppress(out, n="customers", values=["share"], min_group_size=min_group_size, within=["position"])


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
) -> pd.DataFrame:
    """Paths from (or to) a chosen touchpoint.

    *Definition*: for each customer with `touchpoint` in `start`..`end`, take its first occurrence
    and the `steps` events right after it (``direction='from'``) or right before it
    (``direction='to'``), in time order, the touchpoint itself excluded; an empty list means the
    journey ended (or began) there. ``share`` = customers with that path / customers with the
    touchpoint.

    Returns ``path`` (list of str), ``customers``, ``share``, ``suppressed``: the `top` most common.
    """
    if not isinstance(touchpoint, str):
        raise CxInputError(f"touchpoint must be one touchpoint name, e.g. 'checkout', got {touchpoint!r}")
    touchpoint = _check_touchpoints(con, [touchpoint], name="touchpoint")[0]
    _check_choice(direction, ("from", "to"), "direction")
    _check_int(steps, "steps")
    _check_int(top, "top")
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "paths", {"touchpoint": touchpoint, "direction": direction, "steps": steps,
                                 "start": lo, "end": hi, "top": top})
    out["path"] = _to_lists(out["path"])
    out = out[["path", "customers", "share"]]
    return suppress(out, n="customers", values=["share"], min_group_size=min_group_size)


# --------------------------------------------------------------------------- stage map


def journey_map(
    con: duckdb.DuckDBPyConnection,
    *,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """The journey map by stage: reach, time between stages and the rating of each stage.

    *Definition*: per stage (awareness, consideration, purchase, service, loyalty, in that order):
    ``customers`` who had an event of the stage in `start`..`end` and their ``share`` of all
    customers with an event; ``median_time_from_previous`` / ``p90_time_from_previous``: time from
    a customer's first event in the previous stage to their first event in this stage, over the
    ``gap_customers`` who reached the previous stage first (p90 by linear interpolation, as
    numpy's default); ``csat`` (share of 4-5) and ``ces`` (mean 1-7, higher = easier) of survey
    answers about the stage's touchpoints, blank when fewer than `min_group_size` answers.

    Returns ``stage, customers, share, gap_customers, median_time_from_previous,
    p90_time_from_previous, csat_n, csat, ces_n, ces, suppressed``.
    """
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "stage_map", {"start": lo, "end": hi})
    out["median_time_from_previous"] = _seconds_to_timedelta(out.pop("median_seconds"))
    out["p90_time_from_previous"] = _seconds_to_timedelta(out.pop("p90_seconds"))
    small_gap = out["gap_customers"] < min_group_size
    out.loc[small_gap, ["median_time_from_previous", "p90_time_from_previous"]] = pd.NaT
    out["csat"] = out["csat"].astype(float).where(out["csat_n"] >= min_group_size)
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out = out[["stage", "customers", "share", "gap_customers", "median_time_from_previous",
               "p90_time_from_previous", "csat_n", "csat", "ces_n", "ces"]]
    return suppress(out, n="customers", values=["share", "gap_customers", "median_time_from_previous",
                                                "p90_time_from_previous", "csat", "ces"],
                    min_group_size=min_group_size, within=["stage"])


# --------------------------------------------------------------------------- omnichannel


def channel_switches(
    con: duckdb.DuckDBPyConnection,
    *,
    within: str | timedelta = "1 day",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Channel switches within a journey.

    *Definition*: a switch is a pair of consecutive events of a customer on different channels at
    most `within` apart (exactly at the limit counts), both in `start`..`end`.
    Returns ``from_channel, to_channel, switches, customers, median_gap, suppressed``.
    """
    seconds = parse_window(within, name="within", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "omnichannel_switches", {"start": lo, "end": hi, "within_seconds": seconds})
    out["median_gap"] = _seconds_to_timedelta(out.pop("median_seconds"))
    return suppress(out, n="customers", values=["switches", "median_gap"], min_group_size=min_group_size)


def handoffs(
    con: duckdb.DuckDBPyConnection,
    *,
    contacts: Sequence[str] | None = None,
    within: str | timedelta = "1 day",
    repeat_window: str | timedelta = "7 days",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Service hand-offs between channels and the repeat contacts, effort and tickets that follow.

    *Definition*: a service contact is an event whose touchpoint is in `contacts` (default: those of
    chat, phone_call, email_support, store_visit, help_center the store has). A hand-off is a
    contact whose customer's next contact is on a different channel at most `within` later
    (exactly at the limit counts); it is one case ``from_touchpoint -> to_touchpoint``. A contact
    that neither starts nor ends a hand-off is a case with ``to_touchpoint='(none)'`` (the
    baseline). After a case's last contact: ``repeat_rate`` = share of cases with another service
    contact within `repeat_window` (the same need coming back, on any channel), ``repeat_contacts``
    = mean number of them; ``ces`` = mean CES of the customer's answers from the case's start to the
    end of the repeat window (``ces_n`` cases with an answer); ``ticket_contacts`` = mean contacts
    of tickets opened in that span (over the ``tickets`` cases that had one). Cases whose repeat
    window runs past the end of the data are censored (left out).

    Returns ``from_touchpoint, to_touchpoint, handoff, cases, customers, repeat_rate,
    repeat_contacts, ces_n, ces, tickets, ticket_contacts, suppressed``: hand-offs first, then the
    baselines; within each, shown rows by worst repeat rate first, suppressed rows last.
    """
    contacts = _contacts(con, contacts)
    within_s = parse_window(within, name="within", allow_none=False)
    repeat_s = parse_window(repeat_window, name="repeat_window", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "omnichannel_handoffs", {
        "contacts": contacts, "within_seconds": within_s, "repeat_seconds": repeat_s,
        "start": lo, "end": hi, "horizon": _horizon(con, hi)})
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out["ticket_contacts"] = out["ticket_contacts"].astype(float).where(out["tickets"] >= min_group_size)
    out = suppress(out, n="cases", values=["customers", "repeat_rate", "repeat_contacts", "ces_n", "ces",
                                           "tickets", "ticket_contacts"],
                   min_group_size=min_group_size, within=["handoff"])
    out = out.sort_values(["handoff", "suppressed", "repeat_rate", "from_touchpoint", "to_touchpoint"],
                          ascending=[False, True, False, True, True], na_position="last", kind="stable")
    return out.reset_index(drop=True)


def switch_outcomes(
    con: duckdb.DuckDBPyConnection,
    *,
    contacts: Sequence[str] | None = None,
    within: str | timedelta = "1 day",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """How CSAT, CES and conversion differ for customers who had to switch channel in service.

    *Definition*: among customers with a service contact (touchpoint in `contacts`, default as in
    :func:`handoffs`) in
    `start`..`end`, ``switched`` customers had a contact followed by their next contact on a
    different channel at most `within` later. Per group: ``csat`` = share of CSAT answers 4-5 with
    a 95% Wilson interval (``csat_lower, csat_upper``); ``ces`` = mean CES (1-7, higher = easier)
    with a 95% t interval (``ces_lower, ces_upper``) and ``ces_high`` = share of 5-7;
    ``conversion`` = share of the group's customers with an order in the range. Answers and orders
    in the same date range count. Rates of fewer than `min_group_size` answers are blank.

    Returns ``group, customers, csat_n, csat, csat_lower, csat_upper, ces_n, ces, ces_lower,
    ces_upper, ces_high, conversion, suppressed``.
    """
    from scipy import stats

    contacts = _contacts(con, contacts)
    within_s = parse_window(within, name="within", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    raw = sql.run(con, "omnichannel_switch_outcomes",
                  {"contacts": contacts, "within_seconds": within_s, "start": lo, "end": hi})
    out = pd.DataFrame({"group": raw["group"], "customers": raw["customers"].astype("int64"),
                        "csat_n": raw["csat_n"].astype("int64")})
    out["csat"] = _ratio(raw["csat_top2"], raw["csat_n"])
    out["csat_lower"], out["csat_upper"] = _wilson(raw["csat_top2"], raw["csat_n"])
    n = raw["ces_n"].astype(float)
    out["ces_n"] = raw["ces_n"].astype("int64")
    mean = raw["ces_sum"].astype(float) / n.where(n > 0)
    var = (raw["ces_sumsq"].astype(float) - n * mean**2) / (n - 1).where(n > 1)
    se = np.sqrt(var.clip(lower=0) / n)
    tq = pd.Series(stats.t.ppf(0.975, (n - 1).where(n > 1)), index=n.index)
    out["ces"] = mean
    out["ces_lower"], out["ces_upper"] = mean - tq * se, mean + tq * se
    out["ces_high"] = _ratio(raw["ces_high"], raw["ces_n"])
    out["conversion"] = _ratio(raw["converted"], raw["customers"])
    few_csat = out["csat_n"] < min_group_size
    out.loc[few_csat, ["csat", "csat_lower", "csat_upper"]] = np.nan
    few_ces = out["ces_n"] < min_group_size
    out.loc[few_ces, ["ces", "ces_lower", "ces_upper", "ces_high"]] = np.nan
    return suppress(out, n="customers", values=["csat_n", "csat", "csat_lower", "csat_upper", "ces_n", "ces",
                                                "ces_lower", "ces_upper", "ces_high", "conversion"],
                    min_group_size=min_group_size)


# --------------------------------------------------------------------------- friction


def friction(
    con: duckdb.DuckDBPyConnection,
    *,
    gap: str | timedelta = "30 minutes",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Friction points: touchpoints (per channel) ranked by drop-off after them combined with low ratings.

    *Definition*: an occurrence of a touchpoint is followed by a *drop-off* when the customer's next
    event is missing or more than `gap` later (default 30 minutes, the usual web-analytics session
    timeout; exactly at the limit is a continuation); occurrences less than `gap` before the end of
    the data are not judged (censored). ``dropoff_rate`` = dropped_off / occurrences.
    ``dissatisfaction`` = 1 - CSAT (share of answers 4-5 about this touchpoint and channel), or,
    where there is no CSAT, (7 - mean CES) / 6; blank with fewer than `min_group_size` answers.
    ``friction_score`` = the mean of the percentile ranks (0-1, ties averaged) of dropoff_rate and
    dissatisfaction among the shown rows that have both; rows without ratings get no score and come
    last. Sorted by friction_score, worst first.

    Returns ``touchpoint, channel, stage, occurrences, customers, dropped_off, dropoff_rate, csat_n,
    csat, ces_n, ces, dissatisfaction, friction_score, suppressed``.
    """
    gap_s = parse_window(gap, name="gap", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "friction", {"start": lo, "end": hi, "gap_seconds": gap_s, "horizon": _horizon(con, hi)})
    out["dropoff_rate"] = _ratio(out["dropped_off"], out["occurrences"])
    out["csat"] = out["csat"].astype(float).where(out["csat_n"] >= min_group_size)
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out["dissatisfaction"] = (1 - out["csat"]).fillna((7 - out["ces"]) / 6)
    out = suppress(out, n="customers",
                   values=["occurrences", "dropped_off", "dropoff_rate", "csat", "ces", "dissatisfaction"],
                   min_group_size=min_group_size)
    scored = ~out["suppressed"] & out["dropoff_rate"].notna() & out["dissatisfaction"].notna()
    ranks = pd.concat([out.loc[scored, "dropoff_rate"].rank(pct=True),
                       out.loc[scored, "dissatisfaction"].rank(pct=True)], axis=1)
    out["friction_score"] = ranks.mean(axis=1).reindex(out.index)
    cols = ["touchpoint", "channel", "stage", "occurrences", "customers", "dropped_off", "dropoff_rate", "csat_n",
            "csat", "ces_n", "ces", "dissatisfaction", "friction_score", "suppressed"]
    out = out[cols].sort_values(["friction_score", "touchpoint", "channel"], ascending=[False, True, True],
                                na_position="last", kind="stable")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- interactive


def funnel_explorer(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    *,
    window: str | timedelta | None = "7 days",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
):
    """An ipywidgets panel to re-run :func:`funnel` with another order, window or breakdown.

    For analysts in JupyterLab (notebooks show it only with ``interactive=True``). The panel's
    ``result`` attribute holds the latest funnel frame; ``chart`` the latest chart.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from .charts.journey import chart_funnel
    from .store import table_columns

    steps = _check_touchpoints(con, steps, name="steps", min_len=2)
    attributes = [c for c in table_columns(con, "customers") if c not in ("customer_id", "signup_at")]
    order_w = widgets.Dropdown(options=list(ORDERS), value="ordered", description="Order")
    window_w = widgets.Text(value="" if window is None else str(window) if isinstance(window, str) else
                            f"{parse_window(window) / 3600:g} hours", description="Window",
                            placeholder="7 days; empty = no limit")
    by_w = widgets.Dropdown(options=[("(none)", None), ("NPS group", NPS_GROUP)] + [(a, a) for a in attributes],
                            value=None, description="Split by")
    message = widgets.HTML()
    out = widgets.Output()
    panel = widgets.VBox([widgets.HBox([order_w, window_w, by_w]), message, out])
    panel.result, panel.chart = None, None

    def refresh(_=None):
        try:
            df = funnel(con, steps, window=window_w.value.strip() or None, order=order_w.value, by=by_w.value,
                        start=start, end=end, min_group_size=min_group_size)
        except CxInputError as exc:
            message.value = f"<span style='color:#c23b4b'>{_escape(str(exc))}</span>"
            return
        message.value = ""
        panel.result, panel.chart = df, chart_funnel(df)
        out.clear_output(wait=True)
        with out:
            display(panel.chart)
            display(df)

    for w in (order_w, window_w, by_w):
        w.observe(refresh, names="value")
    refresh()
    return panel


def _escape(text: str) -> str:
    import html

    return html.escape(text)
