"""NPS, CSAT, CES and their comparisons, checked against hand-computed cases on tiny stores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis import voc
from cxlib.errors import CxInputError


def make_store(tmp_path, answers, customers=None):
    """A store with `customers` {id: (region, plan)} and `answers` rows
    (customer_id, ts, metric, score[, touchpoint, channel, comment])."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.execute("ALTER TABLE customers ADD COLUMN plan VARCHAR")
    ids = customers or {a[0]: ("north", "basic") for a in answers}
    if ids:
        con.executemany("INSERT INTO customers VALUES (?, '2024-01-01', ?, ?)", [(k, *v) for k, v in ids.items()])
    rows = []
    for i, a in enumerate(answers):
        a = tuple(a) + (None,) * (7 - len(a))
        rows.append((f"r{i:04d}", *a))
    if rows:
        con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def nps_rows(scores, customer="c1", ts="2024-03-05", **kw):
    return [(customer, ts, "nps", s) for s in scores]


# ------------------------------------------------------------------ NPS


def test_nps_hand_computed_wald(tmp_path):
    # 6 promoters (10,9,10,9,9,10), 2 passives (8,7), 4 detractors (6,0,3,5): n = 12
    con = make_store(tmp_path, nps_rows([10, 9, 8, 7, 6, 0, 10, 3, 9, 9, 10, 5]))
    row = voc.nps(con).iloc[0]
    assert (row["n"], row["promoters"], row["passives"], row["detractors"]) == (12, 6, 2, 4)
    assert row["nps"] == pytest.approx(100 * 2 / 12)
    # pP = .5, pD = 1/3; var = 5/6 - 1/36 = 0.805556; SE = sqrt(var/12) = 0.259094; 1.96*SE*100 = 50.7815
    assert row["ci_lower"] == pytest.approx(-34.1148, abs=1e-3)
    assert row["ci_upper"] == pytest.approx(67.4481, abs=1e-3)
    assert not row["suppressed"]


def test_nps_adjusted_wald_hand_computed(tmp_path):
    con = make_store(tmp_path, nps_rows([10, 9, 8, 7, 6, 0, 10, 3, 9, 9, 10, 5]))
    row = voc.nps(con, interval="adjusted_wald").iloc[0]
    assert row["nps"] == pytest.approx(16.6667, abs=1e-3)  # the point estimate stays the plain NPS
    # P = 6.75, D = 4.75, n = 15: centre 13.333; var = .766667 - .017778 = .748889; half = 43.7937
    assert row["ci_lower"] == pytest.approx(-30.4604, abs=1e-3)
    assert row["ci_upper"] == pytest.approx(57.1270, abs=1e-3)


def test_nps_all_promoters_wald_is_degenerate_adjusted_is_not(tmp_path):
    con = make_store(tmp_path, nps_rows([9, 10, 10, 9, 10]))
    wald = voc.nps(con).iloc[0]
    assert (wald["nps"], wald["ci_lower"], wald["ci_upper"]) == (100, 100, 100)
    adj = voc.nps(con, interval="adjusted_wald").iloc[0]
    # P = 5.75, D = .75, n = 8: centre 62.5, var = .8125 - .390625, half = 45.0078; upper clamped to 100
    assert adj["ci_lower"] == pytest.approx(17.4922, abs=1e-3)
    assert adj["ci_upper"] == 100.0


def test_nps_all_detractors_clamps_at_minus_100(tmp_path):
    con = make_store(tmp_path, nps_rows([0, 6, 3, 1, 2, 5]))
    row = voc.nps(con, interval="adjusted_wald").iloc[0]
    assert row["nps"] == -100 and row["ci_lower"] == -100.0 and row["ci_upper"] < 0


@pytest.mark.parametrize("score,expected", [(9, 100.0), (10, 100.0), (8, 0.0), (7, 0.0), (6, -100.0), (0, -100.0)])
def test_nps_n1_and_category_boundaries(tmp_path, score, expected):
    con = make_store(tmp_path, nps_rows([score]))
    row = voc.nps(con, min_group_size=1).iloc[0]
    assert row["n"] == 1 and row["nps"] == expected
    # one answer: the multinomial variance is 0, so the Wald interval collapses on the score
    assert (row["ci_lower"], row["ci_upper"]) == (expected, expected)


