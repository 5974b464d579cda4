"""Service responsiveness on a hand-made store: every figure worked out by hand (docs/metrics.md,
"Service responsiveness"), intervals against statsmodels and the binomial distribution."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom
from statsmodels.stats.proportion import proportion_confint

import cxlib
from cxlib.analysis import service
from cxlib.analysis.service.common import band_labels, check_bands, median_ranks
from cxlib.errors import CxInputError

T0 = datetime(2025, 3, 1, 9, 0)
END = datetime(2025, 3, 31, 12, 0)  # the store's as-of date: the latest timestamp (a survey answer)
H = timedelta(hours=1)

# (ticket, customer, channel, category, agent, hours to resolve or None = open, contacts, reopened)
TICKETS = [
    ("t01", "c1", "phone", "billing", "A0001", 1, 1, False),
    ("t02", "c2", "phone", "billing", "A0001", 2, 1, False),
    ("t03", "c3", "phone", "technical", "A0001", 10, 2, False),  # two contacts: not one-touch
    ("t04", "c4", "phone", "technical", "A0001", 30, 1, True),  # reopened: not one-touch
    ("t05", "c5", "phone", "billing", "A0001", 50, 1, False),
    ("t06", "c6", "phone", "billing", "A0001", 100, None, False),  # no contact count: not judged
    ("t07", "c1", "chat", "billing", "A0002", 5, 1, False),
    ("t08", "c2", "chat", "technical", "A0002", 20, 3, False),
    ("t09", "c3", "chat", "technical", "A0002", 24, 1, False),  # exactly 24 h: in 0-24 h
    ("t10", "c4", "chat", "billing", "A0002", 80, 2, True),
    ("t11", "c5", "chat", "billing", "A0002", 90, 1, False),
    ("t12", "c6", "chat", None, "A0003", None, 1, False),  # open 10 h at the as-of date: still open
    ("t13", "c7", "chat", None, "A0003", None, 1, False),  # open 200 h: known to be over 72 h
]
OPENED = {"t12": END - 10 * H, "t13": END - 200 * H}


def _tickets() -> pd.DataFrame:
    rows = []
    for i, (tid, cust, ch, cat, agent, hours, contacts, reopened) in enumerate(TICKETS):
        opened = OPENED.get(tid, T0 + timedelta(days=i))
        rows.append({"ticket_id": tid, "customer_id": cust, "opened_at": opened,
                     "resolved_at": opened + hours * H if hours is not None else None, "channel": ch,
                     "category": cat, "agent_id": agent, "contacts": contacts, "reopened": reopened})
    return pd.DataFrame(rows)


def _answers(tickets: pd.DataFrame) -> pd.DataFrame:
    """CSAT and CES answers placed around the tickets' resolutions (the link rule's cases)."""
    res = tickets.set_index("ticket_id")["resolved_at"]
    rows = [
        ("r1", "c1", res["t01"] + 2 * H, "csat", 5, "phone"),  # t01 (0-24 h): linked
        ("r2", "c2", res["t02"] + 47 * H, "csat", 4, "phone"),  # t02: within 48 h, linked
        ("r3", "c3", res["t03"] + 49 * H, "csat", 1, "phone"),  # 49 h after: not linked
        ("r4", "c4", res["t04"] + 3 * H, "csat", 2, "chat"),  # another channel than t04's: not linked
        ("r5", "c5", res["t05"] + 1 * H, "csat", 2, "phone"),  # t05 (24-72 h)
        ("r6", "c6", res["t06"] + 1 * H, "csat", 1, "phone"),  # t06 (> 72 h)
        ("r7", "c4", res["t10"] + 5 * H, "csat", 1, None),  # t10 (> 72 h): a blank channel links
        ("r8", "c5", res["t11"] + 2 * H, "ces", 3, "chat"),  # t11 (> 72 h)
        ("r9", "c1", res["t07"] + 1 * H, "ces", 7, "chat"),  # t07 (0-24 h)
        ("r10", "c9", END, "nps", 9, None),  # fixes the as-of date; no ticket
    ]
    return pd.DataFrame(rows, columns=["response_id", "customer_id", "ts", "metric", "score", "channel"])


@pytest.fixture()
def store(tmp_path):
    con = cxlib.connect(tmp_path / "service.duckdb", read_only=False)
    tickets = _tickets()
    assert cxlib.ingest(tickets, "tickets", db=con, add_customers=True).rejected == 0
    assert cxlib.ingest(_answers(tickets), "survey_responses", db=con, add_customers=True).rejected == 0
    yield con
    con.close()


def test_bands_and_their_labels():
    assert band_labels(check_bands((24, 72))) == ["0-24 h", "24-72 h", "> 72 h"]
    assert band_labels(check_bands([4.5])) == ["0-4.5 h", "> 4.5 h"]
    for bad in ((72, 24), (0, 24), ("24",), (), (1, 2, 3, 4, 5)):
        with pytest.raises(CxInputError):
            check_bands(bad)


def test_median_ranks_are_the_order_statistic_interval():
    """Conover's table: n = 10 gives ranks 2 and 9; n = 6 gives 1 and 6; no interval below 6."""
    assert median_ranks(10) == (2, 9)
    assert median_ranks(6) == (1, 6)
    assert median_ranks(5) is None
    for n in (6, 7, 20, 33, 100, 1001):
        j, k = median_ranks(n)
        assert k == n + 1 - j
        assert binom.cdf(j - 1, n, 0.5) <= 0.025 < binom.cdf(j, n, 0.5)  # the largest rank that keeps >= 95%
        assert 1 - 2 * binom.cdf(j - 1, n, 0.5) >= 0.95


