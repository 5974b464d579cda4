"""The service analyses recover what cxlib.store.sample plants (3,000 customers, seed 7): CSAT 87%
after a ticket resolved within 72 h against a latent drop of 1.6 after; 30% of chat tickets handed
off to phone, so first-contact resolution about 70% on chat against 97-98% elsewhere; churn hazard
doubled after a ticket passed 72 h. Checked against plain SQL written here."""

from __future__ import annotations

import re

import pytest

from cxlib.analysis import service
from cxlib.store.sample import PLANTED


def test_csat_drops_after_tickets_slower_than_72_hours(sample_con):
    assert PLANTED["long_resolution_hours"] == 72
    df = service.ratings_by_resolution(sample_con).set_index("band")
    fast, middle, slow = df.loc["0-24 h"], df.loc["24-72 h"], df.loc["> 72 h"]
    for band in (fast, middle):
        assert 82 <= band["csat"] <= 92 and band["csat_answers"] > 300
    assert 18 <= slow["csat"] <= 35 and slow["csat_answers"] > 200
    assert slow["csat_upper"] < min(fast["csat_lower"], middle["csat_lower"])  # far beyond chance
    assert slow["ces_upper"] < fast["ces_lower"]  # effort too (latent drop 0.4)


def test_csat_drop_holds_in_every_category(sample_con):
    df = service.ratings_by_resolution(sample_con, by="category")
    for _, g in df.groupby("category"):
        g = g.set_index("band")
        assert g.loc["> 72 h", "csat_upper"] < g.loc["0-24 h", "csat_lower"]


def test_ticket_csat_matches_a_plain_sql_link(sample_con):
    """The same answers linked by a query written here (customer, channel, 0 < gap <= 48 h, latest ticket)."""
    rows = sample_con.execute("""
        WITH l AS (
          SELECT r.response_id, r.score, date_diff('second', t.opened_at, t.resolved_at) / 3600.0 AS h,
                 row_number() OVER (PARTITION BY r.response_id ORDER BY t.resolved_at DESC, t.ticket_id DESC) AS k
          FROM survey_responses r JOIN tickets t ON t.customer_id = r.customer_id AND r.channel = t.channel
           AND r.ts > t.resolved_at AND r.ts <= t.resolved_at + INTERVAL 48 HOUR
          WHERE r.metric = 'csat')
        SELECT h > 72 AS slow, count(*), avg(CASE WHEN score >= 4 THEN 100.0 ELSE 0 END) FROM l WHERE k = 1
        GROUP BY 1 ORDER BY 1""").fetchall()
    df = service.ratings_by_resolution(sample_con, bands=[72]).set_index("band")
    (_, n_fast, csat_fast), (_, n_slow, csat_slow) = rows
    assert (df.loc["0-72 h", "csat_answers"], df.loc["> 72 h", "csat_answers"]) == (n_fast, n_slow)
    assert df.loc["0-72 h", "csat"] == pytest.approx(csat_fast) and df.loc["> 72 h", "csat"] == pytest.approx(csat_slow)


def test_first_contact_resolution_is_low_on_chat(sample_con):
    assert PLANTED["handoff_share_of_chat_tickets"] == 0.30
    df = service.first_contact_resolution(sample_con, by="channel").set_index("channel")
    chat = df.loc["chat"]
    assert 0.60 <= chat["first_contact_rate"] <= 0.78
    others = df.drop(index="chat")
    assert (others["first_contact_rate"] >= 0.94).all()
    assert chat["first_contact_rate_upper"] < others["first_contact_rate_lower"].min()
    assert chat["contacts_per_ticket"] > 1.3 > others["contacts_per_ticket"].max()
    expected = dict(sample_con.execute("""
        SELECT channel, avg(CASE WHEN contacts = 1 AND NOT reopened THEN 1.0 ELSE 0 END) FROM tickets
        WHERE resolved_at IS NOT NULL GROUP BY 1""").fetchall())
    for channel, rate in expected.items():
        assert df.loc[channel, "first_contact_rate"] == pytest.approx(float(rate))
    assert re.fullmatch(r"First-contact resolution is lowest on chat \(\d+%, 95% interval \d+% to \d+%\) and "
                        r"highest on \w+ \(\d+%\); the intervals do not overlap",
                        service.first_contact_headline(df.reset_index(), by="channel"))


def test_resolution_time_median_matches_sql_and_counts_open_tickets(sample_con):
    df = service.resolution_times(sample_con)
    n, still_open, median = sample_con.execute("""
        SELECT count(*), count(*) FILTER (WHERE resolved_at IS NULL),
               median(date_diff('second', opened_at, resolved_at) / 3600.0) FROM tickets""").fetchone()
    row = df.iloc[0]
    assert (row["tickets"], row["still_open"]) == (n, still_open) and still_open > 0
    assert row["median_hours"] == pytest.approx(median)
    assert row["median_hours_lower"] < median < row["median_hours_upper"]
    assert 20 <= median <= 40  # planted: lognormal median 28 h, longer after hand-offs and reopens


def test_churn_is_higher_after_a_slow_ticket(sample_con):
    assert PLANTED["churn_hazard_mult_long"] == 2.0
    df = service.churn_by_resolution(sample_con).set_index("band")
    assert df.loc["> 72 h", "churn_rate_lower"] > df.loc["0-24 h", "churn_rate_upper"]
    subscribers = sample_con.execute("SELECT count(DISTINCT customer_id) FROM subscriptions").fetchone()[0]
    assert df["customers"].sum() == subscribers


def test_agents_differ_in_speed_and_are_never_named_by_id(sample_con):
    df = service.agent_performance(sample_con)
    assert len(df) == sample_con.execute("SELECT count(DISTINCT agent_id) FROM tickets").fetchone()[0]
    assert not re.search(r"\bA\d{4}\b", df.to_csv())
    shown = df[~df["suppressed"]]
    assert shown["median_hours"].max() > 1.5 * shown["median_hours"].min()  # agents differ in speed (planted)
    assert re.match(r"\d+ agents shown by pseudonym; their median resolution times run from \d+ to \d+ hours",
                    service.agent_headline(df))


def test_service_headline_on_the_sample(sample_con):
    text = service.service_headline(sample_con)
    assert re.fullmatch(r"[\d,]+ tickets: half of the resolved tickets took up to \d+ hours \(95% interval \d+ to "
                        r"\d+ h\); \d+% took longer than 72 hours; CSAT after those was (\d+)%, against (\d+)% after "
                        r"faster ones; \d+\.\d% are still open; \d+% were solved at the first contact", text)
    slow, fast = map(int, re.search(r"CSAT after those was (\d+)%, against (\d+)%", text).groups())
    assert fast - slow >= 45
