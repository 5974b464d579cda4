"""The sample generator: schema rules, determinism, and every planted effect recovered from the tables.

One 3,000-customer store (seed 42) is built per module. Each planted effect is measured with plain
pandas/DuckDB from the canonical tables (never from sample_truth, except for personas), as an
analysis would, and asserted with a statistical test (p < 0.01) or a clear margin.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.errors import CxInputError
from cxlib.store import sample, schema

N = 3000
SEED = 42
SERVICE = [t for t, s in sample.TOUCHPOINT_STAGES.items() if s == "service"]
BILLING_RE = re.compile(r"\b(?:bill|billing|billed|charged|charges?|invoice|refund)\b", re.I)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "s.duckdb"
    counts = sample.generate(path, customers=N, seed=SEED)
    return path, counts


@pytest.fixture(scope="module")
def con(built):
    c = duckdb.connect(str(built[0]), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def as_of(con):
    return pd.Timestamp(con.execute("SELECT max(ts) FROM events").fetchone()[0])


def df(con, sql, params=None):
    return con.execute(sql, params or []).df()


# ------------------------------------------------------------------------------------------
# Measures shared by several tests (plain pandas on the canonical tables)
# ------------------------------------------------------------------------------------------


def ticket_ratings(con, metric):
    """Each ticket's survey answer of `metric`, joined by customer, touchpoint and time (within 30 h of resolution)."""
    return df(
        con,
        """
        SELECT k.ticket_id, k.customer_id, k.channel, k.contacts, s.score,
               date_diff('second', k.opened_at, k.resolved_at) / 3600.0 AS hours
        FROM survey_responses s
        ASOF JOIN tickets k ON s.customer_id = k.customer_id AND s.ts >= k.resolved_at
        WHERE s.metric = ? AND s.ts <= k.resolved_at + INTERVAL 30 HOUR
          AND s.touchpoint = CASE k.channel WHEN 'chat' THEN 'chat' WHEN 'phone' THEN 'phone_call'
              WHEN 'email' THEN 'email_support' WHEN 'web' THEN 'help_center' ELSE 'store_visit' END
        """,
        [metric],
    )


def churn_exposure(con, as_of):
    """Person-days and contractual churns per (long-resolution state, NPS state) from the tables.

    Time runs from each subscription's start to its end (churn) or the as-of date. A customer is
    in the long state from the moment a ticket of theirs had been open 72 hours without being
    resolved within them; the NPS state is the category of their latest relationship answer
    (0 before any, 1 promoter, 2 passive, 3 detractor).
    """
    subs = df(con, "SELECT customer_id, started_at, ended_at FROM subscriptions")
    long_ = df(
        con,
        """SELECT customer_id, min(opened_at + INTERVAL 72 HOUR) AS t FROM tickets
           WHERE coalesce(resolved_at, TIMESTAMP '9999-01-01') > opened_at + INTERVAL 72 HOUR
             AND opened_at + INTERVAL 72 HOUR <= ? GROUP BY 1""",
        [as_of.to_pydatetime()],
    )
    nps = df(
        con,
        """SELECT customer_id, ts AS t, CASE WHEN score >= 9 THEN 1 WHEN score >= 7 THEN 2 ELSE 3 END AS cat
           FROM survey_responses WHERE metric = 'nps' AND touchpoint IS NULL""",
    )
    stop = subs["ended_at"].fillna(as_of)
    rows = [
        pd.DataFrame({"customer_id": subs.customer_id, "t": subs.started_at, "kind": 0, "cat": 0}),
        pd.DataFrame({"customer_id": long_.customer_id, "t": long_.t, "kind": 1, "cat": 0}),
        pd.DataFrame({"customer_id": nps.customer_id, "t": nps.t, "kind": 2, "cat": nps.cat}),
        pd.DataFrame({"customer_id": subs.customer_id, "t": stop, "kind": 3, "cat": 0}),
    ]
    ch = pd.concat(rows, ignore_index=True)
    ch = ch.merge(subs.assign(stop=stop)[["customer_id", "started_at", "stop", "ended_at"]], on="customer_id")
    ch = ch[(ch.t <= ch.stop) | (ch.kind == 3)].copy()
    ch["t"] = ch.t.clip(lower=ch.started_at)
    ch = ch.sort_values(["customer_id", "t", "kind"], kind="stable").reset_index(drop=True)
    g = ch.groupby("customer_id", sort=False)
    ch["long"] = (ch.kind == 1).astype(int).groupby(ch.customer_id).cummax()
    ch["state"] = ch.cat.where(ch.kind == 2).groupby(ch.customer_id).ffill().fillna(0).astype(int)
    ch["next_t"] = g.t.shift(-1)
    ch["days"] = (ch.next_t - ch.t).dt.total_seconds() / 86400
    # the churn belongs to the segment that ends at the stop row
    ch["event"] = (g.kind.shift(-1) == 3) & ch.ended_at.notna()
    seg = ch[ch.kind != 3]
    return seg.groupby(["long", "state"]).agg(days=("days", "sum"), events=("event", "sum")).reset_index()


