"""friction(): drop-off against the EXPECTED next step (stage map or funnel goal), each touchpoint and
channel against the same touchpoint on the other channels. Hand-computed cases and the sample's
planted app-checkout friction."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy import stats

import cxlib
from cxlib.analysis.journey import friction
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
Z = 1.959963984540054
STAGES = {"home_page": "consideration", "product_page": "consideration", "add_to_cart": "purchase",
          "checkout": "purchase", "payment": "purchase", "chat": "service", "app_login": "loyalty"}


def make_store(tmp_path, events, stages=STAGES):
    """events = [(customer, hours, touchpoint, channel)]; no surveys."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    if stages:
        con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(stages.items()))
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
                    [(c, T0 + timedelta(hours=h), t, ch) for c, h, t, ch in events])
    refresh_derived(con)
    return con


def wilson(x, n):
    p = x / n
    d = 1 + Z * Z / n
    centre, half = (p + Z * Z / (2 * n)) / d, Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return (0.0 if x == 0 else centre - half), (1.0 if x == n else centre + half)


def newcombe_lower(x1, n1, x2, n2):
    p1, p2 = x1 / n1, x2 / n2
    return p1 - p2 - np.sqrt((p1 - wilson(x1, n1)[0]) ** 2 + (wilson(x2, n2)[1] - p2) ** 2)


STAGE_EVENTS = [
    ("c1", 0, "checkout", "web"), ("c1", 0.5, "payment", "web"), ("c1", 0.6, "app_login", "app"),  # all continue
    ("c2", 0, "checkout", "web"), ("c2", 0.1, "product_page", "web"),  # back to an earlier stage: a drop-off
    ("c3", 0, "checkout", "app"),  # nothing after it
    ("c4", 0, "checkout", "app"), ("c4", 2, "payment", "app"),  # payment more than the gap later
    ("c5", 0, "checkout", "app"), ("c5", 0.5, "chat", "chat"),  # a later stage (service): continues
    ("c6", 0, "checkout", "web"), ("c6", 0.5, "mystery", "web"),  # a next event without a stage continues
    ("zz", 1000, "app_login", "app"),  # the end of the data
]


def test_stage_rule_hand_computed(tmp_path):
    con = make_store(tmp_path, STAGE_EVENTS)
    out = friction(con, gap="1 hour", min_group_size=1)
    got = out.set_index(["touchpoint", "channel"])
    # app_login is of the last stage (loyalty): a natural end, never judged
    assert "app_login" not in got.index.get_level_values(0)
    counts = {k: (r["dropped_off"], r["occurrences"]) for k, r in got.iterrows()}
    assert counts == {("checkout", "web"): (1, 3), ("checkout", "app"): (2, 3), ("payment", "web"): (0, 1),
                      ("payment", "app"): (1, 1), ("product_page", "web"): (1, 1), ("chat", "chat"): (1, 1),
                      ("mystery", "web"): (1, 1)}
    assert got.loc[("mystery", "web"), "expects"] == "any event"
    assert got.loc[("checkout", "app"), "expects"] == "same or later stage"
    app = got.loc[("checkout", "app")]
    assert app["baseline"] == "other channels" and app["baseline_n"] == 3
    assert app["baseline_rate"] == pytest.approx(1 / 3) and app["excess"] == pytest.approx(1 / 3)
    assert app["excess_lower"] == pytest.approx(newcombe_lower(2, 3, 1, 3))
    assert (app["dropoff_lower"], app["dropoff_upper"]) == pytest.approx(wilson(2, 3))
    # two-proportion z-test, pooled: 3 of 6
    assert app["p_value"] == pytest.approx(2 * stats.norm.sf((1 / 3) / np.sqrt(0.25 * (2 / 3))))
    assert got.loc[("payment", "app"), "excess_lower"] == pytest.approx(newcombe_lower(1, 1, 0, 1))
    # ranked by the lower bound of the excess; then the rows without a baseline by drop-off, then by name
    tested = out[out["friction_score"].notna()]
    assert tested["friction_score"].is_monotonic_decreasing
    assert list(zip(out["touchpoint"], out["channel"]))[-3:] == [("chat", "chat"), ("mystery", "web"),
                                                                  ("product_page", "web")]
    assert not out["flagged"].any()  # a handful of occurrences proves nothing


