"""Altair chart builders for cxlib.analysis.voc and cxlib.analysis.voc.text: `chart_*(df) -> alt.Chart`, never shown or saved.

Each takes the small frame of the matching metric function. Suppressed rows carry no score and
are left out of the marks (the table next to the chart still lists them as suppressed).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import BAD, GOOD, NEUTRAL, checked_frame

__all__ = [
    "chart_ces",
    "chart_compare",
    "chart_csat",
    "chart_drivers",
    "chart_nps",
    "chart_nps_mix",
    "chart_peak_end",
    "chart_themes",
    "chart_topics",
    "has_marks",
]


def _need(df: pd.DataFrame, cols: list[str], what: str) -> pd.DataFrame:
    return checked_frame(df, cols, what, shown_only=True)


def has_marks(df: pd.DataFrame, column: str | None = None) -> bool:
    """Whether a chart of `df` would draw anything: a row that is not suppressed, has answers
    (n > 0, where `df` has n) and, when `column` is given, a value there. Guard a chart with it
    so that no chart is drawn without data."""
    if not isinstance(df, pd.DataFrame) or df.empty:
        return False
    shown = ~df["suppressed"].astype(bool) if "suppressed" in df.columns else pd.Series(True, index=df.index)
    if "n" in df.columns:
        shown &= pd.to_numeric(df["n"], errors="coerce").fillna(0) > 0
    if column is not None:
        shown &= df[column].notna()
    return bool(shown.any())


def _score_chart(df: pd.DataFrame, score: str, label: str, domain: tuple[float, float], what: str,
                 title: str | None) -> alt.Chart:
    data = _need(df, [score, "ci_lower", "ci_upper"], what)
    types = {"segment": "N", "period": "T"}
    tooltip = [f"{c}:{types.get(c, 'Q')}" for c in ("segment", "period", "n", score, "ci_lower", "ci_upper")
               if c in data]
    scale = alt.Scale(domain=list(domain))
    if "period" in data:
        data["period"] = pd.to_datetime(data["period"])
        color = alt.Color("segment:N", title=None) if "segment" in data else alt.value("#1f4e79")
        base = alt.Chart(data).encode(x=alt.X("period:T", title=None))
        band = base.mark_area(opacity=0.18).encode(
            y=alt.Y("ci_lower:Q", title=label, scale=scale), y2="ci_upper:Q", color=color)
        line = base.mark_line(point=True).encode(y=alt.Y(f"{score}:Q", scale=scale), color=color,
                                                 tooltip=tooltip)
        chart = band + line
    else:
        if "segment" not in data:
            data = data.assign(segment="all")
        base = alt.Chart(data).encode(y=alt.Y("segment:N", title=None, sort="-x"))
        bars = base.mark_point(filled=True, size=80).encode(
            x=alt.X(f"{score}:Q", title=label, scale=scale), tooltip=tooltip)
        rules = base.mark_rule().encode(x=alt.X("ci_lower:Q", scale=scale), x2="ci_upper:Q")
        chart = rules + bars
    return chart.properties(title=title or f"{label} with 95% intervals")


def chart_nps(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """NPS with its interval: one line per segment over time when `df` has a period, else a dot
    and interval per segment. `df` is the result of cxlib.nps."""
    return _score_chart(df, "nps", "NPS", (-100, 100), "chart_nps", title)


def chart_nps_mix(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """The make-up of NPS: the share of promoters (9-10), passives (7-8) and detractors (0-6), one
    stacked bar per segment (or one for all answers). NPS is promoters minus detractors; `df` is
    the result of cxlib.nps (suppressed rows are left out)."""
    data = _need(df, ["n", "promoters", "passives", "detractors", "nps"], "chart_nps_mix")
    data = data[pd.to_numeric(data["n"], errors="coerce").fillna(0) > 0]
    if "segment" not in data:
        data = data.assign(segment="all answers")
    groups = {"promoters": "promoters (9-10)", "passives": "passives (7-8)", "detractors": "detractors (0-6)"}
    long = data.melt(id_vars=["segment", "n", "nps"], value_vars=list(groups), var_name="group", value_name="answers")
    long["share"] = long["answers"].astype(float) / long["n"].astype(float) * 100
    long["group"] = long["group"].map(groups)
    long["order"] = long["group"].map({g: i for i, g in enumerate(groups.values())})
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("segment:N", title=None),
        x=alt.X("share:Q", title="share of answers (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("group:N", title=None, sort=list(groups.values()),
                        scale=alt.Scale(domain=list(groups.values()), range=[GOOD, NEUTRAL, BAD]),
                        legend=alt.Legend(orient="bottom", labelLimit=0)),
        order=alt.Order("order:Q"),
        tooltip=["segment:N", "group:N", "answers:Q", alt.Tooltip("share:Q", format=".1f"), "n:Q",
                 alt.Tooltip("nps:Q", format=".0f")],
    ).properties(title=title or "Promoters, passives and detractors (NPS = promoters - detractors)",
                 height=alt.Step(36),
                 description="Share of answers 9-10 (promoters), 7-8 (passives) and 0-6 (detractors); NPS is "
                             "the share of promoters minus the share of detractors, in points.")


def chart_csat(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """CSAT (% satisfied) with its Wilson interval; `df` is the result of cxlib.csat."""
    return _score_chart(df, "csat", "CSAT (% satisfied)", (0, 100), "chart_csat", title)


def chart_ces(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Mean CES (1-7, higher = easier) with its t interval; `df` is the result of cxlib.ces."""
    return _score_chart(df, "mean", "CES (1-7, higher = easier)", (1, 7), "chart_ces", title)


