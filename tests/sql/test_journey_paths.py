"""transitions, variants, step matrix, paths and the stage map: rows in, rows out."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import (
    fit_flow_level,
    journey_map,
    paths,
    stage_coverage,
    step_matrix,
    transitions,
    variants,
)
from cxlib.charts.tables import HIDDEN, TOO_FEW, formatted
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

STAGES = {
    "ad_click": "awareness", "home_page": "consideration", "product_page": "consideration",
    "checkout": "purchase", "payment": "purchase", "chat": "service", "app_login": "loyalty",
}
T0 = datetime(2024, 1, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_store(tmp_path, events, surveys=()):
    """events = [(customer, hours, touchpoint[, channel])]; surveys = [(customer, hours, metric, score, tp)]."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(STAGES.items()))
    ids = sorted({e[0] for e in events} | {s[0] for s in surveys})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
                    [(e[0], at(e[1]), e[2], e[3] if len(e) > 3 else "web") for e in events])
    for i, (cust, hours, metric, score, tp) in enumerate(surveys):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                    [f"r{i}", cust, at(hours), metric, score, tp])
    refresh_derived(con)
    return con


JOURNEYS = [
    # u1: ad_click -> home_page -> product_page -> checkout
    ("u1", 0, "ad_click"), ("u1", 1, "home_page"), ("u1", 3, "product_page"), ("u1", 4, "checkout"),
    # u2: ad_click -> home_page -> home_page
    ("u2", 0, "ad_click"), ("u2", 2, "home_page"), ("u2", 10, "home_page"),
    # u3: home_page -> product_page
    ("u3", 5, "home_page"), ("u3", 6, "product_page"),
]


def test_transitions_counts_customers_and_median_duration(tmp_path):
    con = make_store(tmp_path, JOURNEYS)
    out = transitions(con, min_group_size=1).set_index(["source", "target"])
    assert set(out.index) == {("ad_click", "home_page"), ("home_page", "product_page"),
                              ("product_page", "checkout"), ("home_page", "home_page")}
    row = out.loc[("ad_click", "home_page")]
    assert (row["transitions"], row["customers"], row["median_duration"]) == (2, 2, pd.Timedelta(hours=1.5))
    row = out.loc[("home_page", "product_page")]
    assert (row["transitions"], row["customers"], row["median_duration"]) == (2, 2, pd.Timedelta(hours=1.5))
    assert out.loc[("home_page", "home_page"), "median_duration"] == pd.Timedelta(hours=8)
    assert (out["segment"] == "all").all()


def test_transitions_both_events_must_be_in_the_range(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 30, "home_page"), ("u1", 31, "product_page")])
    out = transitions(con, start="2024-01-02", min_group_size=1)
    assert list(zip(out["source"], out["target"])) == [("home_page", "product_page")]
    out = transitions(con, end="2024-01-01", min_group_size=1)
    assert out.empty


def test_transitions_at_stage_level_collapse_repeats(tmp_path):
    con = make_store(tmp_path, JOURNEYS)
    out = transitions(con, level="stage", min_group_size=1).set_index(["source", "target"])
    # u1: awareness -> consideration (1h) -> purchase (product_page h3 -> checkout h4 = 1h); u2: awareness ->
    # consideration (2h); u3 stays in consideration: no stage transition.
    assert out["transitions"].to_dict() == {("awareness", "consideration"): 2, ("consideration", "purchase"): 1}
    assert out.loc[("awareness", "consideration"), "median_duration"] == pd.Timedelta(hours=1.5)


def test_transitions_by_nps_group(tmp_path):
    con = make_store(tmp_path, JOURNEYS, surveys=[("u1", 20, "nps", 9, None), ("u2", 20, "nps", 2, None)])
    out = transitions(con, by="nps_group", min_group_size=1)
    got = out.groupby("segment")["transitions"].sum().to_dict()
    assert got == {"promoter": 3, "detractor": 2, "no_response": 1}


