"""funnel(): rows in, rows out, one named case per business rule (PostHog semantics, docs/metrics.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import funnel, funnel_dropped, parse_window
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

STAGES = {
    "ad_click": "awareness", "home_page": "consideration", "product_page": "consideration",
    "add_to_cart": "purchase", "checkout": "purchase", "payment": "purchase",
    "chat": "service", "phone_call": "service", "app_login": "loyalty",
}
T0 = datetime(2024, 1, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_store(tmp_path, events, customers=None, surveys=()):
    """A tiny store: events = [(customer, hours after T0, touchpoint[, channel])]."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(STAGES.items()))
    ids = sorted({e[0] for e in events} | {c[0] for c in (customers or [])})
    if customers is None:
        con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    else:
        con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
        con.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(c, T0, r) for c, r in customers])
    con.executemany(
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
        [(e[0], at(e[1]), e[2], e[3] if len(e) > 3 else "web") for e in events],
    )
    for i, (cust, hours, score) in enumerate(surveys):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, 'nps', ?, NULL, NULL, NULL)",
                    [f"r{i}", cust, at(hours), score])
    refresh_derived(con)
    return con


def counts(df):
    """Customers per row (a suppressed row as 0; with min_group_size=1 nothing is suppressed: 0 is shown)."""
    return [0 if pd.isna(v) else int(v) for v in df["customers"]]


# --------------------------------------------------------------------------- business rules


def test_reentry_a_later_attempt_counts_and_gives_the_times(tmp_path):
    # u1: first attempt (h0) misses the 48h window; the second (h96) converts, b at +24h, c at +48h.
    con = make_store(tmp_path, [
        ("u1", 0, "ad_click"), ("u1", 96, "ad_click"), ("u1", 120, "home_page"), ("u1", 144, "checkout"),
        ("u2", 0, "ad_click"),
    ])
    out = funnel(con, ["ad_click", "home_page", "checkout"], window="48 hours", min_group_size=1)
    assert counts(out) == [2, 1, 1]
    assert out["median_time_to_convert"].tolist()[1:] == [pd.Timedelta(hours=24), pd.Timedelta(hours=24)]
    assert out["conversion_from_previous"].tolist() == [1.0, 0.5, 1.0]
    assert out["conversion_from_first"].tolist() == [1.0, 0.5, 0.5]
    assert out["dropped"].tolist() == [0, 1, 0]


def test_ties_in_furthest_step_take_the_earliest_attempt(tmp_path):
    # Both attempts reach step 2; the earliest (b after 10h) gives the time, not the later (1h).
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 10, "home_page"),
                                ("u1", 20, "ad_click"), ("u1", 21, "home_page")])
    out = funnel(con, ["ad_click", "home_page"], window="1 day", min_group_size=1)
    assert out["median_time_to_convert"].iloc[1] == pd.Timedelta(hours=10)


def test_events_with_the_same_timestamp_count_as_in_order(tmp_path):
    # 'payment' sorts before 'product_page' in events_ordered at the same time; PostHog counts it.
    con = make_store(tmp_path, [("u1", 5, "product_page"), ("u1", 5, "payment")])
    out = funnel(con, ["product_page", "payment"], min_group_size=1)
    assert counts(out) == [1, 1]
    assert out["median_time_to_convert"].iloc[1] == pd.Timedelta(0)


def test_one_event_never_fills_two_steps(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "home_page"), ("u2", 0, "home_page"), ("u2", 0, "home_page", "app")])
    out = funnel(con, ["home_page", "home_page"], min_group_size=1)
    assert counts(out) == [2, 1]  # u1's single visit is step 1 only; u2 has a second event at the same time


def test_window_edge_exactly_at_the_limit_counts(tmp_path):
    con = make_store(tmp_path, [
        ("u1", 0, "ad_click"), ("u1", 24, "home_page"),  # exactly 1 day later: counts
        ("u2", 0, "ad_click"), ("u2", 24 + 1 / 3600, "home_page"),  # one second over: does not
    ])
    out = funnel(con, ["ad_click", "home_page"], window="1 day", min_group_size=1)
    assert counts(out) == [2, 1]
    dropped = funnel_dropped(con, ["ad_click", "home_page"], step=2, window="1 day")
    assert dropped["customer_id"].tolist() == ["u2"]


