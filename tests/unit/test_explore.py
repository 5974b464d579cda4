"""Filtered store views, drill-down and `cx lab`, on a hand-made store with known rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import cxlib
from cxlib.errors import CxDataError, CxInputError
from cxlib.explore import (
    Filters,
    attribute_columns,
    attribute_values,
    drilldown_customers,
    drilldown_sql,
    drop_segment,
    filter_choices,
    filtered,
    save_segment,
    saved_segments,
)
from cxlib.store import refresh_derived

T = dt.datetime


@pytest.fixture()
def tiny_db(tmp_path):
    """Three customers: a (north, app-heavy), b (south), c (region blank)."""
    path = tmp_path / "t.duckdb"
    con = cxlib.connect(path, read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.execute("ALTER TABLE customers ADD COLUMN plan VARCHAR")
    con.execute(
        "INSERT INTO customers VALUES ('a', '2025-01-01', 'north', 'basic'), ('b', '2025-01-01', 'south', 'pro'),"
        " ('c', '2025-01-01', NULL, 'basic')"
    )
    con.execute(
        """INSERT INTO touchpoint_stages VALUES ('home_page', 'consideration'), ('checkout', 'purchase'),
           ('payment', 'purchase'), ('chat', 'service'), ('phone_call', 'service')
           ON CONFLICT DO NOTHING"""
    )
    con.execute(
        """INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES
        ('a', '2025-01-02 10:00', 'home_page', 'web', NULL),
        ('a', '2025-01-03 10:00', 'checkout', 'app', NULL),
        ('a', '2025-01-03 10:05', 'payment', 'app', NULL),
        ('a', '2025-02-01 09:00', 'chat', 'chat', NULL),
        ('b', '2025-01-05 12:00', 'checkout', 'web', NULL),
        ('b', '2025-01-06 12:00', 'payment', 'web', NULL),
        ('c', '2025-03-01 08:00', 'home_page', 'app', NULL)"""
    )
    con.execute(
        """INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES
        ('r1', 'a', '2025-01-04', 'nps', 10, NULL, NULL, 'Great app'),
        ('r2', 'b', '2025-01-07', 'nps', 3, NULL, NULL, 'I was charged twice, refund please!'),
        ('r3', 'b', '2025-01-06', 'csat', 2, 'checkout', 'web', 'Billing page broken'),
        ('r4', 'a', '2025-01-03', 'csat', 5, 'checkout', 'app', NULL),
        ('r5', 'c', '2025-03-02', 'nps', 8, NULL, NULL, 'billed ok')"""
    )
    con.execute(
        """INSERT INTO orders (order_id, customer_id, ts, amount, channel) VALUES ('o1', 'a', '2025-01-03 10:05', 20.0, 'app'), ('o2', 'b', '2025-01-06 12:00', 35.5, 'web'),
           ('o3', 'b', '2025-02-10', 5.0, NULL)"""
    )
    con.execute(
        """INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, agent_id, contacts, reopened) VALUES ('t1', 'a', '2025-02-01 09:00', '2025-02-05 09:00', 'chat', 'billing', NULL, 2, false),
           ('t2', 'b', '2025-01-20', NULL, 'phone', 'delivery', NULL, 1, NULL)"""
    )
    con.execute("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES ('a', 'basic', '2025-01-01', NULL), ('b', 'pro', '2025-01-01', '2025-02-15')")
    refresh_derived(con)
    con.close()
    return path


@pytest.fixture()
def tiny(tiny_db):
    con = cxlib.connect(tiny_db)
    yield con
    con.close()


def ids(con, table, col="customer_id"):
    return sorted(r[0] for r in con.execute(f"SELECT {col} FROM {table}").fetchall())


# ----------------------------------------------------------------- Filters value


def test_filters_normalises_and_validates():
    f = Filters(start=dt.date(2025, 1, 1), end="2025-02-01", values=None)
    assert (f.start, f.end, f.values) == ("2025-01-01", "2025-02-01", ())
    assert Filters(attribute="region", values="north").values == ("north",)
    assert Filters(attribute="region", values=["n", "n", 1]).values == ("n", "1")
    assert Filters(channel="").channel is None
    assert Filters() == Filters() and hash(Filters(channel="web")) == hash(Filters(channel="web"))
    assert Filters(start="2025-02-01", end="2025-02-01").end == "2025-02-01"  # one day: both ends included
    with pytest.raises(CxInputError, match="on or before end"):
        Filters(start="2025-02-02", end="2025-02-01")
    with pytest.raises(CxInputError, match="YYYY-MM-DD"):
        Filters(start="01/02/2025")
    with pytest.raises(CxInputError, match="without an attribute"):
        Filters(values=["north"])
    with pytest.raises(CxInputError, match="channel must be text"):
        Filters(channel=3)


def test_filters_kwargs_and_description():
    f = Filters(start="2025-01-01", attribute="region", values=["north"], channel="app")
    assert f.as_kwargs() == {"start": "2025-01-01", "end": None}
    assert f.as_kwargs(by=True) == {"start": "2025-01-01", "end": None, "by": "region"}
    assert f.describe() == "from 2025-01-01, region in north, channel app"
    assert Filters(start="2025-01-01", end="2025-01-31").describe() == "2025-01-01 to 2025-01-31"
    assert Filters(end="2025-01-31").describe() == "up to 2025-01-31"
    # a metric function given the date-only end includes that day too
    assert Filters(end="2025-01-31").as_kwargs() == {"start": None, "end": "2025-01-31"}
    assert Filters().describe() == "all data" and Filters().is_empty
    assert Filters(attribute="region").is_empty  # a breakdown, not a restriction
    assert f.replace(channel=None).channel is None and f.channel == "app"


# ----------------------------------------------------------------- filtered views


def test_no_filter_sees_everything(tiny):
    with filtered(tiny, Filters()) as fs:
        for table in ("customers", "events", "events_ordered", "survey_responses", "orders", "tickets", "subscriptions"):
            got = fs.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            want = tiny.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert got == want, table
        assert fs.con.execute("SELECT * FROM events_ordered ORDER BY customer_id, seq").df().equals(
            tiny.execute("SELECT * FROM events_ordered ORDER BY customer_id, seq").df()
        )


def test_attribute_filter_restricts_every_table_to_the_customers(tiny):
    with filtered(tiny, Filters(attribute="region", values=["north"])) as fs:
        for table in ("customers", "events", "events_ordered", "survey_responses", "orders", "tickets", "subscriptions"):
            assert set(ids(fs.con, table)) == {"a"}, table
        # blank attribute values never match; several values are an OR
    with filtered(tiny, Filters(attribute="region", values=["north", "south"])) as fs:
        assert ids(fs.con, "customers") == ["a", "b"]
    # the notebook's own connection is unchanged
    assert ids(tiny, "customers") == ["a", "b", "c"]


def test_date_range_includes_the_start_and_end_days_per_table(tiny):
    with filtered(tiny, Filters(start="2025-01-03", end="2025-01-05")) as fs:
        ev = fs.con.execute("SELECT customer_id, touchpoint FROM events ORDER BY ts").fetchall()
        # b's checkout at 12:00 on the 5th, the end day, is inside; b's payment on the 6th is not
        assert ev == [("a", "checkout"), ("a", "payment"), ("b", "checkout")]
        assert ids(fs.con, "survey_responses", "response_id") == ["r1", "r4"]  # r3 is on the 6th: excluded
        assert ids(fs.con, "orders", "order_id") == ["o1"]
        assert ids(fs.con, "tickets", "ticket_id") == []  # tickets by opened_at
        assert ids(fs.con, "customers") == ["a", "b", "c"]  # customers are not dated
        assert ids(fs.con, "subscriptions") == ["a", "b"]
    with filtered(tiny, Filters(start="2025-01-20", end="2025-01-20")) as fs:  # one day
        assert ids(fs.con, "tickets", "ticket_id") == ["t2"]  # opened at midnight of that day
        assert ids(fs.con, "events") == []


def test_a_row_on_the_end_day_is_inside_the_filter(tiny):
    """`end` is the last day included, as a metric function's date-only end: the rows of that day count."""
    with filtered(tiny, Filters(end="2025-01-06")) as fs:
        assert ids(fs.con, "survey_responses", "response_id") == ["r1", "r3", "r4"]  # r3: 2025-01-06 00:00
        assert ids(fs.con, "orders", "order_id") == ["o1", "o2"]  # o2: 2025-01-06 12:00
        last = fs.con.execute("SELECT max(ts) FROM events").fetchone()[0]
        assert last == T(2025, 1, 6, 12, 0)
        assert fs.con.execute("SELECT max(ts) FROM events_ordered").fetchone()[0] == last
        # the same day as a metric function counts it: the filter and the function agree
        assert cxlib.csat(fs.con, min_group_size=1, **fs.filters.as_kwargs())["n"].tolist() == [2]
        assert cxlib.csat(tiny, min_group_size=1, **fs.filters.as_kwargs())["n"].tolist() == [2]


