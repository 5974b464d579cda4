"""Two real public data sets that ship inside PyPI wheels, loaded as they are (no pandas step).

The expected numbers are computed here from the raw bytes with Python's own csv/gzip reading,
independently of DuckDB: how many records, which lines repeat an earlier key, each customer's
first sight, the totals. The files come from pinned wheels (tests/realdata.py); a failed
download fails these tests with pip's message.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
from realdata import data_file

import cxlib
from cxlib.store.ingest import ingest

IN_STORE = "duplicate key: already in the store"
EARLIER_ROW = "duplicate key: repeats an earlier row of this load"
EVENTS_KEY = "customer_id, ts, touchpoint, channel"


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "real.duckdb", read_only=False)
    yield con
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def check_counts(con, report, *, read: int, loaded: int, rejected: int) -> None:
    assert (report.read, report.loaded, report.rejected) == (read, loaded, rejected)
    assert report.read == report.loaded + report.rejected
    assert rows(con, f"SELECT read, loaded, rejected FROM load_log WHERE load_id = {report.load_id}") == [
        (read, loaded, rejected)]
    assert rows(con, f"SELECT count(*) FROM rejects WHERE load_id = {report.load_id}") == [(rejected,)]


# --- CDNOW (Lifetimes 0.11.3) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow():
    """The file's path, its lines (split on CRLF) and its records (split on blanks), read in Python."""
    path = data_file("cdnow")
    raw = path.read_bytes()
    lines = raw.decode("ascii").split("\r\n")
    assert lines[-1] == ""  # the last line ends with CRLF too
    lines = lines[:-1]
    records = [line.split() for line in lines[1:]]
    return path, raw, lines, records


def test_cdnow_has_a_header_line_crlf_ends_and_blank_padded_fields(cdnow):
    _, raw, lines, records = cdnow
    assert lines[0].split() == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert raw.count(b"\n") == raw.count(b"\r\n") == len(lines) == 69_660
    assert lines[1] == " 00001 19970101  1   11.77"  # a leading blank, runs of blanks between fields
    assert all(len(r) == 4 for r in records) and len(records) == 69_659


def test_cdnow_loads_with_the_preset_every_purchase_an_order(con, cdnow):
    path, _, _, records = cdnow
    # Independently: every record is valid (a YYYYMMDD date, a non-negative amount), so every one loads,
    # identical purchases included (215 records occur more than once, 255 copies in all).
    dates = [datetime.strptime(r[1], "%Y%m%d") for r in records]
    assert all(Decimal(r[3]) >= 0 for r in records)
    copies = Counter(map(tuple, records))
    assert (sum(1 for n in copies.values() if n > 1), sum(n - 1 for n in copies.values() if n > 1)) == (215, 255)
    first_seen: dict[str, datetime] = {}
    by_customer = defaultdict(list)
    for r, d in zip(records, dates):
        first_seen[r[0]] = min(first_seen.get(r[0], d), d)
        by_customer[r[0]].append((d, Decimal(r[3]), int(r[2])))

    report = ingest(path, "orders", db=con, preset="cdnow")
    check_counts(con, report, read=69_659, loaded=69_659, rejected=0)
    assert (report.inserted, report.customers_added, report.kept_as_properties) == (69_659, 23_570, ("quantity",))
    assert len(first_seen) == 23_570
    assert rows(con, "SELECT count(*), count(DISTINCT customer_id), count(DISTINCT order_id), "
                     "sum(CAST(amount AS DECIMAL(18, 2))), sum(CAST(properties->>'quantity' AS INTEGER)), "
                     "min(ts), max(ts) FROM orders") == [
        (69_659, 23_570, 69_659, sum(Decimal(r[3]) for r in records), sum(int(r[2]) for r in records),
         min(dates), max(dates))]
    assert rows(con, "SELECT DISTINCT channel FROM orders") == [("web",)]
    # the first customer's orders, and one with several
    first = records[0][0]
    for customer in (first, "00003"):
        got = rows(con, f"SELECT ts, CAST(amount AS DECIMAL(18, 2)), CAST(properties->>'quantity' AS INTEGER) "
                        f"FROM orders WHERE customer_id = '{customer}' ORDER BY ts, amount")
        assert got == sorted(by_customer[customer])
    assert first == "00001" and len(by_customer["00003"]) == 6
    # every customer was created at first sight
    assert dict(rows(con, "SELECT customer_id, signup_at FROM customers")) == first_seen
    assert rows(con, "SELECT count(*) FROM added_customers") == [(23_570,)]

    again = ingest(path, "orders", db=con, preset="cdnow")  # loading it again adds nothing
    check_counts(con, again, read=69_659, loaded=0, rejected=69_659)
    assert rows(con, f"SELECT reason, count(*), min(line), max(line) FROM rejects WHERE load_id = {again.load_id} "
                     "GROUP BY reason") == [(IN_STORE, 69_659, 2, 69_660)]
    assert rows(con, "SELECT count(*) FROM orders") == [(69_659,)]


