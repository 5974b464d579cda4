"""Rows in, rows out: the voice-of-the-customer SQL files on tiny tables."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

import cxlib
from cxlib import sql
from cxlib.errors import CxInputError


@pytest.fixture()
def con(tmp_path):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.executemany("INSERT INTO customers VALUES (?, '2024-01-01', ?)", [("a", "north"), ("b", "south"), ("c", None)])
    rows = [
        ("r1", "a", "2024-01-05", "nps", 10, None, "email", "bill wrong"),
        ("r2", "a", "2024-02-05", "nps", 6, "checkout", "app", None),
        ("r3", "b", "2024-01-20", "nps", 8, None, "email", "On HOLD!"),
        ("r4", "c", "2024-01-21", "nps", 9, None, None, None),
        ("r5", "b", "2024-01-22", "csat", 4, "checkout", "web", None),
        ("r6", "b", "2024-01-23", "csat", 2, "checkout", "web", None),
        ("r7", "a", "2024-01-24", "ces", 6, "chat", "chat", None),
        ("r8", "a", "2024-01-25", "ces", 3, "chat", "chat", None),
    ]
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def params(**kw):
    base = {"start": None, "end": None, "touchpoint": None, "channel": None, "period": None}
    return {**base, **kw}


def test_nps_sql_by_region_and_month(con):
    seg = sql.Ident("c." + sql.checked_column(con, "customers", "region"))
    got = sql.run(con, "nps", params(period="month"), {"segment": seg})
    want = pd.DataFrame({
        "segment": ["north", "north", "south", None],
        "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01", "2024-01-01"]),
        "n": [1, 1, 1, 1], "promoters": [1, 0, 0, 1], "passives": [0, 0, 1, 0], "detractors": [0, 1, 0, 0],
    })
    got["period"] = pd.to_datetime(got["period"])
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_nps_sql_filters_bind_values(con):
    got = sql.run(con, "nps", params(start=datetime(2024, 1, 10), end=datetime(2024, 2, 1), channel="email"),
                  {"segment": sql.Ident("NULL")})
    assert got[["n", "promoters", "passives", "detractors"]].values.tolist() == [[1, 0, 1, 0]]
    # a hostile value is only ever a value
    got = sql.run(con, "nps", params(touchpoint="x' OR 1=1 --"), {"segment": sql.Ident("NULL")})
    assert got.empty


def test_csat_and_ces_sql(con):
    c = sql.run(con, "csat", params(), {"segment": sql.Ident("r.\"touchpoint\"")})
    assert c[["segment", "n", "satisfied"]].values.tolist() == [["checkout", 2, 1]]
    e = sql.run(con, "ces", params(), {"segment": sql.Ident("NULL")})
    assert e["n"].iloc[0] == 2 and e["mean"].iloc[0] == 4.5 and e["easy"].iloc[0] == 1
    assert e["sd"].iloc[0] == pytest.approx(2.12132, abs=1e-5)


def test_segment_slot_only_takes_checked_identifiers(con):
    with pytest.raises(CxInputError, match="checked identifier"):
        sql.run(con, "nps", params(), {"segment": "region; DROP TABLE customers"})


def test_voc_themes_sql(con):
    texts = [t for (t,) in con.execute("SELECT DISTINCT comment FROM survey_responses").fetchall()]
    got = sql.run(con, "voc_themes", {"themes": ["billing", "wait"], "patterns": [" bill ", " on hold "],
                                      "texts": texts, "metric": "nps", "start": None, "end": None})
    got = got.set_index("theme")
    assert got.loc["billing", ["comments", "promoters"]].tolist() == [1, 1]
    assert got.loc["wait", ["comments", "passives"]].tolist() == [1, 1]
    assert got.loc["(no theme)", "comments"] == 0  # comments: r1, r3 only (others are blank)
    assert got["total_comments"].iloc[0] == 2 and got["total_detractors"].iloc[0] == 0


def test_survey_values_sql(con):
    got = sql.run(con, "survey_values", {"metric": "nps"})
    assert got.values.tolist() == [["channel", "app"], ["channel", "email"], ["touchpoint", "checkout"]]