def test_channel_and_touchpoint_apply_to_tables_that_carry_them(tiny):
    with filtered(tiny, Filters(channel="app")) as fs:
        assert fs.con.execute("SELECT count(*) FROM events").fetchone()[0] == 3
        assert ids(fs.con, "survey_responses", "response_id") == ["r4"]  # blank channel never matches
        assert ids(fs.con, "orders", "order_id") == ["o1"]
        assert ids(fs.con, "tickets", "ticket_id") == []
    with filtered(tiny, Filters(touchpoint="checkout")) as fs:
        assert ids(fs.con, "events") == ["a", "b"]
        assert ids(fs.con, "survey_responses", "response_id") == ["r3", "r4"]
        assert ids(fs.con, "orders", "order_id") == ["o1", "o2", "o3"]  # orders carry no touchpoint


def test_events_ordered_is_rebuilt_over_the_filtered_events(tiny):
    with filtered(tiny, Filters(channel="app")) as fs:
        df = fs.con.execute(
            "SELECT customer_id, touchpoint, seq, prev_touchpoint, next_touchpoint, stage FROM events_ordered"
            " ORDER BY customer_id, seq"
        ).df()
    assert df.values.tolist() == [
        ["a", "checkout", 1, None, "payment", "purchase"],
        ["a", "payment", 2, "checkout", None, "purchase"],
        ["c", "home_page", 1, None, None, "consideration"],
    ]
    # same columns, same order as the stored table
    assert list(df.columns) == ["customer_id", "touchpoint", "seq", "prev_touchpoint", "next_touchpoint", "stage"]
    with filtered(tiny, Filters(channel="app")) as fs:
        assert fs.con.execute("SELECT * FROM events_ordered LIMIT 0").df().columns.tolist() == (
            tiny.execute("SELECT * FROM events_ordered LIMIT 0").df().columns.tolist()
        )


