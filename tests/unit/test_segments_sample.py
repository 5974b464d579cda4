"""The segment analyses recover what cxlib.store.sample planted: the power_app and support_heavy personas.

Planted (sample_truth.persona): power_app (~12%: many app events, frequent orders, high NPS),
support_heavy (~10%: many tickets and phone contacts, low NPS), mainstream (the rest). The
mainstream customers' own app affinity varies continuously, so a persona is not a clean island;
"recovered" is stated as thresholds below.
"""

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from cxlib.analysis.segments import behaviour_clusters, personalisation_cues, rfm_scores, segment_profile


@pytest.fixture(scope="module")
def truth(sample_db):
    import cxlib

    con = cxlib.connect(sample_db)
    t = con.execute("SELECT customer_id, persona FROM sample_truth").df()
    con.close()
    return t


@pytest.fixture(scope="module")
def clusters(sample_db):
    import cxlib

    con = cxlib.connect(sample_db)
    r = behaviour_clusters(con)  # defaults: k chosen by silhouette over 3..8, seed 0
    con.close()
    return r


def test_clusters_recover_the_personas(clusters, truth):
    m = clusters.assignments.merge(truth, on="customer_id")
    base = m["persona"].value_counts(normalize=True)
    ct = pd.crosstab(m["segment"], m["persona"])
    share_in_cluster = ct.div(ct.sum(axis=1), axis=0)
    share_of_persona = ct / ct.sum(axis=0)
    for persona in ("power_app", "support_heavy"):
        best = share_in_cluster[persona].idxmax()
        # A cluster where the persona is at least 2.5x as common as overall and that holds at
        # least 40% of the persona. A random partition gives about 1x. Measured on two sample
        # stores (3,000 customers seed 7; 30,000 seed 3): power_app 3.3x / 48% and 3.5x / 59%,
        # support_heavy 3.4x / 68% and 3.4x / 64%.
        assert share_in_cluster.loc[best, persona] >= 2.5 * base[persona], (persona, ct)
        assert share_of_persona.loc[best, persona] >= 0.4, (persona, ct)
    # the two persona clusters are different clusters
    assert share_in_cluster["power_app"].idxmax() != share_in_cluster["support_heavy"].idxmax()
    assert adjusted_rand_score(m["persona"], m["segment"]) >= 0.12  # measured 0.19 and 0.20


def test_persona_clusters_carry_the_planted_nps_and_words(clusters, truth):
    m = clusters.assignments.merge(truth, on="customer_id")
    ct = pd.crosstab(m["segment"], m["persona"], normalize="index")
    s = clusters.summary.set_index("segment")
    power, support = ct["power_app"].idxmax(), ct["support_heavy"].idxmax()
    assert s.loc[power, "nps"] == s["nps"].max()
    assert s.loc[support, "nps"] == s["nps"].min()
    assert "support" in s.loc[support, "description"] or "phone" in s.loc[support, "description"]
    assert not s["suppressed"].any() and s["customers"].sum() == len(truth)


def test_profile_and_cues_by_persona(sample_con, truth):
    by = truth.rename(columns={"persona": "segment"})
    p = segment_profile(sample_con, by=by)
    nps = p[p["metric"] == "nps"].set_index("segment")
    assert nps.loc["power_app", "significant"] and nps.loc["power_app", "difference"] > 0
    assert nps.loc["support_heavy", "significant"] and nps.loc["support_heavy", "difference"] < 0
    cues = personalisation_cues(sample_con, by=by, top=1)
    top = {(s, k): v for s, k, v in zip(cues["segment"], cues["kind"], cues["value"])}
    assert top[("power_app", "channel")] == "app"
    assert top[("support_heavy", "channel")] == "phone"


def test_frequent_buyers_of_the_power_app_persona_land_in_the_best_rfm_segments(sample_con, truth):
    r = rfm_scores(sample_con).merge(truth, on="customer_id")
    base = (r["persona"] == "power_app").mean()
    champions = r[r["rfm_segment"] == "champions"]
    assert len(champions) >= 50
    assert (champions["persona"] == "power_app").mean() >= 1.5 * base  # measured 0.25 vs 0.12
    # and every customer has exactly one segment
    assert r["rfm_segment"].notna().all() and r["customer_id"].is_unique
