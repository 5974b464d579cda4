"""Sentiment and themes on comments beyond English: other languages are 'not scored' (never 0),
counted per language; negation; themes across every survey metric."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.voc import text
from cxlib.errors import CxDataError, CxInputError

TAX = {"billing": ["bill*", "invoice"], "delivery": ["delivery", "parcel"]}


def store(tmp_path, answers):
    """A surveys-only store (customers and survey answers, nothing else)."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({a[0] for a in answers})
    con.executemany("INSERT INTO customers VALUES (?, '2024-01-01')", [(i,) for i in ids])
    rows = [(f"r{i:05d}", a[0], "2024-01-05", a[1], a[2], None, None, a[3]) for i, a in enumerate(answers)]
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, "
                    "channel, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


# sign of the score, checked by hand: a negator reaches up to 4 tokens within its clause
@pytest.mark.parametrize("comment,sign", [
    ("not good", -1),
    ("never again", -1),
    ("wasn't helpful", -1),
    ("I can't say it was good", -1),  # 'good' is 4 tokens after "can't": VADER's 3 would miss it
    ("no problems", 1),
    ("not bad at all", 1),
    ("Never had a problem with them", 1),
    ("Not worth the money", -1),
    ("I would not recommend it", -1),
    ("No waiting at all, great", 1),
    ("Good, but not fast", 0),  # the comma ends nothing here; 'not fast' flips only 'fast'
    ("Not rude, just slow", 0),  # the comma ends the negation: 'slow' stays negative
    ("Never again, great service otherwise", 0),  # 'never' alone in its clause counts negative
    ("Great service, thank you", 1),
    ("The parcel arrived on Monday morning", 0),
])
def test_sentiment_sign_with_negation(comment, sign):
    assert text.sentiment(comment, language="en") == pytest.approx(sign)


def test_other_languages_and_unknown_are_not_scored_never_zero():
    assert math.isnan(text.sentiment("Sehr schlecht, nie wieder"))  # German: scored 0 before
    assert math.isnan(text.sentiment("Très bon service"))
    assert math.isnan(text.sentiment("👍"))  # too short to tell: unknown
    assert text.sentiment("I can't say it was good") == -1.0  # detected as English
    assert text.sentiment("The parcel arrived on Monday morning") == 0.0  # English, no sentiment word
    assert math.isnan(text.sentiment("Great service, thank you", language="de"))


MIXED = [
    # customer, metric, score, comment
    ("a", "nps", 1, "My bill was wrong and nobody fixed it"),
    ("b", "nps", 2, "The invoice was wrong again this month"),
    ("c", "nps", 3, "The delivery was late and the parcel was damaged"),
    ("d", "nps", 9, "Great service and a quick delivery, thank you"),
    ("e", "nps", 10, "The bill was correct and the staff were friendly"),
    ("f", "nps", 2, "Die Rechnung war falsch und niemand hat geholfen"),
    ("g", "nps", 1, "Sehr schlecht, nie wieder bestelle ich hier"),
    ("h", "nps", 3, "Die Lieferung kam viel zu spät an"),
    ("i", "csat", 1, "La facture était fausse, très déçu"),
    ("j", "csat", 2, "The bill was much higher than the quote I was given"),
    ("k", "ces", 6, "The delivery tracking page was very confusing"),
    ("l", "ces", 2, "ok"),
]


def test_themes_read_every_metric_and_count_other_languages_as_not_scored(tmp_path):
    con = store(tmp_path, MIXED)
    df = text.themes(con, taxonomy=TAX, min_group_size=1).set_index("theme")
    # English or unknown: a-e (nps), j (csat), k, l (ces) = 8 comments; German f-h and French i not scored
    b = df.loc["billing"]  # a, b, e (nps) and j (csat)
    assert (b["comments"], b["detractors"], b["promoters"], b["passives"]) == (4, 2, 1, 0)
    assert b["share"] == pytest.approx(4 / 8 * 100)
    assert b["nps"] == pytest.approx((1 - 2) / 3 * 100)  # of the 3 NPS answers only
    d = df.loc["delivery"]  # c, d (nps), k (ces)
    assert (d["comments"], d["detractors"], d["promoters"]) == (3, 1, 1)
    assert df.loc["(no theme)", "comments"] == 1  # "ok": unknown language, matched, no keyword
    assert df.attrs["not_scored"] == {"de": 3, "fr": 1}
    assert text.not_scored_note(df, min_group_size=2) == (
        "4 comments in other languages were not scored (de 3, fr): the sentiment words and theme keywords are "
        "English")
    nps_only = text.themes(con, taxonomy=TAX, metric="nps", min_group_size=1).set_index("theme")
    assert nps_only.loc["billing", "comments"] == 3 and nps_only.attrs["not_scored"] == {"de": 3}
    csat_only = text.themes(con, taxonomy=TAX, metric="csat", min_group_size=1).set_index("theme")
    assert csat_only.loc["billing", "comments"] == 1 and math.isnan(csat_only.loc["billing", "nps"])
    with pytest.raises(CxInputError, match="metric 'nsp'.*did you mean 'nps'"):
        text.themes(con, taxonomy=TAX, metric="nsp")


