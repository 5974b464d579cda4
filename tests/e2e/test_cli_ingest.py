"""`cx ingest` end to end: summaries, exit codes, one-line errors, and a store left as it was
when a load is refused, fails, or is killed with SIGKILL in the middle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

import cxlib

CX = Path(sys.executable).parent / "cx"
TABLES = ["customers", "events", "touchpoint_stages", "survey_responses", "orders", "tickets", "subscriptions",
          "load_log", "rejects", "events_ordered"]


def cx(*args, timeout=300) -> subprocess.CompletedProcess:
    command = [str(CX)] if CX.exists() else [sys.executable, "-m", "cxlib.cli"]
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def snapshot(db) -> dict[str, list]:
    con = cxlib.connect(db)
    try:
        snap = {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}
        snap["customers columns"] = cxlib.store.table_columns(con, "customers")
        return snap
    finally:
        con.close()


def one_error_line(run, exit_code: int, starts: str) -> None:
    assert run.returncode == exit_code, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(starts), lines[0]


@pytest.fixture()
def db(tmp_path):
    """A store with customers C1, C2 loaded through the CLI."""
    path = tmp_path / "cli.duckdb"
    run = cx("ingest", "customers", write(tmp_path, "c.csv", "customer_id,signup_at,region\nC1,2024-01-01,north\n"
                                                             "C2,2024-01-02,south\n"), "--db", path)
    assert run.returncode == 0, run.stderr
    return path


def test_summary_prints_read_loaded_rejected_per_file(db, tmp_path):
    a = write(tmp_path, "a.csv", "customer_id,ts,touchpoint,channel\nC1,2024-01-01,chat,chat\nC3,2024-01-01,chat,chat\n")
    b = write(tmp_path, "b.csv", "customer_id,ts,touchpoint,channel\nC2,2024-01-01,chat,chat\n")
    con = cxlib.connect(db)
    next_id = con.execute("SELECT max(load_id) + 1 FROM load_log").fetchone()[0]
    con.close()
    run = cx("ingest", "events", a, b, "--db", db)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"events <- {a}: read 2, loaded 1, rejected 1 (see: SELECT * FROM rejects WHERE load_id = {next_id} ORDER BY line)",
        f"events <- {b}: read 1, loaded 1, rejected 0",
    ]
    assert run.stderr == ""  # no progress bar noise
    con = cxlib.connect(db)
    assert con.execute("SELECT customer_id FROM events ORDER BY 1").fetchall() == [("C1",), ("C2",)]
    assert con.execute(f"SELECT line, column_name, reason FROM rejects WHERE load_id = {next_id}").fetchall() == [
        (3, "customer_id", "unknown customer_id C3: load its customer first")]


def test_strict_exits_1_when_a_row_was_rejected(db, tmp_path):
    path = write(tmp_path, "o.csv", "order_id,customer_id,ts,amount\no1,C1,2024-01-01,5\no2,C1,2024-01-01,-5\n")
    run = cx("ingest", "orders", path, "--strict", "--db", db)
    assert run.returncode == 1
    assert run.stdout.startswith(f"orders <- {path}: read 2, loaded 1, rejected 1")
    again = cx("ingest", "orders", write(tmp_path, "o2.csv", "order_id,customer_id,ts,amount\no3,C1,2024-01-01,5\n"),
               "--strict", "--db", db)
    assert again.returncode == 0, again.stderr


def test_header_mismatch_exits_1_and_leaves_the_store_byte_for_byte_unchanged(db, tmp_path):
    before, raw_before = snapshot(db), db.read_bytes()
    path = write(tmp_path, "e.csv", "cust,ts,touchpoint\nC1,2024-01-01,chat\n")
    run = cx("ingest", "events", path, "--db", db)
    one_error_line(run, 1, "cx: error: header does not match table events: missing ['customer_id', 'channel']")
    assert "found ['cust', 'ts', 'touchpoint']" in run.stderr and "--map SOURCE=TARGET" in run.stderr
    assert run.stdout == ""
    assert snapshot(db) == before
    assert db.read_bytes() == raw_before


def test_map_fixes_the_header_and_map_to_nothing_drops_a_column(db, tmp_path):
    path = write(tmp_path, "e.csv", "cust,ts,touchpoint,chan,browser\nC1,2024-01-01 10:00,chat,chat,firefox\n")
    run = cx("ingest", "events", path, "--map", "cust=customer_id", "--map", "chan=channel", "--map", "browser=",
             "--db", db)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"events <- {path}: read 1, loaded 1, rejected 0"
    con = cxlib.connect(db)
    assert con.execute("SELECT customer_id, touchpoint, channel, session_id FROM events").fetchall() == [
        ("C1", "chat", "chat", None)]


def test_map_without_equals_is_a_usage_error(db, tmp_path):
    run = cx("ingest", "events", write(tmp_path, "e.csv", "x\n1\n"), "--map", "cust", "--db", db)
    one_error_line(run, 2, "cx: error: --map takes SOURCE=TARGET (or SOURCE= to drop a column), got 'cust'")


def test_unknown_table_exits_2_naming_the_choices(db, tmp_path):
    before = snapshot(db)
    run = cx("ingest", "custmers", write(tmp_path, "c.csv", "customer_id,signup_at\nC9,2024-01-01\n"), "--db", db)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "invalid choice: 'custmers'" in run.stderr and "customers" in run.stderr
    assert snapshot(db) == before


def test_unknown_timezone_exits_2_with_one_line(db, tmp_path):
    before = snapshot(db)
    run = cx("ingest", "events", write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel\nC1,2024-01-01,chat,chat\n"),
             "--timezone", "Europe/Berlinn", "--db", db)
    one_error_line(run, 2, "cx: error: unknown time zone 'Europe/Berlinn': use an IANA name")
    assert snapshot(db) == before


def test_missing_file_exits_2(db, tmp_path):
    run = cx("ingest", "events", tmp_path / "nope.csv", "--db", db)
    one_error_line(run, 2, f"cx: error: no such file: {tmp_path / 'nope.csv'}")


def test_timezone_date_format_delimiter_and_encoding_are_passed_through(db, tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("ticket_id;customer_id;opened_at;resolved_at;channel;category\n"
                     "t1;C1;03/04/2024 10:00;03/04/2024 12:30;chat;facturation é\n".encode("latin-1"))
    run = cx("ingest", "tickets", path, "--delimiter", ";", "--encoding", "latin-1", "--timezone", "Europe/Berlin",
             "--date-format", "%d/%m/%Y %H:%M", "--db", db)
    assert run.returncode == 0, run.stderr
    con = cxlib.connect(db)
    assert con.execute("SELECT opened_at::VARCHAR, resolved_at::VARCHAR, category FROM tickets").fetchall() == [
        ("2024-04-03 08:00:00", "2024-04-03 10:30:00", "facturation é")]
    assert con.execute("SELECT timezone, date_format FROM load_log ORDER BY load_id DESC LIMIT 1").fetchall() == [
        ("Europe/Berlin", "%d/%m/%Y %H:%M")]


def test_ingest_into_a_locked_store_exits_1_with_one_line(db, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('holding', flush=True); time.sleep(120)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        run = cx("ingest", "events", write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel\n"), "--db", db)
        one_error_line(run, 1, f"cx: error: the store {db} is held for writing by another process (process {holder.pid})")
    finally:
        holder.kill()
        holder.wait()


def test_loading_the_same_file_twice_through_the_cli_adds_nothing(db, tmp_path):
    path = write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel\nC1,2024-01-01,chat,chat\nC2,2024-01-02,chat,chat\n")
    assert cx("ingest", "events", path, "--db", db).returncode == 0
    events = snapshot(db)["events"]
    run = cx("ingest", "events", path, "--db", db)
    assert run.returncode == 0
    assert run.stdout.startswith(f"events <- {path}: read 2, loaded 0, rejected 2")
    assert snapshot(db)["events"] == events


# --- a killed load ------------------------------------------------------------------------------

KILLABLE = textwrap.dedent("""
    import sys
    import importlib
    ingest = importlib.import_module("cxlib.store.ingest")
    step = sys.argv[3]
    real = getattr(ingest, step)
    def announce(*args, **kwargs):
        print("inside " + step, flush=True)
        return real(*args, **kwargs)
    setattr(ingest, step, announce)
    print(ingest.ingest(sys.argv[2], "events", db=sys.argv[1]))