def test_window_is_measured_from_step_one_not_from_the_previous_step(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 20, "home_page"), ("u1", 40, "checkout")])
    out = funnel(con, ["ad_click", "home_page", "checkout"], window="1 day", min_group_size=1)
    assert counts(out) == [1, 1, 0]


def test_strict_order_is_broken_by_any_other_event(tmp_path):
    events = [("u1", 0, "ad_click"), ("u1", 1, "app_login"), ("u1", 2, "home_page"),
              ("u2", 0, "ad_click"), ("u2", 2, "home_page")]
    con = make_store(tmp_path, events)
    assert counts(funnel(con, ["ad_click", "home_page"], order="strict", min_group_size=1)) == [2, 1]
    assert counts(funnel(con, ["ad_click", "home_page"], order="ordered", min_group_size=1)) == [2, 2]


def test_strict_order_reentry_finds_the_clean_attempt(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 1, "app_login"), ("u1", 2, "ad_click"),
                                ("u1", 3, "home_page")])
    assert counts(funnel(con, ["ad_click", "home_page"], order="strict", min_group_size=1)) == [1, 1]


def test_any_order(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "home_page"), ("u1", 1, "ad_click"),  # reversed: counts
                                ("u2", 0, "home_page"), ("u2", 30, "ad_click")])  # outside the window
    out = funnel(con, ["ad_click", "home_page"], order="any", window="1 day", min_group_size=1)
    assert counts(out) == [2, 1]
    assert out["median_time_to_convert"].iloc[1] == pd.Timedelta(hours=1)
    assert counts(funnel(con, ["ad_click", "home_page"], order="ordered", window="1 day", min_group_size=1)) == [2, 0]


def test_exclusion_between_steps_discards_the_attempt(tmp_path):
    con = make_store(tmp_path, [
        ("u1", 0, "ad_click"), ("u1", 1, "chat"), ("u1", 2, "home_page"),  # excluded attempt, only attempt
        ("u2", 0, "ad_click"), ("u2", 1, "chat"), ("u2", 2, "home_page"),  # excluded ...
        ("u2", 10, "ad_click"), ("u2", 11, "home_page"),  # ... but a clean later attempt
        ("u3", 0, "ad_click"), ("u3", 2, "home_page"), ("u3", 3, "chat"),  # chat after the last step: fine
    ])
    out = funnel(con, ["ad_click", "home_page"], exclusions=["chat"], min_group_size=1)
    assert counts(out) == [2, 2]
    assert counts(funnel(con, ["ad_click", "home_page"], min_group_size=1)) == [3, 3]


def test_open_windows_are_reported_apart_not_as_dropped(tmp_path):
    # The data end at h100 (u9's event). u1 started at h90 with a 1-day window: still open.
    con = make_store(tmp_path, [
        ("u1", 90, "ad_click"),
        ("u2", 0, "ad_click"), ("u2", 5, "home_page"),
        ("u3", 0, "ad_click"),
        ("u9", 100, "app_login"),
    ])
    out = funnel(con, ["ad_click", "home_page"], window="1 day", min_group_size=1)
    assert counts(out) == [3, 1]
    assert out["open_window"].tolist() == [0, 1]
    assert out["dropped"].tolist() == [0, 1]
    assert out["conversion_from_previous"].iloc[1] == 0.5  # 1 / (1 converted + 1 dropped)
    assert out["conversion_from_first"].iloc[1] == 0.5  # 1 / (3 - 1 open)
    assert funnel_dropped(con, ["ad_click", "home_page"], step=2, window="1 day")["customer_id"].tolist() == ["u3"]
    # A window ending exactly at the end of the data is closed.
    out = funnel(con, ["ad_click", "home_page"], window="10 hours", min_group_size=1)
    assert out["open_window"].tolist() == [0, 0]
    # `end` moves the end of the data to the end of 2024-01-04 (h96): u1's window (h90 + 24h) is open.
    out = funnel(con, ["ad_click", "home_page"], window="1 day", end="2024-01-04", min_group_size=1)
    assert out["open_window"].tolist() == [0, 1]  # h90 + 24h > end of 2024-01-04 (h96)


