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

Left out: feedback_comments with a `limit` below the number of comments. It then keeps a sample
ordered by hash(response_id), and DuckDB's and Spark's hash() differ; ordering by anything else
would change DuckDB's sample. The cases use the default limit (20,000), above the sample's ~3,950
comments, where every comment is kept and the order is response_id on both engines.
"""

from __future__ import annotations

import pytest
from conftest import same

from cxlib.analysis import voc
from cxlib.analysis.decomposition import nps_decomposition
from cxlib.analysis.shifts import shifts

pytestmark = pytest.mark.spark

EXACT = 1e-9  # floats computed in Python from exact counts
SUMS = 1e-7  # floats from SQL sums / averages / correlations of doubles (summation order differs)

WINDOW = {"start": "2025-07-01", "end": "2026-06-30"}


def _engine(con) -> str:
    return getattr(con, "engine", "duckdb")


_COMMENTS: dict = {}


def _comments(con, metric="nps"):
    """feedback_comments once per engine and metric: topics, sentiment_by_group and quotes take it
    (its own parity is the feedback_comments cases)."""
    key = (_engine(con), metric)
    if key not in _COMMENTS:
        _COMMENTS[key] = voc.feedback_comments(con, metric=metric)
    return _COMMENTS[key].copy()


def _with_attrs(df):
    """A result and what it carries besides its rows (themes' unscored languages, the periods compared)."""
    return df, dict(df.attrs)


def _followup(con):
    """followup_list, then what a stakeholder sees of it and its headline."""
    df = voc.followup_list(con, days=90)
    return df, voc.followup_summary(df), voc.followup_headline(con, df, days=90)


CASES = [
    # scores
    ("nps", lambda con: voc.nps(con), EXACT),
    ("nps_by_region", lambda con: voc.nps(con, by="region"), EXACT),
    ("nps_by_region_month", lambda con: voc.nps(con, by="region", period="month", **WINDOW), EXACT),
    ("nps_by_plan_total_adjusted", lambda con: voc.nps(con, by="plan", interval="adjusted_wald", total=True), EXACT),
    ("nps_week_channel", lambda con: voc.nps(con, period="week", channel="app", start="2026-03-01"), EXACT),
    ("nps_none_at_touchpoint", lambda con: voc.nps(con, by="region", touchpoint="checkout"), EXACT),  # no answers
    ("csat_by_touchpoint", lambda con: voc.csat(con, by="touchpoint", **WINDOW), EXACT),
    ("csat_by_region_quarter", lambda con: voc.csat(con, by="region", period="quarter", total=True), EXACT),
    ("csat_checkout", lambda con: voc.csat(con, touchpoint="checkout", channel="web"), EXACT),
    ("ces_by_channel", lambda con: voc.ces(con, by="channel"), SUMS),
    ("ces_month", lambda con: voc.ces(con, period="month", **WINDOW), SUMS),
    ("ces_by_age_band", lambda con: voc.ces(con, by="age_band", touchpoint="phone_call"), SUMS),
    ("check_options", lambda con: voc.check_options(con, by="region", period="month", touchpoint="checkout",
                                                    channel="web", **WINDOW), EXACT),
    ("fit_breakdown", lambda con: [voc.fit_breakdown(con, s) for s in ("Region", "touchpoint")], EXACT),
    ("other_metrics_note", lambda con: voc.other_metrics_note(con), EXACT),
    # comparisons and trends
    ("compare_nps_by_region", lambda con: voc.compare_nps(con, by="region"), EXACT),
    ("compare_nps_months", lambda con: voc.compare_nps(con, period="month", groups=("2026-05-01", "2026-06-01")),
     EXACT),
    ("compare_csat_by_touchpoint", lambda con: voc.compare(con, metric="csat", by="touchpoint", **WINDOW), EXACT),
    ("compare_ces_by_plan", lambda con: voc.compare(con, metric="ces", by="plan", groups=("basic", "premium")), SUMS),
    ("latest_change", lambda con: voc.latest_change(con, period="month", metrics=("nps", "ces")), SUMS),
    ("score_trend_nps", lambda con: voc.score_trend(voc.nps(con, period="month"), period="month"), EXACT),
    ("score_trend_ces_by_region", lambda con: voc.score_trend(voc.ces(con, by="region", period="quarter")), SUMS),
    ("scores_table", lambda con: voc.scores_table(voc.nps(con), voc.csat(con), voc.ces(con)), SUMS),
    # drivers
    ("key_drivers_nps", lambda con: voc.key_drivers(con, target="nps", bootstrap=20), SUMS),
    ("drivers_by_target", lambda con: voc.drivers_by_target(con, targets=("csat", "churn"), rating_metric="ces",
                                                            as_of="2026-03-31", bootstrap=20), SUMS),
    # closed loop
    ("followup_list_summary_headline", _followup, EXACT),
    # feedback text
    ("comment_languages", lambda con: voc.comment_languages(con), EXACT),
    ("comment_languages_nps", lambda con: voc.comment_languages(con, metric="nps", **WINDOW), EXACT),
    ("feedback_comments", lambda con: _comments(con, metric=None), EXACT),
    ("feedback_comments_csat", lambda con: voc.feedback_comments(con, metric="csat", start="2026-01-01"), EXACT),
    ("themes", lambda con: _with_attrs(voc.themes(con)), EXACT),
    ("topics", lambda con: voc.topics(_comments(con), k=6), EXACT),
    ("sentiment_by_group", lambda con: _with_attrs(voc.sentiment_by_group(_comments(con))), EXACT),
    ("quotes", lambda con: voc.quotes(_comments(con, metric=None), per_theme=2), EXACT),
    # peak-end
    ("peak_end", lambda con: voc.peak_end(con), SUMS),
    ("peak_end_ces_window", lambda con: voc.peak_end(con, rating_metric="ces", min_ratings=1, **WINDOW), SUMS),
    ("peak_end_churn", lambda con: voc.peak_end(con, outcome="churn"), SUMS),
    ("peak_end_bins", lambda con: voc.peak_end_bins(con), SUMS),
    ("peak_end_table", lambda con: voc.peak_end_table(voc.peak_end(con)), SUMS),
    ("churn_definition_for", lambda con: voc.churn_definition_for(con), EXACT),
    # what moved
    ("nps_decomposition", lambda con: _with_attrs(nps_decomposition(con, by="region", bootstrap=200)), EXACT),
    ("nps_decomposition_periods", lambda con: nps_decomposition(con, by="plan", period="quarter",
                                                                 periods=("2025-10-01", "2026-01-01"), bootstrap=200),
     EXACT),
    ("shifts", lambda con: shifts(con, by="region", metrics=("nps", "ces", "churn")), SUMS),
]


@pytest.mark.parametrize("call, rtol", [pytest.param(fn, rtol, id=name, marks=marks) for name, fn, rtol, *marks in CASES])
def test_voc_parity(sample_con, spark_con, call, rtol):
    same(call(sample_con), call(spark_con), rtol=rtol)

