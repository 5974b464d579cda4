"""The canonical schema: every table, its columns, keys and the rules a row must meet.

This module is the one description of the store. The DDL, ingestion's validation and the
sample generator all read it, so a rule stated here holds everywhere.

Column kinds:
  id        text identifier, kept as written (``02134`` stays ``02134``); blank is missing
  text      free text (may hold untrusted content such as customer comments)
  timestamp stored as UTC ``TIMESTAMP``; offsets converted, naive times read in the load's time zone
  int, float, bool
"""

from __future__ import annotations

from dataclasses import dataclass, field

STAGES = ("awareness", "consideration", "purchase", "service", "loyalty")
# The built-in survey metrics and their scales; a store may declare more (table survey_metrics).
SURVEY_METRICS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

SQL_TYPES = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "int": "INTEGER",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True  # must be present in the file header
    nullable: bool = False  # may be blank in a row
    doc: str = ""
    min: float | None = None  # inclusive lower bound for int/float
    choices: tuple[str, ...] | None = None  # allowed values (after lower-casing)
    virtual: bool = False  # read from a file and used to derive stored columns, never stored itself
    future_ok: bool = False  # a timestamp that may lie after the load time (a planned end)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # a row whose key is already in the store or earlier in the file is a duplicate
    doc: str
    references_customers: bool = True  # customer_id must exist in customers
    extra_columns: bool = False  # further columns are kept (customers: segment attributes)
    properties: bool = False  # further columns are kept together as JSON in the `properties` column
    derived_key: str | None = None  # a key column that, when a file lacks it, is derived from the row's content
    checks: tuple[tuple[str, str, str], ...] = field(default=())
    # (column, SQL condition on typed values that must hold, reason when it does not)

    @property
    def names(self) -> list[str]:
        """The stored columns (without virtual ones and without `properties`)."""
        return [c.name for c in self.columns if not c.virtual]

    @property
    def accepted(self) -> list[str]:
        """Every column a file may name, virtual ones included."""
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _id(name: str, doc: str = "", **kw) -> Column:
    return Column(name, "id", doc=doc, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "customers",
            (
                _id("customer_id", "joins every table (the 360-degree view)"),
                Column("signup_at", "timestamp", required=False, nullable=True,
                       doc="when the customer relationship began; when absent, the first time the customer is "
                           "seen in any table"),
            ),
            key=("customer_id",),
            doc="one row per customer; every further column is a segment attribute (region, plan, ...)",
            references_customers=False,
            extra_columns=True,
        ),
        Table(
            "events",
            (
                _id("customer_id"),
                Column("ts", "timestamp", doc="when the interaction happened"),
                _id("touchpoint", "what happened (e.g. 'product_page', 'checkout'); mapped to a stage"),
                _id("channel", "where (web, app, email, phone, chat, store, ...)"),
                _id("session_id", required=False, nullable=True),
            ),
            key=("customer_id", "ts", "touchpoint", "channel"),
            doc="every interaction across channels; the same customer, time, touchpoint and channel twice is one event",
            properties=True,
        ),
        Table(
            "touchpoint_stages",
            (
                _id("touchpoint"),
                Column("stage", "id", choices=STAGES, doc="journey stage: " + ", ".join(STAGES)),
            ),
            key=("touchpoint",),
            doc="the touchpoint -> stage map (data/touchpoint_stages.csv is the shipped default)",
            references_customers=False,
        ),
        Table(
            "survey_responses",
            (
                _id("response_id"),
                _id("customer_id"),
                Column("ts", "timestamp"),
                Column("metric", "id", doc="nps (0-10), csat (1-5), ces (1-7), or a metric declared with its scale"),
                Column("score", "int", doc="the rating, range depends on metric"),
                _id("touchpoint", required=False, nullable=True, doc="blank for relationship surveys"),
                _id("channel", required=False, nullable=True),
                Column("comment", "text", required=False, nullable=True, doc="untrusted free text"),
            ),
            key=("response_id",),
            doc="survey answers; a blank touchpoint marks a relationship survey",
            properties=True,
            derived_key="response_id",
        ),
        Table(
            "orders",
            (
                _id("order_id"),
                _id("customer_id"),
                Column("ts", "timestamp"),
                Column("amount", "float", min=0, doc="order value, never negative"),
                _id("channel", required=False, nullable=True),
            ),
            key=("order_id",),
            doc="revenue, for value and lifetime value",
            properties=True,
            derived_key="order_id",
        ),
        Table(
            "tickets",
            (
                _id("ticket_id"),
                _id("customer_id"),
                Column("opened_at", "timestamp"),
                Column("resolved_at", "timestamp", nullable=True, doc="blank while the ticket is open"),
                _id("channel"),
                _id("category", required=False, nullable=True),
                _id("agent_id", required=False, nullable=True),
                Column("contacts", "int", required=False, nullable=True, min=1, doc="contacts needed to resolve"),
                Column("reopened", "bool", required=False, nullable=True),
            ),
            key=("ticket_id",),
            doc="service cases: responsiveness, first-contact resolution, effort",
            properties=True,
            derived_key="ticket_id",
            checks=(("resolved_at", "resolved_at IS NULL OR resolved_at >= opened_at", "resolved before it was opened"),),
        ),
        Table(
            "subscriptions",
            (
                _id("customer_id"),
                _id("plan"),
                Column("started_at", "timestamp", required=False, doc="or derived from tenure"),
                Column("ended_at", "timestamp", required=False, nullable=True, future_ok=True,
                       doc="blank while the subscription runs; a planned end may lie in the future"),
                Column("tenure", "float", required=False, nullable=True, min=0, virtual=True,
                       doc="instead of started_at: time subscribed up to the export's as-of date (unit given)"),
                Column("churned", "bool", required=False, nullable=True, virtual=True,
                       doc="with tenure: the subscription ended by the as-of date"),
            ),
            key=("customer_id", "plan", "started_at"),
            doc="contractual relationships; an ended subscription is contractual churn",
            properties=True,
            checks=(("ended_at", "ended_at IS NULL OR ended_at >= started_at", "ended before it started"),),
        ),
    ]
}

