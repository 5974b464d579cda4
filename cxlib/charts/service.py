"""Altair chart builders for cxlib.analysis.service and cxlib.analysis.impact: `chart_*(df) -> alt.Chart`,
never shown or saved.

Each takes the frame of the matching analysis function. Hidden values (suppressed groups) are left
out of the marks; the table next to a chart lists them.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import (
    PADDING,
    checked_frame,
    colour,
    colour_scale,
    graded,
    group_scale,
    heading,
    legend,
    room,
)
from cxlib.errors import CxInputError

__all__ = [
    "chart_agents",
    "chart_churn_by_resolution",
    "chart_first_contact",
    "chart_impact",
    "chart_ratings_by_resolution",
    "chart_resolution_bands",
]

OPEN = "still open"


def _shown(df: pd.DataFrame, columns: list[str], chart: str, value: str) -> pd.DataFrame:
    """The rows a chart draws: the needed columns present, and a value to draw (hidden values are blank)."""
    data = checked_frame(df, columns, chart)
    for col in (value, f"{value}_lower", f"{value}_upper"):
        if col in data:
            data[col] = pd.to_numeric(data[col], errors="coerce")
    return data[data[value].notna()]


def _dots(data: pd.DataFrame, group: str, value: str, *, label: str, title: str, description: str,
          percent: bool, color=None, sort=None, step: int = 22, legend_labels=()) -> alt.LayerChart:
    """A dot and its 95% interval per group."""
    fmt = ".0%" if percent else ".1f"
    scale = alt.Scale(domain=[0, 1]) if percent else alt.Scale(zero=False)
    if sort is None:
        data = data.sort_values(value, ascending=False, kind="stable")
        sort = list(data[group].astype(str))
    r = room([str(x) for x in sort], legend_labels=legend_labels)
    labels = dict(zip([str(x) for x in sort], r.labels))
    data = data.assign(label=data[group].astype(str).map(labels))
    y = alt.Y("label:N", title=None, sort=[labels[str(x)] for x in sort], axis=r.axis())
    base = alt.Chart(data).encode(y=y)
    tooltip = [f"{group}:N", alt.Tooltip(f"{value}:Q", format=fmt), alt.Tooltip(f"{value}_lower:Q", format=fmt),
               alt.Tooltip(f"{value}_upper:Q", format=fmt)]
    dots = base.mark_point(filled=True, size=70).encode(
        x=alt.X(f"{value}:Q", title=label, scale=scale, axis=alt.Axis(format=fmt)),
        color=color if color is not None else alt.value(colour("main")), tooltip=tooltip)
    rules = base.mark_rule(color=colour("interval")).encode(x=alt.X(f"{value}_lower:Q", scale=scale),
                                                            x2=f"{value}_upper:Q")
    return (rules + dots).properties(title=r.title(title), height=alt.Step(min(step, r.step) if step < 20 else r.step),
                                     width=r.width, description=description, padding=PADDING)


def chart_resolution_bands(df: pd.DataFrame, *, by: str | None = None, title: str | None = None) -> alt.Chart:
    """The share of tickets in each resolution-time band, one stacked bar per group (`by`) or one for all.
    `df` is the result of cxlib.analysis.service.resolution_bands."""
    data = _shown(df, ["band", "share", "tickets"], "chart_resolution_bands", "share")
    group = by if by is not None else "group"
    if by is None:
        data[group] = "all tickets"
    elif by not in data:
        raise CxInputError(f"chart_resolution_bands: the frame has no column {by!r}; pass the by= it was made with")
    bands = list(dict.fromkeys(data["band"]))
    timed = [b for b in bands if b != OPEN]
    colors = graded(len(timed))  # fastest better (green) through amber to slowest worse (red)
    data["order"] = data["band"].map({b: i for i, b in enumerate(bands)})
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y(f"{group}:N", title=None),
        x=alt.X("share:Q", title="share of tickets", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("band:N", title="resolved in", sort=bands,
                        scale=alt.Scale(domain=bands, range=colors + ([colour("no clear difference")] if OPEN in bands
                                                                      else [])),
                        legend=legend(bands, "resolved in", orient="bottom")),
        order=alt.Order("order:Q"),
        tooltip=[f"{group}:N", "band:N", alt.Tooltip("tickets:Q", format=",.0f"), alt.Tooltip("share:Q", format=".1%")],
    ).properties(title=heading(title or "How long tickets take to resolve", 600), height=alt.Step(28), width=480,
                 padding=PADDING,
                 description="Share of tickets resolved within each band of hours from opening; a ticket still open "
                             "past the last limit counts in the last band, other open tickets as still open.")


def chart_first_contact(df: pd.DataFrame, *, by: str = "channel", title: str | None = None) -> alt.LayerChart:
    """First-contact resolution with its 95% Wilson interval per group; `df` is the result of
    cxlib.analysis.service.first_contact_resolution(by=...)."""
    columns = [by, "first_contact_rate", "first_contact_rate_lower", "first_contact_rate_upper"]
    data = _shown(df, columns, "chart_first_contact", "first_contact_rate")
    return _dots(data, by, "first_contact_rate", label="solved at the first contact", percent=True,
                 title=title or f"First-contact resolution by {by}, with 95% intervals",
                 description="Share of resolved tickets that needed one contact and were not reopened "
                             "(Zendesk's one-touch tickets), with its 95% Wilson interval.")


def chart_ratings_by_resolution(df: pd.DataFrame, *, metric: str = "csat", title: str | None = None) -> alt.LayerChart:
    """CSAT (or CES) after a ticket by the ticket's resolution-time band, with 95% intervals; `df` is the
    result of cxlib.analysis.service.ratings_by_resolution (without by)."""
    if metric not in ("csat", "ces"):
        raise CxInputError(f"chart_ratings_by_resolution shows 'csat' or 'ces', got {metric!r}")
    data = _shown(df, ["band", metric, f"{metric}_lower", f"{metric}_upper"], "chart_ratings_by_resolution", metric)
    if metric == "csat":
        for col in ("csat", "csat_lower", "csat_upper"):
            data[col] = data[col].astype(float) / 100
    label = "CSAT (% satisfied)" if metric == "csat" else "CES (1-7, higher = easier)"
    return _dots(data, "band", metric, label=label, percent=metric == "csat", sort=list(data["band"]),
                 title=title or f"{label.split(' (')[0]} after a ticket, by how long it took",
                 description=f"{label} of answers given within the link window after a resolved ticket, by the "
                             "ticket's resolution time, with 95% intervals.")


def chart_churn_by_resolution(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Churn rate by the band of the customer's slowest ticket, with 95% intervals; `df` is the result of
    cxlib.analysis.service.churn_by_resolution."""
    data = _shown(df, ["band", "churn_rate", "churn_rate_lower", "churn_rate_upper"], "chart_churn_by_resolution",
                  "churn_rate")
    return _dots(data, "band", "churn_rate", label="churned", percent=True, sort=list(data["band"]),
                 title=title or "Churn by how long the customer's slowest ticket took",
                 description="Share of judged customers who churned, by the resolution time of their slowest "
                             "ticket (or without a ticket), with 95% Wilson intervals; an association, not proof.")


