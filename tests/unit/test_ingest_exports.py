"""Exports as other tools write them, loaded with flags or a preset and no pandas step.

Each case writes a small file in the shape of a real export and states the exact outcome: the
rows loaded, the lines rejected with column and reason, read == loaded + rejected (also in
load_log), and what a load does to customers, history and the load log. Line numbers count
every physical line, header included.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

import cxlib
from cxlib.errors import CxDataError, CxInputError
from cxlib.store.ingest import ingest
from cxlib.store.presets import preset_names
from cxlib.store.rejects import rejects_summary

EVENTS_KEY = "customer_id, ts, touchpoint, channel"
IN_STORE = "duplicate key: already in the store"
EARLIER_ROW = "duplicate key: repeats an earlier row of this load"


@pytest.fixture()
def con(tmp_path):
    """A new, empty store (no customers: activity creates them with add_customers)."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    yield con
    con.close()


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def rejects(con, report) -> list[tuple]:
    """(line, column, reason) of a load's rejects, in line order."""
    return rows(con, f"SELECT line, column_name, reason FROM rejects WHERE load_id = {report.load_id} "
                     "ORDER BY line, column_name, reason")


def check_counts(con, report, *, read: int, loaded: int, rejected: int, inserted: int | None = None,
                 updated: int = 0, unchanged: int = 0, added: int = 0) -> None:
    """The report's counts, read == loaded + rejected, and the same numbers in load_log."""
    inserted = loaded - updated - unchanged if inserted is None else inserted
    assert (report.read, report.loaded, report.rejected) == (read, loaded, rejected)
    assert (report.inserted, report.updated, report.unchanged, report.customers_added) == (
        inserted, updated, unchanged, added)
    assert report.read == report.loaded + report.rejected
    assert rows(con, "SELECT read, loaded, rejected, inserted, updated, unchanged, customers_added FROM load_log "
                     f"WHERE load_id = {report.load_id}") == [(read, loaded, rejected, inserted, updated, unchanged, added)]
    assert rows(con, f"SELECT count(*) FROM rejects WHERE load_id = {report.load_id}") == [(rejected,)]


def customers(con) -> list[tuple]:
    return rows(con, "SELECT customer_id, signup_at FROM customers ORDER BY customer_id")


def props(con, table: str, key: str) -> dict:
    """properties as Python objects, by the table's key column."""
    return {k: json.loads(p) if p is not None else None
            for k, p in rows(con, f"SELECT {key}, properties FROM {table} ORDER BY {key}")}


# --- 1. a clickstream with only user, event and timestamp ------------------------------------------

SHOP = ("user_id,event,timestamp\n"
        "u1,home,2024-03-01 10:00:00\n"
        "u1,Checkout,2024-03-01 10:05:00\n"
        "u2,home,2024-03-02 09:00:00\n"
        "u1,home,2024-02-28 08:00:00\n")  # u1's first sight comes last in the file
SHOP_FLAGS = {"mapping": {"user_id": "customer_id", "event": "touchpoint", "timestamp": "ts"},
              "constants": {"channel": "web"}, "add_customers": True}


def test_clickstream_with_map_set_and_add_customers_creates_customers_at_first_sight(con, tmp_path):
    path = write(tmp_path, "shop.csv", SHOP)
    report = ingest(path, "events", db=con, **SHOP_FLAGS)
    check_counts(con, report, read=4, loaded=4, rejected=0, added=2)
    assert str(report) == f"events <- {path}: read 4, loaded 4, rejected 0; 2 new customer(s) created from first sight"
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel, session_id, properties FROM events ORDER BY ts") == [
        ("u1", datetime(2024, 2, 28, 8), "home", "web", None, None),
        ("u1", datetime(2024, 3, 1, 10), "home", "web", None, None),
        ("u1", datetime(2024, 3, 1, 10, 5), "Checkout", "web", None, None),
        ("u2", datetime(2024, 3, 2, 9), "home", "web", None, None)]
    assert customers(con) == [("u1", datetime(2024, 2, 28, 8)), ("u2", datetime(2024, 3, 2, 9))]
    assert rows(con, "SELECT customer_id, load_id FROM added_customers ORDER BY 1") == [
        ("u1", report.load_id), ("u2", report.load_id)]
    logged = json.loads(rows(con, f"SELECT options FROM load_log WHERE load_id = {report.load_id}")[0][0])
    assert (logged["mapping"], logged["constants"], logged["add_customers"]) == (
        SHOP_FLAGS["mapping"], {"channel": "web"}, True)

    again = ingest(path, "events", db=con, **SHOP_FLAGS)  # loading it again adds nothing
    check_counts(con, again, read=4, loaded=0, rejected=4, added=0)
    assert rejects(con, again) == [(line, EVENTS_KEY, IN_STORE) for line in (2, 3, 4, 5)]
    assert customers(con) == [("u1", datetime(2024, 2, 28, 8)), ("u2", datetime(2024, 3, 2, 9))]
    assert rows(con, "SELECT count(*) FROM events") == [(4,)]
    assert rows(con, "SELECT count(*) FROM added_customers") == [(2,)]


def test_clickstream_preset_loads_the_same_file_with_names_folded(con, tmp_path):
    report = ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, preset="clickstream")
    check_counts(con, report, read=4, loaded=4, rejected=0, added=2)
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel FROM events ORDER BY ts") == [
        ("u1", datetime(2024, 2, 28, 8), "home", "web"), ("u1", datetime(2024, 3, 1, 10), "home", "web"),
        ("u1", datetime(2024, 3, 1, 10, 5), "checkout", "web"), ("u2", datetime(2024, 3, 2, 9), "home", "web")]
    assert customers(con) == [("u1", datetime(2024, 2, 28, 8)), ("u2", datetime(2024, 3, 2, 9))]
    again = ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, preset="clickstream")
    check_counts(con, again, read=4, loaded=0, rejected=4)


def test_a_presets_constant_yields_to_the_files_own_column(con, tmp_path):
    text = "user_id,event,timestamp,channel\nu1,home,2024-03-01 10:00,App\nu1,home,2024-03-01 10:00,Web\n"
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, preset="clickstream")
    check_counts(con, report, read=2, loaded=2, rejected=0, added=1)
    assert rows(con, "SELECT channel FROM events ORDER BY 1") == [("app",), ("web",)]
    # a --set of the load still supplies a column the file lacks, over the preset's default
    other = ingest(write(tmp_path, "e2.csv", SHOP), "events", db=con, preset="clickstream",
                   constants={"channel": "email"})
    check_counts(con, other, read=4, loaded=4, rejected=0, added=1)
    assert rows(con, "SELECT channel, count(*) FROM events GROUP BY 1 ORDER BY 1") == [("app", 1), ("email", 4),
                                                                                       ("web", 1)]


# --- 2. header errors after mapping -----------------------------------------------------------------


def test_header_error_after_map_lists_the_mapped_columns_and_suggests_set(con, tmp_path):
    path = write(tmp_path, "shop.csv", SHOP)
    with pytest.raises(CxDataError) as err:
        ingest(path, "events", db=con, mapping=SHOP_FLAGS["mapping"])
    assert str(err.value) == (
        "header does not match table events: missing ['channel']. Expected ['customer_id', 'ts', 'touchpoint', "
        "'channel'] (optional ['session_id']), found ['user_id', 'event', 'timestamp']; as mapped ['customer_id', "
        "'touchpoint', 'ts']. Rename columns with --map SOURCE=TARGET, drop one with --map SOURCE=. If every row "
        "has the same channel, supply it with --set channel=VALUE. Nothing was loaded.")
    # the hint names the column --set can supply even when another one is missing first
    with pytest.raises(CxDataError) as err:
        ingest(path, "events", db=con, mapping={"user_id": "customer_id", "event": "touchpoint"})
    assert "missing ['ts', 'channel']" in str(err.value)
    assert "as mapped ['customer_id', 'touchpoint', 'timestamp']" in str(err.value)
    assert "supply it with --set channel=VALUE" in str(err.value)
    # a --set naming a column the file has
    with pytest.raises(CxDataError) as err:
        ingest(write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel\nu1,2024-01-01,home,web\n"), "events",
               db=con, constants={"channel": "web"})
    assert "named twice ['channel']" in str(err.value)
    assert ("channel is both a column of the file and a --set constant: drop the column with --map SOURCE= or leave "
            "out --set channel.") in str(err.value)
    assert rows(con, "SELECT count(*) FROM load_log") == [(0,)]


