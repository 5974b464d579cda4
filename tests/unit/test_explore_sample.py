"""The explore tools recover effects planted in the sample data (cxlib.store.sample), through filters."""

from __future__ import annotations

import pytest

import cxlib
from cxlib.explore import (
    Filters,
    drilldown_customers,
    drilldown_funnel_dropped,
    drilldown_sql,
    filtered,
    save_segment,
)
from cxlib.explore.widgets import FilterPanel, _InlineExecutor

BILLING = ["bill", "billing", "charged", "invoice", "refund"]


def test_app_checkout_has_lower_csat_and_more_drop_off_than_web(sample_con):
    """Planted effect 8, seen by switching the channel filter (as the analyst does in the panel)."""
    got = {}
    for channel in ("app", "web"):
        with filtered(sample_con, Filters(channel=channel)) as fs:
            csat = cxlib.csat(fs.con, touchpoint="checkout")
            fun = cxlib.funnel(fs.con, ["checkout", "payment"], window="1 day")
        got[channel] = (csat["csat"].iloc[0], csat["ci_lower"].iloc[0], csat["ci_upper"].iloc[0],
                        fun.loc[fun["step"] == 2, "conversion_from_previous"].iloc[0])
    app, web = got["app"], got["web"]
    assert app[2] < web[1], f"app checkout CSAT {app[0]:.1f} not clearly below web {web[0]:.1f}"
    assert web[0] - app[0] > 10
    assert app[3] < web[3] - 0.05, f"checkout -> payment: app {app[3]:.2f}, web {web[3]:.2f}"


def test_filtered_totals_add_up(sample_con):
    """Partition invariance: the events of the channel filters sum to all events; same for regions."""
    total = sample_con.execute("SELECT count(*) FROM events").fetchone()[0]
    channels = [r[0] for r in sample_con.execute("SELECT DISTINCT channel FROM events").fetchall()]
    parts = 0
    for ch in channels:
        with filtered(sample_con, Filters(channel=ch)) as fs:
            parts += fs.con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert parts == total
    regions = [r[0] for r in sample_con.execute("SELECT DISTINCT region FROM customers WHERE region IS NOT NULL").fetchall()]
    with filtered(sample_con, Filters(attribute="region", values=regions)) as fs:
        in_regions = fs.con.execute("SELECT count(*) FROM events_ordered").fetchone()[0]
    blank = sample_con.execute(
        "SELECT count(*) FROM events e JOIN customers c USING (customer_id) WHERE c.region IS NULL").fetchone()[0]
    assert in_regions + blank == total


def test_nps_by_region_inside_a_filter_equals_the_hand_count(sample_con):
    f = Filters(start="2026-01-01", attribute="plan", values=["basic"])
    with filtered(sample_con, f) as fs:
        got = cxlib.nps(fs.con, by="region", min_group_size=1).set_index("segment")["n"]
    want = sample_con.execute(
        """SELECT c.region, count(*) FROM survey_responses r JOIN customers c USING (customer_id)
           WHERE r.metric = 'nps' AND r.ts >= TIMESTAMP '2026-01-01' AND c.plan = 'basic' GROUP BY 1"""
    ).fetchall()
    assert dict(got) == dict(want)


def test_billing_theme_drilldown_finds_detractors(sample_con):
    """Planted effect 6: customers behind the billing theme are detractors far more often."""
    billing = set(drilldown_customers(sample_con, interactive=True, keywords=BILLING)["customer_id"])
    latest = sample_con.execute(
        """SELECT customer_id, arg_max(score, ts) AS score FROM survey_responses
           WHERE metric = 'nps' AND touchpoint IS NULL GROUP BY 1"""
    ).df()
    latest["detractor"] = latest["score"] <= 6
    latest["billing"] = latest["customer_id"].isin(billing)
    share = latest.groupby("billing")["detractor"].mean()
    assert len(billing) > 50
    assert share[True] > 1.5 * share[False], share.to_dict()


def test_panel_on_the_sample_store_switches_channel(sample_con):
    panel = FilterPanel(sample_con, timer_factory=lambda d, fn: _Now(fn), executor=_InlineExecutor())
    out = panel.view(lambda con, f: cxlib.csat(con, touchpoint="checkout")[["n", "csat"]])
    panel.set(channel="app")
    app = panel.views[0].drilldown.result["csat"].iloc[0]
    panel.set(channel="web")
    web = panel.views[0].drilldown.result["csat"].iloc[0]
    assert app < web and "csat" in out.outputs[0]["data"]["text/html"]
    # the SQL behind the number is csat's own query file, reading the filtered views
    assert "cx_channel = 'web'" in panel.sql_text(0) and "metric = 'csat'" in panel.sql_text(0)
    # drill-down from the panel: customers who dropped between checkout and payment on the web
    dropped = panel.dropped(["checkout", "payment"], step=2, window="1 day")
    with filtered(sample_con, Filters(channel="web")) as fs:
        fun = cxlib.funnel(fs.con, ["checkout", "payment"], window="1 day", min_group_size=1)
    assert len(dropped) == fun.loc[fun["step"] == 2, "dropped"].iloc[0] > 0


