"""Headline KPIs (cxlib.analysis.kpis) on tiny stores with values worked out by hand: two periods of
four weeks, NPS, churn, conversion, revenue and active customers, the change and its direction,
significance only where a test exists, KPIs a partial store cannot give, and small groups hidden."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

import cxlib
from cxlib.analysis.intervals import wilson_interval
from cxlib.analysis.kpis import REPORTS, headline_kpis, kpi_period
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

# current period [2024-03-01, 2024-03-29) (a date-only end includes that day), previous [2024-02-02, 2024-03-01)
WINDOW = dict(start="2024-03-01", end="2024-03-28")
STEPS = ["a", "b"]


def _customers(con, n=20):
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')",
                    [(f"c{i:02d}",) for i in range(1, n + 1)])


def _answers(con, rows):
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES (?, ?, ?, ?, ?)",
                    [(f"r{i:04d}", *r) for i, r in enumerate(rows)])


def _nps(scores, ts):
    return [(f"c{i + 1:02d}", ts, "nps", s) for i, s in enumerate(scores)]


def two_period_store(tmp_path):
    """NPS 30 -> 60; churn 1/10 -> 2/9; conversion a>b 1/5 -> 3/6; revenue 500 -> 750 from 5 buyers each;
    active customers 15 -> 16."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    _customers(con)
    _answers(con, _nps([10] * 5 + [8] * 3 + [3] * 2, "2024-02-10") + _nps([10] * 7 + [8] * 2 + [3], "2024-03-10"))
    con.executemany("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES (?, 'basic', "
                    "'2024-01-01', ?)", [(f"c{i:02d}", {1: "2024-02-15", 2: "2024-03-10", 3: "2024-03-10"}.get(i))
                                         for i in range(1, 11)])
    events = [(f"c{i}", "2024-02-05 10:00", "a") for i in range(11, 16)] + [("c11", "2024-02-06 10:00", "b")]
    events += [(f"c{i}", "2024-03-05 10:00", "a") for i in range(11, 17)]
    events += [(f"c{i}", "2024-03-06 10:00", "b") for i in (11, 12, 13)] + [("c11", "2024-03-28 12:00", "x")]
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, ?, 'web')", events)
    orders = [(f"o{i}", f"c{i:02d}", "2024-02-20", 100.0) for i in range(1, 6)]
    orders += [(f"p{i}", f"c{i:02d}", "2024-03-20", 150.0) for i in range(1, 6)]
    con.executemany("INSERT INTO orders (order_id, customer_id, ts, amount) VALUES (?, ?, ?, ?)", orders)
    refresh_derived(con)
    return con


def test_period_and_the_one_before_of_the_same_length(tmp_path):
    con = two_period_store(tmp_path)
    lo, hi, plo, phi, text = kpi_period(con, **WINDOW)
    assert (lo, hi, plo, phi) == (datetime(2024, 3, 1), datetime(2024, 3, 29), datetime(2024, 2, 2), datetime(2024, 3, 1))
    assert text == "previous 4 weeks"
    # no start: the 4 weeks up to the as-of date (2024-03-28 12:00, the last event), whole days
    assert kpi_period(con)[:2] == (datetime(2024, 3, 1), datetime(2024, 3, 29))
    # a month: the last whole month before the one holding the end, against the month before
    assert kpi_period(con, end="2024-03-31", period="month")[:4] == (
        datetime(2024, 3, 1), datetime(2024, 4, 1), datetime(2024, 2, 1), datetime(2024, 3, 1))
    assert kpi_period(con, period="month")[:2] == (datetime(2024, 2, 1), datetime(2024, 3, 1))
    with pytest.raises(CxInputError, match="period"):
        kpi_period(con, period="fortnight")


def test_overview_kpis_hand_computed(tmp_path):
    con = two_period_store(tmp_path)
    k = headline_kpis(con, "overview", funnel_steps=STEPS, funnel_window="7 days", **WINDOW)
    assert k.keys() == list(REPORTS["overview"]) and k.missing == ()

    nps = k["nps"]  # 7 P, 2 passives, 1 D of 10 -> 60; before 5 P, 3, 2 D -> 30
    assert (nps.value, nps.previous, nps.change, nps.change_unit) == (pytest.approx(60), pytest.approx(30),
                                                                       pytest.approx(30), "pts")
    half = 1.959964 * math.sqrt((0.8 - 0.6 ** 2) / 10) * 100
    assert (nps.lower, nps.upper) == (pytest.approx(60 - half), pytest.approx(min(100, 60 + half)))
    # z = 30 / sqrt(24.698^2 + 20.976^2) = 0.93: better, but within chance
    assert nps.direction == "better" and nps.significant is False

    churn = k["churn"]  # before: 10 active at 2024-02-02, c01 lost; now: 9 active at 2024-03-01, c02 and c03 lost
    assert churn.value == pytest.approx(200 / 9) and churn.previous == pytest.approx(10)
    assert churn.change == pytest.approx(200 / 9 - 10) and churn.direction == "worse"  # churn up = worse
    assert (churn.lower, churn.upper) == pytest.approx(wilson_interval(2, 9)) and churn.significant is False

    conv = k["conversion"]  # 3 of 6 starters reach b; before 1 of 5
    assert (conv.value, conv.previous, conv.change) == (pytest.approx(50), pytest.approx(20), pytest.approx(30))
    assert (conv.lower, conv.upper) == pytest.approx(wilson_interval(3, 6)) and conv.direction == "better"

    revenue = k["revenue"]  # money: relative change, no test claimed
    assert (revenue.value, revenue.previous, revenue.change, revenue.change_unit) == (750, 500, pytest.approx(50), "%")
    assert revenue.significant is None and revenue.lower is None and revenue.direction == "better"

    active = k["active_customers"]  # answers c01-c10, events c11-c16 (c11-c15 before), orders c01-c05
    assert (active.value, active.previous, active.change) == (16, 15, pytest.approx(100 / 15))


