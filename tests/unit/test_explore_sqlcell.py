"""The ad-hoc SQL helper: read-only, bound values, a DataFrame and a quick chart."""

from __future__ import annotations

import pytest
from test_explore import tiny, tiny_db  # noqa: E402,F401  (fixtures; tests/unit is on sys.path)

import cxlib
from cxlib.errors import CxInputError
from cxlib.explore import Filters, filtered
from cxlib.explore.sqlcell import cxsql, load_ipython_extension, query


def test_query_returns_rows_chart_and_timing(tiny_db, monkeypatch):
    monkeypatch.setenv("CX_DB", str(tiny_db))
    r = query("SELECT channel, count(*) AS events FROM events GROUP BY 1 ORDER BY 1")
    assert r.df.values.tolist() == [["app", 3], ["chat", 1], ["web", 3]]
    assert r.chart.to_dict()["mark"]["type"] == "bar" and not r.truncated and r.seconds >= 0
    html = r._repr_html_()
    assert "3 row(s)" in html and "<table" in html


def test_params_are_bound(tiny, tiny_db):
    r = query("SELECT count(*) AS n FROM events WHERE channel = $ch", {"ch": "web"}, con=tiny)
    assert r.df["n"].tolist() == [3]
    r = query("SELECT count(*) AS n FROM events WHERE channel = ?", ["app"], db=str(tiny_db))
    assert r.df["n"].tolist() == [3]
    evil = "web' OR '1'='1"
    assert query("SELECT count(*) AS n FROM events WHERE channel = $ch", {"ch": evil}, con=tiny).df["n"].tolist() == [0]
    with pytest.raises(CxInputError, match=r"\$ch"):
        query("SELECT count(*) FROM events WHERE channel = $ch", {"c": "web"}, con=tiny)


@pytest.mark.parametrize(
    "sql",
    ["INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES ('a', now(), 'x', 'y', NULL)", "CREATE TABLE x AS SELECT 1", "DROP TABLE events",
     "COPY events TO '/tmp/cx_should_not_exist.csv'", "SET threads = 1", "ATTACH ':memory:' AS other",
     "PRAGMA enable_profiling"],
)
def test_writing_statements_are_refused_even_on_a_writable_connection(tiny_db, sql):
    con = cxlib.connect(tiny_db, read_only=False)
    try:
        with pytest.raises(CxInputError, match="only reading statements"):
            query(sql, con=con)
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 7
    finally:
        con.close()


def test_one_statement_and_clear_errors(tiny):
    with pytest.raises(CxInputError, match="one statement"):
        query("SELECT 1; SELECT 2", con=tiny)
    with pytest.raises(CxInputError, match="does not parse"):
        query("SELEC 1", con=tiny)
    with pytest.raises(CxInputError, match="query failed"):
        query("SELECT nope FROM events", con=tiny)
    with pytest.raises(CxInputError, match="non-empty"):
        query("  ", con=tiny)
    with pytest.raises(CxInputError, match="limit"):
        query("SELECT 1", con=tiny, limit=0)
    for ok in ("DESCRIBE events", "SHOW TABLES", "SUMMARIZE events", "FROM events", "EXPLAIN SELECT 1",
               "WITH x AS (SELECT 1 AS a) SELECT * FROM x"):
        query(ok, con=tiny)


def test_limit_truncates_and_says_so(tiny):
    r = query("SELECT i FROM range(5000) t(i) ORDER BY i DESC", con=tiny, limit=2100)
    assert r.truncated and len(r.df) == 2100 and r.df["i"].iloc[0] == 4999 and r.df["i"].iloc[-1] == 2900
    exact = query("SELECT i FROM range(2100) t(i)", con=tiny, limit=2100)
    assert not exact.truncated and len(exact.df) == 2100
    empty = query("SELECT * FROM events WHERE false", con=tiny)
    assert len(empty.df) == 0 and list(empty.df.columns)[:2] == ["customer_id", "ts"] and empty.chart is None


def test_query_inside_a_filter_and_caller_state_untouched(tiny):
    with filtered(tiny, Filters(attribute="region", values=["north"])) as fs:
        assert query("SELECT count(*) AS n FROM events", con=fs).df["n"].tolist() == [4]
        assert query("SELECT count(*) AS n FROM events", con=fs.con).df["n"].tolist() == [4]
    assert query("SELECT count(*) AS n FROM events", con=tiny).df["n"].tolist() == [7]


def test_cell_magic_binds_notebook_variables(tiny):
    ns = {"con": tiny, "ch": "web", "since": "2025-01-05"}
    r = cxsql("--con con -o counts", "SELECT count(*) AS n FROM events WHERE channel = $ch AND ts >= $since", ns)
    assert r.df["n"].tolist() == [2] and ns["counts"]["n"].tolist() == [2]
    with pytest.raises(CxInputError, match=r"\$nope"):
        cxsql("--con con", "SELECT $nope", ns)
    with pytest.raises(CxInputError, match="usage"):
        cxsql("--bogus", "SELECT 1", ns)
    with pytest.raises(CxInputError, match="no such notebook variable"):
        cxsql("--con other", "SELECT 1", ns)


def test_extension_registers_the_magic():
    registered = {}

    class FakeIPython:
        user_ns = {}

        def register_magic_function(self, func, magic_kind, magic_name):
            registered[(magic_kind, magic_name)] = func

    load_ipython_extension(FakeIPython())
    assert ("cell", "cxsql") in registered
