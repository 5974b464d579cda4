"""Parity of segments, service, impact and the store profile: each public function of
cxlib.analysis.segments, .service, .impact, .profile, .kpis, .needs and .defaults returns the same
result on the DuckDB sample store (`sample_con`) and on the same store on Spark (`spark_con`).

Counts and text are compared exactly. Floats are compared with `rtol` (`same`):
- FLOAT (1e-9): sums, means, shares and the intervals computed from them. Both engines add in
  another order, so the last bits may differ (about 1e-15 relative); nothing else may.
- FIT (1e-6): what a model fits on numbers the engine computed (KMeans centres and silhouettes,
  the impact regression's estimates and HAC intervals): the inputs agree to 1e-15, a fit's
  iterations can amplify that, never to 1e-6.

A call that raises is compared by its exception type and message (the same sentence on both).
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from conftest import same

from cxlib import sql
from cxlib.analysis import defaults, impact, kpis, needs, profile, segments, service

pytestmark = pytest.mark.spark

FLOAT = 1e-9
FIT = 1e-6
WINDOW = {"start": "2025-07-01", "end": "2026-06-30"}
CHANGE = "2026-01-01"  # the service notebook's change date (the sample spans 2024-07 to 2026-06)


def outcome(call, con):
    """What `call(con)` returns, or (exception type, message) when it raises."""
    try:
        return call(con)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden: the same error on both engines passes
        return ("raised", type(exc).__name__, str(exc))


def _rfm_frame(con):
    return segments.rfm_scores(con).rename(columns={"rfm_segment": "segment"})[["customer_id", "segment"]]


def _clusters(con):
    c = segments.behaviour_clusters(con, k=4, seed=0, stability_runs=3)
    return {"k": c.k, "silhouette": c.silhouette, "quality": c.quality, "selection": c.selection,
            "summary": c.summary, "features": c.features, "features_used": c.features_used,
            "assignments": c.assignments.sort_values("customer_id").reset_index(drop=True),
            "stability": c.stability, "adjusted_rand": c.adjusted_rand, "headline": segments.clusters_headline(c)}


def _export(con, tmp_path):
    """The CSV read back (numbers as numbers: monetary is a sum of amounts, added in another order)."""
    path = segments.export_segments(con, tmp_path / f"{getattr(con, 'engine', 'duckdb')}.csv")
    return pd.read_csv(path, dtype={"customer_id": str, "rfm_cell": str})


def _cues(con, **kw):
    cues = segments.personalisation_cues(con, by="region", **kw)
    return {"cues": cues, "headline": segments.cues_headline(cues)}


def _profile_metrics(con):
    p = segments.segment_profile(con, by="region")
    return {"profile": p, "metrics": segments.profile_chart_metrics(p)}


def _fit_breakdown(wanted):
    def call(con):
        name, by = segments.fit_profile_breakdown(con, wanted)
        return {"name": name, "by": by.sort_values("customer_id").reset_index(drop=True) if isinstance(by, pd.DataFrame)
                else by}
    return call


def _store_profile(con):
    """The store's profile; `sample` (is this the synthetic sample: its sample_truth table) is left
    out, as export_parquet does not carry sample_truth to the lake (a lake is never the sample)."""
    p = dataclasses.replace(profile.profile(con), sample=False)
    return {**vars(p), "text": str(p), "unmapped": p.unmapped}


def _store_summary(con):
    """report_store_summary: counts and latest times agree; content_hash is each engine's own
    hash() of the rows (DuckDB's and Spark's hash functions differ), compared within one engine only."""
    return sql.run(con, "report_store_summary").drop(columns="content_hash")


def _impact(**kw):
    def call(con):
        r = impact.impact(con, **kw)
        return {**vars(r), "headline": impact.impact_headline(r), "design_text": impact.impact_design(r)}
    return call


def _agents(con, **kw):
    a = service.agent_performance(con, **kw)
    return {"agents": a, "headline": service.agent_headline(a)}


def _pseudonyms(con):
    ids = [r[0] for r in con.execute("SELECT DISTINCT agent_id FROM tickets ORDER BY 1 LIMIT 20").fetchall()]
    return service.agent_pseudonyms(con, ids + ["(none)"])


def _kpis(report, **kw):
    def call(con):
        return kpis.headline_kpis(con, report, **kw)
    return call


SEGMENTS = [
    pytest.param(_profile_metrics, FLOAT, id="segment_profile-region"),
    pytest.param(lambda c: segments.segment_profile(c, by=_rfm_frame(c), churn_definition="contractual", **WINDOW),
                 FLOAT, id="segment_profile-frame-contractual-window"),
    pytest.param(lambda c: segments.segment_usage(c, by="region"), FLOAT, id="segment_usage"),
    pytest.param(lambda c: _cues(c, top=1, min_lift=1.05, **WINDOW), FLOAT, id="personalisation_cues"),
    pytest.param(lambda c: segments.rfm_scores(c, as_of="2025-12-31").sort_values("customer_id").reset_index(drop=True),
                 FLOAT, id="rfm_scores"),
    pytest.param(lambda c: segments.rfm_segments(c), FLOAT, id="rfm_segments"),
    pytest.param(lambda c: segments.rfm_grid(c, as_of="2025-12-31"), FLOAT, id="rfm_grid"),
    pytest.param(_clusters, FIT, id="behaviour_clusters"),
    pytest.param(lambda c: segments.cluster_features_used(c), FLOAT, id="cluster_features_used"),
    pytest.param(_fit_breakdown("nps_group"), FLOAT, id="fit_profile_breakdown-nps_group"),
    pytest.param(_fit_breakdown("tier"), FLOAT, id="fit_profile_breakdown-absent"),
    pytest.param(lambda c: segments.breakdown_headline(c, "plan", "plan", **WINDOW), FLOAT, id="breakdown_headline"),
    pytest.param(lambda c: segments.numeric_attributes(c), FLOAT, id="numeric_attributes"),
    pytest.param(lambda c: segments.numeric_ranges(c, "region"), FLOAT, id="numeric_ranges-not-a-number"),
]

SERVICE = [
    pytest.param(lambda c: {"t": (t := service.resolution_times(c)), "headline": service.resolution_headline(t)},
                 FLOAT, id="resolution_times"),
    pytest.param(lambda c: service.resolution_times(c, by="channel", bands=(12, 48), **WINDOW), FLOAT,
                 id="resolution_times-channel"),
    pytest.param(lambda c: service.resolution_bands(c, by="channel", **WINDOW), FLOAT, id="resolution_bands"),
    pytest.param(lambda c: {"f": (f := service.first_contact_resolution(c, by="channel", **WINDOW)),
                            "headline": service.first_contact_headline(f, by="channel")}, FLOAT,
                 id="first_contact_resolution"),
    pytest.param(lambda c: {"r": (r := service.ratings_by_resolution(c)), "headline": service.ratings_headline(r)},
                 FLOAT, id="ratings_by_resolution"),
    pytest.param(lambda c: {"r": (r := service.churn_by_resolution(c)),
                            "headline": service.churn_resolution_headline(r)}, FLOAT, id="churn_by_resolution"),
    pytest.param(lambda c: _agents(c, interactive=True, **WINDOW), FLOAT, id="agent_performance"),
    pytest.param(_pseudonyms, FLOAT, id="agent_pseudonyms"),
    pytest.param(lambda c: service.service_headline(c), FLOAT, id="service_headline"),
]

IMPACT = [
    pytest.param(_impact(metric="csat", change_date=CHANGE, treated="region: north"), FIT, id="impact-did"),
    pytest.param(_impact(metric="fcr", change_date=CHANGE, treated="channel: chat"), FIT, id="impact-fcr-channel"),
    pytest.param(_impact(metric="ces", change_date=CHANGE, treated=None, period="quarter"), FIT, id="impact-its"),
    pytest.param(lambda c: impact.fit_impact_metric(c, "nps"), FLOAT, id="fit_impact_metric"),
    pytest.param(lambda c: [impact.fit_treated(c, t) for t in ("region: north", "plan: nothing", "none")], FLOAT,
                 id="fit_treated"),
    pytest.param(lambda c: [impact.parse_treated(c, t) for t in ("region: north", "channel: chat", None)], FLOAT,
                 id="parse_treated"),
]

PROFILE = [
    pytest.param(_store_profile, FLOAT, id="profile"),
    pytest.param(lambda c: profile.activity(c, by="channel"), FLOAT, id="activity-channel"),
    pytest.param(lambda c: profile.activity(c, by="week"), FLOAT, id="activity-week"),
    pytest.param(lambda c: profile.activity(c, by="month", **WINDOW), FLOAT, id="activity-month"),
    pytest.param(_store_summary, FLOAT, id="report_store_summary"),
    pytest.param(lambda c: kpis.kpi_period(c, period="month"), FLOAT, id="kpi_period"),
    # one week: the overview's tiles hold a funnel, whose Spark form is slow over the sample's two years
    pytest.param(_kpis("overview", funnel_steps=["product_page", "add_to_cart", "checkout", "payment"],
                       start="2026-06-01", end="2026-06-07"), FLOAT, id="headline_kpis-overview"),
    *[pytest.param(_kpis(report), FLOAT, id=f"headline_kpis-{report}") for report in kpis.REPORTS if report != "overview"],
]

DEFAULTS = [
    pytest.param(lambda c: defaults.segment_choices(c), FLOAT, id="segment_choices"),
    pytest.param(lambda c: defaults.has_nps(c), FLOAT, id="has_nps"),
    pytest.param(lambda c: [defaults.fit_segment(c, w) for w in ("region", "tier", "none", "nps_group")], FLOAT,
                 id="fit_segment"),
    pytest.param(lambda c: {c_: defaults._is_numeric(c, c_) for c_ in ("region", "plan")}, FLOAT, id="is_numeric"),
    pytest.param(lambda c: sorted(defaults.seen_touchpoints(c)), FLOAT, id="seen_touchpoints"),
    pytest.param(lambda c: defaults.common_path(c), FLOAT, id="common_path"),
    pytest.param(lambda c: defaults.fit_funnel_steps(c, ["product_page", "teleport"]), FLOAT, id="fit_funnel_steps"),
    pytest.param(lambda c: [defaults.fit_touchpoint(c, w) for w in ("checkout", "teleport")], FLOAT,
                 id="fit_touchpoint"),
    pytest.param(lambda c: [defaults.fit_churn_definition(c, w) for w in ("contractual", "non_contractual")], FLOAT,
                 id="fit_churn_definition"),
]


@pytest.mark.parametrize(("call", "rtol"), SEGMENTS + SERVICE + IMPACT + PROFILE + DEFAULTS)
def test_same_on_both_engines(sample_con, spark_con, call, rtol):
    compare(outcome(call, sample_con), outcome(call, spark_con), rtol=rtol)


def compare(a, b, *, rtol, path="result"):
    """`same`, but an exception on one engine only is shown as the exception."""
    def raised(x):
        return isinstance(x, tuple) and x[:1] == ("raised",)

    if raised(a) or raised(b):
        assert a == b, f"{path}: DuckDB {a if raised(a) else 'returned'}, Spark {b if raised(b) else 'returned'}"
    else:
        same(a, b, rtol=rtol, path=path)


def test_export_segments(sample_con, spark_con, tmp_path):
    same(_export(sample_con, tmp_path), _export(spark_con, tmp_path), rtol=FLOAT)


# Every requirement a report section checks, counted with each context a notebook passes.
CONTEXTS = [
    {"segment": "region", "definition": "contractual", "steps": ["product_page", "add_to_cart"], "period": "week",
     "metric": "csat", "change_date": CHANGE, "answer_window_hours": 48},
    {"segment": "nps_group", "definition": "non_contractual", "steps": None, "period": "month", "metric": "fcr",
     "target": "churn"},
    {"segment": "channel", "metric": "nps", "period": "quarter", "change_date": CHANGE, "target": "csat",
     "answer_window_hours": 12.5},
]
REQUIREMENTS = {r.label: r for rs in (*needs.SECTIONS.values(), *needs.ANY_OF.values()) for r in rs}


@pytest.mark.parametrize("label", sorted(REQUIREMENTS), ids=lambda label: label.split(" (")[0][:50])
def test_requirement_counts(sample_con, spark_con, label):
    count = REQUIREMENTS[label].count
    for context in CONTEXTS:
        def call(c, context=context):
            return count(c, dict(context))
        compare(outcome(call, sample_con), outcome(call, spark_con), rtol=FLOAT, path=f"{label} with {context}")


@pytest.mark.parametrize("name", ["segments.profile", "service.impact", "overview.shifts", "journey.funnel"])
def test_readiness(sample_con, spark_con, name):
    context = {"segment": "plan", "metric": "csat", "change_date": CHANGE, "period": "week",
               "steps": ["product_page", "add_to_cart"]}
    same(str(needs.readiness(sample_con, name, **context).sentence),
         str(needs.readiness(spark_con, name, **context).sentence))
    same(bool(needs.readiness(sample_con, name, **context)), bool(needs.readiness(spark_con, name, **context)))
