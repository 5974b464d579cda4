"""Segment membership written for the teams who act on it (customer-level CSV, never a report).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cxlib.analysis.exports import write_csv
from cxlib.analysis.segments.clusters import BehaviourClusters
from cxlib.analysis.segments.rfm import rfm_scores
from cxlib.errors import CxInputError


def export_segments(
    con: duckdb.DuckDBPyConnection, path, *, clusters: BehaviourClusters | None = None, as_of=None
):
    """Write each customer's RFM scores and segment (and cluster, when given) to CSV; returns the path.

    Customer-level, so it goes to a file for the teams who act on it, never into a report.
    Columns: the `rfm_scores` columns, then `cluster` when `clusters` is given (blank for a
    customer who was not clustered). Text cells that a spreadsheet would run as a formula are
    neutralised (cxlib.analysis.exports.neutralise_formulas). Parent folders are created.
    """
    if clusters is not None and not isinstance(clusters, BehaviourClusters):
        raise CxInputError(f"clusters must be the result of behaviour_clusters, got {type(clusters).__name__}")
    if not isinstance(path, (str, Path)) or not str(path):
        raise CxInputError(f"path must be a file path such as 'exports/segments.csv', got {path!r}")
    df = rfm_scores(con, as_of=as_of)
    if clusters is not None:
        df = df.merge(clusters.assignments.rename(columns={"segment": "cluster"}), on="customer_id", how="left")
    return write_csv(df, path)