def rate_ratio_mh(tab, exposed, unexposed, strata):
    """Mantel-Haenszel rate ratio of `exposed` vs `unexposed` rows, stratified by `strata`."""
    num = den = 0.0
    for _, s in tab.groupby(strata):
        a, t1 = s.loc[exposed(s), ["events", "days"]].sum()
        b, t0 = s.loc[unexposed(s), ["events", "days"]].sum()
        if t1 > 0 and t0 > 0:
            num += a * t0 / (t0 + t1)
            den += b * t1 / (t0 + t1)
    return num / den


def rate_test(a, t1, b, t0):
    """Rate ratio and exact conditional p-value (binomial) for a events in t1 vs b in t0."""
    rr = (a / t1) / (b / t0)
    p = stats.binomtest(int(a), int(a + b), t1 / (t1 + t0), alternative="greater").pvalue
    return rr, p


def peak_end_frame(con):
    """Per latest relationship NPS answer: count, mean, peak and end of earlier CSAT ratings."""
    nps = df(
        con,
        """SELECT customer_id, arg_max(score, (ts, response_id)) AS nps, max(ts) AS nps_ts
           FROM survey_responses WHERE metric = 'nps' AND touchpoint IS NULL GROUP BY 1""",
    )
    r = df(
        con,
        "SELECT customer_id, ts, response_id, score FROM survey_responses WHERE metric = 'csat' AND touchpoint IS NOT NULL",
    )
    m = r.merge(nps, on="customer_id")
    m = m[m.ts < m.nps_ts].sort_values(["customer_id", "ts", "response_id"])
    m["dist"] = (m.score - 3).abs() * 10 - m.score  # farthest from 3; low wins ties
    g = m.groupby("customer_id")
    out = pd.DataFrame(
        {
            "n": g.score.size(),
            "mean": g.score.mean(),
            "end": g.score.last(),
            "peak": m.loc[g.dist.idxmax(), ["customer_id", "score"]].set_index("customer_id").score,
            "low_before_end": g.apply(lambda x: (x.score.iloc[:-1] <= 2).any(), include_groups=False),
        }
    )
    out = out.join(nps.set_index("customer_id").nps)
    out["pe"] = (out.peak + out.end) / 2
    return out


def handoff_frame(con):
    """Per ticket: hand-off (chat then a phone call within a day), repeat contact within 7 days."""
    k = df(con, "SELECT ticket_id, customer_id, opened_at, channel, contacts FROM tickets")
    ev = df(con, "SELECT customer_id, ts, touchpoint FROM events WHERE touchpoint IN ({})".format(",".join("?" * len(SERVICE))), SERVICE)
    calls = ev[ev.touchpoint == "phone_call"]
    j = k[k.channel == "chat"].merge(calls, on="customer_id")
    j = j[(j.ts > j.opened_at) & (j.ts <= j.opened_at + pd.Timedelta(days=1))]
    first_call = j.groupby("ticket_id").ts.min()
    k["handoff"] = k.ticket_id.isin(first_call.index)
    k["episode_end"] = k.ticket_id.map(first_call).fillna(k.opened_at)
    j = k.merge(ev, on="customer_id")
    j = j[(j.ts > j.episode_end) & (j.ts <= j.episode_end + pd.Timedelta(days=7))]
    k["repeat"] = k.ticket_id.isin(j.ticket_id)
    return k


# ------------------------------------------------------------------------------------------
# Shape, schema rules, determinism
# ------------------------------------------------------------------------------------------


