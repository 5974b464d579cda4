"""A corpus of bad (and awkward) inputs for cxlib.store.ingest, each asserting the exact outcome.

Every case states which rows loaded, which were rejected with which line, column and reason,
that read == loaded + rejected (also in load_log), and that nothing was lost or duplicated.
Line numbers count the header as line 1.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime

import duckdb
import pandas as pd
import pytest

import cxlib
from cxlib.errors import CxDataError, CxInputError
from cxlib.store.ingest import ingest

ingest_mod = importlib.import_module("cxlib.store.ingest")

CUSTOMERS = "customer_id,signup_at\nC1,2024-01-01\nC2,2024-01-02\n02134,2024-01-03\n"
STAGE_MAP = "touchpoint,stage\nchat,service\nphone_call,service\ncheckout,purchase\nhome_page,consideration\n"
# Every table whose contents a failed load must leave exactly as it was.
ALL_TABLES = ["customers", "events", "touchpoint_stages", "survey_responses", "orders", "tickets",
              "subscriptions", "load_log", "rejects", "events_ordered"]


@pytest.fixture()
def con(tmp_path):
    """A new store holding customers C1, C2, 02134 and a small stage map."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    ingest(write(tmp_path, "customers.csv", CUSTOMERS), "customers", db=con)
    ingest(write(tmp_path, "stages.csv", STAGE_MAP), "touchpoint_stages", db=con)
    yield con
    con.close()


