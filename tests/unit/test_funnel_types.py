"""funnel(): steps that are sets, retentioneering's open / closed / hybrid funnel types, the interval on
step-to-step conversion, and windows in months and compound units. Hand-computed cases (docs/metrics.md,
Funnel)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import funnel, funnel_dropped, parse_window
from cxlib.errors import CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
A, B, C, D, P = "ad_click", "home_page", "checkout", "chat", "product_page"
Z = 1.959963984540054


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_store(tmp_path, events):
    """A tiny store: events = [(customer, hours after T0, touchpoint)]."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany(
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)",
        [(c, at(h), t) for c, h, t in events],
    )
    refresh_derived(con)
    return con


def counts(df):
    return [int(v) for v in df["customers"]]


def wilson(x, n):
    p = x / n
    denom = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denom
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denom
    return (0.0 if x == 0 else centre - half), (1.0 if x == n else centre + half)


# Seven customers, steps A > B > C (D is noise). The last event (u7 at h 2400) puts the as-of date
# far after everything, so no window is open.
TYPES_EVENTS = [
    ("u1", 0, A), ("u1", 1, B), ("u1", 2, C),            # in order
    ("u2", 0, A), ("u2", 1, C), ("u2", 2, B),            # C before B
    ("u3", 0, B), ("u3", 1, A), ("u3", 2, C),            # B before A
    ("u4", 0, C), ("u4", 1, B),                          # no A
    ("u5", 0, A), ("u5", 1, D),                          # A only
    ("u6", 0, A), ("u6", 3, B), ("u6", 5, A),            # A, B, no C
    ("u7", 0, B), ("u7", 1, C), ("u7", 2400, D),         # no A
]


@pytest.fixture
def types_con(tmp_path):
    con = make_store(tmp_path, TYPES_EVENTS)
    yield con
    con.close()


def test_closed_funnel_counts_users_through_all_previous_steps_in_order(types_con):
    # closed: A: u1 u2 u3 u5 u6 = 5; A..B: u1 u2 u6 = 3; A..B..C: u1 = 1
    out = funnel(types_con, [A, B, C], window=None, order="closed", min_group_size=1)
    assert counts(out) == [5, 3, 1]
    assert out["conversion_from_first"].tolist() == pytest.approx([1.0, 3 / 5, 1 / 5])
    assert out["conversion_from_previous"].tolist() == pytest.approx([1.0, 3 / 5, 1 / 3])
    assert out["dropped"].tolist() == [0, 2, 2]
    # times from m(k-1) to m(k): step 2 u1 1h, u2 2h, u6 3h -> median 2h; step 3: u1 1h
    assert out["median_time_to_convert"].tolist()[1:] == [pd.Timedelta(hours=2), pd.Timedelta(hours=1)]


def test_hybrid_funnel_ignores_the_order_after_step_one(types_con):
    # hybrid: step 2 as closed (u1 u2 u6); step 3: of those, C at or after A in any order: u1 u2
    out = funnel(types_con, [A, B, C], window=None, order="hybrid", min_group_size=1)
    assert counts(out) == [5, 3, 2]
    assert out["conversion_from_previous"].tolist() == pytest.approx([1.0, 3 / 5, 2 / 3])
    assert out["dropped"].tolist() == [0, 2, 1]
    assert out["median_time_to_convert"].iloc[1:].isna().all()


def test_open_funnel_counts_each_step_among_all_customers(types_con):
    # open: A: u1 u2 u3 u5 u6 = 5; B: u1 u2 u3 u4 u6 u7 = 6; C: u1 u2 u3 u4 u7 = 5
    out = funnel(types_con, [A, B, C], window=None, order="open", min_group_size=1)
    assert counts(out) == [5, 6, 5]
    assert out["conversion_from_first"].tolist() == pytest.approx([1.0, 6 / 5, 1.0])
    assert out["conversion_from_previous"].tolist() == pytest.approx([1.0, 6 / 5, 5 / 6])
    assert out[["ci_lower", "ci_upper", "conversion_from_previous_ci_lower", "conversion_from_previous_ci_upper"]].isna().all().all()
    assert out["dropped"].isna().all()
    # the order of the steps does not matter
    rev = funnel(types_con, [C, B, A], window=None, order="open", min_group_size=1)
    assert counts(rev) == [5, 6, 5]


def test_ordered_without_window_matches_closed_on_plain_data(types_con):
    # same counts here; the two differ only on the edge rules below
    out = funnel(types_con, [A, B, C], window=None, order="ordered", min_group_size=1)
    assert counts(out) == [5, 3, 1]


