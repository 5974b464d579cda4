"""start_end(): where customers' journeys start and end (pm4py's start and end activities: the number of
cases, here customers, whose first / last event is each touchpoint). Hand-computed cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import start_end
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
A, B, C, D = "ad_click", "home_page", "checkout", "chat"
STAGES = {A: "awareness", B: "consideration", C: "purchase"}  # chat left unmapped
Z = 1.959963984540054

EVENTS = [
    ("c1", 0, A), ("c1", 1, B), ("c1", 2, C),   # A .. C
    ("c2", 0, A),                               # one event: starts and ends at A
    ("c3", 0, B), ("c3", 1, A),                 # B .. A
    ("c4", 0, C), ("c4", 1, C), ("c4", 2, D),   # C .. D
    ("c5", 0, B), ("c5", 0, A),                 # same time: ordered by touchpoint, ad_click first
    ("c6", 5, D), ("c6", 10, B),                # D .. B
    ("c7", 0, B), ("c7", 50, C),                # B .. C (B .. B up to 2024-01-02)
]


def make_store(tmp_path, events):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(STAGES.items()))
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    con.executemany(
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)",
        [(c, T0 + timedelta(hours=h), t) for c, h, t in events],
    )
    refresh_derived(con)
    return con


@pytest.fixture
def con(tmp_path):
    con = make_store(tmp_path, EVENTS)
    yield con
    con.close()


def as_dict(out, position):
    rows = out[out["position"] == position]
    return {n: int(c) for n, c in zip(rows["node"], rows["customers"])}


def wilson(x, n):
    p = x / n
    denom = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denom
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def test_counts_customers_by_their_first_and_last_event(con):
    out = start_end(con, min_group_size=1)
    assert list(out.columns) == ["position", "node", "customers", "share", "ci_lower", "ci_upper", "suppressed"]
    assert as_dict(out, "start") == {A: 3, B: 2, C: 1, D: 1}
    assert as_dict(out, "end") == {A: 2, B: 2, C: 2, D: 1}
    # starts first, most customers first, ties by name
    assert out["position"].tolist() == ["start"] * 4 + ["end"] * 4
    assert out["node"].tolist()[:4] == [A, B, D, C]  # chat < checkout
    for position in ("start", "end"):
        assert out.loc[out["position"] == position, "share"].sum() == pytest.approx(1.0)
    row = out[(out["position"] == "start") & (out["node"] == A)].iloc[0]
    assert row["share"] == pytest.approx(3 / 7)
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx(wilson(3, 7), abs=1e-12)


def test_the_date_range_cuts_the_journeys(con):
    out = start_end(con, end="2024-01-02", min_group_size=1)  # c7's checkout (hour 50) is out
    assert as_dict(out, "start") == {A: 3, B: 2, C: 1, D: 1}
    assert as_dict(out, "end") == {A: 2, B: 3, C: 1, D: 1}
    out = start_end(con, start="2024-01-03", min_group_size=1)  # only c7's checkout
    assert as_dict(out, "start") == {C: 1} and as_dict(out, "end") == {C: 1}


def test_stage_level(con):
    out = start_end(con, level="stage", min_group_size=1)
    assert as_dict(out, "start") == {"awareness": 3, "consideration": 2, "purchase": 1, "unmapped": 1}
    assert as_dict(out, "end") == {"awareness": 2, "consideration": 2, "purchase": 2, "unmapped": 1}


def test_small_groups_are_suppressed_with_a_complement(con):
    out = start_end(con, min_group_size=2)
    start = out[out["position"] == "start"]
    assert start.loc[start["node"].isin([C, D]), "suppressed"].all()
    assert not start.loc[start["node"].isin([A, B]), "suppressed"].any()
    end = out[out["position"] == "end"]
    assert end.loc[end["node"] == D, "suppressed"].all()
    assert end["suppressed"].sum() >= 2  # one hidden count would follow from the total
    assert out.loc[out["suppressed"], ["customers", "share", "ci_lower", "ci_upper"]].isna().all().all()


def test_no_events_is_a_data_error(tmp_path, con):
    with pytest.raises(CxDataError, match="no events between"):
        start_end(con, start="2030-01-01")
    empty = cxlib.connect(tmp_path / "empty.duckdb", read_only=False)
    with pytest.raises(CxDataError, match="no events"):
        start_end(empty)


def test_bad_inputs(con):
    with pytest.raises(CxInputError, match="level"):
        start_end(con, level="channel")
    with pytest.raises(CxInputError):
        start_end(con, start="yesterday")


def test_matches_pm4pys_counting_on_random_journeys(tmp_path):
    # pm4py: sort the log by case and time, take each case's first (last) event, value_counts of the
    # activity. Ties in time sorted by touchpoint here, as events_ordered does.
    rng = np.random.default_rng(11)
    tps = [A, B, C, D]
    events = [(f"r{u:02d}", int(rng.integers(0, 6)), tps[rng.integers(0, 4)])
              for u in range(40) for _ in range(rng.integers(1, 6))]
    con = make_store(tmp_path, events)
    log = pd.DataFrame(events, columns=["case", "ts", "activity"]).sort_values(["case", "ts", "activity"])
    grouped = log.groupby("case")
    out = start_end(con, min_group_size=1)
    assert as_dict(out, "start") == {k: int(v) for k, v in grouped.first()["activity"].value_counts().items()}
    assert as_dict(out, "end") == {k: int(v) for k, v in grouped.last()["activity"].value_counts().items()}