def test_header_error_for_a_survey_suggests_set_metric(con, tmp_path):
    with pytest.raises(CxDataError, match=r"missing \['metric'\].*supply it with --set metric=VALUE"):
        ingest(write(tmp_path, "s.csv", "response_id,customer_id,ts,score\nr1,C1,2024-01-01,9\n"),
               "survey_responses", db=con)


# --- 3. customers are optional ----------------------------------------------------------------------


def test_without_add_customers_a_load_of_unknown_customers_says_so_and_names_the_flag(con, tmp_path):
    path = write(tmp_path, "shop.csv", SHOP)
    report = ingest(path, "events", db=con, mapping=SHOP_FLAGS["mapping"], constants={"channel": "web"})
    check_counts(con, report, read=4, loaded=0, rejected=4)
    assert report.orphans == 4
    assert str(report) == (
        f"events <- {path}: read 4, loaded 0, rejected 4 (see: {report.rejects_query}). Every row names a "
        "customer_id that is not in the store: load customers first, or pass --add-customers to create them "
        "from first sight")
    assert rejects(con, report) == [(2, "customer_id", "unknown customer_id u1: load its customer first"),
                                    (3, "customer_id", "unknown customer_id u1: load its customer first"),
                                    (4, "customer_id", "unknown customer_id u2: load its customer first"),
                                    (5, "customer_id", "unknown customer_id u1: load its customer first")]
    assert customers(con) == []
    # one known customer: the message about every row is gone, the unknown ones are still rejected
    ingest(write(tmp_path, "c.csv", "customer_id\nu2\n"), "customers", db=con)
    report = ingest(path, "events", db=con, mapping=SHOP_FLAGS["mapping"], constants={"channel": "web"})
    check_counts(con, report, read=4, loaded=1, rejected=3)
    assert report.orphans == 3 and "Every row" not in str(report)


def test_customers_without_signup_get_first_sight_once_activity_loads(con, tmp_path):
    report = ingest(write(tmp_path, "c.csv", "customer_id,region\nu1,north\nu2,south\nu3,east\n"), "customers",
                    db=con)
    check_counts(con, report, read=3, loaded=3, rejected=0)
    assert customers(con) == [("u1", None), ("u2", None), ("u3", None)]
    report = ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, mapping=SHOP_FLAGS["mapping"],
                    constants={"channel": "web"})
    check_counts(con, report, read=4, loaded=4, rejected=0)
    assert customers(con) == [("u1", datetime(2024, 2, 28, 8)), ("u2", datetime(2024, 3, 2, 9)), ("u3", None)]
    orders = "order_id,customer_id,ts,amount\no1,u3,2024-04-01 12:00,10\n"
    ingest(write(tmp_path, "o.csv", orders), "orders", db=con)  # any table's activity counts
    assert customers(con)[2] == ("u3", datetime(2024, 4, 1, 12))
    assert rows(con, "SELECT count(*) FROM added_customers") == [(0,)]


def test_a_customers_file_after_activity_completes_the_customers_created_from_first_sight(con, tmp_path):
    ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, **SHOP_FLAGS)
    # the customers file has no signup: attributes are added, signup stays the first sight
    report = ingest(write(tmp_path, "c.csv", "customer_id,region\nu1,north\nu2,south\nu9,west\n"), "customers",
                    db=con)
    check_counts(con, report, read=3, loaded=3, rejected=0, inserted=1, updated=2)
    assert rows(con, "SELECT customer_id, signup_at, region FROM customers ORDER BY 1") == [
        ("u1", datetime(2024, 2, 28, 8), "north"), ("u2", datetime(2024, 3, 2, 9), "south"), ("u9", None, "west")]
    assert rows(con, "SELECT key, previous->>'signup_at', previous->>'region' FROM history ORDER BY 1") == [
        ("u1", "2024-02-28 08:00:00", None), ("u2", "2024-03-02 09:00:00", None)]  # the placeholders
    # an earlier event loaded later moves a first-sight signup back
    early = "user_id,event,timestamp\nu2,home,2024-01-15 07:00:00\n"
    ingest(write(tmp_path, "early.csv", early), "events", db=con, **SHOP_FLAGS)
    assert rows(con, "SELECT signup_at FROM customers WHERE customer_id = 'u2'") == [(datetime(2024, 1, 15, 7),)]
    # a signup the customers file gives wins from then on
    report = ingest(write(tmp_path, "c2.csv", "customer_id,signup_at\nu1,2023-06-01\n"), "customers", db=con,
                    update=True)
    check_counts(con, report, read=1, loaded=1, rejected=0, updated=1)
    earlier = "user_id,event,timestamp\nu1,home,2023-01-01 07:00:00\n"
    ingest(write(tmp_path, "earlier.csv", earlier), "events", db=con, **SHOP_FLAGS)
    assert rows(con, "SELECT customer_id, signup_at, region FROM customers ORDER BY 1") == [
        ("u1", datetime(2023, 6, 1), "north"), ("u2", datetime(2024, 1, 15, 7), "south"), ("u9", None, "west")]
    assert rows(con, "SELECT customer_id FROM added_customers ORDER BY 1") == [("u2",)]


def test_a_customer_loaded_without_signup_follows_an_earlier_first_sight(con, tmp_path):
    ingest(write(tmp_path, "c.csv", "customer_id\nu1\n"), "customers", db=con)
    flags = {"mapping": SHOP_FLAGS["mapping"], "constants": {"channel": "web"}}
    ingest(write(tmp_path, "e1.csv", "user_id,event,timestamp\nu1,home,2024-03-01 10:00\n"), "events", db=con, **flags)
    ingest(write(tmp_path, "e2.csv", "user_id,event,timestamp\nu1,home,2024-01-01 10:00\n"), "events", db=con, **flags)
    assert customers(con) == [("u1", datetime(2024, 1, 1, 10))]


def test_a_tenure_column_of_a_customers_file_is_an_attribute(con, tmp_path):
    text = "customerID,gender,tenure,Churn\n7590-VHVEG,Female,1,No\n"
    report = ingest(write(tmp_path, "telco.csv", text), "customers", db=con, mapping={"customerID": "customer_id"})
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT * FROM customers") == [("7590-VHVEG", None, "Female", "1", "No")]


# --- 4. headerless, whitespace-separated, epoch and compact dates --------------------------------------


def test_headerless_whitespace_file_with_crlf_and_epoch_seconds(con, tmp_path):
    text = ("  u1   1709287200   home  \r\n"  # leading and trailing blanks, several spaces
            "u2\t1709290800 \t checkout\r\n"  # tabs
            "\r\n"  # a blank line is not a row
            "   u3 abc home\r\n"
            "u4 1709287200\r\n"  # a field short
            "u5 1709287200123 home\r\n"  # milliseconds given as seconds: year 56000
            "u6 -86400 home\r\n"  # before 1970: implausible
            "u7 1709287200.5 home\r\n")
    report = ingest(write(tmp_path, "log.txt", text), "events", db=con, delimiter="whitespace",
                    columns=["customer_id", "ts", "touchpoint"], constants={"channel": "app"},
                    date_format="epoch_s", add_customers=True)
    check_counts(con, report, read=7, loaded=3, rejected=4, added=3)
    assert rejects(con, report) == [(4, "ts", "not a number of seconds since 1970: abc"),
                                    (5, None, "malformed line: too few fields: expected 3, found 2"),
                                    (6, "ts", "not a number of seconds since 1970: 1709287200123"),
                                    (7, "ts", "implausible timestamp -86400: before 1970-01-01 (pass --earliest DATE "
                                              "to allow earlier times)")]
    assert rows(con, f"SELECT raw FROM rejects WHERE load_id = {report.load_id} AND line = 5") == [("u4 1709287200",)]
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel FROM events ORDER BY customer_id") == [
        ("u1", datetime(2024, 3, 1, 10), "home", "app"), ("u2", datetime(2024, 3, 1, 11), "checkout", "app"),
        ("u7", datetime(2024, 3, 1, 10, 0, 0, 500000), "home", "app")]