def test_counts_match_tables_and_load_log(built, con):
    _, counts = built
    for t in schema.LOAD_ORDER:
        assert counts[t] == con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] > 0, t
    assert counts["customers"] == N
    log = df(con, "SELECT table_name, source, loaded, rejected FROM load_log")
    assert sorted(log.table_name) == sorted(schema.LOAD_ORDER)
    assert set(log.source) == {f"sample seed={SEED} customers={N}"}
    assert (log.rejected == 0).all()
    assert dict(zip(log.table_name, log.loaded)) == {t: counts[t] for t in schema.LOAD_ORDER}
    assert con.execute("SELECT count(*) FROM events_ordered").fetchone()[0] == counts["events"]
    assert con.execute("SELECT count(*) FROM events_ordered WHERE stage = 'unmapped'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM sample_truth").fetchone()[0] == N


@pytest.mark.parametrize("name", schema.LOAD_ORDER)
def test_schema_rules_hold(con, name):
    t = schema.TABLES[name]
    cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
    assert cols[: len(t.names)] == t.names
    for c in (c for c in t.columns if not c.virtual):  # virtual columns (tenure) are read from files, never stored
        if not c.nullable:
            assert con.execute(f'SELECT count(*) FROM {name} WHERE "{c.name}" IS NULL').fetchone()[0] == 0, c.name
        if c.kind == "id":  # ids are trimmed, non-blank text
            bad = con.execute(f'SELECT count(*) FROM {name} WHERE "{c.name}" <> trim("{c.name}") OR "{c.name}" = \'\'').fetchone()[0]
            assert bad == 0, c.name
        if c.min is not None:
            assert con.execute(f'SELECT count(*) FROM {name} WHERE "{c.name}" < ?', [c.min]).fetchone()[0] == 0, c.name
        if c.choices is not None:
            got = {r[0] for r in con.execute(f'SELECT DISTINCT "{c.name}" FROM {name}').fetchall()}
            assert got <= set(c.choices), c.name
    for col, cond, reason in t.checks:
        assert con.execute(f"SELECT count(*) FROM {name} WHERE NOT ({cond})").fetchone()[0] == 0, reason
    keys = ", ".join(t.key)
    dup = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM {name} GROUP BY {keys} HAVING count(*) > 1)").fetchone()[0]
    assert dup == 0, f"duplicate keys in {name}"
    if t.references_customers:
        orphans = con.execute(f"SELECT count(*) FROM {name} WHERE customer_id NOT IN (SELECT customer_id FROM customers)").fetchone()[0]
        assert orphans == 0


def test_values_are_plausible(con, as_of):
    c = df(con, "SELECT * FROM customers")
    assert c.customer_id.str.fullmatch(r"C\d{7}").all() and c.customer_id.iloc[0] == "C0000001"
    assert set(c.region) == set(sample.REGIONS) and c.region.value_counts().nunique() == 4  # unequal sizes
    assert set(c.plan) == set(sample.PLANS) and set(c.acquisition_channel) == set(sample.ACQUISITION)
    assert set(c.age_band) == set(sample.AGE_BANDS)
    span = con.execute(
        "SELECT (SELECT min(signup_at) FROM customers), (SELECT max(ts) FROM events), (SELECT min(ts) FROM events)"
    ).fetchone()
    assert pd.Timestamp("2024-06-30") <= span[0] and span[1] < pd.Timestamp("2026-07-01") and span[2] >= pd.Timestamp("2024-06-01")
    assert as_of >= pd.Timestamp("2026-06-29")
    assert set(df(con, "SELECT DISTINCT channel FROM events").channel) == set(sample.CHANNELS)
    assert set(df(con, "SELECT DISTINCT touchpoint FROM events").touchpoint) == set(sample.TOUCHPOINTS)
    k = df(con, "SELECT * FROM tickets")
    assert set(k.category) == set(sample.TICKET_CATEGORIES)
    assert 0 < k.resolved_at.isna().sum() < 0.05 * len(k)  # a few still open
    assert k.contacts.min() == 1 and k.reopened.any()
    s = df(con, "SELECT * FROM survey_responses")
    rel = s[s.metric == "nps"]
    assert rel.touchpoint.isna().all() and s[s.metric != "nps"].touchpoint.notna().all()
    per = rel.groupby("customer_id").size()
    assert len(per) > 0.6 * N and set(per) == {1, 2}
    assert 0.33 < s.comment.notna().mean() < 0.47
    subs = df(con, "SELECT * FROM subscriptions")
    assert 0.8 * N < len(subs) < 0.97 * N and subs.ended_at.notna().mean() > 0.1
    o = df(con, "SELECT * FROM orders")
    assert (o.amount > 0).all() and set(o.channel) == {"web", "app"}
    # every order is a payment event (same customer, time and channel)
    pay = df(con, "SELECT customer_id, ts, channel FROM events WHERE touchpoint = 'payment'")
    assert len(o.merge(pay, on=["customer_id", "ts", "channel"])) == len(o) == len(pay)
    # some events share a timestamp; some funnel steps are days apart
    assert con.execute("SELECT count(*) FROM events_ordered WHERE next_ts = ts").fetchone()[0] > 100
    slow = con.execute(
        "SELECT count(*) FROM events_ordered WHERE touchpoint = 'product_page' AND next_touchpoint = 'add_to_cart' "
        "AND next_ts - ts > INTERVAL 1 DAY"
    ).fetchone()[0]
    assert slow > 50


