"""Voice of the customer on Spark: every public analysis of cxlib.analysis.voc, nps_decomposition and
shifts returns on the Spark store what it returns on the DuckDB store it was exported from.

Each case is one call (or a chain, where a function takes another's result: score_trend, scores_table,
followup_summary, topics, sentiment_by_group, quotes, peak_end_table) run on `sample_con` and on
`spark_con` with the same arguments, the sample's real values (regions, touchpoints, channels, months).

Tolerances (`rtol`): counts and text are exact (`same` compares them exactly whatever rtol says).
EXACT (1e-9) where every float is computed in Python from exact counts (NPS, CSAT and their
intervals, z-tests, Kitagawa and its bootstrap over the same counts, Fisher tests). SUMS (1e-7)
where SQL averages, sums or correlates doubles (CES mean and SD, peak-end correlations, the
drivers' mean ratings): the two engines add in a different order, so the last bits may differ,
and a key-driver model or a bootstrap percentile built on them moves by about as much.
"""

from __future__ import annotations

import pytest
from conftest import same

from cxlib.analysis import voc
from cxlib.analysis.decomposition import nps_decomposition
from cxlib.analysis.shifts import shifts
from cxlib.analysis.voc import text

pytestmark = pytest.mark.spark

EXACT = 1e-9  # floats computed in Python from exact counts
SUMS = 1e-7  # floats from SQL sums / averages / correlations of doubles (summation order differs)

WINDOW = {"start": "2025-07-01", "end": "2026-06-30"}


def _followup_summary(con):
    return voc.followup_summary(voc.followup_list(con, days=90))


