"""Journeys: funnels, paths and transitions, the stage map, omnichannel hand-offs and friction points.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import journey`` and ``journey.funnel(con, steps)``. Definitions: docs/metrics.md.
"""

from cxlib.analysis.journey.common import parse_window
from cxlib.analysis.journey.flows import journey_map, paths, step_matrix, transitions, variants
from cxlib.analysis.journey.friction_points import friction
from cxlib.analysis.journey.funnels import funnel, funnel_dropped
from cxlib.analysis.journey.omnichannel import channel_switches, handoffs, switch_outcomes

__all__ = [
    "channel_switches",
    "friction",
    "funnel",
    "funnel_dropped",
    "handoffs",
    "journey_map",
    "parse_window",
    "paths",
    "step_matrix",
    "switch_outcomes",
    "transitions",
    "variants",
]
