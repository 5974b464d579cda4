"""Bounded memory: every store connection has a memory limit and a spill folder it can write.

cxlib.store.resources sets them on every connection that connect() opens, read-only or not.
A load under a tiny limit spills to the folder instead of failing, and loads the same rows.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

import cxlib
from cxlib.errors import CxInputError
from cxlib.store import connection, resources
from cxlib.store.ingest import ingest


def _setting(con, name: str) -> str:
    return con.execute("SELECT current_setting(?)", [name]).fetchone()[0]


def _duckdb_shows(size: str) -> str:
    """How DuckDB reports a memory_limit of `size` (e.g. '244.1 MiB')."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{size}'")
    shown = _setting(con, "memory_limit")
    con.close()
    return shown


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("CX_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("CX_THREADS", raising=False)
    path = tmp_path / "store" / "cx.duckdb"
    cxlib.connect(path, read_only=False).close()
    return path


@pytest.mark.parametrize("read_only", [False, True])
def test_every_connection_has_the_default_limit_and_a_private_spill_folder(store, read_only):
    con = cxlib.connect(store, read_only=read_only)
    try:
        expected = min(4 * 1024**3, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
        assert _setting(con, "memory_limit") == _duckdb_shows(f"{expected}B")
        assert resources.memory_limit() == expected
        folder = Path(_setting(con, "temp_directory"))
        # Not DuckDB's default (<store>.tmp beside the file): under the system temp dir, writable
        assert folder.parent.parent == Path(tempfile.gettempdir())
        assert store.parent not in folder.parents
        assert os.access(folder.parent, os.W_OK)
        assert str(os.getpid()) in folder.name
    finally:
        con.close()


def test_a_read_only_connection_spills_into_its_folder(store, monkeypatch):
    """Grouping ~100 MB of distinct keys under a 32 MB limit must spill; without a spill folder it fails."""
    monkeypatch.setenv("CX_MEMORY_LIMIT", "32MB")
    query = ("SELECT count(*) FROM (SELECT s, count(*) FROM (SELECT md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s "
             "FROM range(1000000) r(i)) GROUP BY s)")
    con = cxlib.connect(store, read_only=True)
    try:
        assert con.execute(query).fetchone()[0] == 1_000_000
    finally:
        con.close()
    con = cxlib.connect(store, read_only=True)
    try:
        con.execute("SET temp_directory = ''")  # the test can fail: no spilling, no room
        with pytest.raises(duckdb.OutOfMemoryException):
            con.execute(query).fetchone()
    finally:
        con.close()


def test_cx_memory_limit_is_honoured(store, monkeypatch):
    monkeypatch.setenv("CX_MEMORY_LIMIT", "256MB")
    for read_only in (False, True):
        con = cxlib.connect(store, read_only=read_only)
        try:
            assert _setting(con, "memory_limit") == _duckdb_shows("256000000B")
        finally:
            con.close()
    monkeypatch.setenv("CX_MEMORY_LIMIT", "1.5GiB")
    assert resources.memory_limit() == int(1.5 * 1024**3)


@pytest.mark.parametrize("value", ["lots", "12 parsecs", "-1GB", "1KB"])
def test_a_bad_cx_memory_limit_says_what_to_write(store, monkeypatch, value):
    monkeypatch.setenv("CX_MEMORY_LIMIT", value)
    with pytest.raises(CxInputError, match=r"CX_MEMORY_LIMIT=.*(4GB|1GB)"):
        cxlib.connect(store)


def test_cx_threads(store, monkeypatch):
    monkeypatch.setenv("CX_THREADS", "1")
    con = cxlib.connect(store)
    try:
        assert _setting(con, "threads") == 1
    finally:
        con.close()
    monkeypatch.setenv("CX_THREADS", "many")
    with pytest.raises(CxInputError, match="CX_THREADS"):
        cxlib.connect(store)


ROWS = 200_000


def _files(folder: Path) -> tuple[Path, Path]:
    con = duckdb.connect()
    customers, events = folder / "customers.csv", folder / "events.csv"
    con.execute(f"COPY (SELECT printf('C%05d', i) AS customer_id, '2024-01-01' AS signup_at FROM range(2000) r(i)) "
                f"TO '{customers}' (HEADER)")
    # One row in 1,000 has a bad timestamp; a note column is kept as a property.
    con.execute(f"""COPY (SELECT printf('C%05d', hash(i) % 2000) AS customer_id,
                       CASE WHEN i % 1000 = 7 THEN 'not a time'
                            ELSE strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 3 % 3000000), '%Y-%m-%d %H:%M:%S')
                       END AS ts,
                       'tp' || (i % 13) AS touchpoint, 'ch' || (i % 5) AS channel, md5(i::VARCHAR) AS session_id,
                       md5((i * 7)::VARCHAR) AS note
                     FROM range({ROWS}) r(i)) TO '{events}' (HEADER)""")
    con.close()
    return customers, events


def _load(folder: Path, customers: Path, events: Path):
    """Load the files into a new store; the report, the events' content, the rejects, and whether DuckDB spilled."""
    con = cxlib.connect(folder / "cx.duckdb", read_only=False)
    try:
        ingest(customers, "customers", db=con)
        report = ingest(events, "events", db=con)
        spilled = Path(_setting(con, "temp_directory")).exists()  # DuckDB makes the folder on its first spill
        content = con.execute("SELECT count(*), sum(hash(customer_id, ts, touchpoint, channel, session_id, "
                              "CAST(properties AS VARCHAR))) FROM events").fetchone()
        rejects = con.execute("SELECT line, reason FROM rejects WHERE table_name = 'events' ORDER BY line").fetchall()
    finally:
        con.close()
    return report, content, rejects, spilled


def test_a_load_under_a_tiny_limit_spills_and_loads_the_same_rows(tmp_path, monkeypatch):
    customers, events = _files(tmp_path)
    monkeypatch.delenv("CX_MEMORY_LIMIT", raising=False)
    (tmp_path / "free").mkdir()
    free, free_content, free_rejects, free_spilled = _load(tmp_path / "free", customers, events)
    monkeypatch.setenv("CX_MEMORY_LIMIT", "64MB")
    (tmp_path / "tight").mkdir()
    tight, tight_content, tight_rejects, tight_spilled = _load(tmp_path / "tight", customers, events)
    assert (free_spilled, tight_spilled) == (False, True)
    assert (tight.read, tight.loaded, tight.rejected) == (free.read, free.loaded, free.rejected) == (ROWS, ROWS - 200, 200)
    assert tight_content == free_content
    assert tight_rejects == free_rejects
    assert tight_rejects[0] == (9, "not a timestamp: not a time")  # line 9: the header, then row i = 7


def test_without_a_spill_folder_the_tiny_limit_fails(tmp_path, monkeypatch):
    """The previous test can fail: the same load with spilling switched off runs out of memory."""
    customers, events = _files(tmp_path)
    real = resources.apply_resources

    def no_spill(con, path=None):
        real(con, path)
        con.execute("SET temp_directory = ''")

    monkeypatch.setattr(connection, "apply_resources", no_spill)
    monkeypatch.setenv("CX_MEMORY_LIMIT", "64MB")
    with pytest.raises(cxlib.CxError, match="Out of Memory"):
        _load(tmp_path, customers, events)


def test_the_spill_root_is_private_and_cleared_of_what_killed_processes_left(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    resources.spill_root.cache_clear()
    try:
        root = resources.spill_root()
        assert root.parent == tmp_path and not root.stat().st_mode & 0o077
        two_hours_ago = time.time() - 7200
        dead, recent, mine = root / "999999999-aa", root / "999999998-bb", root / f"{os.getpid()}-cc"
        for folder in (dead, recent, mine):
            folder.mkdir()
            if folder is not recent:
                os.utime(folder, (two_hours_ago, two_hours_ago))
        resources.spill_root.cache_clear()
        assert resources.spill_root() == root
        assert (dead.exists(), recent.exists(), mine.exists()) == (False, True, True)
        root.chmod(0o777)  # open to others: not used
        resources.spill_root.cache_clear()
        fresh = resources.spill_root()
        assert fresh != root and fresh.parent == tmp_path and not fresh.stat().st_mode & 0o077
    finally:
        resources.spill_root.cache_clear()