MAX_AGENTS = 40  # dots per agent chart; more are neither readable nor drawable (a sort list of thousands)


def _top_agents(data: pd.DataFrame) -> pd.DataFrame:
    """MAX_AGENTS rows: the faster agents that stand out (up to half the rows), the slower ones, then the
    rest by slow share; drawn by slow share, highest first."""
    data = data.sort_values("slow_share", ascending=False, kind="stable")
    faster = data[data["stands_out"] == "faster"].tail(MAX_AGENTS // 2)  # the fastest of them
    slower = data[data["stands_out"] == "slower"].head(MAX_AGENTS - len(faster))
    rest = data[data["stands_out"] == "like the rest"].head(MAX_AGENTS - len(faster) - len(slower))
    return data.loc[data.index.isin(faster.index.union(slower.index).union(rest.index))]


def chart_agents(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Each agent's share of slow tickets with its 95% interval, by pseudonym, coloured where the agent
    stands out from the rest; `df` is the result of cxlib.analysis.service.agent_performance."""
    data = _shown(df, ["agent", "slow_share", "slow_share_lower", "slow_share_upper", "stands_out"], "chart_agents",
                  "slow_share")
    data["stands_out"] = data["stands_out"].replace("", "like the rest")
    shown_note = ""
    if len(data) > MAX_AGENTS:  # a readable chart: those that stand out first, then the slowest
        total = len(data)
        data = _top_agents(data)
        shown_note = (f" Showing {MAX_AGENTS} of {total:,} agents: those that differ from the rest (the faster "
                      "ones kept when the slower fill the chart), then the highest shares.")
    verdicts = {"slower": "worse", "like the rest": "no clear difference", "faster": "better"}
    drawn = [v for v in verdicts if v in set(data["stands_out"])]  # the key lists only colours that are drawn
    color = alt.Color("stands_out:N", title=None, scale=colour_scale(verdicts), legend=legend(drawn, values=drawn))
    return _dots(data, "agent", "slow_share", label="share of tickets taking longer than the last band limit",
                 percent=True, color=color, sort=list(data["agent"]), step=13, legend_labels=drawn,
                 title=title or "Slow tickets per agent (by pseudonym), with 95% intervals",
                 description="Per agent, the share of their tickets known to take longer than the last band limit; "
                             "coloured when it differs from the other agents beyond chance (Benjamini-Hochberg)."
                             + shown_note)


def chart_impact(df: pd.DataFrame, *, change_date, label: str = "value", title: str | None = None) -> alt.LayerChart:
    """The metric per period and group (dots), the design's fitted lines, and (dashed) what it expects
    without the change; a rule marks the change date. `df` is ImpactResult.series."""
    data = checked_frame(df, ["period", "group", "value", "fitted", "expected"], "chart_impact")
    data["period"] = pd.to_datetime(data["period"])
    data["after"] = data["period"] >= pd.Timestamp(change_date)
    x = alt.X("period:T", title=None)
    groups = [str(g) for g in dict.fromkeys(data["group"])]
    color = alt.Color("group:N", title=None, scale=group_scale(groups), legend=legend(groups, orient="bottom"))
    shown = data[pd.to_numeric(data["value"], errors="coerce").notna()].assign(value=lambda d: d["value"].astype(float))
    dots = alt.Chart(shown).mark_point(filled=True, size=30, opacity=0.6).encode(
        x=x, y=alt.Y("value:Q", title=label, scale=alt.Scale(zero=False)), color=color,
        tooltip=["period:T", "group:N", alt.Tooltip("n:Q", format=",.0f"), alt.Tooltip("value:Q", format=".1f")])
    fitted = alt.Chart(data).mark_line().encode(x=x, y="fitted:Q", color=color, detail="after:N")
    expected = alt.Chart(data[data["after"] & data["expected"].notna()]).mark_line(strokeDash=[5, 4]).encode(
        x=x, y="expected:Q", color=color)
    rule = alt.Chart(pd.DataFrame({"change": [pd.Timestamp(change_date)]})).mark_rule(color=colour("reference")).encode(
        x="change:T")
    return (dots + fitted + expected + rule).properties(
        title=title or f"{label} per period around the change",
        description="Dots: the metric per period and group (periods with too few observations hidden); lines: "
                    "the design's fit (for a difference in differences, each group's average before and after); "
                    "dashed: what the design expects without the change; the rule: the change date.")
