"""funnel() by event channel with PostHog's breakdown attribution, count='totals', funnel_trend() and
time_to_convert(): hand-computed cases (docs/metrics.md, Funnel), and a run on the sample store."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import funnel, funnel_trend, time_to_convert
from cxlib.analysis.journey.funnel_time import _median_interval
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)  # a Monday
A, B, C, D = "ad_click", "home_page", "checkout", "chat"
Z = 1.959963984540054


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_store(tmp_path, events):
    """events = [(customer, hours after T0, touchpoint[, channel])]; channel defaults to 'web'."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany(
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
        [(e[0], at(e[1]), e[2], e[3] if len(e) > 3 else "web") for e in events],
    )
    refresh_derived(con)
    return con


def by_segment(df):
    return {seg: [int(v) for v in part["customers"]] for seg, part in df.groupby("segment")}


def wilson(x, n):
    p = x / n
    denom = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denom
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denom
    return (0.0 if x == 0 else centre - half), (1.0 if x == n else centre + half)


# Steps A > B > C, each event on a channel. u6's late event closes every window.
CHANNEL_EVENTS = [
    ("u1", 0, A, "web"), ("u1", 1, B, "app"), ("u1", 2, C, "web"),
    ("u2", 0, A, "app"), ("u2", 1, B, "web"),
    ("u3", 0, A, "web"), ("u3", 1, B, "web"), ("u3", 2, C, "web"),
    ("u4", 0, A, "email"),
    ("u5", 0, A, "web"), ("u5", 1, B, "app"), ("u5", 2, B, "web"), ("u5", 3, C, "app"),
    ("u6", 2400, D, "phone"),
]


@pytest.fixture
def channel_con(tmp_path):
    con = make_store(tmp_path, CHANNEL_EVENTS)
    yield con
    con.close()


def test_first_touch_gives_each_customer_the_channel_of_their_earliest_step_event(channel_con):
    out = funnel(channel_con, [A, B, C], window="10 hours", by="channel", attribution="first_touch",
                 min_group_size=1)
    # web: u1, u3, u5 (all convert); app: u2 (A, B); email: u4 (A)
    assert by_segment(out) == {"app": [1, 1, 0], "email": [1, 0, 0], "web": [3, 3, 3]}
    # the default attribution is first touch
    same = funnel(channel_con, [A, B, C], window="10 hours", by="channel", min_group_size=1)
    pd.testing.assert_frame_equal(out, same)


def test_last_touch_uses_the_latest_step_event(channel_con):
    out = funnel(channel_con, [A, B, C], window="10 hours", by="channel", attribution="last_touch",
                 min_group_size=1)
    # last step events: u1 C web, u2 B web, u3 C web, u4 A email, u5 C app
    assert by_segment(out) == {"app": [1, 1, 1], "email": [1, 0, 0], "web": [3, 3, 2]}


def test_all_events_runs_the_funnel_on_each_channel_s_events_alone(channel_con):
    out = funnel(channel_con, [A, B, C], window="10 hours", by="channel", attribution="all_events",
                 min_group_size=1)
    # web: u1 A..C without B -> 1, u3 -> 3, u5 A, B(web) -> 2; app: u2 A -> 1 (u1, u5 have no app A)
    assert by_segment(out) == {"app": [1, 0, 0], "email": [1, 0, 0], "web": [3, 2, 1]}


def test_step_attribution_takes_the_channel_of_the_step_event_and_may_count_a_customer_twice(channel_con):
    out = funnel(channel_con, [A, B, C], window="10 hours", by="channel", attribution="step",
                 attribution_step=2, min_group_size=1)
    # B events: u1 app, u2 web, u3 web, u5 app and web (u5 in both); u4 has no B: in no segment
    assert by_segment(out) == {"app": [2, 2, 2], "web": [3, 3, 2]}
    first = funnel(channel_con, [A, B, C], window="10 hours", by="channel", attribution="step",
                   attribution_step=1, min_group_size=1)
    assert by_segment(first) == {"app": [1, 1, 0], "email": [1, 0, 0], "web": [3, 3, 3]}


def test_dropped_customers_by_channel(channel_con):
    from cxlib.analysis.journey import funnel_dropped

    out = funnel_dropped(channel_con, [A, B, C], step=3, window="10 hours", by="channel")
    assert out[["customer_id", "segment"]].values.tolist() == [["u2", "app"]]
    out = funnel_dropped(channel_con, [A, B, C], step=3, window="10 hours", by="channel", attribution="step",
                         attribution_step=2)
    assert out[["customer_id", "segment"]].values.tolist() == [["u2", "web"]]