def test_transitions_suppress_pairs_of_few_customers(tmp_path):
    events = [(f"u{i}", 0, "ad_click") for i in range(6)] + [(f"u{i}", 1, "home_page") for i in range(6)]
    events += [("u0", 2, "checkout"), ("u1", 2, "product_page"), ("u2", 2, "product_page")]
    con = make_store(tmp_path, events)
    out = transitions(con).set_index(["source", "target"])
    assert not out.loc[("ad_click", "home_page"), "suppressed"]
    assert out.loc[("ad_click", "home_page"), "transitions"] == 6
    assert out.loc[("home_page", "checkout"), "suppressed"] and out.loc[("home_page", "product_page"), "suppressed"]
    assert pd.isna(out.loc[("home_page", "checkout"), "transitions"])
    assert len(out) == 3  # suppressed pairs stay


def test_variants_whole_journeys_and_prefixes(tmp_path):
    events = JOURNEYS + [("u4", 0, "ad_click"), ("u4", 1, "home_page"), ("u4", 2, "home_page")]
    con = make_store(tmp_path, events)
    out = variants(con, min_group_size=1)
    assert out["variant"].tolist()[0] == ["ad_click", "home_page", "home_page"]
    assert out["customers"].tolist() == [2, 1, 1]
    assert out["share"].tolist() == [0.5, 0.25, 0.25]
    # ties ordered by the variant itself: the same order on every run
    assert out["variant"].tolist()[1:] == [["ad_click", "home_page", "product_page", "checkout"],
                                           ["home_page", "product_page"]]
    out = variants(con, max_steps=2, top=1, min_group_size=1)
    assert out["variant"].tolist() == [["ad_click", "home_page"]] and out["customers"].tolist() == [3]
    out = variants(con, level="stage", min_group_size=1)
    assert out["variant"].tolist()[0] == ["awareness", "consideration"]
    assert out["customers"].tolist()[0] == 2


def test_step_matrix_shares_sum_to_one_per_position(tmp_path):
    con = make_store(tmp_path, JOURNEYS)
    out = step_matrix(con, max_steps=4, min_group_size=1)
    cell = out.set_index(["position", "node"])["customers"].to_dict()
    assert cell[(1, "ad_click")] == 2 and cell[(1, "home_page")] == 1
    assert cell[(3, "(ended)")] == 1 and cell[(4, "(ended)")] == 2 and cell[(4, "checkout")] == 1
    sums = out.groupby("position")["share"].sum()
    assert np.allclose(sums.values, 1.0)
    # positions restart at the first event in the range
    out = step_matrix(con, max_steps=1, start=at(3), min_group_size=1)
    assert out.set_index("node")["customers"].to_dict() == {"product_page": 1, "home_page": 2}


def test_paths_from_and_to_a_touchpoint(tmp_path):
    con = make_store(tmp_path, JOURNEYS)
    out = paths(con, "home_page", steps=2, min_group_size=1)
    got = {tuple(p): c for p, c in zip(out["path"], out["customers"])}
    assert got == {("product_page", "checkout"): 1, ("home_page",): 1, ("product_page",): 1}
    out = paths(con, "product_page", direction="to", steps=2, min_group_size=1)
    got = {tuple(p): c for p, c in zip(out["path"], out["customers"])}
    assert got == {("ad_click", "home_page"): 1, ("home_page",): 1}
    out = paths(con, "checkout", steps=3, min_group_size=1)
    assert out["path"].tolist() == [[]] and out["share"].tolist() == [1.0]


