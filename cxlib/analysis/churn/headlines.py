"""Headlines: the one sentence a report prints with a churn result, written here so that it never
indexes into an empty frame or prints NaN.

Each function takes what a churn function returned (or the connection and the section's options)
and returns one plain sentence: the figure when there is one, else what stands in its way (no
customer judged yet, too few periods for a trend, too few groups to compare, nobody at risk).
The numbers are the analyses' own; nothing is recomputed differently here.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from cxlib.analysis.churn.cox import COX_COVARIATES, CoxResult
from cxlib.analysis.churn.kaplan_meier import logrank, survival_summary
from cxlib.analysis.churn.status import churn_trend, definition_text
from cxlib.analysis.intervals import p_text
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE


def _frame(df, columns: list[str], what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"{what} takes a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CxInputError(f"{what} needs columns {columns}; missing {missing}. Pass the frame the churn function returned.")
    return df


def _number(value) -> float | None:
    """A finite float, or None for a blank (None, NaN, pd.NA, inf)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _definition(df: pd.DataFrame) -> str:
    return str(df["definition"].iloc[0]) if "definition" in df and len(df) else ""


def _with(sentence: str, definition: str) -> str:
    return f"{sentence} {definition[0].upper() + definition[1:]}." if definition else sentence


def churn_rate_headline(rate: pd.DataFrame) -> str:
    """One sentence for an overall `churn_rate` result.

    '23.0% of 2,691 customers have churned (contractual churn: ...).' When no customer can be
    judged yet (all too new for non-contractual churn), or the count is suppressed as too small,
    it says so instead of printing a rate.
    """
    _frame(rate, ["customers", "churn_rate"], "churn_rate_headline")
    definition = _definition(rate)
    if rate.empty:
        return _with("No customer can be judged for churn yet.", definition)
    row = rate.iloc[0]
    if bool(row.get("suppressed", False)):
        return _with("Too few customers have been followed long enough to show a churn rate (small groups are "
                     "hidden).", definition)
    customers, value = _number(row["customers"]), _number(row["churn_rate"])
    if not customers or value is None:
        waiting = _number(row.get("not_judged"))
        more = f" ({waiting:,.0f} are too new to judge)" if waiting else ""
        return _with(f"No customer has been followed long enough to judge churn yet{more}.", definition)
    return f"{value:.1%} of {customers:,.0f} customers have churned ({definition})."


def churn_trend_headline(period_churn: pd.DataFrame, *, period: str = "month") -> str:
    """One sentence on the trend of a `period_churn` result (`churn_trend`): rising, falling or flat,
    with its slope and p-value; or that there are fewer than 3 finished periods to trend."""
    _frame(period_churn, ["period", "churn_rate", "complete", "judged"], "churn_trend_headline")
    definition = _definition(period_churn)
    trend = churn_trend(period_churn)
    slope, p = _number(trend["slope"]), _number(trend["p_value"])
    if slope is None or p is None:
        n = trend["periods"]
        return _with(f"Churn per {period} cannot be trended yet: {n} finished {period}"
                     f"{'' if n == 1 else 's'} with a churn rate, and a trend needs 3.", definition)
    return _with(f"Churn per {period} is {trend['direction']} over {trend['periods']} finished periods "
                 f"(slope {slope:+.2%} per {period}, {p_text(p)}).", definition)