def test_events_stop_at_churn(con):
    late = con.execute(
        """SELECT count(*) FROM sample_truth t JOIN events e USING (customer_id)
           WHERE t.churned AND e.ts > t.churn_at"""
    ).fetchone()[0]
    assert late == 0
    ended = con.execute(
        "SELECT count(*) FROM subscriptions s JOIN sample_truth t USING (customer_id) WHERE s.ended_at IS DISTINCT FROM t.churn_at"
    ).fetchone()[0]
    assert ended == 0
    for table, col in (("orders", "ts"), ("survey_responses", "ts"), ("tickets", "opened_at")):
        n = con.execute(
            f"SELECT count(*) FROM sample_truth t JOIN {table} x USING (customer_id) WHERE t.churned AND x.{col} > t.churn_at"
        ).fetchone()[0]
        assert n == 0, table


def _differences(a, b):
    """Rows of each table found in one store but not the other (both directions, with multiplicity)."""
    c = duckdb.connect()
    try:
        c.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        c.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        out = {}
        for t in schema.LOAD_ORDER + ["sample_truth", "events_ordered"]:
            out[t] = c.execute(
                f"""SELECT (SELECT count(*) FROM (SELECT * FROM a.{t} EXCEPT ALL SELECT * FROM b.{t}))
                         + (SELECT count(*) FROM (SELECT * FROM b.{t} EXCEPT ALL SELECT * FROM a.{t}))"""
            ).fetchone()[0]
        return out
    finally:
        c.close()


def test_same_seed_same_store_and_seed_matters(built, con, tmp_path):
    # the load log records when the build ran (wall clock); every data table is identical
    first, again, other = built[0], tmp_path / "again.duckdb", tmp_path / "other.duckdb"
    sample.generate(again, customers=N, seed=SEED)
    assert set(_differences(first, again).values()) == {0}
    sample.generate(other, customers=N, seed=SEED + 1)
    diff = _differences(first, other)
    assert all(diff[t] > 0 for t in diff if t != "touchpoint_stages"), diff


def test_an_earlier_sample_is_replaced_and_bad_arguments_fail(tmp_path):
    p = tmp_path / "x.duckdb"
    sample.generate(p, customers=20, seed=2)
    counts = sample.generate(p, customers=50, seed=1)
    assert counts["customers"] == 50
    c = duckdb.connect(str(p), read_only=True)
    assert c.execute("SELECT count(*) FROM customers").fetchone()[0] == 50
    c.close()
    for bad in ({"customers": 0}, {"customers": 2.5}, {"seed": -1}, {"end": "not a date"}):
        with pytest.raises(CxInputError):
            sample.generate(tmp_path / "y.duckdb", **{"customers": 10, **bad})


