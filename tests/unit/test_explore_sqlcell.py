"""The ad-hoc SQL helper: read-only, bound values, a DataFrame and a quick chart."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_explore import tiny, tiny_db  # noqa: E402,F401  (fixtures; tests/unit is on sys.path)

import cxlib
from cxlib.errors import CxInputError
from cxlib.explore import Filters, filtered, sqlcell
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
    tiny.create_function("cx_echo", lambda x: x, ["VARCHAR"], "VARCHAR")  # the connection is free again
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


# ------------------------------------------------- issue 14: the helper reads only the store
#
# Each attack plants a file with a marker and asks the helper to read it. Before issue 14 the
# statement-type check let every SELECT through, so these queries returned the marker (or failed
# on the network for URLs); the helper must refuse them before anything runs, with one line that
# names what was refused.

REFUSED = "reads only the store's tables"
MARKER = "PLANTED_SECRET_0xC0FFEE"


@pytest.fixture()
def planted(tmp_path):
    """Files outside the store, each holding MARKER: csv, parquet, json, and a folder to glob."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(f"who,note\nanna,{MARKER}\n")
    (outside / "secret.json").write_text(f'{{"who": "anna", "note": "{MARKER}"}}\n')
    mem = duckdb.connect()
    mem.execute(f"COPY (SELECT 'anna' AS who, '{MARKER}' AS note) TO '{outside / 'secret.parquet'}' (FORMAT parquet)")
    mem.close()
    return {"csv": str(outside / "secret.csv"), "pq": str(outside / "secret.parquet"),
            "js": str(outside / "secret.json"), "dir": str(outside)}


def _mixed(text):
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


# (a table expression that reads outside the store, a word the refusal must contain)
OUTSIDE_TABLES = [
    ("read_csv('{csv}')", "read_csv reads files"),
    ("read_csv_auto('{csv}')", "read_csv_auto"),
    ("read_csv('{csv}', header = true, all_varchar = true)", "read_csv"),
    ("read_parquet('{pq}')", "read_parquet"),
    ("parquet_scan('{pq}')", "parquet_scan"),
    ("parquet_metadata('{pq}')", "parquet_metadata"),
    ("parquet_schema('{pq}')", "parquet_schema"),
    ("read_json('{js}')", "read_json"),
    ("read_json_auto('{js}')", "read_json_auto"),
    ("read_json_objects('{js}')", "read_json_objects"),
    ("read_ndjson('{js}')", "read_ndjson"),
    ("read_text('{csv}')", "read_text"),
    ("read_blob('{csv}')", "read_blob"),
    ("glob('{dir}/*')", "glob"),
    ("sniff_csv('{csv}')", "sniff_csv"),
    ("query_table('{csv}')", "query_table"),
    ("query('SELECT * FROM read_csv(''{csv}'')')", "runs SQL text"),
    ("duckdb_settings()", "duckdb_settings"),
    ("duckdb_secrets()", "duckdb_secrets"),
    ("duckdb_databases()", "duckdb_databases"),
    ("read_csv('https://example.invalid/x.csv')", "read_csv"),
    ("read_parquet('s3://cx-bucket/x.parquet')", "read_parquet"),
    ("'{csv}'", "file path or URL"),
    ('"{csv}"', "file path or URL"),
    ("'{pq}'", "file path or URL"),
    ("'{js}'", "file path or URL"),
    ("'https://example.invalid/x.csv'", "file path or URL"),
    ("'s3://cx-bucket/x.parquet'", "file path or URL"),
    ("duckdb_tables", "not a table or view of the store"),
]

# Ways to hide a table expression {t} in an otherwise ordinary query.
HIDING_PLACES = [
    "SELECT * FROM {t}",
    "/* only counting */ select count(*) -- harmless\n FROM {t} AS x",
    "WITH t AS (SELECT * FROM {t}) SELECT * FROM t",
    "WITH a AS (SELECT 1 AS x), b AS (SELECT * FROM a, {t}) SELECT * FROM b",
    "SELECT count(*) FROM events WHERE EXISTS (SELECT 1 FROM {t})",
    "SELECT (SELECT count(*) FROM {t}) AS n",
    "SELECT * FROM events, LATERAL (SELECT * FROM {t}) AS x",
    "SELECT * FROM events e JOIN LATERAL (SELECT * FROM {t}) x ON true",
    "SELECT count(*) AS n FROM events UNION ALL SELECT count(*) FROM {t}",
    "SELECT customer_id FROM events EXCEPT SELECT 'x' FROM {t}",
    "SELECT * FROM events JOIN {t} AS x ON true",
    "FROM events SELECT customer_id WHERE customer_id IN (FROM {t} SELECT 'a')",
    "SELECT * FROM (SELECT * FROM (SELECT * FROM {t}))",
    "EXPLAIN SELECT * FROM {t}",
    "EXPLAIN ANALYZE SELECT * FROM {t}",
    "/* c */ explain (FORMAT json) -- c\n SELECT * FROM {t}",
    "DESCRIBE SELECT * FROM {t}",
    "SUMMARIZE SELECT * FROM {t}",
]


