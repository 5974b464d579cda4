"""What the journey analyses share: argument checks (windows, touchpoints, dates, segments), Wilson intervals.

Every journey function reads the derived table ``events_ordered`` (each customer's events
pre-sorted, with ``seq`` and the previous/next touchpoint, channel and time), runs one SQL file
of ``cxlib/sql`` with bound parameters and returns a small tidy DataFrame. Grouped results go
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
import pandas as pd

from cxlib import sql
from cxlib.errors import CxInputError, unknown_name
from cxlib.sql import Ident, checked_column, quote_ident
from cxlib.store.connection import as_of as store_as_of

ORDERS = ("ordered", "strict", "any")  # PostHog's funnel orders (the report's and the explorer's choices)


FUNNEL_TYPES = ("open", "closed", "hybrid")  # retentioneering's funnel_type values


FUNNEL_ORDERS = ORDERS + FUNNEL_TYPES  # what funnel(order=...) accepts


LEVELS = ("touchpoint", "stage")


NPS_GROUP = "nps_group"


# The anchor of a customer's NPS group (nps_group_at.sql): queries of ours giving customer_id, anchor_ts.
# 'journey_start': the customer's first event in the range (the SQL's fallback for a NULL anchor);
# 'funnel': the step-1 time of the customer's best attempt in cx_funnel_customers (the earliest of
# their rows with count='totals'; NULL for the retentioneering 'open' and 'hybrid' funnels, which
# keep no times: they fall back to the journey start).
NPS_ANCHORS = {
    "journey_start": Ident("SELECT DISTINCT customer_id, CAST(NULL AS TIMESTAMP) AS anchor_ts FROM events_ordered"),
    # min(): with count='totals' the table holds a row per counted attempt; the first one anchors
    "funnel": Ident("SELECT customer_id, min(times[1]) AS anchor_ts FROM cx_funnel_customers GROUP BY customer_id"),
}


NPS_GROUP_RULE = ("NPS group: the relationship answer given last at or before the start of the customer's journey "
                  "(a funnel's step 1), else the first answer after it; 'no_response' without any")


SERVICE_CONTACTS = ("chat", "phone_call", "email_support", "store_visit", "help_center")


# A month is 31 days, PostHog's convention for a funnel's conversion window (posthog/utils.py
# DATERANGE_MAP["month"] = timedelta(days=31), used by the funnel's conversion_window_limit); a week 7 days.
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400}


_TERM = r"(\d+(?:\.\d+)?)\s*(second|minute|hour|day|week|month)s?"


_WINDOW = re.compile(rf"^\s*{_TERM}(?:\s*(?:,|\band\b)?\s*{_TERM})*\s*$", re.IGNORECASE)


_WINDOW_TERM = re.compile(_TERM, re.IGNORECASE)




def parse_window(window, *, name: str = "window", allow_none: bool = True) -> float | None:
    """A time window as seconds: '7 days', '48 hours', '30 minutes', '2 weeks', '1 month', a compound
    such as '1 day 2 hours' (or '1 day, 2 hours', '1 day and 2 hours': the parts add up), a timedelta,
    or None.

    Units: second, minute, hour, day (24 hours), week (7 days), month = **31 days**, PostHog's
    convention for a funnel's conversion window (``DATERANGE_MAP['month']`` in posthog/utils.py, which
    its funnels multiply into seconds), not a calendar month. Singular or plural, any case.

    >>> parse_window("48 hours")
    172800.0
    >>> parse_window("1 day 2 hours")
    93600.0
    >>> parse_window("1 month") == 31 * 86400
    True
    """
    if window is None:
        if allow_none:
            return None
        raise CxInputError(f"{name} is required: give a duration such as '7 days' or '48 hours'")
    if isinstance(window, timedelta):
        seconds = window.total_seconds()
    elif isinstance(window, str):
        if not _WINDOW.match(window):
            raise CxInputError(
                f"{name} {window!r} is not a duration: write it like '7 days', '48 hours', '30 minutes', "
                f"'2 weeks', '1 month' (31 days) or '1 day 2 hours', or pass a datetime.timedelta"
                + (" (None means no limit)" if allow_none else "")
            )
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _WINDOW_TERM.findall(window))
    else:
        raise CxInputError(f"{name} must be text like '7 days', a timedelta or None, got {window!r}")
    if not seconds > 0:
        raise CxInputError(f"{name} must be longer than zero, got {window!r}")
    return float(seconds)


def stored_events(con: duckdb.DuckDBPyConnection) -> str:
    """The store's own ``events`` table as a query names it: plain ``events``, or on a DuckDB store
    whose ``events`` a connection-local view hides (a filtered store, ``cxlib.explore.filtered``)
    the stored table by its full name, ``"<database>".main.events``. On Spark nothing hides it
    (``cxlib.sql.shadowed``), so both engines read the same rows with the same text."""
    if not sql.shadowed(con, ["events"]):
        return "events"
    return f"{quote_ident(con.execute('SELECT current_database()').fetchone()[0])}.main.events"


def _known_touchpoints(con: duckdb.DuckDBPyConnection, among: Sequence[str] | None = None) -> set[str]:
    """Touchpoints that occur in the store's events (of `among` only, when given).

    Never the stage map: a store starts with the shipped map of the sample's touchpoints, so a
    touchpoint found only there has never been seen in this store. The stored ``events`` table is
    read even on a filtered store (whose ``events`` is a filtered view), so a filter that happens
    to exclude a touchpoint does not make it unknown.
    """
    stored = stored_events(con)
    if among is None:
        return {r[0] for r in con.execute(f"SELECT DISTINCT touchpoint FROM {stored}").fetchall()}
    # one query per name that stops at its first event: a scan of all events only for a name not there
    return {t for t in set(among)
            if con.execute(f"SELECT 1 FROM {stored} WHERE touchpoint = ? LIMIT 1", [t]).fetchone()}


def _check_touchpoints(con, values, *, name: str, min_len: int = 0) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise CxInputError(f"{name} must be a list of touchpoints, e.g. ['product_page', 'checkout'], got {values!r}")
    values = list(values)
    if len(values) < min_len:
        raise CxInputError(f"{name} needs at least {min_len} touchpoints, got {len(values)}: {values!r}")
    for v in values:
        if not isinstance(v, str):
            raise CxInputError(f"each of {name} must be a touchpoint name (text), got {v!r}")
    known = _known_touchpoints(con, values) if values else set()
    for v in values:
        if v not in known:
            raise unknown_name("touchpoint", v, "this store's events", _known_touchpoints(con))
    return values


def _contacts(con, contacts) -> list[str]:
    """The service-contact touchpoints: as given (checked), or the defaults the store's events hold."""
    if contacts is None:
        known = _known_touchpoints(con, SERVICE_CONTACTS)
        contacts = [c for c in SERVICE_CONTACTS if c in known]
        if not contacts:
            raise CxInputError(f"none of the default service contacts {list(SERVICE_CONTACTS)} is in this store's "
                               "events: pass contacts=[...] with your service touchpoints")
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


