"""RFM scoring on hand-made stores: quintile edges, ties, customers without orders, the R/F map."""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis.segments import RFM_SEGMENTS, rfm_grid, rfm_scores, rfm_segments

AS_OF = datetime(2024, 12, 31)


def new_store(tmp_path, name="t.duckdb"):
    con = cxlib.connect(tmp_path / name, read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    return con


def add_orders(con, customer, days_ago, count, amount_each, start_id):
    """`count` orders, the last one `days_ago` days before AS_OF, the others earlier."""
    rows = []
    for i in range(count):
        ts = AS_OF - timedelta(days=days_ago + 7 * i)
        rows.append((f"o{start_id + i}", customer, ts, amount_each, "web"))
    con.executemany("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES (?, ?, ?, ?, ?)", rows)
    return start_id + count


# customer: (days since last order, orders, total amount)
HAND = {
    "C01": (0, 5, 500.0),
    "C02": (1, 4, 400.0),
    "C03": (1, 3, 300.0),  # recency tie with C02
    "C04": (10, 2, 200.0),
    "C05": (20, 1, 100.0),
    "C06": (30, 1, 100.0),  # monetary tie with C05
    "C07": (40, 1, 50.0),
    "C08": (50, 1, 40.0),
    "C09": (100, 1, 30.0),
    "C10": (200, 1, 20.0),
}


@pytest.fixture()
def hand(tmp_path):
    con = new_store(tmp_path)
    ids = list(HAND) + ["N1", "N2"]
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', 'north')",
                    [(c,) for c in ids])
    con.execute("INSERT INTO customers (customer_id, signup_at, region) VALUES ('LATE', '2025-01-05', 'north')")
    oid = 0
    for c, (days, count, total) in HAND.items():
        oid = add_orders(con, c, days, count, total / count, oid)
    # after the as-of date: must not count
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('late1', 'C10', '2025-01-02', 999, 'web'), ('late2', 'LATE', '2025-01-06', 5, 'web')")
    yield con
    con.close()


