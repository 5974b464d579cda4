"""The journey analyses recover the effects planted in the sample data (cxlib.store.sample, 3,000 customers)."""

from __future__ import annotations

import pytest

from cxlib.analysis.journey import friction, funnel, handoffs, journey_map, switch_outcomes, transitions, variants

PURCHASE = ["product_page", "add_to_cart", "checkout", "payment"]


def test_chat_to_phone_handoff_causes_repeat_contacts_effort_and_ticket_contacts(sample_con):
    out = handoffs(sample_con)
    shown = out[~out["suppressed"]].set_index(["from_touchpoint", "to_touchpoint"])
    h = shown.loc[("chat", "phone_call")]
    base = shown.loc[("chat", "(none)")]
    # planted: P(repeat within 7 days) ~0.45 after the hand-off vs ~0.05 otherwise
    assert h["cases"] >= 100
    assert h["repeat_rate"] > 0.3 and base["repeat_rate"] < 0.15
    assert h["repeat_rate"] > 3 * base["repeat_rate"]
    assert h["ces"] < base["ces"] - 1.0  # lower CES = more effort
    assert h["ticket_contacts"] > base["ticket_contacts"] + 0.5
    # it is the hand-off the analysis puts first: most cases and the worst repeat rate among real ones
    handoff_rows = shown[shown["handoff"] & (shown["cases"] >= 30)]
    assert handoff_rows["repeat_rate"].idxmax() == ("chat", "phone_call")
    assert handoff_rows["cases"].idxmax() == ("chat", "phone_call")


def test_customers_who_had_to_switch_report_more_effort(sample_con):
    out = switch_outcomes(sample_con).set_index("group")
    s, n = out.loc["switched"], out.loc["not_switched"]
    assert s["customers"] >= 100 and not s["suppressed"]
    assert s["ces_upper"] < n["ces_lower"]  # the intervals do not overlap
    assert s["ces_high"] < n["ces_high"]


def test_app_checkout_is_a_friction_point(sample_con):
    out = friction(sample_con)
    rows = out.set_index(["touchpoint", "channel"])
    app, web = rows.loc[("checkout", "app")], rows.loc[("checkout", "web")]
    # planted: P(payment | checkout) 0.62 on the app vs 0.85 on the web, and a CSAT drop on the app
    assert app["dropoff_rate"] > web["dropoff_rate"] + 0.1
    assert app["csat"] < web["csat"] - 0.2
    assert app["friction_score"] > web["friction_score"]
    purchase = out[out["stage"] == "purchase"]
    assert (purchase["touchpoint"].iloc[0], purchase["channel"].iloc[0]) == ("checkout", "app")


def test_detractors_journeys_hold_more_service_calls_and_promoters_more_app_use(sample_con):
    out = transitions(sample_con, by="nps_group")
    out = out[~out["suppressed"]]
    total = out.groupby("segment")["transitions"].sum()

    def share(tp):
        hit = out[(out["source"] == tp) | (out["target"] == tp)]
        return hit.groupby("segment")["transitions"].sum() / total

    phone, app = share("phone_call"), share("app_login")
    assert phone["detractor"] > 2 * phone["promoter"]  # support_heavy persona: low NPS, many calls
    assert app["promoter"] > app["detractor"] + 0.05  # power_app persona: high NPS, app use


def test_purchase_funnel_on_the_sample(sample_con):
    out = funnel(sample_con, PURCHASE, window="7 days")
    assert out["step"].tolist() == [1, 2, 3, 4]
    c = out["customers"].tolist()
    assert c[0] > 2000 and c == sorted(c, reverse=True)
    assert 0.6 < out["conversion_from_previous"].iloc[2] < 0.98
    assert (out["ci_lower"] <= out["conversion_from_first"]).all() and (out["conversion_from_first"] <= out["ci_upper"]).all()
    assert out["open_window"].sum() > 0  # journeys started in the last week are reported apart
    by = funnel(sample_con, PURCHASE, window="7 days", by="nps_group")
    assert set(by["segment"]) == {"promoter", "passive", "detractor", "no_response"}
    firsts = by[by["step"] == 1]["customers"].sum()
    assert firsts == pytest.approx(c[0])  # the groups partition the customers


def test_journey_map_and_variants_on_the_sample(sample_con):
    jm = journey_map(sample_con)
    assert jm["stage"].tolist() == ["awareness", "consideration", "purchase", "service", "loyalty"]
    assert (jm["customers"] > 1000).all()
    assert jm.loc[jm["stage"] == "purchase", "csat"].notna().all()
    v = variants(sample_con, top=5, max_steps=3)
    assert len(v) == 5 and v["customers"].is_monotonic_decreasing


def test_funnel_explorer_reruns_the_funnel_when_a_choice_changes(sample_con):
    from cxlib.explore import funnel_explorer

    panel = funnel_explorer(sample_con, PURCHASE)
    first = panel.result
    assert set(first["segment"]) == {"all"} and first["open_window"].sum() > 0
    shown = panel.table.as_raw_html()  # the report's table: plain headers, formatted numbers
    assert ">Conversion from first<" in shown and ">open_window<" not in shown and ">Open window<" in shown
    order_w, window_w, by_w = panel.children[0].children
    by_w.value = "nps_group"
    assert set(panel.result["segment"]) == {"promoter", "passive", "detractor", "no_response"}
    by_w.value = None
    window_w.value = "1 hour"
    short = panel.result
    assert short["customers"].iloc[-1] < first["customers"].iloc[-1]
    window_w.value = "7 dayz"  # a typo shows the error and keeps the last result
    assert "&#x27;7 days&#x27;" in panel.children[1].value and panel.result is short
    window_w.value = ""  # no limit: nobody's window is open
    unlimited = panel.result
    assert panel.children[1].value == "" and unlimited["open_window"].sum() == 0
    order_w.value = "strict"  # strict attempts are a subset of ordered ones
    assert panel.result is not unlimited
    assert (panel.result["customers"].to_numpy() <= unlimited["customers"].to_numpy()).all()


def test_every_sample_touchpoint_has_a_stage_so_the_report_keeps_its_stage_views(sample_con):
    from cxlib.analysis.journey import fit_flow_level, stage_coverage

    cov = stage_coverage(sample_con)
    assert cov.sentence == "" and cov.mapped_share == 1.0
    assert fit_flow_level(sample_con, "stage") == "stage"


def test_the_sample_results_read_without_nan_as_tables(sample_con):
    from cxlib.charts.tables import HIDDEN, formatted, table

    raw = {"map": journey_map(sample_con), "handoffs": handoffs(sample_con), "friction": friction(sample_con).head(10)}
    for name, df in raw.items():
        html = table(df).as_raw_html()
        assert not any(bad in html for bad in (">NaN<", ">NaT<", ">None<", ">nan<", "><NA><")), name
    jm = formatted(raw["map"]).set_index("stage")
    assert jm.loc["service", "ces"] == f"{raw['map'].set_index('stage').loc['service', 'ces']:.1f}"
    assert jm.loc["awareness", "csat"] == "no ratings"  # nobody rates the ads
    h = formatted(raw["handoffs"])
    assert h.loc[raw["handoffs"]["suppressed"].to_numpy(), "repeat_rate"].eq(HIDDEN).all()  # hidden hand-offs: a dash
