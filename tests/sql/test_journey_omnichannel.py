"""Channel switches, service hand-offs, switcher outcomes and friction points: rows in, rows out."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxlib
from cxlib.analysis.journey import channel_switches, friction, handoffs, switch_outcomes
from cxlib.charts.tables import formatted
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

STAGES = {
    "home_page": "consideration", "product_page": "consideration", "checkout": "purchase", "payment": "purchase",
    "chat": "service", "phone_call": "service", "email_support": "service", "app_login": "loyalty",
}
CHANNEL = {"chat": "chat", "phone_call": "phone", "email_support": "email"}
T0 = datetime(2024, 1, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_store(tmp_path, events, surveys=(), tickets=(), orders=()):
    """events = [(customer, hours, touchpoint[, channel])]; surveys = [(customer, hours, metric, score, tp, ch)]."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(STAGES.items()))
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
                    [(e[0], at(e[1]), e[2], e[3] if len(e) > 3 else CHANNEL.get(e[2], "web")) for e in events])
    for i, (cust, hours, metric, score, tp, ch) in enumerate(surveys):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    [f"r{i}", cust, at(hours), metric, score, tp, ch])
    for i, (cust, hours, contacts) in enumerate(tickets):
        con.execute("INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id, contacts, reopened) VALUES (?, ?, ?, ?, 'chat', NULL, NULL, ?, false)",
                    [f"t{i}", cust, at(hours), at(hours + 2), contacts])
    for i, (cust, hours) in enumerate(orders):
        con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES (?, ?, ?, 10.0, 'web')", [f"o{i}", cust, at(hours)])
    refresh_derived(con)
    return con


SERVICE = [
    ("u1", 0, "chat"), ("u1", 5, "phone_call"), ("u1", 30, "email_support"),  # hand-off, then a repeat contact
    ("u2", 0, "chat"),  # a single contact
    ("u3", 0, "chat"), ("u3", 2, "chat"),  # same channel twice: no hand-off
    ("u4", 0, "chat"), ("u4", 30, "phone_call"),  # switch after more than a day: no hand-off
    ("u5", 990, "chat"),  # its 7-day follow-up runs past the end of the data: censored
    ("u6", 0, "chat"), ("u6", 24, "phone_call"),  # exactly one day later: a hand-off
    ("zz", 1000, "app_login"),  # the end of the data
]
CONTACTS = ["chat", "phone_call", "email_support"]


def test_handoffs_cases_repeats_effort_and_tickets(tmp_path):
    con = make_store(tmp_path, SERVICE, surveys=[("u1", 40, "ces", 2, "phone_call", "phone")], tickets=[("u1", 1, 3)])
    out = handoffs(con, contacts=CONTACTS, min_group_size=1)
    got = out.set_index(["from_touchpoint", "to_touchpoint"])
    assert set(got.index) == {("chat", "phone_call"), ("chat", "(none)"), ("email_support", "(none)"),
                              ("phone_call", "(none)")}
    h = got.loc[("chat", "phone_call")]
    assert h["handoff"] and (h["cases"], h["customers"]) == (2, 2)
    assert (h["repeat_rate"], h["repeat_contacts"]) == (0.5, 0.5)  # u1 came back (email h30), u6 did not
    assert (h["ces_n"], h["ces"], h["tickets"], h["ticket_contacts"]) == (1, 2.0, 1, 3.0)
    b = got.loc[("chat", "(none)")]
    # u2 (no repeat), u3's two chats (first repeated by the second), u4's chat (phone 30h later); u5 censored
    assert not b["handoff"] and (b["cases"], b["customers"]) == (4, 3)
    assert b["repeat_rate"] == 0.5 and b["ces_n"] == 0 and np.isnan(b["ces"])
    assert got.loc[("phone_call", "(none)"), "cases"] == 1  # u4's phone call; u1's and u6's end hand-offs
    assert out["handoff"].tolist()[0]  # hand-offs first


def test_handoffs_shorter_within_drops_the_edge_case(tmp_path):
    con = make_store(tmp_path, SERVICE)
    out = handoffs(con, contacts=CONTACTS, within="23 hours", min_group_size=1).set_index(
        ["from_touchpoint", "to_touchpoint"])
    assert out.loc[("chat", "phone_call"), "cases"] == 1  # only u1 (5h); u6's 24h is now too late