def write(tmp_path, name: str, text: str | bytes, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def rejects(con, report) -> list[tuple]:
    """(line, column, reason) of a load's rejects, in line order."""
    return rows(con, f"SELECT line, column_name, reason FROM rejects WHERE load_id = {report.load_id} ORDER BY line")


def snapshot(con) -> dict[str, list]:
    """Every row of every table (and the customers' columns), for before/after comparison."""
    snap = {t: sorted(map(repr, rows(con, f"SELECT * FROM {t}"))) for t in ALL_TABLES}
    snap["customers columns"] = cxlib.store.table_columns(con, "customers")
    return snap


def check_counts(con, report, *, read: int, loaded: int, rejected: int) -> None:
    """The report's counts, read == loaded + rejected, and the same numbers in load_log."""
    assert (report.read, report.loaded, report.rejected) == (read, loaded, rejected)
    assert report.read == report.loaded + report.rejected
    logged = rows(con, f"SELECT read, loaded, rejected FROM load_log WHERE load_id = {report.load_id}")
    assert logged == [(read, loaded, rejected)]
    n_rejects = rows(con, f"SELECT count(*) FROM rejects WHERE load_id = {report.load_id}")[0][0]
    assert n_rejects == rejected


def events_csv(*lines: str) -> str:
    return "customer_id,ts,touchpoint,channel\n" + "".join(line + "\n" for line in lines)


# --- header ------------------------------------------------------------------------------------


def test_header_missing_column_loads_nothing_and_lists_expected_and_found(con, tmp_path):
    before = snapshot(con)
    path = write(tmp_path, "e.csv", "customer_id,ts,touchpoint\nC1,2024-01-01,chat\n")
    with pytest.raises(CxDataError) as err:
        ingest(path, "events", db=con)
    msg = str(err.value)
    assert "header does not match table events: missing ['channel']" in msg
    assert "Expected ['customer_id', 'ts', 'touchpoint', 'channel']" in msg
    assert "found ['customer_id', 'ts', 'touchpoint']" in msg
    assert "Nothing was loaded" in msg
    assert snapshot(con) == before


def test_header_extra_column_is_kept_as_a_property_of_the_event(con, tmp_path):
    path = write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel,browser\nC1,2024-01-01,chat,chat,ff\n")
    report = ingest(path, "events", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert report.kept_as_properties == ("browser",) and "kept as properties: browser" in str(report)
    assert rows(con, "SELECT customer_id, properties->>'browser' FROM events") == [("C1", "ff")]


def test_header_extra_column_is_refused_for_the_stage_map(con, tmp_path):
    before = snapshot(con)
    path = write(tmp_path, "s.csv", "touchpoint,stage,colour\nchat,service,red\n")
    with pytest.raises(CxDataError, match=r"unexpected \['colour'\].*found \['touchpoint', 'stage', 'colour'\]"):
        ingest(path, "touchpoint_stages", db=con)
    assert snapshot(con) == before


def test_map_renames_export_columns(con, tmp_path):
    path = write(tmp_path, "e.csv", "cust,when,what,where\nC1,2024-01-01 10:00,chat,chat\n")
    report = ingest(path, "events", db=con, mapping={"cust": "customer_id", "when": "ts", "what": "touchpoint",
                                                      "where": "channel"})
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT customer_id, ts, touchpoint, channel FROM events") == [
        ("C1", datetime(2024, 1, 1, 10), "chat", "chat")]


def test_map_to_nothing_drops_a_column(con, tmp_path):
    path = write(tmp_path, "e.csv", "customer_id,ts,touchpoint,channel,browser\nC1,2024-01-01,chat,chat,ff\n")
    report = ingest(path, "events", db=con, mapping={"browser": None})
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT * EXCLUDE (properties) FROM events") == [("C1", datetime(2024, 1, 1), "chat", "chat", None)]


def test_map_of_a_column_not_in_the_file_is_an_input_error(con, tmp_path):
    before = snapshot(con)
    path = write(tmp_path, "e.csv", events_csv("C1,2024-01-01,chat,chat"))
    with pytest.raises(CxInputError, match=r"--map names columns not in the file: \['cust'\]"):
        ingest(path, "events", db=con, mapping={"cust": "customer_id"})
    assert snapshot(con) == before


def test_header_naming_a_column_twice_is_refused(con, tmp_path):
    before = snapshot(con)
    path = write(tmp_path, "e.csv", "customer_id,ts,ts,touchpoint,channel\nC1,2024-01-01,2024-01-01,chat,chat\n")
    with pytest.raises(CxDataError, match=r"names columns twice: \['ts'\]"):
        ingest(path, "events", db=con)
    assert snapshot(con) == before


def test_header_only_file_loads_nothing(con, tmp_path):
    report = ingest(write(tmp_path, "e.csv", events_csv()), "events", db=con)
    check_counts(con, report, read=0, loaded=0, rejected=0)
    assert rows(con, "SELECT count(*) FROM events") == [(0,)]


# --- timestamps --------------------------------------------------------------------------------


def test_unparseable_timestamps_are_rejected_with_the_value(con, tmp_path):
    path = write(tmp_path, "e.csv", events_csv("C1,2024-01-01 10:00,chat,chat", "C1,2024-13-01,chat,chat",
                                               "C1,yesterday,chat,chat", "C1,2024-02-30 10:00,chat,chat"))
    report = ingest(path, "events", db=con)
    check_counts(con, report, read=4, loaded=1, rejected=3)
    assert rejects(con, report) == [
        (3, "ts", "not a timestamp: 2024-13-01"),
        (4, "ts", "not a timestamp: yesterday"),
        (5, "ts", "not a timestamp: 2024-02-30 10:00"),
    ]
    assert rows(con, "SELECT ts FROM events") == [(datetime(2024, 1, 1, 10),)]


DAY_MONTH = events_csv("C1,03/04/2024 10:00,chat,chat", "C1,13/04/2024 11:00,chat,chat", "C2,2024-04-05 12:00,chat,chat")


def test_day_month_without_date_format_is_rejected_as_ambiguous(con, tmp_path):
    report = ingest(write(tmp_path, "e.csv", DAY_MONTH), "events", db=con)
    check_counts(con, report, read=3, loaded=1, rejected=2)
    assert rejects(con, report) == [
        (2, "ts", "ambiguous date format 03/04/2024 10:00: day/month order unknown; pass date_format, e.g. %d/%m/%Y"),
        (3, "ts", "ambiguous date format 13/04/2024 11:00: day/month order unknown; pass date_format, e.g. %d/%m/%Y"),
    ]
    assert rows(con, "SELECT customer_id, ts FROM events") == [("C2", datetime(2024, 4, 5, 12))]


def test_day_month_with_date_format_loads_day_first(con, tmp_path):
    path = write(tmp_path, "e.csv", DAY_MONTH.replace("C2,2024-04-05 12:00", "C2,05/04/2024 12:00"))
    report = ingest(path, "events", db=con, date_format="%d/%m/%Y %H:%M")
    check_counts(con, report, read=3, loaded=3, rejected=0)
    assert rows(con, "SELECT customer_id, ts FROM events ORDER BY ts") == [
        ("C1", datetime(2024, 4, 3, 10)), ("C2", datetime(2024, 4, 5, 12)), ("C1", datetime(2024, 4, 13, 11))]
    assert rows(con, f"SELECT date_format FROM load_log WHERE load_id = {report.load_id}") == [("%d/%m/%Y %H:%M",)]


def test_offsets_are_converted_to_utc(con, tmp_path):
    path = write(tmp_path, "e.csv", events_csv(
        "C1,2024-07-01T12:00:00Z,chat,chat",
        "C1,2024-07-01T12:00:00+02:00,checkout,web",
        "C1,2024-07-01 12:00:00-0500,home_page,web",
        "C1,2024-07-01T23:30:00.250+05:30,phone_call,phone",
    ))
    report = ingest(path, "events", db=con, timezone="Europe/Berlin")  # offsets win over the zone
    check_counts(con, report, read=4, loaded=4, rejected=0)
    assert rows(con, "SELECT touchpoint, ts FROM events ORDER BY touchpoint") == [
        ("chat", datetime(2024, 7, 1, 12)),
        ("checkout", datetime(2024, 7, 1, 10)),
        ("home_page", datetime(2024, 7, 1, 17)),
        ("phone_call", datetime(2024, 7, 1, 18, 0, 0, 250000)),
    ]


def test_naive_times_are_read_in_the_given_timezone_summer_and_winter(con, tmp_path):
    path = write(tmp_path, "e.csv", events_csv("C1,2024-07-01 12:00,chat,chat", "C1,2024-01-15 12:00,checkout,web",
                                               "C1,2024-07-01,home_page,web"))
    report = ingest(path, "events", db=con, timezone="Europe/Berlin")
    check_counts(con, report, read=3, loaded=3, rejected=0)
    assert rows(con, "SELECT touchpoint, ts FROM events ORDER BY touchpoint") == [
        ("chat", datetime(2024, 7, 1, 10)),  # CEST = UTC+2
        ("checkout", datetime(2024, 1, 15, 11)),  # CET = UTC+1
        ("home_page", datetime(2024, 6, 30, 22)),  # a date is midnight in Berlin
    ]
    assert rows(con, f"SELECT timezone FROM load_log WHERE load_id = {report.load_id}") == [("Europe/Berlin",)]


def test_unknown_timezone_is_an_input_error_and_changes_nothing(con, tmp_path):
    before = snapshot(con)
    with pytest.raises(CxInputError, match="unknown time zone 'Mars/Olympus'"):
        ingest(write(tmp_path, "e.csv", events_csv("C1,2024-01-01,chat,chat")), "events", db=con,
               timezone="Mars/Olympus")
    assert snapshot(con) == before


def test_unknown_table_is_an_input_error_with_a_suggestion(con, tmp_path):
    with pytest.raises(CxInputError, match="table 'event' not in the schema; did you mean 'events'"):
        ingest(write(tmp_path, "e.csv", events_csv("C1,2024-01-01,chat,chat")), "event", db=con)


# --- scores, amounts, booleans, rules across columns -------------------------------------------

SURVEY_HEADER = "response_id,customer_id,ts,metric,score\n"


def test_scores_out_of_range_for_their_metric_are_rejected_and_bounds_load(con, tmp_path):
    lines = ["r01,C1,2024-01-01,nps,0", "r02,C1,2024-01-01,nps,10", "r03,C1,2024-01-01,nps,-1",
             "r04,C1,2024-01-01,nps,11", "r05,C1,2024-01-01,csat,1", "r06,C1,2024-01-01,csat,5",
             "r07,C1,2024-01-01,csat,0", "r08,C1,2024-01-01,csat,6", "r09,C1,2024-01-01,ces,1",
             "r10,C1,2024-01-01,ces,7", "r11,C1,2024-01-01,ces,0", "r12,C1,2024-01-01,ces,8",
             "r13,C1,2024-01-01,csat,10"]  # a valid NPS score is out of range for CSAT
    report = ingest(write(tmp_path, "s.csv", SURVEY_HEADER + "\n".join(lines) + "\n"), "survey_responses", db=con)
    check_counts(con, report, read=13, loaded=6, rejected=7)
    reason = "score out of range for its metric (nps 0-10, csat 1-5, ces 1-7)"
    assert rejects(con, report) == [(line, "score", reason) for line in (4, 5, 8, 9, 12, 13, 14)]
    assert rows(con, "SELECT response_id, metric, score FROM survey_responses ORDER BY response_id") == [
        ("r01", "nps", 0), ("r02", "nps", 10), ("r05", "csat", 1), ("r06", "csat", 5), ("r09", "ces", 1),
        ("r10", "ces", 7)]


def test_fractional_and_non_numeric_scores_are_rejected(con, tmp_path):
    text = SURVEY_HEADER + "r1,C1,2024-01-01,nps,7.5\nr2,C1,2024-01-01,nps,8.0\nr3,C1,2024-01-01,nps,ten\nr4,C1,2024-01-01,nps,\n"
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=4, loaded=1, rejected=3)
    assert rejects(con, report) == [
        (2, "score", "not a whole number: 7.5"),
        (4, "score", "not a whole number: ten"),
        (5, "score", "missing score"),
    ]
    assert rows(con, "SELECT response_id, score FROM survey_responses") == [("r2", 8)]  # 8.0 is a whole number


