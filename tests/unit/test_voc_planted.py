"""The voice-of-the-customer analyses recover what cxlib.store.sample plants (3,000 customers, seed 7)."""

from __future__ import annotations

import pytest

from cxlib.analysis import voc
from cxlib.analysis.voc import text
from cxlib.store.sample import UNTRUSTED_COMMENTS


def test_long_ticket_resolution_is_the_top_nps_driver(sample_con):
    df = voc.key_drivers(sample_con, bootstrap=50)
    top = df.iloc[0]
    assert top["driver"] == "ticket resolution > 72h"
    assert top["significant"] and top["direction"] == "-"
    # clearly first: its interval sits above the runner-up's point estimate
    assert top["ci_lower"] > df.iloc[1]["importance"]
    assert df["r_squared"].iloc[0] > 0.1


def test_peak_end_predicts_nps_better_than_the_mean(sample_con):
    res = voc.peak_end(sample_con).iloc[0]
    assert res["n"] > 300
    assert res["r_peak_end"] > res["r_mean"] > 0
    assert res["peak_end_better"] and res["p_value"] < 0.01


def test_billing_theme_is_over_represented_among_detractors(sample_con):
    df = text.themes(sample_con).set_index("theme")
    billing = df.loc["billing"]
    # planted: billing is 32% of detractor themes vs 4% of promoter themes
    assert billing["over_representation"] >= 3 and billing["significant"]
    assert billing["nps"] < voc.nps(sample_con)["nps"].iloc[0] - 30  # far below the overall NPS
    # themes planted evenly or towards promoters are not flagged as detractor themes
    for theme in ("delivery", "staff friendliness", "app usability", "product quality"):
        assert df.loc[theme, "over_representation"] < 1


def test_app_checkout_csat_is_lower_than_web(sample_con):
    row = voc.compare(sample_con, metric="csat", by="channel", touchpoint="checkout", groups=("app", "web")).iloc[0]
    assert row["diff"] < 0 and row["significant"]


def test_sentiment_tracks_nps_group(sample_con):
    s = text.sentiment_by_group(text.comments(sample_con)).set_index("segment")["mean_sentiment"]
    assert s["promoter"] > s["passive"] > s["detractor"]


def test_quotes_and_followup_show_no_personal_data(sample_con, tmp_path):
    q = text.quotes(text.comments(sample_con, metric=None), per_theme=50)
    fu = voc.followup_list(sample_con, days=3650)
    shown = " ".join(q["quote"]) + " " + " ".join(fu["comment"].dropna())
    for secret in ("anna.smith@example.com", "7946 0958", "Anna Smith"):
        assert secret not in shown
    assert len(fu) > 100 and (fu["nps_score"] <= 6).all()


def test_untrusted_comments_survive_as_plain_text_and_are_escaped_by_pandas(sample_con):
    c = text.comments(sample_con, metric=None)
    planted = c[c["comment"].isin(UNTRUSTED_COMMENTS)]
    assert len(planted) >= len(UNTRUSTED_COMMENTS)
    html = planted[["comment"]].to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("by", ["region", "plan", "touchpoint", "channel"])
def test_segment_tables_add_up_to_the_total(sample_con, by):
    total = voc.nps(sample_con).iloc[0]
    parts = voc.nps(sample_con, by=by, min_group_size=1)
    assert parts["n"].sum() == total["n"]
    assert parts["promoters"].sum() == total["promoters"]
