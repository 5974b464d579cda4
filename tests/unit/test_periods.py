"""Report runs cover whole periods (cxlib.report.periods), checked on hand-picked days."""

from datetime import date

import pytest

from cxlib.errors import CxInputError
from cxlib.report.periods import complete_periods, period_end, period_start, report_period

D = date.fromisoformat


@pytest.mark.parametrize(("day", "period", "end"), [
    ("2026-06-11", "week", "2026-06-07"),  # a Thursday: the Sunday before
    ("2026-06-14", "week", "2026-06-14"),  # a Sunday ends its own week
    ("2026-06-15", "week", "2026-06-14"),  # a Monday: only the week before is whole
    ("2026-06-29", "month", "2026-05-31"),
    ("2026-06-30", "month", "2026-06-30"),
    ("2024-02-29", "month", "2024-02-29"),  # leap day ends February
    ("2026-01-15", "month", "2025-12-31"),  # across a year
    ("2026-03-31", "quarter", "2026-03-31"),
    ("2026-06-29", "quarter", "2026-03-31"),
    ("2026-12-31", "quarter", "2026-12-31"),
])
def test_period_end(day, period, end):
    assert period_end(D(day), period) == D(end)


@pytest.mark.parametrize(("day", "period", "start"), [
    ("2026-06-11", "week", "2026-06-15"),
    ("2026-06-15", "week", "2026-06-15"),
    ("2026-06-01", "month", "2026-06-01"),
    ("2026-12-02", "month", "2027-01-01"),
    ("2026-01-01", "quarter", "2026-01-01"),
    ("2026-11-15", "quarter", "2027-01-01"),
])
def test_period_start(day, period, start):
    assert period_start(D(day), period) == D(start)


def test_two_runs_a_day_apart_become_the_same_run():
    """The issue's attack: end=2026-06-11 and end=2026-06-12 published tables one person apart."""
    a, said = complete_periods({"end": "2026-06-11", "start": None}, D("2026-06-30"))
    b, _ = complete_periods({"end": "2026-06-12", "start": None}, D("2026-06-30"))
    assert a == b == {"end": "2026-06-07", "start": None}
    assert said == "complete weeks, up to 2026-06-07 (asked for the first data to 2026-06-11; a report shows whole weeks only)"


def test_the_notebook_period_decides_and_the_data_end_caps():
    params = {"start": "2026-01-10", "end": None, "period": "month"}
    out, said = complete_periods(params, D("2026-06-30"))
    assert (out["start"], out["end"]) == ("2026-02-01", "2026-06-30")
    assert said.startswith("complete months, 2026-02-01 to 2026-06-30")
    out, _ = complete_periods({"end": "2027-01-01", "impact_period": "quarter"}, D("2026-06-12"))
    assert out["end"] == "2026-03-31"  # the data stop mid-June: the second quarter is not whole
    assert report_period({"period": "day"}) == "week"


def test_whole_periods_asked_for_are_kept_and_said_plainly():
    out, said = complete_periods({"start": "2026-06-01", "end": "2026-06-14"}, D("2026-06-30"))
    assert (out["start"], out["end"]) == ("2026-06-01", "2026-06-14")
    assert said == "complete weeks, 2026-06-01 to 2026-06-14"


def test_no_end_parameter_or_no_dated_data_is_left_alone():
    assert complete_periods({"segment": "plan"}, D("2026-06-30")) == ({"segment": "plan"}, None)
    assert complete_periods({"end": None}, None) == ({"end": None}, None)


def test_a_range_without_a_whole_period_is_refused():
    with pytest.raises(CxInputError, match="hold no complete month"):
        complete_periods({"start": "2026-06-02", "end": "2026-06-29", "period": "month"}, D("2026-06-30"))
    with pytest.raises(CxInputError, match="end must be a date"):
        complete_periods({"end": "June"}, D("2026-06-30"))
