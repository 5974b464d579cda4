"""Segment profile, usage, cues and clusters on hand-made stores, checked by hand and against cxlib.analysis.voc."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxlib
from cxlib.analysis.segments import behaviour_clusters, personalisation_cues, segment_profile, segment_usage

Z95 = 1.959963984540054


def new_store(tmp_path, name="t.duckdb"):
    con = cxlib.connect(tmp_path / name, read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.execute("ALTER TABLE customers ADD COLUMN plan VARCHAR")
    return con


@pytest.fixture()
def profile_store(tmp_path):
    """north 6 customers, south 8, west 2, east 3 (west and east below 5: suppressed)."""
    con = new_store(tmp_path)
    rows = [(f"N{i}", "north") for i in range(1, 7)] + [(f"S{i}", "south") for i in range(1, 9)]
    rows += [("W1", "west"), ("W2", "west"), ("E1", "east"), ("E2", "east"), ("E3", "east")]
    con.executemany("INSERT INTO customers (customer_id, signup_at, region, plan) VALUES (?, '2024-01-01', ?, 'basic')",
                    rows)
    con.execute("""INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('o1', 'N1', '2024-03-01', 60, 'web'), ('o2', 'N1', '2024-04-01', 40, 'web'),
        ('o3', 'N2', '2024-03-01', 50, 'web'), ('o4', 'S1', '2024-03-01', 80, 'app'), ('o5', 'W1', '2024-03-01', 1000, 'web')""")
    nps = {"N1": 9, "N2": 10, "N3": 10, "N4": 3, "N5": 7, "S1": 0, "S2": 2, "S3": 9, "S4": 8, "S5": 8, "S6": 6,
           "W1": 10, "E1": 0}
    csat = {"N1": 5, "N2": 4, "N3": 2, "S1": 5, "S2": 5, "S3": 4, "S4": 1, "S5": 2}
    rows = [(f"n{c}", c, "nps", s) for c, s in nps.items()] + [(f"c{c}", c, "csat", s) for c, s in csat.items()]
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) "
                    "VALUES (?, ?, '2024-05-01', ?, ?)", rows)
    yield con
    con.close()


def metric_rows(df, metric):
    return df[df["metric"] == metric].set_index("segment")


def test_profile_revenue_and_nps_by_hand(profile_store):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)  # no events: churn cannot be judged here
        df = segment_profile(profile_store, by="region")
    assert set(df.columns) == {"segment", "metric", "customers", "n", "value", "ci_lower", "ci_upper", "rest_value",
                               "difference", "z", "p_value", "p_adjusted", "significant", "suppressed"}
    rev = metric_rows(df, "revenue_per_customer")
    # north: 100, 50, 0, 0, 0, 0 -> mean 25, sample var 8750 / 5 = 1750; south: 80, 0 x 7 -> 10, var 5600 / 7 = 800
    n = rev.loc["north"]
    assert (n["customers"], n["n"], n["value"]) == (6, 6, pytest.approx(25.0))
    half = stats.t.ppf(0.975, 5) * math.sqrt(1750) / math.sqrt(6)
    assert (n["ci_lower"], n["ci_upper"]) == pytest.approx((25 - half, 25 + half))
    # the rest of north = the other VISIBLE segments = south (west, east suppressed, never pooled)
    z = 15 / math.sqrt(1750 / 6 + 800 / 8)
    assert n["rest_value"] == pytest.approx(10.0) and n["difference"] == pytest.approx(15.0)
    assert n["z"] == pytest.approx(z) and n["p_value"] == pytest.approx(2 * stats.norm.sf(z))
    assert rev.loc["south", "z"] == pytest.approx(-z)
    # two equal p-values: Benjamini-Hochberg leaves them as they are
    assert rev.loc["north", "p_adjusted"] == pytest.approx(2 * stats.norm.sf(z))
    assert not rev.loc["north", "significant"]
    for seg in ("west", "east"):
        assert rev.loc[seg, "suppressed"] and pd.isna(rev.loc[seg, "value"]) and pd.isna(rev.loc[seg, "customers"])
    nps = metric_rows(df, "nps")
    # west and east (hidden for their size) hold one answer each: 2 answers, below 5, which the
    # overall NPS minus north and south would give away; so north's NPS (5 answers, the smallest
    # visible) is hidden with them, and south is left with nothing to compare with
    assert nps.loc["north", "suppressed"] and pd.isna(nps.loc["north", "value"]) and pd.isna(nps.loc["north", "n"])
    assert not nps.loc["south", "suppressed"] and pd.isna(nps.loc["south", "p_value"])
    # with min_group_size 2, west and east show but their single answers are hidden (2 answers in 2
    # groups: no complement needed), and north is tested against south alone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        nps = metric_rows(segment_profile(profile_store, by="region", min_group_size=2), "nps")
    # north: 9, 10, 10, 3, 7 -> P 3, D 1, n 5 -> 40; south: 0, 2, 9, 8, 8, 6 -> P 1, D 3, n 6 -> -33.3
    assert nps.loc["north", "value"] == pytest.approx(40.0) and nps.loc["north", "n"] == 5
    se_n = math.sqrt((0.6 + 0.2 - 0.4**2) / 5) * 100
    assert (nps.loc["north", "ci_lower"], nps.loc["north", "ci_upper"]) == pytest.approx((40 - Z95 * se_n, 100.0))
    p_s, d_s = 1 / 6, 3 / 6
    se_s = math.sqrt((p_s + d_s - (p_s - d_s) ** 2) / 6) * 100
    z_nps = (40 - (-100 / 3)) / math.sqrt(se_n**2 + se_s**2)
    assert nps.loc["north", "z"] == pytest.approx(z_nps)
    assert nps.loc["north", "p_value"] == pytest.approx(2 * stats.norm.sf(z_nps))
    # the east segment holds a detractor answer yet is hidden: it is blanked, never tested
    assert nps.loc["east", "suppressed"] and pd.isna(nps.loc["east", "n"]) and pd.isna(nps.loc["east", "value"])


def test_profile_suppresses_metrics_with_few_answers(profile_store):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        df = segment_profile(profile_store, by="region")
    cs = metric_rows(df, "csat")
    # north has 3 csat answers (< 5): suppressed on that row; the segment itself stays visible
    assert cs.loc["north", "suppressed"] and pd.isna(cs.loc["north", "value"])
    assert cs.loc["north", "customers"] == 6
    # south's 5 answers are the only other ones (west and east have none): shown, they would give
    # north's 3 away through the overall CSAT, so south's CSAT is hidden as the complement
    assert cs.loc["south", "suppressed"] and pd.isna(cs.loc["south", "value"]) and cs.loc["south", "customers"] == 8
    assert not cs["significant"].any()
    ce = metric_rows(df, "ces")
    # no CES answers at all: visible segments show n 0 and no score, and hide nobody
    assert ce.loc["north", "n"] == 0 and pd.isna(ce.loc["north", "value"]) and not ce.loc["north", "suppressed"]


def test_complementary_suppression_and_bh(tmp_path):
    con = new_store(tmp_path)
    rows = [(f"a{i}", "a") for i in range(6)] + [(f"b{i}", "b") for i in range(7)] + [(f"c{i}", "c") for i in range(3)]
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)", rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        df = segment_profile(con, by="region")
    rev = metric_rows(df, "revenue_per_customer")
    # c (3) is hidden; exactly one hidden, so the next smallest (a, 6) is hidden too
    assert rev["suppressed"].to_dict() == {"a": True, "b": False, "c": True}
    con.close()


def test_bh_adjustment_matches_statsmodels(tmp_path):
    from statsmodels.stats.multitest import multipletests

    con = new_store(tmp_path)
    rng = np.random.default_rng(5)
    rows, answers = [], []
    for g, p_promoter in zip("abcd", (0.2, 0.4, 0.5, 0.8)):
        for i in range(30):
            rows.append((f"{g}{i}", g))
            answers.append((f"r{g}{i}", f"{g}{i}", 10 if rng.random() < p_promoter else 3))
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)", rows)
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) "
                    "VALUES (?, ?, '2024-05-01', 'nps', ?)", answers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        nps = metric_rows(segment_profile(con, by="region"), "nps")
    expected = multipletests(nps["p_value"].to_numpy(), method="fdr_bh")[1]
    assert nps["p_adjusted"].to_numpy() == pytest.approx(expected)
    assert nps["significant"].tolist() == (expected < 0.05).tolist()
    assert nps.loc["a", "significant"] and nps.loc["d", "significant"]  # 20% vs 80% promoters
    # the same numbers as cxlib.analysis.voc.comparisons, the shared each-vs-rest test
    ref = cxlib.compare(con, metric="nps", by="region").set_index("segment")
    assert nps["z"].to_numpy() == pytest.approx(ref.loc[nps.index, "z"].to_numpy())
    assert nps["p_adjusted"].to_numpy() == pytest.approx(ref.loc[nps.index, "p_adjusted"].to_numpy())
    con.close()


def test_profile_scores_equal_cxlib_voc(profile_store):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        df = segment_profile(profile_store, by="region", start="2024-01-01", end="2024-12-31")
    for metric, fn, col in (("nps", cxlib.nps, "nps"), ("csat", cxlib.csat, "csat")):
        ours = metric_rows(df, metric)
        ref = fn(profile_store, by="region", start="2024-01-01", end="2024-12-31").set_index("segment")
        for seg in ref.index[~ref["suppressed"]]:
            assert ours.loc[seg, "value"] == pytest.approx(ref.loc[seg, col])
            assert ours.loc[seg, "ci_lower"] == pytest.approx(ref.loc[seg, "ci_lower"])
            assert ours.loc[seg, "ci_upper"] == pytest.approx(ref.loc[seg, "ci_upper"])


def test_start_end_window(profile_store):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        df = segment_profile(profile_store, by="region", start="2024-03-15", end="2024-04-30")
    rev = metric_rows(df, "revenue_per_customer")
    assert rev.loc["north", "value"] == pytest.approx(40 / 6)  # only o2 (2024-04-01) is in the window
    assert metric_rows(df, "nps").loc["north", "n"] == 0  # the answers are on 2024-05-01
    with pytest.raises(cxlib.CxInputError, match="must be after start"):
        segment_profile(profile_store, by="region", start="2024-05-01", end="2024-01-01")


def test_profile_with_churn_rate_from_cxlib_churn(profile_store):
    from cxlib.analysis.churn import churn_rate

    profile_store.execute("""INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES
        ('N1', 'basic', '2024-01-01', '2024-06-01'), ('N2', 'basic', '2024-01-01', NULL),
        ('N3', 'basic', '2024-01-01', NULL), ('N4', 'basic', '2024-01-01', NULL), ('N5', 'basic', '2024-01-01', NULL),
        ('S1', 'basic', '2024-01-01', '2024-02-01'), ('S2', 'basic', '2024-01-01', '2024-02-01'),
        ('S3', 'basic', '2024-01-01', NULL), ('S4', 'basic', '2024-01-01', NULL), ('S5', 'basic', '2024-01-01', NULL)""")
    # five customers without a region: their own segment '(none)', 2 of 5 churned
    profile_store.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')",
                              [(f"X{i}",) for i in range(5)])
    profile_store.executemany("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES (?, 'basic', '2024-01-01', ?)",
                              [(f"X{i}", "2024-03-01" if i < 2 else None) for i in range(5)])
    df = segment_profile(profile_store, by="region", churn_definition="contractual")
    ch = metric_rows(df, "churn_rate")
    assert ch.loc["(none)", "n"] == 5 and ch.loc["(none)", "value"] == pytest.approx(0.4)
    ref = churn_rate(profile_store, by="region", definition="contractual", min_group_size=1).set_index("segment")
    assert ch.loc["north", "n"] == ref.loc["north", "customers"] == 5
    assert ch.loc["north", "value"] == pytest.approx(0.2) and ch.loc["south", "value"] == pytest.approx(0.4)
    # the rest of north: south and (none) pooled, 4 churned of 10
    z = (0.2 - 0.4) / math.sqrt(0.2 * 0.8 / 5 + 0.4 * 0.6 / 10)
    assert ch.loc["north", "rest_value"] == pytest.approx(0.4) and ch.loc["north", "z"] == pytest.approx(z)


def test_by_is_validated_with_a_suggestion(profile_store):
    with pytest.raises(cxlib.CxInputError, match="did you mean 'region'"):
        segment_profile(profile_store, by="regon")
    with pytest.raises(cxlib.CxInputError, match="customer_id and segment"):
        segment_profile(profile_store, by=pd.DataFrame({"customer_id": ["N1"], "cluster": [1]}))
    with pytest.raises(cxlib.CxInputError, match="customers column name"):
        segment_usage(profile_store, by=3)
    with pytest.raises(cxlib.CxInputError, match="alpha"):
        segment_profile(profile_store, by="region", alpha=5)
    with pytest.raises(cxlib.CxInputError, match="min_group_size"):
        segment_profile(profile_store, by="region", min_group_size=0)


def test_profile_by_assignment_frame_equals_by_column_and_keeps_input(profile_store):
    frame = profile_store.execute("SELECT customer_id, region AS segment FROM customers").df()
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        a = segment_profile(profile_store, by="region")
    b = segment_profile(profile_store, by=frame)
    # every metric, churn rate included (a frame's churn comes from each member's churn status)
    assert "churn_rate" in set(b["metric"])
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    pd.testing.assert_frame_equal(frame, before)  # never mutates its input


@pytest.fixture()
def usage_store(tmp_path):
    con = new_store(tmp_path)
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)",
                    [("N1", "north"), ("N2", "north"), ("N3", "north"), ("S1", "south"), ("S2", "south")])
    ev = [("N1", "app", "home_page")] * 3 + [("N1", "web", "checkout")] + [("N2", "web", "home_page")] * 2
    ev += [("S1", "web", "chat")] * 2 + [("S2", "app", "chat")] * 2
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, ?, ?)",
                    [(c, f"2024-02-01 10:{i:02d}", tp, ch) for i, (c, ch, tp) in enumerate(ev)])
    yield con
    con.close()


def test_usage_by_hand(usage_store):
    u = segment_usage(usage_store, by="region", min_group_size=1).set_index(["segment", "kind", "value"])
    hp = u.loc[("north", "touchpoint", "home_page")]
    # north: 3 customers (N3 never active), 6 events, 5 on home_page by N1 and N2; overall 10 events, 5 customers
    assert (hp["customers"], hp["users"]) == (3, 2)
    assert hp["reach"] == pytest.approx(2 / 3) and hp["overall_reach"] == pytest.approx(2 / 5)
    assert hp["event_share"] == pytest.approx(5 / 6) and hp["overall_event_share"] == pytest.approx(0.5)
    assert hp["lift"] == pytest.approx(5 / 3) and hp["rank"] == 1
    assert u.loc[("north", "touchpoint", "checkout"), "rank"] == 2
    # app and web tie at 3 events in north: ranked by name
    assert u.loc[("north", "channel", "app"), "rank"] == 1 and u.loc[("north", "channel", "web"), "rank"] == 2
    assert u.loc[("north", "channel", "app"), "lift"] == pytest.approx(1.0)
    assert u.loc[("south", "touchpoint", "chat"), "lift"] == pytest.approx(1 / 0.4)
    assert ("south", "touchpoint", "home_page") not in u.index  # never used: no row


def test_usage_suppression(usage_store):
    u = segment_usage(usage_store, by="region", min_group_size=3)
    # south (2 customers) is hidden everywhere; north cells with fewer than 3 users are hidden
    assert u.loc[u["segment"] == "south", "suppressed"].all()
    assert u.loc[u["segment"] == "south", "customers"].isna().all()
    assert u["suppressed"].all()  # no north cell reaches 3 users either
    assert u.loc[u["suppressed"], ["users", "reach", "lift", "rank"]].isna().all().all()


def test_cues_pick_the_highest_lifts(usage_store):
    # ten copies of each customer: the same lifts and reaches, and enough customers for intervals above 1
    usage_store.execute("""CREATE TEMP TABLE copies AS SELECT range AS k FROM range(1, 10)""")
    usage_store.execute("""INSERT INTO customers (customer_id, signup_at, region)
                           SELECT customer_id || '_' || k, signup_at, region FROM customers, copies""")
    usage_store.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel)
                           SELECT customer_id || '_' || k, ts, touchpoint, channel FROM events, copies""")
    c = personalisation_cues(usage_store, by="region", top=1, min_lift=1.2, min_group_size=1)
    got = {(s, k): v for s, k, v in zip(c["segment"], c["kind"], c["value"])}
    # north touchpoints: home_page and checkout both 5/3 -> ties by name; no channel above 1.2
    assert got == {("north", "touchpoint"): "checkout", ("south", "touchpoint"): "chat"}
    chat = c[c["value"] == "chat"].iloc[0]
    assert chat["cue"] == "uses chat 2.5x as much as average (95% interval 2.1-3.0; reach 100% vs 40%)"
    hidden = personalisation_cues(usage_store, by="region", min_group_size=25)  # south's 20, north its complement
    assert hidden["suppressed"].all() and set(hidden["segment"]) == {"north", "south"}
    with pytest.raises(cxlib.CxInputError, match="top"):
        personalisation_cues(usage_store, by="region", top=0)


