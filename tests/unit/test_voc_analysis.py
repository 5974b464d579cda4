"""Peak-end, key drivers and the closed loop, on hand-built stores with known answers."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis import voc
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived


def store(tmp_path, *, customers, answers=(), tickets=(), events=()):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.executemany("INSERT INTO customers VALUES (?, '2024-01-01', ?)", [(c, r) for c, r in customers])
    rows = [(f"r{i:05d}", *(tuple(a) + (None,) * (7 - len(a)))) for i, a in enumerate(answers)]
    if rows:
        con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if tickets:
        con.executemany("INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id, contacts, reopened) VALUES (?, ?, ?, ?, 'chat', ?, NULL, 1, false)", list(tickets))
    if events:
        con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)", list(events))
    refresh_derived(con)
    return con


# ------------------------------------------------------------------ peak-end

# customer: csat ratings in time order, then the NPS given after them
PEAK_END_CASES = {
    # ratings          peak  end  mean   nps
    "a": ([5, 1, 4], 1, 4, 10 / 3, 3),  # 1 and 5 tie on distance from 3: the low one wins
    "b": ([4, 5, 5], 5, 5, 14 / 3, 10),
    "c": ([2, 4, 3], 2, 3, 3.0, 5),  # 2 and 4 tie: the low one wins
    "d": ([3, 3], 3, 3, 3.0, 7),
    "e": ([5, 2, 2, 1], 1, 1, 2.5, 1),
    "f": ([4, 4, 1, 5], 1, 5, 3.5, 6),
    "g": ([5, 4], 5, 4, 4.5, 9),
}


def _peak_end_store(tmp_path):
    answers = []
    for cid, (ratings, *_rest, nps_score) in PEAK_END_CASES.items():
        for day, r in enumerate(ratings, start=1):
            answers.append((cid, f"2024-02-{day:02d} 10:00", "csat", r, "checkout", "web"))
        answers.append((cid, "2024-03-01", "nps", nps_score))
        # noise that must be ignored: a rating after the NPS, a rating without touchpoint,
        # an earlier relationship NPS (only the latest counts), a CES answer
        answers.append((cid, "2024-03-05", "csat", 1, "checkout", "web"))
        answers.append((cid, "2024-02-20", "csat", 1))
        answers.append((cid, "2024-01-15", "nps", 0))
        answers.append((cid, "2024-02-21", "ces", 1, "chat", "chat"))
    answers.append(("h", "2024-02-01", "csat", 5, "chat", "chat"))  # one rating only: left out
    answers.append(("h", "2024-03-01", "nps", 10))
    return store(tmp_path, customers=[(c, "north") for c in [*PEAK_END_CASES, "h"]], answers=answers)


def test_peak_end_correlations_hand_built(tmp_path):
    con = _peak_end_store(tmp_path)
    res = voc.peak_end(con).iloc[0]
    peak = np.array([v[1] for v in PEAK_END_CASES.values()], float)
    end = np.array([v[2] for v in PEAK_END_CASES.values()], float)
    mean = np.array([v[3] for v in PEAK_END_CASES.values()], float)
    y = np.array([v[4] for v in PEAK_END_CASES.values()], float)
    r = lambda a, b: np.corrcoef(a, b)[0, 1]  # noqa: E731
    assert res["n"] == 7
    assert res["r_peak_end"] == pytest.approx(r((peak + end) / 2, y))
    assert res["r_mean"] == pytest.approx(r(mean, y))
    assert res["r_peak"] == pytest.approx(r(peak, y))
    assert res["r_end"] == pytest.approx(r(end, y))
    assert res["diff"] == pytest.approx(r((peak + end) / 2, y) - r(mean, y))
    t, p = voc.williams_t(r((peak + end) / 2, y), r(mean, y), r((peak + end) / 2, mean), 7)
    assert res["t"] == pytest.approx(t) and res["p_value"] == pytest.approx(p)
    assert res["mean_ratings"] == pytest.approx(np.mean([len(v[0]) for v in PEAK_END_CASES.values()]))
    # min_ratings=1 brings in customer h
    assert voc.peak_end(con, min_ratings=1)["n"].iloc[0] == 8


def test_peak_end_small_sample_is_suppressed(tmp_path):
    con = _peak_end_store(tmp_path)
    res = voc.peak_end(con, min_group_size=10).iloc[0]
    assert res["suppressed"] and math.isnan(res["r_peak_end"]) and not res["peak_end_better"]


def test_peak_end_bins_hand_built(tmp_path):
    con = _peak_end_store(tmp_path)
    bins = voc.peak_end_bins(con, min_group_size=1)
    pe = bins[bins["predictor"] == "peak_end"].set_index("value")
    # (peak+end)/2: a 2.5, b 5, c 2.5, d 3, e 1, f 3, g 4.5
    assert pe["customers"].to_dict() == {1.0: 1, 2.5: 2, 3.0: 2, 4.5: 1, 5.0: 1}
    assert pe.loc[2.5, "mean_nps"] == pytest.approx((3 + 5) / 2)
    mean = bins[bins["predictor"] == "mean"].set_index("value")
    # means 3.33->3.5, 4.67->4.5, 3, 3, 2.5, 3.5, 4.5
    assert mean["customers"].to_dict() == {2.5: 1, 3.0: 2, 3.5: 2, 4.5: 2}


def test_williams_t_hand_computed():
    # n=100, r12=.5, r13=.3, r23=.4: |R| = .62, rbar = .4,
    # t = .2 * sqrt(99 * 1.4 / (2 * 99/97 * .62 + .16 * .6^3)) = 2.06499
    t, p = voc.williams_t(0.5, 0.3, 0.4, 100)
    assert t == pytest.approx(2.06499, abs=1e-4)
    assert p == pytest.approx(2 * (1 - __import__("scipy").stats.t.cdf(2.06499, 97)), abs=1e-5)
    assert voc.williams_t(0.4, 0.4, 0.3, 50)[0] == 0
    assert all(math.isnan(v) for v in voc.williams_t(0.4, 0.2, 0.3, 3))


def test_peak_end_argument_errors(tmp_path):
    con = _peak_end_store(tmp_path)
    with pytest.raises(CxInputError, match="rating_metric 'nps'"):
        voc.peak_end(con, rating_metric="nps")
    with pytest.raises(CxInputError, match="min_ratings"):
        voc.peak_end(con, min_ratings=0)


# ------------------------------------------------------------------ relative weights and drivers


def test_relative_weights_orthogonal_predictors_are_squared_correlations():
    x = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]] * 5, float)
    rng = np.random.default_rng(1)
    y = 2 * x[:, 0] - x[:, 1] + rng.normal(0, 1, len(x))
    w, r2 = voc.relative_weights(x, y)
    for j in range(3):
        assert w[j] == pytest.approx(np.corrcoef(x[:, j], y)[0, 1] ** 2)
    assert w.sum() == pytest.approx(r2)


def test_relative_weights_sum_to_ols_r_squared_and_constant_columns_get_zero():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 4))
    x[:, 1] += 0.8 * x[:, 0]  # correlated predictors
    x[:, 3] = 7.0  # constant
    y = x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=200)
    w, r2 = voc.relative_weights(x, y)
    design = np.column_stack([np.ones(200), x[:, :3]])
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    resid = y - design @ beta
    assert r2 == pytest.approx(1 - resid.var() / y.var())
    assert w.sum() == pytest.approx(r2) and w[3] == 0 and (w >= 0).all()


def _driver_store(tmp_path, n=240, seed=5):
    """Long resolution costs 4 NPS points; delivery ratings move NPS a little; region does nothing."""
    rng = np.random.default_rng(seed)
    customers, answers, tickets = [], [], []
    for i in range(n):
        cid = f"c{i:04d}"
        customers.append((cid, ["north", "south", "east"][i % 3]))
        long_ = rng.random() < 0.3
        hours = float(rng.uniform(73, 200) if long_ else rng.uniform(1, 60))
        resolved = pd.Timestamp("2024-02-01") + pd.Timedelta(hours=hours)
        tickets.append((f"t{i}", cid, "2024-02-01 00:00", str(resolved), "billing"))
        delivery = int(rng.integers(1, 6))
        answers.append((cid, "2024-02-10", "csat", delivery, "delivery", "web"))
        score = 8 - 4 * long_ + 0.3 * (delivery - 3) + rng.normal(0, 1)
        answers.append((cid, "2024-03-01", "nps", int(np.clip(round(score), 0, 10))))
    return store(tmp_path, customers=customers, answers=answers, tickets=tickets)


def test_key_drivers_find_the_planted_driver(tmp_path):
    con = _driver_store(tmp_path)
    df = voc.key_drivers(con, bootstrap=60)
    assert list(df.columns) == ["driver", "kind", "importance", "ci_lower", "ci_upper", "direction", "p_value",
                                "p_adjusted", "significant", "vif", "partner", "partner_r", "note", "rank",
                                "r_squared", "n", "target"]
    top = df.iloc[0]
    assert top["driver"] in ("ticket resolution > 72h", "resolution hours (max, log)")
    assert top["significant"]
    lr = df.set_index("driver").loc["ticket resolution > 72h"]
    assert lr["significant"] and lr["direction"] == "-"
    assert lr["ci_lower"] <= lr["importance"] <= lr["ci_upper"]
    region = df.set_index("driver").loc["region"]
    assert not region["significant"] and region["kind"] == "customer attribute"
    assert df["importance"].sum() == pytest.approx(100)
    assert df["n"].iloc[0] == 240 and 0 < df["r_squared"].iloc[0] < 1
    assert df["rank"].tolist() == list(range(1, len(df) + 1))


def test_key_drivers_detractor_target_and_is_seeded(tmp_path):
    con = _driver_store(tmp_path)
    a = voc.key_drivers(con, target="detractor", bootstrap=20, seed=3)
    b = voc.key_drivers(con, target="detractor", bootstrap=20, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert a.set_index("driver").loc["ticket resolution > 72h", "direction"] == "+"  # raises detractor odds
    with pytest.raises(CxInputError, match="target 'nps_scor'"):
        voc.key_drivers(con, target="nps_scor")
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        voc.key_drivers(con, attributes=["regin"])


# ------------------------------------------------------------------ closed loop


def _loop_store(tmp_path):
    customers = [("d1", "north"), ("d2", "north"), ("p1", "south"), ("old", "south")]
    answers = [
        ("d1", "2024-06-20", "nps", 2, None, "email", "=HYPERLINK(\"http://x\") mail me at a.b@example.com"),
        ("d2", "2024-06-25", "nps", 6, None, "app", "my name is Anna Smith, call +44 20 7946 0958"),
        ("d2", "2024-05-01", "nps", 10),  # an older answer does not count
        ("p1", "2024-06-25", "nps", 9),  # a promoter
        ("p1", "2024-06-10", "nps", 0),  # no longer a detractor: the latest answer counts
        ("old", "2024-04-01", "nps", 0),  # too long ago
    ]
    tickets = [("t1", "d1", "2024-06-18", None, "billing"), ("t2", "d1", "2024-06-01", "2024-06-02", "delivery")]
    events = [("d1", f"2024-06-{d:02d} 10:00", tp, "web") for d, tp in
              [(10, "home_page"), (11, "product_page"), (12, "checkout"), (13, "payment"), (14, "help_center"),
               (15, "chat")]]
    events.append(("d1", "2024-06-30 12:00", "phone_call", "phone"))
    return store(tmp_path, customers=customers, answers=answers, tickets=tickets, events=events)


def test_followup_list_detractors_with_recent_journey(tmp_path):
    con = _loop_store(tmp_path)
    df = voc.followup_list(con, days=30, last_n=3)  # as_of = 2024-06-30 12:00
    assert df["customer_id"].tolist() == ["d1", "d2"]  # most unhappy first
    d1 = df.iloc[0]
    assert d1["last_touchpoints"] == "help_center > chat > phone_call" and d1["last_channel"] == "phone"
    assert d1["open_tickets"] == 1 and d1["last_ticket_category"] == "billing"
    assert "[email]" in d1["comment"] and "example.com" not in d1["comment"]
    d2 = df.iloc[1]
    assert "Anna" not in d2["comment"] and "7946" not in d2["comment"]
    assert d2["open_tickets"] == 0 and pd.isna(d2["last_touchpoints"])
    assert voc.followup_list(con, days=120)["customer_id"].tolist() == ["old", "d1", "d2"]


def test_export_neutralises_formula_injection(tmp_path):
    df = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
                       "comment": ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "fine = ok"],
                       "score": [-1, 2, 3, 4, 5, 6]})
    before = df.copy()
    path = voc.export_followup(df, tmp_path / "out" / "followup.csv")
    pd.testing.assert_frame_equal(df, before)  # input not mutated
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["comment"] for r in rows] == ["'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "'\tx", "fine = ok"]
    assert rows[0]["score"] == "-1"  # numbers stay numbers
    (tmp_path / "s").mkdir()
    end_to_end = voc.export_followup(voc.followup_list(_loop_store(tmp_path / "s")), tmp_path / "fu.csv")
    text = end_to_end.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "example.com" not in text


def test_followup_argument_errors(tmp_path):
    con = _loop_store(tmp_path)
    with pytest.raises(CxInputError, match="days"):
        voc.followup_list(con, days=0)
    with pytest.raises(CxInputError, match="DataFrame"):
        voc.export_followup("nope", tmp_path / "x.csv")


def test_latest_nps_ties_on_time_go_to_the_later_response_id(tmp_path):
    # same timestamp: r00000 (score 2) then r00001 (score 9): the later id is the latest answer
    con = store(tmp_path, customers=[("t", "north")],
                answers=[("t", "2024-06-20", "nps", 2), ("t", "2024-06-20", "nps", 9)])
    assert voc.followup_list(con, days=30).empty
    con2_path = tmp_path / "b"
    con2_path.mkdir()
    con2 = store(con2_path, customers=[("t", "north")],
                 answers=[("t", "2024-06-20", "nps", 9), ("t", "2024-06-20", "nps", 2)])
    assert voc.followup_list(con2, days=30)["nps_score"].tolist() == [2]


def test_followup_summary_counts_without_people():
    fu = pd.DataFrame({"customer_id": [f"c{i}" for i in range(13)],
                       "nps_score": [0] * 6 + [3] * 5 + [5] * 2,
                       "open_tickets": [1, 0, 0, 2, 0, 0] + [0] * 5 + [1, 0]})
    out = voc.followup_summary(fu).set_index("nps_score")
    assert "customer_id" not in out.columns
    assert out.loc[0, "detractors"] == 6 and out.loc[0, "with_open_ticket"] == 2
    assert out.loc[5, "suppressed"] and out.loc[3, "suppressed"]  # 2 < 5, and its complement
    assert not out.loc[0, "suppressed"]


def test_check_options_fails_early_with_suggestions(tmp_path):
    con = _loop_store(tmp_path)
    voc.check_options(con, by="region", period="month", start="2024-01-01")
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        voc.check_options(con, by="regoin")
    with pytest.raises(CxInputError, match="period 'monthly'"):
        voc.check_options(con, period="monthly")
    with pytest.raises(CxInputError, match="channel 'emial'"):
        voc.check_options(con, channel="emial")
    with pytest.raises(CxInputError, match="date like"):
        voc.check_options(con, end="31/12/2024")


def test_key_drivers_leave_out_identifier_like_attributes(tmp_path):
    from cxlib.errors import CxWarning

    con = _driver_store(tmp_path)
    con.execute("ALTER TABLE customers ADD COLUMN email VARCHAR")
    con.execute("UPDATE customers SET email = customer_id || '@example.com'")
    with pytest.warns(CxWarning, match="email"):
        df = voc.key_drivers(con, bootstrap=0)
    assert "email" not in set(df["driver"]) and "region" in set(df["driver"])
    assert df["ci_lower"].isna().all()  # bootstrap=0: no intervals


# ------------------------------------------------------------------ partial data: plain errors and sentences


def test_key_drivers_without_nps_answers_say_so(tmp_path):
    con = store(tmp_path, customers=[("c1", "north"), ("c2", "south")],
                answers=[("c1", "2024-02-10", "csat", 4, "delivery", "web")])
    with pytest.raises(CxDataError, match="relationship NPS answer .* this store .* has none"):
        voc.key_drivers(con, bootstrap=0)


def test_key_drivers_with_nothing_that_varies_say_so(tmp_path):
    # 40 NPS answers, no ratings, tickets or events, one region for all: no driver varies
    customers = [(f"c{i}", "north") for i in range(40)]
    answers = [(f"c{i}", "2024-03-01", "nps", i % 11) for i in range(40)]
    con = store(tmp_path, customers=customers, answers=answers)
    with pytest.raises(CxDataError, match="none of the drivers varies among the 40 customers"):
        voc.key_drivers(con, bootstrap=0)


def test_key_drivers_when_everyone_gave_the_same_answer_say_so(tmp_path):
    customers = [(f"c{i}", ["north", "south"][i % 2]) for i in range(40)]
    answers = [(f"c{i}", "2024-03-01", "nps", 8) for i in range(40)]
    con = store(tmp_path, customers=customers, answers=answers)
    with pytest.raises(CxDataError, match="all 40 customers gave the same NPS answer"):
        voc.key_drivers(con, bootstrap=0)


def test_peak_end_headline(tmp_path):
    con = _peak_end_store(tmp_path)
    shown = voc.peak_end(con, min_group_size=5)
    row = shown.iloc[0]
    said = voc.peak_end_headline(shown)
    lead = ("(Peak + end) / 2 predicts NPS better than the average rating" if row["peak_end_better"]
            else "No evidence that peak and end predict NPS better than the average rating")
    ci = {k: f"[95% CI {row[f'r_{k}_lower']:.2f} to {row[f'r_{k}_upper']:.2f}]" for k in ("peak_end", "mean")}
    assert said == (f"{lead} (r = {row['r_peak_end']:.2f} {ci['peak_end']} vs {row['r_mean']:.2f} {ci['mean']}, "
                    f"p = {row['p_value']:.2g}; 7 customers)")
    assert row["p_value"] >= 0.001 and "p = 0.013" in said  # two significant digits, as every p in a sentence
    hidden = voc.peak_end(con, min_group_size=10)
    assert voc.peak_end_headline(hidden).startswith("Too few customers rated two or more interactions")
    (tmp_path / "none").mkdir()
    nobody = voc.peak_end(store(tmp_path / "none", customers=[("c1", "north")]), min_group_size=1)
    assert voc.peak_end_headline(nobody).startswith("Too few customers")
    with pytest.raises(CxInputError, match="peak_end"):
        voc.peak_end_headline(pd.DataFrame({"n": [1]}))


def test_followup_headline_names_open_tickets_only_where_tickets_exist(tmp_path):
    con = _loop_store(tmp_path)
    df = voc.followup_list(con, days=30)
    assert voc.followup_headline(con, df, days=30) == (
        "2 detractors answered in the last 30 days; 1 of them still have an open ticket. "
        "Set export_csv to write the list.")
    assert voc.followup_headline(con, df, days=30, written=tmp_path / "x.csv").endswith(f"List written to {tmp_path / 'x.csv'}.")
    assert voc.followup_headline(con, df.iloc[:0], days=7) == "0 detractors answered in the last 7 days."
    (tmp_path / "b").mkdir()
    no_tickets = store(tmp_path / "b", customers=[("d", "north")], answers=[("d", "2024-06-20", "nps", 3)])
    fu = voc.followup_list(no_tickets, days=30)
    assert voc.followup_headline(no_tickets, fu, days=30) == (
        "1 detractor answered in the last 30 days. Set export_csv to write the list.")


@pytest.mark.parametrize("p, text", [(0.0000261, "p < 0.001"), (0.001, "p = 0.001"), (0.01349, "p = 0.013"),
                                     (0.5, "p = 0.5"), (0.049999, "p = 0.05")])
def test_p_values_in_sentences(p, text):
    from cxlib.analysis.intervals import p_text

    assert p_text(p) == text
    assert p_text(p, "adjusted p") == "adjusted " + text
