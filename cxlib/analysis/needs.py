"""What each report section needs from the store, in one place, and the check that says so.

Real stores hold part of the tables: a clickstream alone, subscriptions alone, one survey. A
section of a report notebook asks ``section(con, "journey.funnel")`` before it runs: when the
store holds what the section needs, it returns True; when not, it shows one plain sentence
(what is missing and how to load it) and returns False, and the notebook goes on with the next
section. The sentence carries the section's name in its output metadata, so the report renderer
can leave out the captions that belong to a section that did not run.

A requirement counts something in the store (rows of a table, answers of a survey metric,
customers with two orders, ...) and needs at least a minimum. Counts run as fixed SQL with
bound parameters; a few take the section's context (the segment, the churn definition).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from cxlib.errors import CxInputError, unknown_name
from cxlib.sql import table_columns

LOAD = {
    "events": "cx ingest events FILE (--preset clickstream, amplitude, mixpanel, ga4 or segment for their exports)",
    "surveys": "cx ingest survey_responses FILE (--preset qualtrics or surveymonkey for a wide export)",
    "orders": "cx ingest orders FILE (--preset shopify, stripe or cdnow)",
    "tickets": "cx ingest tickets FILE (--preset zendesk)",
    "subscriptions": "cx ingest subscriptions FILE (--preset subscriptions-tenure for one row per customer)",
    "customers": "cx ingest customers FILE (any further column becomes a segment attribute)",
}


@dataclass(frozen=True)
class Requirement:
    """At least `minimum` of what `count` counts; `label` says it in plain words, `load` how to get it."""

    label: str
    count: Callable[[duckdb.DuckDBPyConnection, dict], int]
    minimum: int = 1
    load: str = ""


def _sql(query: str, **fixed) -> Callable[[duckdb.DuckDBPyConnection, dict], int]:
    def count(con, context):
        params = {k: v for k, v in {**fixed, **context}.items() if f"${k}" in query}
        return con.execute(query, params).fetchone()[0] or 0
    return count


def _answers(metric: str, extra: str = "") -> Callable:
    return _sql(f"SELECT count(*) FROM survey_responses WHERE metric = $metric {extra}", metric=metric)


def _segment_values(con, context) -> int:
    """Groups the chosen breakdown has (0 when the store has no such attribute)."""
    segment = context.get("segment")
    if segment in (None, "", "none"):
        return 0
    if segment == "nps_group":
        return con.execute("SELECT count(DISTINCT CASE WHEN score >= 9 THEN 'p' WHEN score >= 7 THEN 'n' ELSE 'd' END) "
                           "FROM survey_responses WHERE metric = 'nps'").fetchone()[0]
    if segment not in table_columns(con, "customers"):
        return 0
    from cxlib.sql import quote_ident

    return con.execute(f"SELECT count(DISTINCT {quote_ident(segment)}) FROM customers").fetchone()[0]


def _churn_population(con, context) -> int:
    """Customers whose churn can be judged under the section's definition."""
    if context.get("definition", "non_contractual") == "contractual":
        return con.execute("SELECT count(DISTINCT customer_id) FROM subscriptions").fetchone()[0]
    return con.execute("SELECT count(DISTINCT customer_id) FROM (SELECT customer_id FROM events UNION ALL "
                       "SELECT customer_id FROM orders)").fetchone()[0]


def _churned(con, context) -> int:
    """Customers who churned under the section's definition (needed to model churn)."""
    from cxlib.analysis.churn.status import churn_status

    if _churn_population(con, context) == 0:
        return 0
    status = churn_status(con, definition=context.get("definition", "non_contractual"),
                          inactivity_days=context.get("inactivity_days", 90), as_of=context.get("as_of"))
    return int(status["churned"].sum())


EVENTS = Requirement("events (a clickstream or interaction log)", _sql("SELECT count(*) FROM events"),
                     load=LOAD["events"])
JOURNEYS = Requirement("customers with at least two events", _sql(
    "SELECT count(*) FROM (SELECT customer_id FROM events GROUP BY 1 HAVING count(*) >= 2)"), load=LOAD["events"])
CHANNELS = Requirement("events on at least two channels", _sql("SELECT count(DISTINCT channel) FROM events"), 2,
                       LOAD["events"])
