"""Churn, retention, survival and the value of experience.

Every figure is relative to the store's as-of date (cxlib.as_of: the latest timestamp in the
data, never the wall clock) unless `as_of` is given. Two churn definitions (docs/metrics.md):

- ``contractual``: a customer churns when every subscription they started has ended
  (subscriptions.ended_at at or before as-of). Customers without a subscription are not counted.
  A running subscription is censored at the as-of date.
- ``non_contractual``: a customer churns after `inactivity_days` (default 90) without activity
  (events or orders). The churn date is the last activity. A customer with activity in the last
  `inactivity_days` is undetermined: censored at their last activity (if they never come back,
  their churn date will be that activity; so only "churn date >= last activity" is known).
  Churn *rates* judge only customers with at least `inactivity_days` of follow-up since their
  start (a newer customer cannot yet have been inactive that long); the rest are reported as
  ``not_judged``. Period churn is judged only for periods that ended `inactivity_days` before
  the as-of date.

Heavy work runs in DuckDB (cxlib/sql/churn_*.sql, cohort_retention.sql, lifecycle.sql,
survival_counts.sql, churn_value.sql); Kaplan-Meier, log-rank and Cox come from lifelines,
fitted on aggregated (segment, day, outcome, count) rows, or on per-customer features for Cox."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.intervals import wilson_bounds
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.sql import Ident, table_columns
from cxlib.store.connection import as_of as store_as_of

DEFINITIONS = ("contractual", "non_contractual")


PERIODS = ("month", "week")


UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}


# customer_features columns usable as `by` besides the customers table's own columns
FEATURE_SEGMENTS = ("nps_group", "long_resolution")


FIRST_TICKET = "first_ticket_resolution"  # by: first ticket within / over 72 hours


ORIGINS = ("start", "first_ticket")


def _check_definition(definition: str) -> str:
    if definition not in DEFINITIONS:
        raise unknown_name("churn definition", str(definition), "the churn definitions", DEFINITIONS)
    return definition


def _check_inactivity(inactivity_days) -> int:
    if isinstance(inactivity_days, bool) or not isinstance(inactivity_days, int) or inactivity_days < 1:
        raise CxInputError(f"inactivity_days must be a whole number of days of at least 1, got {inactivity_days!r}")
    return inactivity_days


def _check_choice(value, choices, kind: str) -> str:
    if value not in choices:
        raise unknown_name(kind, str(value), f"the {kind}s", choices)
    return value


def _as_of(con, as_of):
    return to_timestamp(as_of, "as_of") or store_as_of(con)


def check_parameters(
    *,
    churn_definition: str = "contractual",
    inactivity_days: int = 90,
    period: str = "month",
    retention_kind: str = "first_time",
    start=None,
    end=None,
    horizon_months=12,
    min_group_size: int = MIN_GROUP_SIZE,
) -> None:
    """Validate a churn notebook's parameters up front, with a message saying how to fix each."""
    _check_definition(churn_definition)
    _check_inactivity(inactivity_days)
    _check_choice(period, PERIODS, "period")
    _check_choice(retention_kind, ("first_time", "recurring"), "retention kind")
    first, last = to_timestamp(start, "start"), to_timestamp(end, "end")
    if first is not None and last is not None and first > last:
        raise CxInputError(f"start ({start}) is after end ({end}): swap them or widen the range")
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int) or horizon_months < 1:
        raise CxInputError(f"horizon_months must be a whole number of at least 1, got {horizon_months!r}")
    check_min_group_size(min_group_size)


def definition_text(definition: str, inactivity_days: int = 90) -> str:
    """The churn definition in one plain sentence, printed with every figure."""
    _check_definition(definition)
    if definition == "contractual":
        return "contractual churn: every subscription of the customer has ended"
    return (
        f"non-contractual churn: no activity (events or orders) for {inactivity_days} days; "
        f"customers with less than {inactivity_days} days of follow-up are not judged"
    )


def _fragment(name: str, slots: dict | None = None) -> Ident:
    """A query of ours, rendered and parenthesised, to fill another query's slot."""
    return Ident("(\n" + sql.render(name, slots) + "\n)")


def _status_fragment(definition: str) -> Ident:
    return _fragment("churn_status_contractual" if definition == "contractual" else "churn_status_noncontractual")


