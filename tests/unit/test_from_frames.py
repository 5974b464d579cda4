"""cxlib.from_frames: pandas frames into an in-memory store, validated as `cx ingest` validates files.

A retentioneering-shaped clickstream (user_id, event, timestamp) of five customers, counted by
hand; the sample store's tables exported to frames and loaded back (same tables, same
analyses); planted bad rows; wrong arguments; a store holding only events; and a real public
clickstream (retentioneering's tutorial data, from its pinned wheel: tests/realdata.py)
loaded from a frame and from its file.
"""

from __future__ import annotations

import pandas as pd
import pytest
from realdata import data_file

import cxlib
from cxlib.analysis.defaults import fit_churn_definition
from cxlib.analysis.needs import SECTIONS, readiness

# Five customers, retentioneering's columns. By hand:
#   u1: catalog, product, cart, purchase   u2: catalog, product, catalog, cart
#   u3: catalog, product                   u4: product, cart, purchase        u5: catalog
CLICKS = [
    ("u1", "catalog", "2024-03-01 10:00"), ("u1", "product", "2024-03-01 10:01"),
    ("u1", "cart", "2024-03-01 10:02"), ("u1", "purchase", "2024-03-01 10:03"),
    ("u2", "catalog", "2024-03-02 09:00"), ("u2", "product", "2024-03-02 09:05"),
    ("u2", "catalog", "2024-03-02 09:10"), ("u2", "cart", "2024-03-02 09:20"),
    ("u3", "catalog", "2024-03-03 12:00"), ("u3", "product", "2024-03-03 12:30"),
    ("u4", "product", "2024-03-04 08:00"), ("u4", "cart", "2024-03-04 08:01"), ("u4", "purchase", "2024-03-04 08:02"),
    ("u5", "catalog", "2024-03-05 18:00"),
]
TABLES = ["customers", "touchpoint_stages", "events", "survey_responses", "orders", "tickets", "subscriptions"]


def clicks() -> pd.DataFrame:
    df = pd.DataFrame(CLICKS, columns=["user_id", "event", "timestamp"])
    df["timestamp"] = pd.to_datetime(df["timestamp"])  # as retentioneering holds it
    return df


@pytest.fixture()
def con():
    con = cxlib.from_frames(events=clicks())
    yield con
    con.close()


def rows(con, query: str, params=None) -> list[tuple]:
    return con.execute(query, params or []).fetchall()


def loads(con) -> list[tuple]:
    return rows(con, "SELECT table_name, read, loaded, rejected FROM load_log ORDER BY load_id")


# --------------------------------------------------------------------------- a clickstream, by hand


def test_a_retentioneering_frame_loads_in_one_call(con, capsys):
    con2 = cxlib.from_frames(clicks())  # events is also the first positional argument
    assert capsys.readouterr().out.startswith("events <- DataFrame: read 14, loaded 14, rejected 0; 5 new customer(s)")
    assert rows(con2, "SELECT count(*) FROM events") == [(14,)]
    con2.close()
    assert loads(con) == [("events", 14, 14, 0)]
    first_seen = ["2024-03-01 10:00", "2024-03-02 09:00", "2024-03-03 12:00", "2024-03-04 08:00", "2024-03-05 18:00"]
    assert rows(con, "SELECT customer_id, signup_at FROM customers ORDER BY 1") == [
        (f"u{i}", pd.Timestamp(ts).to_pydatetime()) for i, ts in enumerate(first_seen, 1)]
    # the clickstream preset: a frame without a channel column is 'web'
    assert rows(con, "SELECT DISTINCT channel FROM events") == [("web",)]
    # the derived tables are built as after cx ingest
    assert rows(con, "SELECT seq, touchpoint, next_touchpoint FROM events_ordered WHERE customer_id = 'u2' "
                     "ORDER BY seq") == [(1, "catalog", "product"), (2, "product", "catalog"), (3, "catalog", "cart"),
                                         (4, "cart", None)]


