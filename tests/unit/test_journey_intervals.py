"""95% intervals on journey shares (transitions, variants, journey map) and hand-off repeat rates:
the methods cover the truth on simulated data, the results equal statsmodels on the sample store
and hand-computed cases, and a suppressed group's interval is blank."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint

import cxlib
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey import handoffs, journey_map, paths, step_matrix, transitions, variants
from cxlib.analysis.journey.omnichannel import clustered_wilson
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
CHANNEL = {"chat": "chat", "phone_call": "phone", "email_support": "email"}


def make_store(tmp_path, events, regions=None):
    """events = [(customer, hours, touchpoint)]; regions = {customer: region} (a customers column)."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ids = sorted({e[0] for e in events})
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(i, T0) for i in ids])
    if regions is not None:
        con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
        con.executemany("UPDATE customers SET region = ? WHERE customer_id = ?", [(r, c) for c, r in regions.items()])
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, NULL)",
                    [(c, T0 + timedelta(hours=h), tp, CHANNEL.get(tp, "web")) for c, h, tp in events])
    refresh_derived(con)
    return con


def statsmodels_wilson(x, n) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = proportion_confint(np.asarray(x, dtype=float), np.asarray(n, dtype=float), alpha=0.05, method="wilson")
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


# --- the methods -------------------------------------------------------------------------------

def test_wilson_covers_the_true_share_in_95_of_1000_simulations_where_wald_does_not():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.6, 1000)
    n = rng.integers(10, 60, 1000)
    x = rng.binomial(n, p)
    lo, hi = wilson_bounds(pd.Series(x), pd.Series(n))
    coverage = ((lo <= p) & (p <= hi)).mean()
    assert 0.93 <= coverage <= 0.97, coverage
    half = 1.959964 * np.sqrt(x / n * (1 - x / n) / n)  # Wald on the same draws falls short: the band bites
    assert ((x / n - half <= p) & (p <= x / n + half)).mean() < 0.93


def test_wilson_edge_cases_equal_statsmodels_and_hand_values():
    x = pd.Series([0, 1, 0, 7, 0, 3])
    n = pd.Series([0, 1, 1, 7, 7, 10])
    lo, hi = wilson_bounds(x, n)
    assert np.isnan(lo[0]) and np.isnan(hi[0])  # n = 0: no interval
    slo, shi = statsmodels_wilson(x[1:], n[1:])
    np.testing.assert_allclose(lo[1:], slo, atol=1e-12)
    np.testing.assert_allclose(hi[1:], shi, atol=1e-12)
    assert hi[3] == 1.0 and lo[4] == 0.0  # all successes reach 1, all failures 0
    z2 = 1.959963984540054**2  # 3 of 10 by hand: (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    centre, half = (0.3 + z2 / 20) / (1 + z2 / 10), np.sqrt(z2) * np.sqrt(0.021 + z2 / 400) / (1 + z2 / 10)
    assert lo[5] == pytest.approx(centre - half) and hi[5] == pytest.approx(centre + half)


def _clustered_draws(rng, sims, customers, truth, concentration):
    """Each customer has 1-5 cases and its own repeat probability (beta around `truth`): cases of a customer
    are alike, as a customer's hand-offs are."""
    c = rng.integers(1, 6, size=(sims, customers))
    r = rng.binomial(c, rng.beta(truth * concentration, (1 - truth) * concentration, size=(sims, customers)))
    return r, c


def test_clustered_interval_covers_the_truth_in_95_of_1000_simulations_where_wilson_on_cases_does_not():
    truth = 0.3
    r, c = _clustered_draws(np.random.default_rng(11), 1000, 100, truth, 2.0)
    x, n = r.sum(1), c.sum(1)
    lo, hi = clustered_wilson(x, n, np.full(1000, 100), (r * r).sum(1), (r * c).sum(1), (c * c).sum(1))
    coverage = ((lo <= truth) & (truth <= hi)).mean()
    assert 0.93 <= coverage <= 0.97, coverage
    naive_lo, naive_hi = wilson_bounds(pd.Series(x), pd.Series(n))  # cases taken as independent: far too narrow
    assert ((naive_lo <= truth) & (truth <= naive_hi)).mean() < 0.9


