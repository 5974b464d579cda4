"""Journey chart builders: specs checked through chart.to_dict(), never pixels."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from cxlib.charts.journey import (
    chart_friction,
    chart_funnel,
    chart_handoffs,
    chart_journey_map,
    chart_step_matrix,
)
from cxlib.charts.theme import COLOURS
from cxlib.errors import CxInputError


def values(spec: dict) -> list[dict]:
    """The inline rows of a (possibly layered) chart spec."""
    if "datasets" in spec:
        return [row for rows in spec["datasets"].values() for row in rows]
    return spec["data"]["values"]


def layer_marks(spec):
    return [(layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]) for layer in spec["layer"]]


FUNNEL = pd.DataFrame({
    "segment": ["all"] * 3, "step": [1, 2, 3], "touchpoint": ["product_page", "add_to_cart", "checkout"],
    "customers": [100.0, 60.0, np.nan], "conversion_from_previous": [1.0, 0.6, np.nan],
    "conversion_from_first": [1.0, 0.6, np.nan], "median_time_to_convert": pd.to_timedelta([np.nan, 60, np.nan], unit="s"),
    "ci_lower": [0.96, 0.5, np.nan], "ci_upper": [1.0, 0.69, np.nan], "open_window": [0, 2, np.nan],
    "dropped": [0, 38, np.nan], "suppressed": [False, False, True],
})


def test_funnel_chart_bars_interval_rules_and_value_labels_without_suppressed_steps():
    spec = chart_funnel(FUNNEL).to_dict()
    assert layer_marks(spec) == ["bar", "rule", "text"]
    bar = spec["layer"][0]["encoding"]
    # horizontal bars, steps top to bottom, so that long step names and many segments fit the page
    assert bar["x"]["field"] == "conversion_from_first" and bar["y"]["sort"] == ["1. product_page", "2. add_to_cart"]
    assert spec["layer"][1]["encoding"]["x2"]["field"] == "ci_upper"
    text = spec["layer"][2]["encoding"]["text"]["field"]
    rows = values(spec)
    assert {r["label"] for r in rows} == {"1. product_page", "2. add_to_cart"}
    assert sorted(r[text] for r in rows) == ["100%", "60%"]  # every bar carries its value
    assert "yOffset" not in bar


def test_funnel_chart_with_segments_uses_colour_and_offset_and_nps_colours():
    two = pd.concat([FUNNEL.assign(segment="north"), FUNNEL.assign(segment="south")])
    bar = chart_funnel(two).to_dict()["layer"][0]["encoding"]
    assert bar["color"]["field"] == "segment" and bar["yOffset"]["field"] == "segment"
    groups = pd.concat([FUNNEL.assign(segment=g) for g in ("detractor", "promoter", "passive")])
    scale = chart_funnel(groups).to_dict()["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == {
        "promoter": COLOURS["promoter"], "passive": COLOURS["passive"], "detractor": COLOURS["detractor"]}


def test_step_matrix_heatmap():
    df = pd.DataFrame({"position": [1, 1, 2], "node": ["a", "b", "(ended)"], "customers": [3.0, 1.0, 4.0],
                       "share": [0.75, 0.25, 1.0], "share_lower": [0.3, 0.05, 0.51], "share_upper": [0.95, 0.7, 1.0],
                       "suppressed": False})
    spec = chart_step_matrix(df).to_dict()
    assert {"share_lower", "share_upper"} <= {t["field"] for t in spec["encoding"]["tooltip"]}
    assert spec["mark"]["type"] == "rect" and spec["encoding"]["color"]["field"] == "share"
    assert len(values(spec)) == 3


def test_journey_map_chart_converts_durations_to_days():
    df = pd.DataFrame({"stage": ["awareness", "consideration"], "customers": [10, 8], "share": [1.0, 0.8],
                       "share_lower": [0.72, 0.49], "share_upper": [1.0, 0.94], "gap_customers": [0, 8], "median_time_from_previous": pd.to_timedelta([np.nan, 2], unit="D"),
                       "p90_time_from_previous": pd.to_timedelta([np.nan, 5], unit="D"), "csat_n": [0, 9],
                       "csat": [np.nan, 0.7], "ces_n": [0, 0], "ces": [np.nan, np.nan], "suppressed": False})
    spec = chart_journey_map(df).to_dict()
    rows = values(spec)
    assert rows[1]["days_from_previous"] == 2.0
    assert all(layer["encoding"]["x"]["sort"][0] == "awareness" for layer in spec["layer"])
    rule = spec["layer"][-1]  # the 95% interval on each bar
    assert rule["mark"]["type"] == "rule" and rule["mark"]["color"] == COLOURS["interval"]
    assert (rule["encoding"]["y"]["field"], rule["encoding"]["y2"]["field"]) == ("share_lower", "share_upper")


def test_handoff_chart_colours_handoffs_apart():
    df = pd.DataFrame({"from_touchpoint": ["chat", "chat"], "to_touchpoint": ["phone_call", "(none)"],
                       "handoff": [True, False], "cases": [50, 400], "customers": [48, 300],
                       "repeat_rate": [0.45, 0.05], "repeat_rate_lower": [0.32, 0.03],
                       "repeat_rate_upper": [0.59, 0.08], "ces": [3.8, 5.4], "suppressed": False})
    spec = chart_handoffs(df).to_dict()
    bars, rule = spec["layer"]
    assert bars["encoding"]["x"]["field"] == "repeat_rate"
    assert bars["encoding"]["color"]["scale"]["domain"] == ["hand-off", "no hand-off"]
    assert rule["mark"]["color"] == COLOURS["interval"]
    assert (rule["encoding"]["x"]["field"], rule["encoding"]["x2"]["field"]) == ("repeat_rate_lower", "repeat_rate_upper")
    assert {r["case"] for r in values(spec)} == {"chat → phone_call", "chat → (none)"}


def test_friction_chart_ranks_extra_drop_off_and_leaves_out_rows_without_a_baseline():
    df = pd.DataFrame({"touchpoint": ["checkout", "checkout", "phone_call"], "channel": ["app", "web", "phone"],
                       "dropoff_rate": [0.37, 0.15, 0.99], "occurrences": [3000, 4000, 7000],
                       "baseline": ["checkout (web)", "checkout (app)", None],
                       "excess": [0.22, -0.22, np.nan], "excess_lower": [0.20, -0.24, np.nan],
                       "excess_upper": [0.24, -0.20, np.nan], "flagged": [True, False, False], "suppressed": False})
    spec = chart_friction(df).to_dict()
    assert layer_marks(spec) == ["bar", "rule", "rule"]
    rows = [r for r in values(spec) if "label" in r]
    assert [r["label"] for r in rows] == ["checkout (app)", "checkout (web)"]  # worst first; no baseline, no bar
    assert [r["verdict"] for r in rows] == ["beyond chance", "could be chance"]
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == {"beyond chance": COLOURS["worse"],
                                                          "could be chance": COLOURS["no clear difference"]}
    unranked = chart_friction(df.assign(excess=np.nan, excess_lower=np.nan, excess_upper=np.nan)).to_dict()
    assert "no touchpoint has a baseline" in unranked["description"]


def test_charts_say_what_is_missing():
    with pytest.raises(CxInputError, match="needs columns"):
        chart_funnel(pd.DataFrame({"step": [1]}))
    with pytest.raises(CxInputError, match="DataFrame"):
        chart_step_matrix([1, 2])


def test_charts_on_real_results(sample_con):
    from cxlib.analysis import journey as J

    for chart in [chart_funnel(J.funnel(sample_con, ["product_page", "add_to_cart", "checkout"], by="nps_group")),
                  chart_step_matrix(J.step_matrix(sample_con, max_steps=5)),
                  chart_journey_map(J.journey_map(sample_con)),
                  chart_handoffs(J.handoffs(sample_con)),
                  chart_friction(J.friction(sample_con))]:
        spec = chart.to_dict()  # serialisable: no Timedelta or numpy objects left
        assert values(spec)
        assert len(spec["description"]) > 40  # reports show it as the chart's definition


def test_funnel_fits_the_page_with_many_segments_and_long_step_names():
    from svg_bounds import svg_of, svg_size, text_outside

    import cxlib.charts.journey as jc

    steps = ["product_page", "add_to_cart", "checkout_with_a_very_long_touchpoint_name_indeed", "payment"]
    df = pd.DataFrame({"segment": [f"region {i}" for i in range(9) for _ in steps], "step": [1, 2, 3, 4] * 9,
                       "touchpoint": steps * 9, "customers": [100, 80, 60, 50] * 9,
                       "conversion_from_first": [1, .8, .6, .5] * 9, "ci_lower": [.96, .71, .5, .4] * 9,
                       "ci_upper": [1, .87, .69, .6] * 9, "suppressed": [False] * 36})
    svg = svg_of(jc.chart_funnel(df))
    assert svg_size(svg)[0] <= 940 and not text_outside(svg)


def test_journey_map_draws_every_stage_even_without_ratings():
    import re

    import vl_convert as vlc

    import cxlib.charts.journey as jc

    df = pd.DataFrame({"stage": ["awareness", "consideration", "purchase", "service", "loyalty"],
                       "customers": [90, 80, 60, 50, 40], "share": [.9, .8, .6, .5, .4],
                       "share_lower": [.85, .75, .55, .45, .35], "share_upper": [.95, .85, .65, .55, .45],
                       "csat": [None, None, .76, .74, None],
                       "median_time_from_previous": pd.to_timedelta([None, "1D", "2D", "3D", "4D"]),
                       "suppressed": [False] * 5})
    svg = vlc.vegalite_to_svg(jc.chart_journey_map(df).to_dict())
    bars = re.findall(r'aria-roledescription="bar"', svg)
    assert len(bars) == 5 + 2  # a grey bar for each stage, a coloured one over each rated stage