def test_nps_n0_is_one_row_of_nan(tmp_path):
    con = make_store(tmp_path, [])
    df = voc.nps(con)
    assert len(df) == 1 and df["n"].iloc[0] == 0
    assert df[["nps", "ci_lower", "ci_upper"]].isna().all(axis=None)
    assert not df["suppressed"].iloc[0]
    assert voc.csat(con)["csat"].isna().all() and voc.ces(con)["mean"].isna().all()


def test_nps_small_overall_is_suppressed(tmp_path):
    con = make_store(tmp_path, nps_rows([10, 10, 0]))
    row = voc.nps(con).iloc[0]
    assert row["suppressed"] and pd.isna(row["nps"]) and pd.isna(row["n"])


def _three_regions(tmp_path, sizes=(2, 6, 7)):
    customers, answers = {}, []
    for region, size in zip(["east", "north", "south"], sizes):
        for i in range(size):
            cid = f"{region}{i}"
            customers[cid] = (region, "basic" if i % 2 else "plus")
            answers.append((cid, "2024-02-10", "nps", 10 if i % 3 else 0))
    return make_store(tmp_path, answers, customers)


def test_nps_by_segment_suppresses_small_group_and_its_complement(tmp_path):
    con = _three_regions(tmp_path)
    df = voc.nps(con, by="region").set_index("segment")
    assert list(df.index) == ["east", "north", "south"]
    assert df.loc["east", "suppressed"] and pd.isna(df.loc["east", "nps"])
    # with 'east' alone hidden, total - north - south would give it away: north (next smallest) goes too
    assert df.loc["north", "suppressed"] and pd.isna(df.loc["north", "n"])
    assert not df.loc["south", "suppressed"]
    # south: i = 0..6, score 0 when i % 3 == 0 (i = 0, 3, 6) -> 4 promoters, 3 detractors
    assert df.loc["south", "nps"] == pytest.approx(100 * (4 - 3) / 7)
    # with a lower threshold nothing is hidden
    assert not voc.nps(con, by="region", min_group_size=2)["suppressed"].any()