def nps_groups(con: duckdb.DuckDBPyConnection, anchor: str = "journey_start", *, horizon: datetime,
               start: datetime | None = None, end: datetime | None = None) -> None:
    """Each customer's NPS group at the time of their journey, into the temp table ``cx_nps_groups``
    (customer_id, anchor_ts, nps_score, nps_answered_at, nps_timing, nps_group).

    *Rule* (docs/metrics.md, Funnel: breakdown): among the customer's relationship NPS answers
    (metric 'nps', blank touchpoint) given at or before `horizon`, the answer given **last at or
    before the anchor** (ties on time: the highest response_id); a customer with none before takes
    the **first answer after** it (``nps_timing='after'``); none at all: ``'no_response'``
    (``nps_timing='none'``). A customer with a single answer gets that answer's group, wherever it
    lies. The anchor (`anchor`, a key of ``NPS_ANCHORS``): ``'funnel'`` = the step-1 time of the
    customer's best attempt in ``cx_funnel_customers`` (run the funnel first); ``'journey_start'``
    (and any NULL funnel time) = the customer's first event in `start`..`end` (``_date_bounds``
    values); without one, `horizon`, i.e. the latest answer.

    Every journey breakdown by ``by='nps_group'`` should join this table instead of taking the
    latest answer ever: a customer who answered 3 and later 10 was a detractor on a journey before
    the 10.
    """
    anchors = NPS_ANCHORS.get(anchor)
    if anchors is None:
        raise unknown_name("NPS anchor", str(anchor), "the NPS group anchors", NPS_ANCHORS)
    sql.run(con, "nps_group_at", {"horizon": horizon, "start": start, "end": end}, {"anchors": anchors})


def funnel_nps_groups(con: duckdb.DuckDBPyConnection, *, horizon: datetime, start: datetime | None = None,
                      end: datetime | None = None) -> None:
    """Relabel ``cx_funnel_customers.segment`` with each customer's NPS group at their step-1 time
    (:func:`nps_groups` with ``anchor='funnel'``). For funnels.py, right after funnel_customers.sql
    has run with ``by_mode='nps'``; the same `horizon`, `start`, `end` (``_date_bounds`` values)."""
    nps_groups(con, "funnel", horizon=horizon, start=start, end=end)
    sql.run(con, "nps_group_funnel", {})


def segment_rows(con: duckdb.DuckDBPyConnection, by, *, horizon: datetime, start: datetime | None = None,
                 end: datetime | None = None) -> tuple[str, Ident]:
    """(by_mode, a query of ours giving ``customer_id, segment`` for every customer) for a breakdown:
    None -> 'all'; a customers column -> its value ('(none)' when blank); ``'nps_group'`` -> the NPS
    group at the start of the customer's journey in `start`..`end` (:func:`nps_groups`, anchor
    'journey_start': it fills ``cx_nps_groups`` now, so run the query right after).

    A journey query takes it as a ``{segments}`` slot (``WITH seg AS ({segments})``) in place of
    its own latest-answer CTE; customers it does not list (events without a customers row) are
    '(none)' ('no_response' for nps_group, 'all' without a breakdown).
    """
    by_mode, slot = _segment(con, by)
    if by_mode == "none":
        return by_mode, Ident("SELECT customer_id, 'all' AS segment FROM customers")
    if by_mode == "nps":
        nps_groups(con, "journey_start", horizon=horizon, start=start, end=end)
        return by_mode, Ident("SELECT customer_id, nps_group AS segment FROM cx_nps_groups")
    return by_mode, Ident(f"SELECT customer_id, coalesce(CAST({slot} AS VARCHAR), '(none)') AS segment FROM customers")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype(float)
    den = den.astype(float)
    return (num / den.where(den > 0)).astype(float)


def _seconds_to_timedelta(s: pd.Series) -> pd.Series:
    return pd.to_timedelta(s.astype(float), unit="s")


def _check_int(value, name: str, *, low: int = 1, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CxInputError(f"{name} must be a whole number of at least {low}, got {value!r}")
    return value


def _to_lists(series: pd.Series) -> pd.Series:
    return series.map(lambda v: [str(x) for x in v] if v is not None else [])
