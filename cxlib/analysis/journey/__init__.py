"""Journeys: funnels, paths and transitions, the stage map, omnichannel hand-offs and friction points.

Also what the journey report needs on a partial store: which touchpoints have no stage
(``stage_coverage``) and the flow level that fits (``fit_flow_level``). Results are shown to people
with ``cxlib.charts.tables.table``.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import journey`` and ``journey.funnel(con, steps)``. Definitions: docs/metrics.md.
"""

from cxlib.analysis.journey.between import paths_between
from cxlib.analysis.journey.boundaries import start_end
from cxlib.analysis.journey.common import parse_window
from cxlib.analysis.journey.flows import journey_map, paths, step_matrix, transitions, variants
from cxlib.analysis.journey.friction_points import friction
from cxlib.analysis.journey.funnel_time import funnel_trend, time_to_convert
from cxlib.analysis.journey.funnels import funnel, funnel_dropped
from cxlib.analysis.journey.omnichannel import channel_switches, handoffs, switch_outcomes
from cxlib.analysis.journey.partial import fit_flow_level, stage_coverage
from cxlib.analysis.journey.path_compare import step_matrix_diff
from cxlib.analysis.journey.sankey import sankey_links
from cxlib.analysis.journey.stage_moves import stage_gaps

__all__ = [
    "channel_switches",
    "fit_flow_level",
    "friction",
    "funnel",
    "funnel_dropped",
    "funnel_trend",
    "handoffs",
    "journey_map",
    "parse_window",
    "paths",
    "paths_between",
    "sankey_links",
    "stage_coverage",
    "stage_gaps",
    "start_end",
    "step_matrix",
    "step_matrix_diff",
    "switch_outcomes",
    "time_to_convert",
    "transitions",
    "variants",
]