def logrank_headline(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str,
    lead: str | None = None,
    origin: str = "start",
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> str:
    """'<lead>: log-rank p = 0.28 (chi2 = 2.5 on 2 df; no clear difference). <definition>.' from
    `logrank`; when fewer than two groups are big enough to compare, it says so instead."""
    lead = lead or f"Survival by {by}"
    text = definition_text(definition, inactivity_days)
    try:
        test = logrank(con, by=by, origin=origin, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                       min_group_size=min_group_size)
    except CxDataError as exc:
        return _with(f"{lead}: no comparison, as {exc}.", text)
    verdict = "the groups differ" if test.p_value < 0.05 else "no clear difference"
    return _with(f"{lead}: log-rank {p_text(test.p_value)} (chi2 = {test.test_statistic:.1f} on "
                 f"{test.degrees_of_freedom} df; {verdict}).", text)


def survival_headline(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    at: float = 12,
    unit: str = "month",
    min_group_size: int = MIN_GROUP_SIZE,
) -> str:
    """One sentence on survival: with `by`, the log-rank comparison of its groups
    (`logrank_headline`); without, the overall median lifetime and the share still customers
    `at` units after their start (from `survival_summary`), or that there are too few customers."""
    if by is not None:
        return logrank_headline(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                                min_group_size=min_group_size)
    summary = survival_summary(con, definition=definition, inactivity_days=inactivity_days, as_of=as_of, at=at,
                               unit=unit, min_group_size=min_group_size)
    text = definition_text(definition, inactivity_days)
    row = summary.iloc[0]
    still = _number(row["survival_at"])
    if bool(row["suppressed"]) or still is None:
        return _with("Too few customers to estimate how long customers stay.", text)
    median = _number(row["median_survival"])
    half = (f"half have left {median:.1f} {unit}s after they started" if median is not None
            else "more than half are still customers at the end of the follow-up")
    return _with(f"Across {int(row['customers']):,} customers, {half}; {still:.0%} are still customers "
                 f"{at:g} {unit}s in.", text)


def cox_headline(model: CoxResult) -> str:
    """One sentence on a fitted Cox model: customers, churns, concordance, and which CX factors the
    store could estimate (when some could not: no NPS answers, no tickets, ...)."""
    if not isinstance(model, CoxResult):
        raise CxInputError(f"cox_headline takes the result of cox_churn, got {type(model).__name__}")
    fitted = list(model.summary["covariate"])
    sentence = (f"Cox model on {model.n_customers:,} customers and {model.n_events:,} churns; concordance "
                f"{model.concordance:.2f}. Covariates change over time and use only what was known before each moment.")
    if len(fitted) < len(COX_COVARIATES):
        sentence += (f" Only {', '.join(COX_COVARIATES[c] for c in fitted)} could be estimated: the other CX factors "
                     "do not vary in this store (no NPS answers or tickets for them).")
    return f"{sentence} {model.definition}."


def experience_value_headline(move: pd.DataFrame) -> str:
    """One sentence for `detractor_to_passive_value`: customers kept and revenue over the horizon,
    with the assumptions; or that detractors or passives are too few to estimate it."""
    _frame(move, ["customers_kept", "value", "horizon_months", "assumptions"], "experience_value_headline")
    if move.empty:
        return "There is nothing to estimate: no NPS groups."
    row = move.iloc[0]
    kept, value = _number(row["customers_kept"]), _number(row["value"])
    if kept is None or value is None:
        return ("What moving detractors to passive is worth cannot be estimated here: detractors or passives are "
                "too few (each group needs enough customers to be shown).")
    low, high = _number(row.get("value_lower")), _number(row.get("value_upper"))
    interval = f" (95% interval {low:,.0f} to {high:,.0f})" if low is not None and high is not None else ""
    return (f"Moving every active detractor to passive would keep about {kept:.0f} customers and {value:,.0f}"
            f"{interval} in revenue over {row['horizon_months']:g} months. Assumptions: {row['assumptions']}.")


def revenue_at_risk_headline(risk: pd.DataFrame) -> str:
    """One sentence for `revenue_at_risk`: customers likely to churn, the revenue at stake and the
    expected loss over all active customers, with the assumptions; without revenue (no orders in
    the last year) or active customers, it says so instead."""
    _frame(risk, ["active_customers", "likely_to_churn", "revenue_at_risk", "expected_lost_revenue_all",
                  "revenue_last_year_active", "horizon_days", "assumptions", "definition"], "revenue_at_risk_headline")
    row = risk.iloc[0] if len(risk) else None
    if row is None or not row["active_customers"]:
        return _with("Revenue at risk: no customer is still active.", _definition(risk))
    days = int(row["horizon_days"])
    within = "within a year" if days == 365 else f"within {days} days"
    likely = f"{int(row['likely_to_churn']):,} customers are more likely than not to churn {within}"
    if not _number(row["revenue_last_year_active"]):
        return (f"Revenue at risk: {likely}; their revenue cannot be valued, as active customers placed no orders "
                f"in the last year. {row['definition']}.")
    return (f"Revenue at risk: {likely}, {row['revenue_at_risk']:,.0f} of expected lost revenue; across all active "
            f"customers the expected loss is {row['expected_lost_revenue_all']:,.0f}. Assumptions: "
            f"{row['assumptions']}. {row['definition']}.")


def at_risk_headline(at_risk: pd.DataFrame, model: CoxResult | None = None) -> str:
    """One sentence on an `at_risk_customers` list (no customer ids): how many, and the share who
    are detractors and had a ticket over 72 hours, for the factors the model could estimate (all,
    when no model is given); else the share with any CX factor above average. When the model's
    factors are not clearly linked to churn (likelihood-ratio p of 0.05 or more) it says so."""
    _frame(at_risk, ["nps_group", "long_resolution", "reasons"], "at_risk_headline")
    n = len(at_risk)
    if n == 0:
        return "No customer is still active, so nobody is at risk."
    fitted = set(model.summary["covariate"]) if model is not None else set(COX_COVARIATES)
    parts = []
    if fitted & {"nps_detractor", "nps_passive", "nps_no_answer"}:
        parts.append(f"{(at_risk['nps_group'] == 'detractor').mean():.0%} are detractors")
    if "long_resolution" in fitted:
        parts.append(f"{at_risk['long_resolution'].astype(bool).mean():.0%} had a ticket that took over 72 hours")
    if not parts:
        above = (at_risk["reasons"] != "no CX factor above average").mean()
        parts.append(f"{above:.0%} have a CX factor above the average customer's")
    sentence = f"Of the {n} customers most at risk, {' and '.join(parts)}."
    llr = _number(model.log_likelihood_ratio_p) if model is not None else None
    if llr is not None and llr >= 0.05:
        sentence += (f" Read the ranking with care: no CX factor in the model is clearly linked to churn here "
                     f"(likelihood-ratio {p_text(llr)}).")
    return sentence