GOAL_EVENTS = [
    ("g1", 0, "product_page", "web"), ("g1", 0.1, "home_page", "web"), ("g1", 0.2, "add_to_cart", "web"),
    ("g1", 0.3, "checkout", "web"),  # a later step within the gap, even with another event between
    ("g2", 0, "product_page", "app"), ("g2", 0.5, "checkout", "app"),  # skipping a step is a later step
    ("g3", 0, "product_page", "app"), ("g3", 3, "add_to_cart", "app"),  # too late: both drop off
    ("zz", 1000, "home_page", "web"),
]


def test_goal_rule_hand_computed(tmp_path):
    con = make_store(tmp_path, GOAL_EVENTS)
    out = friction(con, gap="1 hour", goal=["product_page", "add_to_cart", "checkout"], min_group_size=1)
    got = {(r.touchpoint, r.channel): (r.dropped_off, r.occurrences) for r in out.itertuples()}
    # checkout is the goal and home_page is outside it: not judged
    assert got == {("product_page", "web"): (0, 1), ("product_page", "app"): (1, 2),
                   ("add_to_cart", "web"): (0, 1), ("add_to_cart", "app"): (1, 1)}
    assert (out["expects"] == "later step").all()
    assert (out["touchpoint"].iloc[0], out["channel"].iloc[0]) == ("add_to_cart", "app")  # 1 of 1 vs 0 of 1
    # a set of touchpoints is one step
    out2 = friction(con, gap="1 hour", goal=["product_page", {"add_to_cart", "home_page"}, "checkout"],
                    min_group_size=1)
    assert set(out2["touchpoint"]) == {"product_page", "add_to_cart", "home_page"}


def test_a_store_without_a_stage_map_or_ratings_judges_any_next_event(tmp_path):
    con = make_store(tmp_path, STAGE_EVENTS, stages={})
    out = friction(con, gap="1 hour", min_group_size=1)
    assert (out["expects"] == "any event").all()
    got = out.set_index(["touchpoint", "channel"])
    # without stages nothing is a natural end and a step back is no drop-off: the plain drop-off
    assert got.loc[("checkout", "web"), "dropped_off"] == 0 and got.loc[("app_login", "app"), "occurrences"] == 1
    assert out["dissatisfaction"].isna().all()


def test_a_hidden_row_never_enters_a_baseline(tmp_path):
    events = [(f"w{i}", 0, "checkout", "web") for i in range(3)] + [("a1", 0, "checkout", "app"),
                                                                    ("zz", 1000, "app_login", "app")]
    con = make_store(tmp_path, events)
    out = friction(con, gap="1 hour", min_group_size=2).set_index(["touchpoint", "channel"])
    assert out.loc[("checkout", "app"), "suppressed"]
    web = out.loc[("checkout", "web")]
    assert web["baseline"] is None and np.isnan(web["baseline_rate"]) and np.isnan(web["friction_score"])


@pytest.mark.parametrize("goal, message", [
    (["product_page", "chekout"], "did you mean 'checkout'"),
    (["product_page"], "at least 2"),
    (["product_page", {"product_page", "checkout"}], "two steps"),
    ("checkout", "list of funnel steps"),
])
def test_bad_goals(tmp_path, goal, message):
    con = make_store(tmp_path, STAGE_EVENTS)
    with pytest.raises(CxInputError, match=message):
        friction(con, goal=goal)


def test_nothing_to_judge_is_a_data_error(tmp_path):
    con = make_store(tmp_path, [("c1", 0, "app_login", "app"), ("zz", 1000, "app_login", "app")])
    with pytest.raises(CxDataError, match="no occurrence to judge"):
        friction(con, gap="1 hour", min_group_size=1)


def test_planted_app_checkout_friction_ranks_first_on_the_sample(sample_con):
    # planted: P(payment | checkout) 0.62 on the app vs 0.85 on the web (cxlib/store/simulate.py)
    out = friction(sample_con)
    top = out.iloc[0]
    assert (top["touchpoint"], top["channel"]) == ("checkout", "app")
    assert top["flagged"] and top["baseline"] == "other channels" and top["p_value"] < 1e-6
    assert top["excess_lower"] > 0.15
    # natural ends are not friction: payment, phone calls, help centre and deliveries are not flagged
    natural = out[out["touchpoint"].isin(["payment", "phone_call", "help_center", "delivery", "chat"])]
    assert not natural["flagged"].any()
    assert "loyalty" not in set(out["stage"])
    # against the purchase funnel as the goal it ranks first too
    goal = friction(sample_con, goal=["product_page", "add_to_cart", "checkout", "payment"])
    assert (goal["touchpoint"].iloc[0], goal["channel"].iloc[0]) == ("checkout", "app") and goal["flagged"].iloc[0]