def test_metric_not_nps_csat_ces_is_rejected_and_case_is_folded(con, tmp_path):
    text = SURVEY_HEADER + "r1,C1,2024-01-01,NPS,9\nr2,C1,2024-01-01,effort,3\nr3,C1,2024-01-01,Csat,4\n"
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    assert rejects(con, report) == [(3, "metric", "metric not one of nps/csat/ces: effort")]
    assert rows(con, "SELECT response_id, metric FROM survey_responses ORDER BY 1") == [("r1", "nps"), ("r3", "csat")]


ORDERS_HEADER = "order_id,customer_id,ts,amount\n"


def test_negative_amount_is_rejected_and_zero_loads(con, tmp_path):
    text = ORDERS_HEADER + "o1,C1,2024-01-01,-0.01\no2,C1,2024-01-01,0\no3,C1,2024-01-01,19.99\n"
    report = ingest(write(tmp_path, "o.csv", text), "orders", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    assert rejects(con, report) == [(2, "amount", "amount below 0: -0.01")]
    assert rows(con, "SELECT order_id, amount FROM orders ORDER BY 1") == [("o2", 0.0), ("o3", 19.99)]


def test_nan_and_infinite_amounts_are_rejected(con, tmp_path):
    text = ORDERS_HEADER + "o1,C1,2024-01-01,NaN\no2,C1,2024-01-01,inf\no3,C1,2024-01-01,-Infinity\no4,C1,2024-01-01,1e3\no5,C1,2024-01-01,12€\n"
    report = ingest(write(tmp_path, "o.csv", text), "orders", db=con)
    check_counts(con, report, read=5, loaded=1, rejected=4)
    assert rejects(con, report) == [
        (2, "amount", "not a number: NaN"),
        (3, "amount", "not a number: inf"),
        (4, "amount", "not a number: -Infinity"),
        (6, "amount", "not a number: 12€"),
    ]
    assert rows(con, "SELECT order_id, amount FROM orders") == [("o4", 1000.0)]


TICKETS_HEADER = "ticket_id,customer_id,opened_at,resolved_at,channel,reopened,contacts\n"


def test_ticket_resolved_before_opened_is_rejected_and_open_ticket_loads(con, tmp_path):
    text = TICKETS_HEADER + ("t1,C1,2024-01-02 10:00,2024-01-02 09:59,chat,no,1\n"
                             "t2,C1,2024-01-02 10:00,,chat,no,1\n"
                             "t3,C1,2024-01-02 10:00,2024-01-02 10:00,chat,no,1\n")
    report = ingest(write(tmp_path, "t.csv", text), "tickets", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    assert rejects(con, report) == [(2, "resolved_at", "resolved before it was opened")]
    assert rows(con, "SELECT ticket_id, resolved_at FROM tickets ORDER BY 1") == [
        ("t2", None), ("t3", datetime(2024, 1, 2, 10))]


def test_boolean_spellings(con, tmp_path):
    spellings = ["true", "TRUE", "t", "Yes", "y", "1", "false", "F", "no", "N", "0", "", "maybe", "2"]
    text = TICKETS_HEADER + "".join(f"t{i:02},C1,2024-01-01,2024-01-02,chat,{s},1\n" for i, s in enumerate(spellings))
    report = ingest(write(tmp_path, "t.csv", text), "tickets", db=con)
    check_counts(con, report, read=14, loaded=12, rejected=2)
    assert rejects(con, report) == [(14, "reopened", "not a true/false: maybe"), (15, "reopened", "not a true/false: 2")]
    assert rows(con, "SELECT reopened FROM tickets ORDER BY ticket_id") == [(True,)] * 6 + [(False,)] * 5 + [(None,)]


def test_contacts_below_one_is_rejected(con, tmp_path):
    text = TICKETS_HEADER + "t1,C1,2024-01-01,2024-01-02,chat,no,0\nt2,C1,2024-01-01,2024-01-02,chat,no,3\n"
    report = ingest(write(tmp_path, "t.csv", text), "tickets", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(2, "contacts", "contacts below 1: 0")]


# --- keys and references -----------------------------------------------------------------------


def test_duplicate_keys_within_a_file_keep_the_first(con, tmp_path):
    text = SURVEY_HEADER + "r1,C1,2024-01-01,nps,9\nr2,C1,2024-01-01,nps,3\nr1,C2,2024-01-05,nps,1\n"
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    assert rejects(con, report) == [(4, "response_id", "duplicate key: repeats an earlier row of this load")]
    assert rows(con, "SELECT response_id, customer_id, score FROM survey_responses ORDER BY 1") == [
        ("r1", "C1", 9), ("r2", "C1", 3)]


def test_duplicate_events_use_the_whole_event_key(con, tmp_path):
    text = events_csv("C1,2024-01-01 10:00,chat,chat", "C1,2024-01-01 10:00,chat,chat",
                      "C1,2024-01-01 10:00,chat,web", "C1,2024-01-01T09:00:00-01:00,chat,chat")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con)
    check_counts(con, report, read=4, loaded=2, rejected=2)
    key = "customer_id, ts, touchpoint, channel"
    assert rejects(con, report) == [(3, key, "duplicate key: repeats an earlier row of this load"),
                                    (5, key, "duplicate key: repeats an earlier row of this load")]  # same instant in UTC
    assert rows(con, "SELECT channel FROM events ORDER BY channel") == [("chat",), ("web",)]


def test_duplicate_keys_against_the_store_are_rejected(con, tmp_path):
    text = "customer_id,signup_at\nC2,2024-06-01\nC9,2024-06-01\n"
    report = ingest(write(tmp_path, "c.csv", text), "customers", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(2, "customer_id", "duplicate key: already in the store")]
    assert rows(con, "SELECT customer_id, signup_at FROM customers ORDER BY 1") == [
        ("02134", datetime(2024, 1, 3)), ("C1", datetime(2024, 1, 1)), ("C2", datetime(2024, 1, 2)),
        ("C9", datetime(2024, 6, 1))]  # C2 keeps its first signup date


def test_loading_the_same_file_twice_adds_nothing(con, tmp_path):
    path = write(tmp_path, "e.csv", events_csv("C1,2024-01-01 10:00,chat,chat", "C2,2024-01-02 10:00,checkout,web",
                                               "C9,2024-01-02 10:00,checkout,web"))
    first = ingest(path, "events", db=con)
    check_counts(con, first, read=3, loaded=2, rejected=1)
    after_first = rows(con, "SELECT * FROM events ORDER BY ALL")
    second = ingest(path, "events", db=con)
    check_counts(con, second, read=3, loaded=0, rejected=3)
    key = "customer_id, ts, touchpoint, channel"
    assert rejects(con, second) == [(2, key, "duplicate key: already in the store"),
                                    (3, key, "duplicate key: already in the store"),
                                    (4, "customer_id", "unknown customer_id C9: load its customer first")]
    assert rows(con, "SELECT * FROM events ORDER BY ALL") == after_first
    assert rows(con, "SELECT count(*) FROM events_ordered") == [(2,)]
    assert rows(con, "SELECT load_id, table_name, read, loaded, rejected FROM load_log WHERE table_name = 'events'") == [
        (first.load_id, "events", 3, 2, 1), (second.load_id, "events", 3, 0, 3)]


def test_orphan_customer_id_is_rejected(con, tmp_path):
    text = ORDERS_HEADER + "o1,C1,2024-01-01,5\no2,C404,2024-01-01,5\no3,c1,2024-01-01,5\n"
    report = ingest(write(tmp_path, "o.csv", text), "orders", db=con)
    check_counts(con, report, read=3, loaded=1, rejected=2)
    assert rejects(con, report) == [
        (3, "customer_id", "unknown customer_id C404: load its customer first"),
        (4, "customer_id", "unknown customer_id c1: load its customer first"),  # ids are case-sensitive
    ]


def test_ids_with_leading_zeros_stay_text(con, tmp_path):
    report = ingest(write(tmp_path, "o.csv", ORDERS_HEADER + "007,02134,2024-01-01,5\n"), "orders", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT order_id, customer_id FROM orders") == [("007", "02134")]
    assert rows(con, "SELECT customer_id FROM customers WHERE customer_id = '02134'") == [("02134",)]


# --- missing and blank values ------------------------------------------------------------------


def test_missing_required_values_are_rejected_naming_the_first_blank_column(con, tmp_path):
    text = events_csv(",2024-01-01,chat,chat", "C1,,chat,chat", "C1,2024-01-01,  ,chat", "C1,2024-01-01,chat,",
                      "C1,2024-01-01,chat,chat")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con)
    check_counts(con, report, read=5, loaded=1, rejected=4)
    assert rejects(con, report) == [(2, "customer_id", "missing customer_id"), (3, "ts", "missing ts"),
                                    (4, "touchpoint", "missing touchpoint"), (5, "channel", "missing channel")]


def test_blank_optional_values_load_as_null(con, tmp_path):
    text = ("response_id,customer_id,ts,metric,score,touchpoint,channel,comment\n"
            "r1,C1,2024-01-01,nps,9,,,\n"
            "r2,C1,2024-01-01,csat,4,checkout,web,\"  fine, thanks  \"\n")
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=2, loaded=2, rejected=0)
    assert rows(con, "SELECT response_id, touchpoint, channel, comment FROM survey_responses ORDER BY 1") == [
        ("r1", None, None, None), ("r2", "checkout", "web", "  fine, thanks  ")]  # comments kept as written