def test_values_are_bound_not_pasted(tiny):
    evil = "north') OR TRUE OR ('x"
    with filtered(tiny, Filters(attribute="region", values=[evil])) as fs:
        assert ids(fs.con, "customers") == []
        assert evil not in "".join(fs.views.values())
        assert fs.variables["cx_values"] == [evil]


def test_filter_names_are_checked_with_suggestions(tiny):
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        filtered(tiny, Filters(attribute="regon", values=["north"]))
    with pytest.raises(CxInputError, match="not in customers"):
        filtered(tiny, Filters(attribute="customer_id", values=["a"]))
    with pytest.raises(CxInputError, match="did you mean 'app'"):
        filtered(tiny, Filters(channel="ap"))
    with pytest.raises(CxInputError, match="did you mean 'checkout'"):
        filtered(tiny, Filters(touchpoint="chekout"))
    with pytest.raises(CxInputError, match="Filters"):
        filtered(tiny, {"channel": "app"})
    # check=False trusts the caller (the panel's menus): an absent channel gives empty tables
    with filtered(tiny, Filters(channel="fax"), check=False) as fs:
        assert fs.con.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_a_store_without_the_tables_says_so():
    con = duckdb.connect()
    try:
        with pytest.raises(CxDataError, match="lacks a table"):
            filtered(con, Filters())
    finally:
        con.close()


