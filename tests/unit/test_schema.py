"""The canonical schema: every table of docs/contract.md with its columns, types and keys; the stage map."""

from __future__ import annotations

import csv
from datetime import datetime

import duckdb
import pytest

import cxlib
from cxlib.errors import CxInputError
from cxlib.store import connection as store
from cxlib.store import schema

# The canonical schema (docs/contract.md), written out by hand (not derived from cxlib.store.schema) so that a
# change to the schema module that breaks the contract fails here.
EXPECTED = {
    "customers": {"customer_id": "VARCHAR", "signup_at": "TIMESTAMP"},
    "events": {"customer_id": "VARCHAR", "ts": "TIMESTAMP", "touchpoint": "VARCHAR", "channel": "VARCHAR",
               "session_id": "VARCHAR", "properties": "JSON"},
    "touchpoint_stages": {"touchpoint": "VARCHAR", "stage": "VARCHAR"},
    "survey_responses": {"response_id": "VARCHAR", "customer_id": "VARCHAR", "ts": "TIMESTAMP", "metric": "VARCHAR",
                         "score": "INTEGER", "touchpoint": "VARCHAR", "channel": "VARCHAR", "comment": "VARCHAR",
                         "properties": "JSON"},
    "orders": {"order_id": "VARCHAR", "customer_id": "VARCHAR", "ts": "TIMESTAMP", "amount": "DOUBLE",
               "channel": "VARCHAR", "properties": "JSON"},
    "tickets": {"ticket_id": "VARCHAR", "customer_id": "VARCHAR", "opened_at": "TIMESTAMP",
                "resolved_at": "TIMESTAMP", "channel": "VARCHAR", "category": "VARCHAR", "agent_id": "VARCHAR",
                "contacts": "INTEGER", "reopened": "BOOLEAN", "properties": "JSON"},
    "subscriptions": {"customer_id": "VARCHAR", "plan": "VARCHAR", "started_at": "TIMESTAMP",
                      "ended_at": "TIMESTAMP", "properties": "JSON"},
    "load_log": {"load_id": "INTEGER", "table_name": "VARCHAR", "source": "VARCHAR", "started_at": "TIMESTAMP",
                 "finished_at": "TIMESTAMP", "read": "BIGINT", "loaded": "BIGINT", "rejected": "BIGINT",
                 "timezone": "VARCHAR", "date_format": "VARCHAR", "inserted": "BIGINT", "updated": "BIGINT",
                 "unchanged": "BIGINT", "customers_added": "BIGINT", "options": "JSON"},
    "rejects": {"load_id": "INTEGER", "table_name": "VARCHAR", "source": "VARCHAR", "line": "BIGINT",
                "column_name": "VARCHAR", "reason": "VARCHAR", "raw": "VARCHAR"},
    "history": {"load_id": "INTEGER", "table_name": "VARCHAR", "key": "VARCHAR", "replaced_at": "TIMESTAMP",
                "previous": "JSON"},
    "added_customers": {"customer_id": "VARCHAR", "load_id": "INTEGER"},
    "first_sight": {"customer_id": "VARCHAR"},
    "survey_metrics": {"metric": "VARCHAR", "scale_min": "INTEGER", "scale_max": "INTEGER"},
    "personal_columns": {"column_name": "VARCHAR"},
    "events_ordered": {"customer_id": "VARCHAR", "ts": "TIMESTAMP", "touchpoint": "VARCHAR", "channel": "VARCHAR",
                       "session_id": "VARCHAR", "stage": "VARCHAR", "seq": "BIGINT", "prev_touchpoint": "VARCHAR",
                       "prev_channel": "VARCHAR", "prev_ts": "TIMESTAMP", "next_touchpoint": "VARCHAR",
                       "next_channel": "VARCHAR", "next_ts": "TIMESTAMP", "cid": "BIGINT", "next_stage": "VARCHAR",
                       "first_pair": "BOOLEAN", "first_stage_pair": "BOOLEAN", "first_source": "BOOLEAN",
                       "first_stage_source": "BOOLEAN"},
    "customer_keys": {"customer_id": "VARCHAR", "cid": "BIGINT"},
    "customer_activity": {"cid": "BIGINT", "period": "VARCHAR", "p": "TIMESTAMP", "first_ts": "TIMESTAMP"},
}
# The touchpoints of the shipped map (the sample data's touchpoints), by stage.
SHIPPED_STAGES = {
    "awareness": {"ad_click", "social_post", "email_open"},
    "consideration": {"home_page", "product_page", "compare", "reviews"},
    "purchase": {"add_to_cart", "checkout", "payment"},
    "service": {"help_center", "chat", "phone_call", "email_support", "store_visit", "delivery"},
    "loyalty": {"app_login", "review_written", "referral", "newsletter"},
}


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "s.duckdb", read_only=False)
    yield con
    con.close()