def test_journey_map_reach_gaps_and_ratings(tmp_path):
    events = JOURNEYS + [("u2", 30, "checkout"), ("u3", 8, "chat")]
    surveys = [("u1", 4, "csat", 5, "checkout"), ("u2", 30, "csat", 2, "checkout"), ("u1", 4, "csat", 4, "payment"),
               ("u3", 7, "ces", 6, "chat"), ("u3", 8, "ces", 3, "chat")]
    con = make_store(tmp_path, events, surveys)
    out = journey_map(con, min_group_size=1).set_index("stage")
    assert out.index.tolist() == ["awareness", "consideration", "purchase", "service", "loyalty"]
    assert out["customers"].tolist()[:3] == [2, 3, 2]
    assert out.loc["consideration", "share"] == 1.0
    # consideration after awareness: u1 1h, u2 2h; purchase after consideration: u1 (h1 -> h4) 3h, u2 (h2 -> h30) 28h
    assert out.loc["consideration", "median_time_from_previous"] == pd.Timedelta(hours=1.5)
    assert out.loc["purchase", "median_time_from_previous"] == pd.Timedelta(hours=15.5)
    assert out.loc["purchase", "p90_time_from_previous"] == pd.Timedelta(hours=3 + 0.9 * 25)
    assert out.loc["purchase", "csat"] == pytest.approx(2 / 3) and out.loc["purchase", "csat_n"] == 3
    assert out.loc["service", "ces"] == 4.5 and out.loc["service", "customers"] == 1
    assert out.loc["service", "gap_customers"] == 0  # u3 never reached purchase
    assert pd.isna(out.loc["awareness", "median_time_from_previous"])


def test_journey_map_blanks_ratings_of_few_answers(tmp_path):
    events = [(f"u{i}", 0, "ad_click") for i in range(6)] + [(f"u{i}", 1, "checkout") for i in range(6)]
    con = make_store(tmp_path, events, [("u1", 2, "csat", 5, "checkout")])
    out = journey_map(con).set_index("stage")
    assert out.loc["purchase", "customers"] == 6 and pd.isna(out.loc["purchase", "csat"])
    assert out.loc["service", "customers"] == 0 and not out.loc["service", "suppressed"]  # nobody: 0 is shown


def test_the_stage_map_as_a_table_says_why_values_are_blank_and_leaves_out_empty_columns(tmp_path):
    con = make_store(tmp_path, JOURNEYS + [("u2", 30, "checkout")], [("u1", 5, "csat", 5, "checkout")])
    raw = journey_map(con, min_group_size=2)
    out = formatted(raw).set_index("stage")
    assert "ces" not in out and "ces_n" not in out  # no CES answers at all: the columns hold nothing
    assert out.loc["purchase", "csat"] == TOO_FEW and out.loc["awareness", "csat"] == "no ratings"
    assert out.loc["awareness", "median_time_from_previous"] == ""  # the first stage has no previous one
    assert out.loc["service", "customers"] == "0" and "suppressed" not in out  # nobody: 0 is shown
    hidden = formatted(journey_map(con, min_group_size=3)).set_index("stage")
    assert hidden.loc["awareness", "customers"] == HIDDEN
    assert out.loc["consideration", "median_time_from_previous"] == "1.5 h"
    assert out.loc["purchase", "customers"] == "2" and out.loc["purchase", "share"].startswith(f"{raw.loc[2, 'share']:.1%} (")
    assert not out.isin(["NaN", "NaT", "None", "nan", "<NA>"]).any().any()


def test_transitions_as_a_table_write_durations_in_human_units_and_hidden_counts_as_a_dash(tmp_path):
    con = make_store(tmp_path, JOURNEYS)
    raw = transitions(con, min_group_size=2)
    out = formatted(raw)
    assert raw["suppressed"].tolist() == [False, False, True, True]
    assert out["transitions"].tolist() == ["2", "2", HIDDEN, HIDDEN] and out["customers"].tolist() == ["2", "2", HIDDEN, HIDDEN]
    assert out["median_duration"].iloc[0] == "1.5 h" and out["median_duration"].iloc[2] == HIDDEN
    assert raw["median_duration"].iloc[0] == pd.Timedelta(hours=1.5)  # the frame itself is unchanged