def test_optional_columns_absent_from_the_file_load_as_null(con, tmp_path):
    report = ingest(write(tmp_path, "s.csv", SURVEY_HEADER + "r1,C1,2024-01-01,nps,9\n"), "survey_responses", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT touchpoint, channel, comment FROM survey_responses") == [(None, None, None)]


# --- structure of the file ---------------------------------------------------------------------


def test_too_many_and_too_few_fields_are_malformed_lines(con, tmp_path):
    text = events_csv("C1,2024-01-01,chat,chat", "C1,2024-01-02,chat,chat,extra", "C1,2024-01-03,chat",
                      "C1,2024-01-04,chat,chat")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con)
    check_counts(con, report, read=4, loaded=2, rejected=2)
    got = rejects(con, report)
    assert [(line, column) for line, column, _ in got] == [(3, None), (4, None)]
    assert got[0][2] == "malformed line: too many fields: expected 4, found 5"
    assert got[1][2] == "malformed line: too few fields: expected 4, found 3"
    assert rows(con, f"SELECT raw FROM rejects WHERE load_id = {report.load_id} ORDER BY line") == [
        ("C1,2024-01-02,chat,chat,extra",), ("C1,2024-01-03,chat",)]
    assert rows(con, "SELECT ts FROM events ORDER BY ts") == [(datetime(2024, 1, 1),), (datetime(2024, 1, 4),)]