def test_the_sample_never_replaces_loaded_data_or_a_file_it_does_not_know(tmp_path):
    import cxlib

    loaded = tmp_path / "mine.duckdb"
    con = cxlib.connect(loaded, read_only=False)
    cxlib.ingest(pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]}), "customers", db=con)
    con.close()
    before = loaded.read_bytes()
    with pytest.raises(CxInputError, match="holds loaded data"):
        sample.generate(loaded, customers=10, seed=1)
    assert loaded.read_bytes() == before
    other = tmp_path / "notes.duckdb"
    other.write_text("not a database")
    with pytest.raises(CxInputError, match="not a store the sample may replace"):
        sample.generate(other, customers=10, seed=1)
    assert other.read_text() == "not a database"


def test_one_customer_is_a_sample_too(tmp_path):
    counts = sample.generate(tmp_path / "one.duckdb", customers=1, seed=3)
    assert counts["customers"] == 1


def test_end_moves_the_window(tmp_path):
    p = tmp_path / "e.duckdb"
    sample.generate(p, customers=200, seed=3, end="2025-01-31")
    c = duckdb.connect(str(p), read_only=True)
    lo, hi = c.execute("SELECT min(signup_at), (SELECT max(ts) FROM events) FROM customers").fetchone()
    c.close()
    assert pd.Timestamp("2023-01-31") < lo and pd.Timestamp("2025-01-30") < hi < pd.Timestamp("2025-02-01")


def test_stage_map_file_matches():
    path = Path(__file__).resolve().parents[2] / "cxlib" / "data" / "touchpoint_stages.csv"
    m = pd.read_csv(path, dtype=str)
    assert list(m.columns) == ["touchpoint", "stage"]
    assert dict(zip(m.touchpoint, m.stage)) == sample.TOUCHPOINT_STAGES
    assert set(m.stage) == set(schema.STAGES)


# ------------------------------------------------------------------------------------------
# Planted effects
# ------------------------------------------------------------------------------------------


def test_effect1_long_resolution_lowers_ticket_csat(con):
    r = ticket_ratings(con, "csat")
    long_, short = r[r.hours > 72].score, r[r.hours <= 72].score
    assert len(long_) > 40
    diff = short.mean() - long_.mean()
    assert 1.1 < diff < 2.0, diff
    assert stats.mannwhitneyu(short, long_, alternative="greater").pvalue < 0.01


def test_effect1_long_resolution_doubles_churn_hazard(con, as_of):
    tab = churn_exposure(con, as_of)
    a, t1 = tab.loc[tab.long == 1, ["events", "days"]].sum()
    b, t0 = tab.loc[tab.long == 0, ["events", "days"]].sum()
    rr, p = rate_test(a, t1, b, t0)
    assert p < 0.01 and rr > 1.5, rr
    adjusted = rate_ratio_mh(tab, lambda s: s.long == 1, lambda s: s.long == 0, "state")
    assert 1.3 < adjusted < 3.2, adjusted


def test_effect2_peak_end_predicts_nps_better_than_mean(con):
    pe = peak_end_frame(con)
    two = pe[pe.n >= 2]
    assert len(two) > 300
    r_pe, r_mean = two.pe.corr(two.nps), two["mean"].corr(two.nps)
    assert r_pe > r_mean + 0.05, (r_pe, r_mean)
    # a bad end hurts more than an equally bad middle followed by a good end
    bad_end = two[two.end <= 2].nps
    bad_middle = two[(two.end >= 4) & two.low_before_end].nps
    assert len(bad_end) > 20 and len(bad_middle) > 20
    assert bad_end.mean() < bad_middle.mean() - 1.0
    assert stats.mannwhitneyu(bad_end, bad_middle, alternative="less").pvalue < 0.01


