"""Altair chart builders for cxlib.analysis.churn: survival curves, retention heatmap, period churn,
lifecycle, hazard ratios, value by NPS group and the lifetime value model's holdout check. Each takes the small frame a cxlib.analysis.churn
function returns, never shows or saves, and leaves suppressed rows out of the marks."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import (
    COLOURS,
    SEQUENTIAL,
    SERIES,
    checked_frame,
    colour,
    colour_scale,
    group_scale,
    heading,
    legend,
    room,
)
from cxlib.errors import CxInputError


def _listed(names) -> str:
    """'a', 'a and b', 'a, b and c' (at most six names, then 'and N more')."""
    names = [str(n) for n in names]
    if len(names) > 6:
        names = [*names[:5], f"{len(names) - 5} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

__all__ = [
    "chart_clv_by_segment",
    "chart_clv_holdout",
    "chart_cohort_retention",
    "chart_hazard_ratios",
    "chart_lifecycle",
    "chart_period_churn",
    "chart_retention_by_group",
    "chart_stickiness",
    "chart_survival",
    "chart_value_by_nps",
]

NPS_COLORS = {g: COLOURS[m] for g, m in (("promoter", "promoter"), ("passive", "passive"), ("detractor", "detractor"),
                                         ("(none)", "no answer"))}


def _need(df: pd.DataFrame, cols, what: str) -> None:
    checked_frame(df, cols, what)


def _visible(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["suppressed"].astype(bool)] if "suppressed" in df else df


def chart_survival(df: pd.DataFrame, *, unit: str = "month", title: str | None = None,
                   since: str = "start") -> alt.LayerChart:
    """Kaplan-Meier curves (step lines) with their confidence bands, one colour per group; `since`
    names the clock's origin on the x axis ('start', or e.g. 'the first ticket reached 72 hours')."""
    _need(df, ["group", "time", "survival", "ci_lower", "ci_upper"], "chart_survival")
    data = _visible(df)[["group", "time", "survival", "ci_lower", "ci_upper", "at_risk"]].dropna(subset=["survival"])
    groups = [str(g) for g in dict.fromkeys(data["group"])]
    base = alt.Chart(data).encode(
        x=alt.X("time:Q", title=f"{unit}s since {since}"),
        color=alt.Color("group:N", title=None, scale=group_scale(groups), legend=legend(groups, symbolOpacity=1)),
    )
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y=alt.Y("ci_lower:Q", title="share still customers", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y2="ci_upper:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(
        y="survival:Q",
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("time:Q", format=".1f"),
                 alt.Tooltip("survival:Q", format=".1%"), alt.Tooltip("at_risk:Q", title="still followed")],
    )
    lines = f"one line per group ({_listed(groups)})" if len(groups) > 1 else "one line"
    return (band + line).properties(
        title=heading(title or "Share of customers still with us, by time since they started", 640), width=480,
        description=f"Kaplan-Meier estimate of the share of customers who have not churned, by {unit}s since "
                    f"{since}, {lines} with its shaded 95% interval; a line that falls faster loses customers "
                    "sooner.")


