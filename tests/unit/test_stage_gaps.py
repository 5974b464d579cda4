"""stage_gaps(): the stage map honest about gaps. Customers who skip or reverse stages are counted, not
dropped; NPS per stage from answers tied to touchpoints, with intervals; a breakdown by segment.
Hand-computed cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import cxlib
from cxlib.analysis.intervals import nps_interval
from cxlib.analysis.journey.stage_moves import stage_gaps
from cxlib.errors import CxDataError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
STAGES = {"ad_click": "awareness", "home_page": "consideration", "checkout": "purchase", "chat": "service",
          "app_login": "loyalty"}  # 'mystery' has no stage
EVENTS = [
    ("c1", 0, "ad_click"), ("c1", 1, "home_page"), ("c1", 2, "checkout"), ("c1", 3, "app_login"),  # jumps over service
    ("c2", 0, "home_page"), ("c2", 1, "ad_click"), ("c2", 2, "home_page"), ("c2", 3, "checkout"),  # goes back
    ("c3", 0, "ad_click"), ("c3", 1, "mystery"), ("c3", 2, "checkout"), ("c3", 3, "chat"),  # skips consideration
    ("c4", 0, "checkout"), ("c4", 1, "checkout"), ("c4", 2, "chat"), ("c4", 3, "checkout"),  # back to purchase
]
REGION = {"c1": "north", "c2": "north", "c3": "south", "c4": "south"}
# (customer, hours, score, touchpoint): three answers about checkout (purchase), relationship answers of c1
ANSWERS = [("c1", 2.5, 10, "checkout"), ("c2", 3.5, 3, "checkout"), ("c3", 2.5, 9, "checkout"),
           ("c1", -1, 3, None), ("c1", 10, 10, None)]


def make_store(tmp_path, events=EVENTS, stages=STAGES, answers=ANSWERS):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    if stages:
        con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(stages.items()))
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, T0, REGION.get(i)) for i in ids])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)",
                    [(c, T0 + timedelta(hours=h), t) for c, h, t in events])
    for i, (cust, hours, score, tp) in enumerate(answers):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, "
                    "comment) VALUES (?, ?, ?, 'nps', ?, ?, NULL, NULL)", [f"r{i}", cust, T0 + timedelta(hours=hours),
                                                                           score, tp])
    refresh_derived(con)
    return con


COLS = ["customers", "started_here", "from_previous", "skipped_stage", "from_later", "reversed", "skipped_over"]


def test_skips_and_reversals_are_counted(tmp_path):
    out = stage_gaps(make_store(tmp_path), min_group_size=1).set_index("stage")
    assert out.index.tolist() == ["awareness", "consideration", "purchase", "service", "loyalty"]
    got = {s: [int(v) for v in out.loc[s, COLS]] for s in out.index}
    assert got == {
        "awareness": [3, 2, 0, 0, 1, 0, 0],  # c2 came to awareness back from consideration
        "consideration": [2, 1, 1, 0, 0, 1, 1],  # c2 went back from it; c3 jumped over it
        "purchase": [4, 1, 2, 1, 0, 0, 0],  # c3 came from awareness, skipping consideration
        "service": [2, 0, 2, 0, 0, 1, 1],  # c4 went back to purchase; c1 jumped over service
        "loyalty": [1, 0, 0, 1, 0, 0, 0],
    }
    # the four ways in add up to the customers who reached the stage
    ways = out[["started_here", "from_previous", "skipped_stage", "from_later"]].sum(axis=1)
    assert (ways == out["customers"]).all()
    assert out["share"].tolist() == [0.75, 0.5, 1.0, 0.5, 0.25]
    assert out.loc["consideration", "reversed_share"] == 0.5


def test_nps_per_stage_from_answers_about_its_touchpoints(tmp_path):
    out = stage_gaps(make_store(tmp_path), min_group_size=1).set_index("stage")
    p = out.loc["purchase"]
    assert p["nps_n"] == 3 and p["nps"] == pytest.approx(100 / 3)  # 2 promoters, 1 detractor; relationship answers not
    assert (p["nps_lower"], p["nps_upper"]) == pytest.approx(nps_interval(2, 1, 3))
    assert out.loc["service", "nps_n"] == 0 and out["nps"].drop("purchase").isna().all()
    (tmp_path / "x").mkdir()
    few = stage_gaps(make_store(tmp_path / "x"), min_group_size=4)
    assert few["nps"].isna().all()  # fewer answers than the minimum group size: blank


def test_breakdown_by_a_customer_column_and_by_nps_group(tmp_path):
    con = make_store(tmp_path)
    out = stage_gaps(con, by="region", min_group_size=1)
    got = {(r.segment, r.stage): int(r.customers) for r in out.itertuples()}
    assert got[("north", "purchase")] == 2 and got[("south", "purchase")] == 2 and got[("south", "loyalty")] == 0
    north = out[out["segment"] == "north"].set_index("stage")
    assert north.loc["consideration", "reversed"] == 1 and north.loc["purchase", "nps_n"] == 2
    # nps_group: the relationship answer at the start of the journey: c1 answered 3 before it, 10 after
    groups = stage_gaps(con, by="nps_group", min_group_size=1)
    assert set(groups["segment"]) == {"detractor", "no_response"}
    d = groups[groups["segment"] == "detractor"].set_index("stage")
    assert d.loc["loyalty", "customers"] == 1 and d.loc["awareness", "customers"] == 1


def test_suppression_is_complementary_across_segments_of_a_stage(tmp_path):
    out = stage_gaps(make_store(tmp_path), by="region", min_group_size=2)
    aware = out[out["stage"] == "awareness"].set_index("segment")
    assert aware["customers"].isna().all() and aware["suppressed"].all()  # south 1 hidden, so north 2 is its complement
    loyalty = out[out["stage"] == "loyalty"].set_index("segment")
    assert loyalty.loc["north", "suppressed"] and loyalty.loc["south", "customers"] == 0  # an empty group is shown
    shown = out.loc[~out["suppressed"], "customers"]
    assert ((shown == 0) | (shown >= 2)).all()


def test_a_clickstream_without_a_stage_map_says_what_it_needs(tmp_path):
    con = make_store(tmp_path, stages={}, answers=[])
    with pytest.raises(CxDataError, match="journey stage"):
        stage_gaps(con)


def test_a_store_without_surveys_shows_the_moves_and_blank_nps(tmp_path):
    out = stage_gaps(make_store(tmp_path, answers=[]), min_group_size=1)
    assert out["nps"].isna().all() and (out["nps_n"] == 0).all()
    assert out["customers"].tolist() == [3, 2, 4, 2, 1]