def test_headerless_csv_with_columns(con, tmp_path):
    text = "u1,2024-03-01 10:00,home\r\nu2,2024-03-01 11:00,cart\r\nu3,bad,cart\r\nu4,2024-03-01 12:00\r\n"
    report = ingest(write(tmp_path, "h.csv", text), "events", db=con, columns=("customer_id", "ts", "touchpoint"),
                    constants={"channel": "web"}, add_customers=True)
    check_counts(con, report, read=4, loaded=2, rejected=2, added=2)
    got = rejects(con, report)
    assert got[0] == (3, "ts", "not a timestamp: bad")  # no header: the first record is line 1
    assert got[1] == (4, None, "malformed line: too few fields: expected 3, found 2")
    assert rows(con, "SELECT customer_id, ts, touchpoint FROM events ORDER BY 1") == [
        ("u1", datetime(2024, 3, 1, 10), "home"), ("u2", datetime(2024, 3, 1, 11), "cart")]


@pytest.mark.parametrize("unit, fmt, name", [(1_000, "epoch_ms", "milliseconds"), (1_000_000, "epoch_us", "microseconds")])
def test_epoch_milliseconds_and_microseconds(con, tmp_path, unit, fmt, name):
    ok = 1709287200 * unit + unit // 1000 * 123  # 2024-03-01 10:00:00.123
    text = (f"customer_id,ts,touchpoint,channel\nu1,{ok},home,web\nu1,{ok}x,home,web\nu1,1e20,home,web\n"
            f"u1,{253402300800 * unit},home,web\nu1,{253402300799 * unit},home,web\nu1,,home,web\n")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, date_format=fmt, add_customers=True,
                    latest="2030-01-01")
    check_counts(con, report, read=6, loaded=1, rejected=5, added=1)
    assert rejects(con, report) == [(3, "ts", f"not a number of {name} since 1970: {ok}x"),
                                    (4, "ts", f"not a number of {name} since 1970: 1e20"),
                                    (5, "ts", f"not a number of {name} since 1970: {253402300800 * unit}"),
                                    (6, "ts", f"implausible timestamp {253402300799 * unit}: after 2030-01-01 00:00 "
                                              "(pass --latest DATE to allow later times)"),
                                    (7, "ts", "missing ts")]
    assert rows(con, "SELECT ts FROM events ORDER BY ts") == [(datetime(2024, 3, 1, 10, 0, 0, 123000),)]


def test_epoch_numbers_written_as_a_zones_clock_time(con, tmp_path):
    text = "customer_id,ts,touchpoint,channel\nu1,1709287200,home,web\nu1,1719828000,home,web\n"
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, date_format="epoch_s",
                    timezone="Europe/Berlin", add_customers=True)
    check_counts(con, report, read=2, loaded=2, rejected=0, added=1)
    # 2024-03-01 10:00 and 2024-07-01 10:00 as Berlin clock times: 09:00 UTC (CET), 08:00 UTC (CEST)
    assert rows(con, "SELECT ts FROM events ORDER BY ts") == [(datetime(2024, 3, 1, 9),), (datetime(2024, 7, 1, 8),)]


def test_compact_dates_with_a_date_format(con, tmp_path):
    text = "customer_id,ts,amount\nC1,19970101,11.77\nC1,19971332,20.76\nC2,1997-01-02,5\nC2,19980228,0\n"
    report = ingest(write(tmp_path, "o.csv", text), "orders", db=con, date_format="%Y%m%d", add_customers=True)
    check_counts(con, report, read=4, loaded=2, rejected=2, added=2)
    assert rejects(con, report) == [(3, "ts", "not a timestamp: 19971332"), (4, "ts", "not a timestamp: 1997-01-02")]
    assert rows(con, "SELECT customer_id, ts, amount FROM orders ORDER BY ts") == [
        ("C1", datetime(1997, 1, 1), 11.77), ("C2", datetime(1998, 2, 28), 0.0)]


# --- 5. orders without order_id ---------------------------------------------------------------------

ORDERS_NO_ID = "customer_id,ts,amount,channel\nC1,2024-01-05 10:00,19.90,web\nC1,2024-01-05 10:00,19.90,web\n" \
               "C2,2024-01-06 11:00,5.00,store\n"


def test_orders_without_order_id_get_keys_from_content_and_occurrence(con, tmp_path):
    path = write(tmp_path, "o.csv", ORDERS_NO_ID)
    report = ingest(path, "orders", db=con, add_customers=True)
    check_counts(con, report, read=3, loaded=3, rejected=0, added=2)
    keys = rows(con, "SELECT order_id, customer_id, amount FROM orders ORDER BY customer_id, order_id")
    (k1, c1, a1), (k2, c2, a2), (k3, c3, a3) = keys
    assert (c1, a1, c2, a2, c3, a3) == ("C1", 19.9, "C1", 19.9, "C2", 5.0)
    # the two identical rows share the content part and differ in their occurrence
    assert k1.rsplit("-", 1) == [k2.rsplit("-", 1)[0], "1"] and k2.endswith("-2")
    assert k1.startswith("order-") and k3.startswith("order-") and k3.rsplit("-", 1)[0] != k1.rsplit("-", 1)[0]
    again = ingest(path, "orders", db=con, add_customers=True)  # the same keys again: nothing is added
    check_counts(con, again, read=3, loaded=0, rejected=3)
    assert rejects(con, again) == [(2, "order_id", IN_STORE), (3, "order_id", IN_STORE), (4, "order_id", IN_STORE)]
    # a later export with the identical row a third time adds exactly that third one
    third = ingest(write(tmp_path, "o3.csv", ORDERS_NO_ID + "C1,2024-01-05 10:00,19.90,web\n"), "orders", db=con)
    check_counts(con, third, read=4, loaded=1, rejected=3)
    assert rows(con, "SELECT order_id FROM orders WHERE order_id NOT IN (?, ?, ?)", [k1, k2, k3]) == [
        (k1.rsplit("-", 1)[0] + "-3",)]


def test_derived_keys_are_the_same_in_another_store(tmp_path):
    keys = []
    for name in ("a", "b"):
        con = cxlib.connect(tmp_path / f"{name}.duckdb", read_only=False)
        ingest(write(tmp_path, f"{name}.csv", ORDERS_NO_ID), "orders", db=con, add_customers=True)
        keys.append(rows(con, "SELECT order_id FROM orders ORDER BY 1"))
        con.close()
    assert keys[0] == keys[1] and len(keys[0]) == 3


# --- 6. presets ---------------------------------------------------------------------------------------


def test_the_shipped_presets_are_the_ones_tested_here():
    assert preset_names() == ["amplitude", "cdnow", "clickstream", "ga4", "mixpanel", "qualtrics", "segment",
                              "shopify", "stripe", "subscriptions-tenure", "surveymonkey", "zendesk"]


AMPLITUDE_JSON = (
    '{"$insert_id":"5e0b-01","$schema":12,"uuid":"a1","user_id":"u1","device_id":"d1","event_type":"Checkout","event_time":"2024-03-01 10:00:00.123000",'
    '"platform":"Web","session_id":1709287200000,"event_properties":{"page":"/cart","value":3},'
    '"user_properties":{"plan":"pro"},"country":"Germany"}\n'
    '{"$insert_id":"5e0b-02","$schema":12,"uuid":"a2","user_id":"u2","device_id":"d2","event_type":"View","event_time":"2024-03-01 11:00:00.000000",'
    '"platform":"iOS","session_id":-1,"event_properties":{},"country":"France"}\n'
    '{"$insert_id":"5e0b-03","$schema":12,"uuid":"a3","user_id":null,"device_id":"d3","event_type":"View","event_time":"2024-03-01 12:00:00.000000",'
    '"platform":"Android","session_id":-1,"event_properties":{}}\n')