def test_clustered_interval_uses_statsmodels_cluster_robust_variance():
    r, c = _clustered_draws(np.random.default_rng(3), 1, 40, 0.4, 0.5)
    r, c = r[0], c[0]
    y = np.concatenate([[1.0] * ri + [0.0] * (ci - ri) for ri, ci in zip(r, c)])
    groups = np.repeat(np.arange(len(c)), c)
    fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False})
    p, n = y.mean(), len(y)
    n_eff = n / max(1.0, fit.bse[0] ** 2 / (p * (1 - p) / n))
    lo, hi = clustered_wilson([r.sum()], [n], [len(c)], [(r * r).sum()], [(r * c).sum()], [(c * c).sum()])
    slo, shi = statsmodels_wilson(p * n_eff, n_eff)
    assert lo[0] == pytest.approx(float(slo)) and hi[0] == pytest.approx(float(shi))
    assert n_eff < n * 0.8  # clustered: wider than Wilson on the cases
    assert hi[0] - lo[0] > np.subtract(*statsmodels_wilson(r.sum(), n)[::-1])


def test_clustered_interval_edge_cases():
    # one case per customer: deff = 1, the plain Wilson interval of the cases
    lo, hi = clustered_wilson([3], [10], [10], [3], [3], [10])
    slo, shi = statsmodels_wilson(3, 10)
    assert (lo[0], hi[0]) == (pytest.approx(float(slo)), pytest.approx(float(shi)))
    # no repeat in 12 cases of 3 customers: deff unknown, the effective size is the 3 customers
    lo, hi = clustered_wilson([0], [12], [3], [0], [0], [48])
    assert lo[0] == 0.0 and hi[0] == pytest.approx(float(statsmodels_wilson(0, 3)[1]))
    # all repeated, one customer: as one of one
    lo, hi = clustered_wilson([4], [4], [1], [16], [16], [16])
    assert hi[0] == 1.0 and lo[0] == pytest.approx(float(statsmodels_wilson(1, 1)[0]))
    lo, hi = clustered_wilson([0], [0], [0], [0], [0], [0])  # no cases: no interval
    assert np.isnan(lo[0]) and np.isnan(hi[0])


# --- the analyses on the sample store equal statsmodels ---------------------------------------

def test_transition_shares_are_customers_over_customers_leaving_the_source_with_statsmodels_wilson(sample_con):
    for level in ("touchpoint", "stage"):
        out = transitions(sample_con, level=level)
        shown = out[~out["suppressed"]]
        assert len(shown) > 5
        np.testing.assert_allclose(shown["share"], shown["customers"] / shown["source_customers"])
        slo, shi = statsmodels_wilson(shown["customers"], shown["source_customers"])
        np.testing.assert_allclose(shown["share_lower"], slo, atol=1e-12)
        np.testing.assert_allclose(shown["share_upper"], shi, atol=1e-12)
    # the denominator: customers with an event of the source that has a next event (a plain count per touchpoint)
    leaving = sample_con.execute("SELECT touchpoint, count(DISTINCT customer_id) FROM events_ordered "
                                 "WHERE next_ts IS NOT NULL GROUP BY 1").fetchall()
    out = transitions(sample_con).drop_duplicates("source").set_index("source")["source_customers"]
    assert len(out) > 10 and out.astype(int).to_dict() == dict(leaving)


def test_source_customers_read_from_the_first_pair_flags_equal_a_plain_distinct_count(sample_con):
    for level in ("touchpoint", "stage"):
        flagged = transitions(sample_con, level=level, min_group_size=1)  # no range: the stored flags
        plain = transitions(sample_con, level=level, start="2000-01-01", min_group_size=1)  # a range: DISTINCT
        key = ["source", "target"]
        pd.testing.assert_frame_equal(flagged.sort_values(key).reset_index(drop=True),
                                      plain.sort_values(key).reset_index(drop=True))


def test_variant_and_journey_map_shares_equal_statsmodels_wilson(sample_con):
    total = sample_con.execute("SELECT count(DISTINCT customer_id) FROM events").fetchone()[0]
    for out in (variants(sample_con, top=30), variants(sample_con, level="stage", top=10), journey_map(sample_con)):
        shown = out[~out["suppressed"]]
        assert len(shown) >= 3
        slo, shi = statsmodels_wilson(shown["customers"], total)
        np.testing.assert_allclose(shown["share_lower"], slo, atol=1e-12)
        np.testing.assert_allclose(shown["share_upper"], shi, atol=1e-12)
        assert (shown["share_lower"] <= shown["share"]).all() and (shown["share"] <= shown["share_upper"]).all()
        hidden = out[out["suppressed"]]
        assert hidden[["share", "share_lower", "share_upper"]].isna().all().all()


