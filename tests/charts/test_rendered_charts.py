"""Every report chart drawn offline on the sample store, as the reports draw it: no text sticks out
of the picture, the picture fits the report page, text stays readable, and the colours of a meaning
are the palette's (promoter / passive / detractor, better / worse, significant / not)."""

from __future__ import annotations

import pytest
from svg_bounds import smallest_font, svg_of, svg_size, text_outside

from cxlib import charts
from cxlib.charts import churn as churn_charts
from cxlib.charts import journey as journey_charts
from cxlib.charts import segments as segment_charts
from cxlib.charts import service as service_charts
from cxlib.charts import theme
from cxlib.charts import voc as voc_charts
from cxlib.charts.theme import PAGE_WIDTH


def _voc(con):
    from cxlib.analysis import voc
    from cxlib.analysis.voc import text

    by_region = voc.nps(con, by="region")
    return {
        "nps by region": voc_charts.chart_nps(by_region, title="NPS by region"),
        "nps by quarter": voc_charts.chart_nps(voc.nps(con, period="quarter"), title="NPS by quarter"),
        "nps mix": voc_charts.chart_nps_mix(voc.nps(con)),
        "nps mix by region": voc_charts.chart_nps_mix(by_region),
        "compare": voc_charts.chart_compare(voc.compare_nps(con, by="region"),
                                            title="NPS of each region against the rest"),
        "csat by touchpoint": voc_charts.chart_csat(voc.csat(con, by="touchpoint"), title="CSAT by touchpoint"),
        "ces by channel": voc_charts.chart_ces(voc.ces(con, by="channel"),
                                               title="Customer effort by channel (higher = easier)"),
        "drivers": voc_charts.chart_drivers(voc.key_drivers(con)),
        "peak end": voc_charts.chart_peak_end(voc.peak_end_bins(con)),
        "themes": voc_charts.chart_themes(text.themes(con)),
    }


def _journey(con):
    from cxlib.analysis import journey
    from cxlib.charts.flow import chart_sankey

    steps = ["product_page", "add_to_cart", "checkout", "payment"]
    return {
        "journey map": journey_charts.chart_journey_map(journey.journey_map(con)),
        "funnel": journey_charts.chart_funnel(journey.funnel(con, steps, window="7 days")),
        "funnel by nps group": journey_charts.chart_funnel(journey.funnel(con, steps, window="7 days", by="nps_group")),
        "funnel by region": journey_charts.chart_funnel(journey.funnel(con, steps, window="7 days", by="region")),
        "flow": chart_sankey(journey.sankey_links(con, level="stage")),
        "flow of touchpoints": chart_sankey(journey.sankey_links(con, level="touchpoint")),
        "step matrix": journey_charts.chart_step_matrix(journey.step_matrix(con, max_steps=8)),
        "handoffs": journey_charts.chart_handoffs(journey.handoffs(con)),
        "friction": journey_charts.chart_friction(journey.friction(con)),
    }


def _segments(con):
    from cxlib.analysis import segments

    profile = segments.segment_profile(con, by="plan")
    out = {f"profile {m}": segment_charts.chart_segment_profile(profile, metric=m)
           for m in segments.profile_chart_metrics(profile)}
    clusters = segments.behaviour_clusters(con, k=3, seed=0)
    out["clusters"] = segment_charts.chart_cluster_features(clusters.features)
    out["rfm"] = segment_charts.chart_rfm_segments(segments.rfm_segments(con))
    out["rfm grid"] = segment_charts.chart_rfm_grid(segments.rfm_grid(con))
    cues = segments.personalisation_cues(con, by="plan", top=3, min_lift=1.0)
    out["cues"] = segment_charts.chart_cues(cues[cues["cue"].notna()])
    return out


def _churn(con):
    from cxlib.analysis import churn

    value = churn.value_by_nps_group(con)
    return {
        "period churn": churn_charts.chart_period_churn(churn.period_churn(con, definition="non_contractual")),
        "cohorts": churn_charts.chart_cohort_retention(churn.cohort_retention(con)),
        "lifecycle": churn_charts.chart_lifecycle(churn.lifecycle(con)),
        "survival by nps": churn_charts.chart_survival(churn.survival(con, by="nps_group"),
                                                       title="Share still customers by NPS group (latest answer)"),
        "value by nps": churn_charts.chart_value_by_nps(value, measure="retention_at_horizon"),
    }


