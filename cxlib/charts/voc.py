"""Altair chart builders for cxlib.analysis.voc and cxlib.analysis.voc.text: `chart_*(df) -> alt.Chart`, never shown or saved.

Each takes the small frame of the matching metric function. Suppressed rows carry no score and
are left out of the marks (the table next to the chart still lists them as suppressed).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.charts.theme import (
    checked_frame,
    colour,
    colour_scale,
    full_range_note,
    group_scale,
    heading,
    legend,
    room,
    score_domain,
    wrap,
)
from cxlib.errors import CxDataError

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


def _listed(names) -> str:
    """'a', 'a and b', 'a, b and c' (at most six names, then 'and N more')."""
    names = [str(n) for n in names]
    if len(names) > 6:
        names = [*names[:5], f"{len(names) - 5} more"]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# what each score is, for the captions
_MEANS = {"nps": "NPS (the % of promoters, 9-10, minus the % of detractors, 0-6)",
          "csat": "CSAT (the % of answers 4 or 5 out of 5)",
          "mean": "mean CES (customer effort from 1 to 7, higher = easier)"}


def _score_chart(df: pd.DataFrame, score: str, label: str, domain: tuple[float, float], what: str,
                 title: str | None, step: float = 10, min_span: float = 40) -> alt.LayerChart:
    data = _need(df, [score, "ci_lower", "ci_upper"], what)
    if not data[score].notna().any():
        raise CxDataError(f"no {label.split(' (')[0]} to draw: no group has answers, or every group has fewer than "
                          "the minimum group size and is hidden")
    means = _MEANS[score]
    types = {"segment": "N", "period": "T"}
    tooltip = [f"{c}:{types.get(c, 'Q')}" for c in ("segment", "period", "n", score, "ci_lower", "ci_upper")
               if c in data]
    # the axis spans the data, not the whole scale, so differences show; the subtitle names the full range
    shown, zoomed = score_domain(pd.concat([data["ci_lower"], data["ci_upper"], data[score]]), domain,
                                 step=step, min_span=min_span)
    scale = alt.Scale(domain=shown, nice=False)
    note = full_range_note(label.split(" (")[0], domain, shown) if zoomed else None
    text = title or f"{label} with 95% intervals"
    if "period" in data:
        data["period"] = pd.to_datetime(data["period"])
        groups = list(dict.fromkeys(data["segment"].astype(str))) if "segment" in data else []
        color = (alt.Color("segment:N", title=None, scale=group_scale(groups), legend=legend(groups, symbolOpacity=1))
                 if groups else alt.value(colour("main")))
        base = alt.Chart(data).encode(x=alt.X("period:T", title=None, axis=alt.Axis(labelOverlap="greedy")))
        band = base.mark_area(opacity=0.18).encode(
            y=alt.Y("ci_lower:Q", title=label, scale=scale), y2="ci_upper:Q", color=color)
        line = base.mark_line(point=True).encode(y=alt.Y(f"{score}:Q", scale=scale), color=color,
                                                 tooltip=tooltip)
        lines = f"one line per group ({_listed(groups)})" if len(groups) > 1 else "a line"
        return (band + line).properties(
            title=heading(text, 560, note), width=480,
            description=f"The {means} per period, {lines} with its shaded 95% interval; a change smaller "
                        "than the band is wide could be chance.")
    if "segment" not in data:
        data = data.assign(segment="all")
    data = data.sort_values(score, ascending=False, kind="stable")
    data["label"] = [wrap(x) for x in data["segment"].astype(str)]
    r = room(data["label"])
    base = alt.Chart(data).encode(y=alt.Y("label:N", title=None, sort=list(data["label"]), axis=r.axis()))
    dots = base.mark_point(filled=True, size=80, color=colour("main")).encode(
        x=alt.X(f"{score}:Q", title=label, scale=scale), tooltip=tooltip)
    rules = base.mark_rule(color=colour("interval")).encode(x=alt.X("ci_lower:Q", scale=scale), x2="ci_upper:Q")
    groups = list(data["segment"].astype(str))
    return (rules + dots).properties(
        title=r.title(text, note), width=r.width, height=alt.Step(r.step),
        description=f"The {means} of {'each group' if len(groups) > 1 else 'all answers'} "
                    f"({_listed(groups)}) as a dot with its 95% interval as a line, highest first; groups whose "
                    "intervals overlap may not really differ.")


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
    data = data.sort_values("nps", ascending=False, kind="stable")
    r = room(data["segment"].astype(str), preferred=520)
    data["segment"] = r.labels
    long = data.melt(id_vars=["segment", "n", "nps"], value_vars=list(groups), var_name="group", value_name="answers")
    long["share"] = long["answers"].astype(float) / long["n"].astype(float) * 100
    long["group"] = long["group"].map(groups)
    long["order"] = long["group"].map({g: i for i, g in enumerate(groups.values())})
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("segment:N", title=None, sort=r.labels, axis=r.axis()),
        x=alt.X("share:Q", title="share of answers (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("group:N", title=None, sort=list(groups.values()),
                        scale=colour_scale(dict(zip(groups.values(), ("promoter", "passive", "detractor")))),
                        legend=legend(groups.values(), orient="bottom")),
        order=alt.Order("order:Q"),
        tooltip=["segment:N", "group:N", "answers:Q", alt.Tooltip("share:Q", format=".1f"), "n:Q",
                 alt.Tooltip("nps:Q", format=".0f")],
    ).properties(title=r.title(title or "Promoters, passives and detractors (NPS = promoters - detractors)"),
                 height=alt.Step(max(36, r.step)), width=r.width,
                 description="Share of answers 9-10 (promoters), 7-8 (passives) and 0-6 (detractors); NPS is "
                             "the share of promoters minus the share of detractors, in points.")


def chart_csat(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """CSAT (% satisfied) with its Wilson interval; `df` is the result of cxlib.csat."""
    return _score_chart(df, "csat", "CSAT (% satisfied)", (0, 100), "chart_csat", title)


def chart_ces(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Mean CES (1-7, higher = easier) with its t interval; `df` is the result of cxlib.ces."""
    return _score_chart(df, "mean", "CES (1-7, higher = easier)", (1, 7), "chart_ces", title, step=0.5, min_span=2)