def test_channel_switches(tmp_path):
    con = make_store(tmp_path, SERVICE)
    out = channel_switches(con, min_group_size=1)
    assert list(zip(out["from_channel"], out["to_channel"])) == [("chat", "phone")]
    assert (out["switches"].iloc[0], out["customers"].iloc[0]) == (2, 2)
    assert out["median_gap"].iloc[0] == pd.Timedelta(hours=14.5)


def test_switch_outcomes_compare_switchers_with_the_rest(tmp_path):
    surveys = [("u1", 6, "csat", 2, None, None), ("u6", 25, "csat", 5, None, None), ("u2", 1, "csat", 5, None, None),
               ("u3", 3, "csat", 4, None, None), ("u4", 31, "csat", 1, None, None), ("u1", 7, "ces", 2, None, None),
               ("u2", 1, "ces", 6, None, None), ("u3", 3, "ces", 7, None, None)]
    con = make_store(tmp_path, SERVICE, surveys=surveys, orders=[("u1", 50)])
    out = switch_outcomes(con, contacts=CONTACTS, min_group_size=1).set_index("group")
    s, n = out.loc["switched"], out.loc["not_switched"]
    assert (s["customers"], n["customers"]) == (2, 4)  # u1, u6 vs u2, u3, u4, u5
    assert (s["csat"], s["csat_n"], n["csat"]) == (0.5, 2, pytest.approx(2 / 3))
    assert (s["ces"], s["ces_n"]) == (2.0, 1) and np.isnan(s["ces_lower"])  # one answer: no interval
    lo, hi = stats.t.interval(0.95, 1, loc=6.5, scale=stats.sem([6, 7]))
    assert (n["ces"], n["ces_lower"], n["ces_upper"]) == (6.5, pytest.approx(lo), pytest.approx(hi))
    assert n["ces_high"] == 1.0
    assert (s["conversion"], n["conversion"]) == (0.5, 0.0)


def _wilson(x, n, z=1.959963984540054):
    p = x / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (0.0 if x == 0 else centre - half), (1.0 if x == n else centre + half)


def test_friction_compares_dropoff_with_the_touchpoints_other_channels(tmp_path):
    events = [("u1", 0, "checkout"), ("u1", 0.5, "payment"),  # payment: same stage, in time: continues
              ("u2", 0, "checkout"), ("u2", 5, "product_page"),  # drops off after checkout (and product_page)
              ("u3", 0, "checkout", "app"),  # drops off
              ("zz", 1000, "app_login")]  # less than the gap before the end of the data: not judged
    surveys = [("u1", 1, "csat", 5, "checkout", "web"), ("u2", 1, "csat", 4, "checkout", "web"),
               ("u3", 1, "csat", 2, "checkout", "app"), ("u1", 1, "ces", 7, "payment", "web")]
    con = make_store(tmp_path, events, surveys=surveys)
    out = friction(con, gap="1 hour", min_group_size=1)
    got = out.set_index(["touchpoint", "channel"])
    assert "app_login" not in got.index.get_level_values(0)
    assert got.loc[("checkout", "web"), "dropoff_rate"] == 0.5 and got.loc[("checkout", "app"), "dropoff_rate"] == 1.0
    assert got.loc[("checkout", "web"), "dissatisfaction"] == 0.0 and got.loc[("payment", "web"), "dissatisfaction"] == 0.0
    # checkout app (1 of 1) against checkout on the other channel, web (1 of 2): Newcombe's interval
    app = got.loc[("checkout", "app")]
    assert app["baseline"] == "other channels" and app["baseline_rate"] == 0.5 and app["excess"] == 0.5
    (l1, _), (_, u2) = _wilson(1, 1), _wilson(1, 2)
    assert app["excess_lower"] == pytest.approx(0.5 - np.sqrt((1 - l1) ** 2 + (u2 - 0.5) ** 2))
    assert app["friction_score"] == app["excess_lower"] and not app["flagged"]  # 3 occurrences prove nothing
    # payment and product_page occur on one channel of a two-channel store: no baseline, listed after
    assert got.loc[("payment", "web"), "baseline"] is None and np.isnan(got.loc[("payment", "web"), "friction_score"])
    assert list(zip(out["touchpoint"], out["channel"])) == [("checkout", "app"), ("checkout", "web"),
                                                             ("payment", "web"), ("product_page", "web")]