def _segments_fragment(con, by: str | None) -> Ident:
    """A churn_segment_* query giving each customer's `by` value (customers column or CX feature)."""
    if by is None:
        return _fragment("churn_segment_all")
    if not isinstance(by, str):
        raise CxInputError(f"by must be a column name (text) or None, got {by!r}")
    if by == FIRST_TICKET:
        return _fragment("churn_segment_first_ticket")
    if by in FEATURE_SEGMENTS:
        return _fragment(
            "churn_segment_features", {"features": _fragment("customer_features"), "segment_col": sql.quote_ident(by)}
        )
    customer_cols = [c for c in table_columns(con, "customers") if c not in ("customer_id", "signup_at")]
    if by not in customer_cols:
        groups = [*FEATURE_SEGMENTS, FIRST_TICKET]
        raise unknown_name("column", by, "customers (or the CX groups " + ", ".join(groups) + ")",
                           customer_cols + groups)
    return _fragment("churn_segment_customers", {"segment_col": sql.checked_column(con, "customers", by)})


def check_segment_name(con: duckdb.DuckDBPyConnection, wanted: str) -> str:
    """A breakdown name as given, before a report adapts it to the store: `wanted`, or the
    customer attribute it names in other case ('Region' -> 'region'); CxInputError with the
    suggestion when it is a near miss of an attribute ('regon' for 'region'), as a misspelt name
    is an error to fix, not a default to replace. Other names pass (the report adapts them)."""
    import difflib

    if wanted is None or wanted in ("", "none", "None"):  # no breakdown
        return wanted
    if not isinstance(wanted, str):
        raise CxInputError(f"segment must be a customer attribute name (text) or None, got {wanted!r}")
    attributes = [c for c in table_columns(con, "customers") if c not in ("customer_id", "signup_at")]
    if wanted in attributes or wanted in (*FEATURE_SEGMENTS, FIRST_TICKET):
        return wanted
    same = [a for a in attributes if a.lower() == wanted.lower()]
    if same:
        return same[0]
    if difflib.get_close_matches(wanted, attributes, n=1):
        raise unknown_name("column", wanted, "customers", attributes)
    return wanted


def _run(con, name: str, params: dict, slots: dict | None = None) -> pd.DataFrame:
    """Run a query whose slots hold our fragments, passing exactly the parameters it uses."""
    needed = sql.parameters(sql.render(name, slots))
    missing = needed - set(params)
    if missing:
        raise CxInputError(f"{name}.sql needs parameters {sorted(missing)}")
    return sql.run(con, name, {k: v for k, v in params.items() if k in needed}, slots)


def _check_data(con, definition: str) -> None:
    """CxDataError when the store holds nothing to judge churn by under `definition`: contractual
    churn needs subscriptions; non-contractual churn needs dated activity (events or orders), as
    without it every customer would look inactive since their signup."""
    if definition == "contractual" and not sql.run(con, "churn_subscription_count").iloc[0, 0]:
        raise CxDataError(
            "contractual churn needs the subscriptions table, which is empty in this store; "
            "load subscriptions or use definition='non_contractual'"
        )
    if definition == "non_contractual" and not _has_activity(con):
        raise CxDataError(
            "non-contractual churn needs dated activity (events or orders), which this store does not hold; "
            "load events or orders, or use definition='contractual' with subscriptions"
        )


def _has_activity(con) -> bool:
    """Whether the store (or the filtered view of it) holds any event or order."""
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM orders)").fetchall()[0][0])


def churn_status(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
) -> pd.DataFrame:
    """Per customer: has the customer churned by the as-of date, and for how long observed.

    *Definition*: see the module docstring. contractual: customers with a subscription started
    by as-of; churned when all of them ended by as-of; ``end`` = the last subscription end;
    censored at as-of otherwise. non_contractual: customers signed up by as-of; churned when
    the last activity (events, orders) is at least `inactivity_days` before as-of; ``end`` =
    that last activity; censored (undetermined) at the last activity otherwise; ``judged`` =
    at least `inactivity_days` of follow-up since the start.
    Columns: customer_id, start, end, last_activity, churned, censored, judged, duration_days,
    definition. Customer-level: for analysis and exports, not for stakeholder output.
    """
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    name = "churn_status_contractual" if definition == "contractual" else "churn_status_noncontractual"
    out = _run(con, name, {"as_of": cutoff, "inactivity_days": inactivity_days})
    out["definition"] = definition_text(definition, inactivity_days)
    return out