def test_resolution_times_by_hand(store):
    df = service.resolution_times(store, by="channel").set_index("channel")
    phone, chat = df.loc["phone"], df.loc["chat"]
    assert (phone["tickets"], phone["resolved"], phone["still_open"]) == (6, 6, 0)
    assert (chat["tickets"], chat["resolved"], chat["still_open"]) == (7, 5, 2)
    assert phone["median_hours"] == pytest.approx(np.median([1, 2, 10, 30, 50, 100]))  # 20
    assert chat["median_hours"] == pytest.approx(24)  # of 5, 20, 24, 80, 90: open tickets are not in it
    assert phone["median_hours_lower"] == pytest.approx(1) and phone["median_hours_upper"] == pytest.approx(100)
    assert pd.isna(chat["median_hours_lower"])  # 5 resolved tickets: too few for a 95% interval
    # over 72 h: phone 100 h (1 of 6); chat 80 h, 90 h and the ticket open for 200 h (3 of 7)
    assert phone["share_over_72h"] == pytest.approx(1 / 6) and chat["share_over_72h"] == pytest.approx(3 / 7)
    lo, hi = proportion_confint(3, 7, method="wilson")
    assert (chat["share_over_72h_lower"], chat["share_over_72h_upper"]) == (pytest.approx(lo), pytest.approx(hi))
    assert chat["open_share"] == pytest.approx(2 / 7)
    assert not df["suppressed"].any()


def test_resolution_bands_count_open_tickets_honestly(store):
    df = service.resolution_bands(store, by="channel", min_group_size=1)
    chat = df[df["channel"] == "chat"].set_index("band")["tickets"].to_dict()
    # 24 h exactly is in 0-24 h; open 200 h is over 72 h; open 10 h is still open
    assert chat == {"0-24 h": 3, "24-72 h": 0, "> 72 h": 3, "still open": 1}
    phone = df[df["channel"] == "phone"].set_index("band")["tickets"].to_dict()
    assert phone == {"0-24 h": 3, "24-72 h": 2, "> 72 h": 1, "still open": 0}
    assert df.groupby("channel")["share"].sum().to_dict() == {"chat": pytest.approx(1), "phone": pytest.approx(1)}


def test_first_contact_resolution_by_hand(store):
    df = service.first_contact_resolution(store, by="channel", min_group_size=1).set_index("channel")
    phone, chat = df.loc["phone"], df.loc["chat"]
    # phone: 6 resolved, t06 has no contact count (not judged); one-touch of the 5 judged: t01, t02, t05
    assert (phone["resolved"], phone["not_judged"]) == (6, 1)
    assert phone["first_contact_rate"] == pytest.approx(3 / 5)
    assert phone["reopen_rate"] == pytest.approx(1 / 6)
    assert phone["contacts_per_ticket"] == pytest.approx(np.mean([1, 1, 2, 1, 1]))
    # chat: 5 resolved (the open ones are left out); one-touch: t07, t09, t11
    assert chat["first_contact_rate"] == pytest.approx(3 / 5) and chat["reopen_rate"] == pytest.approx(1 / 5)
    lo, hi = proportion_confint(3, 5, method="wilson")
    assert chat["first_contact_rate_lower"] == pytest.approx(lo)
    assert chat["first_contact_rate_upper"] == pytest.approx(hi)
    mean, sd = np.mean([1, 3, 1, 2, 1]), np.std([1, 3, 1, 2, 1], ddof=1)
    from scipy import stats

    half = stats.t.ppf(0.975, 4) * sd / np.sqrt(5)
    assert chat["contacts_per_ticket_lower"] == pytest.approx(mean - half)
    assert service.first_contact_headline(service.first_contact_resolution(store)) == (
        "60% of resolved tickets were solved at the first contact (95% interval 31% to 83%); 18.2% were reopened")


def test_ratings_link_answers_to_tickets_by_customer_channel_and_time(store):
    df = service.ratings_by_resolution(store, min_group_size=1).set_index("band")
    # CSAT linked: r1 (5) and r2 (4) in 0-24 h; r5 (2) in 24-72 h; r6 (1) and r7 (1) in > 72 h
    assert df["csat_answers"].to_dict() == {"0-24 h": 2, "24-72 h": 1, "> 72 h": 2}
    assert df.loc["0-24 h", "csat"] == pytest.approx(100) and df.loc["> 72 h", "csat"] == pytest.approx(0)
    # CES linked: r9 (7) in 0-24 h, r8 (3) in > 72 h
    assert df["ces_answers"].to_dict() == {"0-24 h": 1, "24-72 h": 0, "> 72 h": 1}
    assert df.loc["> 72 h", "ces"] == pytest.approx(3) and pd.isna(df.loc["> 72 h", "ces_lower"])  # n = 1