def test_line_numbers_after_malformed_lines_and_multiline_quoted_values(con, tmp_path):
    text = ("response_id,customer_id,ts,metric,score,comment\n"
            "r1,C1,2024-01-01,nps,9,\"two\nlines\"\n"  # line 2 (one record)
            "r2,C1,2024-01-01,nps,9,too,many\n"  # line 3
            "r3,C1,2024-01-01,nps,99,x\n"  # line 4
            "r4,C1,2024-01-01,nps,9,\"a \"\"quoted\"\" word\"\n")  # line 5
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=4, loaded=2, rejected=2)
    got = rejects(con, report)
    assert [(line, column) for line, column, _ in got] == [(3, None), (4, "score")]
    assert rows(con, "SELECT response_id, comment FROM survey_responses ORDER BY 1") == [
        ("r1", "two\nlines"), ("r4", 'a "quoted" word')]


def test_unclosed_quote_rejects_its_record_and_keeps_quoted_neighbours_intact(con, tmp_path):
    text = ("response_id,customer_id,ts,metric,score,comment\n"
            "r1,C1,2024-01-01,nps,9,\"fine\"\n"
            "r2,C1,2024-01-01,nps,9,\"oops\"x\n"
            "r3,C1,2024-01-01,nps,9,plain\n")
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    got = rejects(con, report)
    assert [(line, column) for line, column, _ in got] == [(3, None)]
    assert got[0][2] == ("malformed line: a quoted value is not closed (this line, and the lines its open quote "
                         "swallowed, are rejected)")
    # the quotes of a good value are CSV syntax, not data
    assert rows(con, "SELECT response_id, comment FROM survey_responses ORDER BY 1") == [("r1", "fine"), ("r3", "plain")]


def test_quote_never_closed_swallows_the_rest_into_one_reject_nothing_lost(con, tmp_path):
    text = events_csv("C1,2024-01-01,chat,chat", 'C1,"2024-01-02,chat,chat', "C1,2024-01-03,chat,chat")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report)[0][:2] == (3, None)
    # the swallowed line is not lost: it is in the reject's raw text
    raw = rows(con, f"SELECT raw FROM rejects WHERE load_id = {report.load_id}")[0][0]
    assert "C1,2024-01-03,chat,chat" in raw


def test_semicolon_delimiter_is_detected(con, tmp_path):
    path = write(tmp_path, "o.csv", "order_id;customer_id;ts;amount\no1;C1;2024-01-01;12,50\no2;C1;2024-01-01;3\n")
    report = ingest(path, "orders", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(2, "amount", "not a number: 12,50")]  # decimal commas are not guessed


def test_tab_delimiter_from_tsv_suffix_and_from_the_header(con, tmp_path):
    text = "order_id\tcustomer_id\tts\tamount\no1\tC1\t2024-01-01\t1.5\n"
    report = ingest(write(tmp_path, "o.tsv", text), "orders", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)
    report = ingest(write(tmp_path, "o2.txt", text.replace("o1", "o2")), "orders", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT order_id, amount FROM orders ORDER BY 1") == [("o1", 1.5), ("o2", 1.5)]


def test_explicit_delimiter_and_crlf_line_ends(con, tmp_path):
    text = "order_id|customer_id|ts|amount\r\no1|C1|2024-01-01|1\r\no2|C1|2024-01-01|-1\r\n"
    report = ingest(write(tmp_path, "o.csv", text), "orders", db=con, delimiter="|")
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(3, "amount", "amount below 0: -1")]
    with pytest.raises(CxInputError, match="delimiter must be one character"):
        ingest(write(tmp_path, "o.csv", text), "orders", db=con, delimiter="||")


# --- encodings ---------------------------------------------------------------------------------


def test_utf8_with_bom(con, tmp_path):
    path = write(tmp_path, "c.csv", "\ufeffcustomer_id,signup_at,city\nB1,2024-01-01,Zürich\n")
    report = ingest(path, "customers", db=con)
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT customer_id, city FROM customers WHERE customer_id = 'B1'") == [("B1", "Zürich")]
    assert "\ufeffcustomer_id" not in cxlib.store.table_columns(con, "customers")


def test_latin1_declared_keeps_accents(con, tmp_path):
    path = write(tmp_path, "c.csv", "customer_id,signup_at,city\nB1,2024-01-01,Besançon é\n", encoding="latin-1")
    report = ingest(path, "customers", db=con, encoding="latin-1")
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT city FROM customers WHERE customer_id = 'B1'") == [("Besançon é",)]


def test_a_line_with_thousands_of_fields_says_how_many(con, tmp_path):
    wide = ",".join(f"v{i}" for i in range(10_004))
    text = events_csv("C1,2024-01-01,chat,chat", wide, "C1,2024-01-02,chat,chat")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    assert rejects(con, report) == [(3, None, "malformed line: too many fields: expected 4, found 10004")]