def test_two_filtered_stores_do_not_interfere(tiny):
    a = filtered(tiny, Filters(channel="app"))
    b = filtered(tiny, Filters(channel="web"))
    try:
        assert a.con.execute("SELECT count(*) FROM events").fetchone()[0] == 3
        assert b.con.execute("SELECT count(*) FROM events").fetchone()[0] == 3
        assert {r[0] for r in b.con.execute("SELECT DISTINCT channel FROM events").fetchall()} == {"web"}
    finally:
        a.close()
        b.close()


def test_choices_and_attribute_values(tiny):
    assert attribute_columns(tiny) == ["region", "plan"]
    assert filter_choices(tiny) == {
        "channel": ["app", "chat", "web"],
        "touchpoint": ["chat", "checkout", "home_page", "payment"],
    }
    vals = attribute_values(tiny, "plan")
    assert vals.values.tolist() == [["basic", 2], ["pro", 1]]
    assert attribute_values(tiny, "region")["value"].tolist() == ["north", "south", None]
    assert attribute_values(tiny, "region", limit=1)["value"].tolist() == ["north"]
    with pytest.raises(CxInputError, match="limit"):
        attribute_values(tiny, "region", limit=0)


def test_metric_function_runs_unchanged_on_filtered_store(tiny):
    # a hand-computed NPS: north = {10} -> 100; all = {10, 3, 8} -> (1-1)/3 = 0
    query = ("SELECT 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(*)"
             " FROM survey_responses WHERE metric = 'nps'")
    assert tiny.execute(query).fetchone()[0] == 0
    with filtered(tiny, Filters(attribute="region", values=["north"])) as fs:
        assert fs.con.execute(query).fetchone()[0] == 100
    # the team's nps() reads the filtered views without knowing about them
    with filtered(tiny, Filters(attribute="region", values=["south"])) as fs:
        assert cxlib.nps(fs.con, min_group_size=1)["nps"].tolist() == [-100]
    assert cxlib.nps(tiny, min_group_size=1)["nps"].tolist() == [0]


# ----------------------------------------------------------------- saved segments


def test_a_saved_segment_restricts_every_table_to_its_customers(tiny):
    assert save_segment(tiny, "ac", ["a", "c", "a"]) == 2  # distinct ids
    with filtered(tiny, Filters(segment="ac")) as fs:
        for table in ("customers", "events", "events_ordered", "survey_responses", "orders", "tickets", "subscriptions"):
            want = set(ids(tiny, table)) & {"a", "c"}
            assert set(ids(fs.con, table)) == want, table
        assert fs.variables["cx_segment"] == "ac" and fs.filters.describe() == "segment ac"
    # combined with the other filters: an attribute, a channel, dates
    with filtered(tiny, Filters(segment="ac", attribute="plan", values=["basic"], channel="app",
                                end="2025-01-31")) as fs:
        assert ids(fs.con, "events") == ["a", "a"]  # a's app events in January; c's is in March
        assert fs.filters.describe() == "up to 2025-01-31, plan in basic, segment ac, channel app"
    assert ids(tiny, "customers") == ["a", "b", "c"]  # the notebook's connection is unchanged
    # saving again under the name replaces the list
    assert save_segment(tiny, "ac", pd.DataFrame({"customer_id": ["b"]})) == 1
    with filtered(tiny, Filters(segment="ac")) as fs:
        assert ids(fs.con, "customers") == ["b"]
    assert saved_segments(tiny).values.tolist() == [["ac", 1]]


