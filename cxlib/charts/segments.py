"""Altair chart builders for cxlib.analysis.segments: `chart_*(df)` returning a chart, never shown or saved.

Each takes the small frame a segments function returns. Suppressed rows are left out of the
marks (their values are blank) and never re-derived.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import BAD, GOOD, NEUTRAL, PALETTE, checked_frame
from cxlib.errors import unknown_name

__all__ = [
    "chart_cluster_features",
    "chart_cues",
    "chart_rfm_grid",
    "chart_rfm_segments",
    "chart_segment_profile",
]

_TITLES = {
    "revenue_per_customer": "Revenue per customer",
    "nps": "NPS (points)",
    "csat": "CSAT (% satisfied)",
    "ces": "CES (1-7, higher = easier)",
    "churn_rate": "Churn rate",
}


def _need(df: pd.DataFrame, columns: list[str], what: str) -> pd.DataFrame:
    return checked_frame(df, columns, what, shown_only=True)


def chart_segment_profile(df: pd.DataFrame, *, metric: str = "nps") -> alt.LayerChart:
    """One metric of `segment_profile`: each segment's value with its 95% interval, coloured by
    whether it differs significantly (after Benjamini-Hochberg) from the rest; a grey tick marks
    the rest's value. Green is better than the rest and red worse: for the churn rate that is
    below and above the rest."""
    d = _need(df, ["segment", "metric", "value", "ci_lower", "ci_upper", "rest_value", "significant",
                   "p_adjusted"], "chart_segment_profile")
    if metric not in _TITLES:
        raise unknown_name("metric", str(metric), "the segment profile", _TITLES)
    d = d[d["metric"] == metric].copy()
    d["verdict"] = "no clear difference"
    d.loc[d["significant"].astype(bool) & (d["value"] > d["rest_value"]), "verdict"] = "above the rest"
    d.loc[d["significant"].astype(bool) & (d["value"] < d["rest_value"]), "verdict"] = "below the rest"
    fmt = ".0%" if metric == "churn_rate" else ",.1f"
    y = alt.Y("segment:N", title=None, sort=alt.EncodingSortField("value", order="descending"))
    better_high = metric != "churn_rate"  # less churn is better
    colour = alt.Color("verdict:N", title="Compared with the rest",
                       scale=alt.Scale(domain=["above the rest", "no clear difference", "below the rest"],
                                       range=[GOOD, NEUTRAL, BAD] if better_high else [BAD, NEUTRAL, GOOD]))
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("n:Q", title="answers / customers", format=","),
               alt.Tooltip("value:Q", format=fmt), alt.Tooltip("ci_lower:Q", format=fmt),
               alt.Tooltip("ci_upper:Q", format=fmt), alt.Tooltip("rest_value:Q", format=fmt, title="rest"),
               alt.Tooltip("p_adjusted:Q", format=".3f", title="p (BH-adjusted)")]
    base = alt.Chart(d)
    rules = base.mark_rule(strokeWidth=2).encode(y=y, x=alt.X("ci_lower:Q", title=_TITLES[metric]), x2="ci_upper:Q",
                                                  color=colour)
    points = base.mark_point(filled=True, size=80).encode(y=y, x="value:Q", color=colour, tooltip=tooltip)
    rest = base.mark_tick(color="#555555", thickness=1).encode(y=y, x="rest_value:Q")
    return (rules + points + rest).properties(title=f"{_TITLES[metric]} by segment, with 95% intervals")


def chart_rfm_grid(df: pd.DataFrame) -> alt.Chart:
    """Customers per recency x frequency score cell (`rfm_grid`), the cell's segment in the tooltip."""
    d = _need(df, ["r_score", "f_score", "segment", "customers"], "chart_rfm_grid")
    return alt.Chart(d).mark_rect().encode(
        x=alt.X("f_score:O", title="Frequency score (5 = most orders)"),
        y=alt.Y("r_score:O", title="Recency score (5 = most recent)", sort="descending"),
        color=alt.Color("customers:Q", title="Customers", scale=alt.Scale(scheme="blues")),
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("r_score:O"), alt.Tooltip("f_score:O"),
                 alt.Tooltip("customers:Q", format=",")],
    ).properties(title="Customers by recency and frequency score", width=300, height=300)


def chart_rfm_segments(df: pd.DataFrame) -> alt.Chart:
    """Bars of customers per named RFM segment (`rfm_segments`), best segments first, NPS in colour.

    Without any NPS score (a store of orders alone) the bars are one colour and the title says
    nothing of NPS, rather than drawing segments in a colour that means 'no data'."""
    d = _need(df, ["segment", "customers", "share", "nps", "revenue_per_customer"], "chart_rfm_segments")
    order = list(d["segment"])
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("customers:Q", format=","),
               alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("revenue_per_customer:Q", format=",.0f")]
    base = alt.Chart(d).mark_bar().encode(y=alt.Y("segment:N", sort=order, title=None),
                                          x=alt.X("customers:Q", title="Customers"))
    if not d["nps"].notna().any():
        return base.encode(color=alt.value(PALETTE[0]), tooltip=tooltip).properties(title="Customers per RFM segment")
    return base.encode(
        color=alt.Color("nps:Q", title="NPS", scale=alt.Scale(scheme="redyellowgreen", domain=[-50, 50])),
        tooltip=[*tooltip, alt.Tooltip("nps:Q", format=".1f")],
    ).properties(title="Customers per RFM segment (colour: NPS)")


def chart_cluster_features(df: pd.DataFrame) -> alt.Chart:
    """Heatmap of each cluster's features in SDs from the average (`BehaviourClusters.features`)."""
    d = _need(df, ["segment", "feature", "label", "z", "cluster_mean", "overall_mean"], "chart_cluster_features")
    return alt.Chart(d).mark_rect().encode(
        x=alt.X("segment:N", title=None),
        y=alt.Y("label:N", title=None),
        color=alt.Color("z:Q", title="SDs from average",
                        scale=alt.Scale(scheme="redblue", domain=[-2, 2], clamp=True, reverse=True)),
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("label:N", title="feature"),
                 alt.Tooltip("cluster_mean:Q", format=",.2f"), alt.Tooltip("overall_mean:Q", format=",.2f"),
                 alt.Tooltip("z:Q", format="+.2f")],
    ).properties(title="What sets each cluster apart (blue: above average, red: below)")


def chart_cues(df: pd.DataFrame) -> alt.Chart:
    """Bars of lift (use relative to average) of each segment's personalisation cues."""
    d = _need(df, ["segment", "kind", "value", "lift", "reach", "overall_reach"], "chart_cues")
    d["item"] = d["kind"].astype(str) + ": " + d["value"].astype(str)
    return alt.Chart(d).mark_bar().encode(
        y=alt.Y("item:N", title=None, sort=alt.EncodingSortField("lift", order="descending")),
        x=alt.X("lift:Q", title="Use relative to average (1 = average)"),
        color=alt.Color("kind:N", title=None),
        row=alt.Row("segment:N", title=None),
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("item:N", title="used"), alt.Tooltip("lift:Q", format=".2f"),
                 alt.Tooltip("reach:Q", format=".0%"), alt.Tooltip("overall_reach:Q", format=".0%")],
    ).resolve_scale(y="independent").properties(title="Where each segment differs: tailor these touchpoints")