def churn_rate(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Share of customers who have churned by the as-of date, overall or per segment.

    *Definition*: churn_rate = churned / customers, where customers are the judged customers
    (contractual: every customer with a subscription; non_contractual: customers with at least
    `inactivity_days` of follow-up since their start) and churned follows `definition`.
    `by`: a customers column (region, plan, ...) or a CX group: 'nps_group' (latest
    relationship NPS answer: promoter, passive, detractor, '(none)') or 'long_resolution'
    (any ticket resolved after more than 72 hours).
    ``ci_lower``, ``ci_upper``: 95% Wilson score interval of churn_rate (0..1).
    Columns: [segment,] customers, churned, churn_rate (0..1), ci_lower, ci_upper, not_judged,
    suppressed, definition. Segments with fewer than `min_group_size` judged customers are
    suppressed, their interval too (complementary suppression; rows stay, marked).

    >>> churn_rate(con, by="region", definition="non_contractual")  # doctest: +SKIP
    """
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    check_min_group_size(min_group_size)
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    slots = {"status": _status_fragment(definition), "segments": _segments_fragment(con, by)}
    df = _run(con, "churn_rate", {"as_of": cutoff, "inactivity_days": inactivity_days}, slots)
    lo, hi = wilson_bounds(df["churned"], df["customers"])
    df.insert(df.columns.get_loc("churn_rate") + 1, "ci_lower", lo)
    df.insert(df.columns.get_loc("ci_lower") + 1, "ci_upper", hi)
    df = suppress(df, n="customers", values=["churned", "churn_rate", "ci_lower", "ci_upper", "not_judged"],
                  min_group_size=min_group_size)
    df["definition"] = definition_text(definition, inactivity_days)
    if by is None:
        df = df.drop(columns="segment")
    return df.reset_index(drop=True)


def period_churn(
    con: duckdb.DuckDBPyConnection,
    *,
    period: str = "month",
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    start=None,
) -> pd.DataFrame:
    """Churn rate per calendar period, from the first customer start (or `start`) to the as-of date.

    *Definition* (docs/metrics.md): churn_rate = customers lost in the period / customers active at its
    start. Active at the start: started before the period start and not churned before it.
    Lost: churned with a churn date inside the period (customers who start and churn within one
    period are in neither count, the usual convention).
    ``complete`` is False for the period holding the as-of date (figures so far).
    ``judged`` is False where the churn of the period cannot be known yet: for non_contractual,
    periods ending less than `inactivity_days` before as-of (lost and churn_rate are blanked
    there, as customers active at the period's end might still turn out to have been lost);
    for contractual, only the running period.
    ``ci_lower``, ``ci_upper``: 95% Wilson score interval of churn_rate (lost of active_at_start).
    Columns: period, active_at_start, lost, churn_rate, ci_lower, ci_upper, complete, judged,
    definition. `start` ('YYYY-MM-DD' or None) only hides earlier periods; the figures do not change.
    """
    first = to_timestamp(start, "start")
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_choice(period, PERIODS, "period")
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    lag = inactivity_days if definition == "non_contractual" else 0
    df = _run(
        con,
        "churn_period",
        {"as_of": cutoff, "inactivity_days": lag, "period": period},
        {"status": _status_fragment(definition)},
    )
    if definition == "non_contractual":
        df["lost"] = df["lost"].astype("Float64").where(df["judged"])
        df["churn_rate"] = df["churn_rate"].where(df["judged"])
    lo, hi = wilson_bounds(df["lost"], df["active_at_start"])
    df.insert(df.columns.get_loc("churn_rate") + 1, "ci_lower", lo)
    df.insert(df.columns.get_loc("ci_lower") + 1, "ci_upper", hi)
    df["definition"] = definition_text(definition, inactivity_days)
    if first is not None:
        df = df[df["period_end"] > first]
    return df.drop(columns="period_end").reset_index(drop=True)


def churn_trend(df: pd.DataFrame) -> dict:
    """Linear trend of a period_churn result over its complete, judged periods.

    *Definition*: ordinary least squares of churn_rate on the period index (0, 1, ...), each
    period weighted equally; slope in churn-rate points per period with its two-sided p-value
    (scipy.stats.linregress). Needs at least 3 periods with a rate; otherwise slope is nan. The
    same rate in every period is flat (slope 0, p = 1).
    Returns {'slope', 'p_value', 'periods', 'direction'}.
    """
    from scipy import stats

    for col in ("period", "churn_rate", "complete", "judged"):
        if col not in df:
            raise CxInputError(f"churn_trend takes a period_churn result; column '{col}' is missing")
    use = df[df["complete"].astype(bool) & df["judged"].astype(bool) & df["churn_rate"].notna()]
    use = use.sort_values("period")
    if len(use) < 3:
        return {"slope": math.nan, "p_value": math.nan, "periods": len(use), "direction": "not enough periods"}
    rates = use["churn_rate"].astype(float).to_numpy()
    if np.ptp(rates) == 0:  # the same rate every period: flat, with nothing to test
        return {"slope": 0.0, "p_value": 1.0, "periods": len(use), "direction": "flat"}
    fit = stats.linregress(np.arange(len(use), dtype=float), rates)
    direction = "flat"
    if fit.pvalue < 0.05:
        direction = "rising" if fit.slope > 0 else "falling"
    return {"slope": float(fit.slope), "p_value": float(fit.pvalue), "periods": len(use), "direction": direction}