def test_effect3_handoff_causes_repeat_contacts_more_contacts_lower_ces(con):
    k = handoff_frame(con)
    h, o = k[k.handoff], k[~k.handoff]
    assert len(h) > 60
    assert 0.35 < h.repeat.mean() < 0.65 and o.repeat.mean() < 0.2, (h.repeat.mean(), o.repeat.mean())
    table = [[h.repeat.sum(), (~h.repeat).sum()], [o.repeat.sum(), (~o.repeat).sum()]]
    assert stats.fisher_exact(table, alternative="greater")[1] < 0.01
    assert h.contacts.mean() > o.contacts.mean() + 0.8
    assert stats.mannwhitneyu(h.contacts, o.contacts, alternative="greater").pvalue < 0.01
    # the CES answer after a handed-off ticket is much lower ...
    ces_t = ticket_ratings(con, "ces").merge(k[["ticket_id", "handoff"]], on="ticket_id")
    a_, b_ = ces_t[ces_t.handoff].score, ces_t[~ces_t.handoff].score
    assert len(a_) > 20 and b_.mean() - a_.mean() > 1.2
    assert stats.mannwhitneyu(a_, b_, alternative="less").pvalue < 0.01
    # ... and customers with a hand-off give lower CES over all their answers
    ces = df(con, "SELECT customer_id, score FROM survey_responses WHERE metric = 'ces'")
    with_ho = ces.customer_id.isin(h.customer_id)
    assert ces[with_ho].score.mean() < ces[~with_ho].score.mean() - 0.4
    assert stats.mannwhitneyu(ces[with_ho].score, ces[~with_ho].score, alternative="less").pvalue < 0.01
    # the hand-off call carries the ticket id as its session
    linked = con.execute(
        """SELECT count(*) FROM tickets k JOIN events e ON e.session_id = k.ticket_id
           WHERE k.channel = 'chat' AND e.touchpoint = 'phone_call' AND e.ts <= k.opened_at + INTERVAL 1 DAY"""
    ).fetchone()[0]
    assert 0.95 * len(h) <= linked <= len(h)
    truth = con.execute("SELECT sum(handoff_tickets) FROM sample_truth").fetchone()[0]
    assert truth == linked


def test_effect4_detractors_churn_more(con, as_of):
    tab = churn_exposure(con, as_of)
    a, t1 = tab.loc[tab.state == 3, ["events", "days"]].sum()
    b, t0 = tab.loc[tab.state == 1, ["events", "days"]].sum()
    rr, p = rate_test(a, t1, b, t0)
    assert p < 0.01 and rr > 1.8, rr
    adjusted = rate_ratio_mh(tab, lambda s: s.state == 3, lambda s: s.state == 1, "long")
    assert 1.5 < adjusted < 4.5, adjusted


def driver_frame(con):
    """Per customer with a relationship NPS: the latest score and the candidate drivers (whole history).

    Drivers: long_resolution (any ticket resolved after > 72 h), log max resolution hours, tickets,
    contacts, reopened tickets, the mean CSAT per touchpoint (missing = that touchpoint's mean, so
    it carries no signal) and the customer attributes (dummy-coded).
    """
    f = df(
        con,
        """
        WITH rel AS (SELECT customer_id, arg_max(score, (ts, response_id)) AS nps FROM survey_responses
                     WHERE metric = 'nps' AND touchpoint IS NULL GROUP BY 1),
        tik AS (SELECT customer_id, count(*) AS tickets,
                       max(date_diff('second', opened_at, resolved_at) / 3600.0) AS max_hours,
                       sum(contacts) AS contacts, count(*) FILTER (WHERE reopened) AS reopened
                FROM tickets GROUP BY 1)
        SELECT c.* EXCLUDE (signup_at), rel.nps, coalesce(tik.tickets, 0) AS tickets,
               coalesce(tik.max_hours > 72, false)::DOUBLE AS long_resolution,
               ln(1 + coalesce(tik.max_hours, 0)) AS log_max_resolution_hours,
               coalesce(tik.contacts, 0) AS contacts, coalesce(tik.reopened, 0) AS reopened
        FROM customers c JOIN rel USING (customer_id) LEFT JOIN tik USING (customer_id)
        """,
    ).set_index("customer_id")
    ratings = df(
        con,
        """SELECT customer_id, touchpoint, avg(score) AS r FROM survey_responses
           WHERE metric = 'csat' AND touchpoint IS NOT NULL GROUP BY ALL""",
    ).pivot(index="customer_id", columns="touchpoint", values="r")
    for tp in ratings.columns:
        col = ratings[tp].reindex(f.index)
        if col.notna().mean() >= 0.05:
            f[f"csat_{tp}"] = col.fillna(col.mean())
    groups = {}
    for col in list(f.columns):
        if col == "nps":
            continue
        if f[col].dtype == object:
            d = pd.get_dummies(f.pop(col), prefix=col, drop_first=True, dtype=float)
            f = pd.concat([f, d], axis=1)
            groups[col] = list(d.columns)
        else:
            groups[col] = [col]
    return f, groups