def test_funnel_counts_by_hand(con):
    out = cxlib.funnel(con, ["catalog", "product", "cart", "purchase"], window=None, min_group_size=1)
    # catalog: u1 u2 u3 u5; then product: u1 u2 u3; then cart: u1 u2; then purchase: u1 (u4 never starts)
    assert out[["step", "customers", "dropped"]].astype(int).values.tolist() == [[1, 4, 0], [2, 3, 1], [3, 2, 1],
                                                                                  [4, 1, 1]]


def test_transitions_by_hand(con):
    out = cxlib.transitions(con, min_group_size=1)
    got = {(r.source, r.target): (r.transitions, r.customers, r.source_customers) for r in out.itertuples()}
    assert got == {
        ("catalog", "product"): (3, 3, 3),  # u1 u2 u3; u2 leaves catalog twice but counts once
        ("catalog", "cart"): (1, 1, 3),  # u2
        ("product", "cart"): (2, 2, 3),  # u1 u4
        ("product", "catalog"): (1, 1, 3),  # u2
        ("cart", "purchase"): (2, 2, 2),  # u1 u4
    }


def test_step_matrix_by_hand(con):
    out = cxlib.step_matrix(con, max_steps=4, min_group_size=1)
    got = {(r.position, r.node): r.customers for r in out.itertuples()}
    assert got == {
        (1, "catalog"): 4, (1, "product"): 1,
        (2, "product"): 3, (2, "cart"): 1, (2, "(ended)"): 1,
        (3, "cart"): 1, (3, "catalog"): 1, (3, "purchase"): 1, (3, "(ended)"): 2,
        (4, "purchase"): 1, (4, "cart"): 1, (4, "(ended)"): 3,
    }