def test_time_to_convert_by_channel_shares_the_bin_edges(channel_con):
    hist, summary = time_to_convert(channel_con, [A, B], window="10 hours", by="channel", min_group_size=1)
    # first touch: web u1, u3, u5 (1 h each), app u2 (1 h); email u4 never converts
    assert summary.set_index("segment")["converted"].to_dict() == {"app": 1, "web": 3}
    edges = hist.groupby("segment")["bin_from"].apply(list)
    assert edges["app"] == edges["web"]
    assert summary["median"].tolist() == [pd.Timedelta(hours=1)] * 2


def test_attribution_input_errors(channel_con):
    with pytest.raises(CxInputError, match="did you mean"):
        funnel(channel_con, [A, B], by="channel", attribution="first_tuch")
    with pytest.raises(CxInputError, match="attribution_step"):
        funnel(channel_con, [A, B], by="channel", attribution="step")
    with pytest.raises(CxInputError, match="attribution_step"):
        funnel(channel_con, [A, B], by="channel", attribution="step", attribution_step=3)
    with pytest.raises(CxInputError, match="by='channel'"):
        funnel(channel_con, [A, B], attribution="last_touch")
    with pytest.raises(CxInputError, match="PostHog"):
        funnel(channel_con, [A, B], by="channel", order="closed", window=None)
    with pytest.raises(CxInputError, match="strict"):
        funnel(channel_con, [A, B], by="channel", order="strict", attribution="all_events")


# Steps A > B, window 10 hours.
TOTALS_EVENTS = [
    ("t1", 0, A), ("t1", 1, B), ("t1", 2, A), ("t1", 3, B), ("t1", 4, A),  # converts twice, then enters again
    ("t2", 0, A), ("t2", 5, A), ("t2", 12, B),  # the h5 attempt converts, but it starts inside the h0 entry's window
    ("t9", 2400, D),
]


def test_totals_count_each_entry_after_a_conversion_or_a_closed_window(tmp_path):
    con = make_store(tmp_path, TOTALS_EVENTS)
    uniq = funnel(con, [A, B], window="10 hours", min_group_size=1)
    assert [int(v) for v in uniq["customers"]] == [2, 2]
    assert "entries" not in uniq.columns
    tot = funnel(con, [A, B], window="10 hours", count="totals", min_group_size=1)
    # entries: t1 at h0 (converts h1), h2 (converts h3), h4 (window closes, no B); t2 at h0 only (reaches 1)
    assert [int(v) for v in tot["entries"]] == [4, 2]
    assert [int(v) for v in tot["customers"]] == [2, 1]
    assert tot["conversion_from_first"].tolist() == pytest.approx([1.0, 0.5])
    assert [int(v) for v in tot["dropped"]] == [0, 2]
    lo, hi = wilson(2, 4)
    assert tot["ci_lower"].iloc[1] == pytest.approx(lo) and tot["ci_upper"].iloc[1] == pytest.approx(hi)
    # without a window an entry ends only by converting: t1 h0, h2, h4 (never converts); t2 h0 (converts at h12)
    nowin = funnel(con, [A, B], window=None, count="totals", min_group_size=1)
    assert [int(v) for v in nowin["entries"]] == [4, 3]
    with pytest.raises(CxInputError, match="did you mean"):
        funnel(con, [A, B], count="total")
    con.close()


# Steps A > B, window 2 days, weeks from Monday 2024-01-01.
TREND_EVENTS = [
    ("w1", 0, A), ("w1", 10, B), ("w1", 8 * 24, A),  # week 1 converts; enters again in week 2, no B
    ("w2", 2 * 24, A), ("w2", 3 * 24, B),  # week 1 converts
    ("w3", 6 * 24, A), ("w3", 7.5 * 24, B),  # enters Sunday (week 1), converts Monday: counts for week 1
    ("w4", 9 * 24, A), ("w4", 9.5 * 24, B),  # week 2 converts
    ("w9", 100 * 24, D),
]


