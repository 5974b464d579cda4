"""What moved: shift detection with Benjamini-Hochberg control on a store with a planted shift, and the
Kitagawa decomposition of an NPS change worked out by hand (docs/metrics.md, "What moved")."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

import cxlib
from cxlib.analysis import decomposition as dc
from cxlib.analysis import shifts as sh
from cxlib.analysis.churn import period_churn

REGIONS = ("north", "south", "east")
MONTHS = [datetime(2025, m, 1) for m in range(1, 7)]


def _survey(rng, *, drop: bool, per_month: int = 150) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NPS and CSAT answers, January to June 2025; with `drop`, north's NPS falls in June
    (promoters 50% -> 25%, detractors 20% -> 45%); nothing else changes."""
    people = pd.DataFrame({"customer_id": [f"{r}{i:04d}" for r in REGIONS for i in range(400)],
                           "region": [r for r in REGIONS for _ in range(400)]})
    rows = []
    for m, month in enumerate(MONTHS):
        for region in REGIONS:
            shifted = drop and region == "north" and m == len(MONTHS) - 1
            p_prom, p_det = (0.25, 0.45) if shifted else (0.5, 0.2)
            draw = rng.random(per_month)
            scores = np.where(draw < p_prom, 10, np.where(draw < p_prom + p_det, 3, 8))
            csat = np.where(rng.random(per_month) < 0.8, 5, 2)
            who = rng.choice(400, per_month, replace=False)
            for k in range(per_month):
                ts = month + timedelta(days=int(rng.integers(0, 27)), hours=9)
                cid = f"{region}{who[k]:04d}"
                rows.append((f"n{m}{region}{k}", cid, ts, "nps", int(scores[k])))
                rows.append((f"c{m}{region}{k}", cid, ts, "csat", int(csat[k])))
    return pd.DataFrame(rows, columns=["response_id", "customer_id", "ts", "metric", "score"]), people


def _store(path, answers, people):
    con = cxlib.connect(path, read_only=False)
    cxlib.ingest(people, "customers", db=con)
    assert cxlib.ingest(answers, "survey_responses", db=con).rejected == 0
    return con


@pytest.fixture(scope="module")
def dropped(tmp_path_factory):
    answers, people = _survey(np.random.default_rng(1), drop=True)
    con = _store(tmp_path_factory.mktemp("shift") / "s.duckdb", answers, people)
    yield con, answers, people
    con.close()


def test_a_planted_shift_is_flagged_and_unchanged_segments_are_not(dropped):
    con, _, _ = dropped
    moved = sh.shifts(con, by="region", metrics=("nps", "csat"))
    nps = moved[moved["metric"] == "NPS"].set_index("segment")
    assert nps.loc["north", "moved"] and nps.loc["north", "diff"] < -30
    assert not nps.loc["south", "moved"] and not nps.loc["east", "moved"]
    assert not moved[moved["metric"] == "CSAT"]["moved"].any()
    assert (nps["period"] == pd.Timestamp("2025-06-01")).all()
    assert (nps["reference"] == pd.Timestamp("2025-05-01")).all()
    text = sh.shifts_headline(moved)
    assert text.startswith("NPS fell for region = north, from ")
    assert "2025-06-01 against 2025-05-01; worse; adjusted p" in text
    assert text.endswith(". 8 comparisons in all, false discovery rate held at 5%")


def test_the_z_test_and_the_false_discovery_control_by_hand(dropped):
    con, answers, people = dropped
    moved = sh.shifts(con, by="region", metrics=("nps", "csat"))
    df = answers[answers["metric"] == "nps"].merge(people, on="customer_id")
    df["month"] = df["ts"].dt.month

    def score(rows):
        n = len(rows)
        pp, pd_ = (rows["score"] >= 9).mean(), (rows["score"] <= 6).mean()
        return (pp - pd_) * 100, math.sqrt((pp + pd_ - (pp - pd_) ** 2) / n) * 100

    (a, sa), (b, sb) = score(df[(df["region"] == "north") & (df["month"] == 6)]), \
        score(df[(df["region"] == "north") & (df["month"] == 5)])
    p = 2 * stats.norm.sf(abs(a - b) / math.sqrt(sa ** 2 + sb ** 2))
    north = moved[(moved["metric"] == "NPS") & (moved["segment"] == "north")].iloc[0]
    assert north["diff"] == pytest.approx(a - b) and north["p_value"] == pytest.approx(p)
    assert moved["p_adjusted"].to_numpy() == pytest.approx(multipletests(moved["p_value"], method="fdr_bh")[1])


def test_nothing_moved_is_said(tmp_path):
    answers, people = _survey(np.random.default_rng(2), drop=False)
    con = _store(tmp_path / "calm.duckdb", answers, people)
    moved = sh.shifts(con, by="region")
    assert not moved["moved"].any() and set(moved["metric"]) == {"NPS", "CSAT"}  # no events, no churn data
    assert sh.shifts_headline(moved) == (
        "Nothing moved beyond chance in 8 comparisons of NPS and CSAT (overall and by region; each latest period "
        "against the one before; false discovery rate held at 5%)")
    assert sh.shifts_headline(sh.shifts(con, metrics=["ces"])) == \
        "Nothing to compare yet: no score or rate has two periods with enough data"
    con.close()