SERVICE_CONTACTS = Requirement(
    "service contacts (events whose touchpoint is chat, phone_call, email_support, store_visit or help_center)",
    _sql("SELECT count(*) FROM events WHERE touchpoint IN ('chat', 'phone_call', 'email_support', 'store_visit', "
         "'help_center')"), load="give your service contacts these touchpoint names in the events file you load")
# The next two are counted only where there are events: without events, EVENTS or JOURNEYS says what is missing.
STAGED_EVENTS = Requirement(
    "events whose touchpoints have a journey stage (awareness, consideration, purchase, service, loyalty)",
    _sql("SELECT CASE WHEN count(*) = 0 THEN 1 ELSE count(*) FILTER (WHERE stage <> 'unmapped') END "
         "FROM events_ordered"),
    load="cx stages suggest (it writes touchpoint_stages.csv with a stage guessed for each of the store's "
         "touchpoints), correct the stages in it, then cx ingest touchpoint_stages touchpoint_stages.csv")


def _funnel_starts(con, context) -> int:
    """Customers with the funnel's first step (0 when no steps fit the store's events: `steps` is None)."""
    steps = context.get("steps")
    if not con.execute("SELECT count(*) FROM events").fetchone()[0]:
        return 1
    if not steps:
        return 0
    return con.execute("SELECT count(DISTINCT customer_id) FROM events WHERE touchpoint = ?", [steps[0]]).fetchone()[0]


FUNNEL_STEPS = Requirement(
    "funnel steps that customers take (the default steps, or else a path of three to five touchpoints many "
    "customers follow)", _funnel_starts, load="pass funnel_steps: touchpoints of your events that customers take in order")
NPS = Requirement("NPS answers (0-10)", _answers("nps"), load=LOAD["surveys"])
CSAT = Requirement("CSAT answers (1-5)", _answers("csat"), load=LOAD["surveys"])
CES = Requirement("CES answers (1-7)", _answers("ces"), load=LOAD["surveys"])
NPS_PERIODS = Requirement("NPS answers in at least two periods", _sql(
    "SELECT count(DISTINCT date_trunc($period, ts)) FROM survey_responses WHERE metric = 'nps'", period="month"), 2,
    LOAD["surveys"])
RATED_TOUCHPOINTS = Requirement("CSAT or CES answers tied to a touchpoint", _sql(
    "SELECT count(*) FROM survey_responses WHERE metric IN ('csat', 'ces') AND touchpoint IS NOT NULL"),
    load=LOAD["surveys"] + " with a touchpoint column")
NPS_COMMENTS = Requirement("NPS answers with a comment", _answers("nps", "AND nullif(trim(comment), '') IS NOT NULL"),
                           load=LOAD["surveys"] + " with a comment column")
SURVEY_COMMENTS = Requirement("survey answers with a comment", _sql(
    "SELECT count(*) FROM survey_responses WHERE nullif(trim(comment), '') IS NOT NULL"),
    load=LOAD["surveys"] + " with a comment column")
COMMENTS = Requirement("survey comments (at least 20 for topics)", _sql(
    "SELECT count(*) FROM survey_responses WHERE nullif(trim(comment), '') IS NOT NULL"), 20, LOAD["surveys"])
ORDERS = Requirement("orders", _sql("SELECT count(*) FROM orders"), load=LOAD["orders"])
REPEAT_BUYERS = Requirement("customers with at least two orders (at least 20 of them, to fit a lifetime model)", _sql(
    "SELECT count(*) FROM (SELECT customer_id FROM orders GROUP BY 1 HAVING count(*) >= 2)"), 20, LOAD["orders"])
TICKETS = Requirement("service tickets", _sql("SELECT count(*) FROM tickets"), load=LOAD["tickets"])
SUBSCRIPTIONS = Requirement("subscriptions", _sql("SELECT count(*) FROM subscriptions"), load=LOAD["subscriptions"])
ACTIVITY = Requirement("customers with dated activity (events, orders or subscriptions, by the churn definition)",
                       _churn_population, load=LOAD["events"] + ", " + LOAD["orders"] + " or " + LOAD["subscriptions"])
CHURNERS = Requirement("customers who churned (under the chosen churn definition)", _churned,
                       load="data covering a longer period, or another churn definition")
SEGMENT = Requirement("a breakdown with at least two groups (a customer attribute, or nps_group with NPS answers)",
                      _segment_values, 2, LOAD["customers"])