class _Now:
    """A timer that fires at once (debounce is tested on a fake clock in test_widgets.py)."""

    def __init__(self, fn):
        self.fn = fn

    def start(self):
        self.fn()

    def cancel(self):
        pass


def test_untrusted_comments_are_escaped_in_panel_output(sample_con):
    """Planted effect 9: comments with markup show as text, never as live HTML."""
    panel = FilterPanel(sample_con, timer_factory=lambda d, fn: _Now(fn), executor=_InlineExecutor())
    out = panel.view(lambda con, f: con.execute(
        "SELECT comment FROM survey_responses WHERE comment ILIKE '%<script%' OR comment ILIKE '%onerror%' LIMIT 5").df())
    assert len(panel.views[0].drilldown.result) > 0  # the sample holds such comments
    html = out.outputs[0]["data"]["text/html"]
    assert "&lt;script" in html.lower() or "&lt;img" in html.lower()
    assert "<script" not in html.lower() and "<img" not in html.lower()


def test_drilldown_sql_of_a_team_metric(sample_con):
    with filtered(sample_con, Filters(channel="app")) as fs:
        d = drilldown_sql(cxlib.csat, fs, touchpoint="checkout")
    assert d.result["n"].iloc[0] > 0
    assert any("metric = 'csat'" in q.sql for q in d.queries)
    assert d.variables["cx_channel"] == "app"


def test_drilldown_customers_is_refused_in_a_static_run(sample_con):
    with pytest.raises(cxlib.CxInputError, match="interactive"):
        drilldown_customers(sample_con, interactive=False, keywords=BILLING)


def test_funnel_step_drilldown_matches_the_funnel(sample_con):
    """The customers behind 'dropped at payment' are exactly the funnel's dropped count, per channel."""
    from cxlib.explore import drilldown_funnel_dropped

    steps = ["checkout", "payment"]
    share = {}
    for channel in ("app", "web"):
        with filtered(sample_con, Filters(channel=channel)) as fs:
            fun = cxlib.funnel(fs.con, steps, window="1 day", min_group_size=1)
            dropped = drilldown_funnel_dropped(fs, steps, step=2, window="1 day", interactive=True)
        step2 = fun[fun["step"] == 2].iloc[0]
        assert len(dropped) == step2["dropped"] and dropped["customer_id"].is_unique
        share[channel] = len(dropped) / fun["customers"].iloc[0]
    assert share["app"] > share["web"] + 0.05  # planted effect 8: more drop-off to payment on app
    with pytest.raises(cxlib.CxInputError, match="interactive"):
        drilldown_funnel_dropped(sample_con, steps, step=2, interactive=False)


def test_customers_who_dropped_saved_as_a_segment_feed_a_funnel(sample_con):
    """The analyst saves who dropped at checkout (read-only store) and runs the funnel on just them."""
    steps = ["product_page", "add_to_cart", "checkout", "payment"]
    dropped = drilldown_funnel_dropped(sample_con, steps, step=3, interactive=True)
    n = save_segment(sample_con, "dropped_at_checkout", dropped)
    assert n == dropped["customer_id"].nunique() == cxlib.funnel(sample_con, steps, min_group_size=1)["dropped"][2]
    with filtered(sample_con, Filters(segment="dropped_at_checkout")) as fs:
        got = cxlib.funnel(fs.con, steps, min_group_size=1)
        in_segment = fs.con.execute("SELECT count(*) FROM customers").fetchone()[0]
    # every one of them viewed a product and added to cart; none reached checkout in a window
    assert in_segment == n > 100
    assert got["customers"].tolist() == [n, n, 0, 0]
    # the first step by hand: the segment's customers with a product_page event
    ids = tuple(dropped["customer_id"])
    by_hand = sample_con.execute(
        "SELECT count(DISTINCT customer_id) FROM events WHERE touchpoint = 'product_page' AND list_contains($ids, customer_id)",
        {"ids": list(ids)}).fetchone()[0]
    assert got["customers"][0] == by_hand