def test_step_matrix_and_path_shares_equal_statsmodels_wilson(sample_con):
    total = sample_con.execute("SELECT count(DISTINCT customer_id) FROM events").fetchone()[0]
    with_checkout = sample_con.execute("SELECT count(DISTINCT customer_id) FROM events "
                                       "WHERE touchpoint = 'checkout'").fetchone()[0]
    for out, n in ((step_matrix(sample_con, max_steps=4), total), (paths(sample_con, "checkout"), with_checkout),
                   (paths(sample_con, "checkout", direction="to"), with_checkout)):
        shown = out[~out["suppressed"]]
        assert len(shown) >= 3
        slo, shi = statsmodels_wilson(shown["customers"], n)
        np.testing.assert_allclose(shown["share_lower"], slo, atol=1e-12)
        np.testing.assert_allclose(shown["share_upper"], shi, atol=1e-12)
        assert out.loc[out["suppressed"], ["share", "share_lower", "share_upper"]].isna().all().all()


def test_journey_map_by_segment_uses_the_segment_as_denominator(sample_con):
    out = journey_map(sample_con, by="region")
    sizes = dict(sample_con.execute("SELECT c.region, count(DISTINCT e.customer_id) FROM events e "
                                    "JOIN customers c USING (customer_id) GROUP BY 1").fetchall())
    shown = out[~out["suppressed"]]
    slo, shi = statsmodels_wilson(shown["customers"], shown["segment"].map(sizes))
    np.testing.assert_allclose(shown["share_lower"], slo, atol=1e-12)
    np.testing.assert_allclose(shown["share_upper"], shi, atol=1e-12)


def test_handoff_repeat_rate_interval_lies_around_the_rate_and_is_blank_when_suppressed(sample_con):
    out = handoffs(sample_con)
    shown = out[~out["suppressed"]]
    assert len(shown) >= 3
    assert ((shown["repeat_rate_lower"] <= shown["repeat_rate"]) & (shown["repeat_rate"] <= shown["repeat_rate_upper"])).all()
    one_each = shown[shown["customers"] == shown["cases"]]  # one case per customer: Wilson on the cases
    slo, shi = statsmodels_wilson((one_each["repeat_rate"] * one_each["cases"]).round(), one_each["cases"])
    np.testing.assert_allclose(one_each["repeat_rate_lower"], slo, atol=1e-12)
    np.testing.assert_allclose(one_each["repeat_rate_upper"], shi, atol=1e-12)
    assert out.loc[out["suppressed"], ["repeat_rate_lower", "repeat_rate_upper"]].isna().all().all()


# --- hand-computed cases -----------------------------------------------------------------------

def test_transition_share_by_hand(tmp_path):
    # leaving a: u1 (a->b, a->c), u2 (a->b), u3 (a->c), u4 (a->b twice): 4 customers; a->b 3 of them, a->c 2
    con = make_store(tmp_path, [("u1", 0, "a"), ("u1", 1, "b"), ("u1", 2, "a"), ("u1", 3, "c"),
                                ("u2", 0, "a"), ("u2", 1, "b"),
                                ("u3", 0, "a"), ("u3", 1, "c"),
                                ("u4", 0, "a"), ("u4", 1, "b"), ("u4", 2, "a"), ("u4", 3, "b")])
    out = transitions(con, min_group_size=1).set_index(["source", "target"])
    assert out.loc[("a", "b"), ["transitions", "customers", "source_customers"]].tolist() == [4, 3, 4]
    assert out.loc[("a", "b"), "share"] == 0.75 and out.loc[("a", "c"), "share"] == 0.5
    assert out.loc[("b", "a"), "share"] == 1.0 and out.loc[("b", "a"), "share_upper"] == 1.0  # u1, u4 of u1, u4
    slo, shi = statsmodels_wilson(3, 4)
    assert out.loc[("a", "b"), "share_lower"] == pytest.approx(float(slo))
    assert out.loc[("a", "b"), "share_upper"] == pytest.approx(float(shi))


