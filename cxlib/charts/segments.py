"""Altair chart builders for cxlib.analysis.segments: `chart_*(df)` returning a chart, never shown or saved.

Each takes the small frame a segments function returns. Suppressed rows are left out of the
marks (their values are blank) and never re-derived.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import (
    COLOUR_WORDS,
    COLOURS,
    SEQUENTIAL,
    checked_frame,
    colour,
    colour_scale,
    diverging_range,
    full_range_note,
    graded_range,
    heading,
    legend,
    room,
    score_domain,
    wrap,
)
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
    whether it is significantly better or worse (after Benjamini-Hochberg) than the rest; a grey
    tick marks the rest's value. Segments are sorted by value. Better is higher, except for the
    churn rate, where less is better."""
    d = _need(df, ["segment", "metric", "value", "ci_lower", "ci_upper", "rest_value", "significant",
                   "p_adjusted"], "chart_segment_profile")
    if metric not in _TITLES:
        raise unknown_name("metric", str(metric), "the segment profile", _TITLES)
    d = d[d["metric"] == metric].copy()
    better_high = metric != "churn_rate"  # less churn is better
    sig = d["significant"].astype(bool)
    higher, lower = d["value"] > d["rest_value"], d["value"] < d["rest_value"]
    d["verdict"] = "no clear difference"
    d.loc[sig & (higher if better_high else lower), "verdict"] = "better than the rest"
    d.loc[sig & (lower if better_high else higher), "verdict"] = "worse than the rest"
    d = d.sort_values("value", ascending=False, kind="stable")
    d["label"] = [wrap(x) for x in d["segment"].astype(str)]
    verdicts = {"better than the rest": "better", "no clear difference": "no clear difference",
                "worse than the rest": "worse"}
    drawn = [v for v in verdicts if v in set(d["verdict"])]  # the key lists only colours that are drawn
    r = room(d["label"], legend_labels=drawn, legend_title="Compared with the rest")
    fmt = ".0%" if metric == "churn_rate" else ",.1f"
    y = alt.Y("label:N", title=None, sort=list(d["label"]), axis=r.axis())
    colour_ = alt.Color("verdict:N", scale=colour_scale(verdicts), legend=legend(drawn, "Compared with the rest",
                                                                                   values=drawn))
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("n:Q", title="answers / customers", format=","),
               alt.Tooltip("value:Q", format=fmt), alt.Tooltip("ci_lower:Q", format=fmt),
               alt.Tooltip("ci_upper:Q", format=fmt), alt.Tooltip("rest_value:Q", format=fmt, title="rest"),
               alt.Tooltip("p_adjusted:Q", format=".3f", title="p (BH-adjusted)")]
    subtitle, scale = None, alt.Scale(zero=False)
    full = {"nps": (-100, 100), "csat": (0, 100), "ces": (1, 7)}.get(metric)
    if full:
        domain, zoomed = score_domain(pd.concat([d["ci_lower"], d["ci_upper"], d["rest_value"]]), full,
                                      step={"ces": 0.5}.get(metric, 10), min_span={"ces": 2}.get(metric, 40))
        scale = alt.Scale(domain=domain, nice=False)
        subtitle = full_range_note(_TITLES[metric].split(" (")[0], full, domain) if zoomed else None
    base = alt.Chart(d)
    rules = base.mark_rule(strokeWidth=2).encode(
        y=y, x=alt.X("ci_lower:Q", title=_TITLES[metric], scale=scale), x2="ci_upper:Q", color=colour_)
    points = base.mark_point(filled=True, size=80).encode(y=y, x="value:Q", color=colour_, tooltip=tooltip)
    rest = base.mark_tick(color=colour("reference"), thickness=1).encode(y=y, x="rest_value:Q")
    name = _TITLES[metric].split(" (")[0]
    name = name if name.isupper() else name.lower()
    direction = "lower is better" if metric == "churn_rate" else "higher is better"
    return (rules + points + rest).properties(
        title=r.title(f"{_TITLES[metric]} by segment, with 95% intervals", subtitle),
        width=r.width, height=alt.Step(r.step),
        description=f"Each segment's {name} (dot) with its 95% interval (line) and the value of all other "
                    f"customers (grey tick); {direction}, so green marks a segment significantly better than the "
                    "rest and red one significantly worse, after a Benjamini-Hochberg correction.")