def test_invalid_utf8_without_declaration_rejects_the_line_not_the_load(con, tmp_path):
    text = b"customer_id,signup_at,city\nB1,2024-01-01,Besan\xe7on\nB2,2024-01-01,Paris\n"
    report = ingest(write(tmp_path, "c.csv", text), "customers", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    (line, column, reason), = rejects(con, report)
    assert (line, column) == (2, None)
    assert reason == ("malformed line: not valid text in the file's encoding (is it another one? try --encoding "
                      "latin-1)")
    assert rows(con, "SELECT customer_id FROM customers WHERE customer_id LIKE 'B%'") == [("B2",)]


def test_unknown_encoding_is_an_input_error(con, tmp_path):
    with pytest.raises(CxInputError, match="unknown encoding 'ebcdic'"):
        ingest(write(tmp_path, "c.csv", CUSTOMERS), "customers", db=con, encoding="ebcdic")


# --- other sources -----------------------------------------------------------------------------


def test_parquet_with_typed_naive_and_zoned_timestamps(con, tmp_path):
    naive = pd.DataFrame({"customer_id": ["C1", "C2"], "ts": pd.to_datetime(["2024-07-01 12:00", "2024-01-15 12:00"]),
                          "touchpoint": ["chat", "checkout"], "channel": ["chat", "web"]})
    naive.to_parquet(tmp_path / "naive.parquet")
    zoned = naive.assign(ts=naive.ts.dt.tz_localize("Europe/Berlin"), touchpoint=["phone_call", "home_page"])
    zoned.to_parquet(tmp_path / "zoned.parquet")
    report = ingest(tmp_path / "naive.parquet", "events", db=con, timezone="UTC")
    check_counts(con, report, read=2, loaded=2, rejected=0)
    report = ingest(tmp_path / "zoned.parquet", "events", db=con)
    check_counts(con, report, read=2, loaded=2, rejected=0)
    assert rows(con, "SELECT touchpoint, ts FROM events ORDER BY touchpoint") == [
        ("chat", datetime(2024, 7, 1, 12)), ("checkout", datetime(2024, 1, 15, 12)),
        ("home_page", datetime(2024, 1, 15, 11)), ("phone_call", datetime(2024, 7, 1, 10))]


def test_parquet_bad_rows_are_rejected_with_their_row_number(con, tmp_path):
    pd.DataFrame({"order_id": ["o1", "o2", "o3"], "customer_id": ["C1", "C1", "C404"],
                  "ts": pd.to_datetime(["2024-01-01"] * 3), "amount": [1.0, -2.0, 3.0]}).to_parquet(tmp_path / "o.parquet")
    report = ingest(tmp_path / "o.parquet", "orders", db=con)
    check_counts(con, report, read=3, loaded=1, rejected=2)
    assert rejects(con, report) == [(3, "amount", "amount below 0: -2.0"),
                                    (4, "customer_id", "unknown customer_id C404: load its customer first")]


def test_dataframe_input_loads_and_is_not_mutated(con, tmp_path):
    df = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["C1", "C2"],
                       "ts": pd.to_datetime(["2024-03-01 08:00", "2024-03-02 09:30"]), "amount": [10.0, float("nan")],
                       "channel": ["web", None]})
    copy = df.copy()
    # an unread result on the connection must not get in the way (DuckDB 2 refuses register() then)
    con.execute("SELECT * FROM range(10)").fetchone()
    report = ingest(df, "orders", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(3, "amount", "missing amount")]
    assert rows(con, "SELECT order_id, customer_id, ts, amount, channel FROM orders") == [
        ("o1", "C1", datetime(2024, 3, 1, 8), 10.0, "web")]
    assert rows(con, f"SELECT source FROM load_log WHERE load_id = {report.load_id}") == [("DataFrame",)]
    pd.testing.assert_frame_equal(df, copy)
    # the DataFrame is not left registered on the caller's connection
    assert not rows(con, "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '_cx_df_%'")[0][0]


def test_missing_file_and_unknown_suffix_are_input_errors(con, tmp_path):
    with pytest.raises(CxInputError, match="no such file"):
        ingest(tmp_path / "nope.csv", "events", db=con)
    with pytest.raises(CxInputError, match="unknown file type"):
        ingest(write(tmp_path, "e.xlsx", "x"), "events", db=con)


# --- customers' attributes, the stage map, derived tables --------------------------------------