def chart_compare(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Each group's difference from the rest (or from group b), largest first: green where it is
    significantly better after correction, red where significantly worse, grey where it could be
    chance; `df` is the result of cxlib.compare / compare_nps (a higher score is better)."""
    key = "segment" if "segment" in df.columns else "period"
    data = _need(df, [key, "diff", "significant", "p_adjusted"], "chart_compare")
    data[key] = data[key].astype(str)
    sig = data["significant"].astype(bool)
    data["verdict"] = "could be chance"
    data.loc[sig & (data["diff"] > 0), "verdict"] = "significantly better"
    data.loc[sig & (data["diff"] < 0), "verdict"] = "significantly worse"
    data = data.sort_values("diff", ascending=False, kind="stable")
    data["label"] = [wrap(x) for x in data[key]]
    verdicts = {"significantly better": "better", "could be chance": "no clear difference",
                "significantly worse": "worse"}
    drawn = [v for v in verdicts if v in set(data["verdict"])]  # the key lists only colours that are drawn
    r = room(data["label"], legend_labels=drawn)
    groups = "period" if key == "period" else "group"
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("label:N", title=None, sort=list(data["label"]), axis=r.axis()),
        x=alt.X("diff:Q", title="difference from the rest"),
        color=alt.Color("verdict:N", title=None, scale=colour_scale(verdicts), legend=legend(drawn, values=drawn)),
        tooltip=[f"{key}:N", "diff:Q", "p_value:Q", "p_adjusted:Q", "significant:N"],
    ).properties(title=r.title(title or "Differences between groups (Benjamini-Hochberg corrected)"),
                 width=r.width, height=alt.Step(r.step),
                 description=f"Each {groups}'s score minus that of the rest, largest first: green where it is "
                             "significantly better, red where significantly worse (Benjamini-Hochberg corrected), "
                             "grey where the difference could be chance.")


_DRIVER_TARGETS = {"nps": "NPS", "nps_score": "NPS", "detractor": "being a detractor", "csat": "CSAT", "ces": "CES",
                   "churn": "churn"}


def chart_drivers(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Relative importance of the drivers of NPS, CSAT, CES or churn (% of R^2) with bootstrap
    intervals, most important first; significant drivers dark blue, the rest light grey. `df` is
    the result of cxlib.key_drivers; the default title names its target; R^2 and n go in the
    subtitle."""
    data = _need(df, ["driver", "importance", "ci_lower", "ci_upper", "significant", "r_squared", "n"],
                 "chart_drivers")
    data["verdict"] = data["significant"].astype(bool).map({True: "significant", False: "not significant"})
    fit = f"model R² = {data['r_squared'].iloc[0]:.2f}, n = {int(data['n'].iloc[0]):,} customers" if len(data) else ""
    data = data.sort_values("importance", ascending=False, kind="stable")
    data["label"] = [wrap(x) for x in data["driver"].astype(str)]
    verdicts = {"significant": "significant", "not significant": "not significant"}
    r = room(data["label"], legend_labels=verdicts)
    base = alt.Chart(data).encode(y=alt.Y("label:N", title=None, sort=list(data["label"]), axis=r.axis()))
    bars = base.mark_bar().encode(
        x=alt.X("importance:Q", title="share of explained variance (%)"),
        color=alt.Color("verdict:N", title=None, scale=colour_scale(verdicts), legend=legend(verdicts)),
        tooltip=["driver:N", "kind:N", "importance:Q", "ci_lower:Q", "ci_upper:Q", "direction:N", "p_adjusted:Q"],
    )
    rules = base.mark_rule(color=colour("interval")).encode(x="ci_lower:Q", x2="ci_upper:Q")
    target = _DRIVER_TARGETS.get(str(data["target"].iloc[0]), "the outcome") if "target" in data and len(data) \
        else "NPS"
    text = title or f"What drives {target}"
    outcome = "the NPS answer" if target == "NPS" else target
    return (bars + rules).properties(
        title=r.title(text, fit), width=r.width, height=alt.Step(r.step),
        description=f"Each factor's share of what a model explains of {outcome} (bar) with its bootstrap 95% "
                    "interval (line), most important first; dark blue where the factor matters beyond chance, "
                    "light grey where it could be chance. It shows association, not cause.")


def chart_themes(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Feedback themes: volume (share of comments) against the theme's NPS with its 95% Wald
    interval (a vertical bar, when the frame has ci_lower / ci_upper); red (the detractors'
    colour) when the theme is significantly over-represented among detractors, grey otherwise.
    `df` is the result of cxlib.analysis.voc.text.themes."""
    data = _need(df, ["theme", "share", "nps", "over_representation", "significant"], "chart_themes")
    data["verdict"] = [
        "over-represented among detractors" if s and o > 1 else "other"
        for s, o in zip(data["significant"], data["over_representation"])
    ]
    data["over_representation"] = data["over_representation"].clip(upper=1e6)  # inf is not JSON
    intervals = {"ci_lower", "ci_upper"} <= set(data.columns)
    extent = pd.concat([data["nps"], data["ci_lower"], data["ci_upper"]]) if intervals else data["nps"]
    domain, zoomed = score_domain(extent, (-100, 100), step=10, min_span=40)
    verdicts = {"over-represented among detractors": "detractor", "other": "no clear difference"}
    drawn = [v for v in verdicts if v in set(data["verdict"])]  # the key lists only colours that are drawn
    base = alt.Chart(data).encode(
        x=alt.X("share:Q", title="share of comments (%)", scale=alt.Scale(zero=True)),
        y=alt.Y("nps:Q", title="NPS of those who mention it", scale=alt.Scale(domain=domain, nice=False)),
    )
    dots = base.mark_circle(size=140).encode(
        color=alt.Color("verdict:N", title=None, scale=colour_scale(verdicts), legend=legend(drawn, values=drawn)),
        tooltip=["theme:N", "comments:Q", "share:Q", "nps:Q", "over_representation:Q", "p_adjusted:Q"],
    )
    labels = base.mark_text(align="left", dx=9).encode(text="theme:N")
    layers = [dots, labels]
    if intervals:
        bars = base.mark_rule(color=colour("interval"), strokeWidth=2).encode(y="ci_lower:Q", y2="ci_upper:Q")
        layers = [bars, *layers]
    note = full_range_note("NPS", (-100, 100), domain) if zoomed else None
    return alt.layer(*layers).properties(
        title=heading(title or "Feedback themes: volume and NPS", 700, note), width=460, height=300,
        description="Each comment theme as a labelled dot: the share of comments that mention it (across) "
                    "against the NPS of the customers who mention it (up), with its 95% Wald interval as a "
                    "vertical bar; red where the theme is significantly more common among detractors than among "
                    "the others.")


def chart_topics(df: pd.DataFrame, *, title: str | None = None) -> alt.Chart:
    """Unsupervised topics: comments per topic, labelled by top terms, largest first; `df` from
    cxlib.analysis.voc.text.topics."""
    data = _need(df, ["topic", "top_terms", "comments"], "chart_topics")
    data = data.sort_values("comments", ascending=False, kind="stable")
    data["label"] = [wrap(f"{t}: {terms}") for t, terms in zip(data["topic"].astype(str), data["top_terms"].astype(str))]
    r = room(data["label"])
    return alt.Chart(data).mark_bar(color=colour("main")).encode(
        y=alt.Y("label:N", title=None, sort=list(data["label"]), axis=r.axis()),
        x=alt.X("comments:Q", title="comments"),
        tooltip=["topic:O", "top_terms:N", "comments:Q", "share:Q"],
    ).properties(title=r.title(title or "Topics found in the comments"), width=r.width, height=alt.Step(r.step),
                 description="Comments per topic, largest first; topics are groups of comments that use similar "
                             "words, found automatically, and each is labelled by its most typical words.")


def chart_peak_end(df: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Mean relationship NPS (0-10), or the churn rate, against (peak+end)/2 and against the mean
    rating, each point with its 95% interval (vertical line: Student t for the mean NPS, Wilson for
    the churn rate); the steeper, tighter line is the better predictor. `df` is the result of
    cxlib.peak_end_bins (outcome "nps" or "churn": the churn_rate column says which)."""
    churn = isinstance(df, pd.DataFrame) and "churn_rate" in df.columns
    y_field = "churn_rate" if churn else "mean_nps"
    data = _need(df, ["predictor", "value", "customers", y_field], "chart_peak_end")
    data["predictor"] = data["predictor"].map({"peak_end": "(peak + end) / 2", "mean": "mean of all ratings"})
    if churn:
        top = float(data[["churn_rate", *(["ci_upper"] if "ci_upper" in data else [])]].max().max())
        y = alt.Y("churn_rate:Q", title="customers who churned", axis=alt.Axis(format="%"),
                  scale=alt.Scale(domain=[0, min(1.0, max(top, 0.05))], nice=False))
    else:
        y = alt.Y("mean_nps:Q", title="mean NPS answer (0-10)", scale=alt.Scale(domain=[0, 10]))
    tooltip = ["predictor:N", "value:Q", "customers:Q", f"{y_field}:Q"]
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("value:Q", title="rating (1-5)"), y=y,
        color=alt.Color("predictor:N", title=None, scale=group_scale(data["predictor"])),
        tooltip=tooltip,
    )
    chart = lines
    if {"ci_lower", "ci_upper"} <= set(data.columns):
        # the two predictors' intervals a hair apart, so that one does not hide the other
        data["at"] = data["value"] + data["predictor"].map({"(peak + end) / 2": -0.05, "mean of all ratings": 0.05})
        rules = alt.Chart(data).mark_rule(color=colour("interval")).encode(
            x="at:Q", y=alt.Y("ci_lower:Q"), y2="ci_upper:Q",
            tooltip=[*tooltip, "ci_lower:Q", "ci_upper:Q"])
        chart = rules + lines
    what = "the share of customers who churned" if churn else "customers' mean NPS answer (0-10)"
    interval = "Wilson" if churn else "Student t"
    return chart.properties(
        title=title or ("Peak-end: churn by the worst and the last moment" if churn
                        else "Peak-end: the worst and the last moment shape NPS"),
        description=f"{what[0].upper() + what[1:]} against their ratings (1-5) summed up two ways: the average of "
                    "their most extreme and their last rating, and the plain mean of all of them; the steeper line "
                    f"is the better predictor. Grey vertical lines: 95% {interval} intervals.")