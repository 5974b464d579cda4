"""The suppression engine attacked: each leak of issue 14 as a case that failed before, and a
property test that tries to recover a hidden group from everything a table publishes.

The attacker's tool is linear programming (scipy's linprog): the hidden cells are unknowns >= 0,
every visible cell and published total is an equation; a hidden quantity is recovered when its
minimum and maximum over the feasible tables are equal. Written apart from the engine (which
uses linear algebra on the same equations), so the two check each other.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import cxlib
from cxlib.analysis import voc
from cxlib.analysis.journey import funnel, paths, step_matrix, transitions, variants
from cxlib.errors import CxInputError
from cxlib.privacy import suppress
from cxlib.privacy.suppression import order_published
from cxlib.store import refresh_derived

# --------------------------------------------------------------------------- the attacker


def _range(a_eq: np.ndarray, b_eq: np.ndarray, objective: np.ndarray) -> tuple[float, float]:
    """Min and max of objective . y over y >= 0 with a_eq y = b_eq."""
    lo = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    hi = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert lo.status == 0 and hi.status == 0, "the true table must be feasible"
    return lo.fun, -hi.fun


def published_system(counts: np.ndarray, shown: np.ndarray, sets: list[np.ndarray], unknown: np.ndarray):
    """Equations a table publishes about its `unknown` cells: for every published total (a set
    of cells), the unknown cells of the set add up to the total minus its known cells."""
    col = {c: j for j, c in enumerate(unknown)}
    a, b = [], []
    for s in sets:
        row = np.zeros(len(unknown))
        for c in s:
            if c in col:
                row[col[c]] = 1
        a.append(row)
        b.append(counts[s].sum() - counts[[c for c in s if c not in col]].sum())
    return np.array(a), np.array(b, dtype=float)


def fixed(counts, hidden, sets, members, *, totals_only=False) -> bool:
    """Whether the published table fixes the sum of the cells `members` (hidden ones)."""
    unknown = np.flatnonzero(counts > 0) if totals_only else np.flatnonzero(hidden)
    a, b = published_system(counts, ~hidden, sets, unknown)
    objective = np.isin(unknown, members).astype(float)
    lo, hi = _range(a, b, objective)
    assert lo - 1e-6 <= counts[members].sum() <= hi + 1e-6
    return hi - lo < 1e-6


def disclosures(counts: np.ndarray, hidden: np.ndarray, sets: list[np.ndarray], k: int) -> list[tuple[int, ...]]:
    """Every set of hidden cells adding up to 1..k-1 whose sum the published table fixes, unless
    the published totals alone fix it (no hiding of cells can protect that: a documented limit)."""
    small = [int(i) for i in np.flatnonzero(hidden & (counts > 0) & (counts < k))]
    found = []
    for size in range(1, k):
        for members in itertools.combinations(small, size):
            if not 0 < counts[list(members)].sum() < k:
                continue
            if fixed(counts, hidden, sets, list(members)) and not fixed(counts, hidden, sets, list(members),
                                                                        totals_only=True):
                found.append(members)
    return found


def two_way(cells: list[list[int]]) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """A rows x columns table as a frame, and its published totals: each row, each column, all."""
    r, c = len(cells), len(cells[0])
    df = pd.DataFrame([{"row": i, "col": j, "n": cells[i][j]} for i in range(r) for j in range(c)])
    sets = [np.flatnonzero(df["row"] == i) for i in range(r)] + [np.flatnonzero(df["col"] == j) for j in range(c)]
    return df, sets + [np.arange(len(df))]


# --------------------------------------------------------------------------- property tests

SMALL = st.integers(min_value=0, max_value=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=st.lists(SMALL, min_size=1, max_size=8), k=st.integers(min_value=1, max_value=8))
def test_one_way_table_with_its_total_discloses_no_small_group(counts, k):
    df = pd.DataFrame({"group": [f"g{i}" for i in range(len(counts))], "n": counts})
    out = suppress(df, values=[], min_group_size=k)
    n = np.array(counts)
    hidden = out["suppressed"].to_numpy()
    assert (hidden[(n > 0) & (n < k)]).all() and not hidden[n == 0].any()  # small hidden, zeros shown
    assert out["n"].dtype == "Int64" and out["n"].isna().tolist() == hidden.tolist()
    assert disclosures(n, hidden, [np.arange(len(n))], k) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.tuples(st.integers(2, 4), st.integers(2, 4)), data=st.data(), k=st.integers(min_value=2, max_value=7))
def test_two_way_table_with_row_and_column_totals_discloses_no_small_group(shape, data, k):
    cells = data.draw(st.lists(st.lists(SMALL, min_size=shape[1], max_size=shape[1]),
                               min_size=shape[0], max_size=shape[0]))
    df, sets = two_way(cells)
    out = suppress(df, values=[], min_group_size=k, margins=[["row"], ["col"]])
    n = df["n"].to_numpy()
    hidden = out["suppressed"].to_numpy()
    assert (hidden[(n > 0) & (n < k)]).all() and not hidden[n == 0].any()
    assert disclosures(n, hidden, sets, k) == []


def test_a_bridge_between_two_hidden_cycles_is_protected():
    """A small cell that is the only link between two blocks of hidden cells is fixed by the
    margins even though every row and column holds two hidden cells: the exact check finds it."""
    cells = [[3, 3, 0, 0, 50],
             [3, 3, 1, 0, 50],
             [0, 0, 3, 3, 50],
             [0, 0, 3, 3, 50],
             [50, 50, 50, 50, 50]]
    df, sets = two_way(cells)
    out = suppress(df, values=[], min_group_size=5, margins=[["row"], ["col"]])
    n, hidden = df["n"].to_numpy(), out["suppressed"].to_numpy()
    assert disclosures(n, hidden, sets, 5) == []


def test_the_property_catches_the_old_rule():
    """The attacker above finds the leak of the rule used before (one complement, only when
    exactly one group is small): two small groups of 2 and 1 are recovered together."""
    n = np.array([40, 2, 1, 30])
    old_hidden = n < 5  # two small groups: the old rule added no complement
    assert disclosures(n, old_hidden, [np.arange(4)], 5) == [(1, 2)]
    assert disclosures(n, suppress(pd.DataFrame({"n": n}), values=[])["suppressed"].to_numpy(),
                       [np.arange(4)], 5) == []


# --------------------------------------------------------------------------- the engine's rules


def test_zeros_are_shown_and_counts_stay_whole_numbers():
    df = pd.DataFrame({"step": [1, 2, 3], "n": [880, 0, 0], "dropped": [0, 880, 0], "rate": [1.0, 0.0, np.nan]})
    out = suppress(df, values=["dropped", "rate"], min_group_size=1)
    assert not out["suppressed"].any() and out["n"].tolist() == [880, 0, 0]
    out = suppress(df, values=["dropped", "rate"], min_group_size=5)
    assert not out["suppressed"].any() and out["dropped"].tolist() == [0, 880, 0]
    assert out["n"].dtype == "Int64" and out["dropped"].dtype == "Int64"


def test_count_types_do_not_change_with_the_data():
    shown = suppress(pd.DataFrame({"n": [10, 20], "k": [3, 4], "x": [0.5, 0.25]}), values=["k", "x"])
    hidden = suppress(pd.DataFrame({"n": [10, 2], "k": [3, 1], "x": [0.5, 0.25]}), values=["k", "x"])
    assert shown.dtypes.to_dict() == hidden.dtypes.to_dict()
    assert hidden["k"].dtype == "Int64" and hidden["k"].isna().tolist() == [True, True]


def test_complements_are_chosen_in_the_same_margin():
    """Two periods: the small group of January is complemented by January's smallest other
    group, not by the smallest visible group of the whole frame (February's)."""
    df = pd.DataFrame({"period": ["jan"] * 3 + ["feb"] * 3, "segment": list("abc") * 2,
                       "n": [3, 40, 30, 20, 6, 50]})
    out = suppress(df, values=[], within=["period"])
    assert out["suppressed"].tolist() == [True, False, True, False, False, False]


def test_hidden_sum_reaches_k_and_forced_rows_count():
    df = pd.DataFrame({"n": [2, 1, 1, 9, 12]})
    assert suppress(df, values=[])["suppressed"].tolist() == [True, True, True, True, False]
    forced = suppress(pd.DataFrame({"n": [30, 40, 50]}), values=[], hidden=[False, True, False])
    assert forced["suppressed"].tolist() == [True, True, False]  # a forced row is not left alone


def test_total_rows_are_published_margins_not_cells():
    df = pd.DataFrame({"segment": ["(all)", "a", "b", "c"], "n": [49, 40, 6, 3], "is_total": [True] + [False] * 3})
    out = suppress(df, values=[], total="is_total")
    assert out["suppressed"].tolist() == [False, False, True, True]
    small = pd.DataFrame({"segment": ["(all)", "a", "b"], "n": [4, 3, 1], "is_total": [True, False, False]})
    assert suppress(small, values=[], total="is_total")["suppressed"].all()


def test_overlapping_rows_have_no_complement():
    df = pd.DataFrame({"theme": ["a", "b", "c"], "n": [3, 40, 50]})
    assert suppress(df, values=[], margins=[])["suppressed"].tolist() == [True, False, False]


def test_arguments_are_checked():
    df = pd.DataFrame({"n": [1, 2]})
    with pytest.raises(CxInputError, match="whole numbers"):
        suppress(pd.DataFrame({"n": [1.5]}), values=[])
    with pytest.raises(CxInputError, match="not both"):
        suppress(df, values=[], within=[], margins=[[]])
    with pytest.raises(CxInputError, match="hidden has"):
        suppress(df, values=[], hidden=[True])
    with pytest.raises(CxInputError, match="min_group_size"):
        suppress(df, values=[], min_group_size=0)


def test_order_published_puts_hidden_rows_last_by_label_only():
    df = pd.DataFrame({"g": ["x", "x", "x", "y", "y"], "name": ["b", "a", "c", "e", "d"],
                       "n": [30, 3, 20, 9, 1], "suppressed": [False, True, False, True, True]})
    out = order_published(df, by=["n"], ascending=False, keys=["name"], groups=["g"])
    assert out["name"].tolist() == ["b", "c", "a", "d", "e"]


# --------------------------------------------------------------------------- the leaks, through the functions

T0 = datetime(2024, 1, 1)


def _store(tmp_path, events=(), regions=None, answers=()):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({e[0] for e in events} | set(regions or {}) | {a[0] for a in answers})
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    rows = {
        "INSERT INTO customers VALUES (?, ?, ?)": [(i, T0, (regions or {}).get(i)) for i in ids],
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)":
            [(c, T0 + timedelta(hours=h), tp) for c, h, tp in events],
        "INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) "
        "VALUES (?, ?, ?, 'nps', ?, NULL, NULL, NULL)":
            [(f"r{i}", c, T0 + timedelta(hours=i), s) for i, (c, s) in enumerate(answers)],
    }
    for statement, values in rows.items():
        if values:
            con.executemany(statement, values)
    refresh_derived(con)
    return con


