"""Intervals on usage lifts and personalisation cues: the delta method on log lift with customers as
the unit, checked against an influence function computed numerically from raw customers, a
customer bootstrap, coverage on 1,000 simulated stores (where Katz's interval on events fails),
edge cases, suppression and the cue rule."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxlib
from cxlib.analysis.segments import personalisation_cues, segment_usage
from cxlib.analysis.segments.profile import lift_interval


def new_store(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    return con


def _sums(a, b, seg, n_seg):
    """n, a, b, a_sq, ab, b_sq per segment (last axis) from customers' counts (last axis customers)."""
    def per(v):
        return np.stack([v[..., seg == h].sum(axis=-1) for h in range(n_seg)], axis=-1)
    n = np.broadcast_to(np.bincount(seg, minlength=n_seg), per(a).shape)
    return n, per(a), per(b), per(a * a), per(a * b), per(b * b)


def _influence_interval(a, b, seg, s):
    """The same interval computed the long way: each customer's influence on log lift by numerical
    differentiation of the weighted estimator, then the stratified variance of the influences."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)

    def log_lift(w):
        own = seg == s
        return np.log((w[own] @ a[own]) / (w[own] @ b[own]) / ((w @ a) / (w @ b)))

    w, eps = np.ones(len(a)), 1e-6
    z = np.array([(log_lift(w + eps * np.eye(len(a))[i]) - log_lift(w - eps * np.eye(len(a))[i])) / (2 * eps)
                  for i in range(len(a))])
    var = sum(len(z[seg == h]) / (len(z[seg == h]) - 1) * ((z[seg == h] - z[seg == h].mean()) ** 2).sum()
              for h in np.unique(seg))
    # Student t on Kish's effective number of the segment's customers, weighted by their events
    lift, t = np.exp(log_lift(w)), stats.t.ppf(0.975, max(b[seg == s].sum() ** 2 / (b[seg == s] ** 2).sum() - 1, 1))
    return lift, lift * np.exp(-t * np.sqrt(var)), lift * np.exp(t * np.sqrt(var))


def test_lift_interval_matches_the_influence_function_by_hand():
    # segment 0: three customers (app events, all events) = (2, 4), (1, 1), (0, 3); segment 1: (1, 2), (3, 3)
    a, b, seg = np.array([2, 1, 0, 1, 3]), np.array([4, 1, 3, 2, 3]), np.array([0, 0, 0, 1, 1])
    lift, low, high = lift_interval(*_sums(a, b, seg, 2))
    # lift of segment 0 = (3 / 8) / (7 / 13) = 39 / 56
    assert lift[0] == pytest.approx(39 / 56)
    for s in (0, 1):
        assert (lift[s], low[s], high[s]) == pytest.approx(_influence_interval(a, b, seg, s), rel=1e-6)


def test_one_event_per_customer_matches_statsmodels_katz():
    # With one event each, customers are independent Bernoulli draws: Katz's log interval of the
    # segment-against-rest ratio (statsmodels) carried to the lift against everybody by the delta
    # method, lift = RR / (w RR + 1 - w), w = the segment's share of events, gives the same SE.
    from statsmodels.stats.proportion import confint_proportions_2indep

    ns, nr, xs, xr = 400, 600, 130, 120
    a = np.r_[np.ones(xs), np.zeros(ns - xs), np.ones(xr), np.zeros(nr - xr)]
    seg = np.r_[np.zeros(ns, int), np.ones(nr, int)]
    lift, low, high = lift_interval(*_sums(a, np.ones_like(a), seg, 2))
    se = np.log(high[0] / low[0]) / (2 * stats.t.ppf(0.975, ns - 1))
    lo_rr, hi_rr = confint_proportions_2indep(xs, ns, xr, nr, method="log", compare="ratio")
    rr, w = (xs / ns) / (xr / nr), ns / (ns + nr)
    katz = (1 - w) / (w * rr + 1 - w) * np.log(hi_rr / lo_rr) / (2 * stats.norm.ppf(0.975))
    assert lift[0] == pytest.approx(rr / (w * rr + 1 - w))
    assert se == pytest.approx(katz, rel=0.003)  # ours has n / (n - 1) per segment: 0.1% here


def test_lift_interval_agrees_with_a_customer_bootstrap():
    rng = np.random.default_rng(5)
    seg = np.repeat([0, 1, 2], [80, 120, 200])
    b = 1 + rng.poisson(rng.gamma(2.0, 2.0, len(seg)))
    a = rng.binomial(b, rng.beta(np.array([0.6, 0.3, 0.4])[seg], 1.4))
    _, low, high = lift_interval(*_sums(a, b, seg, 3))
    _, _, b_s, _, _, b_sq = _sums(a, b, seg, 3)
    se = np.log(high / low) / (2 * stats.t.ppf(0.975, b_s**2 / b_sq - 1))
    boot = []
    for _ in range(2000):  # resample customers within each segment, as the variance assumes
        idx = np.concatenate([rng.choice(np.flatnonzero(seg == h), (seg == h).sum()) for h in range(3)])
        boot.append(lift_interval(*_sums(a[idx], b[idx], seg[idx], 3))[0])
    boot_se = np.log(np.array(boot)).std(axis=0, ddof=1)
    assert se == pytest.approx(boot_se, rel=0.12)


def _simulated_stores(sims=1000, sizes=(60, 90, 150), seed=0):
    """Customers with many events each and their own taste for the touchpoint (overdispersed)."""
    rng = np.random.default_rng(seed)
    sizes = np.array(sizes)
    seg = np.repeat(np.arange(3), sizes)
    rate, share = np.array([3.0, 6.0, 4.0]), np.array([0.3, 0.15, 0.2])
    b = 1 + rng.poisson(rng.gamma(2.0, (rate[seg] - 1) / 2.0, (sims, len(seg))))
    a = rng.binomial(b, rng.beta(share[seg] * 2.0, (1 - share[seg]) * 2.0, (sims, len(seg))))
    expected_b = sizes * rate
    truth = share / ((expected_b * share).sum() / expected_b.sum())
    return _sums(a, b, seg, 3), truth


def test_lift_interval_covers_the_truth_95_times_in_100():
    sums, truth = _simulated_stores()
    _, low, high = lift_interval(*sums)
    coverage = ((low <= truth) & (truth <= high)).mean(axis=0)
    assert ((coverage >= 0.93) & (coverage <= 0.97)).all(), coverage
    # Katz's log interval on events (events as independent draws) is too narrow here
    _, a, b, *_ = sums
    big_a, big_b = a.sum(-1, keepdims=True), b.sum(-1, keepdims=True)
    lift = (a / b) / (big_a / big_b)
    half = 1.959964 * np.sqrt(1 / a - 1 / b + 1 / big_a - 1 / big_b)
    katz = ((lift * np.exp(-half) <= truth) & (truth <= lift * np.exp(half))).mean(axis=0)
    assert katz.min() < 0.90


def test_lift_interval_edge_cases():
    # one segment is everybody: lift 1 exactly, interval [1, 1]
    lift, low, high = lift_interval([5], [7], [20], [15], [40], [100])
    assert (lift[0], low[0], high[0]) == (1.0, 1.0, 1.0)
    # n = 1: no spread to measure -> no interval; n = 0 as well
    lift, low, high = lift_interval([1, 10], [3, 4], [5, 20], [9, 4], [15, 12], [25, 60])
    assert np.isnan(low[0]) and np.isnan(high[0]) and np.isfinite(low[1])
    # no events on it (lift 0): no log interval
    lift, low, high = lift_interval([10, 10], [0, 4], [10, 20], [0, 4], [0, 12], [20, 60])
    assert lift[0] == 0 and np.isnan(low[0])
    # every event of a segment on it (share 1): finite interval from the other segment's spread
    a, b, seg = np.array([2, 3, 1, 0, 1, 2, 0]), np.array([2, 3, 1, 4, 2, 5, 3]), np.array([0, 0, 0, 1, 1, 1, 1])
    lift, low, high = lift_interval(*_sums(a, b, seg, 2))
    assert (lift[0], low[0], high[0]) == pytest.approx(_influence_interval(a, b, seg, 0), rel=1e-6)
    assert low[0] < lift[0] < high[0]


@pytest.fixture()
def usage_store(tmp_path):
    """north (N1 3 app home_page + 1 web checkout, N2 2 web home_page, N3 inactive), south (S1 2 web
    chat, S2 2 app chat); as tests/unit/test_segments_profile.py's."""
    con = new_store(tmp_path)
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)",
                    [("N1", "north"), ("N2", "north"), ("N3", "north"), ("S1", "south"), ("S2", "south")])
    ev = [("N1", "app", "home_page")] * 3 + [("N1", "web", "checkout")] + [("N2", "web", "home_page")] * 2
    ev += [("S1", "web", "chat")] * 2 + [("S2", "app", "chat")] * 2
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, ?, ?)",
                    [(c, f"2024-02-01 10:{i:02d}", tp, ch) for i, (c, ch, tp) in enumerate(ev)])
    yield con
    con.close()