@pytest.fixture()
def two_groups(tmp_path):
    """12 app-heavy buyers and 12 phone-heavy support customers: two obvious clusters."""
    con = new_store(tmp_path)
    rows, ev, tickets = [], [], []
    for i in range(12):
        rows += [(f"A{i:02d}",), (f"P{i:02d}",)]
        for j in range(20 + i):
            ev.append((f"A{i:02d}", f"2024-02-{1 + j % 27:02d} {j % 24:02d}:00", "app_login", "app"))
        for j in range(3 + i % 3):
            ev.append((f"P{i:02d}", f"2024-02-{1 + j:02d} 10:00", "phone_call", "phone"))
            tickets.append((f"t{i}-{j}", f"P{i:02d}", f"2024-02-{1 + j:02d}", "phone"))
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')", rows)
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, ?, ?)", ev)
    con.executemany("INSERT INTO tickets (ticket_id, customer_id, opened_at, channel) VALUES (?, ?, ?, ?)", tickets)
    con.executemany("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES (?, ?, '2024-02-10', 30, 'app')", [(f"o{i}", f"A{i:02d}") for i in range(12)])
    cxlib.store.refresh_derived(con)
    yield con
    con.close()


def test_clusters_recover_two_planted_groups(two_groups):
    r = behaviour_clusters(two_groups, k_range=(2, 4))
    assert r.k == 2 and r.silhouette == r.selection.set_index("k").loc[2, "silhouette"]
    assert r.selection["k"].tolist() == [2, 3, 4]
    a = r.assignments.set_index("customer_id")["segment"]
    assert a[a.index.str.startswith("A")].nunique() == 1 and a[a.index.str.startswith("P")].nunique() == 1
    assert a["A00"] != a["P00"]
    s = r.summary.set_index("segment")
    assert s["customers"].tolist() == [12, 12] and s["share"].tolist() == [0.5, 0.5]
    app = a["A00"]
    desc = s.loc[app, "description"]
    assert "app" in desc or "activity" in desc, desc
    f = r.features.set_index(["segment", "feature"])
    assert f.loc[(app, "channel_app"), "z"] > 0.9 and f.loc[(app, "channel_app"), "cluster_mean"] == 1.0
    assert f.loc[(a["P00"], "tickets"), "z"] > 0.9
    # deterministic: the same call gives the same clusters
    again = behaviour_clusters(two_groups, k_range=(2, 4))
    pd.testing.assert_frame_equal(r.assignments, again.assignments)
    pd.testing.assert_frame_equal(r.summary, again.summary)


