"""Result tables for people: the formatting rules on hand-written cases, and the table they make."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib.charts import tables as T
from cxlib.errors import CxInputError
from cxlib.report.sanitize import sanitize_html


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (24.3, "24 s"), (59.4, "59 s"), (200, "3 min"),
                                           (3599, "60 min"), (5.5 * 3600, "5.5 h"), (2.4 * 86400, "2.4 days"),
                                           (pd.Timedelta("0 days 00:00:24.307522058"), "24 s"),
                                           (pd.Timedelta("117 days 19:56:03.1"), "117.8 days"), (None, ""),
                                           (pd.NaT, "")])
def test_durations_in_human_units(seconds, text):
    assert T.duration(seconds) == text


def test_counts_shares_numbers_and_p_values():
    assert [T.count(v) for v in (18030.0, 0, 7, None, float("nan"))] == ["18,030", "0", "7", "", ""]
    assert [T.percent(v) for v in (0.4234, 1, 0, None)] == ["42.3%", "100.0%", "0.0%", ""]
    assert T.percent(53.94, of_one=False) == "53.9%"
    assert [T.number(v) for v in (17.25, -3.04, float("inf"))] == ["17.2", "-3.0", "∞"]
    assert [T.p_value(v) for v in (8.67e-16, 0.0009, 0.023456, 0.5)] == ["< 0.001", "< 0.001", "0.023", "0.5"]


def test_intervals_lists_and_headers():
    assert T.interval("17", "14", "19") == "17 (14-19)"
    assert T.interval("-5.2", "-9.1", "-1.3") == "-5.2 (-9.1 to -1.3)"
    assert T.interval("17", "", "") == "17" and T.interval("", "1", "2") == ""
    assert T.interval("66.1%", "62.5%", "69.6%") == "66.1% (62.5-69.6%)"
    assert T.path(["catalog", "cart", "payment"]) == "catalog > cart > payment"
    assert [T.header(c) for c in ("conversion_from_first", "nps", "csat_ci_lower", "median_time_to_convert")] == [
        "Conversion from first", "NPS", "CSAT CI lower", "Median time to convert"]


def test_a_result_frame_as_people_read_it():
    df = pd.DataFrame({"segment": ["north", "east", "west"], "n": pd.array([18030, pd.NA, 0], dtype="Int64"),
                       "nps": [17.23, None, None], "ci_lower": [14.1, None, None], "ci_upper": [20.5, None, None],
                       "conversion_from_first": [0.4234, None, 0.0], "csat": [83.81, None, None],
                       "median_time_to_convert": [pd.Timedelta(minutes=3), pd.NaT, pd.NaT],
                       "variant": [["a", "b"], ["a"], []], "suppressed": [False, True, False]})
    out = T.formatted(df)
    assert list(out.columns) == ["segment", "n", "nps", "conversion_from_first", "csat", "median_time_to_convert",
                                 "variant"]
    assert out.to_dict("records") == [
        {"segment": "north", "n": "18,030", "nps": "17.2 (14.1-20.5)", "conversion_from_first": "42.3%",
         "csat": "83.8%", "median_time_to_convert": "3 min", "variant": "a > b"},
        {"segment": "east", "n": "–", "nps": "–", "conversion_from_first": "–", "csat": "–",
         "median_time_to_convert": "–", "variant": "a"},
        {"segment": "west", "n": "0", "nps": "", "conversion_from_first": "0.0%", "csat": "",
         "median_time_to_convert": "", "variant": ""},
    ]
    assert not out.isin(["NaN", "NaT", "None", "nan", "<NA>"]).any().any()


def test_kinds_can_be_given_and_are_checked():
    df = pd.DataFrame({"x": [0.5, 0.25]})
    assert T.formatted(df, kinds={"x": "share"})["x"].tolist() == ["50.0%", "25.0%"]
    assert T.formatted(df)["x"].tolist() == ["0.5", "0.25"]  # below 1: three significant digits
    with pytest.raises(CxInputError, match="unknown column kinds"):
        T.formatted(df, kinds={"x": "money"})
    with pytest.raises(CxInputError, match="takes a DataFrame"):
        T.formatted([1, 2])


def test_the_table_has_plain_headers_a_footnote_for_hidden_values_and_survives_the_sanitiser():
    df = pd.DataFrame({"segment": ["north", "east"], "n": [1200.0, None], "nps": [17.2, None],
                       "suppressed": [False, True]})
    html = T.table(df, title="NPS by region").as_raw_html()
    clean = sanitize_html(html)
    for text in ("NPS by region", ">Segment<", ">NPS<", "1,200", T.HIDDEN_NOTE):
        assert text in clean, text
    assert "suppressed" not in clean.lower().replace("gt_", "") and "NaN" not in clean
    plain = T.table(df.assign(suppressed=False)).as_raw_html()
    assert T.HIDDEN_NOTE not in plain


def test_one_precision_per_measured_column_dates_and_infinity():
    df = pd.DataFrame({"segment": ["a", "b", None], "period": pd.to_datetime(["2024-01-01", "2024-02-01", None]),
                       "n": [1200.0, 7.0, float("nan")], "nps": [12.345, -3.0, float("nan")],
                       "p_value": [0.000123, 0.5, float("nan")], "ratio": [float("inf"), 0.25, float("nan")],
                       "r_peak_end": [0.5902, 0.4649, float("nan")], "suppressed": [False, False, True]})
    out = T.formatted(df)
    assert out["segment"].tolist() == ["a", "b", T.HIDDEN]  # every blank of a hidden row is hidden
    assert out["period"].tolist() == ["2024-01-01", "2024-02-01", T.HIDDEN]
    assert out["n"].tolist() == ["1,200", "7", T.HIDDEN]
    assert out["nps"].tolist() == ["12.3", "-3.0", T.HIDDEN]
    assert out["p_value"].tolist() == ["< 0.001", "0.5", T.HIDDEN]
    assert out["ratio"].tolist() == ["∞", "0.25", T.HIDDEN]  # infinity as the sign
    assert out["r_peak_end"].tolist() == ["0.59", "0.465", T.HIDDEN]  # below 1: three significant digits
    assert df["nps"].iloc[0] == 12.345  # the frame itself is left alone


def test_shares_in_percent_points_read_as_percentages():
    df = pd.DataFrame({"theme": ["a", "b"], "share": [20.44, 3.0], "detractor_share": [14.2, 0.0],
                       "conversion": [0.5, 0.25]})
    assert T.formatted(df).drop(columns="theme").to_dict("records") == [
        {"share": "20.4%", "detractor_share": "14.2%", "conversion": "50.0%"},
        {"share": "3.0%", "detractor_share": "0.0%", "conversion": "25.0%"}]


def test_headers_and_intervals_of_model_results():
    df = pd.DataFrame({"group": ["basic"], "median_survival": [21.66], "median_ci_lower": [19.6],
                       "median_ci_upper": [float("inf")], "survival_at": [0.7243], "nps_n": [347], "se": [0.11]})
    out = T.formatted(df)
    assert out.to_dict("records") == [{"group": "basic", "median_survival": "21.7 (19.6-∞)", "survival_at": "72.4%",
                                       "nps_n": "347", "se": "0.11"}]
    assert [T.header(c) for c in out.columns] == ["Group", "Median survival", "Survival at", "NPS answers",
                                                  "Standard error"]


def test_a_bare_interval_joins_the_value_it_contains():
    funnel = pd.DataFrame({"step": [1, 2], "customers": [100, 40], "conversion_from_first": [1.0, 0.4],
                           "median_time_to_convert": [pd.NaT, pd.Timedelta(minutes=6)], "ci_lower": [0.96, 0.31],
                           "ci_upper": [1.0, 0.5]})
    out = T.formatted(funnel)
    assert out["conversion_from_first"].tolist() == ["100.0% (96.0-100.0%)", "40.0% (31.0-50.0%)"]
    assert out["median_time_to_convert"].tolist() == ["", "6 min"]


def test_blank_ratings_say_why_and_empty_columns_are_left_out():
    df = pd.DataFrame({"stage": ["awareness", "purchase", "service"], "customers": [40, 30, 20],
                       "csat_n": [0, 3, 50], "csat": [None, None, 0.8123], "ces_n": [0, 0, 0],
                       "ces": [None, None, None], "median_time_from_previous": [pd.NaT, pd.NaT, pd.NaT],
                       "suppressed": [False, False, False]})
    out = T.formatted(df)
    assert list(out.columns) == ["stage", "customers", "csat_n", "csat"]  # nobody gave CES; no time to show
    assert out["csat"].tolist() == ["no ratings", T.TOO_FEW, "81.2%"]  # journey CSAT is a share of 1
    assert "stage" not in T.formatted(df.assign(stage="unmapped"))
    everyone_hidden = T.formatted(pd.DataFrame({"segment": ["a"], "n": [None], "suppressed": [True]}))
    assert everyone_hidden.to_dict("records") == [{"segment": "a", "n": T.HIDDEN}]  # kept, shown as hidden


def test_a_named_index_becomes_columns_and_a_plain_index_is_never_shown():
    grouped = pd.DataFrame({"segment": ["a", "b"], "n": [3, 4]}).set_index("segment")
    assert T.formatted(grouped).to_dict("records") == [{"segment": "a", "n": "3"}, {"segment": "b", "n": "4"}]
    picked = pd.DataFrame({"n": [3, 4, 5]}).iloc[[2, 0]]
    assert T.formatted(picked).index.tolist() == [0, 1] and T.formatted(picked)["n"].tolist() == ["5", "3"]


def _cells(html: str) -> list[str]:
    import html as h
    import re

    return [h.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", html, re.DOTALL)]


def test_a_rendered_table_shows_no_index_no_decimal_counts_no_missing_markers_and_no_suppressed_column():
    df = pd.DataFrame({"segment": ["north", "east", "west"], "customers": [18030.0, None, 7.0],
                       "cases": pd.array([12, pd.NA, 3], dtype="Int64"), "share": [0.42, None, 0.1],
                       "median_duration": [pd.Timedelta("0 days 00:00:24.307522058"), pd.NaT, pd.Timedelta(days=117.8)],
                       "path": [["a", "b", "c"], None, ["a"]], "label": ["x", None, None],
                       "suppressed": [False, True, False]}, index=[7, 8, 9])
    html = sanitize_html(T.table(df).as_raw_html())
    cells = _cells(html)
    assert cells[:7] == ["Segment", "Customers", "Cases", "Share", "Median duration", "Path", "Label"]
    assert cells[7:14] == ["north", "18,030", "12", "42.0%", "24 s", "a > b > c", "x"]
    assert not {"7", "8", "9"} & set(cells[7::7])  # the frame's index is not a column
    for bad in ("NaN", "NaT", "None", "nan", "<NA>", "&lt;NA&gt;", ".0<", "days 00:", "['a'", "Suppressed", "False"):
        assert bad not in html, bad
    assert T.HIDDEN_NOTE in html and html.count(T.HIDDEN) >= 5


def test_a_column_named_like_a_great_tables_argument_is_labelled():
    html = T.table(pd.DataFrame({"cases": [3], "columns": [4]})).as_raw_html()
    assert ">Cases<" in html and ">Columns<" in html


def test_a_wide_table_scrolls_after_the_sanitiser():
    df = pd.DataFrame({f"column_{i}": ["a long value " * 3] for i in range(30)})
    clean = sanitize_html(T.table(df).as_raw_html())
    import re

    box = re.search(r'<div id="(cx-table-\w+)"', clean).group(1)
    assert re.search(rf"#{box} \{{ overflow-x: auto;", clean)


def test_tables_are_numbered_not_random():
    """A page is the same on every run: the table ids count up within a kernel."""
    import re

    df = pd.DataFrame({"x": [1, 2]})
    first, second = (int(re.search(r'id="cx-table-(\d+)"', T.table(df).as_raw_html()).group(1)) for _ in range(2))
    assert second == first + 1


def test_a_segment_column_of_all_is_left_out_and_numbers_do_not_wrap():
    one = pd.DataFrame({"segment": ["all", "all"], "step": [1, 2], "customers": [10, 8]})
    assert list(T.formatted(one).columns) == ["step", "customers"]
    split = pd.DataFrame({"segment": ["all", "north"], "customers": [10, 8]})
    assert list(T.formatted(split).columns) == ["segment", "customers"]  # a real breakdown keeps it
    html = sanitize_html(T.table(one).as_raw_html())
    assert "td.gt_right { white-space: nowrap; }" in html  # "87.4% (86.4-88.3%)" stays on one line


def test_our_metric_and_group_names_are_written_in_words():
    df = pd.DataFrame({"segment": ["basic", "basic"], "metric": ["revenue_per_customer", "nps"],
                       "group": ["not_switched", "switched"], "touchpoint": ["product_page", "home_page"]})
    out = T.formatted(df)
    assert out["metric"].tolist() == ["Revenue per customer", "NPS"]
    assert out["group"].tolist() == ["Not switched", "switched"]  # other single words are left as they are
    assert out["touchpoint"].tolist() == ["product_page", "home_page"]  # the store's own names stay


def test_friction_excess_is_a_share_with_its_interval():
    df = pd.DataFrame({"touchpoint": ["checkout"], "excess": [0.224], "excess_lower": [0.206], "excess_upper": [0.243],
                       "friction_score": [0.206]})
    assert T.formatted(df).to_dict("records") == [
        {"touchpoint": "checkout", "excess": "22.4% (20.6-24.3%)", "friction_score": "20.6%"}]


def test_a_lift_gets_two_decimals_so_a_small_difference_shows():
    df = pd.DataFrame({"segment": ["a", "b"], "lift": [1.05, 0.93], "lift_lower": [1.02, 0.9],
                       "lift_upper": [1.08, 0.97]})
    assert list(T.formatted(df)["lift"]) == ["1.05 (1.02-1.08)", "0.93 (0.90-0.97)"]
