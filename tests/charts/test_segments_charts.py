"""Segment charts: the Vega-Lite spec carries the right fields, marks and no suppressed rows."""

import altair as alt
import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import charts
from cxlib.charts.segments import (
    chart_cluster_features,
    chart_cues,
    chart_rfm_grid,
    chart_rfm_segments,
    chart_segment_profile,
)


def title_text(spec):
    title = spec["title"]
    text = title["text"] if isinstance(title, dict) else title
    sub = title.get("subtitle", "") if isinstance(title, dict) else ""
    return " ".join(text if isinstance(text, list) else [text]) + " | " + " ".join(sub if isinstance(sub, list) else [sub])


def values(spec):
    data = spec.get("datasets", {})
    return [row for rows in data.values() for row in rows]


def profile_frame():
    return pd.DataFrame({
        "segment": ["north", "south", "west", "north"],
        "metric": ["nps", "nps", "nps", "csat"],
        "customers": [10, 12, None, 10],
        "n": [10, 12, None, 10],
        "value": [40.0, -20.0, np.nan, 50.0],
        "ci_lower": [10.0, -50.0, np.nan, 30.0],
        "ci_upper": [70.0, 10.0, np.nan, 70.0],
        "rest_value": [-20.0, 40.0, np.nan, 60.0],
        "difference": [60.0, -60.0, np.nan, -10.0],
        "z": [2.5, -2.5, np.nan, -0.5],
        "p_value": [0.01, 0.01, np.nan, 0.6],
        "p_adjusted": [0.01, 0.01, np.nan, 0.6],
        "significant": [True, True, False, False],
        "suppressed": [False, False, True, False],
    })


def test_profile_chart_shows_intervals_and_verdicts_without_suppressed_rows():
    chart = chart_segment_profile(profile_frame(), metric="nps")
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()
    rows = values(spec)
    assert sorted(r["segment"] for r in rows) == ["north", "south"]  # west suppressed, csat other metric
    assert {r["segment"]: r["verdict"] for r in rows} == {"north": "better than the rest", "south": "worse than the rest"}
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rule", "point", "tick"]
    assert spec["layer"][0]["encoding"]["x"]["field"] == "ci_lower"
    assert spec["layer"][0]["encoding"]["x2"]["field"] == "ci_upper"
    assert "NPS" in title_text(spec)
    with pytest.raises(cxlib.CxInputError, match="did you mean 'nps'"):
        chart_segment_profile(profile_frame(), metric="npss")
    with pytest.raises(cxlib.CxInputError, match="needs columns"):
        chart_segment_profile(profile_frame().drop(columns="rest_value"))


def test_profile_chart_colours_less_churn_as_better():
    churn = profile_frame().assign(metric="churn_rate", value=[0.4, 0.1, np.nan, 0.2], rest_value=[0.1, 0.4, np.nan, 0.3])
    spec = chart_segment_profile(churn, metric="churn_rate").to_dict()
    scale = spec["layer"][1]["encoding"]["color"]["scale"]
    verdicts = {r["segment"]: r["verdict"] for r in values(spec) if r["segment"] != "north" or r["value"] == 0.4}
    assert verdicts["north"] == "worse than the rest"  # more churn than the rest ...
    assert dict(zip(scale["domain"], scale["range"]))["worse than the rest"] == "#c23b4b"  # ... is drawn red
    nps = chart_segment_profile(profile_frame(), metric="nps").to_dict()
    nps_scale = nps["layer"][1]["encoding"]["color"]["scale"]
    assert dict(zip(nps_scale["domain"], nps_scale["range"]))["better than the rest"] == "#3a9e6f"
    assert {r["segment"]: r["verdict"] for r in values(nps)}["north"] == "better than the rest"


def test_rfm_charts():
    grid = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 1, 1], "segment": ["champions", "lost", "about to sleep"],
                         "customers": [40, 30, np.nan], "suppressed": [False, False, True]})
    spec = chart_rfm_grid(grid).to_dict()
    assert spec["mark"]["type"] == "rect" and spec["encoding"]["x"]["field"] == "f_score"
    assert len(values(spec)) == 2
    segs = pd.DataFrame({"segment": ["champions", "lost"], "customers": [40, 30], "share": [0.5, 0.4],
                         "nps": [30.0, -10.0], "revenue_per_customer": [500.0, 20.0], "suppressed": [False, False]})
    spec = chart_rfm_segments(segs).to_dict()
    assert spec["encoding"]["y"]["sort"] == ["champions", "lost"] and spec["encoding"]["color"]["field"] == "nps"
    bigger_last = chart_rfm_segments(segs.assign(customers=[30, 40])).to_dict()
    assert bigger_last["encoding"]["y"]["sort"] == ["lost", "champions"]  # bars sorted by size
    # a store of orders alone has no NPS: one colour, and the title does not promise NPS
    spec = chart_rfm_segments(segs.assign(nps=np.nan)).to_dict()
    assert "field" not in spec["encoding"]["color"] and "value" in spec["encoding"]["color"]
    assert "NPS" not in title_text(spec) and len(values(spec)) == 2
    assert "nps" not in [t["field"] for t in spec["encoding"]["tooltip"]]


def test_cluster_and_cue_charts():
    feats = pd.DataFrame({"segment": ["cluster 1", "cluster 2"], "feature": ["tickets", "tickets"],
                          "label": ["support tickets"] * 2, "z": [-0.3, 1.6], "cluster_mean": [0.2, 2.4],
                          "overall_mean": [0.5, 0.5]})
    spec = chart_cluster_features(feats).to_dict()
    colour = spec["encoding"]["color"]
    assert colour["field"] == "z" and colour["scale"]["domain"] == [-2, 0, 2]
    # the key says what the colours are: blue (higher) above the average, orange (lower) below
    assert colour["scale"]["range"][-1] == charts.COLOURS["higher"] == "#2166ac"
    assert colour["scale"]["range"][0] == charts.COLOURS["lower"]
    assert "blue: above average" in title_text(spec) and "orange: below" in title_text(spec)
    cues = pd.DataFrame({"segment": ["a", "b"], "kind": ["channel", "touchpoint"], "value": ["app", "<script>"],
                         "reach": [0.5, 0.4], "overall_reach": [0.2, 0.1], "lift": [2.0, 3.0],
                         "lift_ci_lower": [1.5, 2.2], "lift_ci_upper": [2.6, 4.1],
                         "cue": ["x", "y"], "suppressed": [False, False]})
    spec = chart_cues(cues).to_dict()
    bars, whiskers, average = spec["spec"]["layer"]
    assert bars["encoding"]["x"]["field"] == "lift" and spec["facet"]["row"]["field"] == "segment"
    # the interval is drawn in the interval colour from low to high; the average is a rule at 1
    assert whiskers["mark"]["color"] == charts.COLOURS["interval"]
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == ("lift_ci_lower",
                                                                                        "lift_ci_upper")
    assert average["encoding"]["x"]["datum"] == 1
    assert bars["encoding"]["x"]["axis"]["tickCount"] >= 2  # ticks drawn inside the facet
    assert "95% intervals" in title_text(spec) and "95% interval" in spec["description"]
    assert {r["item"] for r in values(spec)} == {"channel: app", "touchpoint: <script>"}
    with pytest.raises(cxlib.CxInputError):
        chart_cues(cues.drop(columns="lift_ci_lower"))