def test_segments_are_shared_by_the_cursors_of_one_store_only(tiny, tiny_db, tmp_path):
    cur = tiny.cursor()
    save_segment(cur, "from_cursor", ["a"])  # saved on one cursor ...
    cur.close()
    assert saved_segments(tiny)["name"].tolist() == ["from_cursor"]  # ... seen on the connection
    with filtered(tiny, Filters(channel="web")) as fs:
        assert save_segment(fs, "b_only", ["b"]) == 1  # a filtered store saves for its store
        other = fs.con.cursor()  # and its other cursors see it
        assert saved_segments(other)["name"].tolist() == ["b_only", "from_cursor"]
        other.close()
    # a store in another file does not see them
    second = cxlib.connect(tmp_path / "other.duckdb", read_only=False)
    try:
        assert saved_segments(second).empty
        with pytest.raises(CxInputError, match="no segment is saved"):
            filtered(second, Filters(segment="b_only"))
    finally:
        second.close()


def test_segments_never_reach_the_store_file(tiny, tiny_db):
    before = tiny_db.read_bytes()
    save_segment(tiny, "ab", ["a", "b"])  # tiny is read-only
    with filtered(tiny, Filters(segment="ab")) as fs:
        assert ids(fs.con, "customers") == ["a", "b"]
    tiny.close()
    assert tiny_db.read_bytes() == before
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert "saved_segment_members" not in tables
    finally:
        con.close()


def test_segment_errors(tiny):
    with pytest.raises(CxInputError, match=r"2 of the 3 customer ids are not customers of the store \(e.g. 'x', 'y'\)"):
        save_segment(tiny, "bad", ["a", "y", "x"])
    assert saved_segments(tiny).empty  # nothing saved
    for name in ("", "has space", "1st", "x'; DROP TABLE customers; --", None):
        with pytest.raises(CxInputError, match="segment name"):
            save_segment(tiny, name, ["a"])
    with pytest.raises(CxInputError, match="empty"):
        save_segment(tiny, "none", [])
    with pytest.raises(CxInputError, match="blank id"):
        save_segment(tiny, "none", ["a", None])
    with pytest.raises(CxInputError, match="list of customer ids"):
        save_segment(tiny, "one", "a")
    with pytest.raises(CxInputError, match="segment name"):
        Filters(segment="a b")
    save_segment(tiny, "north", ["a"])
    with pytest.raises(CxInputError, match="segment 'nort' not in the saved segments; did you mean 'north'"):
        filtered(tiny, Filters(segment="nort"), check=False)
    drop_segment(tiny, "north")
    assert saved_segments(tiny).empty
    with pytest.raises(CxInputError, match="no segment is saved"):
        drop_segment(tiny, "north")


def test_segment_ids_are_bound_not_pasted(tiny):
    evil = "a') OR TRUE OR ('x"
    with pytest.raises(CxInputError, match="1 of the 2 customer ids"):
        save_segment(tiny, "evil", ["a", evil])
    assert save_segment(tiny, "plain", ["a"]) == 1
    with filtered(tiny, Filters(segment="plain")) as fs:
        assert "plain" not in "".join(fs.views.values())  # the name is a variable, not SQL text


def test_a_segment_on_an_events_only_store_in_memory():
    """A clickstream loaded into memory (customers from first sight): segments and funnels work there."""
    con = cxlib.connect(":memory:", read_only=False)
    try:
        rows = [("u1", "2024-03-01 10:00", "home", "web"), ("u1", "2024-03-01 10:05", "cart", "web"),
                ("u2", "2024-03-01 11:00", "home", "web"), ("u3", "2024-03-02 09:00", "home", "app"),
                ("u3", "2024-03-02 09:10", "cart", "app"), ("u3", "2024-03-02 09:20", "pay", "app")]
        events = pd.DataFrame(rows, columns=["customer_id", "ts", "touchpoint", "channel"])
        cxlib.ingest(events, "events", db=con, add_customers=True)
        assert save_segment(con, "carted", ["u1", "u3"]) == 2
        with filtered(con, Filters(segment="carted")) as fs:
            got = cxlib.funnel(fs.con, ["home", "cart", "pay"], min_group_size=1)["customers"].tolist()
        assert got == [2, 2, 1]
    finally:
        con.close()


# ----------------------------------------------------------------- drill-down


