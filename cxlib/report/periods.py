"""Complete periods: a stakeholder report covers whole weeks, months or quarters, never a part.

Two runs whose date ranges differ by a day would publish tables that differ by that day's
people; snapping both ends to whole periods makes them the same run. The report runner
(cxlib.report.runs) applies `complete_periods` to every target that takes `start`/`end`, before
any kernel starts, and states the range in the page header.

The period is the notebook's own (`period`, else `impact_period`: week, month or quarter), else
the week. Weeks are ISO weeks (Monday to Sunday), as DuckDB's ``date_trunc('week', ...)`` counts
them. A period is complete when the data reach its last day: the run's last day is the end of
the last period that ends on or before both the `end` asked for and the day of the store's
latest data (its as-of date). The first day moves forward to the first period start on or after
`start`.
"""

from __future__ import annotations

from datetime import date, timedelta

from cxlib.errors import CxInputError

PERIODS = ("week", "month", "quarter")


def report_period(params: dict) -> str:
    """The period a target's range is snapped to."""
    for name in ("period", "impact_period"):
        if params.get(name) in PERIODS:
            return params[name]
    return "week"


def period_end(day: date, period: str) -> date:
    """The last day of the last complete `period` that ends on or before `day`."""
    if period == "week":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    months = 1 if period == "month" else 3
    following = day + timedelta(days=1)
    if following.day == 1 and (following.month - 1) % months == 0:
        return day
    first = day.replace(day=1, month=day.month - (day.month - 1) % months)
    return first - timedelta(days=1)


def period_start(day: date, period: str) -> date:
    """The first day of the first `period` that starts on or after `day`."""
    if period == "week":
        return day + timedelta(days=(7 - day.weekday()) % 7)
    months = 1 if period == "month" else 3
    if day.day == 1 and (day.month - 1) % months == 0:
        return day
    month = day.month - (day.month - 1) % months + months
    return date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def complete_periods(params: dict, as_of: date | None) -> tuple[dict, str | None]:
    """`params` with `start` and `end` snapped to whole periods, and the sentence that says so.

    Targets without an `end` parameter, and stores with no dated data (`as_of` None), are left
    as they are (sentence None). Raises CxInputError when no whole period lies in the range.
    """
    if "end" not in params or as_of is None:
        return params, None
    period = report_period(params)
    asked_end = _day(params.get("end"), "end")
    asked_start = _day(params.get("start"), "start")
    limit = min(asked_end, as_of) if asked_end else as_of
    end = period_end(limit, period)
    start = period_start(asked_start, period) if asked_start else None
    if start is not None and start > end:
        raise CxInputError(f"start {asked_start} and end {asked_end or as_of} hold no complete {period}: a report "
                           f"covers whole {period}s (the nearest: {period_start(asked_start, period)} onwards)")
    out = dict(params, end=end.isoformat(), **({"start": start.isoformat()} if start else {}))
    first = f"{start} to " if start else "up to "
    sentence = f"complete {period}s, {first}{end}"
    if (asked_end and end != asked_end) or (start and start != asked_start) or not asked_end:
        asked = f"{asked_start or 'the first data'} to {asked_end or f'the latest data ({as_of})'}"
        sentence += f" (asked for {asked}; a report shows whole {period}s only)"
    return out, sentence


def _day(value, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise CxInputError(f"{name} must be a date, YYYY-MM-DD, got {value!r}") from None