def test_closed_differs_from_ordered_on_ties_and_on_a_step_one_touchpoint_reused(tmp_path):
    con = make_store(tmp_path, [
        ("t1", 0, A), ("t1", 1, B), ("t1", 1, C),   # C at the same time as B
        ("t2", 0, A), ("t2", 0, B),                 # B at the same time as A: counts in both
        ("t3", 0, A), ("t3", 1, B), ("t3", 2, A),   # for steps A > B > A
        ("zz", 2400, D),
    ])
    closed = funnel(con, [A, B, C], window=None, order="closed", min_group_size=1)
    ordered = funnel(con, [A, B, C], window=None, order="ordered", min_group_size=1)
    assert counts(closed) == [3, 3, 0]  # retentioneering: step 3 strictly after step 2
    assert counts(ordered) == [3, 3, 1]  # PostHog: the same timestamp counts as in order
    # retentioneering drops every step-1 touchpoint from the later steps
    assert counts(funnel(con, [A, B, A], window=None, order="closed", min_group_size=1)) == [3, 3, 0]
    assert counts(funnel(con, [A, B, A], window=None, order="ordered", min_group_size=1)) == [3, 3, 1]
    # hybrid: step 3 C at or after t1 (ties included): t1
    assert counts(funnel(con, [A, B, C], window=None, order="hybrid", min_group_size=1)) == [3, 3, 1]


def test_a_step_that_is_a_set_is_filled_by_any_of_its_touchpoints(tmp_path):
    con = make_store(tmp_path, [
        ("s1", 0, A), ("s1", 1, P), ("s1", 2, C),
        ("s2", 0, A), ("s2", 1, B), ("s2", 2, C),
        ("s3", 0, A), ("s3", 1, B), ("s3", 2, P), ("s3", 3, C),   # both: counted once
        ("s4", 0, A), ("s4", 1, C),
        ("s5", 0, P), ("s5", 1, C),                               # no A
        ("zz", 2400, D),
    ])
    steps = [A, {P, B}, C]
    for order in ("ordered", "closed", "hybrid"):
        out = funnel(con, steps, window=None, order=order, min_group_size=1)
        assert out["touchpoint"].tolist() == [A, "home_page or product_page", C], order
        assert counts(out) == [4, 3, 3], order
    assert counts(funnel(con, steps, window=None, order="open", min_group_size=1)) == [4, 4, 5]
    # a list inside the list is a set too, and order inside it does not matter
    same = funnel(con, [A, [P, B], C], window=None, min_group_size=1)
    assert same.equals(funnel(con, [A, (B, P), C], window=None, min_group_size=1))
    assert counts(same) == [4, 3, 3]
    # strict: each step the very next event: s3 (A B P C) reaches step 2 with B, then P breaks it
    assert counts(funnel(con, steps, window=None, order="strict", min_group_size=1)) == [4, 3, 2]
    # dropped at step 2 under closed: s4
    dropped = funnel_dropped(con, steps, step=2, window=None, order="closed")
    assert dropped["customer_id"].tolist() == ["s4"]


def test_single_touchpoint_steps_give_exactly_todays_results(types_con):
    steps = [A, B, C]
    for order in ("ordered", "strict", "any"):
        for window in ("1 day", None):
            plain = funnel(types_con, steps, window=window, order=order, min_group_size=1)
            as_sets = funnel(types_con, [{s} for s in steps], window=window, order=order, min_group_size=1)
            as_lists = funnel(types_con, [[s] for s in steps], window=window, order=order, min_group_size=1)
            pd.testing.assert_frame_equal(plain, as_sets)
            pd.testing.assert_frame_equal(plain, as_lists)


def test_interval_on_step_to_step_conversion(types_con):
    out = funnel(types_con, [A, B, C], window=None, order="closed", min_group_size=1)
    # step 2: 3 of 5; step 3: 1 of 3 (customers of customers + dropped)
    for k, (x, n) in ((1, (3, 5)), (2, (1, 3))):
        lo, hi = wilson(x, n)
        assert out["conversion_from_previous_ci_lower"].iloc[k] == pytest.approx(lo, abs=1e-12)
        assert out["conversion_from_previous_ci_upper"].iloc[k] == pytest.approx(hi, abs=1e-12)
        assert out["conversion_from_previous_ci_lower"].iloc[k] <= out["conversion_from_previous"].iloc[k] <= out["conversion_from_previous_ci_upper"].iloc[k]
    lo, hi = wilson(1, 5)
    assert (out["ci_lower"].iloc[2], out["ci_upper"].iloc[2]) == pytest.approx((lo, hi), abs=1e-12)


def test_prev_interval_is_hidden_with_a_suppressed_step(types_con):
    out = funnel(types_con, [A, B, C], window=None, order="closed", min_group_size=2)
    assert out["suppressed"].tolist() == [False, False, True]
    assert out[["conversion_from_previous_ci_lower", "conversion_from_previous_ci_upper"]].iloc[2].isna().all()