def _refused(con, sql, must_say=REFUSED):
    """None when `sql` is refused with a one-line message that says `must_say`; else what happened."""
    try:
        result = sqlcell.query(sql, con=con, chart=False)
    except CxInputError as exc:
        message = str(exc)
        if REFUSED not in message or must_say.lower() not in message.lower() or "\n" in message:
            return f"{sql!r}: wrong refusal {message!r}"
        return None
    return f"{sql!r}: ran and returned {result.df.head(2).to_dict('records')}"


def test_reading_outside_the_store_is_refused_wherever_it_hides(tiny, planted):
    problems, tried = [], 0
    for table, says in OUTSIDE_TABLES:
        t = table.format(**planted)
        name = t.split("(", 1)[0]
        for v in [t, _mixed(name) + t[len(name):]] if "(" in t else [t]:
            for place in HIDING_PLACES:
                problems.append(_refused(tiny, place.format(t=v), says))
                tried += 1
    assert [p for p in problems if p] == []
    assert tried == 918  # (29 tables + 22 mixed-case twins) x 18 hiding places


def test_etc_passwd_from_the_issue_is_refused_with_one_clear_line(tiny):
    with pytest.raises(CxInputError) as info:
        sqlcell.query("SELECT * FROM read_csv('/etc/passwd')", con=tiny)
    assert str(info.value) == "the SQL helper reads only the store's tables; read_csv reads files or URLs"


def test_a_cte_named_like_a_file_covers_only_its_own_scope(tiny, planted):
    # DuckDB reads the file wherever the CTE name does not reach: the check follows the same scope
    csv = planted["csv"]
    attacks = [
        f'WITH "{csv}" AS (SELECT * FROM "{csv}") SELECT * FROM "{csv}"',  # a CTE does not see itself
        f'SELECT * FROM (WITH "{csv}" AS (SELECT 1) SELECT 1), "{csv}"',  # nor outside its subquery
        f'WITH a AS (SELECT * FROM "{csv}"), "{csv}" AS (SELECT 1) SELECT * FROM a',  # nor before it
        f'WITH "{csv}" AS (SELECT 1) SELECT * FROM main."{csv}"',  # a qualified name is not a CTE
        f'WITH RECURSIVE "{csv}" AS (SELECT * FROM "{csv}") SELECT 1',  # RECURSIVE without a union
    ]
    assert [p for p in (_refused(tiny, sql) for sql in attacks) if p] == []
    # the same name inside its scope is the CTE: allowed, and it reads nothing outside
    ok = sqlcell.query(f'WITH "{csv}" AS (SELECT 1 AS a) SELECT * FROM "{csv}"', con=tiny, chart=False)
    assert ok.df["a"].tolist() == [1]


