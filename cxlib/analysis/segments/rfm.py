"""RFM: recency, frequency and monetary quintile scores, the eleven named RFM segments and the R x F grid.

Definition: docs/metrics.md (RFM).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.segments.profile import _ONE_TICK, _cutoff, _segment_table
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress

# Named RFM segments in the order reports list them (best first), then customers without orders.
RFM_SEGMENTS = (
    "champions",
    "loyal customers",
    "potential loyalists",
    "new customers",
    "promising",
    "need attention",
    "about to sleep",
    "cannot lose them",
    "at risk",
    "hibernating",
    "lost",
    "no purchase",
)


def rfm_scores(con: duckdb.DuckDBPyConnection, *, as_of=None) -> pd.DataFrame:
    """Recency, frequency and monetary scores per customer, and the named RFM segment.

    *Definition*: for customers signed up by `as_of` (default: the store's as-of date; a
    date-only string means the end of that day), from orders at or before `as_of`: recency_days = calendar days from the last order to `as_of`,
    frequency = orders, monetary = total amount. Scores 1-5 among customers with orders:
    score = 1 + floor(5 * (rank - 1) / n), rank = SQL RANK() over the value from worst to best
    (recency: most days first, so the most recent get 5; frequency, monetary: smallest first),
    n = customers with orders. These are equal-frequency quintiles of the ranking (like
    NTILE(5) / ``pd.qcut(x.rank(method='first'), 5)``) except that TIED VALUES SHARE THE SCORE of
    the first of them (``rank(method='min')``), so equal customers never get different scores;
    a large tie at the low end therefore leaves some scores unused.
    Customers with no orders get no scores and the segment 'no purchase'.
    rfm_cell = the three scores as text ('545'). Named segments from the R/F scores (the map
    of the widely used RFM segment grid, with 'lost' = R1 F1 split from hibernating):

        R 5, F 4-5: champions            R 3-4, F 4-5: loyal customers
        R 4-5, F 2-3: potential loyalists R 5, F 1: new customers     R 4, F 1: promising
        R 3, F 3: need attention          R 3, F 1-2: about to sleep
        R 1-2, F 5: cannot lose them      R 1-2, F 3-4: at risk
        R 1-2, F 1-2: hibernating, except R 1, F 1: lost

    Customer-level: for exports and modelling, never for stakeholder output as it is.

    Columns: customer_id, last_order_at, recency_days, frequency, monetary, r_score, f_score,
    m_score, rfm_cell, rfm_segment.
    """
    sql.run(con, "rfm", {"as_of": _cutoff(con, as_of)})
    df = sql.run(con, "rfm_customers")
    for col in ("recency_days", "r_score", "f_score", "m_score"):
        df[col] = df[col].astype("Int64")
    return df


def rfm_segments(
    con: duckdb.DuckDBPyConnection, *, as_of=None, min_group_size: int = MIN_GROUP_SIZE
) -> pd.DataFrame:
    """Each named RFM segment (see `rfm_scores`) with its size, typical R/F/M and CX scores.

    *Definition*: customers per segment and share of all customers; recency_days (median),
    frequency and monetary (means) of its customers; revenue_per_customer; NPS, CSAT, CES of
    every answer up to `as_of` by its customers, with cxlib.analysis.voc's intervals (scores from fewer
    than `min_group_size` answers are blanked). Segments with fewer than `min_group_size`
    customers are suppressed (complementary), rows kept. Every named segment and 'no purchase'
    has a row, in RFM_SEGMENTS order (empty segments with customers 0).

    Columns: segment, customers, share, recency_days, frequency, monetary, revenue_per_customer,
    nps_n, nps, nps_ci_lower, nps_ci_upper, csat_n, csat, csat_ci_lower, csat_ci_upper, ces_n,
    ces, ces_ci_lower, ces_ci_upper, suppressed.
    """
    check_min_group_size(min_group_size)
    cutoff = _cutoff(con, as_of)
    sql.run(con, "rfm", {"as_of": cutoff})
    sql.run(con, "rfm_members")
    summary = sql.run(con, "segment_summary", {"start": None, "end": cutoff + _ONE_TICK})
    extra = sql.run(con, "rfm_segments")
    # Every named segment gets a row, in the report order; an empty segment has 0 customers.
    summary = pd.DataFrame({"segment": list(RFM_SEGMENTS)}).merge(summary, on="segment", how="left")
    for col in ("customers", "revenue", "nps_n", "promoters", "passives", "detractors", "csat_n", "satisfied",
                "ces_n", "ces_easy"):
        summary[col] = summary[col].fillna(0).astype("int64")
    return _segment_table(summary, extra.drop(columns="customers"), min_group_size)


def rfm_grid(con: duckdb.DuckDBPyConnection, *, as_of=None, min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Customers per recency x frequency score cell with the cell's named segment.

    *Definition*: as in `rfm_scores`; customers without orders are not in the grid. Cells with
    fewer than `min_group_size` customers are suppressed, rows kept, with complementary suppression
    against the totals published beside the grid: each named segment's size (`rfm_segments`: the
    cells of a segment add up to it) and the grid's total (all customers minus 'no purchase').

    Columns: r_score, f_score, segment, customers, suppressed.
    """
    check_min_group_size(min_group_size)
    sql.run(con, "rfm", {"as_of": _cutoff(con, as_of)})
    g = sql.run(con, "rfm_grid")
    g["customers"] = g["customers"].astype("int64")
    return suppress(g, n="customers", values=[], min_group_size=min_group_size, margins=[["segment"], []])
