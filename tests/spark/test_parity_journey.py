"""Journeys on both engines: every public function of `cxlib.analysis.journey` (and stickiness, which
reads events the same way) returns the same result on the sample store in DuckDB and on Spark.

Exact (rtol 1e-9, i.e. the same doubles up to the last digits of a division) for counts, shares,
text and lists. Medians of a time between two events (transitions, journey_map, start_end) are
exact too: both engines take the middle value, or the mean of the two middle values, of the same
whole seconds. Where a p-value or an interval comes from Python on those counts the numbers are
the same too. `parse_window` takes no connection and is left out.

The funnel family runs over the whole two years (on Spark the funnel's recursive CTEs run round by
round in cxlib.sql.spark: about 6 s here, where Spark's own recursion took over 5 minutes).
"""

from __future__ import annotations

import pytest
from conftest import same

from cxlib.analysis import churn, journey

pytestmark = pytest.mark.spark

STEPS = ["product_page", "add_to_cart", "checkout", "payment"]

def _by_customer(df):
    return df.sort_values(["segment", "customer_id"]).reset_index(drop=True)


CASES = [
    ("funnel_by_nps_group", lambda c: journey.funnel(c, STEPS, by="nps_group")),
    ("funnel_dropped", lambda c: _by_customer(journey.funnel_dropped(c, STEPS, step=2))),
    ("funnel_trend", lambda c: journey.funnel_trend(c, STEPS, period="month")),
    ("funnel_totals_exclusions", lambda c: journey.funnel(c, STEPS, count="totals", exclusions=["help_center"])),
    ("funnel_closed_by_region", lambda c: journey.funnel(c, STEPS, order="closed", window=None, by="region")),
    ("funnel_strict_by_channel", lambda c: journey.funnel(c, STEPS, order="strict", by="channel",
                                                          attribution="first_touch")),
    ("time_to_convert", lambda c: journey.time_to_convert(c, STEPS, bins=5)),
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
    ("stickiness_summary", lambda c: churn.stickiness_summary(c, days=30)),
]


@pytest.mark.parametrize(("name", "call"), [pytest.param(*c, id=c[0]) for c in CASES])
def test_same_on_both_engines(sample_con, spark_con, name, call):
    same(call(sample_con), call(spark_con), path=name)