def test_amplitude_json_lines(con, tmp_path):
    report = ingest(write(tmp_path, "amp.json", AMPLITUDE_JSON), "events", db=con, preset="amplitude")
    check_counts(con, report, read=3, loaded=2, rejected=1, added=2)
    assert report.kept_as_properties == ("$insert_id", "$schema", "country", "device_id", "user_properties", "uuid")
    assert rejects(con, report) == [(3, "customer_id", "missing customer_id")]
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel, session_id FROM events ORDER BY ts") == [
        ("u1", datetime(2024, 3, 1, 10, 0, 0, 123000), "checkout", "web", "1709287200000"),
        ("u2", datetime(2024, 3, 1, 11), "view", "ios", "-1")]
    assert props(con, "events", "customer_id") == {
        "u1": {"page": "/cart", "value": 3, "$insert_id": "5e0b-01", "$schema": "12", "country": "Germany",
               "device_id": "d1", "user_properties": {"plan": "pro"}, "uuid": "a1"},
        "u2": {"$insert_id": "5e0b-02", "$schema": "12", "country": "France", "device_id": "d2", "uuid": "a2"}}
    assert rows(con, "SELECT properties->'user_properties'->>'plan' FROM events WHERE customer_id = 'u1'") == [("pro",)]


def test_amplitude_csv(con, tmp_path):
    text = ("user_id,event_type,event_time,platform,session_id,event_properties,device_id\n"
            'u1,Checkout,2024-03-01 10:00:00.000000,Web,1709287200000,"{""page"":""/cart""}",d1\n'
            "u1,checkout ,2024-03-01 10:00:00.000000,Web,1709287200000,,d1\n"  # the same event once folded
            'u2,View,2024-03-01 11:00:00.000000,Android,,"{""page"": ",d2\n')  # not JSON: kept as text
    report = ingest(write(tmp_path, "amp.csv", text), "events", db=con, preset="amplitude")
    check_counts(con, report, read=3, loaded=2, rejected=1, added=2)
    assert rejects(con, report) == [(3, EVENTS_KEY, EARLIER_ROW)]
    assert rows(con, "SELECT customer_id, touchpoint, channel, session_id, properties->>'page' FROM events "
                     "ORDER BY 1") == [("u1", "checkout", "web", "1709287200000", "/cart"),
                                       ("u2", "view", "android", None, None)]
    assert props(con, "events", "customer_id")["u2"] == {"event_properties": '{"page": ', "device_id": "d2"}


MIXPANEL = (
    '{"event":"Signed Up","properties":{"time":1709287200,"distinct_id":"u1","$insert_id":"i1","mp_lib":"web",'
    '"$browser":"Chrome","$current_url":"https://shop.example/signup","plan":"pro"}}\n'
    "\n"  # blank lines are not rows
    '{"event":"Viewed Page","properties":{"time":1709290800,"distinct_id":"u2","$insert_id":"i2","mp_lib":"iphone",'
    '"page":"/pricing"}}\n'
    '{"event":"Viewed Page","properties":\n'  # malformed: cut off
    '{"event":"Viewed Page","properties":{"time":"soon","distinct_id":"u2","$insert_id":"i3","mp_lib":"iphone"}}\n'
    "   \n"
    "[1, 2]\n"  # JSON, but not an object
    '{"event":"Purchase","properties":{"time":1709294400,"distinct_id":"u1","$insert_id":"i4","mp_lib":"web",'
    '"amount":19.9,"items":[{"sku":"A"}]}}\n')


def test_mixpanel_json_lines_with_nested_properties_blank_and_malformed_lines(con, tmp_path):
    report = ingest(write(tmp_path, "mp.jsonl", MIXPANEL), "events", db=con, preset="mixpanel")
    check_counts(con, report, read=6, loaded=3, rejected=3, added=2)
    assert rejects(con, report) == [(4, None, "malformed line: not a JSON object"),
                                    (5, "ts", "not a number of seconds since 1970: soon"),
                                    (7, None, "malformed line: not a JSON object")]
    assert rows(con, f"SELECT line, raw FROM rejects WHERE load_id = {report.load_id} AND column_name IS NULL "
                     "ORDER BY line") == [(4, '{"event":"Viewed Page","properties":'), (7, "[1, 2]")]
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel FROM events ORDER BY ts") == [
        ("u1", datetime(2024, 3, 1, 10), "signed up", "web"), ("u2", datetime(2024, 3, 1, 11), "viewed page", "iphone"),
        ("u1", datetime(2024, 3, 1, 12), "purchase", "web")]
    assert rows(con, "SELECT properties->>'$.\"$browser\"', properties->>'plan', properties->'items'->0->>'sku', "
                     "CAST(properties->>'amount' AS DOUBLE) FROM events ORDER BY ts") == [
        ("Chrome", "pro", None, None), (None, None, None, None), (None, None, "A", 19.9)]
    assert customers(con) == [("u1", datetime(2024, 3, 1, 10)), ("u2", datetime(2024, 3, 1, 11))]


def test_ga4_flattened_csv_with_microsecond_timestamps(con, tmp_path):
    text = ("event_date,event_timestamp,event_name,user_pseudo_id,platform,ga_session_id,device_category,geo_country\n"
            "20240301,1709287200123456,page_view,1234567890.1709287200,WEB,1709287200,desktop,Germany\n"
            "20240301,1709287260000000,add_to_cart,1234567890.1709287200,WEB,1709287200,desktop,Germany\n"
            "20240301,1709290800000000,first_open,987654321.1709290000,IOS,1709290790,mobile,France\n"
            "20240301,,page_view,987654321.1709290000,IOS,1709290790,mobile,France\n")
    report = ingest(write(tmp_path, "ga4.csv", text), "events", db=con, preset="ga4")
    check_counts(con, report, read=4, loaded=3, rejected=1, added=2)
    assert rejects(con, report) == [(5, "ts", "missing ts")]
    assert report.kept_as_properties == ("device_category", "geo_country")  # event_date is dropped
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel, session_id FROM events ORDER BY ts") == [
        ("1234567890.1709287200", datetime(2024, 3, 1, 10, 0, 0, 123456), "page_view", "web", "1709287200"),
        ("1234567890.1709287200", datetime(2024, 3, 1, 10, 1), "add_to_cart", "web", "1709287200"),
        ("987654321.1709290000", datetime(2024, 3, 1, 11), "first_open", "ios", "1709290790")]
    assert rows(con, "SELECT DISTINCT properties->>'geo_country' FROM events ORDER BY 1") == [("France",), ("Germany",)]


def test_segment_track_calls(con, tmp_path):
    text = (
        '{"type":"track","event":"Order Completed","userId":"u1","anonymousId":"a1","timestamp":"2024-03-01T10:00:00.000Z",'
        '"channel":"browser","messageId":"m1","properties":{"revenue":30.5,"currency":"EUR"},'
        '"context":{"locale":"de-DE","page":{"path":"/checkout"}}}\n'
        '{"type":"track","event":"Product Viewed","userId":"u2","anonymousId":"a2","timestamp":"2024-03-01T12:30:00+02:00",'
        '"channel":"mobile","messageId":"m2","properties":{"product_id":"p9"}}\n'
        '{"type":"identify","userId":"u3","anonymousId":"a3","timestamp":"2024-03-01T12:30:00Z","channel":"server",'
        '"messageId":"m3","traits":{"plan":"pro"}}\n')
    report = ingest(write(tmp_path, "segment.jsonl", text), "events", db=con, preset="segment")
    check_counts(con, report, read=3, loaded=2, rejected=1, added=2)
    assert rejects(con, report) == [(3, "touchpoint", "missing touchpoint")]  # an identify call is no event
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel FROM events ORDER BY ts") == [
        ("u1", datetime(2024, 3, 1, 10), "order completed", "browser"),
        ("u2", datetime(2024, 3, 1, 10, 30), "product viewed", "mobile")]
    assert props(con, "events", "customer_id") == {
        "u1": {"revenue": 30.5, "currency": "EUR", "anonymousId": "a1", "messageId": "m1", "type": "track",
               "context": {"locale": "de-DE", "page": {"path": "/checkout"}}},
        "u2": {"product_id": "p9", "anonymousId": "a2", "messageId": "m2", "type": "track"}}
    assert rows(con, "SELECT properties->'context'->'page'->>'path' FROM events WHERE customer_id = 'u1'") == [
        ("/checkout",)]


