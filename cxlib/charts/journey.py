"""Altair chart builders for cxlib.analysis.journey: `chart_*(df) -> alt.Chart`, never shown or saved.

Each takes the small frame a journey function returns. Suppressed rows are left out of the
marks (their values are blank) and never re-derived. Durations are drawn in hours or days.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import (
    SEQUENTIAL,
    checked_frame,
    colour,
    colour_scale,
    graded_range,
    group_scale,
    legend,
    room,
    wrap,
)

__all__ = [
    "chart_activity",
    "chart_friction",
    "chart_funnel",
    "chart_handoffs",
    "chart_journey_map",
    "chart_step_matrix",
]


STAGE_ORDER = ("awareness", "consideration", "purchase", "service", "loyalty")


def _need(df: pd.DataFrame, columns: list[str], what: str) -> pd.DataFrame:
    out = checked_frame(df, columns, what)
    for col in [c for c in out.columns if str(out[c].dtype).startswith("timedelta")]:
        # Vega-Lite has no duration type: carry durations as hours.
        out[f"{col}_hours"] = out.pop(col).dt.total_seconds() / 3600
    return out


def _shown(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["suppressed"].astype(bool)] if "suppressed" in df else df


def chart_funnel(df: pd.DataFrame) -> alt.LayerChart:
    """Horizontal bars of conversion from the first step, steps top to bottom (one bar per segment
    within a step, NPS groups in their colours), each labelled with its value, with 95% Wilson
    intervals. The height grows with steps x segments; the width stays within the page."""
    d = _need(df, ["segment", "step", "touchpoint", "customers", "conversion_from_first", "ci_lower", "ci_upper"],
              "chart_funnel")
    d = _shown(d).sort_values(["step", "segment"], kind="stable")
    d["label"] = [wrap(f"{int(s)}. {t}") for s, t in zip(d["step"], d["touchpoint"].astype(str))]
    d["value_label"] = [f"{v:.0%}" if pd.notna(v) else "" for v in d["conversion_from_first"]]
    d = d[["segment", "step", "touchpoint", "label", "customers", "conversion_from_first", "ci_lower", "ci_upper",
           "value_label"]]
    order = list(dict.fromkeys(d["label"]))
    segments = group_scale(d["segment"]).to_dict().get("domain", [])  # NPS groups promoter first
    many = len(segments) > 1
    r = room(order, legend_labels=segments if many else (), legend_title="Segment" if many else None,
             preferred=420)
    bar_px = 16 if many else 22
    step_px = max(r.step, bar_px * len(segments) + 8)
    y = alt.Y("label:N", sort=order, title=None, axis=r.axis(), scale=alt.Scale(paddingInner=0.25))
    # room right of 100% for the value labels; the axis still ends at 100%
    x = alt.X("conversion_from_first:Q", title="Conversion from step 1", scale=alt.Scale(domain=[0, 1.14], nice=False),
              axis=alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    off = {"yOffset": alt.YOffset("segment:N", sort=segments)} if many else {}
    colour_ = (alt.Color("segment:N", title="Segment", scale=group_scale(segments), legend=legend(segments, "Segment"))
               if many else alt.value(colour("main")))
    base = alt.Chart(d).encode(y=y, **off)
    bars = base.mark_bar().encode(
        x=x, color=colour_,
        tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("touchpoint:N"), alt.Tooltip("customers:Q", format=","),
                 alt.Tooltip("conversion_from_first:Q", format=".1%", title="conversion from step 1"),
                 alt.Tooltip("ci_lower:Q", format=".1%"), alt.Tooltip("ci_upper:Q", format=".1%")])
    errs = base.mark_rule(color=colour("interval")).encode(x="ci_lower:Q", x2="ci_upper:Q")
    values = base.mark_text(align="left", dx=4, fontSize=10 if many else 11).encode(
        x="ci_upper:Q", text="value_label:N")
    return (bars + errs + values).properties(
        width=r.width, height=alt.Step(step_px // len(segments) if many else step_px),
        title=r.title("Share of customers reaching each step"),
        description=f"Funnel conversion from {d['touchpoint'].iloc[0] if len(d) else 'step 1'} through "
                    f"{len(order)} steps: customers who did the steps in order within the conversion window from "
                    "their step 1, as a share of those who did step 1 (customers whose window is still open are "
                    f"left out), {'one bar per segment' if many else 'one bar per step'}; black lines are 95% "
                    "Wilson intervals.")


def chart_step_matrix(df: pd.DataFrame) -> alt.Chart:
    """Heat map: share of customers whose k-th event is each touchpoint; a cell cannot draw its 95%
    Wilson interval, so the tooltip gives it."""
    d = _need(df, ["position", "node", "customers", "share", "share_lower", "share_upper"], "chart_step_matrix")
    d = _shown(d)
    return alt.Chart(d).mark_rect().encode(
        x=alt.X("position:O", title="Event number in the journey"),
        y=alt.Y("node:N", title=None, sort=alt.EncodingSortField("customers", op="sum", order="descending")),
        color=alt.Color("share:Q", title="Share of customers", scale=alt.Scale(scheme=SEQUENTIAL),
                        legend=alt.Legend(format="%")),
        tooltip=[alt.Tooltip("position:O"), alt.Tooltip("node:N"), alt.Tooltip("customers:Q", format=","),
                 alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("share_lower:Q", format=".1%", title="95% interval from"),
                 alt.Tooltip("share_upper:Q", format=".1%", title="95% interval to")],
    ).properties(title="What customers do first, second, third ...",
                 description="Journey steps: share of customers whose k-th event is each touchpoint; "
                             "'(ended)' means the journey had fewer events; the tooltip gives each share's "
                             "95% Wilson interval.")


def chart_journey_map(df: pd.DataFrame) -> alt.LayerChart:
    """Bars of customers reaching each stage, coloured by the stage's CSAT where rated, grey where not,
    with the share's 95% Wilson interval as a line on each bar."""
    d = _need(df, ["stage", "customers", "share", "share_lower", "share_upper", "csat", "median_time_from_previous"],
              "chart_journey_map")
    d = _shown(d)
    d["days_from_previous"] = d["median_time_from_previous_hours"] / 24
    order = list(STAGE_ORDER)
    base = alt.Chart(d).mark_bar().encode(
        x=alt.X("stage:N", sort=order, title="Journey stage", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title="Share of customers reaching the stage", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("customers:Q", format=","), alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("share_lower:Q", format=".1%", title="95% interval from"),
                 alt.Tooltip("share_upper:Q", format=".1%", title="95% interval to"),
                 alt.Tooltip("days_from_previous:Q", format=".1f", title="median days from previous stage"),
                 alt.Tooltip("csat:Q", format=".1%")],
    )
    # Vega-Lite drops a mark whose colour value is null, so unrated stages are drawn as grey bars
    # under the coloured ones.
    unrated = base.mark_bar(color=colour("empty"), stroke=colour("no clear difference"))
    rated = base.encode(color=alt.Color("csat:Q", title="CSAT (share 4-5)",
                                        scale=alt.Scale(range=graded_range(), domain=[0.4, 0.7, 1], clamp=True),
                                        legend=alt.Legend(format="%")))
    errs = base.mark_rule(color=colour("interval"), strokeWidth=2).encode(y="share_lower:Q", y2="share_upper:Q")
    return (unrated + rated + errs).properties(
        width=alt.Step(90), title="How far customers get, and how each stage is rated",
        description="Journey map: share of customers with an event in each stage, the line on each bar its 95% "
                    "Wilson interval; colour is CSAT (share of ratings 4-5) of the stage's touchpoints where "
                    "surveys exist, grey where none.")


