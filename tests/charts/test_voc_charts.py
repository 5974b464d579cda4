"""Voice-of-the-customer charts: assertions on the Vega-Lite spec, never pixels."""

from __future__ import annotations

import json
import math

import altair as alt
import pandas as pd
import pytest

from cxlib.charts import voc as charts
from cxlib.charts.theme import COLOURS
from cxlib.errors import CxInputError


def spec(chart) -> dict:
    d = chart.to_dict()
    json.dumps(d)  # the spec must be plain JSON (no NaN/inf surprises hidden in objects)
    return d


def rows(d: dict) -> list[dict]:
    return next(iter(d["datasets"].values()))


def encodings(d: dict) -> list[dict]:
    return [layer["encoding"] for layer in d.get("layer", [d])]


NPS_BY = pd.DataFrame({
    "segment": ["north", "south", "east"], "n": [40, 30, None], "promoters": [20, 10, None],
    "passives": [10, 10, None], "detractors": [10, 10, None], "nps": [25.0, 0.0, math.nan],
    "ci_lower": [2.0, -25.0, math.nan], "ci_upper": [48.0, 25.0, math.nan], "suppressed": [False, False, True],
})


def test_chart_nps_by_segment_leaves_out_suppressed_rows():
    d = spec(charts.chart_nps(NPS_BY))
    assert [r["segment"] for r in rows(d)] == ["north", "south"]
    enc = encodings(d)
    # the axis spans the intervals (-25..48), not the full -100..100, and the subtitle names the full range
    assert enc[1]["x"]["field"] == "nps" and enc[1]["x"]["scale"]["domain"] == [-30, 50]
    assert enc[0]["x"]["field"] == "ci_lower" and enc[0]["x2"]["field"] == "ci_upper"
    assert "NPS" in d["title"]["text"] and "NPS runs from -100 to 100" in d["title"]["subtitle"]


def test_chart_nps_over_time_draws_band_and_line_per_segment():
    df = pd.DataFrame({"segment": ["a", "a", "b", "b"], "period": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
                       "nps": [10.0, 20.0, -5.0, 0.0], "ci_lower": [0.0, 5.0, -20.0, -10.0],
                       "ci_upper": [20.0, 35.0, 10.0, 10.0], "n": [50] * 4, "suppressed": [False] * 4})
    d = spec(charts.chart_nps(df, title="NPS by month"))
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in d["layer"]]
    assert marks == ["area", "line"]
    assert {k: encodings(d)[1]["x"][k] for k in ("field", "type", "title")} == {
        "field": "period", "type": "temporal", "title": None}
    assert encodings(d)[1]["color"]["field"] == "segment"
    assert d["title"]["text"] == "NPS by month"


def test_chart_csat_and_ces_scales():
    csat = pd.DataFrame({"n": [10], "satisfied": [7], "csat": [70.0], "ci_lower": [40.0], "ci_upper": [89.0],
                         "suppressed": [False]})
    assert encodings(spec(charts.chart_csat(csat)))[1]["x"]["scale"]["domain"] == [30, 90]
    ces = pd.DataFrame({"n": [10], "mean": [5.1], "ci_lower": [4.5], "ci_upper": [5.7], "easy_share": [70.0],
                        "suppressed": [False]})
    d = spec(charts.chart_ces(ces))
    assert encodings(d)[1]["x"]["scale"]["domain"] == [4, 6] and "higher = easier" in encodings(d)[1]["x"]["title"]
    wide = ces.assign(ci_lower=1.2, ci_upper=6.9)  # intervals over most of the scale: the full range
    assert encodings(spec(charts.chart_ces(wide)))[1]["x"]["scale"]["domain"] == [1, 7]


def test_chart_compare_colours_by_significance():
    df = pd.DataFrame({"segment": ["a", "b"], "reference": ["rest"] * 2, "n": [50, 60], "score": [30.0, 5.0],
                       "reference_score": [5.0, 30.0], "diff": [25.0, -25.0], "z": [2.5, -2.5],
                       "p_value": [0.01, 0.01], "p_adjusted": [0.02, 0.02], "significant": [True, False],
                       "suppressed": [False, False]})
    d = spec(charts.chart_compare(df))
    assert {r["segment"]: r["verdict"] for r in rows(d)} == {"a": "significantly better", "b": "could be chance"}
    scale = d["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == {
        "significantly better": "#3a9e6f", "could be chance": "#a6a6a6", "significantly worse": "#c23b4b"}
    worse = spec(charts.chart_compare(df.assign(significant=[False, True])))
    assert {r["segment"]: r["verdict"] for r in rows(worse)}["b"] == "significantly worse"


def test_chart_drivers_shows_fit_and_marks_insignificant():
    df = pd.DataFrame({"driver": ["long", "region"], "kind": ["service", "customer attribute"],
                       "importance": [70.0, 30.0], "ci_lower": [50.0, 5.0], "ci_upper": [85.0, 45.0],
                       "direction": ["-", ""], "p_value": [1e-5, 0.4], "p_adjusted": [2e-5, 0.4],
                       "significant": [True, False], "rank": [1, 2], "r_squared": [0.21, 0.21], "n": [900, 900]})
    d = spec(charts.chart_drivers(df))
    assert d["title"]["subtitle"] == "model R² = 0.21, n = 900 customers"
    assert [r["verdict"] for r in rows(d)] == ["significant", "not significant"]
    assert encodings(d)[0]["y"]["sort"] == ["long", "region"]  # most important first
    d = spec(charts.chart_drivers(df.assign(importance=[30.0, 70.0])))
    assert encodings(d)[0]["y"]["sort"] == ["region", "long"]
    assert encodings(d)[1]["x"]["field"] == "ci_lower"