def test_leak_a_overall_nps_minus_visible_regions_does_not_reveal_two_tiny_regions(tmp_path):
    """Regions of 20, 12, 2 and 1 respondents: the old rule hid east (2) and west (1) only, so
    the overall NPS minus the visible regions gave their 3 people (1 promoter, 2 detractors)."""
    sizes = {"north": 20, "south": 12, "east": 2, "west": 1}
    regions = {f"{r}{i}": r for r, n in sizes.items() for i in range(n)}
    scores = {"east0": 10, "east1": 0, "west0": 3}
    answers = [(c, scores.get(c, 8)) for c in regions]
    con = _store(tmp_path, regions=regions, answers=answers)
    overall = voc.nps(con).iloc[0]
    by = voc.nps(con, by="region")
    shown = by[~by["suppressed"]]
    hidden_n = overall["n"] - shown["n"].sum()
    hidden_promoters = overall["promoters"] - shown["promoters"].sum()
    assert by["suppressed"].sum() >= 2 and hidden_n >= 5  # what the difference gives covers 5 or more people
    assert hidden_promoters != 1 or hidden_n != 3
    with_total = voc.nps(con, by="region", total=True)
    assert with_total["segment"].iloc[-1] == "(all)" and with_total["n"].iloc[-1] == 35
    assert with_total["suppressed"].tolist()[:-1] == by["suppressed"].tolist()


