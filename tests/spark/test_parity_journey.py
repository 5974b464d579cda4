"""Journeys on both engines: every public function of `cxlib.analysis.journey` (and stickiness, which
reads events the same way) returns the same result on the sample store in DuckDB and on Spark.

Exact (rtol 1e-9, i.e. the same doubles up to the last digits of a division) for counts, shares,
text and lists. Medians of a time between two events (transitions, journey_map, start_end) are
exact too: both engines take the middle value, or the mean of the two middle values, of the same
whole seconds. Where a p-value or an interval comes from Python on those counts the numbers are
the same too. `parse_window` takes no connection and is left out.

The funnel family (funnel, funnel_dropped, funnel_trend, time_to_convert) builds
`cx_funnel_customers` with funnel_customers.sql, which has no Spark form yet: xfail, with the
first error Spark raises (see each case).
"""

from __future__ import annotations

import pytest
from conftest import same

from cxlib.analysis import churn, journey

pytestmark = pytest.mark.spark

STEPS = ["product_page", "add_to_cart", "checkout", "payment"]

_FUNNEL = ("funnel_customers.sql has no Spark form: a recursive CTE with an aggregate in its recursive term "
           "(INVALID_RECURSIVE_REFERENCE.PLACE), CTE AS MATERIALIZED (PARSE_SYNTAX_ERROR), an ASOF join, "
           "list[i] with a column index (0-based on Spark)")


def _funnel(case):
    return pytest.param(*case, marks=pytest.mark.xfail(strict=True, reason=_FUNNEL), id=case[0])


def _by_customer(df):
    return df.sort_values(["segment", "customer_id"]).reset_index(drop=True)


CASES = [
    _funnel(("funnel", lambda c: journey.funnel(c, STEPS))),
    _funnel(("funnel_by_region_strict", lambda c: journey.funnel(c, STEPS, by="region", order="strict",
                                                                  window="2 days"))),
    _funnel(("funnel_dropped", lambda c: _by_customer(journey.funnel_dropped(c, STEPS, step=3)))),
    _funnel(("funnel_trend", lambda c: journey.funnel_trend(c, STEPS, period="month"))),
    _funnel(("time_to_convert", lambda c: journey.time_to_convert(c, STEPS, bins=10))),
    ("transitions", lambda c: journey.transitions(c)),
    ("transitions_by_plan_stage_ranged", lambda c: journey.transitions(c, by="plan", level="stage",
                                                                         start="2025-01-01")),
    ("variants", lambda c: journey.variants(c, top=10, max_steps=5)),
    ("step_matrix", lambda c: journey.step_matrix(c, max_steps=6)),
    ("step_matrix_diff", lambda c: journey.step_matrix_diff(c, groups=["basic", "premium"], by="plan",
                                                             max_steps=5)),
    ("paths_to", lambda c: journey.paths(c, "checkout", direction="to", steps=3)),
    ("paths_from_by_region", lambda c: journey.paths(c, "checkout", direction="from", steps=3, by="region")),
    ("paths_between", lambda c: journey.paths_between(c, "home_page", "payment", steps=5)),
    ("paths_between_shortened", lambda c: journey.paths_between(c, "product_page", "payment", steps=2,
                                                                 by="region")),
    ("journey_map", lambda c: journey.journey_map(c)),
    ("sankey_links", lambda c: journey.sankey_links(c, steps=4, top=5, level="stage")),
    ("friction", lambda c: journey.friction(c)),
    ("friction_goal", lambda c: journey.friction(c, goal=[["product_page"], ["add_to_cart"],
                                                          ["checkout", "payment"]])),
    ("handoffs", lambda c: journey.handoffs(c)),
    ("channel_switches", lambda c: journey.channel_switches(c)),
    ("switch_outcomes", lambda c: journey.switch_outcomes(c)),
    ("stage_gaps_by_region", lambda c: journey.stage_gaps(c, by="region")),
    ("stage_coverage", lambda c: journey.stage_coverage(c)),
    ("fit_flow_level", lambda c: journey.fit_flow_level(c, "stage")),
    ("start_end", lambda c: journey.start_end(c)),
    ("stickiness", lambda c: churn.stickiness(c, days=30)),
    ("stickiness_touchpoint", lambda c: churn.stickiness(c, days=14, touchpoint="app_login")),
    ("stickiness_summary", lambda c: churn.stickiness_summary(c, days=30)),
]


@pytest.mark.parametrize(("name", "call"), [c if hasattr(c, "marks") else pytest.param(*c, id=c[0]) for c in CASES])
def test_same_on_both_engines(sample_con, spark_con, name, call):
    same(call(sample_con), call(spark_con), path=name)