@pytest.mark.parametrize(
    "sql, says",
    [
        ("SHOW '{csv}'", "file path or URL"),
        ("DESCRIBE '{csv}'", "file path or URL"),
        ("SUMMARIZE '{csv}'", "file path or URL"),
        ("SHOW SETTINGS", "not a table or view"),
        ("SHOW DATABASES", "lists more than the store"),
        ("SHOW ALL TABLES", "lists more than the store"),
        ("SHOW VARIABLES", "lists more than the store"),
        ("SELECT current_setting('home_directory')", "current_setting reads the session's settings"),
        ("SELECT CURRENT_SETTING('temp_directory') AS d FROM events", "current_setting"),
        ("SELECT getenv('HOME')", "getenv"),
        ("SELECT no_such_function(1)", "not one of DuckDB's built-in functions"),
        ("SELECT system.main.no_such_function(1)", "not one of DuckDB's built-in functions"),
        ("SELECT other_db.main.lower('x')", "another schema or database"),
        ("SELECT planted_df.* FROM planted_df", "not a table or view of the store"),  # a Python DataFrame
        ("SELECT * FROM other_db.main.events", "not a table or view of the store"),
        ("PIVOT events ON channel", "list them with IN"),
        ("SELECT 'x'::no_such_type", "type no_such_type is not known"),
        ("SELECT * FROM range((SELECT count(*) FROM '{csv}'))", "file path or URL"),
        ("SELECT unnest((SELECT list(note) FROM read_csv('{csv}')))", "read_csv"),
        ("PIVOT (FROM '{csv}') ON who IN ('anna') USING count(*)", "file path or URL"),
        ("SELECT * FROM events WHERE channel = (SELECT note FROM read_text('{csv}'))", "read_text"),
        ("SELECT sum(1) OVER w FROM events WINDOW w AS (ORDER BY (SELECT 1 FROM '{csv}'))", "file path"),
        ("SELECT * FROM events WHERE channel = ANY (FROM '{csv}')", "file path"),
        ("SELECT * FROM events POSITIONAL JOIN '{csv}'", "file path"),
        ("SELECT * FROM (DESCRIBE SELECT * FROM '{csv}')", "file path"),
        ("FROM events SELECT * REPLACE ((SELECT max(note) FROM '{csv}') AS channel)", "file path"),
        ("SELECT list_reduce([1], lambda a, b: (SELECT count(*) FROM '{csv}'))", "file path"),
        ("SELECT * FROM events LIMIT (SELECT count(*) FROM '{csv}')", "file path"),
        ("UNPIVOT '{csv}' ON COLUMNS(*) INTO NAME k VALUE v", "file path"),
        ("WITH x AS MATERIALIZED (FROM '{csv}') SELECT 1", "file path"),
        ("FROM sqlite_master", "not a table or view of the store"),
    ],
)
def test_other_ways_out_are_refused(tiny, planted, sql, says):
    planted_df = pd.DataFrame({"note": [MARKER]})  # noqa: F841 - what a replacement scan would find
    assert _refused(tiny, sql.format(**planted), says) is None