ACTIVITY_LOG = Requirement("events or orders (cohorts and the lifecycle count dated activity)", _sql(
    "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM orders)"),
    load=LOAD["events"] + " or " + LOAD["orders"])
NPS_GROUPS = Requirement("relationship NPS answers (NPS without a touchpoint: they put customers in NPS groups)",
                        _answers("nps", "AND touchpoint IS NULL"), load=LOAD["surveys"])
def _cx_factors(con, context) -> int:
    """CX factors of the churn model that differ between the customers it would fit."""
    from cxlib.analysis.churn.cox import cox_factors

    return len(cox_factors(con, definition=context.get("definition", "non_contractual"),
                           inactivity_days=context.get("inactivity_days", 90), as_of=context.get("as_of")))


CX_FACTORS = Requirement(
    "CX factors that differ between customers (relationship NPS answers, service tickets or channel switches)",
    _cx_factors, load=LOAD["surveys"] + "; " + LOAD["tickets"])


def _cluster_features(con, context) -> int:
    """Behavioural features that vary between customers (what clustering would use)."""
    from cxlib.analysis.segments.clusters import cluster_features_used

    return len(cluster_features_used(con))


CLUSTER_FEATURES = Requirement(
    "at least two per-customer measures that vary between customers (activity, orders, tickets, ratings or numeric "
    "customer attributes)", _cluster_features, 2, LOAD["events"] + ", " + LOAD["orders"] + " or " + LOAD["tickets"])
CUSTOMERS_TO_CLUSTER = Requirement("customers (at least 20, to cluster)", _sql("SELECT count(*) FROM customers"), 20,
                                   LOAD["customers"])
CUSTOMERS_WITH_ACTIVITY = Requirement("customers with activity (events, orders, tickets or answers; at least 20)", _sql(
    "SELECT count(*) FROM (SELECT customer_id FROM events UNION SELECT customer_id FROM orders UNION SELECT customer_id "
    "FROM tickets UNION SELECT customer_id FROM survey_responses)"), 20, LOAD["events"])


# --------------------------------------------------------------------------- voice of the customer, overview


def _relationship_nps(con, context) -> int:
    """Customers with an NPS answer without a touchpoint (relationship NPS: drivers, follow-up)."""
    return con.execute("SELECT count(DISTINCT customer_id) FROM survey_responses "
                       "WHERE metric = 'nps' AND touchpoint IS NULL").fetchone()[0]


def _driver_inputs(con, context) -> int:
    """Things that can explain NPS: touchpoint ratings, tickets, events, and customer attributes
    with at least two values (each counted; 0 when the store holds none of them)."""
    from cxlib.sql import quote_ident

    found = con.execute(
        "SELECT (SELECT count(*) FROM survey_responses WHERE metric = 'csat' AND touchpoint IS NOT NULL) "
        "+ (SELECT count(*) FROM tickets) + (SELECT count(*) FROM events)").fetchone()[0]
    for column in table_columns(con, "customers"):
        if column not in ("customer_id", "signup_at"):
            found += con.execute(f"SELECT count(DISTINCT {quote_ident(column)}) >= 2 FROM customers").fetchone()[0]
    return found


def _nps_breakdown(con, context) -> int:
    """Groups an NPS breakdown by the context's segment has: a customer attribute's values, or the
    touchpoints / channels NPS answers carry (0 for none, nps_group, or an attribute not held)."""
    from cxlib.sql import quote_ident

    segment = context.get("segment")
    if segment in ("touchpoint", "channel"):
        return con.execute(f"SELECT count(DISTINCT {quote_ident(segment)}) FROM survey_responses "
                           "WHERE metric = 'nps'").fetchone()[0]
    if segment in (None, "", "none", "nps_group") or segment not in table_columns(con, "customers"):
        return 0
    return con.execute(f"SELECT count(DISTINCT {quote_ident(segment)}) FROM customers").fetchone()[0]


RELATIONSHIP_NPS = Requirement("customers with a relationship NPS answer (an NPS answer without a touchpoint)",
                               _relationship_nps, load=LOAD["surveys"])
def _driver_outcomes(con, context) -> int:
    """Customers with the outcome key drivers explain (context `target`, default NPS): a
    relationship NPS answer; a CSAT or CES answer; for churn, customers with activity."""
    target = context.get("target") or "nps"
    if target in ("csat", "ces"):
        return con.execute("SELECT count(DISTINCT customer_id) FROM survey_responses WHERE metric = ?",
                           [target]).fetchone()[0]
    if target == "churn":
        return con.execute("SELECT count(*) FROM (SELECT customer_id FROM events UNION SELECT customer_id FROM orders "
                           "UNION SELECT customer_id FROM subscriptions)").fetchone()[0]
    return _relationship_nps(con, context)