def test_a_significant_change_and_counts_without_a_test(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    _customers(con, 100)
    before = _nps([10] * 50 + [0] * 50, "2024-02-02")  # NPS 0, SE 10; the first day of the earlier period
    now = _nps([10] * 80 + [0] * 20, "2024-03-10")  # NPS 60, SE 8: z = 60 / 12.8 = 4.7
    _answers(con, before + now)
    k = headline_kpis(con, "voice_of_customer", **WINDOW)
    assert k["nps"].change == pytest.approx(60) and k["nps"].significant is True
    answers = k["responses"]  # 100 -> 100: flat, and no test for a count
    assert (answers.value, answers.change, answers.direction, answers.significant) == (100, 0, "flat", None)


def test_a_surveys_only_store_gives_the_survey_kpis_and_a_reason_for_the_rest(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    _customers(con)
    _answers(con, _nps([10] * 6 + [5] * 4, "2024-03-10") + [(f"c{i:02d}", "2024-03-11", "csat", 5) for i in range(1, 9)])
    voc_kpis = headline_kpis(con, "voice_of_customer", **WINDOW)
    assert voc_kpis.keys() == ["nps", "csat", "responses"]
    assert [label for label, _ in voc_kpis.missing] == ["CES (1-7)"]
    assert voc_kpis["nps"].value == pytest.approx(20) and voc_kpis["csat"].value == pytest.approx(100)
    # nothing in the period before: the value without a change
    assert voc_kpis["nps"].change is None and voc_kpis["nps"].note == "no earlier period to compare"
    assert voc_kpis["responses"].change is None and voc_kpis["responses"].note == "no earlier period to compare"

    overview = headline_kpis(con, "overview", funnel_steps=STEPS, **WINDOW)
    assert overview.keys() == ["active_customers", "nps"]
    reasons = dict(overview.missing)
    assert set(reasons) == {"Conversion", "Revenue", "Churn rate"}
    assert "events" in reasons["Conversion"] and "cx ingest events" in reasons["Conversion"]
    assert "orders" in reasons["Revenue"] and "cx ingest subscriptions" in reasons["Churn rate"]
    for reason in reasons.values():  # one plain sentence each
        assert reason.count(". ") <= 1 and reason.endswith(".")


def test_values_from_fewer_than_min_group_size_are_hidden(tmp_path):
    con = two_period_store(tmp_path)
    k = headline_kpis(con, "overview", funnel_steps=STEPS, min_group_size=6, **WINDOW)
    revenue = k["revenue"]  # 5 buying customers < 6: neither value nor change
    assert revenue.hidden and revenue.value is None and revenue.change is None and "fewer than 6" in revenue.note
    conv = k["conversion"]  # 6 starters now are shown; 5 before are not, so no change
    assert not conv.hidden and conv.value == pytest.approx(50)
    assert conv.change is None and conv.previous is None and "too small" in conv.note
    assert k["nps"].change == pytest.approx(30)  # 10 answers in each period

    tiny = headline_kpis(con, "voice_of_customer", min_group_size=11, **WINDOW)
    assert tiny["nps"].hidden and tiny["nps"].value is None and tiny["nps"].lower is None


def test_non_contractual_churn_moves_back_to_a_period_that_can_be_judged(tmp_path):
    con = two_period_store(tmp_path)
    k = headline_kpis(con, "churn", churn_definition="non_contractual", inactivity_days=30, **WINDOW)
    # as-of 2024-03-28 12:00, minus 30 days = 2024-02-27 12:00: the 4 weeks move back 5 weeks
    assert "2024-01-26 to 2024-02-22" in k["churn"].note


def test_unknown_report_is_an_input_error(tmp_path):
    con = two_period_store(tmp_path)
    with pytest.raises(CxInputError, match="report"):
        headline_kpis(con, "overveiw")


def test_counts_are_not_compared_with_a_partly_covered_earlier_period(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    _customers(con)
    _answers(con, _nps([10] * 6 + [5] * 4, "2024-02-20") + _nps([10] * 8 + [5] * 2, "2024-03-10"))
    k = headline_kpis(con, "voice_of_customer", **WINDOW)  # the data begin 2024-02-20, inside 2024-02-02..03-01
    assert k["responses"].change is None and "the data begin on 2024-02-20" in k["responses"].note
    assert k["nps"].change == pytest.approx(40)  # a score is still compared: 20 -> 60
