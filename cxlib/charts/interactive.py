"""Charts whose interactions live in the Vega-Lite spec, so they work in exported HTML without a kernel.

Hover tooltips, click-to-highlight across linked views (selection parameters shared by the views
of one composed chart, also bound to the legend), a brush on time axes, and radio / dropdown
bindings where the choice is small. Each builder takes a small aggregated frame (the result of a
cxlib metric function) and returns a chart value; none shows or saves.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import SERIES, checked_frame, colour
from cxlib.errors import CxDataError, CxInputError

__all__ = [
    "chart_funnel_explorer",
    "chart_metric_picker",
    "chart_quick",
    "chart_trend_explorer",
]

MAX_ROWS = 5000
MAX_BOUND_CHOICES = 12  # above this many choices a radio/dropdown is no longer "small"
# A click on a mark (or on nothing, which clears) but not on the legend: a click selection also hears
# legend clicks and stores the legend entry's blank segment, which fades every segment. A legend pick
# is a selection of its own, bound to the legend: one selection bound to the legend and listening to
# clicks drops the legend's clicks in Vega-Lite 6.
CLICK_NOT_LEGEND = "click[!event.item || indexof(event.item.mark.role, 'legend') < 0]"


def _need(df: pd.DataFrame, columns: list[str], chart: str) -> pd.DataFrame:
    if len(checked_frame(df, columns, chart)) > MAX_ROWS:
        raise CxInputError(
            f"{chart} takes an aggregated frame of at most {MAX_ROWS} rows, got {len(df)}: aggregate in DuckDB first"
        )
    return df.copy()


def _segment_column(df: pd.DataFrame) -> pd.DataFrame:
    """A text `segment` column ('all' when the frame has none or a blank one)."""
    if "segment" not in df.columns:
        df["segment"] = "all"
    df["segment"] = df["segment"].astype("object").where(df["segment"].notna(), "all").astype(str)
    return df


def chart_trend_explorer(df: pd.DataFrame, *, title: str = "Trend by segment", value: str = "value",
                         value_title: str = "Value") -> alt.VConcatChart:
    """A metric over time per segment, with a time brush driving a per-segment summary below.

    Takes ``period`` (dates), the metric's column `value` (e.g. ``nps`` of :func:`cxlib.nps` with a
    period and a breakdown) and ``n`` (respondents behind the value), and optionally ``segment``
    and ``suppressed``; suppressed rows (value blank) are left out of the lines. `value_title`
    names the metric on the axes and in the tooltips. With no value left to draw it raises
    CxDataError (a filter panel shows that sentence instead of empty axes).
    Top: one line per segment; drag across it to brush a time range. Bottom: each segment's
    value over the brushed periods, weighted by ``n`` (all periods when nothing is brushed).
    Clicking a line or a legend entry highlights that segment in both views (the two picks
    narrow together; a click beside the plots clears both, a double-click the brush); tooltips
    on hover.
    """
    data = _segment_column(_need(df, ["period", value, "n"], "chart_trend_explorer"))
    if value != "value":
        data = data.drop(columns=["value"], errors="ignore").rename(columns={value: "value"})
    if "suppressed" in data:
        data = data[~data["suppressed"].fillna(False).astype(bool)]
    data = data.dropna(subset=["value", "n"])
    if data.empty:
        raise CxDataError(f"No {value_title} to draw here: every period is blank or suppressed (fewer respondents "
                          "than the minimum group size). Widen the filter or the dates.")
    data["period"] = pd.to_datetime(data["period"])
    data = data[["period", "segment", "value", "n"]]

    brush = alt.selection_interval(name="time_brush", encodings=["x"])
    pick = alt.selection_point(name="segment_pick", fields=["segment"], on=CLICK_NOT_LEGEND)
    legend_pick = alt.selection_point(name="segment_legend", fields=["segment"], bind="legend")
    color = alt.Color("segment:N", title="Segment", scale=alt.Scale(range=SERIES))
    highlight = alt.condition(pick & legend_pick, alt.value(1.0), alt.value(0.15))

    base = alt.Chart(data)
    trend = base.encode(
        x=alt.X("period:T", title="Period"),
        y=alt.Y("value:Q", title=value_title),
        color=color,
        opacity=highlight,
        tooltip=[
            alt.Tooltip("segment:N", title="Segment"),
            alt.Tooltip("period:T", title="Period"),
            alt.Tooltip("value:Q", title=value_title, format=".1f"),
            alt.Tooltip("n:Q", title="Respondents", format=","),
        ],
    )
    # The selections sit on the line layer only: on a line with point=True, Vega-Lite 5 (JupyterLab's
    # renderer) defines the brush's signals twice and refuses the chart ("Duplicate signal name").
    lines = alt.layer(trend.mark_line().add_params(brush, pick, legend_pick),
                      trend.mark_point(filled=True, size=30)).properties(height=220)
    summary = (
        base.transform_filter(brush)
        .transform_calculate(weighted="datum.value * datum.n")
        .transform_aggregate(weighted="sum(weighted)", n="sum(n)", groupby=["segment"])
        .transform_calculate(value="datum.weighted / datum.n")
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", title=None, sort="-x"),
            x=alt.X("value:Q", title=f"{value_title} over the brushed periods (weighted by respondents)"),
            color=color,
            opacity=highlight,
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("value:Q", title=value_title, format=".1f"),
                alt.Tooltip("n:Q", title="Respondents", format=","),
            ],
        )
        .properties(height=alt.Step(18))
    )
    return alt.vconcat(lines, summary, title=title).resolve_scale(color="shared")


def chart_metric_picker(df: pd.DataFrame, *, title: str = "By segment") -> alt.LayerChart:
    """Segments compared on one metric at a time, the metric chosen with radio buttons.

    Takes ``metric`` (a few names such as nps / csat / ces), ``segment``, ``value``, ``n`` and
    optionally ``suppressed``. Suppressed rows keep a labelled place ("suppressed: fewer
    respondents than the minimum") instead of a bar, never silently dropped. Clicking a bar
    highlights that segment; tooltips show value and respondents.
    """
    data = _segment_column(_need(df, ["metric", "segment", "value", "n"], "chart_metric_picker"))
    if "suppressed" not in data:
        data["suppressed"] = False
    data["suppressed"] = data["suppressed"].fillna(False).astype(bool)
    data["label"] = data["suppressed"].map({True: "suppressed: too few respondents", False: ""})
    data = data[["metric", "segment", "value", "n", "suppressed", "label"]]
    metrics = [str(m) for m in dict.fromkeys(data["metric"].dropna())]
    if not metrics:
        raise CxInputError("chart_metric_picker needs at least one metric in the frame")
    if len(metrics) > MAX_BOUND_CHOICES:
        raise CxInputError(
            f"chart_metric_picker offers at most {MAX_BOUND_CHOICES} metrics as radio buttons, got {len(metrics)}"
        )
    choose = alt.selection_point(
        name="metric_choice",
        fields=["metric"],
        bind=alt.binding_radio(options=metrics, name="Metric "),
        value=[{"metric": metrics[0]}],
    )
    pick = alt.selection_point(name="bar_pick", fields=["segment"], on="click", clear="dblclick")
    base = alt.Chart(data).transform_filter(choose)
    y = alt.Y("segment:N", title=None, sort=None)
    bars = (
        base.mark_bar()
        .encode(
            y=y,
            x=alt.X("value:Q", title="Value of the chosen metric"),
            color=alt.condition(pick, alt.value(colour("main")), alt.value(colour("not significant"))),
            tooltip=[
                alt.Tooltip("metric:N", title="Metric"),
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("value:Q", title="Value", format=".1f"),
                alt.Tooltip("n:Q", title="Respondents", format=","),
            ],
        )
        .add_params(choose, pick)
    )
    notes = base.mark_text(align="left", dx=4, color=colour("reference"), fontStyle="italic").encode(
        y=y, x=alt.datum(0), text="label:N"
    )
    return alt.layer(bars, notes).properties(title=title, height=alt.Step(22))


def chart_funnel_explorer(df: pd.DataFrame, *, title: str = "Funnel by segment") -> alt.HConcatChart:
    """A funnel per segment: customers at each step (left) and conversion from the first step (right).

    Takes the funnel frame (``step``, ``touchpoint``, ``customers``, ``conversion_from_first``,
    optionally ``segment``; conversion as a share 0..1). A dropdown (when there are at most
    12 segments) or a click on a bar picks a segment, and so does a click on a legend entry,
    highlighted in both views; the dropdown/bar pick and the legend pick narrow together (a
    segment stays bright when it matches both), a click beside the plots clears both.
    With no customer in the funnel it raises CxDataError (a filter panel shows that sentence
    instead of empty axes).
    """
    data = _segment_column(
        _need(df, ["step", "touchpoint", "customers", "conversion_from_first"], "chart_funnel_explorer")
    )
    data = data[["step", "touchpoint", "segment", "customers", "conversion_from_first"]]
    if not data["customers"].fillna(0).gt(0).any():
        raise CxDataError("No customer reached the funnel's first step here, so there is no funnel to draw. "
                          "Widen the filter or the dates.")
    data["step_label"] = data["step"].astype(int).astype(str) + ". " + data["touchpoint"].astype(str)
    segments = sorted(dict.fromkeys(data["segment"]))
    order = data.sort_values("step")["step_label"].drop_duplicates().tolist()
    dropdown = alt.Undefined
    if len(segments) <= MAX_BOUND_CHOICES:
        dropdown = alt.binding_select(options=[None, *segments], labels=["(all)", *segments], name="Segment ")
    # `on` keeps clicking a bar working next to the dropdown (a binding disables it otherwise)
    pick = alt.selection_point(name="funnel_segment", fields=["segment"], bind=dropdown, on=CLICK_NOT_LEGEND)
    legend_pick = alt.selection_point(name="funnel_legend", fields=["segment"], bind="legend")
    color = alt.Color("segment:N", title="Segment", scale=alt.Scale(range=SERIES))
    shown = alt.condition(pick & legend_pick, alt.value(1.0), alt.value(0.15))
    tooltip = [
        alt.Tooltip("segment:N", title="Segment"),
        alt.Tooltip("step_label:N", title="Step"),
        alt.Tooltip("customers:Q", title="Customers", format=","),
        alt.Tooltip("conversion_from_first:Q", title="Conversion from first step", format=".1%"),
    ]
    x = alt.X("step_label:N", title=None, sort=order, axis=alt.Axis(labelAngle=-40, labelOverlap=False))
    base = alt.Chart(data)
    counts = (
        base.mark_bar()
        .encode(x=x, xOffset="segment:N", y=alt.Y("customers:Q", title="Customers"), color=color,
                opacity=shown, tooltip=tooltip)
        .add_params(pick, legend_pick)
        .properties(width=320, height=240)
    )
    conversion = (
        base.mark_line(point=True)
        .encode(x=x, y=alt.Y("conversion_from_first:Q", title="Conversion from first step",
                             axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
                color=color, opacity=shown, tooltip=tooltip)
        .properties(width=320, height=240)
    )
    return alt.hconcat(counts, conversion, title=title).resolve_scale(color="shared")


def chart_quick(df: pd.DataFrame) -> alt.Chart | None:
    """A first look at a query result: the obvious chart for its column types, or None.

    Rules, on the first columns of each kind: a date/time column and a number -> line over time
    (one line per text column when there is one); a text column and a number -> horizontal bars;
    two numbers -> scatter; anything else (or no rows) -> None. At most 5,000 rows are drawn.
    Tooltips show every column used.
    """
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"chart_quick takes a DataFrame, got {type(df).__name__}")
    if df.empty:
        return None
    data = df.head(MAX_ROWS).copy()
    data.columns = [str(c) for c in data.columns]
    times = [c for c in data.columns if pd.api.types.is_datetime64_any_dtype(data[c])]
    numbers = [c for c in data.columns if pd.api.types.is_numeric_dtype(data[c])
               and not pd.api.types.is_bool_dtype(data[c])]
    texts = [c for c in data.columns if c not in times and c not in numbers]
    for col in texts:
        data[col] = data[col].astype(str)

    def field(col: str, kind: str) -> str:
        # a shorthand "name:T"; characters Vega-Lite reads as syntax are escaped with a backslash
        escaped = "".join("\\" + ch if ch in ".[]:\\" else ch for ch in col)
        return f"{escaped}:{kind}"

    if times and numbers:
        t, v = times[0], numbers[0]
        enc = {"x": alt.X(field(t, "T"), title=t), "y": alt.Y(field(v, "Q"), title=v)}
        tips = [alt.Tooltip(field(t, "T")), alt.Tooltip(field(v, "Q"))]
        if texts:
            enc["color"] = alt.Color(field(texts[0], "N"), title=texts[0])
            tips.insert(0, alt.Tooltip(field(texts[0], "N")))
        brush = alt.selection_interval(name="quick_brush", encodings=["x"], bind="scales")
        return alt.Chart(data).mark_line(point=True).encode(**enc, tooltip=tips).add_params(brush)
    if texts and numbers:
        c, v = texts[0], numbers[0]
        return (
            alt.Chart(data)
            .mark_bar()
            .encode(y=alt.Y(field(c, "N"), title=c, sort="-x"), x=alt.X(field(v, "Q"), title=v),
                    tooltip=[alt.Tooltip(field(c, "N")), alt.Tooltip(field(v, "Q"))])
        )
    if len(numbers) >= 2:
        a, b = numbers[:2]
        return (
            alt.Chart(data)
            .mark_circle()
            .encode(x=alt.X(field(a, "Q"), title=a), y=alt.Y(field(b, "Q"), title=b),
                    tooltip=[alt.Tooltip(field(a, "Q")), alt.Tooltip(field(b, "Q"))])
            .add_params(alt.selection_interval(name="quick_zoom", bind="scales"))
        )
    return None