def relative_weights(x, y):
    """Johnson's relative weights: each column's share of the OLS R^2."""
    xs = (x - x.mean(0)) / x.std(0)
    ys = (y - y.mean()) / y.std()
    rxx, rxy = xs.T @ xs / len(y), xs.T @ ys / len(y)
    ev, vec = np.linalg.eigh(rxx)
    ev = ev.clip(1e-12)
    lam = vec @ np.diag(np.sqrt(ev)) @ vec.T
    beta = vec @ np.diag(1 / np.sqrt(ev)) @ vec.T @ rxy
    return (lam**2) @ (beta**2)


RESOLUTION_DRIVERS = ["long_resolution", "log_max_resolution_hours"]


def test_effect5_long_resolution_is_the_top_nps_driver(con):
    f, groups = driver_frame(con)
    y = f.pop("nps").to_numpy(float)
    # univariate: |Pearson r| (attributes: correlation ratio from the dummies' R^2)
    uni = {}
    for g, cols in groups.items():
        x = np.c_[np.ones(len(y)), f[cols].to_numpy(float)]
        fitted = x @ np.linalg.lstsq(x, y, rcond=None)[0]
        uni[g] = np.sqrt(max(0.0, 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()))
    uni = pd.Series(uni).sort_values(ascending=False)
    assert uni.index[0] == "long_resolution", uni.head()
    assert uni.iloc[0] > 1.5 * uni.drop(RESOLUTION_DRIVERS).iloc[0], uni.head(6)
    # multivariate: relative weights, each driver's share of R^2
    cols = [c for g in groups for c in groups[g]]
    x = f[cols].to_numpy(float)
    keep = x.std(0) > 0
    w = pd.Series(relative_weights(x[:, keep], y), index=np.array(cols)[keep])
    share = pd.Series({g: w.reindex(c).sum() for g, c in groups.items()}) / w.sum()
    share = share.sort_values(ascending=False)
    assert share.index[0] == "long_resolution", share.head()
    assert share.iloc[0] > 2 * share.drop(RESOLUTION_DRIVERS).iloc[0], share.head(6)
    # and directly: customers whose ticket took > 72 h before their latest NPS score far lower
    nps = df(
        con,
        """WITH rel AS (SELECT customer_id, arg_max(score, (ts, response_id)) AS nps, max(ts) AS ts
                        FROM survey_responses WHERE metric = 'nps' AND touchpoint IS NULL GROUP BY 1)
           SELECT rel.nps, EXISTS (SELECT 1 FROM tickets k WHERE k.customer_id = rel.customer_id
                    AND k.opened_at + INTERVAL 72 HOUR <= rel.ts
                    AND coalesce(k.resolved_at, TIMESTAMP '9999-01-01') > k.opened_at + INTERVAL 72 HOUR) AS long
           FROM rel""",
    )
    gap = nps[~nps.long].nps.mean() - nps[nps.long].nps.mean()
    assert gap > 2.5, gap
    assert stats.mannwhitneyu(nps[~nps.long].nps, nps[nps.long].nps, alternative="greater").pvalue < 0.01


def test_effect6_billing_theme_over_represented_in_detractor_comments(con):
    s = df(con, "SELECT score, comment FROM survey_responses WHERE metric = 'nps' AND comment IS NOT NULL")
    s["billing"] = s.comment.str.contains(BILLING_RE)
    det, pro = s[s.score <= 6].billing, s[s.score >= 9].billing
    assert det.mean() >= 3 * pro.mean(), (det.mean(), pro.mean())
    table = [[det.sum(), (~det).sum()], [pro.sum(), (~pro).sum()]]
    assert stats.fisher_exact(table, alternative="greater")[1] < 0.01