def test_no_window_equals_first_occurrence_then_next(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 500, "ad_click"), ("u1", 1000, "home_page"),
                                ("u2", 0, "home_page"), ("u2", 1, "ad_click")])
    out = funnel(con, ["ad_click", "home_page"], window=None, min_group_size=1)
    assert counts(out) == [2, 1]
    assert out["median_time_to_convert"].iloc[1] == pd.Timedelta(hours=1000)
    assert out["open_window"].tolist() == [0, 0]


def test_start_and_end_filter_the_events(tmp_path):
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 30, "home_page"), ("u2", 26, "ad_click")])
    out = funnel(con, ["ad_click", "home_page"], window=None, start="2024-01-02", min_group_size=1)
    assert counts(out) == [1, 0]  # u1's step 1 is before the start
    out = funnel(con, ["ad_click", "home_page"], window=None, end="2024-01-01", min_group_size=1)
    assert counts(out) == [1, 0]  # u1's step 2 is after the end day


def test_breakdown_with_suppression_of_small_groups(tmp_path):
    sizes = {"north": 6, "east": 8, "west": 9, "south": 2}
    customers = [(f"{r}{i}", r) for r, n in sizes.items() for i in range(n)]
    converted = {"north": 4, "east": 8, "west": 5, "south": 0}
    events = [(c, 0, "ad_click") for c, _ in customers]
    events += [(f"{r}{i}", 1, "home_page") for r, n in converted.items() for i in range(n)]
    events += [("zz", 1000, "app_login")]  # the data go on long after every window closed
    con = make_store(tmp_path, events, customers=customers + [("zz", "north")])
    out = funnel(con, ["ad_click", "home_page"], by="region", min_group_size=5)
    hidden = {(r.segment, r.step) for r in out.itertuples() if r.suppressed}
    # step 1: south (2) is small, north (6, the next smallest) hidden too so south cannot be
    # recovered from a total; step 2: north (4) is small, and south's and north's later steps are
    # hidden with their first (south's 0 would show 2 dropped, giving step 1 away); north's 4 alone
    # is below 5 and would be step 2's total minus east and west, so west (5) is hidden too.
    assert hidden == {("south", 1), ("north", 1), ("south", 2), ("north", 2), ("west", 2)}
    assert len(out) == 8  # suppressed rows stay
    shown = out[~out["suppressed"]].set_index(["segment", "step"])
    assert shown.loc[("east", 2), "customers"] == 8 and shown.loc[("east", 2), "conversion_from_first"] == 1.0
    assert shown.loc[("west", 1), "customers"] == 9
    assert out[out["suppressed"]][["customers", "conversion_from_first"]].isna().all().all()


def test_breakdown_by_nps_group_uses_the_answer_nearest_the_journey(tmp_path):
    """The group at step 1: the last answer before it, else the first after (p answered 3, then 10, both after
    step 1: a detractor when the journey happened; the latest answer ever would call p a promoter)."""
    events = [("p", 0, "ad_click"), ("p", 1, "home_page"), ("d", 0, "ad_click"), ("x", 0, "ad_click"),
              ("zz", 1000, "app_login")]
    con = make_store(tmp_path, events, surveys=[("p", 2, 3), ("p", 3, 10), ("d", 2, 6)])
    out = funnel(con, ["ad_click", "home_page"], by="nps_group", min_group_size=1)
    got = {(r.segment, r.step): 0 if pd.isna(r.customers) else r.customers for r in out.itertuples()}
    assert got == {("detractor", 1): 2, ("detractor", 2): 1, ("no_response", 1): 1, ("no_response", 2): 0}


def test_wilson_interval_matches_statsmodels(tmp_path):
    from statsmodels.stats.proportion import proportion_confint

    events = [(f"u{i}", 0, "ad_click") for i in range(7)] + [(f"u{i}", 1, "home_page") for i in range(3)]
    con = make_store(tmp_path, events + [("zz", 1000, "app_login")])
    out = funnel(con, ["ad_click", "home_page"], min_group_size=1)
    lo, hi = proportion_confint(3, 7, alpha=0.05, method="wilson")
    assert out["ci_lower"].iloc[1] == pytest.approx(lo, abs=1e-9)
    assert out["ci_upper"].iloc[1] == pytest.approx(hi, abs=1e-9)
    assert out["ci_upper"].iloc[0] == pytest.approx(1.0)