def test_hand_computed_scores_with_ties_and_no_purchase(hand):
    df = rfm_scores(hand, as_of=AS_OF).set_index("customer_id")
    assert list(df.index) == list(HAND) + ["N1", "N2"]  # LATE signed up after as_of
    # n = 10 buyers, score = 1 + floor(5 * (rank - 1) / 10); ties share the lowest rank.
    # R ranks (oldest first): C10 1, C09 2, C08 3, C07 4, C06 5, C05 6, C04 7, C02/C03 8, C01 10
    assert df.loc[list(HAND), "r_score"].tolist() == [5, 4, 4, 4, 3, 3, 2, 2, 1, 1]
    # F: six customers with 1 order share rank 1 -> 1; 2 orders rank 7 -> 4; 3 -> rank 8 -> 4; 4, 5 -> 5
    assert df.loc[list(HAND), "f_score"].tolist() == [5, 5, 4, 4, 1, 1, 1, 1, 1, 1]
    # M: 20 r1, 30 r2, 40 r3, 50 r4, 100/100 r5, 200 r7, 300 r8, 400 r9, 500 r10
    assert df.loc[list(HAND), "m_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert df.loc["C10", "frequency"] == 1 and df.loc["C10", "monetary"] == 20.0  # the later order ignored
    assert df.loc["C02", "recency_days"] == 1 and df.loc["C10", "recency_days"] == 200
    assert df.loc[list(HAND), "rfm_cell"].tolist() == ["555", "455", "444", "444", "313", "313", "212", "212",
                                                        "111", "111"]
    assert df.loc[list(HAND), "rfm_segment"].tolist() == [
        "champions", "loyal customers", "loyal customers", "loyal customers", "about to sleep", "about to sleep",
        "hibernating", "hibernating", "lost", "lost"]
    for c in ("N1", "N2"):
        row = df.loc[c]
        assert row["rfm_segment"] == "no purchase" and row["frequency"] == 0 and row["monetary"] == 0
        assert pd.isna(row["r_score"]) and pd.isna(row["f_score"]) and pd.isna(row["m_score"])
        assert row["rfm_cell"] is None and pd.isna(row["recency_days"])


def test_every_r_f_cell_maps_to_the_documented_segment(tmp_path):
    """25 buyers, one per (R, F) cell: customer (a, b) gets R score a and F score b."""
    grid = {  # the map as stated in rfm_scores' docstring, written out cell by cell
        1: ["lost", "hibernating", "at risk", "at risk", "cannot lose them"],
        2: ["hibernating", "hibernating", "at risk", "at risk", "cannot lose them"],
        3: ["about to sleep", "about to sleep", "need attention", "loyal customers", "loyal customers"],
        4: ["promising", "potential loyalists", "potential loyalists", "loyal customers", "loyal customers"],
        5: ["new customers", "potential loyalists", "potential loyalists", "champions", "champions"],
    }
    con = new_store(tmp_path)
    oid = 0
    for a in range(1, 6):
        for b in range(1, 6):
            cid = f"R{a}F{b}"
            con.execute("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2020-01-01')", [cid])
            # recency: group a occupies ranks 5(a-1)+1 .. 5a when ordered oldest first
            # frequency: group b occupies ranks 5(b-1)+1 .. 5b when ordered smallest first
            oid = add_orders(con, cid, (5 - a) * 10 + (5 - b), b * 10 + a, 1.0, oid)
    df = rfm_scores(con, as_of=AS_OF).set_index("customer_id")
    for a in range(1, 6):
        for b in range(1, 6):
            row = df.loc[f"R{a}F{b}"]
            assert (row["r_score"], row["f_score"]) == (a, b)
            assert row["rfm_segment"] == grid[a][b - 1], (a, b)
    g = rfm_grid(con, as_of=AS_OF, min_group_size=1)
    assert len(g) == 25 and (g["customers"] == 1).all() and not g["suppressed"].any()
    assert dict(zip(zip(g["r_score"], g["f_score"]), g["segment"])) == {
        (a, b): grid[a][b - 1] for a in range(1, 6) for b in range(1, 6)}
    con.close()


def test_without_ties_scores_are_equal_frequency_quintiles_like_qcut(tmp_path):
    """An outside reference: with distinct values and n divisible by 5, pandas' qcut."""
    rng = np.random.default_rng(3)
    n = 20
    days = rng.permutation(n) * 3 + 1
    counts = rng.permutation(n) + 1
    con = new_store(tmp_path)
    oid = 0
    for i in range(n):
        con.execute("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2020-01-01')", [f"K{i:02d}"])
        oid = add_orders(con, f"K{i:02d}", int(days[i]), int(counts[i]), 1.0 + i / 100, oid)
    df = rfm_scores(con, as_of=AS_OF).set_index("customer_id").sort_index()
    assert (df["r_score"].to_numpy() == pd.qcut(-df["recency_days"].astype(float), 5, labels=False) + 1).all()
    assert (df["f_score"].to_numpy() == pd.qcut(df["frequency"], 5, labels=False) + 1).all()
    assert (df["m_score"].to_numpy() == pd.qcut(df["monetary"], 5, labels=False) + 1).all()
    assert df["r_score"].value_counts().tolist() == [4] * 5
    con.close()


def test_all_tied_and_single_buyer(tmp_path):
    con = new_store(tmp_path)
    for c in ("A", "B", "C"):
        con.execute("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')", [c])
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('1', 'A', '2024-12-01', 10, 'web'), ('2', 'B', '2024-12-01', 10, 'web')")
    df = rfm_scores(con, as_of=AS_OF).set_index("customer_id")
    # A and B tie on everything: both share rank 1 and score 1 (never 1 and 3 by row order)
    assert df.loc[["A", "B"], ["r_score", "f_score", "m_score"]].to_numpy().tolist() == [[1, 1, 1], [1, 1, 1]]
    assert df.loc["C", "rfm_segment"] == "no purchase"
    con.execute("DELETE FROM orders WHERE order_id = '2'")
    one = rfm_scores(con, as_of=AS_OF).set_index("customer_id")
    assert (one.loc["A", "r_score"], one.loc["A", "f_score"], one.loc["A", "rfm_segment"]) == (1, 1, "lost")
    con.execute("DELETE FROM orders")
    none = rfm_scores(con, as_of=AS_OF)
    assert (none["rfm_segment"] == "no purchase").all() and none["r_score"].isna().all()
    con.close()


def test_default_as_of_is_the_store_as_of(hand):
    # the latest timestamp is the LATE order on 2025-01-06: LATE counts, C10's late order too
    df = rfm_scores(hand).set_index("customer_id")
    assert "LATE" in df.index and df.loc["C10", "frequency"] == 2
    with pytest.raises(cxlib.CxInputError, match="as_of must be a date"):
        rfm_scores(hand, as_of="yesterday")


def test_rfm_segments_sizes_values_scores_and_suppression(hand):
    hand.execute("""INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES
        ('r1', 'C02', '2024-06-01', 'nps', 10), ('r2', 'C03', '2024-06-01', 'nps', 9),
        ('r3', 'C04', '2024-06-01', 'nps', 3), ('r4', 'C04', '2024-07-01', 'csat', 5),
        ('r5', 'C02', '2025-01-03', 'nps', 0)""")  # r5 after as_of: ignored
    df = rfm_segments(hand, as_of=AS_OF, min_group_size=1).set_index("segment")
    assert list(df.index) == list(RFM_SEGMENTS)
    loyal = df.loc["loyal customers"]
    assert loyal["customers"] == 3 and loyal["share"] == pytest.approx(3 / 12)
    assert loyal["recency_days"] == 1 and loyal["frequency"] == pytest.approx(3.0)
    assert loyal["monetary"] == pytest.approx(300.0) and loyal["revenue_per_customer"] == pytest.approx(300.0)
    # NPS of the loyal customers: 10, 9, 3 -> (2 - 1) / 3 = 33.3; Wald interval from cxlib.analysis.voc
    assert loyal["nps_n"] == 3 and loyal["nps"] == pytest.approx(100 / 3)
    assert (loyal["nps_ci_lower"], loyal["nps_ci_upper"]) == pytest.approx(cxlib.nps_interval(2, 1, 3))
    assert loyal["csat_n"] == 1 and loyal["csat"] == pytest.approx(100.0)
    assert df.loc["no purchase", "customers"] == 2 and df.loc["no purchase", "revenue_per_customer"] == 0
    # named segments nobody is in: a row with 0 customers, not suppressed (they hide nobody)
    assert df.loc["new customers", "customers"] == 0 and not df.loc["new customers", "suppressed"]
    # default min_group_size 5: every non-empty segment here is smaller -> suppressed, rows kept
    sup = rfm_segments(hand, as_of=AS_OF).set_index("segment")
    assert len(sup) == len(RFM_SEGMENTS)
    assert sup.loc["loyal customers", "suppressed"] and pd.isna(sup.loc["loyal customers", "customers"])
    assert pd.isna(sup.loc["loyal customers", "nps"]) and pd.isna(sup.loc["loyal customers", "monetary"])
    # scores from fewer than min_group_size answers are blanked even in a visible segment
    mid = rfm_segments(hand, as_of=AS_OF, min_group_size=2).set_index("segment")
    assert not mid.loc["loyal customers", "suppressed"] and mid.loc["loyal customers", "nps"] == pytest.approx(100 / 3)
    assert pd.isna(mid.loc["loyal customers", "csat"])  # one csat answer < 2


def test_rfm_grid_suppresses_small_cells(hand):
    g = rfm_grid(hand, as_of=AS_OF, min_group_size=1)
    assert g["customers"].sum() == 10  # no-purchase customers are not in the grid
    assert g.set_index(["r_score", "f_score"]).loc[(4, 4), "customers"] == 2
    s = rfm_grid(hand, as_of=AS_OF, min_group_size=3)
    assert s["suppressed"].all() and s["customers"].isna().all()


def test_a_date_only_as_of_includes_that_whole_day(hand):
    hand.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('pm', 'N1', '2024-12-31 15:00', 7, 'web')")
    by_day = rfm_scores(hand, as_of="2024-12-31").set_index("customer_id")
    assert by_day.loc["N1", "frequency"] == 1 and by_day.loc["N1", "recency_days"] == 0
    at_midnight = rfm_scores(hand, as_of=AS_OF).set_index("customer_id")
    assert at_midnight.loc["N1", "rfm_segment"] == "no purchase"
