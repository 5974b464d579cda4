"""The documented `cx ingest` commands for real exports, run as a user runs them: a subprocess in
a folder holding the export, the default store (data/cx.duckdb there), the exact summary lines,
exit codes and one-line errors, then what the store holds."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from realdata import data_file

import cxlib

CX = Path(sys.executable).parent / "cx"
PRESETS = ["amplitude", "cdnow", "clickstream", "ga4", "mixpanel", "qualtrics", "segment", "shopify", "stripe",
           "subscriptions-tenure", "surveymonkey", "zendesk"]


def cx(cwd: Path, *args, timeout=300) -> subprocess.CompletedProcess:
    """`cx ARGS` in `cwd`, with no CX_DB/CX_HOME so that the store is cwd/data/cx.duckdb."""
    command = [str(CX)] if CX.exists() else [sys.executable, "-m", "cxlib.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("CX_DB", "CX_HOME")}
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=env, check=False)


def ok(run: subprocess.CompletedProcess, *stdout: str) -> None:
    """Exit 0, nothing on stderr, and exactly these summary lines."""
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    assert run.stdout.splitlines() == list(stdout)


def one_error_line(run, exit_code: int, starts: str) -> str:
    assert run.returncode == exit_code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(starts), lines[0]
    return lines[0]


def query(folder: Path, sql: str) -> list[tuple]:
    con = cxlib.connect(folder / "data" / "cx.duckdb")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


SHOP = ("user_id,event,timestamp\nu1,home,2024-03-01 10:00:00\nu1,Checkout,2024-03-01 10:05:00\n"
        "u2,home,2024-03-02 09:00:00\nu1,home,2024-02-28 08:00:00\n")
SHOP_FLAGS = ["--map", "user_id=customer_id", "--map", "event=touchpoint", "--map", "timestamp=ts", "--set",
              "channel=web"]


def test_clickstream_with_flags_then_again_then_with_the_preset(tmp_path):
    (tmp_path / "shop.csv").write_text(SHOP)
    run = cx(tmp_path, "ingest", "events", "shop.csv", *SHOP_FLAGS, "--add-customers")
    ok(run, "events <- shop.csv: read 4, loaded 4, rejected 0; 2 new customer(s) created from first sight")
    assert query(tmp_path, "SELECT customer_id, signup_at FROM customers ORDER BY 1") == [
        ("u1", datetime(2024, 2, 28, 8)), ("u2", datetime(2024, 3, 2, 9))]
    assert query(tmp_path, "SELECT load_id, customers_added FROM load_log") == [(1, 2)]
    again = cx(tmp_path, "ingest", "events", "shop.csv", *SHOP_FLAGS, "--add-customers")  # a repeat: exit 0
    ok(again, "events <- shop.csv: read 4, loaded 0, rejected 4 (see: SELECT * FROM rejects WHERE load_id = 2 "
              "ORDER BY line)")
    assert query(tmp_path, "SELECT count(*) FROM events") == [(4,)]
    assert query(tmp_path, "SELECT load_id, customers_added FROM load_log ORDER BY 1") == [(1, 2), (2, 0)]

    other = tmp_path / "other"
    other.mkdir()
    (other / "shop.csv").write_text(SHOP)
    ok(cx(other, "ingest", "events", "shop.csv", "--preset", "clickstream"),
       "events <- shop.csv: read 4, loaded 4, rejected 0; 2 new customer(s) created from first sight")
    assert query(other, "SELECT customer_id, ts, touchpoint, channel FROM events ORDER BY ts") == [
        ("u1", datetime(2024, 2, 28, 8), "home", "web"), ("u1", datetime(2024, 3, 1, 10), "home", "web"),
        ("u1", datetime(2024, 3, 1, 10, 5), "checkout", "web"), ("u2", datetime(2024, 3, 2, 9), "home", "web")]


def test_without_add_customers_a_load_of_unknown_customers_exits_1_naming_the_flag(tmp_path):
    (tmp_path / "shop.csv").write_text(SHOP)
    run = cx(tmp_path, "ingest", "events", "shop.csv", *SHOP_FLAGS)
    assert run.returncode == 1
    assert run.stdout.splitlines() == [(
        "events <- shop.csv: read 4, loaded 0, rejected 4 (see: SELECT * FROM rejects WHERE load_id = 1 ORDER BY "
        "line). Every row names a customer_id that is not in the store: load customers first, or pass "
        "--add-customers to create them from first sight")]
    assert run.stderr == "cx: error: 1 of 1 file(s) loaded nothing (see above)\n"
    assert query(tmp_path, "SELECT count(*) FROM customers") == [(0,)]


def test_a_header_error_after_map_lists_the_mapped_columns_and_suggests_set(tmp_path):
    (tmp_path / "shop.csv").write_text(SHOP)
    run = cx(tmp_path, "ingest", "events", "shop.csv", *SHOP_FLAGS[:6], "--add-customers")
    line = one_error_line(run, 1, "cx: error: header does not match table events: missing ['channel']. ")
    assert "found ['user_id', 'event', 'timestamp']; as mapped ['customer_id', 'touchpoint', 'ts']" in line
    assert line.endswith("If every row has the same channel, supply it with --set channel=VALUE. Nothing was loaded.")
    assert run.stdout == ""


QUALTRICS = (
    "StartDate,EndDate,Status,Progress,Finished,ResponseId,ExternalReference,DistributionChannel,Q1,Q2,Q4\n"
    "Start Date,End Date,Response Type,Progress,Finished,Response ID,External Data Reference,Distribution Channel,"
    "How likely are you to recommend us?,Why?,How much do you trust us?\n"
    '"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""status""}",'
    '"{""ImportId"":""progress""}","{""ImportId"":""finished""}","{""ImportId"":""_recordId""}",'
    '"{""ImportId"":""externalDataReference""}","{""ImportId"":""distributionChannel""}","{""ImportId"":""QID1""}",'
    '"{""ImportId"":""QID2_TEXT""}","{""ImportId"":""QID4""}"\n'
    "2024-03-01 10:00:00,2024-03-01 10:03:12,0,100,1,R_1a2b3c,C100,email,9,Fast,8\n"
    "2024-03-02 11:00:00,2024-03-02 11:01:40,0,100,1,R_4d5e6f,C101,email,3,,11\n")


def test_qualtrics_survey_and_cx_rejects(tmp_path):
    (tmp_path / "responses.csv").write_text(QUALTRICS)
    command = ["ingest", "survey_responses", "responses.csv", "--preset", "qualtrics", "--question", "Q1=nps",
               "--question", "Q4=trust", "--metric-scale", "trust=0-10"]
    kept = "kept as properties: StartDate, Status, Progress, Finished, DistributionChannel, Q2"
    ok(cx(tmp_path, *command), "survey_responses <- responses.csv: read 4, loaded 3, rejected 1; 2 new customer(s) "
                               f"created from first sight; {kept} (see: SELECT * FROM rejects WHERE load_id = 1 "
                               "ORDER BY line)")
    assert query(tmp_path, "SELECT response_id, customer_id, metric, score FROM survey_responses ORDER BY 1") == [
        ("R_1a2b3c:nps", "C100", "nps", 9), ("R_1a2b3c:trust", "C100", "trust", 8), ("R_4d5e6f:nps", "C101", "nps", 3)]
    # the same export again: its answers are in the store and its bad answer is as bad as before: exit 0
    ok(cx(tmp_path, *command), f"survey_responses <- responses.csv: read 4, loaded 0, rejected 4; {kept} (see: "
                               "SELECT * FROM rejects WHERE load_id = 2 ORDER BY line)")
    out_of_range = "score out of range for its metric (trust 0-10)"
    load1 = ["load 1: survey_responses <- responses.csv",
             f"         1  score: {out_of_range}",
             f"            e.g. line 5: {out_of_range}"]
    load2 = ["load 2: survey_responses <- responses.csv",
             "         3  response_id: duplicate key",
             "            e.g. line 4: duplicate key: already in the store",
             "            e.g. line 5: duplicate key: already in the store",
             f"         1  score: {out_of_range}",
             f"            e.g. line 5: {out_of_range}"]
    ok(cx(tmp_path, "rejects"), *load1, *load2)
    ok(cx(tmp_path, "rejects", "--load", "2", "--examples", "1"), *load2[:3], *load2[4:])
    ok(cx(tmp_path, "rejects", "--load", "7"), "no rejected rows in load 7")


TELCO = ("customerID,gender,SeniorCitizen,tenure,Contract,MonthlyCharges,Churn\n"
         "7590-VHVEG,Female,0,1,Month-to-month,29.85,No\n"
         "5575-GNVDE,Male,0,34,One year,56.95,No\n"
         "3668-QPYBK,Male,0,2,Month-to-month,53.85,Yes\n")
MIXPANEL = ('{"event":"Signed Up","properties":{"time":1709287200,"distinct_id":"u1","$insert_id":"i1","mp_lib":"web"}}\n'
            "\n"
            '{"event":"Viewed Page","properties":{"time":1709290800,"distinct_id":"u2","$insert_id":"i2",'
            '"mp_lib":"iphone","page":"/pricing"}}\n'
            '{"event":"Viewed Page","properties":\n')
ZENDESK = ("Id,Requester id,Created at,Solved at,Status,Via,Type,Assignee id\n"
           "1001,C1,2024-03-01 09:15,,open,Web Widget,question,900001\n"
           "1002,C2,2024-03-01 10:00,2024-03-01 12:00,solved,Email,problem,900001\n"
           "1003,C3,2024-03-02 08:00,,new,Chat,incident,\n")


def test_the_documented_commands_for_more_export_shapes(tmp_path):
    # CDNOW as the original download has it: no header line
    (tmp_path / "CDNOW_master.txt").write_bytes(b" 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n"
                                                b" 00002 19970112  5   77.00\r\n 00002 19970112  5   77.00\r\n")
    ok(cx(tmp_path, "ingest", "orders", "CDNOW_master.txt", "--preset", "cdnow", "--columns",
          "customer_id,ts,quantity,amount"),
       "orders <- CDNOW_master.txt: read 4, loaded 4, rejected 0; 2 new customer(s) created from first sight; "
       "kept as properties: quantity")
    assert query(tmp_path, "SELECT customer_id, ts, amount FROM orders ORDER BY 1, 3") == [
        ("00001", datetime(1997, 1, 1), 11.77), ("00002", datetime(1997, 1, 12), 12.0),
        ("00002", datetime(1997, 1, 12), 77.0), ("00002", datetime(1997, 1, 12), 77.0)]

    # subscriptions by tenure, then the same file's columns as the customers' segments
    (tmp_path / "telco.csv").write_text(TELCO)
    ok(cx(tmp_path, "ingest", "subscriptions", "telco.csv", "--preset", "subscriptions-tenure", "--as-of", "2024-06-30"),
       "subscriptions <- telco.csv: read 3, loaded 3, rejected 0; 3 new customer(s) created from first sight; "
       "kept as properties: gender, SeniorCitizen, MonthlyCharges")
    ok(cx(tmp_path, "ingest", "customers", "telco.csv", "--map", "customerID=customer_id"),
       "customers <- telco.csv: read 3, loaded 3, rejected 0 (inserted 0, updated 3, unchanged 0)")
    assert query(tmp_path, "SELECT customer_id, signup_at, gender, tenure, Contract, Churn FROM customers "
                           "WHERE customer_id LIKE '%-%' ORDER BY 1") == [
        ("3668-QPYBK", datetime(2024, 4, 30), "Male", "2", "Month-to-month", "Yes"),
        ("5575-GNVDE", datetime(2021, 8, 30), "Male", "34", "One year", "No"),
        ("7590-VHVEG", datetime(2024, 5, 30), "Female", "1", "Month-to-month", "No")]
    assert query(tmp_path, "SELECT customer_id, ended_at FROM subscriptions WHERE ended_at IS NOT NULL") == [
        ("3668-QPYBK", datetime(2024, 6, 30))]

    # a gzipped Mixpanel export whose times are the project's Berlin clock
    (tmp_path / "export.jsonl.gz").write_bytes(gzip.compress(MIXPANEL.encode()))
    ok(cx(tmp_path, "ingest", "events", "export.jsonl.gz", "--preset", "mixpanel", "--timezone", "Europe/Berlin"),
       "events <- export.jsonl.gz: read 3, loaded 2, rejected 1; 2 new customer(s) created from first sight (see: "
       "SELECT * FROM rejects WHERE load_id = 4 ORDER BY line)")
    assert query(tmp_path, "SELECT customer_id, ts, touchpoint, channel, properties->>'page' FROM events ORDER BY ts"
                 ) == [("u1", datetime(2024, 3, 1, 9), "signed up", "web", None),
                       ("u2", datetime(2024, 3, 1, 10), "viewed page", "iphone", "/pricing")]
    assert query(tmp_path, "SELECT line, reason FROM rejects WHERE load_id = 4") == [
        (4, "malformed line: not a JSON object")]

    # a weekly Zendesk re-export: changed tickets replaced, the same export again changes nothing
    (tmp_path / "tickets.csv").write_text(ZENDESK)
    first = ["ingest", "tickets", "tickets.csv", "--preset", "zendesk", "--update"]
    ok(cx(tmp_path, *first), "tickets <- tickets.csv: read 3, loaded 3, rejected 0; 3 new customer(s) created from "
                             "first sight; kept as properties: Status")
    (tmp_path / "tickets.csv").write_text(ZENDESK.replace("1001,C1,2024-03-01 09:15,,open",
                                                          "1001,C1,2024-03-01 09:15,2024-03-04 10:00,solved"))
    ok(cx(tmp_path, *first), "tickets <- tickets.csv: read 3, loaded 3, rejected 0 (inserted 0, updated 1, "
                             "unchanged 2); kept as properties: Status")
    ok(cx(tmp_path, *first), "tickets <- tickets.csv: read 3, loaded 3, rejected 0 (inserted 0, updated 0, "
                             "unchanged 3); kept as properties: Status")
    assert query(tmp_path, "SELECT ticket_id, resolved_at, channel FROM tickets ORDER BY 1") == [
        ("1001", datetime(2024, 3, 4, 10), "web widget"), ("1002", datetime(2024, 3, 1, 12), "email"),
        ("1003", None, "chat")]
    assert query(tmp_path, "SELECT key, previous->>'resolved_at', previous->'properties'->>'Status' FROM history "
                           "WHERE table_name = 'tickets'") == [("1001", None, "open")]
    assert query(tmp_path, "SELECT inserted, updated, unchanged FROM load_log WHERE table_name = 'tickets' "
                           "ORDER BY load_id") == [(3, 0, 0), (0, 1, 2), (0, 0, 3)]


def test_presets_are_listed_a_misspelt_one_is_named_and_a_users_own_file_works(tmp_path):
    run = cx(tmp_path, "presets")
    assert run.returncode == 0
    listed = [line.split(" (")[0] for line in run.stdout.splitlines() if line and not line.startswith("Preset files:")]
    assert listed == PRESETS
    assert "clickstream (events): A generic clickstream" in run.stdout

    (tmp_path / "shop.csv").write_text(SHOP)
    bad = cx(tmp_path, "ingest", "events", "shop.csv", "--preset", "clikstream")
    one_error_line(bad, 2, "cx: error: no preset 'clikstream'; did you mean 'clickstream'? Shipped presets: amplitude,")

    (tmp_path / "shop.yml").write_text("description: our shop's click log\ntable: events\nmapping:\n"
                                       "  user_id: customer_id\n  event: touchpoint\n  timestamp: ts\n"
                                       "constants:\n  channel: app\nadd_customers: true\nlowercase: true\n")
    ok(cx(tmp_path, "ingest", "events", "shop.csv", "--preset", "shop.yml"),
       "events <- shop.csv: read 4, loaded 4, rejected 0; 2 new customer(s) created from first sight")
    assert query(tmp_path, "SELECT DISTINCT touchpoint, channel FROM events ORDER BY 1") == [("checkout", "app"),
                                                                                           ("home", "app")]


def test_a_real_clickstream_with_repeated_events_loads_and_reloads_with_exit_0(tmp_path):
    path = data_file("ecom")  # retentioneering's e-commerce clickstream: 31,106 rows, 30 repeat an earlier event
    flags = [*SHOP_FLAGS, "--add-customers", "--lowercase"]
    first = cx(tmp_path, "ingest", "events", path, *flags)
    ok(first, f"events <- {path}: read 31,106, loaded 31,076, rejected 30; 600 new customer(s) created from first "
              "sight; kept as properties: platform, acquisition_channel, user_cohort, user_lifecycle (see: SELECT * "
              "FROM rejects WHERE load_id = 1 ORDER BY line)")
    again = cx(tmp_path, "ingest", "events", path, *flags)
    ok(again, f"events <- {path}: read 31,106, loaded 0, rejected 31,106; kept as properties: platform, "
              "acquisition_channel, user_cohort, user_lifecycle (see: SELECT * FROM rejects WHERE load_id = 2 ORDER "
              "BY line)")
    assert query(tmp_path, "SELECT count(*), count(DISTINCT customer_id) FROM events") == [(31_076, 600)]


@pytest.mark.parametrize("strict", [False, True])
def test_a_load_with_some_rejects_exits_0_unless_strict(tmp_path, strict):
    (tmp_path / "o.csv").write_text("customer_id,ts,amount\nC1,2024-01-01,5\nC1,2024-01-02,-5\n")
    run = cx(tmp_path, "ingest", "orders", "o.csv", "--add-customers", *(["--strict"] if strict else []))
    assert run.returncode == (1 if strict else 0)
    assert run.stdout.splitlines() == [("orders <- o.csv: read 2, loaded 1, rejected 1; 1 new customer(s) created from "
                                        "first sight (see: SELECT * FROM rejects WHERE load_id = 1 ORDER BY line)")]