DRIVER_NPS = Requirement("customers with the outcome the drivers explain: a relationship NPS answer, or for a CSAT, "
                         "CES or churn target those answers or activity (at least 30, to fit a driver model)",
                         _driver_outcomes, 30, LOAD["surveys"])
DRIVER_INPUTS = Requirement(
    "something to explain NPS with: touchpoint ratings (CSAT answers tied to a touchpoint), service tickets, events "
    "or customer attributes", _driver_inputs,
    load=LOAD["surveys"] + " with a touchpoint column; " + LOAD["tickets"] + "; " + LOAD["customers"])
NPS_BREAKDOWN = Requirement(
    "a customer attribute with at least two groups to break NPS down by (such as region or plan)", _nps_breakdown, 2,
    LOAD["customers"])
CSAT_TOUCHPOINTS = Requirement("CSAT answers tied to a touchpoint", _answers("csat", "AND touchpoint IS NOT NULL"),
                               load=LOAD["surveys"] + " with a touchpoint column")
CES_CHANNELS = Requirement("CES answers with a channel", _answers("ces", "AND channel IS NOT NULL"),
                           load=LOAD["surveys"] + " with a channel column")
PEAK_END_CUSTOMERS = Requirement(
    "customers who rated two or more interactions (CSAT tied to a touchpoint) before a relationship NPS answer "
    "(at least 20)", _sql(
        "SELECT count(*) FROM (SELECT n.customer_id FROM survey_responses n JOIN survey_responses r "
        "ON r.customer_id = n.customer_id AND r.ts < n.ts AND r.metric = 'csat' AND r.touchpoint IS NOT NULL "
        "WHERE n.metric = 'nps' AND n.touchpoint IS NULL GROUP BY n.customer_id HAVING count(DISTINCT r.response_id) "
        ">= 2)"), 20, LOAD["surveys"] + " with a touchpoint column")
TOPIC_COMMENTS = Requirement("NPS answers with a comment (at least 20, to find topics)",
                             _answers("nps", "AND nullif(trim(comment), '') IS NOT NULL"), 20,
                             LOAD["surveys"] + " with a comment column")
CSAT_PERIODS = Requirement("CSAT answers in at least two periods", _sql(
    "SELECT count(DISTINCT date_trunc($period, ts)) FROM survey_responses WHERE metric = 'csat'", period="month"), 2,
    LOAD["surveys"])
CES_PERIODS = Requirement("CES answers in at least two periods", _sql(
    "SELECT count(DISTINCT date_trunc($period, ts)) FROM survey_responses WHERE metric = 'ces'", period="month"), 2,
    LOAD["surveys"])



# --------------------------------------------------------------------------- service, impact, what moved


def _ticket_answers(con, context) -> int:
    """CSAT or CES answers that follow a resolved ticket of the same customer within the link window."""
    hours = float(context.get("answer_window_hours", 48))
    return con.execute(
        "SELECT count(DISTINCT r.response_id) FROM survey_responses r JOIN tickets t ON t.customer_id = r.customer_id "
        "AND r.ts > t.resolved_at AND r.ts <= t.resolved_at + to_seconds(CAST(round(? * 3600) AS BIGINT)) "
        "AND (r.channel IS NULL OR t.channel IS NULL OR r.channel = t.channel) WHERE r.metric IN ('csat', 'ces')",
        [hours]).fetchone()[0]


def _impact_periods(con, context) -> int:
    """Periods with data of the impact metric on the side of the change date that has fewer (with no
    change date: half the periods with data of any metric impact can judge)."""
    metric, period = context.get("metric") or "csat", context.get("period") or "week"
    if period not in ("week", "month", "quarter") or metric not in ("nps", "csat", "ces", "fcr"):
        return 0
    data = ("SELECT date_trunc($period, opened_at) AS p FROM tickets WHERE resolved_at IS NOT NULL AND contacts IS NOT NULL"
            if metric == "fcr" else "SELECT date_trunc($period, ts) AS p FROM survey_responses WHERE metric = $metric")
    params = {"period": period} if metric == "fcr" else {"period": period, "metric": metric}
    change = context.get("change_date")
    if change is None:
        return con.execute(f"SELECT count(DISTINCT p) // 2 FROM ({data})", params).fetchone()[0]
    return con.execute(f"SELECT least(count(DISTINCT p) FILTER (WHERE p < CAST($change AS TIMESTAMP)), "
                       f"count(DISTINCT p) FILTER (WHERE p >= CAST($change AS TIMESTAMP))) FROM ({data})",
                       {**params, "change": str(change)}).fetchone()[0]