def _flows_store(tmp_path, swap: bool):
    """Six customers on a big path; a few on small ones whose sizes `swap` exchanges (1 and 3)."""
    events = []
    for i in range(8):
        events += [(f"big{i}", 0, "ad_click"), (f"big{i}", 1, "home_page")]
    small = {"checkout": 1, "chat": 3} if not swap else {"checkout": 3, "chat": 1}
    for tp, count in small.items():
        for i in range(count):
            events += [(f"{tp}{i}", 0, "ad_click"), (f"{tp}{i}", 1, tp)]
    for i in range(2):  # a third small path, the same in both stores
        events += [(f"app{i}", 0, "ad_click"), (f"app{i}", 1, "app_login")]
    return _store(tmp_path / ("b" if swap else "a"), events)


@pytest.mark.parametrize("make", [
    lambda con: variants(con),
    lambda con: paths(con, "ad_click", steps=1),
    lambda con: transitions(con),
    lambda con: step_matrix(con, max_steps=2),
])
def test_leak_b_hidden_counts_cannot_be_read_from_row_order(tmp_path, make):
    """Two stores differing only in the sizes of hidden groups (1 and 3 swapped) publish the
    same table, row order included; before, rows were sorted by the hidden counts."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, other = make(_flows_store(tmp_path, False)), make(_flows_store(tmp_path, True))
    assert one["suppressed"].any()
    pd.testing.assert_frame_equal(one, other)


def test_leak_c_a_funnel_step_nobody_reaches_shows_zero(tmp_path):
    """Strict order: nobody goes straight from ad_click to checkout; 0 reached and 6 dropped are
    findings, shown (before, the 0 row was blank even with min_group_size=1)."""
    events = [(f"u{i}", h, tp) for i in range(6) for h, tp in ((0, "ad_click"), (1, "home_page"), (2, "checkout"))]
    events += [("late", 1000, "app_login")]  # the data go on after every window closed
    con = _store(tmp_path, events)
    for k in (1, 5):
        out = funnel(con, ["ad_click", "checkout"], order="strict", min_group_size=k)
        assert out["customers"].tolist() == [6, 0] and out["dropped"].tolist() == [0, 6]
        assert not out["suppressed"].any()


def test_leak_d_counts_are_integers_whatever_is_hidden(tmp_path):
    regions = {f"n{i}": "north" for i in range(8)} | {f"s{i}": "south" for i in range(9)}
    con = _store(tmp_path, regions=regions, answers=[(c, 9) for c in regions])
    none_hidden = voc.nps(con, by="region")
    some_hidden = voc.nps(con, by="region", min_group_size=9)
    assert not none_hidden["suppressed"].any() and some_hidden["suppressed"].any()
    for col in ("n", "promoters", "passives", "detractors"):
        assert none_hidden[col].dtype == some_hidden[col].dtype == "Int64"