def chart_rfm_grid(df: pd.DataFrame) -> alt.Chart:
    """Customers per recency x frequency score cell (`rfm_grid`), the cell's segment in the tooltip."""
    d = _need(df, ["r_score", "f_score", "segment", "customers"], "chart_rfm_grid")
    return alt.Chart(d).mark_rect().encode(
        x=alt.X("f_score:O", title="Frequency score (5 = most orders)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("r_score:O", title="Recency score (5 = most recent)", sort="descending"),
        color=alt.Color("customers:Q", title="Customers", scale=alt.Scale(scheme=SEQUENTIAL)),
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("r_score:O"), alt.Tooltip("f_score:O"),
                 alt.Tooltip("customers:Q", format=",")],
    ).properties(title=heading("Customers by recency and frequency score", 420), width=300, height=300,
                 description="Customers in each cell of recency score (rows, 5 = ordered most recently) by "
                             "frequency score (columns, 5 = most orders); the darker the cell, the more customers.")


def chart_rfm_segments(df: pd.DataFrame) -> alt.Chart:
    """Bars of customers per named RFM segment (`rfm_segments`), largest first, NPS in colour
    (red worse, green better).

    Without any NPS score (a store of orders alone) the bars are one colour and the title says
    nothing of NPS, rather than drawing segments in a colour that means 'no data'."""
    d = _need(df, ["segment", "customers", "share", "nps", "revenue_per_customer"], "chart_rfm_segments")
    d = d.sort_values("customers", ascending=False, kind="stable")
    d["label"] = [wrap(x) for x in d["segment"].astype(str)]
    has_nps = bool(d["nps"].notna().any())
    r = room(d["label"], legend_title="NPS" if has_nps else None, legend_labels=["-50", "50"] if has_nps else ())
    tooltip = [alt.Tooltip("segment:N"), alt.Tooltip("customers:Q", format=","),
               alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("revenue_per_customer:Q", format=",.0f")]
    base = alt.Chart(d).mark_bar().encode(y=alt.Y("label:N", sort=list(d["label"]), title=None, axis=r.axis()),
                                          x=alt.X("customers:Q", title="Customers"))
    size = {"width": r.width, "height": alt.Step(r.step)}
    if not has_nps:
        return base.encode(color=alt.value(colour("main")), tooltip=tooltip).properties(
            title=r.title("Customers per RFM segment"), **size,
            description="Customers in each RFM segment (named from their recency and frequency scores), "
                        "largest first.")
    return base.encode(
        color=alt.Color("nps:Q", title="NPS", scale=alt.Scale(range=graded_range(), domain=[-50, 0, 50], clamp=True)),
        tooltip=[*tooltip, alt.Tooltip("nps:Q", format=".1f")],
    ).properties(title=r.title("Customers per RFM segment (colour: NPS, red lower, green higher)"), **size,
                 description="Customers in each RFM segment (named from their recency and frequency scores), "
                             "largest first; the bar's colour is the segment's NPS, from red (-50 or lower) "
                             "through amber to green (50 or higher).")


