"""Churn charts: the Vega-Lite spec (to_dict) encodes the right fields and leaves out suppressed rows."""

import pandas as pd
import pytest

import cxlib
from cxlib.charts import churn as charts


def _layers(spec):
    return spec.get("layer", [spec])


def _data(chart):
    spec = chart.to_dict()
    values = spec["datasets"]
    return spec, next(iter(values.values()))


def test_chart_survival_steps_and_bands_without_suppressed_groups():
    df = pd.DataFrame({
        "group": ["a", "a", "b", "tiny"], "time": [0.0, 1.0, 0.0, None], "at_risk": [5, 4, 6, None],
        "events": [1, 1, 0, None], "censored": [0, 0, 1, None], "survival": [0.8, 0.6, 1.0, None],
        "ci_lower": [0.5, 0.3, 1.0, None], "ci_upper": [0.9, 0.8, 1.0, None], "alpha": 0.05,
        "suppressed": [False, False, False, True], "definition": "x"})
    spec, rows = _data(charts.chart_survival(df))
    marks = [layer["mark"] for layer in _layers(spec)]
    assert {m["type"] for m in marks} == {"area", "line"} and all(m["interpolate"] == "step-after" for m in marks)
    assert {r["group"] for r in rows} == {"a", "b"} and len(rows) == 3
    assert spec["layer"][1]["encoding"]["y"]["field"] == "survival"


def test_chart_cohort_retention_fades_incomplete_cells():
    df = pd.DataFrame({"cohort": pd.to_datetime(["2024-01-01"] * 2), "period_number": [0, 1], "period": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                       "customers": [10, 10], "retained": [10, 4], "retention": [1.0, 0.4], "incomplete": [False, True],
                       "suppressed": [False, False], "kind": "first_time"})
    spec, rows = _data(charts.chart_cohort_retention(df))
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["opacity"]["scale"]["range"] == [1.0, 0.35]
    assert [r["state"] for r in rows] == ["complete", "period not over yet"]


def test_chart_period_churn_marks_unfinished_periods():
    df = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]), "active_at_start": [0, 10, 9],
                       "lost": [0, 1, None], "churn_rate": [None, 0.1, None], "ci_lower": [None, 0.02, None],
                       "ci_upper": [None, 0.4, None], "complete": [True, True, False],
                       "judged": [True, True, False], "definition": "x"})
    spec, rows = _data(charts.chart_period_churn(df))
    assert len(rows) == 1 and rows[0]["state"] == "final"  # periods without a rate are not drawn
    assert spec["layer"][0]["encoding"]["y"]["axis"]["format"] == "%"


def test_chart_lifecycle_puts_dormant_below_zero():
    df = pd.DataFrame({"period": pd.to_datetime(["2024-01-01"] * 4), "status": ["new", "returning", "resurrecting", "dormant"],
                       "customers": [5, 3, 1, 2], "incomplete": False})
    spec, rows = _data(charts.chart_lifecycle(df))
    assert {r["status"]: r["count"] for r in rows} == {"new": 5, "returning": 3, "resurrecting": 1, "dormant": -2}


def test_chart_hazard_ratios_log_scale_and_reference_line():
    s = pd.DataFrame({"covariate": ["a", "b"], "description": ["long ticket", "promoter"], "hazard_ratio": [2.0, 0.5],
                      "ci_lower": [1.5, 0.3], "ci_upper": [2.6, 0.8], "p_value": [0.001, 0.01]})
    spec = charts.chart_hazard_ratios(s).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["layer"][1]["encoding"]["color"]["scale"]["range"] == ["#c23b4b", "#3a9e6f"]
    ref = spec["datasets"][spec["layer"][2]["data"]["name"]]
    assert ref == [{"x": 1.0}]


def test_chart_value_by_nps_and_bad_input():
    df = pd.DataFrame({"segment": ["promoter", "passive", "detractor"], "customers": [10, 8, None],
                       "retention_at_horizon": [0.9, 0.85, None], "suppressed": [False, False, True]})
    spec, rows = _data(charts.chart_value_by_nps(df))
    assert [r["segment"] for r in rows] == ["promoter", "passive"]
    with pytest.raises(cxlib.CxInputError, match="measure must be"):
        charts.chart_value_by_nps(df, measure="customers")
    with pytest.raises(cxlib.CxInputError, match="needs columns"):
        charts.chart_survival(pd.DataFrame({"x": [1]}))


def test_charts_on_real_results(sample_con):
    from cxlib.analysis import churn

    assert charts.chart_survival(churn.survival(sample_con, by="nps_group")).to_dict()
    assert charts.chart_cohort_retention(churn.cohort_retention(sample_con)).to_dict()
    assert charts.chart_period_churn(churn.period_churn(sample_con, definition="non_contractual")).to_dict()
    assert charts.chart_lifecycle(churn.lifecycle(sample_con)).to_dict()


def test_chart_survival_names_the_clock_origin():
    df = pd.DataFrame({"group": ["a"], "time": [0.0], "at_risk": [5], "survival": [1.0], "ci_lower": [1.0],
                       "ci_upper": [1.0], "suppressed": [False]})
    assert charts.chart_survival(df).to_dict()["layer"][0]["encoding"]["x"]["title"] == "months since start"
    spec = charts.chart_survival(df, since="the first ticket reached 72 hours", unit="week").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["title"] == "weeks since the first ticket reached 72 hours"


def test_chart_clv_holdout_actual_against_expected_without_suppressed_groups():
    df = pd.DataFrame({"frequency": [0, 1, 2, 7], "label": ["0", "1", "2", "7+"], "customers": [100, 40, None, 20],
                       "actual": [0.2, 0.9, None, 4.0], "expected": [0.25, 0.8, None, 3.5],
                       "suppressed": [False, False, True, False]})
    spec, rows = _data(charts.chart_clv_holdout(df))
    assert {m["mark"]["type"] for m in spec["layer"]} == {"line", "point"}
    assert {(r["label"], r["measure"]) for r in rows} == {(lbl, m) for lbl in ("0", "1", "7+")
                                                           for m in ("actual", "model expected")}
    x = spec["layer"][0]["encoding"]["x"]
    assert x["field"] == "label" and x["sort"] == ["0", "1", "7+"]
    assert spec["layer"][0]["encoding"]["y"]["field"] == "purchases" and "BG/NBD" in spec["description"]
    with pytest.raises(cxlib.CxInputError, match="chart_clv_holdout"):
        charts.chart_clv_holdout(df.drop(columns="expected"))