def test_usage_lift_intervals_by_hand(usage_store):
    u = segment_usage(usage_store, by="region", min_group_size=1).set_index(["segment", "kind", "value"])
    seg = np.array([0, 0, 0, 1, 1])  # N1, N2, N3, S1, S2
    b = np.array([4, 2, 0, 2, 2])
    for (s, kind, value), a in {(0, "touchpoint", "home_page"): [3, 2, 0, 0, 0],
                                (0, "channel", "app"): [3, 0, 0, 0, 2],
                                (1, "channel", "web"): [1, 2, 0, 2, 0],
                                (1, "touchpoint", "chat"): [0, 0, 0, 2, 2]}.items():
        row = u.loc[(["north", "south"][s], kind, value)]
        want = _influence_interval(np.array(a), b, seg, s)
        assert (row["lift"], row["lift_ci_lower"], row["lift_ci_upper"]) == pytest.approx(want, rel=1e-6)
    # south's chat: every south event is chat, yet the overall share moves with north's activity; and
    # two customers give a Student t with 1 degree of freedom: the interval is wide
    chat = u.loc[("south", "touchpoint", "chat")]
    assert chat["lift"] == pytest.approx(2.5) and chat["lift_ci_lower"] < 1 and chat["lift_ci_upper"] > 2.5