def test_nps_by_period_month_quarter_week(tmp_path):
    answers = [("c1", "2024-01-15", "nps", 10), ("c1", "2024-01-31 23:59", "nps", 0),
               ("c1", "2024-02-01", "nps", 9), ("c1", "2024-04-02", "nps", 7)]
    con = make_store(tmp_path, answers)
    m = voc.nps(con, period="month", min_group_size=1)
    assert m["period"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01", "2024-04-01"]
    assert m["nps"].tolist() == [0.0, 100.0, 0.0]
    q = voc.nps(con, period="quarter", min_group_size=1)
    assert q["n"].tolist() == [3, 1]
    w = voc.nps(con, period="week", min_group_size=1)
    assert w["period"].dt.strftime("%Y-%m-%d").iloc[0] == "2024-01-15"  # a Monday


def test_nps_start_end_filters_and_date_only_end_is_inclusive(tmp_path):
    answers = [("c1", "2024-01-10", "nps", 10), ("c1", "2024-01-31 18:00", "nps", 0), ("c1", "2024-02-01", "nps", 9)]
    con = make_store(tmp_path, answers)
    df = voc.nps(con, start="2024-01-01", end="2024-01-31", min_group_size=1)
    assert df["n"].iloc[0] == 2 and df["nps"].iloc[0] == 0
    assert voc.nps(con, start="2024-02-01", min_group_size=1)["n"].iloc[0] == 1
    with pytest.raises(CxInputError, match="after start"):
        voc.nps(con, start="2024-02-01", end="2024-01-01")
    with pytest.raises(CxInputError, match="date like"):
        voc.nps(con, start="Jan 1st")


def test_nps_touchpoint_and_channel_filters_and_groupings(tmp_path):
    answers = [("c1", "2024-01-10", "nps", 10, None, None),
               ("c1", "2024-01-11", "nps", 0, "checkout", "app"),
               ("c1", "2024-01-12", "nps", 9, "checkout", "web"),
               ("c1", "2024-01-13", "nps", 8, "chat", "chat")]
    con = make_store(tmp_path, answers)
    assert voc.nps(con, min_group_size=1)["n"].iloc[0] == 4  # touchpoint=None: every nps answer
    assert voc.nps(con, touchpoint="checkout", min_group_size=1)["nps"].iloc[0] == 0
    assert voc.nps(con, channel="web", min_group_size=1)["nps"].iloc[0] == 100
    by_tp = voc.nps(con, by="touchpoint", min_group_size=1).set_index("segment")
    assert by_tp.loc["(none)", "n"] == 1 and by_tp.loc["checkout", "n"] == 2
    with pytest.raises(CxInputError, match="did you mean 'checkout'"):
        voc.nps(con, touchpoint="chekout")


def test_argument_errors_are_actionable(tmp_path):
    con = make_store(tmp_path, nps_rows([10]))
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        voc.nps(con, by="regon")
    with pytest.raises(CxInputError, match="period 'year'"):
        voc.nps(con, period="year")
    with pytest.raises(CxInputError, match="interval 'exact'"):
        voc.nps(con, interval="exact")
    with pytest.raises(CxInputError, match="min_group_size"):
        voc.csat(con, min_group_size=0)
    with pytest.raises(CxInputError):
        voc.nps(con, by="customer_id")  # an identifier is not a segment


def test_nps_is_invariant_to_row_order(tmp_path):
    scores = [10, 9, 8, 7, 6, 0, 10, 3, 9, 9, 10, 5]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = voc.nps(make_store(tmp_path / "a", nps_rows(scores)))
    b = voc.nps(make_store(tmp_path / "b", nps_rows(scores[::-1])))
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------ intervals against published values


def test_wilson_matches_newcombe_1998():
    # Newcombe (1998) Statistics in Medicine 17:857, Table I, method 3 (Wilson score)
    assert voc.wilson_interval(81, 263) == pytest.approx((25.53, 36.62), abs=0.01)
    assert voc.wilson_interval(15, 148) == pytest.approx((6.24, 16.05), abs=0.01)
    assert voc.wilson_interval(0, 20) == pytest.approx((0.0, 16.11), abs=0.01)
    assert voc.wilson_interval(1, 29) == pytest.approx((0.61, 17.18), abs=0.01)
    assert all(math.isnan(x) for x in voc.wilson_interval(0, 0))


def test_wilson_closed_form():
    z, n, k = 1.959963984540054, 40, 31
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert voc.wilson_interval(k, n) == pytest.approx(((centre - half) * 100, (centre + half) * 100))


def test_t_interval_edge_cases():
    assert all(math.isnan(x) for x in voc.t_interval(5.0, math.nan, 1))
    assert all(math.isnan(x) for x in voc.t_interval(math.nan, math.nan, 0))
    assert voc.t_interval(3.0, 0.0, 4) == (3.0, 3.0)


# ------------------------------------------------------------------ CSAT and CES


def test_csat_top2box_wilson(tmp_path):
    answers = [("c1", "2024-01-10", "csat", s) for s in [5, 4, 3, 2, 1, 4, 5, 5]]  # 5 of 8 satisfied
    con = make_store(tmp_path, answers)
    row = voc.csat(con).iloc[0]
    assert (row["n"], row["satisfied"]) == (8, 5)
    assert row["csat"] == pytest.approx(62.5)
    # Wilson, z = 1.96, p = .625, n = 8: centre .865091 / 1.480182 = .584449, half .278705
    assert row["ci_lower"] == pytest.approx(30.5744, abs=1e-3)
    assert row["ci_upper"] == pytest.approx(86.3154, abs=1e-3)


def test_csat_all_satisfied_and_n1(tmp_path):
    con = make_store(tmp_path, [("c1", "2024-01-10", "csat", 4)])
    row = voc.csat(con, min_group_size=1).iloc[0]
    assert row["csat"] == 100 and row["ci_upper"] == pytest.approx(100) and row["ci_lower"] == pytest.approx(20.654, abs=1e-3)


def test_ces_mean_t_interval_easy_share(tmp_path):
    answers = [("c1", "2024-01-10", "ces", s) for s in [7, 5, 3, 6]]
    con = make_store(tmp_path, answers)
    row = voc.ces(con, min_group_size=1).iloc[0]
    assert row["mean"] == pytest.approx(5.25)
    # s = sqrt(8.75/3) = 1.707825; t(.975, 3) = 3.182446; half = 2.717531
    assert row["ci_lower"] == pytest.approx(2.532469, abs=1e-5)
    assert row["ci_upper"] == pytest.approx(7.967531, abs=1e-5)
    assert row["easy_share"] == pytest.approx(75.0)


def test_ces_n1_has_no_interval(tmp_path):
    con = make_store(tmp_path, [("c1", "2024-01-10", "ces", 6)])
    row = voc.ces(con, min_group_size=1).iloc[0]
    assert row["mean"] == 6 and math.isnan(row["ci_lower"]) and row["easy_share"] == 100


def test_metrics_keep_to_their_own_answers(tmp_path):
    answers = [("c1", "2024-01-10", "ces", 1), ("c1", "2024-01-10", "csat", 5), ("c1", "2024-01-10", "nps", 10)]
    con = make_store(tmp_path, answers)
    assert voc.nps(con, min_group_size=1)["n"].iloc[0] == 1
    assert voc.csat(con, min_group_size=1)["csat"].iloc[0] == 100
    assert voc.ces(con, min_group_size=1)["mean"].iloc[0] == 1


# ------------------------------------------------------------------ significance


def _two_groups(tmp_path):
    customers, answers = {}, []
    # north: 6 promoters, 2 passives, 2 detractors (NPS 40); south: 2, 2, 6 (NPS -40)
    for region, scores in [("north", [10] * 6 + [8] * 2 + [0] * 2), ("south", [10] * 2 + [8] * 2 + [0] * 6)]:
        for i, s in enumerate(scores):
            cid = f"{region}{i}"
            customers[cid] = (region, "basic")
            answers.append((cid, "2024-01-10" if region == "north" else "2024-02-10", "nps", s))
    return make_store(tmp_path, answers, customers)


def test_compare_two_groups_hand_computed(tmp_path):
    con = _two_groups(tmp_path)
    row = voc.compare_nps(con, by="region", groups=("north", "south")).iloc[0]
    # SE each = sqrt((.8 - .16)/10)*100 = 25.2982; z = 80 / sqrt(2 * 25.2982^2) = 2.23607
    assert row["diff"] == pytest.approx(80)
    assert row["z"] == pytest.approx(2.23607, abs=1e-4)
    assert row["p_value"] == pytest.approx(0.025347, abs=1e-5)
    assert row["significant"] and row["p_adjusted"] == row["p_value"]


def test_compare_two_periods(tmp_path):
    con = _two_groups(tmp_path)
    row = voc.compare_nps(con, period="month", groups=("2024-02-01", "2024-01-01")).iloc[0]
    assert row["diff"] == pytest.approx(-80) and row["z"] == pytest.approx(-2.23607, abs=1e-4)
    with pytest.raises(CxInputError, match="period '2024-03-01'"):
        voc.compare_nps(con, period="month", groups=("2024-03-01", "2024-01-01"))


def test_compare_needs_exactly_one_of_by_or_period(tmp_path):
    con = _two_groups(tmp_path)
    with pytest.raises(CxInputError, match="exactly one"):
        voc.compare_nps(con)
    with pytest.raises(CxInputError, match="exactly one"):
        voc.compare_nps(con, by="region", period="month")


def test_compare_many_groups_bh_against_hand_rule(tmp_path):
    rng = np.random.default_rng(3)
    customers, answers = {}, []
    for g in range(8):
        for i in range(30):
            cid = f"g{g}_{i}"
            customers[cid] = (f"region{g}", "basic")
            score = int(rng.integers(0, 11)) if g else 10  # region0 are all promoters
            answers.append((cid, "2024-01-10", "nps", score))
    con = make_store(tmp_path, answers, customers)
    df = voc.compare_nps(con, by="region")
    assert len(df) == 8 and (df["reference"] == "rest").all()
    # Benjamini-Hochberg by hand: p_(i) * m / i, made monotone from the largest down
    p = df["p_value"].to_numpy()
    order = np.argsort(p)
    adj = np.empty_like(p)
    running = 1.0
    for rank in range(len(p), 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * len(p) / rank)
        adj[i] = running
    assert df["p_adjusted"].to_numpy() == pytest.approx(adj)
    assert (df["p_adjusted"] >= df["p_value"] - 1e-12).all()
    top = df.set_index("segment").loc["region0"]
    assert top["significant"] and top["diff"] > 0
    # rest of region0 pools the other seven groups: recompute its NPS directly
    rest = voc.nps(con, by="region").set_index("segment").drop(index="region0")
    rest_nps = 100 * (rest["promoters"].sum() - rest["detractors"].sum()) / rest["n"].sum()
    assert top["reference_score"] == pytest.approx(rest_nps)


def test_compare_does_not_test_or_pool_suppressed_groups(tmp_path):
    con = _three_regions(tmp_path, sizes=(2, 6, 7))
    df = voc.compare_nps(con, by="region").set_index("segment")
    assert df.loc["east", "suppressed"] and pd.isna(df.loc["east", "p_value"]) and pd.isna(df.loc["east", "n"])
    assert df.loc["north", "suppressed"]  # complementary
    # south is the only visible group: no rest to compare with
    assert pd.isna(df.loc["south", "p_value"]) and not df.loc["south", "significant"]


def test_compare_csat_and_ces(tmp_path):
    customers, answers = {}, []
    for region, scores in [("north", [5, 5, 4, 4, 5, 1]), ("south", [1, 2, 2, 1, 3, 4])]:
        for i, s in enumerate(scores):
            cid = f"{region}{i}"
            customers[cid] = (region, "basic")
            answers.append((cid, "2024-01-10", "csat", s))
            answers.append((cid, "2024-01-10", "ces", s + 2))
    con = make_store(tmp_path, answers, customers)
    c = voc.compare(con, metric="csat", by="region", groups=("north", "south")).iloc[0]
    # 5/6 vs 1/6: SE = sqrt(5/36/6)*100 each = 15.2145; z = 66.667 / 21.5166 = 3.0984
    assert c["z"] == pytest.approx(3.0984, abs=1e-3)
    e = voc.compare(con, metric="ces", by="region", groups=("north", "south")).iloc[0]
    # means 6.0 vs 4.1667; SDs 1.5492 and 1.1690
    assert e["diff"] == pytest.approx(1.83333, abs=1e-4)
    assert e["z"] == pytest.approx(1.83333 / math.sqrt(1.549193**2 / 6 + 1.169045**2 / 6), abs=1e-3)
    with pytest.raises(CxInputError, match="metric 'nsp'"):
        voc.compare(con, metric="nsp", by="region")


# ------------------------------------------------------------------ trend


def _period_frame(periods, scores, n=100, segment=None):
    df = pd.DataFrame({"period": pd.to_datetime(periods), "n": n, "nps": scores, "suppressed": False})
    return df if segment is None else df.assign(segment=segment)


def test_score_trend_hand_computed_slope_and_interval():
    df = _period_frame(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"], [10.0, 22.0, 29.0, 41.0])
    row = voc.score_trend(df).iloc[0]
    # x = 0..3: slope = Sxy / Sxx = 50 / 5 = 10; SSE = 5, s^2 = 2.5, SE = sqrt(2.5/5); t(.975, 2) = 4.302653
    assert row["slope"] == pytest.approx(10.0)
    assert row["ci_lower"] == pytest.approx(10 - 4.302653 * math.sqrt(0.5), abs=1e-5)
    assert row["ci_upper"] == pytest.approx(10 + 4.302653 * math.sqrt(0.5), abs=1e-5)
    assert row["significant"] and row["periods"] == 4


def test_score_trend_counts_gaps_weights_by_n_and_skips_suppressed():
    # Jan, Feb, Apr: x = 0, 1, 3 with y = 2x exactly -> slope 2 whatever the weights
    df = _period_frame(["2024-01-01", "2024-02-01", "2024-04-01"], [0.0, 2.0, 6.0])
    assert voc.score_trend(df, period="month")["slope"].iloc[0] == pytest.approx(2.0)
    # by quarter, Jan and Feb are both quarter 0 and Apr is 1: Sxy = 30/9, Sxx = 6/9 -> slope 5
    assert voc.score_trend(df, period="quarter")["slope"].iloc[0] == pytest.approx(5.0)
    hidden = pd.concat([df, _period_frame(["2024-05-01"], [math.nan]).assign(suppressed=True, n=math.nan)])
    assert voc.score_trend(hidden, period="month")["periods"].iloc[0] == 3
    # weights: two points far off the line with tiny n barely move the fit
    w = _period_frame(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"], [0.0, 1.0, 50.0, 3.0])
    w["n"] = [1000, 1000, 1, 1000]
    assert voc.score_trend(w)["slope"].iloc[0] == pytest.approx(1.0, abs=0.1)


def test_score_trend_per_segment_and_too_few_periods():
    df = pd.concat([_period_frame(["2024-01-01", "2024-02-01", "2024-03-01"], [1.0, 2.0, 3.5], segment="a"),
                    _period_frame(["2024-01-01", "2024-02-01"], [5.0, 1.0], segment="b")])
    out = voc.score_trend(df).set_index("segment")
    assert out.loc["a", "slope"] == pytest.approx(1.25)
    assert math.isnan(out.loc["b", "slope"]) and not out.loc["b", "significant"]
    with pytest.raises(CxInputError, match="period="):
        voc.score_trend(df.drop(columns="period"))


def test_nps_by_segment_and_period_suppresses_by_period_and_by_segment(tmp_path):
    customers, answers = {}, []
    for region, sizes in [("east", (2, 6)), ("north", (6, 6)), ("south", (7, 6))]:
        for month, size in zip(("01", "02"), sizes):
            for i in range(size):
                cid = f"{region}{month}{i}"
                customers[cid] = (region, "basic")
                answers.append((cid, f"2024-{month}-10", "nps", 10))
    con = make_store(tmp_path, answers, customers)
    df = voc.nps(con, by="region", period="month")
    jan = df[df["period"] == "2024-01-01"].set_index("segment")["suppressed"]
    feb = df[df["period"] == "2024-02-01"].set_index("segment")["suppressed"]
    assert jan.to_dict() == {"east": True, "north": True, "south": False}  # east small, north its complement
    # each region's months add up to its NPS by region (8 east answers): shown, February's east 6
    # would give January's 2 away, so February's east and north are hidden too
    assert feb.to_dict() == {"east": True, "north": True, "south": False}


def test_a_touchpoint_only_some_metrics_ask_about_gives_n0_for_the_others(tmp_path):
    answers = [("c1", "2024-01-10", "csat", 5, "checkout", "web"), ("c1", "2024-01-10", "nps", 10)]
    con = make_store(tmp_path, answers)
    assert voc.csat(con, touchpoint="checkout", min_group_size=1)["n"].iloc[0] == 1
    row = voc.nps(con, touchpoint="checkout").iloc[0]
    assert row["n"] == 0 and math.isnan(row["nps"]) and not row["suppressed"]
    with pytest.raises(CxInputError, match="did you mean 'web'"):
        voc.nps(con, channel="wbe")


def test_compare_with_no_answers_is_an_empty_table(tmp_path):
    con = _two_groups(tmp_path)
    df = voc.compare_nps(con, by="region", start="2030-01-01")
    assert df.empty and "p_adjusted" in df.columns and "significant" in df.columns


def test_headlines_say_when_there_is_too_little_data(tmp_path):
    con = make_store(tmp_path, nps_rows([10, 9, 8, 0, 10, 9]))
    text = voc.score_headline(voc.nps(con), voc.csat(con), voc.ces(con))
    # 4 promoters, 1 detractor of 6: NPS 50; no CSAT or CES answers at all: not named
    assert text.startswith("NPS 50 (95% interval") and "n = 6" in text
    assert "CSAT" not in text and "CES" not in text
    empty = voc.score_trend(voc.nps(con, period="month"), period="month")
    assert voc.trend_headline(empty, period="month").startswith("Too few months")
    t = voc.score_trend(pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
                                      "n": 100, "nps": [10.0, 22.0, 29.0, 41.0], "suppressed": False}))
    assert voc.trend_headline(t, period="month") == (
        "NPS changes by +10.0 points per month (95% interval +7.0 to +13.0): a real trend")


# ------------------------------------------------------------------ headlines on partial data


def test_score_headline_names_only_the_scores_with_answers(tmp_path):
    # 3 CSAT answers (too few to show at min_group_size 5), 6 CES answers: 5, 6, 7, 4, 2, 6
    answers = [("c1", "2024-01-10", "csat", s) for s in (5, 4, 1)]
    answers += [("c1", "2024-01-10", "ces", s) for s in (5, 6, 7, 4, 2, 6)]
    con = make_store(tmp_path, answers)
    text = voc.score_headline(voc.nps(con), voc.csat(con), voc.ces(con))
    # CES mean = 30 / 6 = 5.0; easy (5-7) = 4 of 6 = 67%
    assert text == "CSAT: hidden (too few answers, or it would give a small group away); CES 5.0 of 7 (67% found it easy)"
    assert voc.score_headline(voc.nps(con), voc.csat(con), voc.ces(con), detail=False).endswith("CES 5.0 of 7")
    assert voc.score_headline(None) == "No NPS, CSAT or CES answers in the data selected"
    assert voc.score_headline(voc.nps(con), None, None) == "No NPS, CSAT or CES answers in the data selected"


def test_score_headline_short_form_as_the_overview_prints_it(tmp_path):
    con = make_store(tmp_path, nps_rows([10, 9, 8, 0, 10, 9]) + [("c1", "2024-03-05", "csat", s) for s in (5, 4, 4, 2, 1)])
    text = voc.score_headline(voc.nps(con), voc.csat(con), voc.ces(con), detail=False)
    # CSAT: 3 of 5 rated 4-5 = 60%
    assert text.startswith("NPS 50 (95% interval ") and text.endswith("); CSAT 60% satisfied")
    assert "n = " not in text


def test_scores_table_leaves_out_scores_without_answers(tmp_path):
    con = make_store(tmp_path, nps_rows([10, 9, 8, 0, 10, 9]))
    table = voc.scores_table(voc.nps(con), voc.csat(con), voc.ces(con))
    assert table["metric"].tolist() == ["NPS (-100 to 100)"]
    assert table["score"].iloc[0] == pytest.approx(50.0) and table["n"].iloc[0] == 6
    assert list(table.columns) == ["metric", "n", "score", "ci_lower", "ci_upper", "suppressed"]
    empty = voc.scores_table(None, voc.csat(con), voc.ces(con))
    assert empty.empty and list(empty.columns) == list(table.columns)


def _monthly(tmp_path, months):
    """NPS answers per month: {"2024-01": [scores], ...}, one customer per answer."""
    answers = [(f"c{m}{i}", f"{m}-10", "nps", s) for m, scores in months.items() for i, s in enumerate(scores)]
    return make_store(tmp_path, answers)


def test_latest_change_and_its_headline_with_no_answers(tmp_path):
    con = make_store(tmp_path, [])
    change = voc.latest_change(con, period="month")
    assert change.empty and "significant" in change.columns
    assert voc.change_headline(change, period="month") == (
        "No score has enough answers in two different months yet, so there is no change to show "
        "(each needs at least two months with answers)")


def test_latest_change_with_one_period_is_empty_not_an_index_error(tmp_path):
    con = _monthly(tmp_path, {"2024-01": [10] * 6})
    change = voc.latest_change(con, period="month")
    assert change.empty
    assert voc.change_headline(change, period="month").startswith("No score has enough answers in two different months")
    assert voc.change_headline(change, period="quarter").startswith("No score has enough answers in two different quarters")


def test_latest_change_with_two_periods_hand_computed(tmp_path):
    # the _two_groups store: January NPS 40 (6 P, 2 p, 2 D of 10), February NPS -40 (2, 2, 6)
    con = _two_groups(tmp_path)
    change = voc.latest_change(con, period="month")
    assert change["metric"].tolist() == ["NPS"]  # no CSAT or CES answers: left out
    row = change.iloc[0]
    assert (f"{row['period']:%Y-%m-%d}", f"{row['reference']:%Y-%m-%d}") == ("2024-02-01", "2024-01-01")
    # SE each = sqrt((.8 - .16) / 10) * 100 = 25.2982; z = -80 / sqrt(2 * 25.2982^2) = -2.23607
    assert row["diff"] == pytest.approx(-80) and row["z"] == pytest.approx(-2.23607, abs=1e-4)
    assert row["significant"]
    assert voc.change_headline(change, period="month") == "month of 2024-02-01 against 2024-01-01: NPS -80.0 (a real change)"


def test_latest_change_skips_periods_too_small_to_show(tmp_path):
    # April has 2 answers (suppressed at 5) and January, the smallest other month, is hidden with
    # it (complementary suppression): the change compares March with February
    con = _monthly(tmp_path, {"2024-01": [10] * 5, "2024-02": [10] * 6, "2024-03": [10, 10, 10, 0, 0, 0, 0],
                              "2024-04": [0, 0]})
    row = voc.latest_change(con, period="month").iloc[0]
    assert (f"{row['period']:%Y-%m-%d}", f"{row['reference']:%Y-%m-%d}") == ("2024-03-01", "2024-02-01")
    assert row["diff"] == pytest.approx(100 * (3 - 4) / 7 - 100)  # NPS -14.3 against 100
    # one month shown (the other hidden as the complement of a small one): nothing to compare
    one = _monthly(tmp_path / "one", {"2024-01": [10] * 6, "2024-02": [0, 0]})
    assert voc.latest_change(one, period="month").empty


def test_change_headline_groups_scores_by_their_periods():
    change = pd.DataFrame({
        "metric": ["NPS", "CSAT", "CES"],
        "period": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-02-01"]),
        "reference": pd.to_datetime(["2024-02-01", "2024-02-01", "2024-01-01"]),
        "diff": [2.04, -1.0, 0.3], "significant": [False, True, False], "suppressed": False})
    assert voc.change_headline(change, period="month") == (
        "month of 2024-03-01 against 2024-02-01: NPS +2.0 (within chance); CSAT -1.0 (a real change). "
        "month of 2024-02-01 against 2024-01-01: CES +0.3 (within chance)")
    with pytest.raises(CxInputError, match="period 'monthly'"):
        voc.change_headline(change, period="monthly")


def test_trend_headline_on_no_one_and_two_periods():
    for periods, scores in (([], []), (["2024-01-01"], [10.0]), (["2024-01-01", "2024-02-01"], [10.0, 30.0])):
        trend = voc.score_trend(_period_frame(periods, scores), period="month")
        assert voc.trend_headline(trend, period="month") == "Too few months with enough answers to judge the NPS trend"


# ------------------------------------------------------------------ the breakdown and other metrics


def test_fit_breakdown_keeps_what_the_store_has_and_refuses_a_misspelling(tmp_path):
    con = _three_regions(tmp_path)
    assert voc.fit_breakdown(con, "region") == "region"
    assert voc.fit_breakdown(con, "REGION") == "region"
    assert voc.fit_breakdown(con, "none") is None and voc.fit_breakdown(con, None) is None
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        voc.fit_breakdown(con, "regon")
    # an attribute the store does not hold, and nothing like it: the best attribute stands in
    assert voc.fit_breakdown(con, "age_band") in ("plan", "region")


def test_fit_breakdown_leaves_the_breakdown_out_when_no_attribute_exists(tmp_path):
    con = cxlib.connect(tmp_path / "bare.duckdb", read_only=False)
    con.execute("INSERT INTO customers VALUES ('c1', '2024-01-01'), ('c2', '2024-01-01')")
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) "
                    "VALUES (?, ?, '2024-01-10', 'nps', ?, ?)", [("r1", "c1", 10, None), ("r2", "c2", 0, None)])
    assert voc.fit_breakdown(con, "region") is None
    assert voc.fit_breakdown(con, "touchpoint") is None  # answers carry no touchpoint
    con.execute("UPDATE survey_responses SET touchpoint = CASE WHEN response_id = 'r1' THEN 'web' ELSE 'app' END")
    assert voc.fit_breakdown(con, "touchpoint") == "touchpoint"


def test_other_metrics_note_names_declared_metrics(tmp_path):
    con = make_store(tmp_path, nps_rows([10, 9]))
    assert voc.other_metrics_note(con) == ""
    con.execute("INSERT INTO survey_metrics VALUES ('trust', 0, 10)")
    con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES "
                "('t1', 'c1', '2024-03-05', 'trust', 7), ('t2', 'c1', '2024-03-06', 'trust', 9)")
    assert voc.other_metrics_note(con) == ("This store's surveys also hold trust (0-10, 2 answers); this report scores "
                                           "NPS, CSAT and CES only (cx profile lists every metric).")
    assert voc.nps(con, min_group_size=1)["n"].iloc[0] == 2  # the other metric is not counted as NPS
