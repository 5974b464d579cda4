"""Segments: profiles by any customer attribute, usage and personalisation cues, RFM, behavioural clusters.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import segments`` and ``segments.segment_profile(con, by="region")``.
"""

from cxlib.analysis.segments.breakdown import (
    RANGE_BINS,
    breakdown_headline,
    cues_headline,
    fit_profile_breakdown,
    numeric_attributes,
    numeric_ranges,
    profile_chart_metrics,
    range_labels,
)
from cxlib.analysis.segments.clusters import (
    BehaviourClusters,
    behaviour_clusters,
    cluster_features_used,
    cluster_quality,
    cluster_stability,
    clusters_headline,
    features_in_words,
)
from cxlib.analysis.segments.export import export_segments
from cxlib.analysis.segments.profile import personalisation_cues, segment_profile, segment_usage
from cxlib.analysis.segments.rfm import RFM_SEGMENTS, rfm_grid, rfm_scores, rfm_segments

__all__ = [
    "RANGE_BINS",
    "RFM_SEGMENTS",
    "BehaviourClusters",
    "behaviour_clusters",
    "breakdown_headline",
    "cluster_features_used",
    "cluster_quality",
    "cluster_stability",
    "clusters_headline",
    "cues_headline",
    "export_segments",
    "features_in_words",
    "fit_profile_breakdown",
    "numeric_attributes",
    "numeric_ranges",
    "personalisation_cues",
    "profile_chart_metrics",
    "range_labels",
    "rfm_grid",
    "rfm_scores",
    "rfm_segments",
    "segment_profile",
    "segment_usage",
]