QUALTRICS = (
    "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,"
    "ExternalReference,DistributionChannel,UserLanguage,Q1,Q2,Q3\n"
    "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,Response ID,"
    "External Data Reference,Distribution Channel,User Language,\"How likely are you to recommend us to a friend or "
    "colleague?\",What is the main reason for your score?,\"How much do you trust us, from 0 to 10?\"\n"
    + ",".join(f'"{{""ImportId"":""{i}""}}"' for i in (
        "startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "recordedDate",
        "_recordId", "externalDataReference", "distributionChannel", "userLanguage", "QID1", "QID2_TEXT", "QID3"))
    + "\n"
    "2024-03-01 10:00:00,2024-03-01 10:03:12,0,192.0.2.1,100,192,1,2024-03-01 10:03:13,R_1a2b3c,C100,anonymous,EN,"
    "9,Fast delivery,8\n"
    "2024-03-02 11:00:00,2024-03-02 11:01:40,0,192.0.2.2,100,100,1,2024-03-02 11:01:41,R_4d5e6f,C101,email,EN,"
    "3,,11\n"
    "2024-03-03 12:00:00,2024-03-03 12:00:30,0,192.0.2.3,50,30,0,2024-03-03 12:00:31,R_7g8h9i,C102,email,EN,,,\n")


def test_qualtrics_wide_export_with_two_header_rows_and_a_declared_metric(con, tmp_path):
    report = ingest(write(tmp_path, "responses.csv", QUALTRICS), "survey_responses", db=con, preset="qualtrics",
                    wide={"questions": {"Q1": "nps", "Q3": "trust"}, "comments": {"Q1": "Q2"}},
                    metric_scales={"trust": "0-10"})
    # one answer per answered question: 2 + 2, the third response answered none
    check_counts(con, report, read=4, loaded=3, rejected=1, added=2)
    assert rejects(con, report) == [(5, "score", "score out of range for its metric (trust 0-10)")]
    assert rows(con, "SELECT response_id, customer_id, ts, metric, score, comment FROM survey_responses ORDER BY 1") == [
        ("R_1a2b3c:nps", "C100", datetime(2024, 3, 1, 10, 3, 12), "nps", 9, "Fast delivery"),
        ("R_1a2b3c:trust", "C100", datetime(2024, 3, 1, 10, 3, 12), "trust", 8, None),
        ("R_4d5e6f:nps", "C101", datetime(2024, 3, 2, 11, 1, 40), "nps", 3, None)]
    assert rows(con, "SELECT * FROM survey_metrics WHERE metric = 'trust'") == [("trust", 0, 10)]
    assert rows(con, "SELECT properties->>'DistributionChannel', properties->>'Duration (in seconds)' "
                     "FROM survey_responses WHERE response_id = 'R_1a2b3c:nps'") == [("anonymous", "192")]
    again = ingest(write(tmp_path, "responses.csv", QUALTRICS), "survey_responses", db=con, preset="qualtrics",
                   wide={"questions": {"Q1": "nps", "Q3": "trust"}, "comments": {"Q1": "Q2"}},
                   metric_scales={"trust": "0-10"})
    check_counts(con, again, read=4, loaded=0, rejected=4)
    assert rejects(con, again) == [(4, "response_id", IN_STORE), (4, "response_id", IN_STORE),
                                   (5, "response_id", IN_STORE),
                                   (5, "score", "score out of range for its metric (trust 0-10)")]


def test_a_wide_export_without_questions_names_the_flag(con, tmp_path):
    with pytest.raises(CxInputError, match=r"needs its question columns: pass --question COLUMN=METRIC for each"):
        ingest(write(tmp_path, "responses.csv", QUALTRICS), "survey_responses", db=con, preset="qualtrics")


SURVEYMONKEY = (
    'Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,Last Name,Custom Data 1,'
    '"How likely is it that you would recommend this company to a friend or colleague?",'
    '"Overall, how satisfied or dissatisfied are you with our company?",What could we do better?\n'
    ",,,,,,,,,Response,Response,Open-Ended Response\n"
    "114211111111,431000001,03/01/2024 09:58:00 AM,03/01/2024 10:05:00 AM,198.51.100.4,,,,C1,10,5,Nothing\n"
    "114211111112,431000001,03/01/2024 01:00:00 PM,03/01/2024 01:02:30 PM,198.51.100.5,,,,C2,6,2,Faster shipping\n"
    "114211111113,431000001,03/02/2024 11:59:00 PM,13/02/2024 12:01:00 AM,198.51.100.6,,,,C3,7,,\n")
SM_NPS = "How likely is it that you would recommend this company to a friend or colleague?"
SM_CSAT = "Overall, how satisfied or dissatisfied are you with our company?"


def test_surveymonkey_wide_export(con, tmp_path):
    report = ingest(write(tmp_path, "sm.csv", SURVEYMONKEY), "survey_responses", db=con, preset="surveymonkey",
                    wide={"questions": {SM_NPS: "nps", SM_CSAT: "csat"}, "comments": {SM_NPS: "What could we do better?"}})
    check_counts(con, report, read=5, loaded=4, rejected=1, added=2)
    assert rejects(con, report) == [(5, "ts", "not a timestamp: 13/02/2024 12:01:00 AM")]
    assert rows(con, "SELECT response_id, customer_id, ts, metric, score, comment FROM survey_responses ORDER BY 1") == [
        ("114211111111:csat", "C1", datetime(2024, 3, 1, 10, 5), "csat", 5, None),
        ("114211111111:nps", "C1", datetime(2024, 3, 1, 10, 5), "nps", 10, "Nothing"),
        ("114211111112:csat", "C2", datetime(2024, 3, 1, 13, 2, 30), "csat", 2, None),
        ("114211111112:nps", "C2", datetime(2024, 3, 1, 13, 2, 30), "nps", 6, "Faster shipping")]


ZENDESK = ("Id,Requester,Requester id,Requester external id,Created at,Updated at,Solved at,Status,Priority,Via,Type,"
           "Assignee,Assignee id,Group,Subject\n"
           "1001,Ann,361234567801,C1,2024-03-01 09:15,2024-03-01 09:15,,open,normal,Web Widget,question,Bob,900001,"
           "Support,Where is my order?\n"
           "1002,Ben,361234567802,C2,2024-03-01 10:00,2024-03-01 12:00,2024-03-01 12:00,solved,high,Email,problem,Bob,"
           "900001,Support,Refund\n"
           "1003,Cat,361234567803,C3,2024-03-02 08:00,2024-03-02 08:00,,new,low,Chat,incident,,,Support,Login\n"
           "1004,Dan,361234567804,C4,2024-03-02 08:00,2024-03-02 08:00,2024-03-01 08:00,solved,low,Chat,,,,Support,X\n")


def test_zendesk_tickets(con, tmp_path):
    report = ingest(write(tmp_path, "tickets.csv", ZENDESK), "tickets", db=con, preset="zendesk")
    check_counts(con, report, read=4, loaded=3, rejected=1, added=3)
    assert rejects(con, report) == [(5, "resolved_at", "resolved before it was opened")]
    assert rows(con, "SELECT ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id "
                     "FROM tickets ORDER BY 1") == [
        ("1001", "361234567801", datetime(2024, 3, 1, 9, 15), None, "web widget", "question", "900001"),
        ("1002", "361234567802", datetime(2024, 3, 1, 10), datetime(2024, 3, 1, 12), "email", "problem", "900001"),
        ("1003", "361234567803", datetime(2024, 3, 2, 8), None, "chat", "incident", None)]
    assert rows(con, "SELECT properties->>'Status', properties->>'Requester external id' FROM tickets ORDER BY ticket_id"
                ) == [("open", "C1"), ("solved", "C2"), ("new", "C3")]


SHOPIFY = ("Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,"
           "Discount Code,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Source,Id\n"
           "#1001,ann@example.com,paid,2024-03-01 10:05:12 -0500,fulfilled,USD,45.00,5.00,3.60,53.60,,"
           "2024-03-01 10:05:10 -0500,1,Blue Mug,15.00,MUG-B,web,5550001\n"
           "#1001,ann@example.com,,,,,,,,,,,2,Red Plate,15.00,PLT-R,,5550001\n"
           "#1002,ben@example.com,paid,2024-03-01 18:00:00 +0100,unfulfilled,USD,20.00,0.00,1.60,21.60,SPRING,"
           "2024-03-01 18:00:00 +0100,1,Tea Pot,20.00,POT-1,pos,5550002\n"
           "#1003,ann@example.com,paid,2024-03-02 09:00:00 +0000,fulfilled,USD,30.00,0.00,0.00,30.00,,"
           "2024-03-02 09:00:00 +0000,1,Spoon,10.00,SP-1,Web,5550003\n"
           "#1003,ann@example.com,,,,,,,,,,2024-03-02 09:00:00 +0000,2,Fork,10.00,FK-1,,5550003\n")


