"""cxlib.connect: read-only by default, CX_DB, a clear error for a missing or locked store."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

import cxlib
from cxlib.errors import CxDataError, CxStoreLockedError
from cxlib.store import DEFAULT_DB, default_path

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=len(sys.argv) > 2)
print("holding", flush=True)
time.sleep(120)
"""


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "s.duckdb"
    cxlib.connect(path, read_only=False).close()
    return path


@pytest.fixture()
def writer(store):
    """Another process holding the store open for writing."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    proc.kill()
    proc.wait()


def test_read_only_by_default_writes_fail(store):
    con = cxlib.connect(store)
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (0,)
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("INSERT INTO customers VALUES ('C1', TIMESTAMP '2024-01-01')")
    con.close()
    rw = cxlib.connect(store, read_only=False)
    rw.execute("INSERT INTO customers VALUES ('C1', TIMESTAMP '2024-01-01')")
    rw.close()
    assert cxlib.connect(store).execute("SELECT customer_id FROM customers").fetchall() == [("C1",)]


def test_cx_db_is_the_default_path(store, monkeypatch, tmp_path):
    monkeypatch.setenv("CX_DB", str(store))
    assert default_path() == store
    rw = duckdb.connect(str(store))
    rw.execute("INSERT INTO customers VALUES ('from_cx_db', TIMESTAMP '2024-01-01')")
    rw.close()
    con = cxlib.connect()
    assert con.execute("SELECT customer_id FROM customers").fetchall() == [("from_cx_db",)]
    con.close()
    monkeypatch.delenv("CX_DB")
    assert default_path() == DEFAULT_DB
    assert DEFAULT_DB.parts[-2:] == ("data", "cx.duckdb")


def test_an_explicit_path_wins_over_cx_db(store, monkeypatch, tmp_path):
    monkeypatch.setenv("CX_DB", str(tmp_path / "elsewhere.duckdb"))
    con = cxlib.connect(store)
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (0,)
    con.close()
    assert not (tmp_path / "elsewhere.duckdb").exists()


def test_missing_store_read_only_is_a_clear_error_and_creates_nothing(tmp_path):
    path = tmp_path / "nothing_here.duckdb"
    with pytest.raises(CxDataError) as err:
        cxlib.connect(path)
    assert str(err.value).startswith(f"no store at {path}: build one with 'cx sample'")
    assert "cx ingest" in str(err.value) and "CX_DB" in str(err.value)
    assert not path.exists()


def test_read_write_creates_the_file_and_schema(tmp_path):
    path = tmp_path / "new" / "x.duckdb"
    path.parent.mkdir()
    con = cxlib.connect(path, read_only=False)
    assert path.exists()
    assert {"customers", "events", "events_ordered", "load_log", "rejects"} <= {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()


def test_connection_settings_utc_and_no_progress_bar(store):
    con = cxlib.connect(store)
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
    con.close()


def test_locked_store_raises_an_error_naming_the_file(store, writer):
    for read_only in (True, False):
        with pytest.raises(CxStoreLockedError) as err:
            cxlib.connect(store, read_only=read_only)
        msg = str(err.value)
        assert msg.startswith(f"the store {store} is held for writing by another process (process {writer.pid}).")
        assert "Wait for that load to finish or close that session" in msg
        assert "Traceback" not in msg and "IO Error" not in msg
        assert err.value.__suppress_context__  # raised `from None`: no DuckDB traceback chained


def test_lock_released_when_the_writer_ends(store, writer):
    writer.kill()
    writer.wait()
    con = cxlib.connect(store)
    assert con.execute("SELECT 1").fetchone() == (1,)
    con.close()


def test_cx_info_on_a_locked_store_prints_one_line_and_exits_1(store, writer):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = subprocess.run([sys.executable, "-m", "cxlib.cli", "info", "--db", str(store)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"cx: error: the store {store} is held for writing by another process")
    assert "Traceback" not in run.stderr


def test_not_a_duckdb_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.duckdb"
    path.write_text("this is not a database")
    with pytest.raises(CxDataError, match=f"cannot open the store {path}"):
        cxlib.connect(path)


def test_a_reader_in_another_process_blocks_writing_with_its_own_message(store):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(store), "read-only"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        con = cxlib.connect(store)  # reading alongside another reader is fine
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
        con.close()
        with pytest.raises(CxStoreLockedError) as err:
            cxlib.connect(store, read_only=False)
        assert str(err.value) == (
            f"the store {store} is open for reading in another process (process {proc.pid}), so it cannot be "
            "opened for writing. Close that session (a notebook kernel or a report run), then run the load again.")
    finally:
        proc.kill()
        proc.wait()