def test_funnel_trend_groups_by_the_week_of_step_one(tmp_path):
    con = make_store(tmp_path, TREND_EVENTS)
    out = funnel_trend(con, [A, B], period="week", window="2 days", min_group_size=1)
    assert out["period"].tolist() == [date(2024, 1, 1), date(2024, 1, 8)]
    assert [int(v) for v in out["entered"]] == [3, 2]
    assert [int(v) for v in out["converted"]] == [3, 1]
    assert out["conversion"].tolist() == pytest.approx([1.0, 0.5])
    lo, hi = wilson(1, 2)
    assert out["ci_lower"].iloc[1] == pytest.approx(lo) and out["ci_upper"].iloc[1] == pytest.approx(hi)
    # median time to convert in week 1: 10 h, 24 h, 36 h -> 24 h
    assert out["median_time_to_convert"].iloc[0] == pd.Timedelta(hours=24)
    month = funnel_trend(con, [A, B], period="month", window="2 days", min_group_size=1)
    assert [int(v) for v in month["entered"]] == [4] and [int(v) for v in month["converted"]] == [4]
    # suppression: week 2 has 2 customers
    hid = funnel_trend(con, [A, B], period="week", window="2 days", min_group_size=3)
    assert hid["suppressed"].tolist() == [False, True] and pd.isna(hid["conversion"].iloc[1])
    with pytest.raises(CxInputError, match="did you mean"):
        funnel_trend(con, [A, B], period="weak")
    with pytest.raises(CxDataError):
        funnel_trend(con, [A, B], start="2025-01-01", end="2025-02-01")
    con.close()


def test_time_to_convert_bins_follow_posthog(tmp_path):
    secs = [600, 1200, 1800, 3600, 7200]
    events = [(f"c{i}", 0, A) for i in range(5)] + [(f"c{i}", s / 3600, B) for i, s in enumerate(secs)]
    con = make_store(tmp_path, events + [("z", 2400, D)])
    hist, summary = time_to_convert(con, [A, B], window=None, min_group_size=1)
    # n = 5 -> ceil(cbrt 5) = 2 bins; from 600, to 7200, width ceil(6600 / 2) = 3300 -> bins 600, 3900, 7200
    assert hist["bin_from"].tolist() == [pd.Timedelta(seconds=s) for s in (600, 3900, 7200)]
    assert hist["bin_to"].iloc[0] == pd.Timedelta(seconds=3900)
    assert [int(v) for v in hist["customers"]] == [4, 0, 1]
    hist3, _ = time_to_convert(con, [A, B], window=None, bins=3, min_group_size=1)
    # width ceil(6600 / 3) = 2200: 600, 1200, 1800 -> 600; 3600 -> 2800; 7200 -> 7200
    assert [int(v) for v in hist3["customers"]] == [3, 1, 0, 1]
    assert summary["converted"].tolist() == [5]
    assert summary["median"].iloc[0] == pd.Timedelta(seconds=1800)
    assert pd.isna(summary["ci_lower"].iloc[0])  # n = 5 is too small for a 95% interval
    assert summary["mean"].iloc[0] == pd.Timedelta(seconds=np.mean(secs))
    with pytest.raises(CxInputError):
        time_to_convert(con, [A, B], from_step=2, to_step=2)
    with pytest.raises(CxDataError):
        time_to_convert(con, [A, B], start="2025-01-01", end="2025-02-01")
    con.close()


def test_median_interval_uses_binomial_order_statistics():
    vals = np.arange(1.0, 11.0)  # n = 10: r = 2 (P(B <= 1) = 11/1024 <= 2.5% < P(B <= 2))
    med, lo, hi = _median_interval(vals)
    assert (med, lo, hi) == (5.5, 2.0, 9.0)


def test_sample_store_options_are_consistent(sample_con):
    steps = ["product_page", "add_to_cart", "checkout"]
    base = funnel(sample_con, steps, window="7 days", min_group_size=1)
    first = funnel(sample_con, steps, window="7 days", by="channel", min_group_size=1)
    # first touch gives each customer one channel: the segments add up to the funnel
    assert first.groupby("step")["customers"].sum().tolist() == base["customers"].tolist()
    alle = funnel(sample_con, steps, window="7 days", by="channel", attribution="all_events", min_group_size=1)
    assert (alle.groupby("step")["customers"].sum().iloc[-1]) <= base["customers"].iloc[-1] * 3
    tot = funnel(sample_con, steps, window="7 days", count="totals", min_group_size=1)
    assert (tot["entries"] >= tot["customers"]).all()
    assert tot["customers"].iloc[0] == base["customers"].iloc[0]
    trend = funnel_trend(sample_con, steps, period="month", window="7 days")
    shown = trend[~trend["suppressed"]]
    assert ((shown["ci_lower"] <= shown["conversion"]) & (shown["conversion"] <= shown["ci_upper"])).all()
    hist, summary = time_to_convert(sample_con, steps, window="7 days")
    assert int(hist["customers"].sum()) == int(summary["converted"].iloc[0]) == int(base["customers"].iloc[-1])
    assert summary["ci_lower"].iloc[0] <= summary["median"].iloc[0] <= summary["ci_upper"].iloc[0]