def test_suppressed_usage_cells_blank_their_interval(usage_store):
    u = segment_usage(usage_store, by="region", min_group_size=2)
    hidden = u[u["suppressed"]]
    assert len(hidden) and hidden[["lift", "lift_ci_lower", "lift_ci_upper"]].isna().all().all()
    shown = u[~u["suppressed"]]
    assert len(shown) and shown[["lift_ci_lower", "lift_ci_upper"]].notna().all().all()


def _west_east(con, west: dict[str, int], east: dict[str, int], heavy_app: int = 0):
    """Ten west and ten east customers, each with the given app and web events; W0 with `heavy_app` more."""
    con.execute("DELETE FROM events")
    con.execute("DELETE FROM customers")
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)",
                    [(f"{r[0].upper()}{i}", r) for r in ("west", "east") for i in range(10)])
    ev = [("W0", "app")] * heavy_app
    ev += [(f"{r[0].upper()}{i}", ch) for r, use in (("west", west), ("east", east)) for i in range(10)
           for ch, k in use.items() for _ in range(k + (i % 2 if heavy_app == 0 else 0))]
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, ?, 'home', ?)",
                    [(c, f"2024-02-01 {i // 60 % 24:02d}:{i % 60:02d}", ch) for i, (c, ch) in enumerate(ev)])


def test_a_cue_needs_its_interval_above_one(usage_store):
    # west: W0 has 20 app events, W1..W9 two web events each (W0 too); east: one app and three web each
    _west_east(usage_store, {"web": 2}, {"app": 1, "web": 3}, heavy_app=20)
    u = segment_usage(usage_store, by="region", min_group_size=1).set_index(["segment", "kind", "value"])
    app = u.loc[("west", "channel", "app")]
    assert app["lift"] == pytest.approx((20 / 40) / (30 / 80)) and app["lift"] >= 1.2  # 1.33, from one customer
    assert app["lift_ci_lower"] < 1 < app["lift_ci_upper"]
    c = personalisation_cues(usage_store, by="region", top=3, min_lift=1.2, min_group_size=1)
    assert "app" not in set(c["value"])  # before the interval rule, west's app was a cue
    assert list(c.columns) == ["segment", "kind", "value", "reach", "overall_reach", "lift", "lift_ci_lower",
                               "lift_ci_upper", "cue", "suppressed"]


def test_a_clear_cue_says_its_interval(usage_store):
    # west: 3 app and one web each, east: one app and 3 web each; odd customers one more of each
    _west_east(usage_store, {"app": 3, "web": 1}, {"app": 1, "web": 3})
    c = personalisation_cues(usage_store, by="region", top=3, min_lift=1.2, min_group_size=5)
    u = segment_usage(usage_store, by="region", min_group_size=5).set_index(["segment", "kind", "value"])
    assert set(zip(c["segment"], c["value"])) == {("west", "app"), ("east", "web")}
    app = c[c["value"] == "app"].iloc[0]
    want = u.loc[("west", "channel", "app"), ["lift_ci_lower", "lift_ci_upper"]].tolist()
    assert app["lift"] == pytest.approx((35 / 50) / (50 / 100))  # every customer also has i % 2 more of each
    assert [app["lift_ci_lower"], app["lift_ci_upper"]] == pytest.approx(want) and want[0] > 1
    assert app["cue"] == (f"uses app 1.4x as much as average (95% interval {want[0]:.1f}-{want[1]:.1f}; "
                          "reach 100% vs 100%)")


def test_sample_cues_have_intervals_above_one(sample_con):
    c = personalisation_cues(sample_con, by="plan")
    shown = c[~c["suppressed"]]
    assert len(shown) and (shown["lift_ci_lower"] > 1).all()
    assert ((shown["lift_ci_lower"] <= shown["lift"]) & (shown["lift"] <= shown["lift_ci_upper"])).all()
    assert shown["cue"].str.contains("95% interval").all()


def test_usage_on_an_orders_only_store_is_empty_not_a_crash(tmp_path):
    con = new_store(tmp_path)
    con.executemany("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', ?)",
                    [("A", "north"), ("B", "south")])
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('o1', 'A', '2024-02-01', 5, 'web')")
    assert segment_usage(con, by="region").empty
    cues = personalisation_cues(con, by="region")
    assert cues.empty and "lift_ci_lower" in cues.columns
    assert isinstance(cues, pd.DataFrame)