def test_theme_nps_from_too_few_nps_answers_is_blank(tmp_path):
    con = store(tmp_path, MIXED)
    df = text.themes(con, taxonomy=TAX, min_group_size=4).set_index("theme")
    b = df.loc["billing"]  # 4 comments (shown) but only 3 of them on NPS answers: no NPS from 3 people
    assert not b["suppressed"] and b["comments"] == 4
    assert math.isnan(b["nps"]) and math.isnan(b["ci_lower"]) and math.isnan(b["ci_upper"])
    for col in ["promoters", "passives", "detractors", "detractor_share", "over_representation", "p_value",
                "p_adjusted"]:
        assert pd.isna(b[col]), col  # 1 promoter and 2 detractors among 3 people would show their scores
    assert not b["significant"]
    assert df.loc["delivery", "suppressed"]  # 3 comments: under 4


def test_comments_carry_language_and_leave_other_languages_without_themes(tmp_path):
    con = store(tmp_path, MIXED)
    c = text.comments(con, taxonomy=TAX, metric=None).set_index("comment")
    assert c.loc["Sehr schlecht, nie wieder bestelle ich hier", "language"] == "de"
    assert c.loc["Sehr schlecht, nie wieder bestelle ich hier", "themes"] is None  # not scored, not "no theme"
    assert c.loc["ok", "language"] == "unknown" and c.loc["ok", "themes"] == []
    assert c.loc["My bill was wrong and nobody fixed it", "themes"] == ["billing"]
    assert text.not_scored_note(c.reset_index(), min_group_size=1).startswith(
        "4 comments in other languages were not scored (de 3, fr 1)")
    q = text.quotes(c.reset_index(), per_theme=5, min_group_size=1)
    assert not q["quote"].str.contains("Rechnung|facture").any()


def test_sentiment_by_group_counts_scored_comments_only(tmp_path):
    con = store(tmp_path, MIXED)
    g = text.sentiment_by_group(text.comments(con, taxonomy=TAX), min_group_size=1).set_index("segment")
    # detractors: a, b, c (English, all negative) and f, g, h (German: not scored)
    assert g.loc["detractor", "n"] == 3 and g.loc["detractor", "not_scored"] == 3
    assert g.loc["detractor", "mean_sentiment"] == pytest.approx(-1.0)
    assert g.loc["promoter", "n"] == 2 and g.loc["promoter", "mean_sentiment"] == pytest.approx(1.0)
    assert g.attrs["not_scored"] == {"de": 3}
    # a group under the minimum size: its not_scored count is blanked with its mean
    small = text.sentiment_by_group(text.comments(con, taxonomy=TAX), min_group_size=3).set_index("segment")
    assert small.loc["promoter", "suppressed"] and pd.isna(small.loc["promoter", "not_scored"])
    assert small.loc[small["suppressed"], "not_scored"].isna().all()


def test_a_german_only_store_says_nothing_can_be_scored(tmp_path):
    con = store(tmp_path, [(f"c{i}", "nps", i, t) for i, t in enumerate([
        "Sehr schlecht, nie wieder", "Die Rechnung war falsch", "Die Lieferung kam zu spät",
        "Freundlicher Kundendienst, danke", "Alles gut, schnelle Lieferung", "Zu teuer für die Qualität"])])
    with pytest.raises(CxDataError, match="no comment is in a language the theme keywords are written in "
                                          r"\(en\); the 6 comments are in de 6"):
        text.themes(con, taxonomy=TAX)
    c = text.comments(con, taxonomy=TAX)
    assert set(c["language"]) == {"de"} and c["themes"].isna().all()
    g = text.sentiment_by_group(c, min_group_size=1)
    assert (g["n"] == 0).all() and g["mean_sentiment"].isna().all()
    assert text.not_scored_note(g) == ("6 comments in other languages were not scored (de 6): "
                                       "the sentiment words and theme keywords are English")
    assert text.quotes(c, min_group_size=1).empty


def test_no_comments_at_all_has_no_note(tmp_path):
    con = store(tmp_path, [("a", "nps", 9, None), ("b", "csat", 3, "")])
    df = text.themes(con, taxonomy=TAX)
    assert df.attrs["not_scored"] == {} and text.not_scored_note(df) == ""
    with pytest.raises(CxInputError, match="not_scored_note takes"):
        text.not_scored_note(pd.DataFrame({"comment": ["a"]}))


def test_chart_themes_draws_each_themes_nps_interval(tmp_path):
    from cxlib.charts import voc as voc_charts
    from cxlib.charts.theme import colour

    con = store(tmp_path, MIXED)
    spec = voc_charts.chart_themes(text.themes(con, taxonomy=TAX, min_group_size=1)).to_dict()
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert len(rules) == 1 and rules[0]["mark"]["color"] == colour("interval")
    assert (rules[0]["encoding"]["y"]["field"], rules[0]["encoding"]["y2"]["field"]) == ("ci_lower", "ci_upper")
    assert "95% Wald interval" in spec["description"]


def test_themes_headline_never_names_no_theme():
    df = pd.DataFrame({"theme": ["billing", text.NO_THEME], "over_representation": [6.6, math.inf],
                       "suppressed": [False, False]})
    assert text.themes_headline(df) == "Detractors mention billing 6.6 times as often as promoters do"


def test_the_themes_section_runs_on_a_store_with_csat_comments_only(tmp_path):
    from cxlib.analysis import needs

    csat_only = [(f"c{i}", "csat", 1 + i % 5, "The invoice was wrong again this month") for i in range(6)]
    con = store(tmp_path, csat_only)
    assert needs.readiness(con, "voc.themes")  # the section reads every metric's comments, not only NPS
    assert text.themes(con, taxonomy=TAX, min_group_size=1).set_index("theme").loc["billing", "comments"] == 6
    bare = store(tmp_path / "bare", [("c1", "csat", 4, None)])
    assert "survey answers with a comment" in needs.readiness(bare, "voc.themes").sentence
