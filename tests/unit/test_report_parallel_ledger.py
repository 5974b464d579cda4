"""The release ledger when pages of one run are made at the same time (``cx report run --jobs N``):
merges neither lose nor interleave entries, and `stale` says when a page made beside others
would have hidden more, had it run after the pages published before it."""

from __future__ import annotations

import json
import multiprocessing

import pandas as pd

from cxlib.privacy import ledger, suppress


def _merge_at_once(log: str, book: str, barrier) -> None:
    from pathlib import Path

    barrier.wait()  # every process imported and ready: the merges start together
    ledger.merge(Path(log), Path(book))


def test_merges_at_the_same_time_add_each_pair_once_and_whole(tmp_path):
    book = tmp_path / "ledger.jsonl"
    logs = []
    shared = "".join(json.dumps([f"shared-{'x' * 200}-{i}", i]) + "\n" for i in range(20000))
    for page in range(6):
        log = tmp_path / f"page{page}.jsonl"
        # the same groups on every page (each must be in the ledger once), and some of its own; long
        # keys and many rows, so that one append is several writes
        log.write_text(shared + "".join(json.dumps([f"{page}-{'x' * 200}-{i}", i]) + "\n" for i in range(2000)))
        logs.append(str(log))
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(len(logs))
    workers = [spawn.Process(target=_merge_at_once, args=(log, str(book), barrier)) for log in logs]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    lines = book.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 20000 + 6 * 2000
    assert all(len(json.loads(line)) == 2 for line in lines)


def regions(east: int) -> pd.DataFrame:
    return pd.DataFrame({"segment": ["east", "west", "north"], "n": [east, 50, 30], "detractors": [10, 5, 3]})


def _page(tmp_path, monkeypatch, name: str, east: int, book):
    """Suppress one table as a page of a run does; returns its release log and its checked rows."""
    log, checked = tmp_path / f"{name}.released.jsonl", tmp_path / f"{name}.checked.jsonl"
    monkeypatch.setenv(ledger.LEDGER_ENV, str(book))
    monkeypatch.setenv(ledger.LOG_ENV, str(log))
    monkeypatch.setenv(ledger.CHECKED_ENV, str(checked))
    out = suppress(regions(east), values=["detractors"])
    return out, log, checked


def test_a_page_made_beside_one_it_could_be_subtracted_from_is_stale(tmp_path, monkeypatch):
    book = tmp_path / "ledger.jsonl"
    before = ledger.read(book)
    first, first_log, _ = _page(tmp_path, monkeypatch, "first", 100, book)
    second, _, second_checked = _page(tmp_path, monkeypatch, "second", 101, book)
    assert not first["suppressed"].any() and not second["suppressed"].any()  # neither saw the other
    assert not ledger.stale(second_checked, before, book)  # nothing published yet
    ledger.merge(first_log, book)
    assert ledger.stale(second_checked, before, book)  # 101 - 100: one person
    # run again after the first page (against the ledger as it is now), it hides east
    now = ledger.read(book)
    again, _, again_checked = _page(tmp_path, monkeypatch, "again", 101, book)
    assert again.set_index("segment")["suppressed"]["east"]
    assert not ledger.stale(again_checked, now, book)


def test_a_page_is_not_stale_for_what_it_already_saw_or_for_k_or_more(tmp_path, monkeypatch):
    book = tmp_path / "ledger.jsonl"
    _, log, _ = _page(tmp_path, monkeypatch, "earlier run", 100, book)
    ledger.merge(log, book)
    before = {key: set(counts) for key, counts in ledger.read(book).items()}
    _, _, checked = _page(tmp_path, monkeypatch, "page", 103, book)  # hidden already: 3 from 100
    _, log, _ = _page(tmp_path, monkeypatch, "other", 102, book)
    ledger.merge(log, book)  # ... so 1 from 102 changes nothing
    assert ledger.stale(checked, before, book) is False
    _, _, far = _page(tmp_path, monkeypatch, "far", 120, book)
    assert not ledger.stale(far, before, book)  # 18 from 102, 20 from 100
    assert not ledger.stale(tmp_path / "none.jsonl", before, book)  # a page without tables