def test_clusters_given_k_suppression_and_errors(two_groups):
    r = behaviour_clusters(two_groups, k=2, min_group_size=13)
    assert r.selection["k"].tolist() == [2] and r.summary["suppressed"].all()
    assert r.features.empty  # profiles of hidden clusters are not shown
    with pytest.raises(cxlib.CxInputError, match="k must be"):
        behaviour_clusters(two_groups, k=1)
    with pytest.raises(cxlib.CxInputError, match="k_range"):
        behaviour_clusters(two_groups, k_range=(5, 3))
    with pytest.raises(cxlib.CxDataError, match="too little data"):
        behaviour_clusters(two_groups, k=30)


def test_no_events_and_no_answers(tmp_path):
    con = new_store(tmp_path)
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)",
                    [(f"x{i}", "north" if i % 2 else "south") for i in range(12)])
    u = segment_usage(con, by="region")
    assert u.empty and "lift" in u.columns
    c = personalisation_cues(con, by="region")
    assert c.empty and list(c.columns) == ["segment", "kind", "value", "reach", "overall_reach", "lift",
                                           "lift_ci_lower", "lift_ci_upper", "cue", "suppressed"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        p = segment_profile(con, by="region")
    nps = metric_rows(p, "nps")
    assert (nps["n"] == 0).all() and nps["value"].isna().all() and not nps["suppressed"].any()
    rev = metric_rows(p, "revenue_per_customer")
    assert (rev["value"] == 0).all() and (rev["z"] == 0).all() and (rev["p_value"] == 1).all()
    con.close()


def test_export_segments_neutralises_formulas(two_groups, tmp_path):
    two_groups.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('=HYPERLINK(1)', '2024-01-01')")
    r = behaviour_clusters(two_groups, k=2)
    path = cxlib.export_segments(two_groups, tmp_path / "out" / "seg.csv", clusters=r)
    df = pd.read_csv(path)
    assert list(df.columns)[-2:] == ["rfm_segment", "cluster"]
    assert "'=HYPERLINK(1)" in set(df["customer_id"]) and "=HYPERLINK(1)" not in set(df["customer_id"])
    assert df.loc[df["customer_id"] == "A00", "rfm_segment"].iloc[0] != "no purchase"
    assert df.loc[df["customer_id"] == "P00", "rfm_segment"].iloc[0] == "no purchase"
    with pytest.raises(cxlib.CxInputError, match="behaviour_clusters"):
        cxlib.export_segments(two_groups, tmp_path / "x.csv", clusters="no")


def test_clusters_fitted_on_a_sample_still_assign_everybody(two_groups):
    full = behaviour_clusters(two_groups, k=2)
    sampled = behaviour_clusters(two_groups, k=2, fit_sample=12)
    assert len(sampled.assignments) == 24
    # the same partition (labels may only be renumbered, and are numbered by size anyway)
    pairs = set(zip(full.assignments["segment"], sampled.assignments["segment"]))
    assert len(pairs) == 2
    again = behaviour_clusters(two_groups, k=2, fit_sample=12)
    pd.testing.assert_frame_equal(sampled.assignments, again.assignments)
    with pytest.raises(cxlib.CxInputError, match="fit_sample"):
        behaviour_clusters(two_groups, k=2, fit_sample=3)