""")


@pytest.fixture(scope="module")
def big_events(tmp_path_factory):
    """A 300,000-row events CSV for 1,000 customers, and a store holding those customers."""
    folder = tmp_path_factory.mktemp("big")
    customers, events = folder / "customers.csv", folder / "events.csv"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT 'K' || i AS customer_id, TIMESTAMP '2024-01-01' AS signup_at FROM range(1000) r(i))
                    TO '{customers}' (HEADER)""")
    con.execute(f"""COPY (SELECT 'K' || (i % 1000) AS customer_id,
                                 TIMESTAMP '2024-01-01' + to_seconds(i) AS ts,
                                 ['chat', 'checkout', 'home_page'][1 + i % 3] AS touchpoint, 'web' AS channel
                          FROM range(300000) r(i)) TO '{events}' (HEADER)""")
    con.close()
    return customers, events


@pytest.mark.slow
@pytest.mark.parametrize("step", ["_write", "refresh_derived"])
def test_a_load_killed_mid_way_leaves_the_store_exactly_as_it_was(big_events, tmp_path, step):
    customers, events = big_events
    db = tmp_path / "killed.duckdb"
    assert cx("ingest", "customers", customers, "--db", db).returncode == 0
    small = write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel\nK1,2023-12-31,chat,chat\n")
    assert cx("ingest", "events", small, "--db", db).returncode == 0
    before = snapshot(db)

    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(db), str(events), step],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == f"inside {step}", proc.stderr.read()
        assert proc.poll() is None, "the load finished before it could be killed; use a bigger file"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    assert snapshot(db) == before  # the store opens (WAL replayed) and holds exactly what it held
    run = cx("ingest", "events", events, "--db", db)  # and the next load works
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"events <- {events}: read 300,000, loaded 300,000, rejected 0")


def test_bad_date_format_exits_2_with_one_line(db, tmp_path):
    before = snapshot(db)
    run = cx("ingest", "events", write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel\nC1,2024-01-01,chat,chat\n"),
             "--date-format", "%Q", "--db", db)
    one_error_line(run, 2, "cx: error: date_format '%Q' is not a strptime format")
    assert snapshot(db) == before


def test_with_several_files_an_error_names_its_file_and_the_earlier_loads(db, tmp_path):
    good = write(tmp_path, "o1.csv", "order_id,customer_id,ts,amount\no1,C1,2024-01-01,5\n")
    bad = write(tmp_path, "o2.csv", "order_id,cust,ts,amount\no2,C1,2024-01-01,5\n")
    run = cx("ingest", "orders", good, bad, "--db", db)
    assert run.stdout.startswith(f"orders <- {good}: read 1, loaded 1, rejected 0")
    one_error_line(run, 1, f"cx: error: {bad}: header does not match table orders: missing ['customer_id']")
    assert run.stderr.strip().endswith("(1 earlier file(s) loaded, as printed above)")