def test_shopify_orders_with_several_line_item_rows_per_order(con, tmp_path):
    report = ingest(write(tmp_path, "orders_export.csv", SHOPIFY), "orders", db=con, preset="shopify")
    check_counts(con, report, read=5, loaded=3, rejected=2, added=2)
    assert rejects(con, report) == [(3, "ts", "missing ts"), (6, "amount", "missing amount")]
    assert rows(con, "SELECT order_id, customer_id, ts, amount, channel FROM orders ORDER BY 1") == [
        ("#1001", "ann@example.com", datetime(2024, 3, 1, 15, 5, 10), 53.6, "web"),
        ("#1002", "ben@example.com", datetime(2024, 3, 1, 17), 21.6, "pos"),
        ("#1003", "ann@example.com", datetime(2024, 3, 2, 9), 30.0, "web")]
    assert rows(con, "SELECT properties->>'Lineitem name', properties->>'Financial Status' FROM orders ORDER BY "
                     "order_id") == [("Blue Mug", "paid"), ("Tea Pot", "paid"), ("Spoon", "paid")]


def test_stripe_payments(con, tmp_path):
    text = ("id,Description,Created date (UTC),Amount,Amount Refunded,Currency,Fee,Status,Customer ID,Customer Email\n"
            "ch_3Oa1,Invoice 0001,2024-03-01 10:05,49.00,0.00,usd,1.72,Paid,cus_PQ1,ann@example.com\n"
            "ch_3Oa2,Invoice 0002,2024-03-02 11:00,1049.00,0.00,usd,30.72,Paid,cus_PQ2,ben@example.com\n"
            "ch_3Oa3,Invoice 0003,2024-03-03 12:00,19.00,0.00,usd,0.00,Failed,cus_PQ1,ann@example.com\n"
            "ch_3Oa4,Invoice 0004,2024-03-03 12:00,,0.00,usd,0.00,Paid,cus_PQ3,cat@example.com\n")
    report = ingest(write(tmp_path, "unified_payments.csv", text), "orders", db=con, preset="stripe")
    check_counts(con, report, read=4, loaded=3, rejected=1, added=2)
    assert rejects(con, report) == [(5, "amount", "missing amount")]
    assert rows(con, "SELECT order_id, customer_id, ts, amount, channel, properties->>'Status' FROM orders "
                     "ORDER BY 1") == [
        ("ch_3Oa1", "cus_PQ1", datetime(2024, 3, 1, 10, 5), 49.0, "web", "Paid"),
        ("ch_3Oa2", "cus_PQ2", datetime(2024, 3, 2, 11), 1049.0, "web", "Paid"),
        ("ch_3Oa3", "cus_PQ1", datetime(2024, 3, 3, 12), 19.0, "web", "Failed")]  # as the preset's description warns


TELCO = ("customerID,gender,SeniorCitizen,tenure,Contract,MonthlyCharges,TotalCharges,Churn\n"
         "7590-VHVEG,Female,0,1,Month-to-month,29.85,29.85,No\n"
         "5575-GNVDE,Male,0,34,One year,56.95,1889.5,No\n"
         "3668-QPYBK,Male,0,2,Month-to-month,53.85,108.15,Yes\n"
         "4472-LVYGI,Female,0,0,Two year,52.55, ,No\n"
         "9999-XXXXX,Female,0,-1,Two year,52.55,1,No\n")


def test_subscriptions_by_tenure_with_as_of(con, tmp_path):
    path = write(tmp_path, "telco.csv", TELCO)
    with pytest.raises(CxInputError, match="need the day the export was taken: pass --as-of YYYY-MM-DD"):
        ingest(path, "subscriptions", db=con, preset="subscriptions-tenure")
    report = ingest(path, "subscriptions", db=con, preset="subscriptions-tenure", as_of="2024-06-30")
    check_counts(con, report, read=5, loaded=4, rejected=1, added=4)
    assert rejects(con, report) == [(6, "tenure", "tenure below 0: -1")]
    assert rows(con, "SELECT customer_id, plan, started_at, ended_at FROM subscriptions ORDER BY 1") == [
        ("3668-QPYBK", "Month-to-month", datetime(2024, 4, 30), datetime(2024, 6, 30)),
        ("4472-LVYGI", "Two year", datetime(2024, 6, 30), None),
        ("5575-GNVDE", "One year", datetime(2021, 8, 30), None),
        ("7590-VHVEG", "Month-to-month", datetime(2024, 5, 30), None)]
    assert customers(con)[0] == ("3668-QPYBK", datetime(2024, 4, 30))
    assert rows(con, "SELECT properties->>'MonthlyCharges' FROM subscriptions ORDER BY customer_id") == [
        ("53.85",), ("52.55",), ("56.95",), ("29.85",)]


CDNOW = (" customer_id  date number_of_cds  dollar_value\r\n"
         " 00001 19970101  1   11.77\r\n"
         " 00002 19970112  1   12.00\r\n"
         " 00002 19970112  5   77.00\r\n"
         " 00003 19970102  2   20.76\r\n"
         " 00003 19970102  2   20.76\r\n")  # the same purchase twice: two orders


@pytest.mark.parametrize("header", [True, False])
def test_cdnow_transaction_log_with_and_without_its_header(con, tmp_path, header):
    text = CDNOW if header else CDNOW.split("\r\n", 1)[1]
    columns = None if header else ["customer_id", "ts", "quantity", "amount"]
    report = ingest(write(tmp_path, "CDNOW_master.txt", text), "orders", db=con, preset="cdnow", columns=columns)
    check_counts(con, report, read=5, loaded=5, rejected=0, added=3)
    assert report.kept_as_properties == ("quantity",)
    assert rows(con, "SELECT customer_id, ts, amount, channel, properties->>'quantity' FROM orders "
                     "ORDER BY customer_id, amount") == [
        ("00001", datetime(1997, 1, 1), 11.77, "web", "1"), ("00002", datetime(1997, 1, 12), 12.0, "web", "1"),
        ("00002", datetime(1997, 1, 12), 77.0, "web", "5"), ("00003", datetime(1997, 1, 2), 20.76, "web", "2"),
        ("00003", datetime(1997, 1, 2), 20.76, "web", "2")]
    assert customers(con) == [("00001", datetime(1997, 1, 1)), ("00002", datetime(1997, 1, 12)),
                              ("00003", datetime(1997, 1, 2))]


def test_a_users_own_preset_file_by_path_and_an_unknown_preset_name(con, tmp_path):
    own = write(tmp_path, "my_crm.yml", "description: our CRM's contact log\ntable: events\nmapping:\n"
                                        "  Contact: customer_id\n  When: ts\n  What: touchpoint\n"
                                        "constants:\n  channel: phone\ndate_format: '%d.%m.%Y %H:%M'\n"
                                        "timezone: Europe/Berlin\nadd_customers: true\n")
    text = "Contact;When;What\nK-1;01.07.2024 12:00;Call back\nK-2;32.07.2024 12:00;Call\n"
    report = ingest(write(tmp_path, "contacts.csv", text), "events", db=con, preset=own)
    check_counts(con, report, read=2, loaded=1, rejected=1, added=1)
    assert rejects(con, report) == [(3, "ts", "not a timestamp: 32.07.2024 12:00")]
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel FROM events") == [
        ("K-1", datetime(2024, 7, 1, 10), "Call back", "phone")]
    with pytest.raises(CxInputError) as err:
        ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, preset="clikstream")
    assert str(err.value).startswith("no preset 'clikstream'; did you mean 'clickstream'? Shipped presets: amplitude, ")
    with pytest.raises(CxInputError, match="no preset file"):
        ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, preset=tmp_path / "missing.yml")
    with pytest.raises(CxInputError, match="preset 'zendesk' loads table tickets, not events"):
        ingest(write(tmp_path, "shop.csv", SHOP), "events", db=con, preset="zendesk")