def chart_cohort_retention(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Retention heatmap: cohort (rows) by periods since the cohort (columns); incomplete cells faded."""
    _need(df, ["cohort", "period_number", "customers", "retained", "retention", "incomplete"], "chart_cohort_retention")
    data = _visible(df).copy()
    data["cohort"] = pd.to_datetime(data["cohort"]).dt.strftime("%Y-%m-%d")
    data["state"] = data["incomplete"].map({True: "period not over yet", False: "complete"})
    interval = ["ci_lower", "ci_upper"] if {"ci_lower", "ci_upper"} <= set(data) else []
    return (
        alt.Chart(data[["cohort", "period_number", "customers", "retained", "retention", *interval, "state"]])
        .mark_rect()
        .encode(
            x=alt.X("period_number:O", title="periods since first activity"),
            y=alt.Y("cohort:O", title="cohort"),
            color=alt.Color("retention:Q", title="retention", scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]),
                            legend=alt.Legend(format="%")),
            opacity=alt.Opacity("state:N", scale=alt.Scale(domain=["complete", "period not over yet"], range=[1.0, 0.35]),
                                title=None),
            tooltip=["cohort:O", "period_number:O", "customers:Q", "retained:Q",
                     alt.Tooltip("retention:Q", format=".1%"),
                     *[alt.Tooltip(f"{c}:Q", format=".1%", title=f"95% Wilson interval, {c[3:]}") for c in interval],
                     "state:N"],
        )
        .properties(title=heading(title or "Share of each cohort still active, period by period", 560),
                    description="Each row is a cohort of customers who started in the same period, each column a "
                                "number of periods later; the darker the cell, the larger the share of the cohort "
                                "still active, and faded cells are periods not over yet; each cell's tooltip gives "
                                "its 95% Wilson interval.")
    )


def chart_period_churn(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Churn rate per period; periods not over yet, or not yet judged, are drawn as hollow points."""
    _need(df, ["period", "churn_rate", "ci_lower", "ci_upper", "active_at_start", "lost", "complete", "judged"],
          "chart_period_churn")
    data = df[["period", "churn_rate", "ci_lower", "ci_upper", "active_at_start", "lost", "complete", "judged"]].copy()
    data["state"] = (data["complete"].astype(bool) & data["judged"].astype(bool)).map(
        {True: "final", False: "not final yet"})
    data = data.dropna(subset=["churn_rate"])
    base = alt.Chart(data).encode(
        x=alt.X("period:T", title=None),
        y=alt.Y("churn_rate:Q", title="churn rate", axis=alt.Axis(format="%")),
    )
    line = base.mark_line(color=colour("main"))
    bars = base.mark_rule(color=colour("interval")).encode(y="ci_lower:Q", y2="ci_upper:Q")
    points = base.mark_point(filled=True, color=colour("main"), size=50).encode(
        shape=alt.Shape("state:N", title=None, scale=alt.Scale(domain=["final", "not final yet"],
                                                               range=["circle", "triangle"])),
        tooltip=[alt.Tooltip("period:T"), alt.Tooltip("churn_rate:Q", format=".2%"),
                 alt.Tooltip("ci_lower:Q", format=".2%", title="95% Wilson interval, lower"),
                 alt.Tooltip("ci_upper:Q", format=".2%", title="95% Wilson interval, upper"),
                 "active_at_start:Q", "lost:Q", "state:N"],
    )
    return (line + bars + points).properties(
        title=heading(title or "Share of customers lost each period", 560), width=480,
        description="Churn rate per period: customers lost in the period divided by those active at its start, "
                    "with its 95% Wilson interval as a vertical bar; triangles mark periods not over yet or not "
                    "yet judged, whose rate can still change.")


def chart_lifecycle(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Lifecycle bars per period: new, returning and resurrecting up, dormant down."""
    _need(df, ["period", "status", "customers"], "chart_lifecycle")
    data = df[["period", "status", "customers"]].copy()
    data["count"] = data["customers"].where(data["status"] != "dormant", -data["customers"])
    order = ["new", "returning", "resurrecting", "dormant"]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("period:T", title=None),
            y=alt.Y("count:Q", title="customers (dormant below zero)"),
            color=alt.Color("status:N", title=None, sort=order,
                            scale=alt.Scale(domain=order, range=[SERIES[0], SERIES[1], SERIES[2], colour("worse")])),
            tooltip=[alt.Tooltip("period:T"), "status:N", "customers:Q"],
        )
        .properties(title=heading(title or "New, returning, resurrecting and dormant customers per period", 560),
                    width=480,
                    description="Customers per period who were new, returning (also active the period before) or "
                                "resurrecting (back after a gap) stack above zero; those who went dormant (active "
                                "the period before, not in this one) stack below it.")
    )


def chart_retention_by_group(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Retention curves, one colour per group, each with its shaded 95% Wilson band (a retention_by_group result)."""
    _need(df, ["segment", "period_number", "customers", "retention", "ci_lower", "ci_upper"], "chart_retention_by_group")
    data = _visible(df)[["segment", "period_number", "customers", "retention", "ci_lower", "ci_upper"]]
    data = data.dropna(subset=["retention"])
    groups = [str(g) for g in dict.fromkeys(data["segment"])]
    base = alt.Chart(data).encode(
        x=alt.X("period_number:Q", title="periods since first activity", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("segment:N", title=None, scale=group_scale(groups), legend=legend(groups, symbolOpacity=1)),
    )
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("ci_lower:Q", title="share still active", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y2="ci_upper:Q",
    )
    line = base.mark_line(point=True).encode(
        y="retention:Q",
        tooltip=[alt.Tooltip("segment:N", title="group"), alt.Tooltip("period_number:Q", title="periods later"),
                 alt.Tooltip("retention:Q", format=".1%"),
                 alt.Tooltip("ci_lower:Q", format=".1%", title="95% Wilson interval, lower"),
                 alt.Tooltip("ci_upper:Q", format=".1%", title="95% Wilson interval, upper"),
                 alt.Tooltip("customers:Q", title="customers followed", format=",")],
    )
    if len(groups) > 1:
        what = (f"one line per group ({_listed(groups)}); the shaded band is the 95% Wilson interval, so where "
                "the bands of two groups do not overlap, the gap is more than chance")
    else:
        what = "one line; the shaded band is its 95% Wilson interval"
    return (band + line).properties(
        title=heading(title or "Share of customers still active, by periods since their first activity", 640),
        width=480, description=f"Retention across all cohorts, {what}.")


def chart_stickiness(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Share of active customers by number of active days (a stickiness result), with 95% Wilson whiskers."""
    _need(df, ["active_days", "customers", "share", "ci_lower", "ci_upper"], "chart_stickiness")
    data = _visible(df)[["active_days", "customers", "share", "ci_lower", "ci_upper"]].dropna(subset=["share"])
    base = alt.Chart(data).encode(x=alt.X("active_days:O", title="days active in the window"))
    bars = base.mark_bar(color=colour("main")).encode(
        y=alt.Y("share:Q", title="share of active customers", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("active_days:O", title="days active"), alt.Tooltip("customers:Q", format=","),
                 alt.Tooltip("share:Q", format=".1%"),
                 alt.Tooltip("ci_lower:Q", format=".1%", title="95% Wilson interval, lower"),
                 alt.Tooltip("ci_upper:Q", format=".1%", title="95% Wilson interval, upper")],
    )
    whiskers = base.mark_rule(color=colour("interval")).encode(y="ci_lower:Q", y2="ci_upper:Q")
    return (bars + whiskers).properties(
        title=heading(title or "How many days of the window customers were active", 640), width=480,
        description="Each bar is the share of the customers active in the window who were active on exactly that "
                    "many days; the whiskers are 95% Wilson intervals. Bars to the right mean customers come back "
                    "often.")


def chart_hazard_ratios(summary: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Forest plot of Cox hazard ratios with their intervals (log scale, a line at 1), highest first:
    red raises churn (worse), green lowers it (better)."""
    _need(summary, ["description", "hazard_ratio", "ci_lower", "ci_upper", "p_value"], "chart_hazard_ratios")
    data = summary[["description", "hazard_ratio", "ci_lower", "ci_upper", "p_value"]].copy()
    data = data.sort_values("hazard_ratio", ascending=False, kind="stable")
    data["direction"] = data["hazard_ratio"].gt(1).map({True: "raises churn", False: "lowers churn"})
    directions = {"raises churn": "worse", "lowers churn": "better"}
    drawn = [d for d in directions if d in set(data["direction"])]  # the key lists only colours that are drawn
    r = room(data["description"].astype(str), legend_labels=drawn)
    data["label"] = r.labels
    y = alt.Y("label:N", title=None, sort=r.labels, axis=r.axis())
    base = alt.Chart(data)
    rule = base.mark_rule(color=colour("interval")).encode(
        x=alt.X("ci_lower:Q", scale=alt.Scale(type="log"), title="hazard ratio (1 = no effect)"), x2="ci_upper:Q", y=y)
    point = base.mark_point(filled=True, size=70).encode(
        x="hazard_ratio:Q", y=y,
        color=alt.Color("direction:N", title=None, scale=colour_scale(directions),
                        legend=legend(drawn, values=drawn)),
        tooltip=["description:N", alt.Tooltip("hazard_ratio:Q", format=".2f"), alt.Tooltip("ci_lower:Q", format=".2f"),
                 alt.Tooltip("ci_upper:Q", format=".2f"), alt.Tooltip("p_value:Q", format=".2g")],
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4], color=colour("reference")).encode(x="x:Q")
    return (rule + point + one).properties(
        title=r.title(title or "How much faster customers churn with each CX factor"), width=r.width,
        height=alt.Step(r.step),
        description="Hazard ratio of each factor in a Cox model, with its 95% interval, on a log scale: right of "
                    "the dashed line at 1 the factor goes with faster churn (red), left of it with slower churn "
                    "(green); an interval crossing 1 could be chance.")


def chart_value_by_nps(df: pd.DataFrame, *, measure: str = "retention_at_horizon", title: str | None = None) -> alt.LayerChart:
    """Bars per NPS group (promoter, passive, detractor, no answer; in their colours) of one measure
    of value_by_nps_group (retention, churn or revenue), each labelled with its value, with its 95%
    interval as a rule when the frame carries it."""
    _need(df, ["segment", measure], "chart_value_by_nps")
    allowed = ("retention_at_horizon", "churn_rate", "revenue_per_customer", "revenue_last_year_per_active")
    if measure not in allowed:
        raise CxInputError(f"measure must be one of {', '.join(allowed)}, got {measure!r}")
    method = {"retention_at_horizon": "Kaplan-Meier (Greenwood) interval", "churn_rate": "Wilson interval"}.get(
        measure, "Student-t interval")
    bounds = [f"{measure}_lower", f"{measure}_upper"]
    has_ci = all(c in df for c in bounds)
    data = _visible(df)[["segment", measure, "customers", *(bounds if has_ci else [])]].rename(
        columns={measure: "value", bounds[0]: "low", bounds[1]: "high"})
    pct = measure in ("retention_at_horizon", "churn_rate")
    fmt = ".1%" if pct else ",.2f"
    order = [g for g in NPS_COLORS if g in set(data["segment"])] + sorted(set(data["segment"]) - set(NPS_COLORS))
    label = measure.replace("_", " ")
    y = alt.Y("segment:N", title=None, sort=order)
    base = alt.Chart(data).encode(y=y, x=alt.X("value:Q", title=label, axis=alt.Axis(format="%" if pct else ",.0f")))
    tips = ["segment:N", alt.Tooltip("value:Q", format=fmt), "customers:Q"]
    if has_ci:
        tips += [alt.Tooltip("low:Q", format=fmt, title="95% low"), alt.Tooltip("high:Q", format=fmt, title="95% high")]
    bars = base.mark_bar().encode(color=alt.Color("segment:N", legend=None, scale=group_scale(order)), tooltip=tips)
    text_x = "high:Q" if has_ci else "value:Q"
    text = alt.Chart(data).mark_text(align="left", dx=4).encode(
        y=y, x=text_x, text=alt.Text("value:Q", format=".0%" if pct else ",.0f"))
    layers = [bars]
    if has_ci:
        layers.append(alt.Chart(data.dropna(subset=["low", "high"])).mark_rule(color=colour("interval"), strokeWidth=2)
                      .encode(y=y, x="low:Q", x2="high:Q", tooltip=tips))
    what = {"retention_at_horizon": "share of customers still active at the horizon",
            "churn_rate": "share of customers who churned",
            "revenue_per_customer": "revenue per customer",
            "revenue_last_year_per_active": "revenue in the last year per active customer"}[measure]
    ci = f", with its 95% {method} as a dark line" if has_ci else ""
    return alt.layer(*layers, text).properties(
        title=heading(title or f"{label.capitalize()} by NPS group", 520), width=400, height=alt.Step(28),
        description=f"The {what} for each NPS group of the customers' latest answer (promoters 9-10, passives "
                    f"7-8, detractors 0-6), one labelled bar per group{ci}.")


def chart_clv_by_segment(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Mean customer lifetime value per segment (`clv.clv_by_segment`), bars with the 95% interval from
    the models' parameter uncertainty as a rule; suppressed segments left out."""
    _need(df, ["segment", "customers", "mean_clv", "mean_clv_lower", "mean_clv_upper"], "chart_clv_by_segment")
    data = _visible(df)[["segment", "customers", "mean_clv", "mean_clv_lower", "mean_clv_upper", "total_clv"]]
    data = data.dropna(subset=["mean_clv"])
    order = list(data["segment"].astype(str))
    y = alt.Y("segment:N", title=None, sort=order)
    tips = ["segment:N", alt.Tooltip("customers:Q", format=","), alt.Tooltip("mean_clv:Q", format=",.2f"),
            alt.Tooltip("mean_clv_lower:Q", format=",.2f", title="95% low"),
            alt.Tooltip("mean_clv_upper:Q", format=",.2f", title="95% high"), alt.Tooltip("total_clv:Q", format=",.0f")]
    bars = alt.Chart(data).mark_bar().encode(
        y=y, x=alt.X("mean_clv:Q", title="expected value per customer"), tooltip=tips,
        color=alt.Color("segment:N", legend=None, scale=group_scale(order)))
    rule = alt.Chart(data.dropna(subset=["mean_clv_lower", "mean_clv_upper"])).mark_rule(
        color=colour("interval"), strokeWidth=2).encode(y=y, x="mean_clv_lower:Q", x2="mean_clv_upper:Q", tooltip=tips)
    text = alt.Chart(data).mark_text(align="left", dx=4).encode(
        y=y, x="mean_clv_upper:Q", text=alt.Text("mean_clv:Q", format=",.0f"))
    return (bars + rule + text).properties(
        title=heading(title or "Expected value per customer, by segment", 520), width=400, height=alt.Step(28),
        description="Mean expected revenue per buying customer over the horizon (BG/NBD purchases x Gamma-Gamma "
                    "spend, discounted) for each segment, with its 95% interval from the models' parameter "
                    "uncertainty as a dark line; small segments are hidden.")


def chart_clv_holdout(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """The BG/NBD holdout check (`clv.holdout_by_frequency`): per number of repeat purchases before
    the holdout, the mean purchases customers made in it (points) and what the model expected (line)."""
    _need(df, ["frequency", "label", "customers", "actual", "expected"], "chart_clv_holdout")
    data = _visible(df).dropna(subset=["actual", "expected"])
    long = data.melt(id_vars=["frequency", "label", "customers"], value_vars=["actual", "expected"],
                     var_name="measure", value_name="purchases")
    long["measure"] = long["measure"].map({"actual": "actual", "expected": "model expected"})
    order = list(data.sort_values("frequency")["label"])
    base = alt.Chart(long).encode(
        x=alt.X("label:O", sort=order, title="repeat purchases before the holdout"),
        y=alt.Y("purchases:Q", title="mean purchases in the holdout"),
        color=alt.Color("measure:N", title=None, scale=colour_scale({"actual": "main", "model expected": "reference"})),
        tooltip=[alt.Tooltip("label:O", title="repeat purchases before"), "measure:N",
                 alt.Tooltip("purchases:Q", format=".2f"), alt.Tooltip("customers:Q", format=",")],
    )
    lines = base.mark_line()
    points = base.mark_point(filled=True, size=50)
    return (lines + points).properties(
        width=480,
        title=heading(title or "Purchases in the holdout: actual against the model's forecast", 600),
        description="For customers grouped by their repeat purchases before the holdout period, the mean number of "
                    "purchase days in it, actual and as forecast by the BG/NBD model fitted without it.",
    )