def test_switch_outcomes_without_orders_leave_conversion_blank(tmp_path):
    con = make_store(tmp_path, SERVICE)  # no orders at all: who bought is unknown, not 0%
    out = switch_outcomes(con, contacts=CONTACTS, min_group_size=1)
    assert out["conversion"].isna().all() and out["customers"].tolist() == [2, 4]
    shown = formatted(out)  # nor ratings: the rated and conversion columns are left out
    assert list(shown.columns) == ["group", "customers"]


def test_default_contacts_come_from_the_events_not_the_stage_map(tmp_path):
    con = make_store(tmp_path, [e for e in SERVICE if e[2] != "email_support"])
    assert "email_support" in STAGES
    out = handoffs(con, min_group_size=1)  # default contacts: chat, phone_call (email_support never occurs)
    assert set(out["from_touchpoint"]) | set(out["to_touchpoint"]) <= {"chat", "phone_call", "(none)"}
    (tmp_path / "web").mkdir()
    web_only = make_store(tmp_path / "web", [("u1", 0, "home_page"), ("u1", 1, "checkout")])
    with pytest.raises(CxInputError, match="none of the default service contacts"):
        handoffs(web_only)


def test_friction_without_ratings_on_one_channel_compares_with_the_other_touchpoints(tmp_path):
    events = [("u1", 0, "checkout"), ("u1", 0.5, "payment"),  # continues after checkout, drops after payment
              ("u2", 0, "checkout"), ("u2", 5, "product_page"),  # drops off after checkout
              ("u3", 0, "home_page"), ("u3", 0.2, "product_page"), ("u3", 0.4, "home_page"),
              ("zz", 1000, "app_login")]
    con = make_store(tmp_path, events)
    out = friction(con, gap="1 hour", min_group_size=1)
    assert out["dissatisfaction"].isna().all()
    # one channel: each touchpoint against all the others. payment 1 of 1 vs 3 of 6; checkout, home_page,
    # product_page 1 of 2 vs 3 of 5
    got = out.set_index("touchpoint")
    assert (got["baseline"] == "other touchpoints").all()
    assert got.loc["payment", "baseline_rate"] == 0.5 and got.loc["checkout", "baseline_rate"] == pytest.approx(0.6)
    assert out["touchpoint"].tolist() == ["payment", "checkout", "home_page", "product_page"]
    shown = formatted(out)
    assert "csat" not in shown.columns and "dissatisfaction" not in shown.columns


def test_friction_chart_without_ratings_ranks_the_extra_dropoff(tmp_path):
    """Ratings are not needed: on a one-channel store each touchpoint is compared with the other touchpoints."""
    from cxlib.charts.journey import chart_friction

    con = make_store(tmp_path, [("u1", 0, "checkout"), ("u1", 0.5, "payment"), ("u2", 0, "checkout"),
                                ("zz", 1000, "app_login")])
    spec = chart_friction(friction(con, gap="1 hour", min_group_size=1)).to_dict()
    rows = [r for rows in spec["datasets"].values() for r in rows if "label" in r]
    assert spec["layer"][0]["mark"]["type"] == "bar"
    assert {r["label"] for r in rows} == {"checkout (web)", "payment (web)"}
    assert "more often than elsewhere" in str(spec["title"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda con: handoffs(con, contacts=["chatt"]), "did you mean 'chat'"),
        (lambda con: handoffs(con, within=None), "within is required"),
        (lambda con: handoffs(con, repeat_window="a week"), "repeat_window"),
        (lambda con: switch_outcomes(con, contacts=[]), "at least 1"),
        (lambda con: friction(con, gap="-1 days"), "gap"),
        (lambda con: channel_switches(con, within="1 fortnight"), "within"),
    ],
)
def test_bad_arguments(tmp_path, call, message):
    con = make_store(tmp_path, SERVICE)
    with pytest.raises(CxInputError, match=message):
        call(con)