def chart_handoffs(df: pd.DataFrame) -> alt.LayerChart:
    """Repeat-contact rate after each service hand-off, next to the no-hand-off baselines, with the
    rate's 95% interval (Wilson, clustered by customer) as a line on each bar."""
    d = _need(df, ["from_touchpoint", "to_touchpoint", "handoff", "cases", "repeat_rate", "repeat_rate_lower",
                   "repeat_rate_upper"], "chart_handoffs")
    d = _shown(d)
    d["case"] = d["from_touchpoint"].astype(str) + " → " + d["to_touchpoint"].astype(str)
    d["kind"] = d["handoff"].map({True: "hand-off", False: "no hand-off"})
    cols = ["case", "kind", "cases", "repeat_rate", "repeat_rate_lower", "repeat_rate_upper"] + [c for c in ("ces",) if c in d]
    d = d[cols]
    tooltip = [alt.Tooltip("case:N"), alt.Tooltip("cases:Q", format=","),
               alt.Tooltip("repeat_rate:Q", format=".1%", title="repeat contact within the window"),
               alt.Tooltip("repeat_rate_lower:Q", format=".1%", title="95% interval from"),
               alt.Tooltip("repeat_rate_upper:Q", format=".1%", title="95% interval to")]
    if "ces" in d:
        tooltip.append(alt.Tooltip("ces:Q", format=".2f", title="CES (1-7, higher = easier)"))
    order = d.sort_values("repeat_rate", ascending=False, kind="stable")["case"].tolist()
    base = alt.Chart(d).encode(y=alt.Y("case:N", sort=order, title=None), tooltip=tooltip)
    bars = base.mark_bar().encode(
        x=alt.X("repeat_rate:Q", title="Share of cases followed by another contact", axis=alt.Axis(format="%")),
        color=alt.Color("kind:N", title=None, scale=colour_scale({"hand-off": "worse", "no hand-off": "no clear difference"})),
    )
    errs = base.mark_rule(color=colour("interval"), strokeWidth=2).encode(x="repeat_rate_lower:Q", x2="repeat_rate_upper:Q")
    return (bars + errs).properties(
        title="Customers come back after a hand-off between channels",
        description="Hand-off: a service contact followed within a day by the next contact on another "
                    "channel; repeat rate is the share of cases with a further service contact within "
                    "the repeat window; the line on each bar is its 95% interval (Wilson, clustered by customer).")