def test_stage_coverage_names_the_touchpoints_without_a_stage(tmp_path):
    events = JOURNEYS + [("u1", 5, "web_promo"), ("u2", 11, "web_promo"), ("u3", 7, "faq_page")]
    con = make_store(tmp_path, events)
    cov = stage_coverage(con)
    assert cov.unmapped[["touchpoint", "events", "suggested"]].values.tolist() == [
        ["web_promo", 2, "awareness"], ["faq_page", 1, "service"]]
    assert (cov.touchpoints, cov.events, cov.mapped_share) == (6, 12, pytest.approx(9 / 12))
    assert cov.sentence.startswith("2 of this store's 6 touchpoints (25% of events) have no journey stage")
    assert "web_promo (2; awareness), faq_page (1; service)" in cov.sentence
    assert "cx stages suggest" in cov.sentence and "cx ingest touchpoint_stages" in cov.sentence
    assert fit_flow_level(con, "stage") == "stage"  # three quarters of the events have a stage


def test_on_a_store_whose_touchpoints_have_no_stage_flows_are_by_touchpoint(tmp_path, capsys):
    con = make_store(tmp_path, [(c, h, "web_" + t) for c, h, t in JOURNEYS])
    cov = stage_coverage(con)
    assert cov.mapped_share == 0 and len(cov.unmapped) == 4
    assert cov.sentence.startswith("None of this store's 4 touchpoints has a journey stage yet.")
    assert "web_home_page (4; consideration)" in cov.sentence
    assert fit_flow_level(con, "stage") == "touchpoint"
    assert "instead of stages, because none of this store's touchpoints has a journey stage" in capsys.readouterr().out
    assert fit_flow_level(con, "touchpoint") == "touchpoint"
    # the map by stage has nothing to show; the stage flow would be empty (every event 'unmapped')
    assert journey_map(con, min_group_size=1)["customers"].fillna(0).eq(0).all()
    assert transitions(con, level="stage", min_group_size=1).empty


def test_stage_coverage_is_silent_when_every_touchpoint_has_a_stage(tmp_path):
    cov = stage_coverage(make_store(tmp_path, JOURNEYS))
    assert cov.sentence == "" and cov.mapped_share == 1.0 and cov._repr_markdown_() is None


def test_the_stage_flow_chart_calls_touchpoints_without_a_stage_no_stage(tmp_path):
    from cxlib.analysis.journey import sankey_links
    from cxlib.charts.flow import chart_sankey

    con = make_store(tmp_path, JOURNEYS + [("u1", 5, "web_promo")])
    links = sankey_links(con, level="stage", min_group_size=1)
    assert "unmapped" in set(links["source"]) | set(links["target"])
    spec = str(chart_sankey(links).to_dict())
    assert "(no stage)" in spec and "unmapped" not in spec
    assert "(no stage)" not in str(chart_sankey(sankey_links(con, min_group_size=1)).to_dict())


def test_paths_of_a_touchpoint_only_in_the_stage_map_fail(tmp_path):
    con = make_store(tmp_path, JOURNEYS)
    assert "payment" in STAGES
    with pytest.raises(CxInputError, match="touchpoint 'payment' not in this store's events"):
        paths(con, "payment")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda con: transitions(con, level="stages"), "did you mean 'stage'"),
        (lambda con: transitions(con, by="regon"), "not in customers"),
        (lambda con: variants(con, top=0), "at least 1"),
        (lambda con: step_matrix(con, max_steps=1.5), "whole number"),
        (lambda con: paths(con, "chekout"), "did you mean 'checkout'"),
        (lambda con: paths(con, "checkout", direction="back"), "direction"),
    ],
)
def test_bad_arguments(tmp_path, call, message):
    con = make_store(tmp_path, JOURNEYS)
    with pytest.raises(CxInputError, match=message):
        call(con)
