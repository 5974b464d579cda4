"""Segments: profiles by any customer attribute, usage and personalisation cues, RFM, behavioural clusters.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import segments`` and ``segments.segment_profile(con, by="region")``.
"""

from cxlib.analysis.segments.clusters import BehaviourClusters, behaviour_clusters
from cxlib.analysis.segments.export import export_segments
from cxlib.analysis.segments.profile import personalisation_cues, segment_profile, segment_usage
from cxlib.analysis.segments.rfm import RFM_SEGMENTS, rfm_grid, rfm_scores, rfm_segments

__all__ = [
    "RFM_SEGMENTS",
    "BehaviourClusters",
    "behaviour_clusters",
    "export_segments",
    "personalisation_cues",
    "rfm_grid",
    "rfm_scores",
    "rfm_segments",
    "segment_profile",
    "segment_usage",
]
