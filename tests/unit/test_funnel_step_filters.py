"""funnel(): a step filtered by channel, PostHog's step = event + property filter (the property here
the event's channel). Hand-computed cases (docs/metrics.md, Funnel: Steps)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import funnel, funnel_dropped
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
P, C, Y, K = "product_page", "checkout", "payment", "cart"


def make_store(tmp_path, events):
    """A tiny store: events = [(customer, hours after T0, touchpoint, channel)]."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany(
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
        [(c, T0 + timedelta(hours=h), t, ch) for c, h, t, ch in events],
    )
    refresh_derived(con)
    return con


# Steps product_page > checkout (app) > payment. u7's late event puts the as-of date far after
# everything, so no window is open.
EVENTS = [
    ("u1", 0, P, "web"), ("u1", 1, C, "app"), ("u1", 2, Y, "app"),                       # all on app: 3
    ("u2", 0, P, "web"), ("u2", 1, C, "web"), ("u2", 2, Y, "web"),                       # checkout on web: 1
    ("u3", 0, P, "web"), ("u3", 1, C, "web"), ("u3", 2, C, "app"), ("u3", 3, Y, "web"),  # a later app checkout: 3
    ("u4", 0, P, "app"), ("u4", 1, C, "app"),                                            # no payment: 2
    ("u5", 0, P, "web"), ("u5", 1, Y, "app"),                                            # no checkout: 1
    ("u6", 0, C, "app"), ("u6", 1, Y, "app"),                                            # no product page
    ("u7", 0, K, "store"), ("u7", 2400, K, "store"),
]

STEPS = [P, {"touchpoint": C, "channel": "app"}, Y]


@pytest.fixture
def con(tmp_path):
    con = make_store(tmp_path, EVENTS)
    yield con
    con.close()


def counts(df):
    return [int(v) for v in df["customers"]]


def test_a_step_with_a_channel_is_filled_only_by_events_on_that_channel(con):
    out = funnel(con, STEPS, min_group_size=1)
    # step 1: u1..u5 = 5; checkout on app: u1, u3 (its second checkout), u4 = 3; payment after it: u1, u3 = 2
    assert counts(out) == [5, 3, 2]
    assert out["touchpoint"].tolist() == [P, "checkout (app)", Y]
    assert out["conversion_from_first"].tolist() == pytest.approx([1.0, 3 / 5, 2 / 5])
    assert out["dropped"].tolist() == [0, 2, 1]
    # step 2 times: u1 1h, u3 2h (the app checkout), u4 1h -> median 1h; step 3: u1 1h, u3 1h
    assert out["median_time_to_convert"].tolist()[1:] == [pd.Timedelta(hours=1), pd.Timedelta(hours=1)]


def test_the_same_funnel_without_the_filter_is_unchanged(con):
    plain = funnel(con, [P, C, Y], min_group_size=1)
    # u1 u2 u3 u4 reach checkout, u1 u2 u3 reach payment
    assert counts(plain) == [5, 4, 3]
    as_dict = funnel(con, [P, {"touchpoint": C}, Y], min_group_size=1)
    pd.testing.assert_frame_equal(as_dict, plain)
    both = funnel(con, [P, {"touchpoint": C, "channel": ["web", "app"]}, Y], min_group_size=1)
    assert both["touchpoint"].tolist() == [P, "checkout (app or web)", Y]
    pd.testing.assert_frame_equal(both.drop(columns="touchpoint"), plain.drop(columns="touchpoint"))
    as_set = funnel(con, [P, {C}, Y], min_group_size=1)
    pd.testing.assert_frame_equal(as_set, plain)


def test_strict_order_with_a_channel_step(con):
    # u3's next event after the product page is the web checkout: its attempt stops at step 1
    out = funnel(con, STEPS, order="strict", min_group_size=1)
    assert counts(out) == [5, 2, 1]


def test_a_set_of_touchpoints_on_a_channel_and_a_filtered_first_step(con):
    out = funnel(con, [{"touchpoint": P, "channel": "app"}, {"touchpoint": {C, Y}, "channel": "app"}],
                 min_group_size=1)
    # product page on app: u4 only; then checkout or payment on app: u4's checkout
    assert out["touchpoint"].tolist() == ["product_page (app)", "checkout or payment (app)"]
    assert counts(out) == [1, 1]


def test_closed_funnel_with_a_channel_step(con):
    out = funnel(con, STEPS, window=None, order="closed", min_group_size=1)
    assert counts(out) == [5, 3, 2]


def test_dropped_at_the_channel_step(con):
    out = funnel_dropped(con, STEPS, step=2)
    assert sorted(out["customer_id"]) == ["u2", "u5"]


def test_an_unknown_channel_says_did_you_mean(con):
    with pytest.raises(CxInputError, match=r"channel 'ap' not in this store's events; did you mean 'app'\?"):
        funnel(con, [P, {"touchpoint": C, "channel": "ap"}])
    with pytest.raises(CxInputError, match="touchpoint 'chekout'"):
        funnel(con, [P, {"touchpoint": "chekout", "channel": "app"}])


def test_a_dict_step_needs_a_touchpoint_and_known_keys(con):
    with pytest.raises(CxInputError, match="unknown keys"):
        funnel(con, [P, {"touchpoint": C, "device": "ios"}])
    with pytest.raises(CxInputError, match="no 'touchpoint'"):
        funnel(con, [P, {"channel": "app"}])
    with pytest.raises(CxInputError, match="at least one name"):
        funnel(con, [P, {"touchpoint": C, "channel": []}])