RESOLVED_TICKETS = Requirement("resolved service tickets", _sql("SELECT count(*) FROM tickets WHERE resolved_at IS NOT NULL"),
                               load=LOAD["tickets"])
TICKET_ANSWERS = Requirement(
    "CSAT or CES answers given shortly after a ticket was resolved (same customer and channel, within 48 hours)",
    _ticket_answers, load=LOAD["surveys"] + " holding the ratings customers gave after their tickets")
AGENT_TICKETS = Requirement("tickets with an agent (agent_id)", _sql("SELECT count(agent_id) FROM tickets"),
                            load=LOAD["tickets"] + " with an agent_id column")
IMPACT_DATA = Requirement(
    "data of the impact metric (NPS, CSAT or CES answers, or resolved tickets for first-contact resolution) in at "
    "least 3 periods before the change date and 3 from it on", _impact_periods, 3,
    "pass a change_date inside the data's time span, or " + LOAD["surveys"])


# Every report section and what it needs (one declaration per section).
SECTIONS: dict[str, tuple[Requirement, ...]] = {
    # voice of the customer
    "voc.scores": (),  # any of NPS, CSAT, CES: checked with `any_of`
    "voc.nps": (NPS,),
    "voc.by_segment": (NPS, NPS_BREAKDOWN),
    "voc.trend": (NPS_PERIODS,),
    "voc.touchpoints": (RATED_TOUCHPOINTS,),
    "voc.csat_by_touchpoint": (CSAT_TOUCHPOINTS,),
    "voc.ces_by_channel": (CES_CHANNELS,),
    "voc.drivers": (DRIVER_NPS, DRIVER_INPUTS),
    "voc.peak_end": (PEAK_END_CUSTOMERS,),
    "voc.themes": (SURVEY_COMMENTS,),  # themes read the comments of every survey metric
    "voc.themes_nps": (NPS_COMMENTS,),  # the themes' NPS chart
    "voc.topics": (TOPIC_COMMENTS,),
    "voc.followup": (RELATIONSHIP_NPS,),
    # the overview (its scores, drivers and themes are the voc sections above)
    "overview.change": (),  # NPS, CSAT or CES in two periods: checked with ANY_OF
    "overview.churn": (ACTIVITY,),
    # the "start here" notebook's first look at the events
    "start.activity": (EVENTS,),
    # journeys
    "journey.map": (EVENTS, STAGED_EVENTS),
    "journey.funnel": (JOURNEYS, FUNNEL_STEPS),
    "journey.funnel_by_segment": (JOURNEYS, FUNNEL_STEPS, SEGMENT),
    "journey.paths": (JOURNEYS,),
    "journey.paths_by_segment": (JOURNEYS, SEGMENT),
    "journey.channels": (CHANNELS,),
    "journey.handoffs": (SERVICE_CONTACTS, CHANNELS),
    "journey.friction": (JOURNEYS,),
    # segments
    "segments.profile": (SEGMENT,),
    "segments.usage": (SEGMENT, EVENTS),
    "segments.cues": (SEGMENT, EVENTS),
    "segments.rfm": (ORDERS,),
    "segments.clusters": (CUSTOMERS_TO_CLUSTER, CLUSTER_FEATURES),
    # churn and value
    "churn.rate": (ACTIVITY,),
    "churn.cohorts": (ACTIVITY_LOG,),
    "churn.survival": (ACTIVITY,),
    "churn.by_nps": (ACTIVITY, NPS_GROUPS),
    "churn.first_ticket": (ACTIVITY, TICKETS),
    "churn.cox": (ACTIVITY, CHURNERS, CX_FACTORS),
    "churn.value": (ACTIVITY, NPS_GROUPS, ORDERS),
    "churn.clv": (REPEAT_BUYERS,),
    "churn.at_risk": (ACTIVITY, CHURNERS, CX_FACTORS),
    # service and change
    "service.resolution": (TICKETS,),
    "service.first_contact": (RESOLVED_TICKETS,),
    "service.ratings": (TICKET_ANSWERS,),
    "service.churn": (TICKETS, ACTIVITY),
    "service.agents": (AGENT_TICKETS,),
    "service.impact": (IMPACT_DATA,),
    # the overview's "what changed" and service headline
    "overview.shifts": (),  # NPS, CSAT or CES in two periods, events or churn activity: checked with ANY_OF
    "overview.nps_mix": (NPS_PERIODS, NPS_BREAKDOWN),
    "overview.service": (TICKETS,),
}
# sections that need one of several things
ANY_OF = {"voc.scores": (NPS, CSAT, CES), "overview.change": (NPS_PERIODS, CSAT_PERIODS, CES_PERIODS),
          "overview.shifts": (NPS_PERIODS, CSAT_PERIODS, CES_PERIODS, EVENTS, ACTIVITY)}


