"""Report parameters checked against the store before any kernel starts.

A parameter the user gave (``-p segment=regon``, or in a job) must make sense for the store it
runs on: a segment that is a customer attribute, funnel steps that occur in the events, a churn
definition the store can serve, allowed values, windows that parse. Errors name the parameter in
the command line's own form and say what to use instead. Defaults are not checked here: a
default the store cannot serve is adapted inside the notebook, and the report says so
(cxlib.analysis.defaults).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from cxlib.analysis.churn.status import DEFINITIONS
from cxlib.analysis.defaults import NONE, NOT_ATTRIBUTES, has_nps, seen_touchpoints
from cxlib.analysis.journey.common import LEVELS, ORDERS, parse_window
from cxlib.errors import CxError, CxInputError, did_you_mean
from cxlib.sql import table_columns


def _given(name: str, value) -> str:
    shown = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return f"-p {name}={shown}"


def _choice(allowed: tuple[str, ...]) -> Callable:
    def check(con, name, value):
        if value not in allowed:
            raise CxInputError(f"{_given(name, value)}: not one of {', '.join(allowed)}"
                               f"{did_you_mean(str(value), allowed)}")
    return check


def _segment(con, name, value):
    if value is None or value in NONE:
        return
    if value == "nps_group":
        if not has_nps(con):
            raise CxInputError(f"{_given(name, value)}: this store has no NPS answers to group customers by; "
                               f"use a customer attribute, or -p {name}=none")
        return
    attributes = [c for c in table_columns(con, "customers") if c not in NOT_ATTRIBUTES]
    if value not in attributes:
        choices = attributes + (["nps_group"] if has_nps(con) else [])
        raise CxInputError(f"{_given(name, value)}: not a customer attribute of this store"
                           f"{did_you_mean(value, choices)} Available: {', '.join(choices + ['none'])}")


def _touchpoints(con, name, value):
    steps = [value] if isinstance(value, str) else list(value or [])
    seen = seen_touchpoints(con)
    absent = [s for s in steps if s not in seen]
    if absent:
        common = sorted(seen)[:20]
        raise CxInputError(f"{_given(name, value)}: this store's events have no {', '.join(map(repr, absent))}"
                           f"{did_you_mean(str(absent[0]), seen)} Touchpoints seen: {', '.join(common) or '(none)'}"
                           + (" ..." if len(seen) > 20 else ""))


def _churn_definition(con, name, value):
    _choice(DEFINITIONS)(con, name, value)
    if value == "contractual" and not con.execute("SELECT count(*) FROM subscriptions").fetchone()[0]:
        raise CxInputError(f"{_given(name, value)}: this store holds no subscriptions; "
                           f"use -p {name}=non_contractual (churn after a spell of inactivity)")


def _window(con, name, value):
    if value is None:
        return
    try:
        parse_window(value, name=name)
    except CxError as exc:
        raise CxInputError(f"{_given(name, value)}: {exc}") from None


def _at_least_one(con, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CxInputError(f"{_given(name, value)}: must be a whole number of at least 1")


# parameter name -> check; the same name means the same thing in every notebook that has it.
CHECKS: dict[str, Callable] = {
    "segment": _segment,
    "funnel_steps": _touchpoints,
    "path_touchpoint": _touchpoints,
    "funnel_order": _choice(ORDERS),
    "flow_level": _choice(LEVELS),
    "funnel_window": _window,
    "handoff_within": _window,
    "repeat_window": _window,
    "churn_definition": _churn_definition,
    "churn_period": _choice(("month", "week")),
    "retention_kind": _choice(("first_time", "recurring")),
    "interval": _choice(("wald", "adjusted_wald")),
    "driver_target": _choice(("nps", "nps_score", "detractor", "csat", "ces", "churn")),
    "min_group_size": _at_least_one,
    "inactivity_days": _at_least_one,
}
# `period` means the churn periods in the churn notebook and the score periods elsewhere.
PERIODS = {"churn": ("month", "week")}
SCORE_PERIODS = ("week", "month", "quarter")


def check_against_store(con: duckdb.DuckDBPyConnection, notebook: str, values: dict) -> None:
    """Check the parameters a user gave for `notebook` (its stem) against the store; CxInputError if wrong."""
    for name, value in values.items():
        if name == "period":
            _choice(PERIODS.get(notebook, SCORE_PERIODS))(con, name, value)
        elif name in CHECKS:
            CHECKS[name](con, name, value)
