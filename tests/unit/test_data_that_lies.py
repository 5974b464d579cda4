"""Data that lies: implausible times, look-alike identifiers, NUL bytes, numbers written oddly.

Each case states the exact outcome: what loads, what is rejected with which reason, and that
one stray row cannot move the store's as-of date (and with it every churn figure).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.churn import churn_rate


def rejects(con, report):
    return con.execute("SELECT line, column_name, reason FROM rejects WHERE load_id = ? ORDER BY line",
                       [report.load_id]).fetchall()


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "lies.duckdb", read_only=False)
    cxlib.ingest(pd.DataFrame({"customer_id": ["C0000001", "C0000002"], "signup_at": "2024-01-01"}), "customers",
                 db=con)
    yield con
    con.close()


def test_implausible_timestamps_are_rejected(con, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("customer_id,ts,touchpoint,channel\nC0000001,2024-03-01,home,web\nC0000001,9999-12-31,home,web\n"
                    "C0000001,0001-01-01,home,web\nC0000001,1900-01-01,home,web\n")
    report = cxlib.ingest(path, "events", db=con, latest="2030-01-01")
    assert (report.read, report.loaded, report.rejected) == (4, 1, 3)
    assert rejects(con, report) == [
        (3, "ts", "implausible timestamp 9999-12-31: after 2030-01-01 00:00 (pass --latest DATE to allow later times)"),
        (4, "ts", "implausible timestamp 0001-01-01: before 1970-01-01 (pass --earliest DATE to allow earlier times)"),
        (5, "ts", "implausible timestamp 1900-01-01: before 1970-01-01 (pass --earliest DATE to allow earlier times)"),
    ]
    later = tmp_path / "later.csv"
    later.write_text("customer_id,ts,touchpoint,channel\nC0000002,1969-07-20,moon,web\n")
    assert cxlib.ingest(later, "events", db=con, earliest="1950-01-01").loaded == 1


def test_the_default_latest_time_is_the_load_time_plus_a_day(con, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("customer_id,ts,touchpoint,channel\nC0000001,2999-01-01,home,web\n")
    report = cxlib.ingest(path, "events", db=con)
    (line, column, reason), = rejects(con, report)
    assert (line, column) == (2, "ts") and reason.startswith("implausible timestamp 2999-01-01: after ")
    tomorrow = (datetime.utcnow() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    assert tomorrow in reason


def test_a_planned_subscription_end_may_lie_ahead_and_does_not_move_the_as_of_date(con, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("customer_id,plan,started_at,ended_at\nC0000001,pro,2024-01-01,2999-12-31\n"
                    "C0000002,pro,2024-01-01,2024-05-01\n")
    assert cxlib.ingest(path, "subscriptions", db=con).loaded == 2
    assert cxlib.as_of(con) == datetime(2024, 5, 1)


def test_one_stray_row_cannot_move_the_as_of_date(tmp_path):
    """A store of 30,000 activity rows ending in June 2024, plus one row typed as 2026."""
    con = cxlib.connect(tmp_path / "stray.duckdb", read_only=False)
    days = pd.date_range("2023-01-01", "2024-06-30", freq="D")
    customers = [f"c{i:04d}" for i in range(600)]
    events = pd.DataFrame({"customer_id": [customers[i % 600] for i in range(30_000)],
                           "ts": [days[(i * 7919) % len(days)] for i in range(30_000)],
                           "touchpoint": "home", "channel": "web"})
    cxlib.ingest(events.drop_duplicates(["customer_id", "ts"]), "events", db=con, add_customers=True)
    before = cxlib.as_of(con)
    rate = churn_rate(con, definition="non_contractual")
    stray = pd.DataFrame({"customer_id": ["c0001"], "ts": ["2026-06-30"], "touchpoint": "home", "channel": "web"})
    assert cxlib.ingest(stray, "events", db=con, latest="2027-01-01").loaded == 1
    assert cxlib.as_of(con) == before == datetime(2024, 6, 30)
    pd.testing.assert_frame_equal(churn_rate(con, definition="non_contractual"), rate)
    con.close()


def test_look_alike_identifiers_are_not_new_customers(con):
    cyrillic, zero_width, fullwidth = "\u04210000001", "C0000001\u200b", "\uff23\uff10\uff10\uff10\uff10\uff10\uff10\uff13"
    df = pd.DataFrame({"customer_id": [cyrillic, zero_width, fullwidth, "C0000004"], "signup_at": "2024-02-01"})
    report = cxlib.ingest(df, "customers", db=con)
    assert (report.read, report.loaded, report.rejected) == (4, 2, 2)
    assert rejects(con, report) == [
        (2, "customer_id", "customer_id '\\u04210000001' looks like the existing customer_id 'C0000001' (it has "
                           "letters of another script)"),
        (3, "customer_id", "customer_id 'C0000001\\u200b' is 'C0000001' written with invisible or full-width "
                           "characters: a look-alike of an existing customer_id"),
    ]
    # the full-width id had no look-alike in the store: it is stored as plain C0000003
    assert [r[0] for r in con.execute("SELECT customer_id FROM customers ORDER BY 1").fetchall()] == [
        "C0000001", "C0000002", "C0000003", "C0000004"]
    # an event of the Cyrillic look-alike is not a new customer, even with add_customers
    events = pd.DataFrame({"customer_id": [cyrillic, "C0000001"], "ts": "2024-03-01", "touchpoint": "home",
                           "channel": "web"})
    report = cxlib.ingest(events, "events", db=con, add_customers=True)
    assert (report.loaded, report.rejected, report.customers_added) == (1, 1, 0)
    assert rejects(con, report)[0][2].startswith("customer_id '\\u04210000001' looks like the existing customer_id")


def test_nul_bytes_and_numbers_written_oddly_are_rejected(con, tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"response_id,customer_id,ts,metric,score,comment\nr1,C0000001,2024-03-01,nps,1e1,\n"
                     b"r2,C0000001,2024-03-01,nps,10,fine\nr3,C0000001,2024-03-01,nps,9,bad\x00byte\n"
                     b"r4,C0000001,2024-03-01,nps,8.0,\nr5,C0000001,2024-03-01,nps,0x9,\n")
    report = cxlib.ingest(path, "survey_responses", db=con)
    assert (report.read, report.loaded, report.rejected) == (5, 2, 3)
    assert rejects(con, report) == [(2, "score", "not a whole number: 1e1"),
                                    (4, "comment", "a NUL byte in comment: not text"),
                                    (6, "score", "not a whole number: 0x9")]
    assert con.execute("SELECT response_id, score FROM survey_responses ORDER BY 1").fetchall() == [
        ("r2", 10), ("r4", 8)]


def test_the_cli_exits_non_zero_when_a_file_of_strays_loads_nothing(tmp_path):
    db = tmp_path / "cli.duckdb"
    path = tmp_path / "e.csv"
    path.write_text("customer_id,ts,touchpoint,channel\nu1,9999-12-31,home,web\n")
    done = subprocess.run([sys.executable, "-m", "cxlib.cli", "ingest", "events", str(path), "--db", str(db),
                           "--add-customers"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "read 1, loaded 0, rejected 1" in done.stdout and "loaded nothing" in done.stderr
