"""Defaults that fit the store: a notebook's default that the store cannot serve is adapted, and said so.

A report notebook's parameters have defaults that run on the sample (segment "region", funnel
steps product_page > add_to_cart > checkout > payment, contractual churn). On a user's store
these may not exist. Each function here returns the value to use: the one asked for when the
store has it, else the closest fit, and (in a notebook) shows one sentence saying what was
adapted. A value a user passed explicitly is checked before the run starts instead
(cxlib.report.store_params), so adapting only ever replaces defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cxlib.sql import quote_ident, table_columns

NOT_ATTRIBUTES = ("customer_id", "signup_at")
NONE = ("", "none", "None")
MAX_SEGMENT_VALUES = 12  # more groups than this is not a breakdown a reader can take in


@dataclass(frozen=True)
class Note:
    """One sentence about a default the notebook adapted to the store."""

    text: str

    def _repr_markdown_(self) -> str:
        return f"*{self.text}*"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self._repr_markdown_(), "text/plain": self.text}, {"cx": {"adapted_default": True}}


def _say(note: str | None) -> None:
    if note:
        from IPython.display import display

        display(Note(note))


# --------------------------------------------------------------------------- segment


def segment_choices(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Customer attributes usable as a breakdown, with their number of distinct values."""
    out = {}
    for column in table_columns(con, "customers"):
        if column in NOT_ATTRIBUTES:
            continue
        n = con.execute(f"SELECT count(DISTINCT {quote_ident(column)}) FROM customers").fetchone()[0]
        if 2 <= n <= MAX_SEGMENT_VALUES:
            out[column] = n
    return out


OUTCOME_WORDS = ("churn", "cancel", "retain", "retention", "active", "status", "target", "label", "converted",
                 "outcome", "flag", "score")


def _looks_like_an_outcome(column: str) -> bool:
    """A column named like an outcome (Churn, is_active) makes a poor breakdown: it is what is measured."""
    name = column.lower()
    return any(word in name for word in OUTCOME_WORDS)


def _is_numeric(con, column: str) -> bool:
    q = quote_ident(column)
    return con.execute(f"SELECT count(*) FILTER (WHERE {q} IS NOT NULL AND try_cast({q} AS DOUBLE) IS NULL) = 0 "
                       f"FROM customers").fetchone()[0]