def test_empty_funnel_has_a_row_per_step(tmp_path):
    # the steps occur in the store, but not in the date range (steps the events never hold are an error)
    con = make_store(tmp_path, [("u1", 0, "app_login"), ("u2", 0, "ad_click"), ("u2", 1, "home_page")])
    out = funnel(con, ["ad_click", "home_page"], end="2023-12-31", min_group_size=1)
    assert out["step"].tolist() == [1, 2] and counts(out) == [0, 0]
    assert out["conversion_from_first"].isna().all()


def test_result_does_not_depend_on_insert_order(tmp_path):
    events = [("u1", 0, "ad_click"), ("u1", 3, "home_page"), ("u1", 4, "checkout"), ("u2", 1, "ad_click"),
              ("u2", 2, "checkout"), ("u2", 5, "home_page"), ("u3", 0, "home_page")]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    steps = ["ad_click", "home_page", "checkout"]
    a = funnel(make_store(tmp_path / "a", events), steps, window=None, min_group_size=1)
    b = funnel(make_store(tmp_path / "b", events[::-1]), steps, window=None, min_group_size=1)
    pd.testing.assert_frame_equal(a, b)
    assert counts(a) == [2, 2, 1]


# --------------------------------------------------------------------------- validation


@pytest.fixture()
def small(tmp_path):
    return make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 1, "home_page")])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": ["ad_click", "hom_page"]}, "did you mean 'home_page'"),
        ({"steps": ["ad_click"]}, "at least 2"),
        ({"steps": "ad_click"}, "list of touchpoints"),
        ({"window": "7 dayz"}, "'7 days', '48 hours'"),
        ({"window": "0 days"}, "longer than zero"),
        ({"window": 7}, "timedelta"),
        ({"order": "strcit"}, "did you mean 'strict'"),
        ({"by": "regon"}, "not in customers"),
        ({"exclusions": ["home_page"]}, "also funnel steps"),
        ({"start": "2024-13-01"}, "date like"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "before start"),
        ({"min_group_size": 0}, "min_group_size"),
    ],
)
def test_bad_arguments_get_actionable_errors(small, kwargs, message):
    kwargs = {"steps": ["ad_click", "home_page"], **kwargs}
    with pytest.raises(CxInputError, match=message.replace("(", r"\(")):
        funnel(small, kwargs.pop("steps"), **kwargs)


def test_known_touchpoints_come_from_the_events_never_from_the_stage_map(tmp_path):
    # 'payment' is in the stage map (a new store starts with the sample's map) but no event has it:
    # a funnel through it must not "exist" with zero customers on a store that has never seen it.
    con = make_store(tmp_path, [("u1", 0, "ad_click"), ("u1", 1, "web_promo"), ("u2", 0, "ad_click")])
    assert "payment" in STAGES and "web_promo" not in STAGES
    with pytest.raises(CxInputError, match="touchpoint 'payment' not in this store's events"):
        funnel(con, ["ad_click", "payment"])
    with pytest.raises(CxInputError, match="Available: ad_click, web_promo$"):
        funnel(con, ["ad_click", "payment"])
    # a touchpoint the events hold counts, with or without a stage
    assert counts(funnel(con, ["ad_click", "web_promo"], min_group_size=1)) == [2, 1]


def test_a_filter_that_leaves_a_step_out_does_not_make_it_unknown(tmp_path):
    from cxlib.explore import Filters, filtered

    con = make_store(tmp_path, [("u1", 0, "ad_click", "app"), ("u1", 1, "home_page", "web")])
    with filtered(con, Filters(channel="app")) as store:
        assert counts(funnel(store.con, ["ad_click", "home_page"], min_group_size=1)) == [1, 0]


def test_funnel_dropped_checks_the_step(small):
    with pytest.raises(CxInputError, match="between 2 and 2"):
        funnel_dropped(small, ["ad_click", "home_page"], step=1)


def test_parse_window():
    assert parse_window("7 days") == 7 * 86400
    assert parse_window("48 hours") == 48 * 3600
    assert parse_window("1 week") == 7 * 86400
    assert parse_window(timedelta(minutes=90)) == 5400
    assert parse_window(None) is None
    with pytest.raises(CxInputError):
        parse_window(None, allow_none=False)
