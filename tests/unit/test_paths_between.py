"""paths_between(): the paths from a start touchpoint to an end touchpoint, PostHog's paths with a start
and an end point. Hand-computed cases (docs/metrics.md, Paths: "Paths between two touchpoints")."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

import cxlib
from cxlib.analysis.journey import paths_between
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
P, K, C, Y, H, M = "product_page", "cart", "checkout", "payment", "chat", "home_page"

# (customer, region, touchpoints one hour apart)
JOURNEYS = [
    ("u1", "north", [P, K, C, Y]),              # [cart, checkout]
    ("u2", "north", [P, K, C, Y]),              # [cart, checkout]
    ("u3", "south", [M, P, Y]),                 # [] : payment right after
    ("u4", "south", [P, P, K, K, C, Y]),        # repeats collapsed: [cart, checkout]
    ("u5", "north", [P, K, H, C, H, K, Y]),     # [cart, chat, checkout, chat, cart]
    ("u6", "south", [P, K]),                    # no payment: not reached
    ("u7", "north", [Y, P, C]),                 # payment only before the start: not reached
    ("u8", "north", [Y]),                       # no start
    ("u9", "south", [P, C, Y, P, K, Y]),        # first start, first end after it: [checkout]
]


def make_store(tmp_path, journeys=JOURNEYS, answers=()):
    """answers = [(customer, hours after T0, NPS score)] (relationship answers)."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(c, T0, r) for c, r, _ in journeys] + [("z", T0, None)])
    rows = [(c, T0 + timedelta(hours=h), t) for c, _, tps in journeys for h, t in enumerate(tps)]
    rows.append(("z", T0 + timedelta(hours=2400), H))  # puts the as-of date far after everything
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)",
                    rows)
    for i, (cust, hours, score) in enumerate(answers):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, "
                    "comment) VALUES (?, ?, ?, 'nps', ?, NULL, NULL, NULL)",
                    [f"r{i}", cust, T0 + timedelta(hours=hours), score])
    refresh_derived(con)
    return con


@pytest.fixture
def con(tmp_path):
    con = make_store(tmp_path)
    yield con
    con.close()


def rows(df):
    return [(bool(r), None if p is None else list(p), int(n)) for r, p, n in zip(df["reached"], df["path"], df["customers"])]


def test_paths_from_the_first_start_to_the_first_end_after_it(con):
    out = paths_between(con, P, Y, min_group_size=1)
    assert list(out.columns) == ["reached", "path", "customers", "share", "share_of_reached", "suppressed"]
    # started: u1 u2 u3 u4 u5 u6 u7 u9 = 8; reached: u1 u2 u3 u4 u5 u9 = 6
    assert rows(out) == [
        (True, [K, C], 3),
        (True, [], 1),                 # ties in customers by the path: [] < [cart, ...] < [checkout]
        (True, [K, H, C, H, K], 1),
        (True, [C], 1),
        (False, None, 2),
    ]
    assert out["share"].tolist() == pytest.approx([3 / 8, 1 / 8, 1 / 8, 1 / 8, 2 / 8])
    assert out["share_of_reached"].tolist()[:4] == pytest.approx([3 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert math.isnan(out["share_of_reached"].iloc[4])
    # share who reached the end from the start = 1 - the not-reached share = 6 / 8
    assert 1 - out["share"].iloc[4] == pytest.approx(6 / 8)


def test_long_paths_keep_their_ends_around_an_ellipsis(con):
    out = paths_between(con, P, Y, steps=3, min_group_size=1)
    # u5's five steps: first (3 + 1) // 2 = 2, '...', last 3 // 2 = 1
    assert [K, H, "...", K] in list(out["path"])
    out = paths_between(con, P, Y, steps=1, min_group_size=1)
    # steps=1: [cart, checkout] -> [cart, '...'] (u1 u2 u4 u5), [checkout] stays
    assert rows(out) == [(True, [K, "..."], 4), (True, [], 1), (True, [C], 1), (False, None, 2)]


def test_top_keeps_the_most_common_paths_and_the_not_reached_row(con):
    out = paths_between(con, P, Y, top=1, min_group_size=1)
    assert rows(out) == [(True, [K, C], 3), (False, None, 2)]
    assert out["share"].tolist() == pytest.approx([3 / 8, 2 / 8])


def test_small_paths_are_suppressed(con):
    out = paths_between(con, P, Y, min_group_size=2)
    shown = out[~out["suppressed"]]
    assert rows(shown) == [(True, [K, C], 3), (False, None, 2)]
    hidden = out[out["suppressed"]]
    assert len(hidden) == 3 and hidden["customers"].isna().all() and hidden["share"].isna().all()
    # hidden rows last, ordered by the path alone
    assert list(hidden["path"]) == [[], [K, H, C, H, K], [C]]


def test_by_region(con):
    out = paths_between(con, P, Y, by="region", min_group_size=1)
    north = out[out["segment"] == "north"]
    south = out[out["segment"] == "south"]
    # north: u1 u2 u5 u7 started; u7 not reached
    assert rows(north) == [(True, [K, C], 2), (True, [K, H, C, H, K], 1), (False, None, 1)]
    assert north["share"].tolist() == pytest.approx([2 / 4, 1 / 4, 1 / 4])
    # south: u3 u4 u6 u9 started; u6 not reached
    assert rows(south) == [(True, [], 1), (True, [K, C], 1), (True, [C], 1), (False, None, 1)]
    assert south["share_of_reached"].tolist()[:3] == pytest.approx([1 / 3] * 3)


def test_everybody_reached_gives_a_zero_row(tmp_path):
    con = make_store(tmp_path, journeys=[("a", "x", [P, Y]), ("b", "x", [P, K, Y])])
    out = paths_between(con, P, Y, min_group_size=1)
    assert rows(out) == [(True, [], 1), (True, [K], 1), (False, None, 0)]
    con.close()


def test_by_nps_group_uses_the_answer_at_the_start_of_the_journey(tmp_path):
    # u1 answered 3 before its journey and 10 after it: a detractor on this journey
    con = make_store(tmp_path, answers=[("u1", -1, 3), ("u1", 100, 10), ("u2", -1, 10)])
    out = paths_between(con, P, Y, by="nps_group", min_group_size=1)
    assert rows(out[out["segment"] == "detractor"]) == [(True, [K, C], 1), (False, None, 0)]
    assert rows(out[out["segment"] == "promoter"]) == [(True, [K, C], 1), (False, None, 0)]
    assert int(out.loc[out["segment"] == "no_response", "customers"].sum()) == 6
    con.close()


def test_the_date_range_limits_the_events(con):
    # from hour 2 on: u4 (P at h0, h1) and u1 u2 u5 u6 u9 (P at h0) start later or not at all
    out = paths_between(con, P, Y, start=T0 + timedelta(hours=2), min_group_size=1)
    # u7: P at h1 -> out; u9: second P at h3, then K, Y -> [cart]; u4: P's at h0, h1 -> out
    assert rows(out) == [(True, [K], 1)] + [(False, None, 0)]


def test_errors(con):
    with pytest.raises(CxInputError, match="two different touchpoints"):
        paths_between(con, P, P)
    with pytest.raises(CxInputError, match="did you mean 'payment'"):
        paths_between(con, P, "paymnt")
    with pytest.raises(CxInputError, match="steps must be a whole number"):
        paths_between(con, P, Y, steps=0)
    with pytest.raises(CxDataError, match="no customer has 'product_page'"):
        paths_between(con, P, Y, start="2030-01-01")