@pytest.mark.parametrize(
    "sql, says",
    [
        ("ATTACH '{dir}/other.duckdb' AS other", "ATTACH statement opens another database"),
        ("/* just look */ aTtAcH ':memory:' AS other", "ATTACH"),
        ("DETACH other", "DETACH"),
        ("SET threads = 1", "SET statement changes a setting"),
        ("set enable_external_access = false", "SET"),
        ("RESET threads", "SET"),
        ("SET VARIABLE x = 1", "SET"),
        ("USE memory", "SET"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("pragma version", "PRAGMA"),
        ("COPY events TO '{dir}/copied.csv'", "COPY statement reads or writes files"),
        ("COPY (SELECT * FROM events) TO '{dir}/copied.parquet' (FORMAT parquet)", "COPY"),
        ("COPY events FROM '{csv}'", "COPY"),
        ("EXPORT DATABASE '{dir}/exported'", "EXPORT"),
        ("IMPORT DATABASE '{dir}/exported'", "PRAGMA"),
        ("INSTALL httpfs", "LOAD statement installs or loads an extension"),
        ("FORCE INSTALL httpfs", "LOAD"),
        ("LOAD httpfs", "LOAD"),
        ("CREATE SECRET (TYPE s3, KEY_ID 'a', SECRET 'b')", "CREATE"),
        ("CREATE PERSISTENT SECRET leak (TYPE s3, KEY_ID 'a', SECRET 'b')", "CREATE"),
        ("CALL range(3)", "CALL"),
        ("call read_csv('{csv}')", "CALL"),
        ("CHECKPOINT", "CALL"),
        ("PREPARE p AS SELECT * FROM read_csv('{csv}')", "PREPARE"),
        ("EXECUTE p", "EXECUTE"),
        ("BEGIN TRANSACTION", "TRANSACTION"),
        ("VACUUM", "VACUUM"),
        ("UPDATE EXTENSIONS", "does not name"),
        ("INSERT INTO customers (customer_id, signup_at) VALUES ('z', now())", "INSERT"),
        ("UPDATE customers SET region = 'x'", "UPDATE"),
        ("DELETE FROM customers", "DELETE"),
        ("CREATE VIEW leak AS SELECT * FROM read_csv('{csv}')", "CREATE"),
        ("CREATE MACRO leak() AS TABLE SELECT * FROM read_csv('{csv}')", "CREATE"),
        ("DROP TABLE events", "DROP"),
        ("ALTER TABLE events ADD COLUMN x INTEGER", "ALTER"),
        ("EXPLAIN COPY events TO '{dir}/copied.csv'", "EXPLAIN runs here only on one SELECT"),
        ("EXPLAIN ANALYZE INSERT INTO customers (customer_id) VALUES ('z')", "EXPLAIN"),
        ("EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT * FROM read_csv('{csv}')", "EXPLAIN"),
    ],
)
def test_statements_that_are_not_a_select_are_refused_and_change_nothing(tiny_db, planted, sql, says):
    con = cxlib.connect(tiny_db, read_only=False)
    try:
        settings = con.execute("SELECT name, value FROM duckdb_settings() ORDER BY 1").fetchall()
        assert _refused(con, sql.format(**planted), says) is None
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 7
        assert con.execute("SELECT count(*) FROM customers").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchone()[0] == 1
        assert con.execute("SELECT name, value FROM duckdb_settings() ORDER BY 1").fetchall() == settings
        assert sorted(p.name for p in Path(planted["dir"]).iterdir()) == [
            "secret.csv", "secret.json", "secret.parquet"]
    finally:
        con.close()


def test_macros_and_python_functions_of_the_session_are_refused_their_body_is_not_checked(tiny_db, planted):
    con = cxlib.connect(tiny_db, read_only=False)
    try:
        con.execute(f"CREATE TEMP MACRO leak_rows() AS TABLE SELECT * FROM read_csv('{planted['csv']}')")
        con.execute(f"CREATE TEMP MACRO leak_note() AS (SELECT max(note) FROM read_csv('{planted['csv']}'))")
        con.execute("CREATE TEMP MACRO range(n) AS TABLE SELECT 1 AS i")  # shadows an allowed table function
        assert con.execute("SELECT leak_note()").fetchall() == [(MARKER,)]  # the attack works outside the helper
        con.create_function("leak_py", lambda _: Path(planted["csv"]).read_text(), ["VARCHAR"], "VARCHAR")
        assert MARKER in con.execute("SELECT leak_py('x')").fetchone()[0]
        problems = [
            _refused(con, "SELECT leak_py('x') AS n", "not one of DuckDB's built-in functions"),
            _refused(con, "SELECT * FROM leak_rows()", "leak_rows"),
            _refused(con, "SELECT leak_note() AS n", "macro defined in this session"),
            _refused(con, "SELECT count(*), leak_note() FROM events", "leak_note"),
            _refused(con, "SELECT * FROM range(3)", "macro defined in this session"),
        ]
        assert [p for p in problems if p] == []
    finally:
        con.close()


def test_another_attached_database_is_outside_the_store(tiny_db, tmp_path):
    con = cxlib.connect(tiny_db, read_only=False)
    try:
        con.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")  # attached by the notebook, not the helper
        con.execute(f"CREATE TABLE other.secret AS SELECT '{MARKER}' AS note")
        attacks = [
            ("SELECT * FROM other.secret", "'other.secret' is not a table or view of the store"),
            ("FROM other.main.secret", "not a table or view"),
            ("SELECT * FROM events JOIN other.main.secret ON true", "not a table or view"),
            ("SHOW other.secret", "not a table or view"),
            ("DESCRIBE other.secret", "not a table or view"),
            ("SUMMARIZE other.main.secret", "not a table or view"),
            ("SHOW TABLES FROM other", "'other' is not a schema of the store"),
            ("SHOW TABLES FROM other.main", "not a schema of the store"),
            ("SHOW ALL TABLES", "lists more than the store"),
        ]
        assert [p for p in (_refused(con, sql, says) for sql, says in attacks) if p] == []
        assert len(sqlcell.query("SHOW TABLES FROM main", con=con).df) > 5
        assert len(sqlcell.query("SHOW TABLES FROM t", con=con).df) > 5
    finally:
        con.close()


def test_the_helpers_own_connection_cannot_reach_outside_even_past_the_check(tiny_db, planted, monkeypatch):
    # defence in depth: with the parse check switched off, the store the helper opens itself
    # still cannot read a file (external access off) nor change that setting back
    monkeypatch.setattr(sqlcell, "check_reads_only_store", lambda con, sql: "SELECT")
    with pytest.raises(CxInputError, match="query failed.*(disabled|Permission)"):
        sqlcell.query(f"SELECT * FROM read_csv('{planted['csv']}')", db=str(tiny_db))
    with pytest.raises(CxInputError, match="query failed.*lock"):
        sqlcell.query("SET enable_external_access = true", db=str(tiny_db))
    assert sqlcell.query("SELECT count(*) AS n FROM events", db=str(tiny_db)).df["n"].tolist() == [7]


ALLOWED = [
    (("SELECT c.region, count(*) AS n FROM events e JOIN customers c USING (customer_id) "
     "GROUP BY ALL ORDER BY 1 NULLS LAST"), [["north", 4], ["south", 2], [None, 1]]),
    (("SELECT count(*) AS n FROM events e LEFT JOIN survey_responses r ON r.customer_id = e.customer_id "
     "AND r.metric = 'nps' WHERE r.score >= 9"), [[4]]),
    (("WITH per AS (SELECT customer_id, count(*) AS n FROM events GROUP BY 1), "
     "busy AS (SELECT * FROM per WHERE n > 1) SELECT customer_id FROM busy ORDER BY 1"), [["a"], ["b"]]),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sum(n) AS s FROM r", [[6]]),
    (("SELECT customer_id, ts, row_number() OVER w AS k, lag(touchpoint) OVER w AS before, "
     "count(*) OVER (PARTITION BY customer_id) AS n FROM events WINDOW w AS (PARTITION BY customer_id ORDER BY ts) "
     "QUALIFY k = 1 ORDER BY 1"), None),
    (("SELECT rank() OVER (ORDER BY score DESC) AS r, ntile(2) OVER (ORDER BY score) AS half, "
     "first_value(score) OVER (ORDER BY ts) AS first FROM survey_responses"), None),
    ("SELECT i FROM range(3) t(i)", [[0], [1], [2]]),
    ("SELECT * FROM generate_series(1, 3) AS g(i) WHERE i > 1", [[2], [3]]),
    ("SELECT * FROM unnest(['a', 'b']) AS u(x)", [["a"], ["b"]]),
    ("SELECT unnest(range(2)) AS x, generate_series(1, 1) AS y", None),
    ("SELECT count(*) AS n FROM events e, range(2) t(i) WHERE e.channel = 'web'", [[6]]),
    ("EXPLAIN SELECT * FROM events", None),
    ("EXPLAIN ANALYZE SELECT count(*) FROM events", None),
    ("EXPLAIN (SELECT 1)", None),
    ("DESCRIBE events", None), ("DESCRIBE main.events", None), ("SHOW events", None),
    ("SHOW TABLES", None), ("SUMMARIZE events", None), ("DESCRIBE SELECT 1 AS a", None),
    ("FROM events SELECT count(*) AS n", [[7]]),
    ("SELECT count(*) AS n FROM EVENTS", [[7]]),
    ('SELECT count(*) AS n FROM main."Events"', [[7]]),
    ("SELECT count(*) AS n FROM t.main.events", [[7]]),
    ("SELECT count(*) AS n FROM t.events", [[7]]),
    ("PIVOT events ON channel IN ('web', 'app') USING count(*) GROUP BY customer_id ORDER BY customer_id", None),
    ("UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v", None),
    ("VALUES (1, 'x'), (2, 'y')", None),
    ("SELECT * FROM events e ASOF JOIN survey_responses r ON e.customer_id = r.customer_id AND e.ts >= r.ts", None),
    ("SELECT 'read_csv(''/etc/passwd'')' AS read_csv, 'glob' AS \"glob\"", [["read_csv('/etc/passwd')", "glob"]]),
    ("SELECT customer_id -- FROM read_csv('/etc/passwd')\n FROM customers /* , read_text('x') */ ORDER BY 1",
     [["a"], ["b"], ["c"]]),
    (("SELECT date_trunc('month', ts) AS m, strftime(ts, '%Y') AS y, ts::DATE AS d, extract(year FROM ts) AS yr, "
     "ts + INTERVAL 1 DAY AS nxt, epoch(ts) AS e FROM events"), None),
    (("SELECT channel ILIKE 'W%' AS a, channel NOT LIKE 'x%' AS b, channel SIMILAR TO 'w.b' AS c, "
     "regexp_matches(channel, '^a') AS d, channel || '!' AS e, upper(channel) AS f, channel IN ('web') AS g, "
     "coalesce(session_id, 'none') AS h, CASE WHEN channel = 'web' THEN 1 ELSE 0 END AS i, "
     "[x * 2 FOR x IN [1, 2]] AS j, list_transform([1], lambda x: x + 1) AS k, {'a': 1}.a AS l, "
     "greatest(1, 2) AS m, hash(channel) AS n, md5(channel) AS o, TRY_CAST(channel AS INTEGER) AS p FROM events"), None),
    (("SELECT channel, count(DISTINCT customer_id) AS n, string_agg(e.touchpoint, ',' ORDER BY e.ts) AS tps, "
     "count(*) FILTER (WHERE e.touchpoint = 'checkout') AS c, quantile_cont(score, 0.5) AS med, "
     "arg_max(e.touchpoint, e.ts) AS last_tp, list(e.ts ORDER BY e.ts)[1] AS first_ts "
     "FROM events e LEFT JOIN survey_responses USING (customer_id, channel) GROUP BY channel"), None),
    (("SELECT * FROM events WHERE customer_id IN (SELECT customer_id FROM customers WHERE region = 'north') "
     "AND EXISTS (SELECT 1 FROM survey_responses s WHERE s.customer_id = events.customer_id)"), None),
    ("SELECT * EXCLUDE (session_id) FROM events ORDER BY ALL LIMIT 2", None),
    ("SELECT COLUMNS('^(customer_id|channel)$') FROM events", None),
    ("SELECT current_date >= DATE '2025-01-01' AS later, now() IS NOT NULL AS x, version() IS NOT NULL AS v", None),
]


def test_ordinary_analyst_queries_still_run(tiny):
    problems = []
    for sql, rows in ALLOWED:
        try:
            r = sqlcell.query(sql, con=tiny)
        except CxInputError as exc:
            problems.append(f"{sql!r}: {exc}")
            continue
        got = r.df.astype(object).where(r.df.notna(), None).values.tolist()
        if rows is not None and got != rows:
            problems.append(f"{sql!r}: {got} != {rows}")
    assert problems == []


def test_allowed_queries_keep_bound_parameters_limits_and_charts(tiny, tiny_db):
    r = sqlcell.query("WITH e AS (SELECT * FROM events WHERE channel = $ch) SELECT touchpoint, count(*) AS n "
                      "FROM e GROUP BY 1 ORDER BY 1", {"ch": "web"}, con=tiny)
    assert r.df.values.tolist() == [["checkout", 1], ["home_page", 1], ["payment", 1]]
    assert r.chart is not None and r.params == {"ch": "web"}
    r = sqlcell.query("SELECT i FROM range($n) t(i)", {"n": 30}, con=tiny, limit=10)
    assert r.truncated and len(r.df) == 10
    r = sqlcell.query("SELECT count(*) AS n FROM events WHERE channel = ? AND ts >= ?", ["app", "2025-01-03"],
                      db=str(tiny_db))
    assert r.df["n"].tolist() == [3]
    # a value that looks like an attack is only a value
    r = sqlcell.query("SELECT count(*) AS n FROM events WHERE channel = $ch", {"ch": "x') UNION SELECT * FROM "
                      "read_csv('/etc/passwd') --"}, con=tiny)
    assert r.df["n"].tolist() == [0]


def test_queries_inside_a_filter_read_its_views_and_nothing_outside(tiny, planted):
    with filtered(tiny, Filters(attribute="region", values=["north"])) as fs:
        r = sqlcell.query("SELECT count(*) AS n FROM events e JOIN customers c USING (customer_id)", con=fs)
        assert r.df["n"].tolist() == [4]
        assert sqlcell.query("SELECT count(*) AS n FROM temp.main.events", con=fs).df["n"].tolist() == [4]
        assert _refused(fs, f"SELECT * FROM events, read_csv('{planted['csv']}')", "read_csv") is None
        assert _refused(fs.con, f"FROM '{planted['csv']}'", "file path") is None


def test_the_cell_magic_is_checked_too(tiny, planted):
    ns = {"con": tiny, "path": planted["csv"]}
    with pytest.raises(CxInputError, match=REFUSED):
        cxsql("--con con", "SELECT * FROM read_csv($path)", ns)
    with pytest.raises(CxInputError, match=REFUSED):
        cxsql("--con con -o leaked", f"FROM '{planted['csv']}'", ns)
    assert "leaked" not in ns