def test_drilldown_sql_reports_queries_params_and_filter(tiny):
    def count_web(con, *, channel):
        con.execute("SELECT column_name FROM information_schema.columns")  # introspection: left out
        return con.execute("SELECT count(*) AS n FROM events WHERE channel = $ch", {"ch": channel}).df()

    plain = drilldown_sql(count_web, tiny, channel="web")
    assert plain.result["n"].tolist() == [3]
    assert [q.params for q in plain.queries] == [{"ch": "web"}]
    assert plain.sql == "SELECT count(*) AS n FROM events WHERE channel = $ch"
    assert plain.views == {} and "$ch" in plain.text()

    with filtered(tiny, Filters(attribute="region", values=["south"])) as fs:
        d = drilldown_sql(count_web, fs, channel="web")
    assert d.result["n"].tolist() == [2]
    text = d.text()
    assert "cx_values = ['south']" in text and "CREATE TEMP VIEW events AS" in text
    assert text.rstrip().endswith("SELECT count(*) AS n FROM events WHERE channel = $ch;")
    with pytest.raises(CxInputError, match="function"):
        drilldown_sql("nps", tiny)


def test_drilldown_sql_text_reproduces_the_result(tiny):
    """The SQL shown to the analyst, run by hand on a plain connection, gives the same number."""
    with filtered(tiny, Filters(channel="web", attribute="plan", values=["pro"])) as fs:
        d = drilldown_sql(lambda con: con.execute("SELECT count(*) FROM events").fetchone()[0], fs)
    other = duckdb.connect(str(tiny.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]), read_only=True)
    cur = other.cursor()
    for k, v in d.variables.items():
        cur.execute(f"SET VARIABLE {k} = $v", {"v": v})
    for name, body in d.views.items():
        cur.execute(f"CREATE TEMP VIEW {name} AS {body}")
    assert cur.execute(d.sql).fetchone()[0] == d.result == 2
    other.close()


def test_drilldown_customers(tiny):
    assert drilldown_customers(tiny, interactive=True)["customer_id"].tolist() == ["a", "b", "c"]
    seg = drilldown_customers(tiny, interactive=True, segment="plan", value="basic")
    assert seg["customer_id"].tolist() == ["a", "c"]
    assert seg.columns.tolist() == ["customer_id", "events", "responses", "last_event_at"]
    assert seg["events"].tolist() == [4, 1] and seg["responses"].tolist() == [2, 1]
    assert drilldown_customers(tiny, interactive=True, touchpoint="payment")["customer_id"].tolist() == ["a", "b"]
    assert drilldown_customers(tiny, interactive=True, channel="app")["customer_id"].tolist() == ["a", "c"]
    # touchpoint and channel together: one event with both (a's checkout was on the app, b's on the web)
    assert drilldown_customers(tiny, interactive=True, touchpoint="checkout", channel="web")["customer_id"].tolist() == ["b"]
    # a theme: whole words, case-insensitive ('billed' is not 'bill'; 'Billing' is 'billing')
    theme = drilldown_customers(tiny, interactive=True, keywords=["bill", "billing", "refund"])
    assert theme["customer_id"].tolist() == ["b"]
    assert drilldown_customers(tiny, interactive=True, keywords=["BILLED"])["customer_id"].tolist() == ["c"]
    # inside a filter, counts are of the filtered rows
    with filtered(tiny, Filters(channel="app")) as fs:
        got = drilldown_customers(fs, interactive=True, touchpoint="checkout")
    assert got[["customer_id", "events"]].values.tolist() == [["a", 2]]
    empty = drilldown_customers(tiny, interactive=True, touchpoint="nowhere")
    assert len(empty) == 0 and empty.columns.tolist() == ["customer_id", "events", "responses", "last_event_at"]


def test_drilldown_customers_refuses_outside_an_analyst_session(tiny):
    for flag in (False, None, "yes"):
        with pytest.raises(CxInputError, match="interactive"):
            drilldown_customers(tiny, interactive=flag)
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        drilldown_customers(tiny, interactive=True, segment="regin", value="x")
    with pytest.raises(CxInputError, match="together"):
        drilldown_customers(tiny, interactive=True, segment="region")
    with pytest.raises(CxInputError, match="keywords is empty"):
        drilldown_customers(tiny, interactive=True, keywords=[" "])