CASES = [
    # scores
    ("nps", lambda con: voc.nps(con), EXACT),
    ("nps_by_region", lambda con: voc.nps(con, by="region"), EXACT),
    ("nps_by_region_month", lambda con: voc.nps(con, by="region", period="month", **WINDOW), EXACT),
    ("nps_by_plan_total_adjusted", lambda con: voc.nps(con, by="plan", interval="adjusted_wald", total=True), EXACT),
    ("nps_week_channel", lambda con: voc.nps(con, period="week", channel="app", start="2026-03-01"), EXACT),
    ("nps_quarter", lambda con: voc.nps(con, period="quarter"), EXACT),
    ("csat_by_touchpoint", lambda con: voc.csat(con, by="touchpoint", **WINDOW), EXACT),
    ("csat_by_region_quarter", lambda con: voc.csat(con, by="region", period="quarter", total=True), EXACT),
    ("csat_checkout", lambda con: voc.csat(con, touchpoint="checkout", channel="web"), EXACT),
    ("ces_by_channel", lambda con: voc.ces(con, by="channel"), SUMS),
    ("ces_month", lambda con: voc.ces(con, period="month", **WINDOW), SUMS),
    ("ces_by_age_band", lambda con: voc.ces(con, by="age_band", touchpoint="phone_call"), SUMS),
    ("check_options", lambda con: voc.check_options(con, by="region", period="month", touchpoint="checkout",
                                                    channel="web", **WINDOW), EXACT),
    ("fit_breakdown", lambda con: [voc.fit_breakdown(con, s) for s in ("region", "Region", "touchpoint", "none")],
     EXACT),
    ("other_metrics_note", lambda con: voc.other_metrics_note(con), EXACT),
    # comparisons and trends
    ("compare_nps_by_region", lambda con: voc.compare_nps(con, by="region"), EXACT),
    ("compare_nps_months", lambda con: voc.compare_nps(con, period="month", groups=("2026-05-01", "2026-06-01")),
     EXACT),
    ("compare_csat_by_touchpoint", lambda con: voc.compare(con, metric="csat", by="touchpoint", **WINDOW), EXACT),
    ("compare_ces_by_plan", lambda con: voc.compare(con, metric="ces", by="plan", groups=("basic", "premium")), SUMS),
    ("latest_change", lambda con: voc.latest_change(con, period="month"), SUMS),
    ("score_trend_nps", lambda con: voc.score_trend(voc.nps(con, period="month"), period="month"), EXACT),
    ("score_trend_ces_by_region", lambda con: voc.score_trend(voc.ces(con, by="region", period="quarter")), SUMS),
    ("scores_table", lambda con: voc.scores_table(voc.nps(con), voc.csat(con), voc.ces(con)), SUMS),
    # drivers
    ("key_drivers_nps", lambda con: voc.key_drivers(con, target="nps", bootstrap=50), SUMS),
    ("key_drivers_csat_region", lambda con: voc.key_drivers(con, target="csat", attributes=["region", "plan"],
                                                             rating_metric="ces", bootstrap=20, as_of="2026-03-31"),
     SUMS),
    ("drivers_by_target", lambda con: voc.drivers_by_target(con, bootstrap=20), SUMS),
    # closed loop
    ("followup_list", lambda con: voc.followup_list(con, days=30), EXACT),
    ("followup_list_as_of", lambda con: voc.followup_list(con, days=60, last_n=3, as_of="2026-01-15"), EXACT),
    ("followup_summary", _followup_summary, EXACT),
    ("followup_headline", lambda con: voc.followup_headline(con, voc.followup_list(con, days=30), days=30), EXACT),
    # feedback text
    ("comment_languages", lambda con: voc.comment_languages(con), EXACT),
    ("comment_languages_nps", lambda con: voc.comment_languages(con, metric="nps", **WINDOW), EXACT),
    ("feedback_comments", lambda con: voc.feedback_comments(con, metric=None), EXACT),
    ("feedback_comments_csat", lambda con: voc.feedback_comments(con, metric="csat", start="2026-01-01"), EXACT),
    ("themes", lambda con: voc.themes(con), EXACT),
    ("themes_nps_window", lambda con: voc.themes(con, metric="nps", **WINDOW), EXACT),
    ("topics", lambda con: voc.topics(voc.feedback_comments(con), k=6), EXACT),
    ("sentiment_by_group", lambda con: voc.sentiment_by_group(voc.feedback_comments(con)), EXACT),
    ("quotes", lambda con: voc.quotes(voc.feedback_comments(con, metric=None), per_theme=2), EXACT),
    # peak-end
    ("peak_end", lambda con: voc.peak_end(con), SUMS),
    ("peak_end_ces_window", lambda con: voc.peak_end(con, rating_metric="ces", min_ratings=1, **WINDOW), SUMS),
    ("peak_end_churn", lambda con: voc.peak_end(con, outcome="churn"), SUMS),
    ("peak_end_bins", lambda con: voc.peak_end_bins(con), SUMS),
    ("peak_end_bins_churn", lambda con: voc.peak_end_bins(con, outcome="churn", definition="non_contractual"), SUMS),
    ("peak_end_table", lambda con: voc.peak_end_table(voc.peak_end(con)), SUMS),
    ("churn_definition_for", lambda con: voc.churn_definition_for(con), EXACT),
    # what moved
    ("nps_decomposition", lambda con: nps_decomposition(con, by="region", bootstrap=200), EXACT),
    ("nps_decomposition_periods", lambda con: nps_decomposition(con, by="plan", period="quarter",
                                                                 periods=("2025-10-01", "2026-01-01"), bootstrap=200),
     EXACT),
    ("shifts", lambda con: shifts(con, by="region", metrics=("nps", "csat", "ces")), SUMS),
    ("shifts_churn", lambda con: shifts(con, by="plan", metrics=("churn",), churn_definition="contractual"), EXACT),
]


@pytest.mark.parametrize("call, rtol", [pytest.param(fn, rtol, id=name) for name, fn, rtol in CASES])
def test_voc_parity(sample_con, spark_con, call, rtol):
    same(call(sample_con), call(spark_con), rtol=rtol)


def test_attrs_survive(sample_con, spark_con):
    """What a result carries besides its rows: the languages left unscored, the periods compared."""
    assert voc.themes(sample_con).attrs == voc.themes(spark_con).attrs
    assert nps_decomposition(sample_con, by="region", bootstrap=100).attrs == nps_decomposition(
        spark_con, by="region", bootstrap=100).attrs
    assert text.sentiment_by_group(voc.feedback_comments(sample_con)).attrs == text.sentiment_by_group(
        voc.feedback_comments(spark_con)).attrs
