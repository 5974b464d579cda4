"""NPS groups at the time of the journey (common.nps_groups): the relationship answer given last at or
before the anchor (a funnel's step 1, or the journey's first event), else the first after, else
'no_response'; a customer with one answer keeps its group wherever it lies."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import cxlib
from cxlib.analysis.journey import funnel
from cxlib.analysis.journey.common import _horizon, funnel_nps_groups, nps_groups, segment_rows
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


EVENTS = [
    ("early", 50, "ad_click"), ("early", 51, "home_page"),  # step 1 between the 3 (h10) and the 10 (h100)
    ("late", 150, "ad_click"),  # step 1 after both answers: the 10
    ("after", 50, "ad_click"),  # answered only after step 1 (h200): that answer, timing 'after'
    ("one", 50, "ad_click"),  # one answer, before: as the latest-answer rule gave
    ("none", 50, "ad_click"),  # never answered
    ("zz", 1000, "app_login"),
]
ANSWERS = [("early", 10, 3), ("early", 100, 10), ("late", 10, 3), ("late", 100, 10), ("after", 200, 8),
           ("one", 5, 9), ("early", 100, 2, "touch")]  # an answer about a touchpoint is not relationship NPS


def make_store(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({e[0] for e in EVENTS})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)",
                    [(c, at(h), t) for c, h, t in EVENTS])
    for i, (cust, hours, score, *tp) in enumerate(ANSWERS):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, "
                    "comment) VALUES (?, ?, ?, 'nps', ?, ?, NULL, NULL)",
                    [f"r{i}", cust, at(hours), score, "checkout" if tp else None])
    refresh_derived(con)
    return con


def groups(con):
    rows = con.execute("SELECT customer_id, nps_group, nps_timing, nps_score FROM cx_nps_groups").fetchall()
    return {c: (g, t, s) for c, g, t, s in rows}


def test_the_funnel_before_the_second_answer_puts_the_customer_in_detractor(tmp_path):
    con = make_store(tmp_path)
    funnel(con, ["ad_click", "home_page"], min_group_size=1)  # leaves cx_funnel_customers in the connection
    funnel_nps_groups(con, horizon=_horizon(con, None))
    seg = dict(con.execute("SELECT customer_id, segment FROM cx_funnel_customers").fetchall())
    assert seg == {"early": "detractor", "late": "promoter", "after": "passive", "one": "promoter",
                   "none": "no_response"}
    got = groups(con)
    assert got["early"] == ("detractor", "before", 3) and got["after"] == ("passive", "after", 8)
    assert got["none"] == ("no_response", "none", None)


def test_the_journey_start_anchor_and_the_date_range(tmp_path):
    con = make_store(tmp_path)
    nps_groups(con, "journey_start", horizon=_horizon(con, None))
    got = groups(con)
    assert got["early"][0] == "detractor" and got["late"][0] == "promoter" and "zz" in got
    # a range starting after the 10: early's journey in it starts later, so the 10 is the answer before
    con.execute("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) "
                "VALUES ('early', ?, 'ad_click', 'web', NULL)", [at(120)])
    refresh_derived(con)
    nps_groups(con, "journey_start", horizon=_horizon(con, None), start=at(110))
    assert groups(con)["early"] == ("promoter", "before", 10)


def test_answers_after_the_horizon_are_not_seen(tmp_path):
    con = make_store(tmp_path)
    nps_groups(con, "journey_start", horizon=at(150))  # the 8 of 'after' (h200) is past the end of the data
    assert groups(con)["after"] == ("no_response", "none", None)


def test_an_unknown_anchor_is_an_input_error(tmp_path):
    con = make_store(tmp_path)
    with pytest.raises(CxInputError, match="did you mean 'funnel'"):
        nps_groups(con, "funel", horizon=at(1000))


def test_funnel_by_nps_group_uses_the_answer_before_step_one(tmp_path):
    con = make_store(tmp_path)
    out = funnel(con, ["ad_click", "home_page"], by="nps_group", min_group_size=1)
    got = {(r.segment, r.step): int(r.customers) for r in out.itertuples()}
    assert got[("detractor", 1)] == 1 and got[("detractor", 2)] == 1  # 'early': 3 before step 1, 10 after
    assert got[("promoter", 1)] == 2  # 'late' (10 before its step 1) and 'one'
    assert got[("passive", 1)] == 1 and got[("no_response", 1)] == 1


def test_segment_rows_give_every_journey_query_the_group_at_the_journey_start(tmp_path):
    con = make_store(tmp_path)
    by_mode, query = segment_rows(con, "nps_group", horizon=_horizon(con, None))
    assert by_mode == "nps"
    got = dict(con.execute(query).fetchall())
    assert got["early"] == "detractor" and got["late"] == "promoter" and got["none"] == "no_response"
    assert dict(con.execute(segment_rows(con, None, horizon=at(1000))[1]).fetchall())["early"] == "all"


def test_a_customer_with_several_funnel_rows_gets_one_group(tmp_path):
    con = make_store(tmp_path)
    con.execute("CREATE OR REPLACE TEMP TABLE cx_funnel_customers AS SELECT * FROM (VALUES "
                "('early', 'x', [TIMESTAMP '2024-01-03 02:00:00']), ('early', 'x', [TIMESTAMP '2024-01-07 00:00:00'])) "
                "AS t(customer_id, segment, times)")
    funnel_nps_groups(con, horizon=_horizon(con, None))  # the earliest step 1 (h50) anchors: the 3 before it
    assert con.execute("SELECT DISTINCT segment FROM cx_funnel_customers").fetchall() == [("detractor",)]