@dataclass(frozen=True)
class Readiness:
    """Whether a section can run here; when not, one sentence saying what is missing and how to load it."""

    section: str
    missing: tuple[Requirement, ...] = ()
    reason: str | None = None  # what the data said when the section's work could not be done

    def __bool__(self) -> bool:
        return not self.missing and self.reason is None

    @property
    def sentence(self) -> str:
        if self.reason is not None:
            return f"This section needs data this store does not give it: {self.reason.rstrip('.')}."
        if not self.missing:
            return ""
        if self.section in ANY_OF:
            what = " or ".join(r.label for r in self.missing)
            return f"This section needs {what}, and the store has none. Load them with: {self.missing[0].load}."
        what = "; ".join(f"{r.label}" + (f" (at least {r.minimum})" if r.minimum > 1 and "least" not in r.label else "")
                         for r in self.missing)
        loads = "; ".join(dict.fromkeys(r.load for r in self.missing if r.load))
        return f"This section needs {what}, which this store does not hold. To enable it: {loads}."

    def _repr_markdown_(self) -> str:
        return f"*{self.sentence}*" if not self else ""

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self:
            return {}, {}
        return ({"text/markdown": self._repr_markdown_(), "text/plain": self.sentence},
                {"cx": {"skipped_section": self.section}})


def readiness(con: duckdb.DuckDBPyConnection, name: str, **context) -> Readiness:
    """Whether section `name` can run on this store (context: segment, definition, period, ...)."""
    if name not in SECTIONS:
        raise unknown_name("section", name, "the declared report sections", SECTIONS)
    if name in ANY_OF:
        options = ANY_OF[name]
        return Readiness(name, () if any(r.count(con, context) >= r.minimum for r in options) else options)
    return Readiness(name, tuple(r for r in SECTIONS[name] if r.count(con, context) < r.minimum))


class Section:
    """A report section's state: true while it can run. Used as a context manager around the
    section's work, a CxDataError raised there (a reason only the data can give, such as a model
    with nothing to fit) becomes the section's one sentence instead of failing the report, and the
    section counts as not run from then on (its follow-up cells, guarded by ``if``, are skipped)."""

    def __init__(self, ready: Readiness):
        self.ready = ready
        self.reason: str | None = None

    def __bool__(self) -> bool:
        return bool(self.ready) and self.reason is None

    def __enter__(self) -> Section:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        from cxlib.errors import CxDataError

        if kind is None or not issubclass(kind, CxDataError):
            return False
        self.reason = str(error)
        _show(Readiness(self.ready.section, reason=self.reason))
        return True


def section(con: duckdb.DuckDBPyConnection, name: str, **context) -> Section:
    """A Section that is true when section `name` can run here; otherwise it shows why not (one
    sentence) and is false. Wrap the section's work in ``with`` so a reason the data gives on the
    way is shown the same way.

    >>> funnel_ready = section(con, "journey.funnel")  # doctest: +SKIP
    >>> with funnel_ready:  # doctest: +SKIP
    ...     if funnel_ready:
    ...         display(journey.funnel(con, steps))
    """
    ready = readiness(con, name, **context)
    if not ready:
        _show(ready)
    return Section(ready)


def _show(obj) -> None:
    try:
        from IPython.display import display
    except ImportError as exc:  # pragma: no cover - ipykernel is a dependency
        raise CxInputError("displaying a section note needs IPython") from exc
    display(obj)