def test_canonical_columns_need_no_preset():
    """A frame with the store's own columns loads as it is: times with an offset in UTC, names as written."""
    df = pd.DataFrame({"customer_id": ["c1", "c1"], "touchpoint": ["Home", "Checkout"], "channel": ["app", "app"],
                       "ts": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 11:00"]).tz_localize("Europe/Berlin")})
    con = cxlib.from_frames(events=df)
    assert rows(con, "SELECT touchpoint, ts FROM events ORDER BY ts") == [
        ("Home", pd.Timestamp("2024-03-01 09:00").to_pydatetime()),
        ("Checkout", pd.Timestamp("2024-03-01 10:00").to_pydatetime())]


def test_a_frame_carries_its_preset_and_options():
    df = pd.DataFrame({"who": ["a", "b"], "what": ["Home", "Cart"], "when": ["2024-03-01 10:00", "2024-03-01 11:00"]})
    con = cxlib.from_frames(events=cxlib.Frame(df, mapping={"who": "customer_id", "what": "touchpoint", "when": "ts"},
                                               constants={"channel": "store"}, timezone="Europe/Berlin"))
    assert rows(con, "SELECT customer_id, touchpoint, channel, ts FROM events ORDER BY 1") == [
        ("a", "Home", "store", pd.Timestamp("2024-03-01 09:00").to_pydatetime()),
        ("b", "Cart", "store", pd.Timestamp("2024-03-01 10:00").to_pydatetime())]
    amplitude = pd.DataFrame({"user_id": ["a"], "event_type": ["Home"], "event_time": ["2024-03-01 10:00"],
                              "platform": ["iOS"]})
    con = cxlib.from_frames(events=cxlib.Frame(amplitude, preset="amplitude"))
    assert rows(con, "SELECT customer_id, touchpoint, channel FROM events") == [("a", "home", "ios")]  # lowercase


# --------------------------------------------------------------------------- the sample, through frames


def test_the_sample_exported_to_frames_gives_the_same_store(sample_con, capsys):
    frames = {t: sample_con.execute(f"SELECT * FROM {t}").df() for t in TABLES}
    con = cxlib.from_frames(**frames)
    printed = capsys.readouterr().out.splitlines()
    # customers first, then the tables that name them; every row of the sample loads
    assert [line.split(" <- ")[0] for line in printed] == TABLES
    assert loads(con) == [(t, len(frames[t]), len(frames[t]), 0) for t in TABLES]
    for table in [*TABLES, "events_ordered", "customer_activity"]:
        query = f"SELECT * FROM {table} ORDER BY ALL"
        pd.testing.assert_frame_equal(con.execute(query).df(), sample_con.execute(query).df(), check_dtype=False)
    steps = ["product_page", "add_to_cart", "checkout", "payment"]
    pd.testing.assert_frame_equal(cxlib.funnel(con, steps), cxlib.funnel(sample_con, steps))
    pd.testing.assert_frame_equal(cxlib.nps(con, by="region"), cxlib.nps(sample_con, by="region"))
    pd.testing.assert_frame_equal(cxlib.churn_rate(con), cxlib.churn_rate(sample_con))
    assert cxlib.as_of(con) == cxlib.as_of(sample_con)


# --------------------------------------------------------------------------- rejects


def test_planted_bad_rows_are_rejected_with_reasons(capsys):
    df = clicks().astype({"timestamp": str})
    bad = pd.DataFrame([("", "catalog", "2024-03-06 10:00"),  # line 16: a blank customer id
                        ("u6", "catalog", "yesterday"),  # line 17: a bad timestamp
                        ("u1", "catalog", "2024-03-01 10:00:00")],  # line 18: repeats line 2
                       columns=df.columns)
    con = cxlib.from_frames(events=pd.concat([df, bad], ignore_index=True))
    assert loads(con) == [("events", 17, 14, 3)]  # read = loaded + rejected
    assert rows(con, "SELECT line, column_name, reason FROM rejects ORDER BY line") == [
        (16, "customer_id", "missing customer_id"),
        (17, "ts", "not a timestamp: yesterday"),
        (18, "customer_id, ts, touchpoint, channel", "duplicate key: repeats an earlier row of this load")]
    printed = capsys.readouterr().out
    assert "events <- DataFrame: read 17, loaded 14, rejected 3" in printed
    for reason in ("customer_id: missing customer_id", "ts: not a timestamp (e.g. line 17: not a timestamp: yesterday)",
                   "duplicate key"):
        assert reason in printed


def test_with_a_customers_frame_unknown_customers_are_rejected():
    customers = pd.DataFrame({"customer_id": ["u1", "u2", "u3", "u4"], "region": ["north", "north", "south", "south"]})
    con = cxlib.from_frames(events=clicks(), customers=customers)
    assert loads(con) == [("customers", 4, 4, 0), ("events", 14, 13, 1)]
    assert rows(con, "SELECT line, reason FROM rejects") == [(15, "unknown customer_id u5: load its customer first")]
    # given customers take their signup from first sight; the frame's attributes are segments
    assert rows(con, "SELECT customer_id, region, signup_at FROM customers WHERE customer_id = 'u4'") == [
        ("u4", "south", pd.Timestamp("2024-03-04 08:00").to_pydatetime())]


def test_a_frame_that_loads_nothing_raises():
    with pytest.raises(cxlib.CxDataError, match=r"the events frame: header does not match table events: missing"):
        cxlib.from_frames(events=pd.DataFrame({"a": [1], "b": [2]}))
    with pytest.raises(cxlib.CxDataError, match="the events frame has no rows"):
        cxlib.from_frames(events=clicks().iloc[:0])
    all_bad = clicks().assign(timestamp="soon")
    with pytest.raises(cxlib.CxDataError, match=r"no row of the events frame could be loaded \(14 read, all "
                                                r"rejected\): 14 ts: not a timestamp"):
        cxlib.from_frames(events=all_bad)


def test_wrong_arguments_name_what_is_accepted():
    with pytest.raises(cxlib.CxInputError, match=r"table 'evnts' not in the store; did you mean 'events'\?.*Available: "
                                                 r"customers, events, orders"):
        cxlib.from_frames(evnts=clicks())
    with pytest.raises(cxlib.CxInputError, match=r"table 'preset' not in the store.*options go in cxlib.Frame"):
        cxlib.from_frames(events=clicks(), preset="clickstream")
    with pytest.raises(cxlib.CxInputError, match=r"events must be a pandas DataFrame, or cxlib.Frame\(df, "
                                                 r"preset=\.\.\., \*\*options\) around one; got list"):
        cxlib.from_frames(events=[("u1", "catalog", "2024-03-01")])
    with pytest.raises(cxlib.CxInputError, match=r"orders must be a pandas DataFrame.*got dict"):
        cxlib.from_frames(events=clicks(), orders=cxlib.Frame({"order_id": [1]}))
    with pytest.raises(cxlib.CxInputError, match=r"at least one frame, e.g. from_frames\(events=df\)"):
        cxlib.from_frames()
    with pytest.raises(cxlib.CxInputError, match=r"the events frame: unknown ingest option\(s\) \['time_zone'\]"):
        cxlib.from_frames(events=cxlib.Frame(clicks(), time_zone="UTC"))
    with pytest.raises(cxlib.CxInputError, match=r"the events frame: no preset 'clikstream'; did you mean"):
        cxlib.from_frames(events=cxlib.Frame(clicks(), preset="clikstream"))


def test_the_frames_are_not_changed():
    df = clicks()
    before = df.copy()
    cxlib.from_frames(events=df).close()
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- a store of events only


def test_events_only_sections_say_what_is_missing(con):
    ready = {name: readiness(con, name, steps=["catalog", "product"]) for name in SECTIONS}  # none raises
    assert all(ready[name] for name in ("journey.funnel", "journey.paths", "churn.rate"))
    for name, load in (("voc.nps", "survey_responses"), ("segments.rfm", "orders"), ("service.resolution", "tickets"),
                       ("segments.profile", "customers"), ("journey.map", "touchpoint_stages")):
        assert not ready[name] and load in ready[name].sentence
    # the shipped stage map does not know these touchpoints: a stage map frame gives them their stages
    stages = pd.DataFrame({"touchpoint": ["catalog", "product", "cart", "purchase"],
                           "stage": ["consideration", "consideration", "purchase", "purchase"]})
    staged = cxlib.from_frames(events=clicks(), touchpoint_stages=stages)
    assert readiness(staged, "journey.map")
    assert rows(staged, "SELECT DISTINCT stage FROM events_ordered ORDER BY 1") == [("consideration",), ("purchase",)]
    definition = fit_churn_definition(con, "contractual")  # no subscriptions
    assert definition == "non_contractual"
    rate = cxlib.churn_rate(con, definition=definition, inactivity_days=2, min_group_size=1)
    # as of 2024-03-05 18:00: u1, u2, u3 started 2 days before and were last active then (churned);
    # u4 and u5 started later (not judged)
    assert rate[["customers", "churned", "not_judged"]].values.tolist() == [[3, 3, 2]]


# --------------------------------------------------------------------------- a real clickstream


def test_a_real_clickstream_frame_loads_as_its_file(tmp_path):
    """retentioneering's ecom data read with pandas loads as `cx ingest events ecom.csv.gz --preset clickstream`."""
    path = data_file("ecom")
    con = cxlib.from_frames(events=pd.read_csv(path))
    file_store = cxlib.connect(tmp_path / "ecom.duckdb", read_only=False)
    cxlib.ingest(path, "events", db=file_store, preset="clickstream")
    assert loads(con) == loads(file_store) == [("events", 31_106, 31_076, 30)]
    for query in ("SELECT * FROM customers", "SELECT * FROM events", "SELECT * FROM events_ordered",
                  "SELECT line, column_name, reason, raw FROM rejects"):
        pd.testing.assert_frame_equal(con.execute(query + " ORDER BY ALL").df(),
                                      file_store.execute(query + " ORDER BY ALL").df())
    file_store.close()