def test_effect7_behavioural_personas(con):
    f = df(
        con,
        """
        WITH e AS (SELECT customer_id, count(*) AS events, count(*) FILTER (WHERE touchpoint = 'app_login') AS logins,
                          count(*) FILTER (WHERE channel = 'app') AS app_events,
                          count(*) FILTER (WHERE touchpoint = 'phone_call') AS calls FROM events GROUP BY 1),
             o AS (SELECT customer_id, count(*) AS orders FROM orders GROUP BY 1),
             k AS (SELECT customer_id, count(*) AS tickets FROM tickets GROUP BY 1),
             n AS (SELECT customer_id, avg(score) AS nps FROM survey_responses WHERE metric = 'nps' GROUP BY 1)
        SELECT t.customer_id, t.persona, e.events, e.logins, e.app_events, e.calls,
               coalesce(o.orders, 0) AS orders, coalesce(k.tickets, 0) AS tickets, n.nps,
               greatest(date_diff('day', c.signup_at, coalesce(t.churn_at, (SELECT max(ts) FROM events))), 1) / 30.4 AS months
        FROM sample_truth t JOIN customers c USING (customer_id) JOIN e USING (customer_id)
        LEFT JOIN o USING (customer_id) LEFT JOIN k USING (customer_id) LEFT JOIN n USING (customer_id)
        """,
    )
    share = f.persona.value_counts(normalize=True)
    assert 0.09 < share["power_app"] < 0.15 and 0.07 < share["support_heavy"] < 0.13
    for col in ("logins", "orders", "tickets", "calls"):
        f[col + "_pm"] = f[col] / f.months
    f["app_share"] = f.app_events / f.events
    p, s, m = (f[f.persona == x] for x in ("power_app", "support_heavy", "mainstream"))
    rest_p, rest_s = f[f.persona != "power_app"], f[f.persona != "support_heavy"]

    def greater(a, b):
        return stats.mannwhitneyu(a.dropna(), b.dropna(), alternative="greater").pvalue < 0.01

    assert p.logins_pm.median() > 3 * m.logins_pm.median() and greater(p.logins_pm, rest_p.logins_pm)
    assert greater(p.app_share, rest_p.app_share) and greater(p.orders_pm, rest_p.orders_pm)
    assert p.orders_pm.mean() > 1.5 * m.orders_pm.mean()
    assert greater(p.nps, rest_p.nps)
    assert s.tickets_pm.mean() > 3 * m.tickets_pm.mean() and greater(s.tickets_pm, rest_s.tickets_pm)
    assert greater(s.calls_pm, rest_s.calls_pm) and greater(rest_s.nps, s.nps)


def test_effect8_app_checkout_friction(con):
    r = df(con, "SELECT channel, score FROM survey_responses WHERE metric = 'csat' AND touchpoint = 'checkout'")
    web, app = r[r.channel == "web"].score, r[r.channel == "app"].score
    assert web.mean() - app.mean() > 0.4
    assert stats.mannwhitneyu(web, app, alternative="greater").pvalue < 0.01
    conv = df(
        con,
        """SELECT c.channel, count(*) AS checkouts, count(p.session_id) AS paid
           FROM events c LEFT JOIN events p ON p.session_id = c.session_id AND p.touchpoint = 'payment'
           WHERE c.touchpoint = 'checkout' GROUP BY 1""",
    ).set_index("channel")
    rate = conv.paid / conv.checkouts
    assert rate["web"] - rate["app"] > 0.12, rate
    table = conv[["paid"]].assign(lost=conv.checkouts - conv.paid).loc[["web", "app"]].to_numpy()
    assert stats.chi2_contingency(table)[1] < 0.01


def test_effect9_untrusted_and_non_ascii_text_present(con):
    comments = df(con, "SELECT comment FROM survey_responses WHERE comment IS NOT NULL").comment
    for needle in (
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "</script>",
        "[click](javascript:alert(1))",
        "anna.smith@example.com",
        "+44 20 7946 0958",
        "my name is Anna Smith",
    ):
        assert comments.str.contains(needle, regex=False).sum() >= 1, needle
    assert comments.str.contains("é").any() and comments.str.contains("ü").any()
    assert comments.map(lambda s: any(ord(ch) > 0xFFFF for ch in s)).any()  # emoji
    assert comments.str.contains("<script>", regex=False).sum() == sample.UNTRUSTED_COPIES


def test_untrusted_strings_even_in_a_small_store(tmp_path):
    p = tmp_path / "small.duckdb"
    sample.generate(p, customers=60, seed=5)
    c = duckdb.connect(str(p), read_only=True)
    comments = c.execute("SELECT comment FROM survey_responses WHERE comment IS NOT NULL").df().comment
    c.close()
    for s in sample.UNTRUSTED_COMMENTS:
        assert (comments == s).any(), s