def test_customer_extra_attributes_become_text_columns(con, tmp_path):
    text = "customer_id,signup_at,Region,plan\nB1,2024-01-01,north,pro\nB2,2024-01-01,,basic\n"
    report = ingest(write(tmp_path, "c.csv", text), "customers", db=con)
    check_counts(con, report, read=2, loaded=2, rejected=0)
    assert cxlib.store.table_columns(con, "customers") == ["customer_id", "signup_at", "Region", "plan"]
    assert rows(con, "SELECT customer_id, Region, plan FROM customers ORDER BY 1") == [
        ("02134", None, None), ("B1", "north", "pro"), ("B2", None, "basic"), ("C1", None, None), ("C2", None, None)]
    types = dict(rows(con, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customers'"))
    assert types["Region"] == types["plan"] == "VARCHAR"


def test_customer_attribute_names_starting_with_underscore_are_refused(con, tmp_path):
    before = snapshot(con)
    with pytest.raises(CxDataError, match=r"may not start with '_': \['_rn'\]"):
        ingest(write(tmp_path, "c.csv", "customer_id,signup_at,_rn\nB1,2024-01-01,x\n"), "customers", db=con)
    assert snapshot(con) == before


def test_stage_map_load_replaces_the_map_and_refreshes_events_ordered(con, tmp_path):
    ingest(write(tmp_path, "e.csv", events_csv("C1,2024-01-01 10:00,chat,chat", "C1,2024-01-01 11:00,Checkout,web",
                                               "C1,2024-01-01 12:00,review_written,web")), "events", db=con)
    assert rows(con, "SELECT seq, touchpoint, stage FROM events_ordered ORDER BY seq") == [
        (1, "chat", "service"), (2, "Checkout", "unmapped"), (3, "review_written", "unmapped")]
    text = "touchpoint,stage\nchat,Service\nCheckout,purchase\nreview_written,loyalty\nfoo,advocacy\n"
    report = ingest(write(tmp_path, "m.csv", text), "touchpoint_stages", db=con)
    check_counts(con, report, read=4, loaded=3, rejected=1)
    assert rejects(con, report) == [
        (5, "stage", "stage not one of awareness/consideration/purchase/service/loyalty: advocacy")]
    # replace semantics: the old entries for phone_call, checkout, home_page are gone
    assert rows(con, "SELECT touchpoint, stage FROM touchpoint_stages ORDER BY 1") == [
        ("Checkout", "purchase"), ("chat", "service"), ("review_written", "loyalty")]
    assert rows(con, "SELECT seq, touchpoint, stage FROM events_ordered ORDER BY seq") == [
        (1, "chat", "service"), (2, "Checkout", "purchase"), (3, "review_written", "loyalty")]


def test_events_ordered_is_refreshed_after_each_events_load(con, tmp_path):
    ingest(write(tmp_path, "e1.csv", events_csv("C1,2024-01-01 10:00,chat,chat", "C1,2024-01-01 12:00,checkout,web")),
           "events", db=con)
    ingest(write(tmp_path, "e2.csv", events_csv("C1,2024-01-01 11:00,phone_call,phone")), "events", db=con)
    assert rows(con, """SELECT seq, touchpoint, prev_touchpoint, next_touchpoint, prev_ts, next_channel
                        FROM events_ordered ORDER BY seq""") == [
        (1, "chat", None, "phone_call", None, "phone"),
        (2, "phone_call", "chat", "checkout", datetime(2024, 1, 1, 10), "web"),
        (3, "checkout", "phone_call", None, datetime(2024, 1, 1, 11), None)]


# --- failures leave the store exactly as it was ------------------------------------------------


@pytest.mark.parametrize("step", ["build_typed", "_write", "refresh_derived"])
def test_failure_mid_load_leaves_the_store_exactly_as_it_was(con, tmp_path, monkeypatch, step):
    ingest(write(tmp_path, "e0.csv", events_csv("C1,2024-01-01,chat,chat")), "events", db=con)
    before = snapshot(con)
    real = getattr(ingest_mod, step)

    def fail_after(*args, **kwargs):
        real(*args, **kwargs)  # the step has written its part when the failure strikes
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_mod, step, fail_after)
    path = write(tmp_path, "e.csv", events_csv("C1,2024-01-02,checkout,web", "C2,2024-01-03,phone_call,phone",
                                               "C9,2024-01-03,phone_call,phone"))
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(path, "events", db=con)
    assert snapshot(con) == before
    monkeypatch.undo()
    report = ingest(path, "events", db=con)  # and the connection is usable afterwards
    check_counts(con, report, read=3, loaded=2, rejected=1)


def test_failure_in_a_new_attribute_column_leaves_customers_unchanged(con, tmp_path, monkeypatch):
    before = snapshot(con)
    monkeypatch.setattr(ingest_mod, "_write", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        ingest(write(tmp_path, "c.csv", "customer_id,signup_at,tier\nB1,2024-01-01,gold\n"), "customers", db=con)
    assert snapshot(con) == before  # the ALTER TABLE ADD COLUMN tier was rolled back too


def test_ingest_by_path_opens_and_closes_its_own_connection(tmp_path):
    db = tmp_path / "own.duckdb"
    report = ingest(write(tmp_path, "c.csv", CUSTOMERS), "customers", db=db)
    assert (report.read, report.loaded, report.rejected) == (3, 3, 0)
    con = duckdb.connect(str(db))  # would raise if ingest had left a read-write connection open
    assert con.execute("SELECT count(*) FROM customers").fetchone() == (3,)
    con.close()


def test_reject_raw_holds_the_source_values_as_json(con, tmp_path):
    report = ingest(write(tmp_path, "o.csv", ORDERS_HEADER + 'o1,C1,2024-01-01,"-5"\n'), "orders", db=con)
    raw = rows(con, f"SELECT raw FROM rejects WHERE load_id = {report.load_id}")[0][0]
    assert json.loads(raw) == {"order_id": "o1", "customer_id": "C1", "ts": "2024-01-01", "amount": "-5"}
    assert str(report).endswith(f"read 1, loaded 0, rejected 1 (see: {report.rejects_query})")


def test_a_rejected_row_does_not_make_a_later_row_with_its_key_a_duplicate(con, tmp_path):
    text = SURVEY_HEADER + ("r1,C1,2024-01-01,nps,11\n"  # rejected: score out of range
                            "r1,C1,2024-01-02,nps,9\n"  # loads: the first good r1
                            "r1,C1,2024-01-03,nps,8\n"  # duplicate of line 3
                            "r2,C1,2024-01-01,ces,8\n"  # rejected by the cross-column rule
                            "r2,C404,2024-01-01,ces,6\n")  # r2's first good row, but an orphan
    report = ingest(write(tmp_path, "s.csv", text), "survey_responses", db=con)
    check_counts(con, report, read=5, loaded=1, rejected=4)
    assert rejects(con, report) == [
        (2, "score", "score out of range for its metric (nps 0-10, csat 1-5, ces 1-7)"),
        (4, "response_id", "duplicate key: repeats an earlier row of this load"),
        (5, "score", "score out of range for its metric (nps 0-10, csat 1-5, ces 1-7)"),
        (6, "customer_id", "unknown customer_id C404: load its customer first"),
    ]
    assert rows(con, "SELECT response_id, ts, score FROM survey_responses") == [("r1", datetime(2024, 1, 2), 9)]


def test_gzipped_csv_and_utf16(con, tmp_path):
    import gzip

    gz = tmp_path / "o.csv.gz"
    gz.write_bytes(gzip.compress((ORDERS_HEADER + "o1,C1,2024-01-01,5\no2,C1,2024-01-01,x\n").encode()))
    report = ingest(gz, "orders", db=con)
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(3, "amount", "not a number: x")]
    path = write(tmp_path, "c.csv", "customer_id,signup_at,city\nU1,2024-01-01,Kraków\n", encoding="utf-16")
    report = ingest(path, "customers", db=con, encoding="utf-16")
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT city FROM customers WHERE customer_id = 'U1'") == [("Kraków",)]


def test_header_names_match_in_any_case_and_attributes_are_case_insensitive(con, tmp_path):
    first = ingest(write(tmp_path, "c1.csv", "customer_id,signup_at,region\nB1,2024-01-01,north\n"), "customers", db=con)
    check_counts(con, first, read=1, loaded=1, rejected=0)
    second = ingest(write(tmp_path, "c2.csv", "Customer_ID,Signup_At,Region\nB2,2024-01-01,south\n"), "customers", db=con)
    check_counts(con, second, read=1, loaded=1, rejected=0)
    assert cxlib.store.table_columns(con, "customers") == ["customer_id", "signup_at", "region"]
    assert rows(con, "SELECT customer_id, region FROM customers WHERE region IS NOT NULL ORDER BY 1") == [
        ("B1", "north"), ("B2", "south")]
    before = snapshot(con)
    with pytest.raises(CxDataError, match=r"names columns twice: \['Plan', 'plan'\]"):
        ingest(write(tmp_path, "c3.csv", "customer_id,signup_at,Plan,plan\nB3,2024-01-01,a,b\n"), "customers", db=con)
    assert snapshot(con) == before


def test_naive_times_in_a_dst_gap_or_fold_follow_a_fixed_rule(con, tmp_path):
    # Europe/Berlin: 2024-03-31 02:00-03:00 does not exist; 2024-10-27 02:00-03:00 happens twice.
    # Both are read at the standard-time offset (+01:00), as ICU does; the rule is pinned here.
    text = events_csv("C1,2024-03-31 01:59,chat,chat", "C1,2024-03-31 02:30,checkout,web",
                      "C1,2024-03-31 03:00,home_page,web", "C2,2024-10-27 01:59,chat,chat",
                      "C2,2024-10-27 02:30,checkout,web", "C2,2024-10-27 03:00,home_page,web")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, timezone="Europe/Berlin")
    check_counts(con, report, read=6, loaded=6, rejected=0)
    assert rows(con, "SELECT customer_id, touchpoint, ts FROM events ORDER BY customer_id, ts") == [
        ("C1", "chat", datetime(2024, 3, 31, 0, 59)),  # CET
        ("C1", "home_page", datetime(2024, 3, 31, 1, 0)),  # CEST
        ("C1", "checkout", datetime(2024, 3, 31, 1, 30)),  # in the gap: taken as CET, so after 03:00 CEST
        ("C2", "chat", datetime(2024, 10, 26, 23, 59)),  # CEST
        ("C2", "checkout", datetime(2024, 10, 27, 1, 30)),  # in the fold: the second (CET) occurrence
        ("C2", "home_page", datetime(2024, 10, 27, 2, 0)),  # CET
    ]


