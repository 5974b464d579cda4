"""Service and impact charts: the Vega-Lite spec (to_dict) encodes the right fields, leaves out hidden
values and carries its definition."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib.charts import service as charts
from cxlib.errors import CxInputError


def _layers(spec):
    return spec.get("layer", [spec])


def _rows(spec):
    return [r for values in spec["datasets"].values() for r in values]


def test_resolution_bands_stack_in_band_order_without_hidden_groups():
    df = pd.DataFrame({"channel": ["chat"] * 4 + ["tiny"] * 4,
                       "band": ["0-24 h", "24-72 h", "> 72 h", "still open"] * 2,
                       "tickets": [5, 3, 2, 0, None, None, None, None],
                       "share": [0.5, 0.3, 0.2, 0.0, None, None, None, None],
                       "share_lower": 0.1, "share_upper": 0.9, "suppressed": [False] * 4 + [True] * 4})
    spec = charts.chart_resolution_bands(df, by="channel").to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "share"
    assert spec["encoding"]["color"]["scale"]["domain"] == ["0-24 h", "24-72 h", "> 72 h", "still open"]
    assert {r["channel"] for r in _rows(spec)} == {"chat"}
    assert "still open" in spec["description"]
    with pytest.raises(CxInputError):
        charts.chart_resolution_bands(df, by="category")


def test_dots_with_intervals_for_first_contact_ratings_and_churn():
    fcr = pd.DataFrame({"channel": ["chat", "phone", "tiny"], "first_contact_rate": [0.7, 0.97, None],
                        "first_contact_rate_lower": [0.66, 0.95, None], "first_contact_rate_upper": [0.74, 0.98, None],
                        "suppressed": [False, False, True]})
    spec = charts.chart_first_contact(fcr).to_dict()
    assert [layer["mark"]["type"] for layer in _layers(spec)] == ["rule", "point"]
    assert {r["channel"] for r in _rows(spec)} == {"chat", "phone"}
    assert spec["layer"][1]["encoding"]["x"]["axis"]["format"] == ".0%" and "one-touch" in spec["description"]

    ratings = pd.DataFrame({"band": ["0-24 h", "24-72 h", "> 72 h"], "csat": [87.0, 86.0, 26.0],
                            "csat_lower": [85.0, 83.0, 22.0], "csat_upper": [89.0, 89.0, 30.0],
                            "ces": [5.4, None, 4.7], "ces_lower": [5.3, None, 4.5], "ces_upper": [5.5, None, 4.8],
                            "suppressed": [False, True, False]})
    csat = charts.chart_ratings_by_resolution(ratings).to_dict()
    assert [r["csat"] for r in _rows(csat)] == pytest.approx([0.87, 0.86, 0.26])  # drawn as shares
    assert csat["layer"][0]["encoding"]["y"]["sort"] == ["0-24 h", "24-72 h", "> 72 h"]
    ces = charts.chart_ratings_by_resolution(ratings, metric="ces").to_dict()
    assert [r["band"] for r in _rows(ces)] == ["0-24 h", "> 72 h"]  # the hidden CES is not drawn
    with pytest.raises(CxInputError):
        charts.chart_ratings_by_resolution(ratings, metric="nps")

    churn = pd.DataFrame({"band": ["no ticket", "> 72 h"], "churn_rate": [0.2, 0.33], "churn_rate_lower": [0.18, 0.3],
                          "churn_rate_upper": [0.22, 0.36], "suppressed": False})
    assert "association" in charts.chart_churn_by_resolution(churn).to_dict()["description"]


def test_agents_are_coloured_where_they_stand_out():
    df = pd.DataFrame({"agent": ["Agent bbbb-cccc", "Agent dddd-ffff", "no agent recorded"],
                       "slow_share": [0.45, 0.2, None], "slow_share_lower": [0.3, 0.1, None],
                       "slow_share_upper": [0.6, 0.3, None], "stands_out": ["slower", "", ""],
                       "suppressed": [False, False, True]})
    spec = charts.chart_agents(df).to_dict()
    rows = _rows(spec)
    assert [r["stands_out"] for r in rows] == ["slower", "like the rest"]
    assert spec["layer"][1]["encoding"]["color"]["scale"]["range"][0] == "#c23b4b"
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["Agent bbbb-cccc", "Agent dddd-ffff"]


def test_impact_chart_draws_dots_fit_expected_and_the_change_date():
    df = pd.DataFrame({"period": pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"] * 2),
                       "group": ["region north"] * 4 + ["region other than north"] * 4,
                       "n": [40, 40, 3, 40] * 2, "value": [70.0, 72.0, None, 80.0, 71.0, 70.0, 72.0, 73.0],
                       "fitted": [71.0, 71.0, 81.0, 81.0, 70.5, 70.5, 72.5, 72.5],
                       "expected": [71.0, 71.0, 73.0, 73.0, None, None, None, None],
                       "suppressed": [False, False, True, False] + [False] * 4})
    spec = charts.chart_impact(df, change_date="2025-01-20", label="CSAT (% satisfied)").to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["point", "line", "line", "rule"]
    dots = spec["datasets"][spec["layer"][0]["data"]["name"]]
    assert len(dots) == 7  # the hidden period is not drawn
    dashed = spec["layer"][2]
    assert dashed["mark"]["strokeDash"] == [5, 4]
    assert len(spec["datasets"][dashed["data"]["name"]]) == 2  # expected: treated, after the change
    assert "dashed" in spec["description"]


def test_thousands_of_agents_draw_the_ones_that_stand_out_and_the_slowest():
    import vl_convert as vlc

    n = 4000  # a 10M-event store has about 4,000 agents: the chart once failed to render with all of them
    share = [i / (2 * n) for i in range(n)]
    df = pd.DataFrame({"agent": [f"Agent {i:04d}" for i in range(n)], "slow_share": share,
                       "slow_share_lower": [s * 0.8 for s in share], "slow_share_upper": [s * 1.2 for s in share],
                       "stands_out": ["faster" if i == 3 else "" for i in range(n)], "suppressed": False})
    chart = charts.chart_agents(df)
    rows = _rows(chart.to_dict())
    assert len(rows) == charts.MAX_AGENTS
    # drawn by slow share: the highest first, and the one faster agent kept though its share is low
    assert [r["agent"] for r in rows[:3]] == ["Agent 3999", "Agent 3998", "Agent 3997"]
    assert rows[-1]["agent"] == "Agent 0003"
    assert f"Showing {charts.MAX_AGENTS} of 4,000 agents" in chart.to_dict()["description"]
    assert "<svg" in vlc.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[])
    # more slower agents than the chart holds: the faster ones still shown, then the slowest of the slower
    df["stands_out"] = ["slower" if i >= n - 50 else "faster" if i in (3, 7) else "" for i in range(n)]
    rows = _rows(charts.chart_agents(df).to_dict())
    assert len(rows) == charts.MAX_AGENTS
    assert {r["agent"] for r in rows if r["stands_out"] == "faster"} == {"Agent 0003", "Agent 0007"}
    assert [r["agent"] for r in rows if r["stands_out"] == "slower"] == [f"Agent {i}" for i in range(3999, 3961, -1)]
