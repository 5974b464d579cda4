"""Differencing across runs (issue 14): two report runs on the same store must not publish tables
whose difference singles out fewer than min_group_size people.

The attack from the issue: voice_of_customer with ``-p end=2026-06-11`` and again with
``-p end=2026-06-12`` published NPS by region one detractor apart. Complete periods make those
two runs one; the release ledger catches what complete periods cannot (one answer added to the
store between two runs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import cxlib
from cxlib.privacy import ledger

pytestmark = pytest.mark.slow


def by_segment(page) -> dict[str, str]:
    """NPS by segment as published: {segment: n as shown} ('' when hidden)."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    for table in soup.find_all("table"):
        head = [th.get_text(strip=True).lower() for th in table.find_all("th")]
        if {"segment", "n", "promoters", "detractors", "nps"} <= set(head):
            rows = {}
            for tr in table.find("tbody").find_all("tr"):
                cells = [c.get_text(strip=True) for c in tr.find_all(["td", "th"])]
                shown = cells[head.index("n")]
                rows[cells[head.index("segment")]] = "" if shown in ("", "-", "\u2013") else shown
            return rows
    raise AssertionError(f"no NPS-by-segment table in {page.name}")


def run(store, out, *params):
    from report_helpers import cx

    args = [a for p in params for a in ("-p", p)]
    done = cx("report", "run", "voice_of_customer", "--db", str(store), "--out", str(out), *args)
    assert done.returncode == 0, done.stderr
    folder = max((p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()), key=lambda p: p.name)
    return folder / "voice_of_customer.html", json.loads((folder / "run.json").read_text())


def test_two_runs_a_day_apart_publish_the_same_tables(sample_db, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copyfile(sample_db, store)
    first, manifest1 = run(store, tmp_path / "reports", "end=2026-06-11")
    second, manifest2 = run(store, tmp_path / "reports", "end=2026-06-12")
    assert manifest1["targets"][0]["parameters"]["end"] == manifest2["targets"][0]["parameters"]["end"] == "2026-05-31"
    assert by_segment(first) == by_segment(second)
    assert "complete months, up to 2026-05-31" in second.read_text()


def test_one_answer_added_between_runs_is_not_published(sample_db, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copyfile(sample_db, store)
    out = tmp_path / "reports"
    before, _ = run(store, out, "end=2026-05-31")
    shown = by_segment(before)
    assert shown["east"] and int(shown["east"].replace(",", "")) >= 5
    con = cxlib.connect(store, read_only=False)
    east = con.execute("SELECT customer_id FROM customers WHERE region = 'east' ORDER BY customer_id LIMIT 1").fetchone()[0]
    con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) "
                "VALUES ('one-more', ?, '2026-05-20 10:00', 'nps', 2)", [east])
    con.close()
    after, _ = run(store, out, "end=2026-05-31")
    now = by_segment(after)
    assert now["east"] == "", f"east went from {shown['east']} to {now['east']}: one detractor singled out"
    assert sum(v == "" for v in now.values()) >= 2  # with a complement: the overall n cannot give it back
    # and what the ledger holds: every pair of counts of one group is equal or at least 5 apart
    books = list((out / ".analyst" / "ledger").glob("*.jsonl"))
    assert len(books) == 1
    for counts in ledger.read(books[0]).values():
        assert all(a == b or abs(a - b) >= 5 for a in counts for b in counts), counts


def test_every_report_runs_when_the_ledger_hides_groups(rendered_reports, tmp_path):
    """A week later, 2% of the rows are gone: many groups differ by 1 to 4 from what the first run
    published and are hidden. Every report must still run, and say what it hides, not fail."""
    from report_helpers import cx

    from cxlib.report.runs import ledger_file

    store = tmp_path / "store.duckdb"
    shutil.copyfile(rendered_reports["store"], store)
    out = tmp_path / "reports"
    first = ledger_file(rendered_reports["out"] / ".analyst", str(Path(rendered_reports["store"]).resolve()))
    book = ledger_file(out / ".analyst", str(store.resolve()))
    book.parent.mkdir(parents=True)
    shutil.copyfile(first, book)
    before = ledger.read(book)
    con = cxlib.connect(store, read_only=False)
    for table, key in (("survey_responses", "response_id"), ("events", "customer_id, ts, touchpoint"),
                       ("tickets", "ticket_id"), ("orders", "order_id")):
        con.execute(f"DELETE FROM {table} WHERE hash({key}) % 50 = 0")
    con.close()
    done = cx("report", "run", "--all", "--db", str(store), "--out", str(out), timeout=3000)
    assert done.returncode == 0, done.stderr
    after = ledger.read(book)
    new = {key: after[key] - before.get(key, set()) for key in after if after[key] - before.get(key, set())}
    assert new, "the second run published nothing new"
    for key, counts in new.items():  # nothing published now is 1 to 4 away from what the first run published
        assert all(abs(c - b) >= 5 for c in counts for b in before.get(key, ())), (counts, before.get(key))


def test_a_funnel_the_ledger_hides_is_said_in_words_not_drawn_empty(sample_db, tmp_path):
    """journey then overview in one run on a clickstream alone: the overview's funnel (complete months)
    counts a few customers more than the journey's (complete weeks) at each step, fewer than
    min_group_size apart, so the ledger hides its steps. The page says so and draws no empty chart."""
    from report_helpers import cx

    from cxlib.report.render import visible_text

    store = tmp_path / "events.duckdb"
    source = cxlib.connect(sample_db)
    try:
        cxlib.ingest(source.execute("SELECT * FROM events").df(), "events", db=store, add_customers=True)
    finally:
        source.close()
    done = cx("report", "run", "journey", "overview", "--db", str(store), "--out", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    (folder,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir() and p.name[0].isdigit()]
    text = visible_text((folder / "overview.html").read_text())
    buy = text[text.rindex("How many buy"):text.index("How many stay", text.rindex("How many buy"))]
    assert "The share reaching payment is hidden to protect small groups" in buy
    assert "Conversion from step 1" not in buy  # no chart of hidden bars