def _service(con):
    from cxlib.analysis import service

    ratings = service.ratings_by_resolution(con, bands=[24, 72])
    return {
        "bands": service_charts.chart_resolution_bands(service.resolution_bands(con, by="channel", bands=[24, 72]),
                                                       by="channel"),
        "first contact": service_charts.chart_first_contact(service.first_contact_resolution(con, by="channel")),
        "csat after tickets": service_charts.chart_ratings_by_resolution(ratings, metric="csat"),
        "churn by resolution": service_charts.chart_churn_by_resolution(
            service.churn_by_resolution(con, definition="contractual", bands=[24, 72])),
        "agents": service_charts.chart_agents(service.agent_performance(con, bands=[24, 72])),
    }


@pytest.fixture(scope="module")
def drawn(sample_db):
    import cxlib

    con = cxlib.connect(sample_db)
    try:
        made = {}
        for build in (_voc, _journey, _segments, _churn, _service):
            made.update(build(con))
    finally:
        con.close()
    return {name: (chart, svg_of(chart)) for name, chart in made.items()}


def test_no_text_sticks_out_and_every_chart_fits_the_page(drawn):
    problems = {}
    for name, (_, svg) in drawn.items():
        outside = text_outside(svg)
        width, _ = svg_size(svg)
        if width > PAGE_WIDTH + 40:
            outside.append(f"{width:.0f} px wide, the page has {PAGE_WIDTH}")
        if smallest_font(svg) < 9:
            outside.append(f"text at {smallest_font(svg)} px")
        if outside:
            problems[name] = outside
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_every_chart_has_its_own_description(drawn):
    """The report prints a chart's `description` as its caption: one written for that chart, saying what is
    drawn and how to read it (a caption that names NPS under a chart without it misleads)."""
    missing = [name for name, (chart, _) in drawn.items()
               if not str(chart.to_dict().get("description") or "").strip()]
    assert not missing, f"charts without a description: {missing}"
    for name, (chart, svg) in drawn.items():
        text = chart.to_dict()["description"]
        if "NPS" in text:
            assert any(w in svg for w in ("NPS", "promoter", "detractor")), (name, text)


MEANINGS = [  # (words in a shown value, the colour's meaning); the first match decides
    ("not significant", "not significant"), ("could be chance", "no clear difference"),
    ("no clear difference", "no clear difference"), ("like the rest", "no clear difference"),
    ("promoter", "promoter"), ("passive", "passive"), ("detractor", "detractor"), ("no_response", "no answer"),
    ("better", "better"), ("faster", "better"), ("lowers churn", "better"),
    ("worse", "worse"), ("slower", "worse"), ("raises churn", "worse"),
    ("significant", "significant"),
]


def _scales(node):
    if isinstance(node, dict):
        scale = node.get("scale")
        if isinstance(scale, dict) and isinstance(scale.get("domain"), list) and isinstance(scale.get("range"), list):
            yield scale
        for value in node.values():
            yield from _scales(value)
    elif isinstance(node, list):
        for value in node:
            yield from _scales(value)


def _hex_colours(node):
    import re

    text = __import__("json").dumps(node)
    return set(re.findall(r'"(#[0-9a-fA-F]{6})"', text))


def test_every_chart_takes_its_colours_from_the_palette_by_meaning(drawn):
    allowed = set(charts.COLOURS.values()) | set(charts.SERIES) | set(theme.graded(5)) \
        | set(theme.graded(3)) | set(theme.graded(4)) | {"#555555", "#eeeeee", "#333333"}
    wrong = []
    for name, (chart, _) in drawn.items():
        spec = chart.to_dict()
        spec.pop("config", None)
        stray = _hex_colours({k: v for k, v in spec.items() if k != "datasets"}) - allowed
        if stray:
            wrong.append(f"{name}: colours outside the palette {sorted(stray)}")
        for scale in _scales(spec):
            for value, col in zip(scale["domain"], scale["range"]):
                meaning = next((m for words, m in MEANINGS if words in str(value).lower()), None)
                if meaning and col != charts.COLOURS[meaning]:
                    wrong.append(f"{name}: {value!r} drawn {col}, but {meaning} is {charts.COLOURS[meaning]}")
    assert not wrong, "\n".join(wrong)


def test_nps_groups_have_one_colour_in_every_chart(drawn):
    seen = {}
    for name, (chart, _) in drawn.items():
        for scale in _scales(chart.to_dict()):
            for value, col in zip(scale["domain"], scale["range"]):
                if str(value).lower().rstrip("s").split(" (")[0] in ("promoter", "passive", "detractor"):
                    seen.setdefault(str(value).lower().rstrip("s").split(" (")[0], {})[name] = col
    assert set(seen) == {"promoter", "passive", "detractor"}  # the sample draws all three in several charts
    for group, colours in seen.items():
        assert set(colours.values()) == {charts.COLOURS[group]}, (group, colours)