def test_window_in_months_is_31_days_and_compound_windows_add_up(tmp_path):
    con = make_store(tmp_path, [
        ("m1", 0, A), ("m1", 31 * 24, B),          # exactly 31 days: counts
        ("m2", 0, A), ("m2", 31 * 24 + 1, B),      # one hour more: not
        ("m3", 0, A), ("m3", 26, B),               # 1 day 2 hours exactly: counts
        ("m4", 0, A), ("m4", 27, B),
        ("zz", 24 * 400, D),
    ])
    assert counts(funnel(con, [A, B], window="1 month", min_group_size=1)) == [4, 3]  # m1 m3 m4
    assert counts(funnel(con, [A, B], window="1 day 2 hours", min_group_size=1)) == [4, 1]  # m3
    assert counts(funnel(con, [A, B], window="1 day, 1 hour", min_group_size=1)) == [4, 0]
    assert counts(funnel(con, [A, B], window="1 month 1 hour", min_group_size=1)) == [4, 4]
    assert parse_window("1 month") == 31 * 86400
    assert parse_window("2 months 1 week") == (62 + 7) * 86400
    assert parse_window("1 day 2 hours 30 minutes") == 86400 + 2 * 3600 + 1800


def test_bad_inputs_are_clear_errors(types_con):
    with pytest.raises(CxInputError, match="no conversion window"):
        funnel(types_con, [A, B], order="closed")  # the default window
    with pytest.raises(CxInputError, match="no exclusions"):
        funnel(types_con, [A, B], window=None, order="hybrid", exclusions=[D])
    with pytest.raises(CxInputError, match="order"):
        funnel(types_con, [A, B], window=None, order="funnel")
    with pytest.raises(CxInputError, match="did you mean|ad_clik"):
        funnel(types_con, [A, {B, "ad_clik"}], window=None)
    with pytest.raises(CxInputError, match="at least one touchpoint"):
        funnel(types_con, [A, set()], window=None)
    with pytest.raises(CxInputError, match="touchpoint name"):
        funnel(types_con, [A, {B, 3}], window=None)
    with pytest.raises(CxInputError, match="distinct"):
        funnel(types_con, [A, {B, C}, C], window=None, order="any")
    with pytest.raises(CxInputError, match="also funnel steps"):
        funnel(types_con, [A, {B, C}], window=None, exclusions=[C])
    with pytest.raises(CxInputError, match="no drops"):
        funnel_dropped(types_con, [A, B], step=2, window=None, order="open")
    with pytest.raises(CxInputError, match="not a duration"):
        funnel(types_con, [A, B], window="1 fortnight")


# --------------------------------------------------------------------------- against retentioneering's code


def _retentioneering_counts(events, stages, funnel_type):
    """A port of retentioneering 3.x ``Funnel.fit`` (tooling/funnel/funnel.py) for one segment of all
    users: the same pandas steps on a frame of (user_id, event, timestamp)."""
    data = pd.DataFrame(events, columns=["user_id", "timestamp", "event"])
    data["timestamp"] = data["timestamp"].map(at)
    flat = [e for st in stages for e in st]
    data = data[data["event"].isin(flat)]
    if funnel_type == "open":
        return [data[data["event"].isin(st)]["user_id"].nunique() for st in stages]
    mins = data[data["event"].isin(stages[0])].groupby("user_id")[["timestamp"]].min().reset_index()
    data = data.merge(mins, "left", on="user_id", suffixes=("", "_min"))
    data = data.rename(columns={data.columns[-1]: "min_date"})
    data = data[(~data["min_date"].isna()) & (data["min_date"] <= data["timestamp"])].drop(columns="min_date")
    first_users = set(data[data["event"].isin(stages[0])]["user_id"])
    df = data.drop(data[(~data["user_id"].isin(first_users)) | (data["event"].isin(stages[0]))].index.tolist())
    prev, vals = first_users, [len(first_users)]
    for st in stages[1:]:
        users = set(df[df["event"].isin(st) & df["user_id"].isin(first_users)]["user_id"])
        users = users - (users - prev)
        prev = users
        vals.append(len(users))
        if funnel_type == "closed":
            m = df[df["event"].isin(st)].groupby("user_id")[["timestamp"]].min().reset_index()
            df = df.merge(m, "left", on="user_id", suffixes=("", "_min"))
            df = df.rename(columns={df.columns[-1]: "min_date"})
            df = df.drop(df[(df["min_date"].isna()) | (df["min_date"] >= df["timestamp"])
                            | (~df["user_id"].isin(users))].index.tolist()).drop(columns="min_date")
        else:
            df = df.drop(df[~df["user_id"].isin(users)].index.tolist())
    return vals


def test_types_match_a_port_of_retentioneerings_code_on_random_journeys(tmp_path):
    rng = np.random.default_rng(7)
    touchpoints = [A, B, C, D, P]
    events = []
    for u in range(60):
        for _ in range(rng.integers(1, 8)):  # whole hours, so ties in time happen
            events.append((f"r{u:02d}", int(rng.integers(0, 12)), touchpoints[rng.integers(0, 5)]))
    events.append(("zz", 2400, D))
    con = make_store(tmp_path, events)
    cases = [[A, B, C], [A, {B, P}, C], [{A, D}, C, B, P], [A, B, A], [B, B, C]]
    for steps in cases:
        stages = [sorted(s) if isinstance(s, set) else [s] for s in steps]
        for ftype in ("open", "closed", "hybrid"):
            got = counts(funnel(con, steps, window=None, order=ftype, min_group_size=1))
            assert got == _retentioneering_counts(events, stages, ftype), (steps, ftype)
