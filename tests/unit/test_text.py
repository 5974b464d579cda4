"""Themes, sentiment, topics and quotes: hand-built comments with known answers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.voc import text
from cxlib.errors import CxDataError, CxInputError


def store(tmp_path, answers):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({a[0] for a in answers})
    con.executemany("INSERT INTO customers VALUES (?, '2024-01-01')", [(i,) for i in ids])
    rows = [(f"r{i:05d}", a[0], a[1], a[2], a[3], None, None, a[4]) for i, a in enumerate(answers)]
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


TAX = {"billing": ["bill", "billing", "invoice", "refund*"], "wait": ["on hold", "wait*"], "staff": ["rude"]}


def test_keyword_pattern_and_normalise_match_whole_words_and_prefixes():
    assert text.keyword_pattern("Bill*") == " bill"
    assert text.keyword_pattern("on  hold") == " on hold "
    norm = text.normalise("On hold, for my BILLING-issue! Très déçu")
    assert norm == " on hold for my billing issue très déçu "
    assert text.keyword_pattern("bill*") in norm and text.keyword_pattern("on hold") in norm
    assert text.keyword_pattern("bill") not in text.normalise("a billion")
    assert text.keyword_pattern("déçu") in norm
    with pytest.raises(CxInputError):
        text.keyword_pattern(" * ")


def _comments_store(tmp_path):
    answers = [
        # customer, ts, metric, score, comment
        ("a", "2024-01-01", "nps", 0, "My BILL was wrong"),
        ("b", "2024-01-02", "nps", 3, "Invoice wrong and I was on hold"),
        ("c", "2024-01-03", "nps", 5, "Waiting for my refund"),
        ("d", "2024-01-04", "nps", 2, "billing mess"),
        ("e", "2024-01-05", "nps", 6, "The agent was rude"),
        ("f", "2024-01-06", "nps", 9, "Great, the bill was right"),
        ("g", "2024-01-07", "nps", 10, "Lovely staff"),
        ("h", "2024-01-08", "nps", 8, "Okay I guess"),
        ("i", "2024-01-09", "nps", 7, "A billion stars, not a keyword"),
        ("j", "2024-01-10", "nps", 10, "On hold but fine"),
        ("k", "2024-01-11", "nps", 9, None),  # no comment: not counted
        ("l", "2024-01-12", "csat", 1, "bill bill bill"),  # not an NPS answer
    ]
    return store(tmp_path, answers)


def test_themes_hand_computed(tmp_path):
    con = _comments_store(tmp_path)
    df = text.themes(con, taxonomy=TAX, metric="nps", min_group_size=1).set_index("theme")
    # 10 comments on NPS answers: 5 detractors (a-e), 5 others (f-j)
    b = df.loc["billing"]  # a, b, c, d (detractors) and f (promoter); i's 'billion' does not match
    assert (b["comments"], b["detractors"], b["promoters"], b["passives"]) == (5, 4, 1, 0)
    assert b["share"] == pytest.approx(50.0)
    assert b["nps"] == pytest.approx((1 - 4) / 5 * 100)
    assert b["detractor_share"] == pytest.approx(80.0)
    # detractors: 4 of 5 mention billing; promoters (f, g, j): 1 of 3
    assert b["over_representation"] == pytest.approx((4 / 5) / (1 / 3))
    # Fisher exact on [[4, 1], [1, 2]]: hypergeometric N=8, 5 mentions, 5 detractors;
    # P(k) = C(5,k) C(3,5-k) / 56 = 10, 30, 15, 1 (/56) for k = 2..5; two-sided p = (10+15+1)/56
    assert b["p_value"] == pytest.approx(26 / 56)
    w = df.loc["wait"]  # b (on hold), c (waiting), j (on hold)
    assert (w["comments"], w["detractors"]) == (3, 2)
    s = df.loc["staff"]  # e only: every mention from a detractor
    assert s["comments"] == 1 and math.isinf(s["over_representation"])
    none = df.loc["(no theme)"]  # g, h, i
    assert none["comments"] == 3 and none["detractors"] == 0
    # a Wald interval as in voc.nps: pP = .2, pD = .8, var = 1 - .36 = .64, half = 1.96*sqrt(.64/5)*100
    assert b["ci_upper"] == pytest.approx(-60 + 70.1226, abs=1e-3)
    assert b["ci_lower"] == -100.0  # -130.12, clamped


def test_themes_suppress_small_themes_without_complement(tmp_path):
    con = _comments_store(tmp_path)
    df = text.themes(con, taxonomy=TAX, metric="nps", min_group_size=3).set_index("theme")
    assert df.loc["staff", "suppressed"] and pd.isna(df.loc["staff", "nps"]) and pd.isna(df.loc["staff", "comments"])
    assert not df.loc["wait", "suppressed"] and not df.loc["billing", "suppressed"]  # themes overlap: no complement


def test_themes_default_taxonomy_file_and_errors(tmp_path):
    tax = text.load_taxonomy()
    assert {"billing", "delivery", "wait time"} <= set(tax["theme"])
    assert tax.loc[tax["theme"] == "billing", "keyword"].str.startswith(("bill", "charge", "invoice", "refund")).any()
    bad = tmp_path / "bad.csv"
    bad.write_text("topic,word\nx,y\n")
    with pytest.raises(CxDataError, match="theme,keyword"):
        text.load_taxonomy(bad)
    with pytest.raises(CxInputError, match="no theme taxonomy"):
        text.load_taxonomy(tmp_path / "missing.csv")


def test_comments_lists_themes_and_metric_filter(tmp_path):
    con = _comments_store(tmp_path)
    c = text.comments(con, taxonomy=TAX).set_index("comment")
    assert c.loc["Invoice wrong and I was on hold", "themes"] == ["billing", "wait"]
    assert c.loc["Okay I guess", "themes"] == [] and c.loc["Okay I guess", "nps_group"] == "passive"
    assert len(c) == 10
    assert len(text.comments(con, taxonomy=TAX, metric=None)) == 11
    assert len(text.comments(con, taxonomy=TAX, limit=4)) == 4


@pytest.mark.parametrize("comment,expected", [
    ("Great service, thank you", 1.0),
    ("The service was terrible and slow", -1.0),
    ("not good", -1.0),
    ("not bad at all", 1.0),
    ("Fast delivery but the app is slow", 0.0),
    ("The parcel arrived on Monday morning", 0.0),
    ("Nobody helped me with my order", -1.0),
])
def test_sentiment_cases(comment, expected):
    assert text.sentiment(comment) == pytest.approx(expected)


def test_sentiment_missing_is_nan():
    assert math.isnan(text.sentiment(None))


def test_sentiment_by_group(tmp_path):
    con = _comments_store(tmp_path)
    df = text.sentiment_by_group(text.comments(con, taxonomy=TAX), min_group_size=1).set_index("segment")
    assert list(df.index) == ["promoter", "passive", "detractor"]
    # detractors a-e: "billing mess" is too short to tell its language, so not scored
    assert df.loc["detractor", "n"] == 4 and df.loc["detractor", "not_scored"] == 1
    assert df.loc["promoter", "mean_sentiment"] > df.loc["detractor", "mean_sentiment"]


def test_quotes_are_masked_and_typical(tmp_path):
    answers = [(f"c{i}", "2024-01-01", "nps", 1, c) for i, c in enumerate([
        "my bill is wrong, mail anna.smith@example.com",
        "my bill is wrong again",
        "my bill is wrong and late",
        "bill wrong, my name is Anna Smith",
        "bill: call +44 20 7946 0958 <script>alert(1)</script>",
    ])]
    con = store(tmp_path, answers)
    q = text.quotes(text.comments(con, taxonomy={"billing": ["bill*"]}), per_theme=5)
    joined = " ".join(q["quote"])
    assert "example.com" not in joined and "Anna" not in joined and "7946" not in joined
    assert "[email]" in joined and "[name]" in joined and "[phone]" in joined
    assert q["quote"].iloc[0].startswith("my bill is wrong")  # the most typical wording first
    assert len(q) == 5 and set(q["theme"]) == {"billing"}
    # a theme under min_group_size gives no quotes
    assert text.quotes(text.comments(con, taxonomy={"billing": ["bill*"]}), min_group_size=6).empty


def test_quotes_mask_ids_iban_and_non_english_names(tmp_path):
    """Issue 14: quotes left ids (CUST-000123, the sample's C + 7 digits), the IBAN and names
    introduced in German or French; with the store's masker every customer id is masked as such."""
    answers = [(cid, "2024-01-01", "nps", 1, c) for cid, c in [
        ("CUST-000123", "bill wrong, I am customer CUST-000123"),
        ("C0000042", "bill wrong for C0000042, refund to GB82 WEST 1234 5698 7654 32"),
        ("c3", "bill wrong. Ich heisse Anna"),
        ("c4", "bill wrong, je m'appelle Marie, call +44 7700 900123"),
        ("c5", "bill wrong, ask cust-000123 about it"),
    ]]
    con = store(tmp_path, answers)
    feedback = text.comments(con, taxonomy={"billing": ["bill*"]})
    # masking is tested here, not language: two comments are mostly German / French (not scored
    # for themes), so every comment is put in the theme by hand
    feedback["themes"] = [["billing"]] * len(feedback)
    plain = set(text.quotes(feedback, per_theme=5)["quote"])
    assert plain == {"bill wrong, I am customer [id]", "bill wrong for [id], refund to [iban]",
                     "bill wrong. Ich heisse [name]", "bill wrong, je m'appelle [name], call [phone]",
                     "bill wrong, ask [id] about it"}
    from cxlib.privacy.masking import Masker

    known = set(text.quotes(feedback, per_theme=5, masker=Masker.from_store(con))["quote"])
    assert known == {"bill wrong, I am customer [customer]", "bill wrong for [customer], refund to [iban]",
                     "bill wrong. Ich heisse [name]", "bill wrong, je m'appelle [name], call [phone]",
                     "bill wrong, ask [customer] about it"}


def test_topics_separate_distinct_vocabularies():
    rows = [f"parcel delivery late courier {i}" for i in range(8)] + \
           [f"invoice refund charged billing {i}" for i in range(8)] + \
           ["mail x.y@example.com parcel", "write to anna.b@example.com courier"]
    df = pd.DataFrame({"comment": rows})
    t = text.topics(df, k=2, min_group_size=1)
    assert t["comments"].sum() == 18
    joined = ", ".join(t["top_terms"])
    assert "parcel" in joined and "refund" in joined
    assert not {"example", "com", "anna"} & set(joined.replace(",", " ").split())  # masked before vectorising
    assert sorted(t["comments"]) == [8, 10]
    with pytest.raises(CxDataError, match="at least"):
        text.topics(df.head(3), k=2)


def test_topics_on_no_comments_or_no_shared_words_raise_a_plain_error(tmp_path):
    con = store(tmp_path, [("c1", "2024-01-10", "nps", 9, None), ("c2", "2024-01-10", "nps", 3, "")])
    with pytest.raises(CxDataError, match="topics need at least 12 comments, found 0"):
        text.topics(text.comments(con), k=6)
    with pytest.raises(CxDataError, match="found 0"):
        text.topics(pd.DataFrame({"comment": pd.Series([], dtype=object)}), k=2)
    with pytest.raises(CxInputError, match="DataFrame of comments"):
        text.topics(pd.DataFrame({"text": ["a", "b"]}), k=1)
    # twelve comments, each word in one comment only: nothing to build topics from
    lonely = pd.DataFrame({"comment": [f"word{chr(97 + i)} other{chr(97 + i)}" for i in range(12)]})
    with pytest.raises(CxDataError, match="share too few words"):
        text.topics(lonely, k=2)


def test_themes_headline_names_the_most_over_represented_theme():
    df = pd.DataFrame({"theme": ["billing", "wait", "staff", "(no theme)"],
                       "over_representation": [3.04, 1.5, math.nan, math.nan],
                       "suppressed": [False, False, False, True]})
    assert text.themes_headline(df) == "Detractors mention billing 3.0 times as often as promoters do"
    only_detractors = df.assign(over_representation=[3.0, math.inf, math.nan, math.nan])
    assert text.themes_headline(only_detractors) == "Detractors mention wait, which no promoter mentions"
    nothing = df.assign(over_representation=math.nan)
    assert text.themes_headline(nothing).startswith("Too few comments from promoters and detractors")
    assert text.themes_headline(df.iloc[:0]).startswith("Too few comments")
    with pytest.raises(CxInputError, match="themes"):
        text.themes_headline(pd.DataFrame({"x": [1]}))


def test_themes_headline_on_a_store_without_comments(tmp_path):
    con = store(tmp_path, [("c1", "2024-01-10", "nps", 9, None), ("c2", "2024-01-10", "csat", 3, "slow")])
    assert text.themes_headline(text.themes(con, taxonomy=TAX)).startswith("Too few comments")