# Tables in the order they must be loaded: customers first (others reference them).
LOAD_ORDER = ["customers", "touchpoint_stages", "events", "survey_responses", "orders", "tickets", "subscriptions"]


def table(name: str) -> Table:
    from cxlib.errors import unknown_name

    if name not in TABLES:
        raise unknown_name("table", name, "the schema", TABLES)
    return TABLES[name]


def create_table_sql(t: Table) -> str:
    cols = [f'"{c.name}" {SQL_TYPES[c.kind]}' + ("" if c.nullable else " NOT NULL") for c in t.columns if not c.virtual]
    if t.properties:
        cols.append('"properties" JSON')
    cols.append(f"PRIMARY KEY ({', '.join(t.key)})" if t.name != "events" else "")
    body = ",\n  ".join(c for c in cols if c)
    return f"CREATE TABLE IF NOT EXISTS {t.name} (\n  {body}\n)"


BOOKKEEPING_DDL = [
    """CREATE TABLE IF NOT EXISTS load_log (
  load_id INTEGER PRIMARY KEY,
  table_name VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP NOT NULL,
  read BIGINT NOT NULL,
  loaded BIGINT NOT NULL,
  rejected BIGINT NOT NULL,
  timezone VARCHAR,
  date_format VARCHAR,
  inserted BIGINT,
  updated BIGINT,
  unchanged BIGINT,
  customers_added BIGINT,
  options JSON
)""",
    """CREATE TABLE IF NOT EXISTS rejects (
  load_id INTEGER NOT NULL,
  table_name VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  line BIGINT,
  column_name VARCHAR,
  reason VARCHAR NOT NULL,
  raw VARCHAR
)""",
    # The previous version of every row that a load with `update` replaced.
    """CREATE TABLE IF NOT EXISTS history (
  load_id INTEGER NOT NULL,
  table_name VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  replaced_at TIMESTAMP NOT NULL,
  previous JSON NOT NULL
)""",
    # Customers created from first sight by a load with `add_customers`.
    """CREATE TABLE IF NOT EXISTS added_customers (
  customer_id VARCHAR PRIMARY KEY,
  load_id INTEGER NOT NULL
)""",
    # Customers whose signup_at is the first time they were seen (an earlier row loaded later moves it back).
    """CREATE TABLE IF NOT EXISTS first_sight (
  customer_id VARCHAR PRIMARY KEY
)""",
    # Customer columns declared personal (cx ingest customers FILE --personal name,email): their
    # values are masked wherever a report shows them, segment values included (cxlib.privacy.masking;
    # columns with a usual personal name, such as name or email, count without this).
    """CREATE TABLE IF NOT EXISTS personal_columns (
  column_name VARCHAR PRIMARY KEY
)""",
    # Survey metrics and their scales: the built-in ones and any a load declares.
    """CREATE TABLE IF NOT EXISTS survey_metrics (
  metric VARCHAR PRIMARY KEY,
  scale_min INTEGER NOT NULL,
  scale_max INTEGER NOT NULL,
  CHECK (scale_min < scale_max)
)""",
]

# Columns added since a store's first version: (table, column, type); a store opened for
# writing gets the ones it lacks (and customers.signup_at loses its NOT NULL).
ADDED_COLUMNS = [
    *[("load_log", c, "BIGINT") for c in ("inserted", "updated", "unchanged", "customers_added")],
    ("load_log", "options", "JSON"),
    *[(t.name, "properties", "JSON") for t in TABLES.values() if t.properties],
]


