"""Headline KPIs for the tiles at the top of each report: a few metrics of one period, each with
its interval where the metric has one, the value of the period before (of the same length), the
change, whether that change is better or worse, and whether it is beyond chance where a test exists.

Every value comes from the metric functions of its area (``voc.nps``, ``voc.csat``, ``voc.ces``,
``journey.funnel``, ``churn.churn_status``, ``service.resolution_times``) or, for plain counts and
revenue, from one query (``sql/kpi_counts.sql``). Nothing is re-defined here.

*Periods*: ``[start, end)``. A date-only `end` text includes that day (as in every area). Without
`start`: with `period` ('week', 'month', 'quarter') the last complete such period ending by `end`
(or the store's as-of date) against the one before; without `period`, the 4 weeks up to `end`
against the 4 weeks before. With `start`: the period as given against the same number of days
before it.

*Changes*: rates and scores (NPS, CSAT, conversion, churn, CES) change in absolute points; counts,
money and durations in percent of the earlier value. ``direction`` is 'better', 'worse' or 'flat'
by the metric's polarity (churn and resolution time down = better); metrics without one (answers,
tickets) say 'up', 'down' or 'flat'. ``significant`` is set only where an interval test exists
(the two-period z-test of docs/metrics.md: |diff| / sqrt(SE1^2 + SE2^2) > 1.96); None otherwise.

A count, money or time is compared only when the data cover the whole earlier period (they begin on or
before its first day); a partly covered period would make any count look like growth.

*Missing data*: a KPI the store cannot give at all is left out and listed in ``missing`` with one
sentence (what it needs, how to load it; the requirements of ``cxlib.analysis.needs``). An earlier
period with no data gives the value without a change ("no earlier period to compare").

*Privacy*: a value from fewer than `min_group_size` customers or answers (0 < n < k) is hidden
(``cxlib.privacy.suppress``, primary suppression, with the release ledger in report runs), and so is
the change when either period is hidden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis import needs
from cxlib.analysis.intervals import nps_se, wilson_interval
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.store.connection import as_of as store_as_of

__all__ = ["Kpi", "Kpis", "REPORTS", "headline_kpis", "kpi_period"]

Z = 1.959964
PERIODS = ("week", "month", "quarter")
DEFAULT_DAYS = 28


@dataclass(frozen=True)
class Kpi:
    """One headline metric of one period. ``kind``: 'count', 'money', 'score' (NPS points),
    'percent' (0-100), 'mean' (CES on 1-7) or 'duration' (hours). ``change_unit``: 'pts' (absolute)
    or '%' (relative). ``note``: why a value or change is not shown, or what the period is."""

    key: str
    label: str
    kind: str
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    previous: float | None = None
    change: float | None = None
    change_unit: str = ""
    direction: str | None = None
    significant: bool | None = None
    hidden: bool = False
    note: str = ""
    n: int | None = None


@dataclass(frozen=True)
class Kpis:
    """The KPIs of a report for one period, and the ones the store cannot give (label, sentence)."""

    report: str
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    comparison: str  # "previous 4 weeks", "previous month", ...
    kpis: tuple[Kpi, ...] = ()
    missing: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    min_group_size: int = MIN_GROUP_SIZE

    def __getitem__(self, key: str) -> Kpi:
        for kpi in self.kpis:
            if kpi.key == key:
                return kpi
        raise KeyError(key)

    def keys(self) -> list[str]:
        return [k.key for k in self.kpis]


@dataclass(frozen=True)
class _Measure:
    """A metric in one period: value, the count it comes from (n), interval and standard error."""

    value: float | None
    n: int
    lower: float | None = None
    upper: float | None = None
    se: float | None = None


class _Missing(Exception):
    """The store cannot give this KPI at all; the message is the sentence."""


# key -> label, kind, polarity (+1 higher is better, -1 lower is better, 0 neither), relative change
METRICS = {
    "active_customers": ("Active customers", "count", 1),
    "event_customers": ("Customers with events", "count", 1),
    "customers": ("Customers", "count", 1),
    "responses": ("Survey answers", "count", 0),
    "nps": ("NPS", "score", 1),
    "csat": ("CSAT", "percent", 1),
    "ces": ("CES (1-7)", "mean", 1),
    "conversion": ("Conversion", "percent", 1),
    "churn": ("Churn rate", "percent", -1),
    "revenue": ("Revenue", "money", 1),
    "revenue_per_customer": ("Revenue per buying customer", "money", 1),
    "subscriptions": ("Active subscriptions", "count", 1),
    "tickets": ("Tickets opened", "count", 0),
    "resolution": ("Median resolution time", "duration", -1),
}
ABSOLUTE = {"score", "percent", "mean"}  # changes in points; the others in percent of the earlier value
REPORTS = {
    "overview": ("active_customers", "nps", "conversion", "revenue", "churn"),
    "voice_of_customer": ("nps", "csat", "ces", "responses"),
    "churn": ("churn", "active_customers", "subscriptions"),
    "journey": ("event_customers", "conversion"),
    "segments": ("customers", "revenue_per_customer"),
    "service": ("resolution", "tickets"),
}


def kpi_period(con: duckdb.DuckDBPyConnection, *, start=None, end=None, period: str | None = None
               ) -> tuple[datetime, datetime, datetime, datetime, str]:
    """(start, end, previous_start, previous_end, comparison text) of the KPI period (module docstring)."""
    if period is not None and period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    hi = _bound(end, "end", whole_day=True)
    if hi is None:
        latest = pd.Timestamp(store_as_of(con))
        hi = datetime(latest.year, latest.month, latest.day) + timedelta(days=1)
    lo = _bound(start, "start")
    if lo is not None:
        if hi <= lo:
            raise CxInputError(f"end ({end}) must be after start ({start})")
        days = (hi - lo).days or 1
        return lo, hi, lo - (hi - lo), lo, f"previous {_days_text(days)}"
    if period is None:
        lo = hi - timedelta(days=DEFAULT_DAYS)
        return lo, hi, lo - timedelta(days=DEFAULT_DAYS), lo, f"previous {_days_text(DEFAULT_DAYS)}"
    if period == "week":
        hi = hi - timedelta(days=hi.weekday())  # Monday 00:00 on or before: the end of the last whole week
        return hi - timedelta(days=7), hi, hi - timedelta(days=14), hi - timedelta(days=7), "previous week"
    months = 1 if period == "month" else 3
    first = hi.replace(day=1) if hi.day != 1 else hi
    first = first.replace(month=first.month - (first.month - 1) % months)
    hi = first  # the start of the period holding `end`: the end of the last whole one
    lo = (pd.Timestamp(hi) - pd.DateOffset(months=months)).to_pydatetime()
    before = (pd.Timestamp(lo) - pd.DateOffset(months=months)).to_pydatetime()
    return lo, hi, before, lo, f"previous {period}"


def _bound(value, name: str, *, whole_day: bool = False) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        day = datetime(value.year, value.month, value.day)
        return day + timedelta(days=1) if whole_day else day
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise CxInputError(f"{name} must be a date, YYYY-MM-DD, got {value!r}") from None
    return parsed + timedelta(days=1) if whole_day and len(str(value).strip()) <= 10 else parsed


def _days_text(days: int) -> str:
    if days % 7 == 0:
        return "week" if days == 7 else f"{days // 7} weeks"
    return "day" if days == 1 else f"{days} days"


def headline_kpis(
    con: duckdb.DuckDBPyConnection,
    report: str,
    *,
    start=None,
    end=None,
    period: str | None = None,
    funnel_steps=None,
    funnel_window: str | None = "7 days",
    churn_definition: str = "contractual",
    inactivity_days: int = 90,
    min_group_size: int = MIN_GROUP_SIZE,
) -> Kpis:
    """The headline KPIs of `report` (a key of REPORTS) for the period of `kpi_period` against the one
    before: value, 95% interval where the metric has one, earlier value, change, direction and, where
    an interval test exists, significance. KPIs the store cannot give are in ``missing`` with one
    sentence. Values from fewer than `min_group_size` customers or answers are hidden (module docstring).
    """
    if report not in REPORTS:
        raise unknown_name("report", str(report), "the reports with KPI tiles", REPORTS)
    k = check_min_group_size(min_group_size)
    lo, hi, plo, phi, comparison = kpi_period(con, start=start, end=end, period=period)
    ctx = {"steps": list(funnel_steps) if funnel_steps else None, "window": funnel_window,
           "definition": churn_definition, "inactivity_days": inactivity_days}
    counts = {(plo, phi): sql.run(con, "kpi_counts", {"start": plo, "end": phi}).iloc[0]}  # once per period
    ctx["first_seen"] = counts[(plo, phi)]["first_seen"]
    shown, missing = [], []
    for key in REPORTS[report]:
        try:
            _require(con, key, ctx)
            kpi = _kpi(con, key, ctx, counts, (lo, hi), (plo, phi), k)
        except _Missing as reason:
            missing.append((METRICS[key][0], str(reason)))
            continue
        shown.append(kpi)
    return Kpis(report, lo, hi, plo, phi, comparison, tuple(shown), tuple(missing), k)


# ---- what each KPI needs ---------------------------------------------------------------------

def _count_rows(query: str):
    return lambda con, context: con.execute(query).fetchone()[0] or 0


ANSWERS = needs.Requirement("survey answers", _count_rows("SELECT count(*) FROM survey_responses"),
                            load=needs.LOAD["surveys"])
ACTIVITY_ANY = needs.Requirement(
    "dated activity (events, survey answers, orders or tickets)",
    _count_rows("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM survey_responses) "
                "+ (SELECT count(*) FROM orders) + (SELECT count(*) FROM tickets)"),
    load=needs.LOAD["events"])
REQUIRES = {
    "active_customers": (ACTIVITY_ANY,), "customers": (ACTIVITY_ANY,), "event_customers": (needs.EVENTS,),
    "responses": (ANSWERS,), "nps": (needs.NPS,), "csat": (needs.CSAT,), "ces": (needs.CES,),
    "conversion": (needs.EVENTS, needs.FUNNEL_STEPS), "churn": (needs.ACTIVITY,), "revenue": (needs.ORDERS,),
    "revenue_per_customer": (needs.ORDERS,), "subscriptions": (needs.SUBSCRIPTIONS,),
    "tickets": (needs.TICKETS,), "resolution": (needs.RESOLVED_TICKETS,),
}


def _require(con, key: str, ctx: dict) -> None:
    for req in REQUIRES[key]:
        if req.count(con, ctx) < req.minimum:
            how = f" Load them with: {req.load}." if req.load else ""
            raise _Missing(f"{METRICS[key][0]} needs {req.label}, which this store does not hold.{how}")


# ---- one KPI -----------------------------------------------------------------------------------

def _kpi(con, key: str, ctx: dict, counts: dict, current: tuple, previous: tuple, k: int) -> Kpi:
    label, kind, polarity = METRICS[key]
    note = ""
    if key == "churn":
        current, previous, note = _judged(con, ctx, current, previous)
    now, before = (_measure(con, key, ctx, counts, *w) for w in (current, previous))
    frame = pd.DataFrame({"kpi": [key, key], "period": [f"{current[0]:%Y-%m-%d}", f"{previous[0]:%Y-%m-%d}"],
                          "n": [now.n, before.n]})
    hidden = suppress(frame, n="n", values=[], min_group_size=k, margins=[])["suppressed"].tolist()
    kpi = Kpi(key, label, kind, n=now.n, note=note)
    if hidden[0]:
        return replace(kpi, hidden=True, note=f"hidden: fewer than {k} behind it, to protect their privacy")
    kpi = replace(kpi, value=now.value, lower=now.lower, upper=now.upper)
    if now.value is None:
        return replace(kpi, note=_join(note, "no data in this period"))
    if hidden[1]:
        return replace(kpi, note=_join(note, "the earlier period is too small to compare"))
    if before.value is None or (kind not in ABSOLUTE and not before.value):
        return replace(kpi, note=_join(note, "no earlier period to compare"))
    first = ctx["first_seen"]
    if kind not in ABSOLUTE and not pd.isna(first) and pd.Timestamp(first) > pd.Timestamp(previous[0]):
        return replace(kpi, note=_join(note, f"no whole earlier period to compare: the data begin on {first:%Y-%m-%d}"))
    return _with_change(kpi, now, before, polarity)


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _with_change(kpi: Kpi, now: _Measure, before: _Measure, polarity: int) -> Kpi:
    relative = kpi.kind not in ABSOLUTE
    change = (now.value - before.value) / abs(before.value) * 100 if relative else now.value - before.value
    significant = None
    if now.se is not None and before.se is not None and not (math.isnan(now.se) or math.isnan(before.se)):
        se = math.sqrt(now.se ** 2 + before.se ** 2)
        significant = bool(abs(change) / se > Z) if se > 0 else change != 0
    if round(change, 1) == 0:
        direction = "flat"
    elif polarity == 0:
        direction = "up" if change > 0 else "down"
    else:
        direction = "better" if change * polarity > 0 else "worse"
    return replace(kpi, previous=before.value, change=change, change_unit="%" if relative else "pts",
                   direction=direction, significant=significant)


def _judged(con, ctx: dict, current: tuple, previous: tuple) -> tuple[tuple, tuple, str]:
    """Non-contractual churn is known only `inactivity_days` after a period ends: both periods move
    back (by whole weeks) until the current one is judged, and the note says so."""
    if ctx["definition"] != "non_contractual":
        return current, previous, ""
    cutoff = pd.Timestamp(store_as_of(con)).to_pydatetime() - timedelta(days=ctx["inactivity_days"])
    if current[1] <= cutoff:
        return current, previous, ""
    weeks = math.ceil((current[1] - cutoff) / timedelta(days=7))
    shift = timedelta(days=7 * weeks)
    current, previous = (current[0] - shift, current[1] - shift), (previous[0] - shift, previous[1] - shift)
    last = current[1] - timedelta(days=1)
    return current, previous, (f"churn {current[0]:%Y-%m-%d} to {last:%Y-%m-%d}, the latest period whose churn "
                               f"is known ({ctx['inactivity_days']} days without activity)")


# ---- the metric in one period ------------------------------------------------------------------

def _measure(con, key: str, ctx: dict, counts: dict, lo: datetime, hi: datetime) -> _Measure:
    if key in ("nps", "csat", "ces"):
        return _survey(con, key, lo, hi)
    if key == "conversion":
        return _conversion(con, ctx, lo, hi)
    if key == "churn":
        return _churn(con, ctx, lo, hi)
    if key == "resolution":
        return _resolution(con, lo, hi)
    if (lo, hi) not in counts:
        counts[(lo, hi)] = sql.run(con, "kpi_counts", {"start": lo, "end": hi}).iloc[0]
    row = counts[(lo, hi)]
    plain = {"active_customers": ("active_customers", "active_customers"), "customers": ("active_customers",
             "active_customers"), "event_customers": ("event_customers", "event_customers"),
             "responses": ("responses", "respondents"), "subscriptions": ("active_subscriptions", "subscribers"),
             "tickets": ("tickets", "ticket_customers"), "revenue": ("revenue", "order_customers")}
    if key in plain:
        value, n = plain[key]
        v = row[value]
        return _Measure(0.0 if pd.isna(v) else float(v), int(row[n]))
    buyers = int(row["order_customers"])  # revenue_per_customer
    return _Measure(float(row["revenue"]) / buyers if buyers else None, buyers)


def _survey(con, key: str, lo, hi) -> _Measure:
    from cxlib.analysis.voc import scores

    fn = {"nps": scores.nps, "csat": scores.csat, "ces": scores.ces}[key]
    row = fn(con, start=lo, end=hi, min_group_size=1).iloc[0]  # raw: suppressed by the caller
    n = int(row["n"])
    if n == 0:
        return _Measure(None, 0)
    if key == "nps":
        se = float(nps_se(float(row["promoters"]), float(row["detractors"]), n))
        value = float(row["nps"])
    elif key == "csat":
        p = float(row["csat"]) / 100
        value, se = float(row["csat"]), math.sqrt(p * (1 - p) / n) * 100
    else:
        from scipy import stats

        value = float(row["mean"])
        se = (float(row["ci_upper"]) - float(row["ci_lower"])) / (2 * stats.t.ppf(0.975, n - 1)) if n > 1 else None
    return _Measure(value, n, _num(row["ci_lower"]), _num(row["ci_upper"]), se)


def _rate(hits: int, n: int) -> _Measure:
    """hits / n in percent, its Wilson interval and binomial standard error."""
    if n <= 0:
        return _Measure(None, 0)
    p = hits / n
    lower, upper = wilson_interval(hits, n)
    return _Measure(p * 100, n, lower, upper, math.sqrt(p * (1 - p) / n) * 100)


def _conversion(con, ctx: dict, lo, hi) -> _Measure:
    """Customers reaching the last funnel step / customers starting it in the period (cxlib.funnel;
    customers whose window is still open are left out of the denominator), as shifts does."""
    from cxlib.analysis.journey import funnel

    f = funnel(con, ctx["steps"], window=ctx["window"], start=lo, end=hi, min_group_size=1).sort_values("step")
    n = int(f["customers"].iloc[0]) - int(f["open_window"].iloc[1:].fillna(0).sum())
    return _rate(int(f["customers"].iloc[-1]), n)


def _churn(con, ctx: dict, lo, hi) -> _Measure:
    """Customers lost in the period / customers active at its start (as cxlib.period_churn)."""
    from cxlib.analysis.churn import churn_status

    try:
        s = churn_status(con, definition=ctx["definition"], inactivity_days=ctx["inactivity_days"])
    except CxDataError as error:
        raise _Missing(f"Churn rate: {str(error).rstrip('.')}.") from None
    churned = s["churned"].astype(bool)
    active = (s["start"] < lo) & (~churned | (s["end"] >= lo))
    lost = active & churned & (s["end"] < hi)
    return _rate(int(lost.sum()), int(active.sum()))


def _resolution(con, lo, hi) -> _Measure:
    """Median resolution time in hours of the tickets opened in the period (cxlib.resolution_times)."""
    from cxlib.analysis.service import resolution_times

    df = resolution_times(con, start=lo, end=hi, min_group_size=1)
    if df.empty:
        return _Measure(None, 0)
    row = df.iloc[0]
    resolved = int(row["resolved"]) if not pd.isna(row["resolved"]) else 0
    if not resolved:
        return _Measure(None, 0)
    return _Measure(float(row["median_hours"]), resolved, _num(row["median_hours_lower"]),
                    _num(row["median_hours_upper"]))


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)