def chart_compare(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Each group's difference from the rest (or from group b), coloured by whether it is
    significant after correction; `df` is the result of cxlib.compare / compare_nps."""
    key = "segment" if "segment" in df.columns else "period"
    data = _need(df, [key, "diff", "significant", "p_adjusted"], "chart_compare")
    data[key] = data[key].astype(str)
    data["verdict"] = data["significant"].map({True: "significant", False: "could be chance"})
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y(f"{key}:N", title=None, sort="-x"),
        x=alt.X("diff:Q", title="difference from the rest"),
        color=alt.Color("verdict:N", title=None,
                        scale=alt.Scale(domain=["significant", "could be chance"], range=[BAD, NEUTRAL])),
        tooltip=[f"{key}:N", "diff:Q", "p_value:Q", "p_adjusted:Q", "significant:N"],
    ).properties(title=title or "Differences between groups (Benjamini-Hochberg corrected)")


def chart_drivers(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Relative importance of NPS drivers (% of R^2) with bootstrap intervals; insignificant
    drivers in grey. `df` is the result of cxlib.key_drivers; R^2 and n go in the subtitle."""
    data = _need(df, ["driver", "importance", "ci_lower", "ci_upper", "significant", "r_squared", "n"],
                 "chart_drivers")
    data["verdict"] = data["significant"].map({True: "significant", False: "not significant"})
    fit = f"model R² = {data['r_squared'].iloc[0]:.2f}, n = {int(data['n'].iloc[0])} customers" if len(data) else ""
    base = alt.Chart(data).encode(y=alt.Y("driver:N", title=None, sort="-x"))
    bars = base.mark_bar().encode(
        x=alt.X("importance:Q", title="share of explained variance (%)"),
        color=alt.Color("verdict:N", title=None,
                        scale=alt.Scale(domain=["significant", "not significant"], range=["#1f4e79", NEUTRAL])),
        tooltip=["driver:N", "kind:N", "importance:Q", "ci_lower:Q", "ci_upper:Q", "direction:N", "p_adjusted:Q"],
    )
    rules = base.mark_rule().encode(x="ci_lower:Q", x2="ci_upper:Q")
    return (bars + rules).properties(title=alt.TitleParams(title or "What drives NPS", subtitle=fit))


def chart_themes(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Feedback themes: volume (share of comments) against the theme's NPS; red when the theme
    is significantly over-represented among detractors. `df` is the result of cxlib.analysis.voc.text.themes."""
    data = _need(df, ["theme", "share", "nps", "over_representation", "significant"], "chart_themes")
    data["verdict"] = [
        "over-represented among detractors" if s and o > 1 else "other"
        for s, o in zip(data["significant"], data["over_representation"])
    ]
    data["over_representation"] = data["over_representation"].clip(upper=1e6)  # inf is not JSON
    base = alt.Chart(data).encode(
        x=alt.X("share:Q", title="share of comments (%)"),
        y=alt.Y("nps:Q", title="NPS of those who mention it", scale=alt.Scale(domain=[-100, 100])),
    )
    dots = base.mark_circle(size=140).encode(
        color=alt.Color("verdict:N", title=None,
                        scale=alt.Scale(domain=["over-represented among detractors", "other"], range=[BAD, GOOD])),
        tooltip=["theme:N", "comments:Q", "share:Q", "nps:Q", "over_representation:Q", "p_adjusted:Q"],
    )
    labels = base.mark_text(align="left", dx=9).encode(text="theme:N")
    return (dots + labels).properties(title=title or "Feedback themes: volume and NPS")


def chart_topics(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Unsupervised topics: comments per topic, labelled by top terms; `df` from cxlib.analysis.voc.text.topics."""
    data = _need(df, ["topic", "top_terms", "comments"], "chart_topics")
    data["label"] = data["topic"].astype(str) + ": " + data["top_terms"].astype(str)
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort="-x"),
        x=alt.X("comments:Q", title="comments"),
        tooltip=["topic:O", "top_terms:N", "comments:Q", "share:Q"],
    ).properties(title=title or "Topics found in the comments")


def chart_peak_end(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Mean relationship NPS (0-10) against (peak+end)/2 and against the mean rating; the
    steeper, tighter line is the better predictor. `df` is the result of cxlib.peak_end_bins."""
    data = _need(df, ["predictor", "value", "customers", "mean_nps"], "chart_peak_end")
    data["predictor"] = data["predictor"].map({"peak_end": "(peak + end) / 2", "mean": "mean of all ratings"})
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("value:Q", title="rating (1-5)"),
        y=alt.Y("mean_nps:Q", title="mean NPS answer (0-10)", scale=alt.Scale(domain=[0, 10])),
        color=alt.Color("predictor:N", title=None),
        tooltip=["predictor:N", "value:Q", "customers:Q", "mean_nps:Q"],
    ).properties(title=title or "Peak-end: the worst and the last moment shape NPS")