def test_cdnow_without_its_header_line_gives_the_same_orders(con, cdnow, tmp_path):
    path, raw, _, records = cdnow
    headerless = tmp_path / "CDNOW_master.txt"
    headerless.write_bytes(raw[raw.index(b"\r\n") + 2:])  # the file as the original CDNOW download has it
    assert headerless.read_bytes().startswith(b" 00001 19970101")
    report = ingest(headerless, "orders", db=con, preset="cdnow", columns=["customer_id", "ts", "quantity", "amount"])
    check_counts(con, report, read=69_659, loaded=69_659, rejected=0)
    assert rows(con, "SELECT count(DISTINCT customer_id), sum(CAST(amount AS DECIMAL(18, 2))) FROM orders") == [
        (23_570, sum(Decimal(r[3]) for r in records))]
    # the file with its header names the same transactions with the same derived keys: nothing new
    with_header = ingest(path, "orders", db=con, preset="cdnow")
    check_counts(con, with_header, read=69_659, loaded=0, rejected=69_659)
    assert rows(con, f"SELECT reason, count(*) FROM rejects WHERE load_id = {with_header.load_id} GROUP BY 1") == [
        (IN_STORE, 69_659)]


# --- retentioneering's e-commerce clickstream (5.2.4) -----------------------------------------------


@pytest.fixture(scope="module")
def ecom():
    """The file's path and its rows, read with gzip and csv."""
    path = data_file("ecom")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        records = list(reader)
    return path, header, records


def test_ecom_clickstream_loads_with_the_clickstream_preset(con, ecom):
    path, header, records = ecom
    assert header == ["user_id", "session_id", "event", "timestamp", "platform", "acquisition_channel",
                      "user_cohort", "user_lifecycle"]
    # Independently: an event's key is user, time and (folded) event name, the channel being 'web'
    # for every row; a row whose key came earlier is rejected, at its line (the header is line 1).
    seen, repeats, kept = set(), [], []
    for line, r in enumerate(records, start=2):
        key = (r["user_id"], r["timestamp"], r["event"].lower())
        if key in seen:
            repeats.append(line)
        else:
            kept.append(r)
            seen.add(key)
    first_seen = {}
    for r in kept:
        ts = datetime.fromisoformat(r["timestamp"])
        first_seen[r["user_id"]] = min(first_seen.get(r["user_id"], ts), ts)
    assert (len(records), len(kept), len(repeats), len(first_seen)) == (31_106, 31_076, 30, 600)

    report = ingest(path, "events", db=con, preset="clickstream")
    check_counts(con, report, read=31_106, loaded=31_076, rejected=30)
    assert (report.customers_added, report.kept_as_properties) == (
        600, ("acquisition_channel", "user_cohort", "user_lifecycle"))  # the platform is the channel
    assert rows(con, f"SELECT line, column_name, reason FROM rejects WHERE load_id = {report.load_id} ORDER BY line"
                ) == [(line, EVENTS_KEY, EARLIER_ROW) for line in repeats]
    assert dict(rows(con, "SELECT customer_id, signup_at FROM customers")) == first_seen
    assert rows(con, "SELECT count(DISTINCT customer_id), count(DISTINCT session_id), count(DISTINCT touchpoint) "
                     "FROM events") == [(600, len({r["session_id"] for r in kept}), len({r["event"] for r in kept}))]
    assert dict(rows(con, "SELECT customer_id, count(*) FROM events GROUP BY 1")) == Counter(r["user_id"] for r in kept)
    assert dict(rows(con, "SELECT channel, count(*) FROM events GROUP BY 1")) == Counter(r["platform"] for r in kept)
    assert dict(rows(con, "SELECT touchpoint, count(*) FROM events GROUP BY 1")) == Counter(r["event"] for r in kept)
    first_user = records[0]["user_id"]
    assert rows(con, f"SELECT ts, touchpoint, channel, session_id, properties->>'acquisition_channel' FROM events "
                     f"WHERE customer_id = '{first_user}' ORDER BY ts, touchpoint LIMIT 3") == [
        (datetime.fromisoformat(r["timestamp"]), r["event"], r["platform"], r["session_id"], r["acquisition_channel"])
        for r in sorted((r for r in kept if r["user_id"] == first_user), key=lambda r: (r["timestamp"], r["event"]))[:3]]
    assert rows(con, "SELECT count(*) FROM events_ordered") == [(31_076,)]

    again = ingest(path, "events", db=con, preset="clickstream")
    check_counts(con, again, read=31_106, loaded=0, rejected=31_106)
    assert dict(rows(con, f"SELECT reason, count(*) FROM rejects WHERE load_id = {again.load_id} GROUP BY 1")) == {
        IN_STORE: 31_076, EARLIER_ROW: 30}