def chart_friction(df: pd.DataFrame, *, top: int = 15) -> alt.LayerChart:
    """Bars of extra drop-off after each touchpoint (per channel) against its baseline, with 95% intervals.

    Takes ``friction()`` output. The `top` rows with a baseline, worst friction score first; a bar is
    red when the extra drop-off is beyond chance (its interval above 0), grey otherwise. Rows without a
    baseline are not drawn; when no row has one, bars of plain drop-off after the most frequent
    touchpoints instead.
    """
    d = _need(df, ["touchpoint", "channel", "dropoff_rate", "occurrences", "excess", "excess_lower", "excess_upper",
                   "flagged", "baseline"], "chart_friction")
    shown = _shown(d)
    ranked = shown.dropna(subset=["excess", "excess_lower", "excess_upper"]).head(top)
    if ranked.empty:
        return _chart_dropoff(shown.dropna(subset=["dropoff_rate"]), top)
    verdicts = {True: "beyond chance", False: "could be chance"}
    d = ranked.assign(label=[wrap(f"{t} ({c})") for t, c in zip(ranked["touchpoint"].astype(str),
                                                                  ranked["channel"].astype(str))],
                      verdict=ranked["flagged"].astype(bool).map(verdicts))
    d = d[["label", "touchpoint", "channel", "baseline", "occurrences", "dropoff_rate", "excess", "excess_lower",
           "excess_upper", "verdict"]]
    order = list(d["label"])
    drawn = [v for v in verdicts.values() if v in set(d["verdict"])]
    r = room(order, legend_labels=drawn, legend_title="Extra drop-off")
    y = alt.Y("label:N", sort=order, title=None, axis=r.axis())
    base = alt.Chart(d).encode(y=y)
    bars = base.mark_bar().encode(
        x=alt.X("excess:Q", title="Extra drop-off against the same touchpoint elsewhere (points)",
                axis=alt.Axis(format="+.0%")),
        color=alt.Color("verdict:N", title="Extra drop-off",
                        scale=alt.Scale(domain=list(verdicts.values()),
                                        range=[colour("worse"), colour("no clear difference")]),
                        legend=legend(drawn, "Extra drop-off")),
        tooltip=[alt.Tooltip("label:N", title="touchpoint"), alt.Tooltip("baseline:N", title="compared with"),
                 alt.Tooltip("occurrences:Q", format=","), alt.Tooltip("dropoff_rate:Q", format=".1%"),
                 alt.Tooltip("excess:Q", format="+.1%"), alt.Tooltip("excess_lower:Q", format="+.1%"),
                 alt.Tooltip("excess_upper:Q", format="+.1%")])
    whiskers = base.mark_rule(color=colour("interval")).encode(x="excess_lower:Q", x2="excess_upper:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=colour("interval"), strokeDash=[3, 3]).encode(x="x:Q")
    return (bars + whiskers + zero).properties(
        width=r.width, height=alt.Step(r.step),
        title=r.title("Where customers fail to take the next step more often than elsewhere"),
        description="Each bar is how many points more often customers did not take the expected next step "
                    "after this touchpoint on this channel than after the same touchpoint on its other channels "
                    "(the line is the 95% interval); red bars are beyond chance, the worst first.")


def _chart_dropoff(d: pd.DataFrame, top: int) -> alt.Chart:
    """Bars of drop-off after the most frequent touchpoints (per channel), highest first: friction without ratings."""
    d = d.sort_values(["occurrences", "touchpoint", "channel"], ascending=[False, True, True], kind="stable").head(top)
    d = d.assign(label=d["touchpoint"].astype(str) + " (" + d["channel"].astype(str) + ")")
    d = d[["label", "dropoff_rate", "occurrences"]]
    return alt.Chart(d).mark_bar(color=colour("main")).encode(
        y=alt.Y("label:N", sort="-x", title=None),
        x=alt.X("dropoff_rate:Q", title="Drop-off after the touchpoint", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("label:N", title="touchpoint"), alt.Tooltip("occurrences:Q", format=","),
                 alt.Tooltip("dropoff_rate:Q", format=".1%")],
    ).properties(
        title="Where customers leave: drop-off after the most frequent touchpoints",
        description="Drop-off is the share of visits to the touchpoint after which the customer did not take the "
                    "expected next step within the gap; no touchpoint has a baseline to rank friction against "
                    "(the same touchpoint on other channels).")


def chart_activity(df: pd.DataFrame, *, title: str | dict = "Customers") -> alt.Chart:
    """Customers per channel or touchpoint (bars, most first), or per week or month (a line).

    Takes :func:`cxlib.analysis.profile.activity`'s frame (the grouping's column first, then
    ``customers``, ``events``, ``suppressed``; ``complete`` for periods); hidden groups are left out
    of the marks, partial periods are hollow points on a dashed line. Each bar
    carries the grouping's field (``channel``, ...), which a click-to-drill selection reads.
    `title`: text, or a Vega-Lite title object (``{"text": ..., "subtitle": ...}``).
    """
    d = _shown(_need(df, ["customers", "events"], "chart_activity")).copy()
    group = str(d.columns[0])
    d["customers"] = d["customers"].astype(float)
    d["events"] = d["events"].astype(float)
    tooltip = [alt.Tooltip("customers:Q", title="Customers", format=","),
               alt.Tooltip("events:Q", title="Events", format=",")]
    if group in ("week", "month"):
        d[group] = pd.to_datetime(d[group])
        d["period"] = (d["complete"].map({True: "whole", False: "partial: part of it is outside the data"})
                       if "complete" in d else "whole")
        base = alt.Chart(d).encode(
            x=alt.X(f"{group}:T", title=None), y=alt.Y("customers:Q", title="Customers active"),
            tooltip=[alt.Tooltip(f"{group}:T", title=f"{group.capitalize()} starting", format="%Y-%m-%d"),
                     *tooltip, alt.Tooltip("period:N", title=group.capitalize())])
        # partial periods (the first and last, usually) are hollow and joined by a dashed line
        every = base.mark_line(color=colour("main"), strokeDash=[4, 3], opacity=0.6)
        whole = base.mark_line(color=colour("main")).transform_filter("datum.period == 'whole'")
        points = base.mark_point(color=colour("main"), size=30).encode(
            fill=alt.condition("datum.period == 'whole'", alt.value(colour("main")), alt.value("white")))
        return alt.layer(every, whole, points, title=title).properties(width=560, height=220)
    d[group] = d[group].astype(str)
    return (alt.Chart(d, title=title).mark_bar(color=colour("main"))
            .encode(y=alt.Y(f"{group}:N", title=None, sort="-x"), x=alt.X("customers:Q", title="Customers"),
                    tooltip=[alt.Tooltip(f"{group}:N", title=group.capitalize()), *tooltip])
            .properties(width=420, height=alt.Step(22)))