def test_handoff_interval_by_hand_with_a_customer_of_many_cases(tmp_path):
    # chat then nothing for a day: a baseline case; 'w' at 2000 h sets the end of the data
    events = [("w", 2000, "home_page")]
    for i in range(6):  # six customers with one chat each, the first two come back within a week
        events += [(f"s{i}", 0, "chat")] + ([(f"s{i}", 48, "email_support")] if i < 2 else [])
    events += [("m", 300 * k, "chat") for k in range(4)]  # one customer with four chats, none followed up
    con = make_store(tmp_path, events)
    out = handoffs(con, contacts=["chat", "email_support"], min_group_size=1).set_index(["from_touchpoint", "to_touchpoint"])
    chat = out.loc[("chat", "(none)")]
    assert (chat["cases"], chat["customers"], chat["repeat_rate"]) == (10, 7, 0.2)
    # by hand: p = 2/10; per customer (r, c): 2 x (1, 1), 4 x (0, 1), (0, 4)
    # V = (2 (1 - .2)^2 + 4 (.2)^2 + (.8)^2) / 100 = 0.0208; deff = V / (.2 * .8 / 10) = 1.3; n_eff = 10 / 1.3
    n_eff = 10 / 1.3
    slo, shi = statsmodels_wilson(0.2 * n_eff, n_eff)
    assert chat["repeat_rate_lower"] == pytest.approx(float(slo)) and chat["repeat_rate_upper"] == pytest.approx(float(shi))


# --- privacy -----------------------------------------------------------------------------------

def test_a_segment_whose_source_is_hidden_cannot_be_worked_out_from_the_other_segment(tmp_path):
    # leaving 'a': 7 customers in the east (a->b, five also a->c), 6 in the north (a->b, five also a->c), 2 in the
    # west (a->c). Without `by`, 15 leave 'a'; if the east's and the north's source_customers (or their shares,
    # which reveal them) were both shown, the west's 2 would be 15 - 7 - 6.
    events, regions = [], {}
    for region, size, to_c, to_b in (("east", 7, 5, 7), ("north", 6, 5, 6), ("west", 2, 2, 0)):
        for i in range(size):
            u = f"{region}{i}"
            regions[u] = region
            events += [(u, 0, "a"), (u, 1, "b")] if i < to_b else []
            events += [(u, 2, "a"), (u, 3, "c")] if i < to_c else []
    con = make_store(tmp_path, events, regions)
    whole = transitions(con, min_group_size=5).set_index(["source", "target"])
    assert whole.loc[("a", "b"), "source_customers"] == 15
    out = transitions(con, by="region", min_group_size=5)
    from_a = out[out["source"] == "a"]
    ab = from_a[from_a["target"] == "b"].set_index("segment")
    assert not ab.loc["east", "suppressed"] and not ab.loc["north", "suppressed"]  # both pairs are shown...
    shown = from_a.dropna(subset=["source_customers"])["segment"].unique()
    assert len(shown) == 1  # ...but only one segment's denominator, so the west's 2 stays hidden
    blank = from_a[~from_a["segment"].isin(shown)]
    assert blank[["source_customers", "share", "share_lower", "share_upper"]].isna().all().all()


def test_intervals_of_suppressed_rows_are_blank(sample_con):
    for out, cols in ((transitions(sample_con, by="region"), ["share", "share_lower", "share_upper", "source_customers"]),
                      (variants(sample_con, by="region"), ["share", "share_lower", "share_upper"]),
                      (journey_map(sample_con, min_group_size=2600), ["share", "share_lower", "share_upper"])):
        hidden = out[out["suppressed"]]
        assert len(hidden) > 0
        assert hidden[cols].isna().all().all()


# --- partial stores ----------------------------------------------------------------------------

def test_a_clickstream_only_store_gets_shares_with_intervals_and_handoffs_say_what_they_need(sample_con, tmp_path):
    frame = sample_con.execute("SELECT customer_id, ts, 'web_' || touchpoint AS touchpoint, channel, session_id "
                               "FROM events").df()
    path = tmp_path / "events_only.duckdb"
    cxlib.ingest(frame, "events", db=path, add_customers=True)
    con = cxlib.connect(path)
    try:
        for out in (transitions(con), variants(con), journey_map(con)):
            shown = out[~out["suppressed"]]
            assert len(shown) > 0 and shown[["share_lower", "share_upper"]].notna().all().all()
        with pytest.raises(cxlib.CxInputError, match="service contact"):
            handoffs(con)
    finally:
        con.close()