def test_ratings_suppress_small_bands(store):
    df = service.ratings_by_resolution(store, min_group_size=2).set_index("band")
    assert pd.isna(df.loc["24-72 h", "csat"]) and df.loc["24-72 h", "suppressed"]  # 1 answer
    assert df["suppressed"].all()  # and every band has fewer than 2 CES answers (or none)


def test_agents_are_shown_by_pseudonym_and_suppressed(store, monkeypatch):
    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)
    df = service.agent_performance(store, min_group_size=3)
    shown = df.to_string()
    assert not re.search(r"A000\d", shown) and "agent_id" not in df.columns
    assert all(re.fullmatch(r"Agent [b-z]{4}-[b-z]{4}", a) for a in df["agent"])
    row = df.set_index("agent")
    small = service.agent_pseudonyms(store, ["A0003"])["A0003"]
    assert row.loc[small, "suppressed"] and pd.isna(row.loc[small, "tickets"])  # 2 tickets
    hidden = row[row["tickets"].isna()]
    assert len(hidden) == 2 and hidden["median_hours"].isna().all()  # and a complement: a total is shown elsewhere
    assert list(df["suppressed"]) == sorted(df["suppressed"])  # hidden rows last
    again = service.agent_performance(store, min_group_size=3)
    assert list(again["agent"]) == list(df["agent"])  # stable
    ids = service.agent_performance(store, min_group_size=3, interactive=True)
    assert set(ids["agent_id"]) == {"A0001", "A0002", "A0003"}
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "another key")
    assert set(service.agent_performance(store, min_group_size=3)["agent"]).isdisjoint(df["agent"])


def test_agent_figures_by_hand(store):
    df = service.agent_performance(store, min_group_size=1, interactive=True).set_index("agent_id")
    a1 = df.loc["A0001"]
    assert (a1["tickets"], a1["resolved"]) == (6, 6)
    assert a1["median_hours"] == pytest.approx(20)
    assert a1["slow_share"] == pytest.approx(1 / 6) and a1["first_contact_rate"] == pytest.approx(3 / 5)
    assert a1["csat_answers"] == 4 and a1["csat"] == pytest.approx(50)  # r1, r2, r5, r6: 5, 4, 2, 1
    assert df.loc["A0003", "slow_share"] == pytest.approx(1 / 2)  # the ticket open 200 h


def test_service_headline_and_window(store):
    text = service.service_headline(store, min_group_size=1)
    assert text.startswith("13 tickets: half of the resolved tickets took up to 24 hours (95% interval 2 to 90 h)")
    assert "31% took longer than 72 hours" in text and "CSAT after those was 0%, against 67% after faster ones" in text
    assert "15.4% are still open" in text and "60% were solved at the first contact" in text
    assert service.resolution_headline(service.resolution_times(store, start="2026-01-01")) == \
        "No service tickets in the period selected"


def test_bad_arguments_are_refused(store):
    with pytest.raises(CxInputError, match="did you mean 'channel'"):
        service.resolution_times(store, by="chanel")
    with pytest.raises(CxInputError):
        service.ratings_by_resolution(store, answer_window_hours=0)
    with pytest.raises(CxInputError):
        service.agent_performance(store, interactive="yes")
    with pytest.raises(CxInputError):
        service.first_contact_resolution(store, start="2025-04-01", end="2025-03-01")


def test_churn_by_the_slowest_ticket(tmp_path):
    con = cxlib.connect(tmp_path / "churn.duckdb", read_only=False)
    tickets = _tickets()
    subs = pd.DataFrame({"customer_id": ["c1", "c2", "c4", "c6", "c7", "c8"], "plan": "basic",
                         "started_at": datetime(2025, 1, 1),
                         "ended_at": [None, datetime(2025, 3, 20), datetime(2025, 3, 25), None, datetime(2025, 3, 29),
                                      None]})
    cxlib.ingest(tickets, "tickets", db=con, add_customers=True)
    cxlib.ingest(subs, "subscriptions", db=con, add_customers=True)
    cxlib.ingest(_answers(tickets), "survey_responses", db=con, add_customers=True)
    df = service.churn_by_resolution(con, min_group_size=1).set_index("band")
    # slowest tickets: c1 5 h, c2 20 h (0-24 h); c4 80 h, c6 100 h, c7 open 200 h (> 72 h); c8 none
    assert df["customers"].to_dict() == {"no ticket": 1, "0-24 h": 2, "24-72 h": 0, "> 72 h": 3}
    assert df["churned"].to_dict() == {"no ticket": 0, "0-24 h": 1, "24-72 h": 0, "> 72 h": 2}
    assert df.loc["> 72 h", "churn_rate"] == pytest.approx(2 / 3)
    assert "contractual churn" in service.churn_resolution_headline(df.reset_index())
    con.close()