# ----------------------------------------------------------------- cx lab


def test_cx_lab_starts_jupyterlab_on_notebooks_with_the_store(tiny_db, monkeypatch, tmp_path):
    from cxlib import cli
    from cxlib.explore import lab as explore

    calls = []
    monkeypatch.setattr(explore, "_run_lab", lambda cmd, env: calls.append((cmd, env)) or 0)
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    assert cli.main(["lab", "--db", str(tiny_db), "--no-browser", "--port", "8899", "--notebook-dir", str(nb_dir)]) == 0
    (cmd, env), = calls
    assert cmd[1:3] == ["-m", "jupyterlab"]
    assert f"--notebook-dir={nb_dir.resolve()}" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    assert env["CX_DB"] == str(tiny_db.resolve())

    calls.clear()
    monkeypatch.setenv("CX_DB", str(tiny_db))
    assert cli.main(["lab", "--notebook-dir", str(nb_dir)]) == 0
    (cmd, env), = calls
    assert "--no-browser" not in cmd and not any(c.startswith("--port") for c in cmd)
    assert env["CX_DB"] == str(tiny_db.resolve())

    calls.clear()
    assert cli.main(["lab", "--notebook-dir", str(nb_dir), "--", "--ip=127.0.0.1", "--IdentityProvider.token=x"]) == 0
    (cmd, env), = calls
    assert cmd[-2:] == ["--ip=127.0.0.1", "--IdentityProvider.token=x"]


def test_cx_lab_errors(tiny_db, tmp_path, capsys, monkeypatch):
    from cxlib import cli
    from cxlib.explore import lab as explore

    monkeypatch.setattr(explore, "_run_lab", lambda cmd, env: pytest.fail("must not start"))
    assert cli.main(["lab", "--db", str(tmp_path / "missing.duckdb")]) == 1
    assert "cx sample" in capsys.readouterr().err
    assert cli.main(["lab", "--db", str(tiny_db), "--port", "70000"]) == 2
    assert cli.main(["lab", "--db", str(tiny_db), "--notebook-dir", str(tmp_path / "nope")]) == 2
    with pytest.raises(SystemExit):
        cli.main(["lab", "--help"])
    assert "--no-browser" in capsys.readouterr().out


def test_lab_runner_passes_sigterm_on_and_returns_the_exit_code(tmp_path):
    """`cx lab` stopped with SIGTERM stops its JupyterLab (a stand-in child here) and exits with its code."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "runner.py"
    marker = tmp_path / "child_got_sigterm"
    child = tmp_path / "child.py"
    child.write_text(
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *a: (open({str(marker)!r}, 'w').close(), sys.exit(3)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    script.write_text(
        "import sys\nfrom cxlib.explore.lab import _run_lab\n"
        f"sys.exit(_run_lab([sys.executable, {str(child)!r}], {{}}))\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parents[2]))
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 3
    deadline = time.time() + 5
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists()


def test_default_notebook_dir_is_the_projects():
    from cxlib.explore import NOTEBOOK_DIR, lab_command

    assert NOTEBOOK_DIR.name == "notebooks" and (NOTEBOOK_DIR.parent / "cxlib").is_dir()
    assert lab_command()[3:] == [f"--notebook-dir={NOTEBOOK_DIR}", "--LabApp.default_url=/lab/tree/start_here.ipynb"]


def test_lab_opens_the_start_notebook_only_where_there_is_one(tmp_path):
    from cxlib.explore import lab_command

    assert lab_command(notebook_dir=tmp_path)[3:] == [f"--notebook-dir={tmp_path}"]
    (tmp_path / "start_here.ipynb").write_text("{}")
    assert lab_command(notebook_dir=tmp_path, port=8899)[3:] == [
        f"--notebook-dir={tmp_path}", "--LabApp.default_url=/lab/tree/start_here.ipynb", "--port=8899"]