def chart_cluster_features(df: pd.DataFrame) -> alt.Chart:
    """Heatmap of each cluster's features in SDs from the average (`BehaviourClusters.features`):
    blue above the average, orange below (neither better nor worse)."""
    d = _need(df, ["segment", "feature", "label", "z", "cluster_mean", "overall_mean"], "chart_cluster_features")
    d["row"] = [wrap(x) for x in d["label"].astype(str)]
    r = room(d["row"], legend_title="SDs from average", legend_labels=["+2.0"])
    clusters = list(dict.fromkeys(d["segment"].astype(str)))
    width = min(r.width, max(60 * len(clusters), 180))
    return alt.Chart(d).mark_rect().encode(
        x=alt.X("segment:N", title=None, sort=clusters, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("row:N", title=None, axis=r.axis()),
        color=alt.Color("z:Q", title="SDs from average",
                        scale=alt.Scale(domain=[-2, 0, 2], range=diverging_range(), clamp=True),
                        legend=alt.Legend(format="+.1f")),
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("label:N", title="feature"),
                 alt.Tooltip("cluster_mean:Q", format=",.2f"), alt.Tooltip("overall_mean:Q", format=",.2f"),
                 alt.Tooltip("z:Q", format="+.2f")],
    ).properties(title=heading("What sets each cluster apart", r.total - r.width + width,
                               subtitle=f"{_WORDS['higher']}: above average, {_WORDS['lower']}: below"),
                 width=width, height=alt.Step(r.step),
                 description=f"For each cluster (columns) and measure (rows), how far the cluster's average lies "
                             f"from the average of all customers, in standard deviations: {_WORDS['higher']} "
                             f"above it, {_WORDS['lower']} below, pale near it; neither colour means better.")


_WORDS = {k: COLOUR_WORDS[COLOURS[k]] for k in ("higher", "lower")}  # the legend's words follow the colours


def chart_cues(df: pd.DataFrame) -> alt.FacetChart:
    """Bars of lift (use relative to average) of each segment's personalisation cues, largest first,
    each with its 95% interval (a line; delta method, customers the unit) and a dashed rule at 1."""
    d = _need(df, ["segment", "kind", "value", "lift", "lift_ci_lower", "lift_ci_upper", "reach", "overall_reach"],
              "chart_cues")
    d = d.sort_values(["segment", "lift"], ascending=[True, False], kind="stable")
    d["item"] = [wrap(f"{k}: {v}") for k, v in zip(d["kind"].astype(str), d["value"].astype(str))]
    kinds = list(dict.fromkeys(d["kind"].astype(str)))
    segs = [wrap(x, 120) for x in dict.fromkeys(d["segment"].astype(str))]
    r = room(list(d["item"]) + segs, legend_labels=kinds)
    y = alt.Y("item:N", title=None, sort=alt.EncodingSortField("lift", order="descending"), axis=r.axis())
    size = {"width": r.width - 80, "height": alt.Step(r.step)}
    bars = alt.Chart().mark_bar().encode(
        # a fixed tick count: the theme's ceil(width / 80) has no width inside a facet (no ticks were drawn)
        y=y, x=alt.X("lift:Q", title="Use relative to average (1 = average), with 95% interval",
                     axis=alt.Axis(tickCount=max(2, round((r.width - 80) / 80)))),
        color=alt.Color("kind:N", title=None, legend=legend(kinds)),
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("item:N", title="used"), alt.Tooltip("lift:Q", format=".2f"),
                 alt.Tooltip("lift_ci_lower:Q", format=".2f", title="95% interval from"),
                 alt.Tooltip("lift_ci_upper:Q", format=".2f", title="95% interval to"),
                 alt.Tooltip("reach:Q", format=".0%"), alt.Tooltip("overall_reach:Q", format=".0%")],
    ).properties(**size)
    whiskers = alt.Chart().mark_rule(color=colour("interval"), strokeWidth=2).encode(
        y=y, x="lift_ci_lower:Q", x2="lift_ci_upper:Q").properties(**size)
    average = alt.Chart().mark_rule(color=colour("reference"), strokeDash=[4, 3]).encode(
        x=alt.datum(1)).properties(**size)
    return alt.layer(bars, whiskers, average, data=d).facet(
        row=alt.Row("segment:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=0)),
    ).resolve_scale(y="independent").properties(
        title=r.title("Where each segment differs: tailor these touchpoints",
                      "Lines: 95% intervals (delta method, customers as the unit); dashed: average"),
        description=f"For each segment, what its customers use more than customers on average (by "
                    f"{' and '.join(kinds)}): the bar is the lift, the share of the segment's events on it divided "
                    "by the share of everybody's events (1 = average, 2 = twice as much), largest first; the dark "
                    "line is its 95% interval, which lies wholly above 1 for every cue shown.")