def columns(con, table: str) -> dict[str, str]:
    return dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall())


def test_every_table_exists_with_its_columns_and_types_in_order(con):
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == set(EXPECTED)
    for table, expected in EXPECTED.items():
        got = columns(con, table)
        assert list(got.items()) == list(expected.items()), table


def test_schema_module_lists_the_design_tables_and_load_order():
    assert set(schema.TABLES) == set(EXPECTED) - {"load_log", "rejects", "events_ordered", "history",
                                                  "customer_keys", "customer_activity", "added_customers", "first_sight", "survey_metrics",
                                                  "personal_columns"}
    assert sorted(schema.LOAD_ORDER) == sorted(schema.TABLES)
    assert schema.LOAD_ORDER[0] == "customers"
    assert schema.SURVEY_METRICS == {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    assert schema.STAGES == ("awareness", "consideration", "purchase", "service", "loyalty")
    for t in schema.TABLES.values():  # every table and column is documented or self-explanatory
        assert t.doc
        assert set(t.key) <= set(t.names)


@pytest.mark.parametrize("table, row, dup", [
    ("customers", "('C1', TIMESTAMP '2024-01-01')", "('C1', TIMESTAMP '2025-01-01')"),
    ("orders", "('o1', 'C1', TIMESTAMP '2024-01-01', 1.0, 'web', NULL)",
     "('o1', 'C2', TIMESTAMP '2024-01-02', 2.0, NULL, NULL)"),
    ("survey_responses", "('r1', 'C1', TIMESTAMP '2024-01-01', 'nps', 9, NULL, NULL, NULL, NULL)",
     "('r1', 'C1', TIMESTAMP '2024-01-01', 'csat', 4, NULL, NULL, NULL, NULL)"),
    ("tickets", "('t1', 'C1', TIMESTAMP '2024-01-01', NULL, 'chat', NULL, NULL, NULL, NULL, NULL)",
     "('t1', 'C2', TIMESTAMP '2024-01-01', NULL, 'chat', NULL, NULL, NULL, NULL, NULL)"),
    ("subscriptions", "('C1', 'pro', TIMESTAMP '2024-01-01', NULL, NULL)",
     "('C1', 'pro', TIMESTAMP '2024-01-01', NULL, NULL)"),
    ("touchpoint_stages", "('zz_new', 'service')", "('zz_new', 'loyalty')"),
])
def test_primary_keys_refuse_a_second_row_with_the_same_key(con, table, row, dup):
    con.execute(f"INSERT INTO {table} VALUES {row}")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO {table} VALUES {dup}")


@pytest.mark.parametrize("table, row", [
    ("customers", "(NULL, TIMESTAMP '2024-01-01')"),
    ("events", "('C1', NULL, 'chat', 'chat', NULL, NULL)"),
    ("survey_responses", "('r1', 'C1', TIMESTAMP '2024-01-01', 'nps', NULL, NULL, NULL, NULL, NULL)"),
    ("orders", "('o1', 'C1', TIMESTAMP '2024-01-01', NULL, NULL, NULL)"),
])
def test_required_columns_are_not_null(con, table, row):
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO {table} VALUES {row}")


def test_optional_columns_accept_null(con):
    con.execute("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES ('C1', TIMESTAMP '2024-01-01', 'chat', 'chat', NULL)")
    con.execute("INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id, contacts, reopened) VALUES ('t1', 'C1', TIMESTAMP '2024-01-01', NULL, 'chat', NULL, NULL, NULL, NULL)")
    con.execute("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES ('C1', 'pro', TIMESTAMP '2024-01-01', NULL)")
    assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_shipped_stage_map_covers_the_sample_touchpoints_with_valid_stages():
    assert store.STAGE_MAP.parts[-2:] == ("data", "touchpoint_stages.csv")
    with open(store.STAGE_MAP, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["touchpoint", "stage"]
        entries = [(r["touchpoint"], r["stage"]) for r in reader]
    touchpoints = [t for t, _ in entries]
    assert len(touchpoints) == len(set(touchpoints)), "a touchpoint is mapped twice"
    assert {s for _, s in entries} <= set(schema.STAGES)
    by_stage = {}
    for t, s in entries:
        by_stage.setdefault(s, set()).add(t)
    for stage, expected in SHIPPED_STAGES.items():
        assert expected <= by_stage.get(stage, set()), stage


def test_a_new_store_starts_with_the_shipped_stage_map(con):
    with open(store.STAGE_MAP, newline="", encoding="utf-8") as fh:
        shipped = sorted((r["touchpoint"], r["stage"]) for r in csv.DictReader(fh))
    assert sorted(con.execute("SELECT touchpoint, stage FROM touchpoint_stages").fetchall()) == shipped


def test_the_stage_map_is_read_from_the_editable_file_once(tmp_path, monkeypatch):
    edited = tmp_path / "my_stages.csv"
    edited.write_text("touchpoint,stage\nkiosk,purchase\nchat,service\n")
    monkeypatch.setattr(store, "STAGE_MAP", edited)
    path = tmp_path / "m.duckdb"
    con = cxlib.connect(path, read_only=False)
    assert sorted(con.execute("SELECT * FROM touchpoint_stages").fetchall()) == [("chat", "service"), ("kiosk", "purchase")]
    con.execute("DELETE FROM touchpoint_stages WHERE touchpoint = 'kiosk'")
    con.close()
    con = cxlib.connect(path, read_only=False)  # reopening does not re-seed a map the user has
    assert con.execute("SELECT * FROM touchpoint_stages").fetchall() == [("chat", "service")]
    con.close()


def test_events_ordered_sequence_neighbours_and_deterministic_ties(con):
    con.execute("""INSERT INTO touchpoint_stages VALUES ('zz_a', 'awareness') ON CONFLICT DO NOTHING""")
    con.execute("""INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES
        ('C1', TIMESTAMP '2024-01-01 10:00', 'zz_b', 'web', NULL),
        ('C1', TIMESTAMP '2024-01-01 10:00', 'zz_a', 'web', 's1'),
        ('C1', TIMESTAMP '2024-01-01 09:00', 'zz_c', 'app', NULL),
        ('C2', TIMESTAMP '2024-01-01 08:00', 'zz_a', 'web', NULL)""")
    store.refresh_derived(con)
    got = con.execute("""SELECT customer_id, seq, touchpoint, stage, prev_touchpoint, prev_channel, prev_ts,
                                next_touchpoint, next_channel, next_ts, session_id
                         FROM events_ordered ORDER BY customer_id, seq""").fetchall()
    t9, t10 = datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 10)
    assert got == [
        ("C1", 1, "zz_c", "unmapped", None, None, None, "zz_a", "web", t10, None),
        ("C1", 2, "zz_a", "awareness", "zz_c", "app", t9, "zz_b", "web", t10, "s1"),  # tie on ts: by touchpoint
        ("C1", 3, "zz_b", "unmapped", "zz_a", "web", t10, None, None, None, None),
        ("C2", 1, "zz_a", "awareness", None, None, None, None, None, None, None),
    ]


def test_unknown_table_name_suggests_the_right_one():
    with pytest.raises(CxInputError, match="table 'survey' not in the schema.*Available: customers, events, orders, "
                                           "subscriptions, survey_responses, tickets, touchpoint_stages$"):
        schema.table("survey")
    with pytest.raises(CxInputError, match="did you mean 'tickets'"):
        schema.table("tickts")