def test_conversion_and_churn_on_the_sample(sample_con):
    moved = sh.shifts(sample_con, by="plan", funnel_steps=["product_page", "add_to_cart", "checkout", "payment"])
    assert list(dict.fromkeys(moved["metric"])) == ["NPS", "CSAT", "CES", "conversion", "churn"]
    assert set(moved["segment"]) == {"all", "basic", "plus", "premium"}
    churn = moved[(moved["metric"] == "churn") & (moved["segment"] == "all")].iloc[0]
    by_period = period_churn(sample_con, period="month").set_index("period")["churn_rate"]
    assert churn["score"] == pytest.approx(by_period[churn["period"]] * 100)
    assert churn["reference_score"] == pytest.approx(by_period[churn["reference"]] * 100)
    conversion = moved[(moved["metric"] == "conversion") & (moved["segment"] == "all")].iloc[0]
    assert 30 < conversion["score"] < 70 and conversion["n"] > 200
    sentences = sh.shifts_headline(moved.assign(moved=True), top=len(moved)).split(". ")
    assert any(s.startswith(("Churn rose", "Churn fell")) for s in sentences)  # a sentence opens in capitals
    assert not any(s[:1].islower() for s in sentences), sentences


def _counts_store(path, counts: dict) -> cxlib:
    """NPS answers from {(month, region): (promoters, passives, detractors)}."""
    rows, people = [], []
    for (month, region), (p, n, d) in counts.items():
        for k, score in enumerate([10] * p + [8] * n + [3] * d):
            cid = f"{region}-{month}-{k}"
            people.append((cid, region))
            rows.append((f"r-{cid}", cid, datetime(2025, month, 10), "nps", score))
    con = cxlib.connect(path, read_only=False)
    cxlib.ingest(pd.DataFrame(people, columns=["customer_id", "region"]), "customers", db=con)
    cxlib.ingest(pd.DataFrame(rows, columns=["response_id", "customer_id", "ts", "metric", "score"]),
                 "survey_responses", db=con)
    return con


def test_kitagawa_decomposition_by_hand(tmp_path):
    """May: north 10 answers (6 P, 2 D: +40), south 10 (2 P, 4 D: -20), NPS +10. June: north 30 (18 P,
    6 D: +40), south 10 (3 P, 3 D: 0), NPS +30. Shares 0.5/0.5 -> 0.75/0.25.
    mix: north 0.25 * (40 + 40) / 2 = 10, south -0.25 * (-20 + 0) / 2 = 2.5; within: north 0, south
    20 * (0.5 + 0.25) / 2 = 7.5; together 20 = 30 - 10."""
    con = _counts_store(tmp_path / "k.duckdb", {(5, "north"): (6, 2, 2), (5, "south"): (2, 4, 4),
                                                 (6, "north"): (18, 6, 6), (6, "south"): (3, 4, 3)})
    df = dc.nps_decomposition(con, by="region", min_group_size=1).set_index("segment")
    assert df.loc["north", ["mix", "within"]].tolist() == pytest.approx([10, 0])
    assert df.loc["south", ["mix", "within"]].tolist() == pytest.approx([2.5, 7.5])
    total = df.loc["all"]
    assert (total["nps_before"], total["nps_after"]) == (pytest.approx(10), pytest.approx(30))
    assert total["mix"] + total["within"] == pytest.approx(20)
    assert total["mix_lower"] <= total["mix"] <= total["mix_upper"]
    assert df.attrs["periods"] == (pd.Timestamp("2025-05-01"), pd.Timestamp("2025-06-01"))
    assert dc.decomposition_headline(df.reset_index(), by="region").startswith(
        "NPS went from 10.0 (2025-05-01) to 30.0 (2025-06-01), +20.0 points: +12.5 (95% interval")
    con.close()


def test_kitagawa_on_arrays_and_a_segment_missing_in_one_period():
    mix, within = dc.kitagawa([10, 10, 0], [6, 2, 0], [2, 4, 0], [30, 10, 5], [18, 3, 5], [6, 3, 0])
    # east only answers in June (5 promoters, +100): all of its contribution is mix
    assert within[2] == 0 and mix.sum() + within.sum() == pytest.approx((26 - 9) / 45 * 100 - 10)


def test_small_segments_are_hidden_in_the_decomposition(tmp_path):
    con = _counts_store(tmp_path / "small.duckdb", {(5, "north"): (6, 2, 2), (5, "south"): (2, 4, 4),
                                                     (5, "east"): (1, 1, 0), (6, "north"): (18, 6, 6),
                                                     (6, "south"): (3, 4, 3), (6, "east"): (2, 0, 1)})
    df = dc.nps_decomposition(con, by="region", min_group_size=5).set_index("segment")
    assert df.loc["east", "suppressed"] and pd.isna(df.loc["east", "mix"])
    assert df["suppressed"].sum() == 2  # and a complement, since 'all' is shown
    assert not df.loc["all", "suppressed"] and df.loc["all", "n_before"] == 22
    con.close()