def test_json_keys_of_any_spelling_and_first_seen_late_in_the_file_are_columns(con, tmp_path):
    line = '{{"customer_id":"C1","ts":"2024-01-01T10:{m:02}:{s:02}Z","touchpoint":"view","channel":"web"{extra}}}\n'
    text = "".join(line.format(m=i // 60, s=i % 60, extra="") for i in range(1500))
    text += line.format(m=59, s=59, extra=', "my key":"x","a.b":{"c":1},"$id":"7","ab~/":1')
    report = ingest(write(tmp_path, "e.jsonl", text), "events", db=con, add_customers=True,
                    mapping={"a.b.c": "abc"})
    check_counts(con, report, read=1501, loaded=1501, rejected=0, added=1)
    assert report.kept_as_properties == ("$id", "a.b", "ab~/", "my key", "abc")
    assert props(con, "events", "ts")[datetime(2024, 1, 1, 10, 59, 59)] == {
        "$id": "7", "a.b": {"c": 1}, "ab~/": "1", "my key": "x"}  # "a.b.c" reads a -> b -> c, which no record has
    assert rows(con, "SELECT count(*) FROM events WHERE properties IS NOT NULL") == [(1,)]


# --- 7. extra columns as properties -----------------------------------------------------------------


def test_extra_columns_are_kept_as_queryable_properties(con, tmp_path):
    text = ("customer_id,ts,touchpoint,channel,page,referrer,attrs\n"
            'C1,2024-03-01 10:00,view,web,/home,google,"{""ab"":""B"",""n"":2}"\n'
            "C1,2024-03-01 10:01,view,web,/cart,,\n")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, add_customers=True, mapping={"attrs": "properties"})
    check_counts(con, report, read=2, loaded=2, rejected=0, added=1)
    assert report.kept_as_properties == ("page", "referrer")
    assert "kept as properties: page, referrer" in str(report)
    assert props(con, "events", "ts") == {datetime(2024, 3, 1, 10): {"ab": "B", "n": 2, "page": "/home",
                                                                     "referrer": "google"},
                                          datetime(2024, 3, 1, 10, 1): {"page": "/cart"}}
    assert rows(con, "SELECT properties->>'page', count(*) FROM events GROUP BY 1 ORDER BY 1") == [("/cart", 1),
                                                                                                 ("/home", 1)]
    assert rows(con, "SELECT count(*) FROM events WHERE properties->>'ab' = 'B'") == [(1,)]


# --- 8. survey items beyond NPS, CSAT and CES ---------------------------------------------------------

LONG = "response_id,customer_id,ts,metric,score\n"


def test_declared_metrics_out_of_scale_and_undeclared_metrics(con, tmp_path):
    text = LONG + ("r1,C1,2024-01-01,trust,0\nr2,C1,2024-01-01,Trust,10\nr3,C1,2024-01-01,trust,11\n"
                   "r4,C1,2024-01-01,trust,-1\nr5,C1,2024-01-01,effort,3\nr6,C1,2024-01-01,nps,10\n")
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con, add_customers=True,
                    metric_scales={"trust": (0, 10)})
    check_counts(con, report, read=6, loaded=3, rejected=3, added=1)
    assert rejects(con, report) == [(4, "score", "score out of range for its metric (trust 0-10)"),
                                    (5, "score", "score out of range for its metric (trust 0-10)"),
                                    (6, "metric", "metric not one of nps/csat/ces/trust: effort")]
    assert rows(con, "SELECT response_id, metric, score FROM survey_responses ORDER BY 1") == [
        ("r1", "trust", 0), ("r2", "trust", 10), ("r6", "nps", 10)]
    # a metric keeps the scale it was declared with
    with pytest.raises(CxInputError, match="metric 'trust' already has the scale 0-10; it cannot become 1-5"):
        ingest(write(tmp_path, "s2.csv", LONG + "r9,C1,2024-01-02,trust,3\n"), "survey_responses", db=con,
               metric_scales={"trust": "1-5"})
    # once declared, later loads need not declare it again
    report = ingest(write(tmp_path, "s3.csv", LONG + "r7,C1,2024-01-02,trust,7\n"), "survey_responses", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)


def test_an_undeclared_metric_is_rejected(con, tmp_path):
    report = ingest(write(tmp_path, "s.csv", LONG + "r1,C1,2024-01-01,trust,7\n"), "survey_responses", db=con,
                    add_customers=True)
    check_counts(con, report, read=1, loaded=0, rejected=1)
    assert rejects(con, report) == [(2, "metric", "metric not one of nps/csat/ces: trust")]


def test_a_likelihood_item_under_another_name_loads_as_nps(con, tmp_path):
    text = "id,customer,answered,likelihood_to_recommend\nr1,C1,2024-01-01 10:00,9\nr2,C2,2024-01-02 10:00,11\n"
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con, add_customers=True,
                    mapping={"id": "response_id", "customer": "customer_id", "answered": "ts",
                             "likelihood_to_recommend": "score"}, constants={"metric": "nps"})
    check_counts(con, report, read=2, loaded=1, rejected=1, added=1)
    assert rejects(con, report) == [(3, "score", "score out of range for its metric (nps 0-10, csat 1-5, ces 1-7)")]
    # a wide file's likelihood column, named as a question
    wide = "id,customer,answered,likelihood_to_recommend\nr3,C1,2024-01-03 10:00,6\n"
    report = ingest(write(tmp_path, "w.csv", wide), "survey_responses", db=con,
                    mapping={"customer": "customer_id", "answered": "ts"},
                    wide={"id": "id", "questions": {"likelihood_to_recommend": "NPS"}})
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT response_id, metric, score FROM survey_responses ORDER BY 1") == [
        ("r1", "nps", 9), ("r3:nps", "nps", 6)]


# --- 9. update ------------------------------------------------------------------------------------


def test_update_customers_attributes_with_history(con, tmp_path):
    first = ingest(write(tmp_path, "c.csv", "customer_id,signup_at,plan\nC1,2024-01-01,basic\nC2,2024-01-02,pro\n"),
                   "customers", db=con)
    check_counts(con, first, read=2, loaded=2, rejected=0)
    text = "customer_id,signup_at,plan\nC1,2024-01-01,pro\nC2,2024-01-02,pro\nC3,2024-02-01,basic\n"
    report = ingest(write(tmp_path, "c2.csv", text), "customers", db=con, update=True)
    check_counts(con, report, read=3, loaded=3, rejected=0, inserted=1, updated=1, unchanged=1)
    assert str(report).endswith("read 3, loaded 3, rejected 0 (inserted 1, updated 1, unchanged 1)")
    assert rows(con, "SELECT customer_id, plan FROM customers ORDER BY 1") == [("C1", "pro"), ("C2", "pro"),
                                                                              ("C3", "basic")]
    history = rows(con, "SELECT load_id, table_name, key, previous FROM history")
    assert [(h[0], h[1], h[2], json.loads(h[3])) for h in history] == [
        (report.load_id, "customers", "C1", {"customer_id": "C1", "signup_at": "2024-01-01 00:00:00", "plan": "basic"})]
    # without update the same file is rejected as duplicates (C3 is in the store now)
    plain = ingest(write(tmp_path, "c2.csv", text), "customers", db=con)
    check_counts(con, plain, read=3, loaded=0, rejected=3)


def test_update_tickets_resolved_since_and_a_weekly_reexport_unchanged(con, tmp_path):
    ingest(write(tmp_path, "t1.csv", ZENDESK), "tickets", db=con, preset="zendesk")
    solved = ZENDESK.replace("1001,Ann,361234567801,C1,2024-03-01 09:15,2024-03-01 09:15,,open",
                             "1001,Ann,361234567801,C1,2024-03-01 09:15,2024-03-03 16:45,2024-03-03 16:45,solved")
    solved += "1005,Eve,361234567805,C5,2024-03-04 08:00,2024-03-04 08:00,,new,low,Email,question,,,Support,Hi\n"
    path = write(tmp_path, "t2.csv", solved)
    report = ingest(path, "tickets", db=con, preset="zendesk", update=True)
    check_counts(con, report, read=5, loaded=4, rejected=1, inserted=1, updated=1, unchanged=2, added=1)
    assert rows(con, "SELECT ticket_id, resolved_at, properties->>'Status' FROM tickets ORDER BY 1") == [
        ("1001", datetime(2024, 3, 3, 16, 45), "solved"), ("1002", datetime(2024, 3, 1, 12), "solved"),
        ("1003", None, "new"), ("1005", None, "new")]
    (key, previous), = rows(con, "SELECT key, previous FROM history")
    assert key == "1001"
    assert (json.loads(previous)["resolved_at"], json.loads(previous)["properties"]["Status"]) == (None, "open")
    weekly = ingest(path, "tickets", db=con, preset="zendesk", update=True)
    check_counts(con, weekly, read=5, loaded=4, rejected=1, inserted=0, updated=0, unchanged=4)
    assert rows(con, "SELECT count(*) FROM history") == [(1,)]