def test_chart_themes_handles_infinite_lift_and_highlights_detractor_themes():
    df = pd.DataFrame({"theme": ["billing", "price", "staff"], "comments": [50, 40, 6], "share": [20.0, 16.0, 2.4],
                       "nps": [-50.0, 5.0, -100.0], "over_representation": [4.2, 1.0, math.inf],
                       "significant": [True, False, False], "p_adjusted": [1e-6, 0.9, 0.3],
                       "suppressed": [False, False, False]})
    d = spec(charts.chart_themes(df))
    verdict = {r["theme"]: r["verdict"] for r in rows(d)}
    assert verdict == {"billing": "over-represented among detractors", "price": "other", "staff": "other"}


def test_chart_peak_end_and_topics():
    bins = pd.DataFrame({"predictor": ["peak_end", "mean"], "value": [4.0, 4.0], "customers": [30, 40],
                         "mean_nps": [7.5, 7.2], "suppressed": [False, False]})
    d = spec(charts.chart_peak_end(bins))
    assert {r["predictor"] for r in rows(d)} == {"(peak + end) / 2", "mean of all ratings"}
    assert d["encoding"]["y"]["scale"]["domain"] == [0, 10]
    topics = pd.DataFrame({"topic": [1, 2], "top_terms": ["bill, refund", "late, parcel"], "comments": [10, 8],
                           "share": [55.0, 45.0], "mean_sentiment": [-0.5, -0.2], "suppressed": [False, False]})
    assert rows(spec(charts.chart_topics(topics)))[0]["label"] == "1: bill, refund"


def test_charts_reject_the_wrong_frame():
    with pytest.raises(CxInputError, match="missing"):
        charts.chart_drivers(NPS_BY)
    with pytest.raises(CxInputError, match="DataFrame"):
        charts.chart_nps([1, 2])


def test_charts_on_sample_results(sample_con):
    from cxlib.analysis import voc
    from cxlib.analysis.voc import text

    for chart in (charts.chart_nps(voc.nps(sample_con, by="region")),
                  charts.chart_nps(voc.nps(sample_con, period="quarter")),
                  charts.chart_themes(text.themes(sample_con)),
                  charts.chart_peak_end(voc.peak_end_bins(sample_con))):
        assert isinstance(chart, (alt.Chart, alt.LayerChart))
        assert len(rows(spec(chart))) > 0


def test_chart_nps_mix_stacks_the_three_groups_per_segment():
    d = spec(charts.chart_nps_mix(NPS_BY))
    data = rows(d)
    assert {r["segment"] for r in data} == {"north", "south"}  # the suppressed east is left out
    north = {r["group"]: r["share"] for r in data if r["segment"] == "north"}
    assert north == {"promoters (9-10)": 50.0, "passives (7-8)": 25.0, "detractors (0-6)": 25.0}
    mark = d["mark"]
    assert (mark["type"] if isinstance(mark, dict) else mark) == "bar"
    assert d["encoding"]["x"]["scale"]["domain"] == [0, 100]
    assert d["encoding"]["color"]["scale"]["range"] == [COLOURS["promoter"], COLOURS["passive"], COLOURS["detractor"]]
    assert "NPS" in d["title"]["text"] and d["description"]


def test_chart_nps_mix_overall_row_is_all_answers():
    overall = NPS_BY.drop(columns="segment").iloc[[0]]
    assert {r["segment"] for r in rows(spec(charts.chart_nps_mix(overall)))} == {"all answers"}


def test_has_marks_says_whether_a_chart_would_draw_anything():
    assert charts.has_marks(NPS_BY) and charts.has_marks(NPS_BY, "nps")
    assert not charts.has_marks(NPS_BY[NPS_BY["suppressed"]])
    assert not charts.has_marks(None) and not charts.has_marks(NPS_BY.iloc[:0])
    no_answers = pd.DataFrame({"n": [0], "nps": [math.nan], "ci_lower": [math.nan], "ci_upper": [math.nan],
                               "suppressed": [False]})  # nps() on a store without NPS answers
    assert not charts.has_marks(no_answers) and not charts.has_marks(NPS_BY.assign(nps=math.nan), "nps")


def test_a_score_chart_with_nothing_to_draw_says_so():
    """A panel filter can leave no answers, or only hidden groups: a sentence, not an IndexError or empty axes."""
    import pandas as pd

    from cxlib.charts.voc import chart_csat, chart_nps
    from cxlib.errors import CxDataError

    empty = pd.DataFrame(columns=["segment", "n", "nps", "ci_lower", "ci_upper", "suppressed"])
    hidden = pd.DataFrame({"segment": ["north"], "n": [pd.NA], "nps": [float("nan")], "ci_lower": [float("nan")],
                           "ci_upper": [float("nan")], "suppressed": [True]})
    for frame in (empty, hidden):
        with pytest.raises(CxDataError, match="no NPS to draw"):
            chart_nps(frame)
    with pytest.raises(CxDataError, match="no CSAT to draw"):
        chart_csat(hidden.rename(columns={"nps": "csat"}))
