"""Defaults of the impact section that fit the store: the metric and the treated segment, adapted
and said in one sentence when the store cannot serve the ones asked for.
"""

from __future__ import annotations

import duckdb

from cxlib.analysis.impact.data import RESPONSE_COLUMNS, customer_attributes, parse_treated
from cxlib.analysis.impact.result import LABELS, METRICS
from cxlib.errors import CxInputError, unknown_name


def _say(text: str) -> None:
    from IPython.display import display

    from cxlib.analysis.defaults import Note

    display(Note(text))


def _has_data(con, metric: str) -> bool:
    if metric == "fcr":
        return bool(con.execute("SELECT count(*) FROM tickets WHERE resolved_at IS NOT NULL AND contacts IS NOT NULL")
                    .fetchone()[0])
    return bool(con.execute("SELECT count(*) FROM survey_responses WHERE metric = ?", [metric]).fetchone()[0])


def fit_impact_metric(con: duckdb.DuckDBPyConnection, wanted: str) -> str:
    """The metric to judge: `wanted` when the store has data for it, else the first of CSAT, NPS, CES and
    first-contact resolution that it has (said in one sentence); `wanted` when it has none."""
    if wanted not in METRICS:
        raise unknown_name("metric", str(wanted), "the metrics impact can judge", METRICS)
    if _has_data(con, wanted):
        return wanted
    other = next((m for m in ("csat", "nps", "ces", "fcr") if _has_data(con, m)), None)
    if other is None:
        return wanted
    _say(f"The store holds no {LABELS[wanted]} data, so the change is judged on {LABELS[other]} instead.")
    return other


def fit_treated(con: duckdb.DuckDBPyConnection, wanted) -> str | None:
    """The treated segment to use: `wanted` when the store has it; None (every customer, the time-series
    design) when the store has no such attribute or value, said in one sentence. A near miss of an
    attribute ('regon') is still an error with the suggestion."""
    import difflib

    try:
        return wanted if parse_treated(con, wanted) else None
    except CxInputError:
        column = str(wanted).replace("=", ":").partition(":")[0].strip() if isinstance(wanted, str) else ""
        columns = customer_attributes(con) + list(RESPONSE_COLUMNS)
        if column in columns or not difflib.get_close_matches(column, columns, n=1):
            _say(f"The store has no segment {wanted!r}, so the change is judged on every customer "
                 "(an interrupted time series, without a comparison group).")
            return None
        raise