def test_subscription_ended_before_it_started_is_rejected(con, tmp_path):
    text = ("customer_id,plan,started_at,ended_at\nC1,pro,2024-02-01,2024-01-31\nC1,basic,2024-02-01,\n"
            "C2,pro,2024-02-01,2024-02-01\n")
    report = ingest(write(tmp_path, "sub.csv", text), "subscriptions", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    assert rejects(con, report) == [(2, "ended_at", "ended before it started")]
    assert rows(con, "SELECT customer_id, plan, ended_at FROM subscriptions ORDER BY 1, 2") == [
        ("C1", "basic", None), ("C2", "pro", datetime(2024, 2, 1))]


def test_date_format_with_an_offset_converts_to_utc(con, tmp_path):
    text = events_csv("C1,03/04/2024 10:00 +0200,chat,chat", "C1,03/04/2024 10:00,checkout,web")
    report = ingest(write(tmp_path, "e.csv", text), "events", db=con, date_format="%d/%m/%Y %H:%M %z",
                    timezone="America/New_York")  # the offset in the value wins over the zone
    check_counts(con, report, read=2, loaded=1, rejected=1)
    assert rejects(con, report) == [(3, "ts", "not a timestamp: 03/04/2024 10:00")]
    assert rows(con, "SELECT ts FROM events") == [(datetime(2024, 4, 3, 8),)]


def test_bad_date_format_is_an_input_error_and_zone_names_are_case_insensitive(con, tmp_path):
    path = write(tmp_path, "e.csv", events_csv("C1,2024-07-01 12:00,chat,chat"))
    before = snapshot(con)
    with pytest.raises(CxInputError, match=r"date_format '%Q' is not a strptime format .*e\.g\. '%d/%m/%Y %H:%M'"):
        ingest(path, "events", db=con, date_format="%Q")
    assert snapshot(con) == before
    report = ingest(path, "events", db=con, timezone="europe/berlin")
    check_counts(con, report, read=1, loaded=1, rejected=0)
    assert rows(con, "SELECT ts FROM events") == [(datetime(2024, 7, 1, 10),)]
    assert rows(con, f"SELECT timezone FROM load_log WHERE load_id = {report.load_id}") == [("Europe/Berlin",)]


def test_empty_file_is_a_clear_error(con, tmp_path):
    with pytest.raises(CxDataError, match="is empty or its first line is blank: the first line must name the columns"):
        ingest(write(tmp_path, "e.csv", ""), "events", db=con)


def test_a_line_longer_than_the_limit_is_a_malformed_line(con, tmp_path):
    text = "customer_id,signup_at,note\nB1,2024-01-01,ok\nB2,2024-01-01," + "x" * 3_000_000 + "\nB3,2024-01-01,fine\n"
    report = ingest(write(tmp_path, "c.csv", text), "customers", db=con)
    check_counts(con, report, read=3, loaded=2, rejected=1)
    (line, column, reason), = rejects(con, report)
    assert (line, column, reason) == (3, None, "malformed line: longer than the 2 MB a line may hold")
    assert rows(con, "SELECT customer_id, note FROM customers WHERE note IS NOT NULL ORDER BY 1") == [
        ("B1", "ok"), ("B3", "fine")]


def test_a_database_error_mid_load_is_one_clear_error_and_changes_nothing(con, tmp_path, monkeypatch):
    before = snapshot(con)
    real = ingest_mod._write

    def disk_full(*args, **kwargs):
        real(*args, **kwargs)
        raise duckdb.IOException("IO Error: could not write file: No space left on device\nmore detail")

    monkeypatch.setattr(ingest_mod, "_write", disk_full)
    path = write(tmp_path, "e.csv", events_csv("C1,2024-01-02,checkout,web"))
    with pytest.raises(CxDataError) as err:
        ingest(path, "events", db=con)
    assert str(err.value) == (f"{path} could not be loaded into events: IO Error: could not write file: "
                              "No space left on device. Nothing was loaded.")
    assert err.value.__suppress_context__
    assert snapshot(con) == before


def test_a_dataframe_is_unregistered_when_its_header_is_refused(con):
    with pytest.raises(CxDataError, match="header does not match"):
        ingest(pd.DataFrame({"cust": ["C1"]}), "events", db=con)
    assert not rows(con, "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '_cx_df_%'")[0][0]