# Derived after every load: each customer's events in time order, so journey queries read
# instead of sort. seq is 1-based; ties on ts are broken by touchpoint then channel so that the
# order, and every result built on it, is the same on every run. `{scope}` restricts the rebuild to
# some customers (a condition on e.customer_id; TRUE for all). Columns after next_ts:
#   cid              the customer's integer key (customer_keys)
#   next_stage       the next event's stage
#   first_pair       the first (touchpoint, next_touchpoint) pair of its kind in the customer's events
#   first_stage_pair the first (stage, next_stage) pair of its kind where the stage changes
#   first_source     the first pair (next_ts not null) from this touchpoint in the customer's events
#   first_stage_source the first stage-changing pair (stage <> next_stage) from this stage
# so that "distinct customers making a pair" (and "leaving a source") is a filtered count, not a
# DISTINCT over all pairs.
EVENTS_ORDERED_SELECT = """
WITH o AS (
  SELECT
    e.customer_id, e.ts, e.touchpoint, e.channel, e.session_id,
    coalesce(m.stage, 'unmapped') AS stage,
    row_number() OVER w AS seq,
    lag(e.touchpoint) OVER w AS prev_touchpoint,
    lag(e.channel) OVER w AS prev_channel,
    lag(e.ts) OVER w AS prev_ts,
    lead(e.touchpoint) OVER w AS next_touchpoint,
    lead(e.channel) OVER w AS next_channel,
    lead(e.ts) OVER w AS next_ts,
    k.cid,
    lead(coalesce(m.stage, 'unmapped')) OVER w AS next_stage
  FROM events e JOIN customer_keys k ON k.customer_id = e.customer_id
  LEFT JOIN touchpoint_stages m ON m.touchpoint = e.touchpoint
  WHERE {scope}
  WINDOW w AS (PARTITION BY k.cid ORDER BY e.ts, e.touchpoint, e.channel)
),
first_pairs AS (SELECT cid, min(seq) AS seq FROM o WHERE next_ts IS NOT NULL GROUP BY cid, touchpoint, next_touchpoint),
first_stage_pairs AS (SELECT cid, min(seq) AS seq FROM o WHERE stage <> next_stage GROUP BY cid, stage, next_stage),
first_sources AS (SELECT cid, min(seq) AS seq FROM o WHERE next_ts IS NOT NULL GROUP BY cid, touchpoint),
first_stage_sources AS (SELECT cid, min(seq) AS seq FROM o WHERE stage <> next_stage GROUP BY cid, stage)
SELECT o.*, fp.seq IS NOT NULL AS first_pair, fs.seq IS NOT NULL AS first_stage_pair,
  fo.seq IS NOT NULL AS first_source, fso.seq IS NOT NULL AS first_stage_source
FROM o
LEFT JOIN first_pairs fp ON fp.cid = o.cid AND fp.seq = o.seq
LEFT JOIN first_stage_pairs fs ON fs.cid = o.cid AND fs.seq = o.seq
LEFT JOIN first_sources fo ON fo.cid = o.cid AND fo.seq = o.seq
LEFT JOIN first_stage_sources fso ON fso.cid = o.cid AND fso.seq = o.seq
ORDER BY o.customer_id, o.seq
"""
EVENTS_ORDERED_SQL = "CREATE OR REPLACE TABLE events_ordered AS" + EVENTS_ORDERED_SELECT.format(scope="TRUE")

# Integer customer keys for derived tables (an integer joins, groups and counts faster than text).
# The table only grows: a customer keeps its key across loads. `{touched}` lists customer ids.
CUSTOMER_KEYS_DDL = """CREATE TABLE IF NOT EXISTS customer_keys (
  customer_id VARCHAR PRIMARY KEY,
  cid BIGINT NOT NULL
)"""
NEW_CUSTOMER_KEYS_SQL = """
INSERT INTO customer_keys
SELECT customer_id, (SELECT coalesce(max(cid), 0) FROM customer_keys) + row_number() OVER (ORDER BY customer_id)
FROM (SELECT customer_id FROM ({touched}) EXCEPT SELECT customer_id FROM customer_keys)
"""
ALL_ACTIVE_CUSTOMERS = "SELECT customer_id FROM events UNION SELECT customer_id FROM orders"

# Customer x period activity (events and orders), for cohort retention and lifecycle: one row per
# customer (cid), period kind ('week' | 'month') and period start p that holds activity, with the
# first activity time in that period, so that "active in p at or before as-of" is first_ts <= as-of.
CUSTOMER_ACTIVITY_SELECT = """
SELECT d.cid, u.period, date_trunc(u.period, d.first_ts) AS p, min(d.first_ts) AS first_ts
FROM (  -- first activity per customer and day first: a day lies in one week and one month
  SELECT k.cid, min(a.ts) AS first_ts
  FROM (SELECT customer_id, ts FROM events WHERE {scope}
        UNION ALL SELECT customer_id, ts FROM orders WHERE {scope}) a
  JOIN customer_keys k ON k.customer_id = a.customer_id
  GROUP BY k.cid, date_trunc('day', a.ts)
) d
CROSS JOIN (VALUES ('month'), ('week')) u(period)
GROUP BY ALL
ORDER BY u.period, d.cid, p
"""
CUSTOMER_ACTIVITY_SQL = "CREATE OR REPLACE TABLE customer_activity AS" + CUSTOMER_ACTIVITY_SELECT.format(scope="TRUE")
