"""Interactive charts: the interactions are in the spec (so exported HTML needs no kernel) and compile."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc

from cxlib.charts.interactive import (
    CLICK_NOT_LEGEND,
    chart_funnel_explorer,
    chart_metric_picker,
    chart_quick,
    chart_trend_explorer,
)
from cxlib.errors import CxDataError, CxInputError


def trend_frame():
    return pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01", "2025-02-01", "2025-01-01"]),
            "segment": ["north", "north", "south", "south", None],
            "value": [10.0, 20.0, -5.0, None, 3.0],
            "n": [40, 60, 30, 2, 12],
            "suppressed": [False, False, False, True, False],
        }
    )


def params(spec):
    """Every selection parameter of a spec, top level or in any view, by name."""
    found = {}

    def walk(node):
        if isinstance(node, dict):
            for p in node.get("params", []):
                if "select" in p:
                    found[p["name"]] = p
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def compiles(chart):
    """The Vega-Lite spec compiles to Vega and renders (what vega-embed does in exported HTML)."""
    spec = chart.to_dict()
    vega = vlc.vegalite_to_vega(spec)
    assert vlc.vegalite_to_svg(spec).startswith("<svg")
    return vega


def test_trend_explorer_has_time_brush_linked_highlight_and_tooltips():
    chart = chart_trend_explorer(trend_frame())
    spec = chart.to_dict()
    top, bottom = spec["vconcat"]
    assert spec["title"] == "Trend by segment"  # on the whole chart, where a panel adds its filter line
    # the selections sit on a plain line layer: a line with point=True carrying them is refused by
    # JupyterLab's Vega-Lite 5 renderer ("Duplicate signal name: time_brush_x")
    assert top["layer"][0]["mark"] == {"type": "line"} and "params" not in top["layer"][1]
    top = top["layer"][0]
    p = params(spec)
    assert p["time_brush"]["select"] == {"type": "interval", "encodings": ["x"]}
    # a click on a line and a click in the legend are two selections (see the legend test below)
    assert p["segment_pick"]["select"]["on"] == CLICK_NOT_LEGEND and "bind" not in p["segment_pick"]
    assert p["segment_legend"]["bind"] == "legend"
    assert top["encoding"]["x"]["type"] == "temporal"
    # the lower view is driven by the brush and highlights the same segment
    assert {"filter": {"param": "time_brush"}} in bottom["transform"]
    both = {"and": [{"param": "segment_pick"}, {"param": "segment_legend"}]}
    assert bottom["encoding"]["opacity"]["condition"]["test"] == both
    assert top["encoding"]["opacity"]["condition"]["test"] == both
    assert [t["field"] for t in top["encoding"]["tooltip"]] == ["segment", "period", "value", "n"]
    # suppressed rows are not drawn, a blank segment is 'all'
    rows = spec["datasets"][spec["data"]["name"]] if "data" in spec else next(iter(spec["datasets"].values()))
    assert len(rows) == 4 and sorted({r["segment"] for r in rows}) == ["all", "north", "south"]
    vega = json.dumps(compiles(chart))
    assert "time_brush" in vega and "segment_pick" in vega


def test_trend_summary_is_weighted_by_respondents():
    bottom = chart_trend_explorer(trend_frame()).to_dict()["vconcat"][1]
    steps = bottom["transform"]
    assert steps[1] == {"calculate": "datum.value * datum.n", "as": "weighted"}
    assert steps[2]["aggregate"] == [{"op": "sum", "field": "weighted", "as": "weighted"},
                                     {"op": "sum", "field": "n", "as": "n"}]
    assert steps[3] == {"calculate": "datum.weighted / datum.n", "as": "value"}


def test_metric_picker_radio_binding_and_suppressed_rows_kept():
    df = pd.DataFrame(
        {
            "metric": ["nps", "nps", "csat", "csat"],
            "segment": ["north", "south", "north", "south"],
            "value": [30.0, None, 0.8, 0.7],
            "n": [50, None, 50, 40],
            "suppressed": [False, True, False, False],
        }
    )
    chart = chart_metric_picker(df)
    spec = chart.to_dict()
    p = params(spec)
    choice = p["metric_choice"]
    assert choice["bind"]["input"] == "radio" and choice["bind"]["options"] == ["nps", "csat"]
    assert choice["value"] == [{"metric": "nps"}]
    assert p["bar_pick"]["select"]["on"] == "click"
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 4  # the suppressed segment keeps its place ...
    assert [r["label"] for r in rows if r["suppressed"]] == ["suppressed: too few respondents"]  # ... labelled
    assert all(layer["transform"] == [{"filter": {"param": "metric_choice"}}] for layer in spec["layer"])
    compiles(chart)
    with pytest.raises(CxInputError, match="at most 12"):
        chart_metric_picker(pd.DataFrame({"metric": [f"m{i}" for i in range(13)], "segment": "a", "value": 1, "n": 9}))


def test_funnel_explorer_dropdown_and_linked_views():
    df = pd.DataFrame(
        {
            "step": [1, 2, 3, 1, 2, 3],
            "touchpoint": ["product_page", "checkout", "payment"] * 2,
            "segment": ["app"] * 3 + ["web"] * 3,
            "customers": [100, 40, 20, 100, 60, 50],
            "conversion_from_first": [1.0, 0.4, 0.2, 1.0, 0.6, 0.5],
        }
    )
    chart = chart_funnel_explorer(df)
    spec = chart.to_dict()
    p = params(spec)
    bind = p["funnel_segment"]["bind"]
    assert bind["input"] == "select" and bind["options"] == [None, "app", "web"] and bind["labels"][0] == "(all)"
    assert p["funnel_legend"]["bind"] == "legend"
    left, right = spec["hconcat"]
    for view in (left, right):
        cond = view["encoding"]["opacity"]["condition"]
        assert cond["test"] == {"and": [{"param": "funnel_segment"}, {"param": "funnel_legend"}]}
    assert left["encoding"]["x"]["sort"] == ["1. product_page", "2. checkout", "3. payment"]
    assert right["encoding"]["y"]["axis"]["format"] == "%"
    compiles(chart)
    # many segments: no dropdown (13 is not a small choice); bars and the legend pick
    many = params(chart_funnel_explorer(pd.concat([df.assign(segment=f"s{i}") for i in range(13)])).to_dict())
    assert "bind" not in many["funnel_segment"] and many["funnel_segment"]["select"]["on"] == CLICK_NOT_LEGEND
    assert many["funnel_legend"]["bind"] == "legend"
    # no segment column: one funnel called 'all'
    single = chart_funnel_explorer(df[df["segment"] == "app"].drop(columns="segment"))
    assert {r["segment"] for r in next(iter(single.to_dict()["datasets"].values()))} == {"all"}


@pytest.mark.parametrize("build", ["trend", "funnel"])
def test_a_legend_click_is_heard_by_the_legend_pick_only(build):
    """The click selection ignores legend clicks (it stored the entry's blank segment and faded every
    segment); the legend's own selection hears them (a legend binding on a selection that also listens
    to clicks dropped them). Read from the compiled Vega, as the browser runs it."""
    chart = chart_trend_explorer(trend_frame()) if build == "trend" else chart_funnel_explorer(pd.DataFrame(
        {"step": [1, 2], "touchpoint": ["a", "b"], "segment": ["x", "y"], "customers": [9, 5],
         "conversion_from_first": [1.0, 0.5]}))
    click, legend = ("segment_pick", "segment_legend") if build == "trend" else ("funnel_segment", "funnel_legend")
    signals = {}

    def walk(node):
        if isinstance(node, dict):
            for signal in node.get("signals", []):
                signals[signal["name"]] = signal
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(compiles(chart))
    # the clicks on the chart that set the click selection (on its tuple, or on its dropdown's value)
    clicks = [e for name in (f"{click}_tuple", f"{click}_segment") for h in signals.get(name, {}).get("on", [])
              for e in h["events"] if isinstance(e, dict) and e.get("source") == "scope"]
    assert clicks and all(e["type"] == "click" and "indexof(event.item.mark.role, 'legend') < 0" in e["filter"][0]
                          for e in clicks)
    assert {e["markname"] for h in signals[f"{legend}_segment_legend"]["on"] for e in h["events"]
            if "markname" in e} >= {"segment_legend_symbols", "segment_legend_labels"}


def test_nothing_to_draw_is_a_sentence_not_empty_axes(sample_con):
    """A filter that leaves no answers (or no customer in the funnel) gets the reason, which a panel shows."""
    import cxlib

    none_answered = cxlib.nps(sample_con, by="region", period="month", start="2030-01-01")
    with pytest.raises(CxDataError, match="No NPS to draw here"):
        chart_trend_explorer(none_answered, value="nps", value_title="NPS")
    all_suppressed = trend_frame().assign(suppressed=True)
    with pytest.raises(CxDataError, match="blank or suppressed"):
        chart_trend_explorer(all_suppressed)
    nobody = cxlib.funnel(sample_con, ["product_page", "add_to_cart"], by="region", start="2030-01-01")
    with pytest.raises(CxDataError, match="No customer reached the funnel's first step"):
        chart_funnel_explorer(nobody)


def test_charts_validate_their_input():
    with pytest.raises(CxInputError, match="missing \\['n'\\]"):
        chart_trend_explorer(trend_frame().drop(columns="n"))
    with pytest.raises(CxInputError, match="DataFrame"):
        chart_funnel_explorer([1, 2])
    with pytest.raises(CxInputError, match="aggregate in DuckDB"):
        chart_trend_explorer(pd.DataFrame({"period": pd.Timestamp("2025-01-01"), "value": range(5001), "n": 1}))
    frame = trend_frame()
    before = frame.copy()
    chart_trend_explorer(frame)
    pd.testing.assert_frame_equal(frame, before)  # input not mutated


def test_exported_html_carries_the_interactions():
    html = chart_trend_explorer(trend_frame()).to_html()
    assert "vegaEmbed" in html and "time_brush" in html and "segment_pick" in html


def test_quick_chart_picks_by_column_types():
    line = chart_quick(pd.DataFrame({"day": pd.to_datetime(["2025-01-01", "2025-01-02"]), "n": [1, 2],
                                     "channel": ["web", "app"]})).to_dict()
    assert line["mark"]["type"] == "line" and line["encoding"]["x"]["type"] == "temporal"
    assert line["encoding"]["color"]["field"] == "channel"
    assert params(line)["quick_brush"]["bind"] == "scales"
    bars = chart_quick(pd.DataFrame({"touchpoint": ["a", "b"], "events": [3, 5]})).to_dict()
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["y"]["field"] == "touchpoint"
    scatter = chart_quick(pd.DataFrame({"x": [1.0, 2.0], "y": [3, 4]})).to_dict()
    assert scatter["mark"]["type"] == "circle"
    assert chart_quick(pd.DataFrame({"only_text": ["a"]})) is None
    assert chart_quick(pd.DataFrame({"n": []})) is None
    assert chart_quick(pd.DataFrame({"flag": [True, False], "name": ["a", "b"]})) is None
    # odd column names are escaped, so the chart still compiles and shows the data
    odd = chart_quick(pd.DataFrame({"a.b": ["x", "y"], "count(*)": [1, 2], "c:d": [1, 1]}))
    assert odd.to_dict()["encoding"]["y"]["field"] == "a\\.b"
    assert vlc.vegalite_to_svg(odd.to_dict()).count("<path") >= 2
    big = chart_quick(pd.DataFrame({"k": [str(i) for i in range(6000)], "v": range(6000)}))
    assert len(next(iter(big.to_dict()["datasets"].values()))) == 5000
    assert isinstance(chart_quick(pd.DataFrame({"k": ["a"], "v": [1]})), alt.Chart)


def test_trend_explorer_reads_a_metric_column_by_name(sample_con):
    """cxlib.nps by region and month goes in as it is: the brush-linked summary is on the NPS values."""
    import cxlib

    nps = cxlib.nps(sample_con, by="region", period="month")
    spec = chart_trend_explorer(nps, value="nps", value_title="NPS").to_dict()
    values = next(iter(spec["datasets"].values()))
    shown = nps[~nps["suppressed"]]
    assert sorted(round(v["value"], 6) for v in values) == sorted(round(x, 6) for x in shown["nps"])
    assert spec["vconcat"][0]["layer"][0]["encoding"]["y"]["title"] == "NPS"
    assert spec["vconcat"][1]["transform"][0] == {"filter": {"param": "time_brush"}}
