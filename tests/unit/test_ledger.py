"""The release ledger (cxlib.privacy.ledger): no published count may be subtracted from an
earlier one of the same group to single out fewer than k people."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlib.privacy import ledger, suppress


@pytest.fixture()
def run(tmp_path, monkeypatch):
    """Publish a table as one page of a report run: suppress with the ledger, then merge."""
    book = tmp_path / "ledger.jsonl"

    def publish(df, **kw):
        log = tmp_path / "page.jsonl"
        monkeypatch.setenv(ledger.LEDGER_ENV, str(book))
        monkeypatch.setenv(ledger.LOG_ENV, str(log))
        out = suppress(df, values=kw.pop("values", ["detractors"]), **kw)
        ledger.merge(log, book)
        log.unlink(missing_ok=True)
        return out

    publish.book = book
    return publish


def regions(east, west, north, detractors=(10, 5, 3)):
    return pd.DataFrame({"segment": ["east", "west", "north"], "n": [east, west, north],
                         "detractors": list(detractors)})


def test_one_more_answer_in_a_region_is_not_published_next_run(run):
    """The issue's attack: a second run showed east n + 1 and detractors + 1: one detractor in east."""
    first = run(regions(100, 50, 30))
    assert not first["suppressed"].any()
    second = run(regions(101, 50, 38, detractors=(11, 5, 4)))
    hidden = second.set_index("segment")["suppressed"]
    assert hidden["east"]  # 101 - 100 = 1 person
    assert hidden.sum() == 2  # and a complement, so east cannot be had from the total either
    assert second.loc[hidden.to_numpy(), "n"].isna().all()
    assert second.loc[hidden.to_numpy(), "detractors"].isna().all()


def test_a_difference_of_k_or_more_or_none_is_published(run):
    run(regions(100, 50, 30))
    again = run(regions(100, 55, 30))  # west + 5 = k: a group of five, allowed
    assert not again["suppressed"].any()
    assert list(again["n"]) == [100, 55, 30]


def test_every_earlier_count_counts_not_only_the_last(run):
    run(regions(100, 50, 30))
    run(regions(110, 50, 30))
    third = run(regions(103, 50, 30))  # 7 from 110, but 3 from 100
    assert third.set_index("segment")["suppressed"]["east"]


def test_a_hidden_count_is_not_in_the_ledger(run):
    run(regions(100, 50, 30))
    run(regions(102, 50, 30))  # hidden: 2 from 100
    third = run(regions(104, 50, 30))  # 4 from 100, 2 from the unpublished 102: hidden for 100
    assert third.set_index("segment")["suppressed"]["east"]
    fourth = run(regions(105, 50, 30))
    assert not fourth["suppressed"].any()
    assert ledger.read(run.book)[ledger.group_keys(regions(1, 1, 1), "n", ["detractors"])[0]] == {100, 105}


def test_group_keys_ignore_the_dtype_and_tell_tables_apart():
    ints = pd.DataFrame({"week": [1, 2], "n": [5, 6], "x": [1.0, 2.0]})
    floats = ints.assign(week=[1.0, 2.0], n=pd.array([7, 8], dtype="Int64"))
    assert ledger.group_keys(ints, "n", ["x"]) == ledger.group_keys(floats, "n", ["x"])
    other = ints.rename(columns={"x": "y"})
    assert ledger.group_keys(ints, "n", ["x"]) != ledger.group_keys(other, "n", ["y"])
    assert len(set(ledger.group_keys(ints, "n", ["x"]))) == 2
    unlabelled = pd.DataFrame({"n": [5, 6, 7], "agent": ["a", "b", "c"]})  # the label is blanked with the values
    assert len(set(ledger.group_keys(unlabelled, "n", ["agent"]))) == 3


def test_outside_a_report_run_nothing_is_read_or_written(tmp_path, monkeypatch):
    monkeypatch.delenv(ledger.LEDGER_ENV, raising=False)
    monkeypatch.delenv(ledger.LOG_ENV, raising=False)
    assert not ledger.active()
    out = suppress(regions(101, 50, 30), values=["detractors"])
    assert not out["suppressed"].any()
    assert list(tmp_path.iterdir()) == []


def test_merge_adds_each_pair_once(tmp_path):
    log, book = tmp_path / "log.jsonl", tmp_path / "book.jsonl"
    log.write_text('["a", 5]\n["a", 5]\n["b", 7]\n')
    assert ledger.merge(log, book) == 2
    assert ledger.merge(log, book) == 0
    assert ledger.read(book) == {"a": {5}, "b": {7}}
    assert ledger.merge(tmp_path / "none.jsonl", book) == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=3, max_size=3), min_size=2, max_size=6),
       st.integers(2, 6))
def test_no_two_published_counts_of_a_group_differ_by_less_than_k(tmp_path_factory, runs, k):
    """Any sequence of runs: every pair of counts published for one group is equal or k apart."""
    folder = tmp_path_factory.mktemp("runs")
    book = folder / "ledger.jsonl"
    published: dict[str, list[int]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ledger.LEDGER_ENV, str(book))
        for i, counts in enumerate(runs):
            log = folder / f"{i}.jsonl"
            mp.setenv(ledger.LOG_ENV, str(log))
            out = suppress(regions(*counts, detractors=(0, 0, 0)), values=["detractors"], min_group_size=k)
            ledger.merge(log, book)
            for row in out[~out["suppressed"]].itertuples():
                published.setdefault(row.segment, []).append(int(row.n))
    for counts in published.values():
        assert all(a == b or abs(a - b) >= k for a in counts for b in counts), counts