def test_update_subscriptions_ended_since(con, tmp_path):
    text = "customer_id,plan,started_at,ended_at\nC1,pro,2024-01-01,\nC2,basic,2024-02-01,\n"
    ingest(write(tmp_path, "s1.csv", text), "subscriptions", db=con, add_customers=True)
    ended = text.replace("C1,pro,2024-01-01,", "C1,pro,2024-01-01,2024-05-31")
    report = ingest(write(tmp_path, "s2.csv", ended), "subscriptions", db=con, update=True)
    check_counts(con, report, read=2, loaded=2, rejected=0, inserted=0, updated=1, unchanged=1)
    assert rows(con, "SELECT customer_id, ended_at FROM subscriptions ORDER BY 1") == [
        ("C1", datetime(2024, 5, 31)), ("C2", None)]
    assert rows(con, "SELECT key, previous->>'ended_at' FROM history") == [("C1|pro|2024-01-01 00:00:00", None)]
    assert rows(con, f"SELECT inserted, updated, unchanged FROM load_log WHERE load_id = {report.load_id}") == [
        (0, 1, 1)]


# --- 10. lowercase ----------------------------------------------------------------------------------


def test_lowercase_folds_touchpoints_and_channels(con, tmp_path):
    text = ("customer_id,ts,touchpoint,channel\nC1,2024-01-01 10:00,Checkout,Web\nC1,2024-01-01 11:00, checkout ,web\n"
            "C1,2024-01-01 11:00,CHECKOUT,WEB\n")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, add_customers=True, lowercase=True)
    check_counts(con, report, read=3, loaded=2, rejected=1, added=1)
    assert rejects(con, report) == [(4, EVENTS_KEY, EARLIER_ROW)]
    assert rows(con, "SELECT DISTINCT touchpoint, channel FROM events") == [("checkout", "web")]
    # without it the spellings stay apart (blanks around a name are always trimmed)
    report = ingest(write(tmp_path, "e2.csv", text.replace("C1,", "C2,")), "events", db=con, add_customers=True)
    check_counts(con, report, read=3, loaded=3, rejected=0, added=1)
    assert rows(con, "SELECT touchpoint, channel FROM events WHERE customer_id = 'C2' ORDER BY ts, 1") == [
        ("Checkout", "Web"), ("CHECKOUT", "WEB"), ("checkout", "web")]


# --- 11. the rejects summary --------------------------------------------------------------------------


def test_rejects_summary_by_kind_with_counts_and_two_example_lines(con, tmp_path):
    text = ("customer_id,ts,touchpoint,channel\n"
                          "C1,2024-13-01,home,web\nC1,yesterday,home,web\nC1,2024-02-30,home,web\n"
                          "C1,03/04/2024,home,web\nC1,,home,web\nC1,2024-01-01,home,web\n")
    first = ingest(write(tmp_path, "e.csv", text), "events", db=con, add_customers=True)
    check_counts(con, first, read=6, loaded=1, rejected=5, added=1)
    second = ingest(write(tmp_path, "e.csv", text), "events", db=con)
    check_counts(con, second, read=6, loaded=0, rejected=6)
    summary = rejects_summary(con, load_id=first.load_id)
    assert summary.to_dict("records") == [
        {"load_id": first.load_id, "table_name": "events", "source": str(tmp_path / "e.csv"), "column_name": "ts",
         "reason": "not a timestamp", "rows": 3,
         "examples": ["2: not a timestamp: 2024-13-01", "3: not a timestamp: yesterday"]},
        {"load_id": first.load_id, "table_name": "events", "source": str(tmp_path / "e.csv"), "column_name": "ts",
         "reason": "ambiguous date format (pass --date-format)", "rows": 1,
         "examples": ["5: ambiguous date format 03/04/2024: day/month order unknown; pass date_format, e.g. %d/%m/%Y"]},
        {"load_id": first.load_id, "table_name": "events", "source": str(tmp_path / "e.csv"), "column_name": "ts",
         "reason": "missing ts", "rows": 1, "examples": ["6: missing ts"]}]
    every = rejects_summary(con)
    assert [(r["load_id"], r["column_name"], r["reason"], r["rows"], r["examples"]) for r in every.to_dict("records")
            ] == [(first.load_id, "ts", "not a timestamp", 3,
                   ["2: not a timestamp: 2024-13-01", "3: not a timestamp: yesterday"]),
                  (first.load_id, "ts", "ambiguous date format (pass --date-format)", 1,
                   ["5: ambiguous date format 03/04/2024: day/month order unknown; pass date_format, e.g. %d/%m/%Y"]),
                  (first.load_id, "ts", "missing ts", 1, ["6: missing ts"]),
                  (second.load_id, "ts", "not a timestamp", 3,
                   ["2: not a timestamp: 2024-13-01", "3: not a timestamp: yesterday"]),
                  (second.load_id, EVENTS_KEY, "duplicate key", 1, ["7: duplicate key: already in the store"]),
                  (second.load_id, "ts", "ambiguous date format (pass --date-format)", 1,
                   ["5: ambiguous date format 03/04/2024: day/month order unknown; pass date_format, e.g. %d/%m/%Y"]),
                  (second.load_id, "ts", "missing ts", 1, ["6: missing ts"])]
    assert rejects_summary(con, load_id=99).empty


def test_rejects_summary_shows_distinct_lines_of_a_wide_survey(con, tmp_path):
    args = {"preset": "qualtrics", "wide": {"questions": {"Q1": "nps", "Q3": "trust"}}, "metric_scales": {"trust": "0-10"}}
    ingest(write(tmp_path, "responses.csv", QUALTRICS), "survey_responses", db=con, **args)
    again = ingest(write(tmp_path, "responses.csv", QUALTRICS), "survey_responses", db=con, **args)
    summary = rejects_summary(con, load_id=again.load_id)
    assert [(r["column_name"], r["reason"], r["rows"], r["examples"]) for r in summary.to_dict("records")] == [
        ("response_id", "duplicate key", 3, ["4: duplicate key: already in the store",
                                             "5: duplicate key: already in the store"]),
        ("score", "score out of range for its metric (trust 0-10)", 1,
         ["5: score out of range for its metric (trust 0-10)"])]


# --- 12. JSON lines -------------------------------------------------------------------------------------


def test_json_lines_malformed_line_is_rejected_with_its_line_and_blank_lines_are_not_rows(con, tmp_path):
    text = ('{"customer_id":"C1","ts":"2024-01-01T10:00:00Z","touchpoint":"home","channel":"web"}\n'
            "\n"
            '{"customer_id":"C1","ts":"2024-01-01T11:00:00Z","touchpoint":"cart","channel":"web"\n'  # no closing brace
            "\t \n"
            '{"customer_id":"C2","ts":"2024-01-02T10:00:00+01:00","touchpoint":"home","channel":"app","extra":{"a":1}}\n'
            '"just a string"\n')
    report = ingest(write(tmp_path, "e.ndjson", text), "events", db=con, add_customers=True)
    check_counts(con, report, read=4, loaded=2, rejected=2, added=2)
    assert rejects(con, report) == [(3, None, "malformed line: not a JSON object"),
                                    (6, None, "malformed line: not a JSON object")]
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel, properties->'extra'->>'a' FROM events ORDER BY ts"
                ) == [("C1", datetime(2024, 1, 1, 10), "home", "web", None),
                      ("C2", datetime(2024, 1, 2, 9), "home", "app", "1")]