def has_nps(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM survey_responses WHERE metric = 'nps'").fetchone()[0])


def fit_segment(con: duckdb.DuckDBPyConnection, wanted: str | None, *, allow_nps_group: bool = True) -> str | None:
    """The breakdown to use: `wanted` when the store has it, else a customer attribute with 2-12
    groups (preferring, in turn: not named like an outcome such as Churn or status, text rather
    than numbers, complete, more than two groups, fewest missing, then by name), else nps_group
    (when NPS answers exist and allowed), else None (no breakdown). 'none' switches it off."""
    value, note = _fit_segment(con, wanted, allow_nps_group)
    _say(note)
    return value


def _fit_segment(con, wanted, allow_nps_group) -> tuple[str | None, str | None]:
    if wanted is None or wanted in NONE:
        return None, None
    if wanted == "nps_group" and allow_nps_group and has_nps(con):
        return wanted, None
    choices = segment_choices(con)
    if wanted in choices:
        return wanted, None
    why = ("this store has no NPS answers" if wanted == "nps_group"
           else f"this store has no customer attribute '{wanted}' with 2 to {MAX_SEGMENT_VALUES} groups")
    if choices:
        missing = {c: con.execute(f"SELECT count(*) FILTER (WHERE {quote_ident(c)} IS NULL) FROM customers").fetchone()[0]
                   for c in choices}
        best = min(choices, key=lambda c: (_looks_like_an_outcome(c), _is_numeric(con, c), missing[c] > 0,
                                           choices[c] == 2, missing[c], c.lower()))
        return best, f"Breakdowns use '{best}' ({choices[best]} groups) instead of '{wanted}': {why}."
    if allow_nps_group and wanted != "nps_group" and has_nps(con):
        return "nps_group", f"Breakdowns are by NPS group instead of '{wanted}': {why}."
    return None, f"Breakdowns by '{wanted}' are left out: {why}, and no other attribute has 2 to {MAX_SEGMENT_VALUES} groups."


# --------------------------------------------------------------------------- funnel steps


def seen_touchpoints(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Touchpoints that occur in the store's events (not merely in its stage map)."""
    return {t for (t,) in con.execute("SELECT DISTINCT touchpoint FROM events").fetchall()}


def common_path(con: duckdb.DuckDBPyConnection, *, lengths=(4, 3, 5), min_customers: int = 1) -> list[str] | None:
    """The store's most common ordered path of three to five different touchpoints.

    *Definition*: each customer's events in order, repeats of the same touchpoint in a row
    collapsed; every run of L consecutive touchpoints with no touchpoint twice is a path; the path
    followed by the most customers wins, trying length 4 first, then 3, then 5 (a 4-step funnel
    reads best); ties by the path's text. None when no path has `min_customers` customers.
    """
    for length in lengths:
        row = con.execute(
            f"""WITH steps AS (
                  SELECT customer_id, touchpoint, row_number() OVER (PARTITION BY customer_id ORDER BY seq) AS k
                  FROM events_ordered WHERE prev_touchpoint IS NULL OR prev_touchpoint <> touchpoint),
                paths AS (
                  SELECT customer_id, list(touchpoint ORDER BY k) OVER (PARTITION BY customer_id ORDER BY k
                           ROWS BETWEEN CURRENT ROW AND {length - 1} FOLLOWING) AS path FROM steps)
                SELECT path, count(DISTINCT customer_id) AS customers FROM paths
                WHERE array_length(path) = {length} AND array_length(list_distinct(path)) = {length}
                GROUP BY path ORDER BY customers DESC, CAST(path AS VARCHAR) LIMIT 1"""
        ).fetchone()
        if row is not None and row[1] >= min_customers:
            return list(row[0])
    return None


def fit_funnel_steps(con: duckdb.DuckDBPyConnection, wanted: list[str], *, min_customers: int = 1) -> list[str] | None:
    """The funnel to show: `wanted` when every step occurs in the store's events, else the store's
    most common ordered path (`common_path`), else None (no funnel can be drawn)."""
    value, note = _fit_funnel_steps(con, wanted, min_customers)
    _say(note)
    return value


def _fit_funnel_steps(con, wanted, min_customers) -> tuple[list[str] | None, str | None]:
    seen = seen_touchpoints(con)
    wanted = list(wanted or [])
    if wanted and all(step in seen for step in wanted):
        return wanted, None
    absent = [s for s in wanted if s not in seen]
    path = common_path(con, min_customers=min_customers)
    why = f"this store's events have no {', '.join(absent)}" if absent else "no funnel steps were given"
    if path is None:
        return None, f"The funnel is left out: {why}, and no path of three to five touchpoints is common enough to stand in."
    return path, f"The funnel follows the store's most common path, {' > '.join(path)}, because {why}."


def fit_touchpoint(con: duckdb.DuckDBPyConnection, wanted: str | None) -> str | None:
    """A touchpoint to centre paths on: `wanted` when it occurs, else the most frequent one."""
    seen = seen_touchpoints(con)
    if wanted in seen:
        return wanted
    row = con.execute("SELECT touchpoint FROM events GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    if row is None:
        return None
    _say(f"Paths are centred on '{row[0]}', the most frequent touchpoint"
         + (f", because this store's events have no '{wanted}'." if wanted else "."))
    return row[0]


# --------------------------------------------------------------------------- churn definition


def fit_churn_definition(con: duckdb.DuckDBPyConnection, wanted: str) -> str:
    """The churn definition the store can serve: contractual needs subscriptions, non-contractual
    needs dated activity (events or orders); when only one is possible, that one."""
    has_subscriptions = bool(con.execute("SELECT count(*) FROM subscriptions").fetchone()[0])
    has_activity = bool(con.execute("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM orders)").fetchone()[0])
    if wanted == "contractual" and not has_subscriptions and has_activity:
        _say("Churn is judged by inactivity (non-contractual), because this store holds no subscriptions.")
        return "non_contractual"
    if wanted == "non_contractual" and not has_activity and has_subscriptions:
        _say("Churn is judged by subscriptions ending (contractual), because this store holds no events or orders.")
        return "contractual"
    return wanted
