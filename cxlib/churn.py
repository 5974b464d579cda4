"""Churn, retention, survival and the value of experience.

Every figure is relative to the store's as-of date (cxlib.as_of: the latest timestamp in the
data, never the wall clock) unless `as_of` is given. Two churn definitions (DESIGN.md):

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
fitted on aggregated (segment, day, outcome, count) rows, or on per-customer features for Cox.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from . import sql
from .clv import BgNbdResult, bgnbd, customer_lifetime_value  # re-exported: DESIGN.md's cxlib.bgnbd
from .errors import CxDataError, CxInputError, unknown_name
from .features import to_timestamp
from .privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from .sql import Ident
from .store import as_of as store_as_of
from .store import table_columns

__all__ = [
    "DEFINITIONS",
    "churn_status",
    "churn_rate",
    "period_churn",
    "churn_trend",
    "cohort_retention",
    "lifecycle",
    "survival",
    "survival_summary",
    "logrank",
    "LogrankResult",
    "cox_churn",
    "CoxResult",
    "value_by_nps_group",
    "detractor_to_passive_value",
    "revenue_at_risk",
    "at_risk_customers",
    "export_csv",
    "definition_text",
    "check_parameters",
    "bgnbd",
    "BgNbdResult",
    "customer_lifetime_value",
]

DEFINITIONS = ("contractual", "non_contractual")
PERIODS = ("month", "week")
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}
# customer_features columns usable as `by` besides the customers table's own columns
FEATURE_SEGMENTS = ("nps_group", "long_resolution")
FIRST_TICKET = "first_ticket_resolution"  # by: first ticket within / over 72 hours
ORIGINS = ("start", "first_ticket")


# --------------------------------------------------------------------------- helpers


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


def _run(con, name: str, params: dict, slots: dict | None = None) -> pd.DataFrame:
    """Run a query whose slots hold our fragments, passing exactly the parameters it uses."""
    needed = sql.parameters(sql.render(name, slots))
    missing = needed - set(params)
    if missing:
        raise CxInputError(f"{name}.sql needs parameters {sorted(missing)}")
    return sql.run(con, name, {k: v for k, v in params.items() if k in needed}, slots)


def _check_data(con, definition: str) -> None:
    if definition == "contractual" and not sql.run(con, "churn_subscription_count").iloc[0, 0]:
        raise CxDataError(
            "contractual churn needs the subscriptions table, which is empty in this store; "
            "load subscriptions or use definition='non_contractual'"
        )


# --------------------------------------------------------------------------- churn


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
    Columns: [segment,] customers, churned, churn_rate (0..1), not_judged, suppressed,
    definition. Segments with fewer than `min_group_size` judged customers are suppressed
    (complementary suppression; rows stay, marked).

    >>> churn_rate(con, by="region", definition="non_contractual")  # doctest: +SKIP
    """
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    check_min_group_size(min_group_size)
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    slots = {"status": _status_fragment(definition), "segments": _segments_fragment(con, by)}
    df = _run(con, "churn_rate", {"as_of": cutoff, "inactivity_days": inactivity_days}, slots)
    df = suppress(df, n="customers", values=["churned", "churn_rate", "not_judged"], min_group_size=min_group_size)
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

    *Definition* (DESIGN.md): churn_rate = customers lost in the period / customers active at its
    start. Active at the start: started before the period start and not churned before it.
    Lost: churned with a churn date inside the period (customers who start and churn within one
    period are in neither count, the usual convention).
    ``complete`` is False for the period holding the as-of date (figures so far).
    ``judged`` is False where the churn of the period cannot be known yet: for non_contractual,
    periods ending less than `inactivity_days` before as-of (lost and churn_rate are blanked
    there, as customers active at the period's end might still turn out to have been lost);
    for contractual, only the running period.
    Columns: period, active_at_start, lost, churn_rate, complete, judged, definition.
    `start` ('YYYY-MM-DD' or None) only hides earlier periods; the figures do not change.
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
    df["definition"] = definition_text(definition, inactivity_days)
    if first is not None:
        df = df[df["period_end"] > first]
    return df.drop(columns="period_end").reset_index(drop=True)


def churn_trend(df: pd.DataFrame) -> dict:
    """Linear trend of a period_churn result over its complete, judged periods.

    *Definition*: ordinary least squares of churn_rate on the period index (0, 1, ...), each
    period weighted equally; slope in churn-rate points per period with its two-sided p-value
    (scipy.stats.linregress). Needs at least 3 periods with a rate; otherwise slope is nan.
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
    fit = stats.linregress(np.arange(len(use), dtype=float), use["churn_rate"].astype(float).to_numpy())
    direction = "flat"
    if fit.pvalue < 0.05:
        direction = "rising" if fit.slope > 0 else "falling"
    return {"slope": float(fit.slope), "p_value": float(fit.pvalue), "periods": len(use), "direction": direction}


# --------------------------------------------------------------------------- retention


def cohort_retention(
    con: duckdb.DuckDBPyConnection,
    *,
    period: str = "month",
    kind: str = "first_time",
    as_of=None,
    start=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Cohort retention matrix: share of each cohort active in each later period.

    *Definition*: activity = events and orders at or before as-of. kind='first_time' (default,
    DESIGN.md): a customer's cohort is the period of their first activity. kind='recurring'
    (PostHog's convention): a customer joins the cohort of every period they were active in.
    retention = retained / customers, where retained = cohort members with activity in the
    period `period_number` periods after the cohort's (period_number 0 is 1.0 by definition).
    ``incomplete``: the period ends after as-of (only partly observed; do not read a drop there
    as churn). Weeks start on Monday. Cohorts with fewer than `min_group_size` customers are
    suppressed (complementary suppression within each period_number).
    Columns: cohort, period_number, period, customers, retained, retention, incomplete,
    suppressed, kind. `start` ('YYYY-MM-DD' or None) keeps only the cohorts of the period
    holding `start` and later (suppression is applied to the cohorts kept).
    """
    first = to_timestamp(start, "start")
    _check_choice(period, PERIODS, "period")
    _check_choice(kind, ("first_time", "recurring"), "retention kind")
    check_min_group_size(min_group_size)
    cutoff = _as_of(con, as_of)
    df = sql.run(con, "cohort_retention", {"period": period, "as_of": cutoff, "kind": kind})
    if first is not None:
        step = pd.DateOffset(months=1) if period == "month" else pd.Timedelta(days=7)
        df = df[df["cohort"] + step > first].reset_index(drop=True)
    df = suppress(df, n="customers", values=["retained", "retention"], min_group_size=min_group_size,
                  within=["period_number"])
    df["kind"] = kind
    return df


def lifecycle(con: duckdb.DuckDBPyConnection, *, period: str = "month", as_of=None, start=None) -> pd.DataFrame:
    """Customers per period by lifecycle status: new, returning, resurrecting, dormant.

    *Definition* (PostHog's lifecycle): activity = events and orders. In period P a customer is
    new (first activity ever in P), returning (active in P and the period before), resurrecting
    (active in P, not the period before, active some time earlier) or dormant (active the
    period before, not in P). Counts are of whole customer bases (not broken down), so no
    suppression applies. ``incomplete``: the period ends after as-of.
    Columns: period, status, customers, incomplete. `start` ('YYYY-MM-DD' or None) hides
    periods that end before it.
    """
    first = to_timestamp(start, "start")
    _check_choice(period, PERIODS, "period")
    cutoff = _as_of(con, as_of)
    df = sql.run(con, "lifecycle", {"period": period, "as_of": cutoff})
    if first is not None:
        step = pd.DateOffset(months=1) if period == "month" else pd.Timedelta(days=7)
        df = df[df["period"] + step > first].reset_index(drop=True)
    return df


# --------------------------------------------------------------------------- survival


def _survival_counts(con, *, by, definition, inactivity_days, as_of, origin="start") -> pd.DataFrame:
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_choice(origin, ORIGINS, "origin")
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    status = _status_fragment(definition)
    if origin == "first_ticket":
        status = _fragment("churn_status_first_ticket", {"status": status})
    slots = {"status": status, "segments": _segments_fragment(con, by)}
    return _run(con, "survival_counts", {"as_of": cutoff, "inactivity_days": inactivity_days}, slots)


def _unit_days(unit: str) -> float:
    return UNIT_DAYS[_check_choice(unit, tuple(UNIT_DAYS), "time unit")]


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise CxInputError(f"alpha must be between 0 and 1 (0.05 for 95% intervals), got {alpha!r}")
    return float(alpha)


def _group_sizes(counts: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    sizes = counts.groupby("segment", as_index=False).agg(customers=("customers", "sum"))
    sizes["events"] = counts[counts["event"]].groupby("segment")["customers"].sum().reindex(sizes["segment"]).fillna(0).to_numpy()
    return suppress(sizes, n="customers", values=["events"], min_group_size=min_group_size)


def survival(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    unit: str = "month",
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    alpha: float = 0.05,
    min_group_size: int = MIN_GROUP_SIZE,
    origin: str = "start",
) -> pd.DataFrame:
    """Kaplan-Meier survival (share not yet churned) by time since the customer's start.

    *Definition*: lifelines' KaplanMeierFitter on each customer's duration (whole days from
    start to churn date, or to censoring; see churn_status) with churn as the event; intervals
    are lifelines' exponential Greenwood ("log(-log)") intervals at level 1 - alpha.
    ``time`` is in `unit` (day; week = 7 days; month = 365.25/12 days; year = 365.25 days).
    The group column is called ``group`` (not ``segment``), as DESIGN.md's contract names it;
    it is 'all' when `by` is None. One row per group and distinct event/censoring time, plus
    time 0: at_risk (customers still observed just before the time), events (churned at it),
    censored, survival, ci_lower, ci_upper. Groups with fewer than `min_group_size` customers
    get a single row with suppressed=True and blank figures. Columns: group, time, at_risk,
    events, censored, survival, ci_lower, ci_upper, alpha, suppressed, definition.

    `origin`: 'start' (time since the customer's start) or 'first_ticket' (a landmark design:
    time since the customer's first ticket reached 72 hours, among customers still followed
    then). Use 'first_ticket' with by='first_ticket_resolution' to compare customers whose
    first ticket took longer than 72 hours with the others: grouping by something that happens
    during a customer's life ('ever had a long ticket') gives long-lived customers more chances
    to have it (immortal-time bias) and hides or reverses the effect; starting the clock when
    the group becomes known avoids that.
    """
    from lifelines import KaplanMeierFitter

    udays = _unit_days(unit)
    _check_alpha(alpha)
    check_min_group_size(min_group_size)
    counts = _survival_counts(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                              origin=origin)
    if counts.empty:
        raise CxDataError("no customers to follow: the store has no customers for this churn definition")
    sizes = _group_sizes(counts, min_group_size)
    frames = []
    for _, g in sizes.iterrows():
        if g["suppressed"]:
            frames.append(pd.DataFrame({"group": [g["segment"]], "suppressed": [True]}))
            continue
        rows = counts[counts["segment"] == g["segment"]]
        kmf = KaplanMeierFitter(alpha=alpha).fit(
            rows["duration_days"].to_numpy(dtype=float) / udays,
            event_observed=rows["event"].to_numpy(dtype=bool),
            weights=rows["customers"].to_numpy(dtype=float),
        )
        et = kmf.event_table
        ci = kmf.confidence_interval_survival_function_
        frames.append(
            pd.DataFrame(
                {
                    "group": g["segment"],
                    "time": et.index.to_numpy(dtype=float),
                    "at_risk": et["at_risk"].round().astype("int64").to_numpy(),
                    "events": et["observed"].round().astype("int64").to_numpy(),
                    "censored": et["censored"].round().astype("int64").to_numpy(),
                    "survival": kmf.survival_function_.iloc[:, 0].reindex(et.index).to_numpy(),
                    "ci_lower": ci.iloc[:, 0].reindex(et.index).to_numpy(),
                    "ci_upper": ci.iloc[:, 1].reindex(et.index).to_numpy(),
                    "suppressed": False,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["alpha"] = alpha
    out["definition"] = definition_text(definition, inactivity_days)
    return out.reindex(columns=["group", "time", "at_risk", "events", "censored", "survival", "ci_lower",
                                "ci_upper", "alpha", "suppressed", "definition"])


def survival_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    unit: str = "month",
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    at: float = 12,
    alpha: float = 0.05,
    min_group_size: int = MIN_GROUP_SIZE,
    origin: str = "start",
) -> pd.DataFrame:
    """Per group: customers, churned, median survival with its interval, and survival at `at` units.

    *Definition*: Kaplan-Meier as in `survival`. median_survival = the first time the survival
    curve is at or below 0.5 (lifelines' median_survival_time_; inf when it never gets there);
    its interval from lifelines' median_survival_times on the KM confidence band.
    survival_at = S(`at`) (e.g. S(12 months): share still customers a year after their start),
    churn_probability_at = 1 - survival_at.
    Columns: group, customers, churned, median_survival, median_ci_lower, median_ci_upper,
    survival_at, churn_probability_at, at, unit, suppressed, definition.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    udays = _unit_days(unit)
    _check_alpha(alpha)
    check_min_group_size(min_group_size)
    if isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0:
        raise CxInputError(f"at must be a time of at least 0 (in {unit}s), got {at!r}")
    counts = _survival_counts(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                              origin=origin)
    if counts.empty:
        raise CxDataError("no customers to follow: the store has no customers for this churn definition")
    sizes = _group_sizes(counts, min_group_size)
    rows = []
    for _, g in sizes.iterrows():
        rec = {"group": g["segment"], "customers": g["customers"], "churned": g["events"]}
        if not g["suppressed"]:
            r = counts[counts["segment"] == g["segment"]]
            kmf = KaplanMeierFitter(alpha=alpha).fit(
                r["duration_days"].to_numpy(dtype=float) / udays,
                event_observed=r["event"].to_numpy(dtype=bool),
                weights=r["customers"].to_numpy(dtype=float),
            )
            med_ci = median_survival_times(kmf.confidence_interval_survival_function_)
            s_at = float(kmf.survival_function_at_times(at).iloc[0])
            rec.update(
                median_survival=float(kmf.median_survival_time_),
                median_ci_lower=float(med_ci.iloc[0, 0]),
                median_ci_upper=float(med_ci.iloc[0, 1]),
                survival_at=s_at,
                churn_probability_at=1 - s_at,
            )
        rows.append(rec)
    out = pd.DataFrame(rows)
    for col in ("median_survival", "median_ci_lower", "median_ci_upper", "survival_at", "churn_probability_at"):
        if col not in out:
            out[col] = np.nan
    out["at"] = at
    out["unit"] = unit
    out["suppressed"] = sizes["suppressed"].to_numpy()
    out["definition"] = definition_text(definition, inactivity_days)
    return out[["group", "customers", "churned", "median_survival", "median_ci_lower", "median_ci_upper",
                "survival_at", "churn_probability_at", "at", "unit", "suppressed", "definition"]]


@dataclass(frozen=True)
class LogrankResult:
    """A log-rank test: test_statistic (chi-squared), degrees_of_freedom, p_value and summary."""

    test_statistic: float
    degrees_of_freedom: int
    p_value: float
    summary: pd.DataFrame
    definition: str
    groups: tuple[str, ...] = field(default=())

    def __getitem__(self, key):  # dict-style access, as the contract allows either
        return getattr(self, key)


def logrank(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str,
    unit: str = "month",
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
    origin: str = "start",
) -> LogrankResult:
    """Log-rank test that the survival curves of the groups of `by` are the same.

    *Definition*: lifelines' multivariate_logrank_test (for two groups the classic log-rank
    test) on the same durations as `survival`; chi-squared with groups - 1 degrees of freedom.
    Groups below `min_group_size` customers (after complementary suppression) and the
    '(none)' group are left out of the test and listed as such in the summary.
    `origin`: as in `survival` ('first_ticket' with by='first_ticket_resolution' tests whether a
    first ticket over 72 hours is followed by faster churn).
    summary columns: group, customers, churned, tested.
    """
    from lifelines.statistics import multivariate_logrank_test

    if by is None:
        raise CxInputError("logrank compares groups: give by=<a customers column or 'nps_group'>")
    udays = _unit_days(unit)
    check_min_group_size(min_group_size)
    counts = _survival_counts(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                              origin=origin)
    sizes = _group_sizes(counts, min_group_size)
    tested = sizes[~sizes["suppressed"] & (sizes["segment"] != "(none)")]["segment"].tolist()
    if len(tested) < 2:
        raise CxDataError(
            f"the log-rank test needs at least two groups of {min_group_size} or more customers in '{by}'; "
            f"found {len(tested)}"
        )
    use = counts[counts["segment"].isin(tested)]
    res = multivariate_logrank_test(
        use["duration_days"].to_numpy(dtype=float) / udays,
        use["segment"].to_numpy(),
        use["event"].to_numpy(dtype=bool),
        weights=use["customers"].to_numpy(dtype=float),
    )
    summary = pd.DataFrame(
        {
            "group": sizes["segment"],
            "customers": sizes["customers"],
            "churned": sizes["events"],
            "tested": sizes["segment"].isin(tested),
        }
    )
    return LogrankResult(
        test_statistic=float(res.test_statistic),
        degrees_of_freedom=int(res.degrees_of_freedom),
        p_value=float(res.p_value),
        summary=summary,
        definition=definition_text(definition, inactivity_days),
        groups=tuple(tested),
    )


# --------------------------------------------------------------------------- Cox model

COX_COVARIATES = {
    "nps_detractor": "latest NPS answer was 0-6 (detractor)",
    "nps_passive": "latest NPS answer was 7-8 (passive)",
    "nps_no_answer": "no NPS answer yet",
    "long_resolution": "a ticket took more than 72 hours",
    "ticket_contacts": "service contacts on resolved tickets",
    "channel_switches": "channel switches within a day",
}


@dataclass(frozen=True)
class CoxResult:
    """A fitted time-varying Cox model of churn.

    summary: covariate, description, coef, se, hazard_ratio, ci_lower, ci_upper, p_value, alpha.
    customers: per customer (customer-level: exports only) customer_id, churned, tenure_days and
    the covariates at the end of their follow-up, with partial_hazard.
    """

    summary: pd.DataFrame
    customers: pd.DataFrame
    baseline_cumulative_hazard: pd.Series
    concordance: float
    log_likelihood_ratio_p: float
    n_customers: int
    n_events: int
    definition: str
    covariate_means: pd.Series

    def churn_probability(self, horizon_days: float) -> pd.Series:
        """P(churn within `horizon_days` | still a customer after tenure_days), per customer.

        1 - exp(-(H0(t + h) - H0(t)) * partial_hazard), H0 the Breslow baseline cumulative
        hazard (a step function, held flat after the last event time: beyond the follow-up the
        data hold, no further risk is extrapolated).
        """
        h0 = self.baseline_cumulative_hazard
        times, values = h0.index.to_numpy(dtype=float), h0.to_numpy(dtype=float)

        def at(t):
            i = np.searchsorted(times, t, side="right") - 1
            return np.where(i >= 0, values[np.clip(i, 0, None)], 0.0)

        t = self.customers["tenure_days"].to_numpy(dtype=float)
        inc = at(t + horizon_days) - at(t)
        p = 1 - np.exp(-inc * self.customers["partial_hazard"].to_numpy(dtype=float))
        return pd.Series(p, index=self.customers["customer_id"], name="churn_probability")


def _design(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "nps_detractor": (df["nps_group"] == "detractor").astype(float),
            "nps_passive": (df["nps_group"] == "passive").astype(float),
            "nps_no_answer": (df["nps_group"] == "no_answer").astype(float),
            "long_resolution": df["long_resolution"].astype(float),
            "ticket_contacts": df["ticket_contacts"].astype(float),
            "channel_switches": df["channel_switches"].astype(float),
        },
        index=df.index,
    )
    return out


def cox_churn(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    alpha: float = 0.05,
    penalizer: float = 0.0,
    max_customers: int | None = 10_000,
) -> CoxResult:
    """A Cox proportional-hazards model of churn with CX covariates that change over time.

    *Definition*: lifelines' CoxTimeVaryingFitter on counting-process rows (churn_cox_intervals.sql):
    each customer's follow-up (as in `churn_status`, time since start in days) is cut at every
    moment a covariate changes, and each interval carries the covariates known at its start.
    Covariates: NPS group of the latest relationship answer so far (promoter is the reference;
    nps_detractor, nps_passive, nps_no_answer), long_resolution (a ticket has been open more than
    72 hours), ticket_contacts (contacts of tickets resolved so far), channel_switches (hand-offs
    between channels within a day, so far).
    Leakage: covariates measured at the as-of date would see the future (a customer who stays
    longer has more time to collect tickets and answers, which makes tickets look protective);
    the time-varying form uses only what was known before each moment of risk.
    hazard_ratio = exp(coef); a value above 1 means faster churn; intervals are Wald intervals
    at level 1 - alpha. Customers with no follow-up time (churned at their start) are left out.
    Scale: lifelines' fit slows down sharply with many rows (about 3 minutes for 30,000
    customers), so when there are more than `max_customers` customers the model is fitted on a
    random sample of that many (seeded: the same data give the same sample) and then applied to
    every customer; n_customers says how many were fitted. None fits everyone.
    """
    from lifelines import CoxTimeVaryingFitter

    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_alpha(alpha)
    if isinstance(penalizer, bool) or not isinstance(penalizer, (int, float)) or penalizer < 0:
        raise CxInputError(f"penalizer must be a number of at least 0, got {penalizer!r}")
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    rows = _run(
        con,
        "churn_cox_intervals",
        {"as_of": cutoff, "inactivity_days": inactivity_days},
        {"status": _status_fragment(definition)},
    )
    if rows.empty or not rows["event"].any():
        raise CxDataError("the Cox model needs customers who churned; none did under this definition")
    if max_customers is not None and (isinstance(max_customers, bool) or not isinstance(max_customers, int)
                                      or max_customers < 10):
        raise CxInputError(f"max_customers must be a whole number of at least 10, or None, got {max_customers!r}")
    X = _design(rows)
    fit_rows = rows
    ids = rows["customer_id"].unique()
    if max_customers is not None and len(ids) > max_customers:
        chosen = np.random.default_rng(20240607).choice(np.sort(ids), size=max_customers, replace=False)
        fit_rows = rows[rows["customer_id"].isin(chosen)]
    Xf = X.loc[fit_rows.index]
    keep = [c for c in Xf.columns if Xf[c].nunique() > 1]  # a constant covariate cannot be estimated
    fit_df = pd.concat([fit_rows[["customer_id", "start_day", "stop_day", "event"]], Xf[keep]], axis=1)
    ctv = CoxTimeVaryingFitter(alpha=alpha, penalizer=penalizer)
    ctv.fit(fit_df, id_col="customer_id", event_col="event", start_col="start_day", stop_col="stop_day")
    s = ctv.summary
    summary = pd.DataFrame(
        {
            "covariate": s.index,
            "description": [COX_COVARIATES[c] for c in s.index],
            "coef": s["coef"].to_numpy(),
            "se": s["se(coef)"].to_numpy(),
            "hazard_ratio": s["exp(coef)"].to_numpy(),
            "ci_lower": np.exp(s.iloc[:, s.columns.get_loc("coef lower %g%%" % ((1 - alpha) * 100))].to_numpy()),
            "ci_upper": np.exp(s.iloc[:, s.columns.get_loc("coef upper %g%%" % ((1 - alpha) * 100))].to_numpy()),
            "p_value": s["p"].to_numpy(),
            "alpha": alpha,
        }
    )
    last = rows.groupby("customer_id", sort=True).tail(1).reset_index(drop=True)
    churned = rows.groupby("customer_id", sort=True)["event"].any().to_numpy()
    cust = pd.concat([last[["customer_id"]], _design(last)], axis=1)
    cust.insert(1, "churned", churned)
    cust.insert(2, "tenure_days", last["stop_day"].to_numpy())
    cust["partial_hazard"] = np.asarray(ctv.predict_partial_hazard(cust[keep])).ravel()
    llr = ctv.log_likelihood_ratio_test()
    # concordance on the customers' final state (Harrell's C; lifelines' utility)
    from lifelines.utils import concordance_index

    conc = float(concordance_index(cust["tenure_days"], -cust["partial_hazard"], cust["churned"]))
    return CoxResult(
        summary=summary,
        customers=cust,
        baseline_cumulative_hazard=ctv.baseline_cumulative_hazard_.iloc[:, 0],
        concordance=conc,
        log_likelihood_ratio_p=float(llr.p_value),
        n_customers=int(fit_rows["customer_id"].nunique()),
        n_events=int(fit_rows["event"].sum()),
        definition=definition_text(definition, inactivity_days),
        covariate_means=Xf[keep].mean(),
    )


# --------------------------------------------------------------------------- value of experience


def value_by_nps_group(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    horizon_months: float = 12,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Retention and revenue by NPS group (latest relationship NPS answer).

    *Definition*: per group (promoter, passive, detractor, '(none)' = never answered):
    customers; churned and churn_rate among judged customers (as in `churn_rate`);
    retention_at_horizon = Kaplan-Meier survival `horizon_months` after the start (share still
    customers a year in, by default); revenue = all orders up to as-of; revenue_per_customer;
    revenue_last_year_per_active = orders in the 365 days up to as-of per customer not churned.
    Groups below `min_group_size` customers are suppressed.
    Caution: groups are by the latest answer, which customers give at different times; those
    who never answered include customers who left before they were asked, so the '(none)'
    group's retention is low partly for that reason (the Cox model in `cox_churn` avoids this
    by letting the NPS group change over time).
    Columns: segment, customers, churned, churn_rate, retention_at_horizon, revenue,
    revenue_per_customer, active, revenue_last_year_per_active, suppressed, definition.
    """
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    check_min_group_size(min_group_size)
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    slots = {"status": _status_fragment(definition), "segments": _segments_fragment(con, "nps_group")}
    df = _run(con, "churn_value", {"as_of": cutoff, "inactivity_days": inactivity_days}, slots)
    km = survival_summary(con, by="nps_group", unit="month", definition=definition, inactivity_days=inactivity_days,
                          as_of=cutoff, at=horizon_months, min_group_size=1)
    df["retention_at_horizon"] = df["segment"].map(km.set_index("group")["survival_at"])
    order = {"promoter": 0, "passive": 1, "detractor": 2}
    df = df.sort_values("segment", key=lambda s: s.map(order).fillna(3)).reset_index(drop=True)
    df = df[["segment", "customers", "churned", "churn_rate", "retention_at_horizon", "revenue",
             "revenue_per_customer", "active", "revenue_last_year_per_active"]]
    df = suppress(df, n="customers", min_group_size=min_group_size,
                  values=["churned", "churn_rate", "retention_at_horizon", "revenue", "revenue_per_customer", "active",
                          "revenue_last_year_per_active"])
    df["definition"] = definition_text(definition, inactivity_days)
    return df


def detractor_to_passive_value(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    horizon_months: float = 12,
    share_moved: float = 1.0,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Estimated revenue kept over `horizon_months` if detractors churned like passives.

    *Definition*: moved = share_moved x active detractors (not churned at as-of);
    churn_gap = P(churn within the horizon | detractor) - P(same | passive), each 1 - KM survival
    at `horizon_months` after the start (`value_by_nps_group`); customers_kept = moved x
    churn_gap; value = customers_kept x annual revenue per active detractor (orders in the last
    365 days per active detractor) x horizon_months / 12.
    Assumptions (also in the ``assumptions`` column): the churn gap between the groups is caused
    by the experience (it is observational: detractors may differ in other ways); moved
    customers keep their own spend; the horizon churn probability from the start of the
    relationship stands in for every tenure; no discounting; revenue, not margin.
    Columns: active_detractors, moved, detractor_churn, passive_churn, churn_gap, customers_kept,
    revenue_per_active_detractor, value, horizon_months, assumptions, definition.
    Returns a single row of blanks when either group is too small (below min_group_size).
    """
    if isinstance(share_moved, bool) or not isinstance(share_moved, (int, float)) or not 0 < share_moved <= 1:
        raise CxInputError(f"share_moved must be a share above 0 and at most 1, got {share_moved!r}")
    v = value_by_nps_group(con, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                           horizon_months=horizon_months, min_group_size=min_group_size).set_index("segment")
    assumptions = (
        f"detractors who move to passive take on the passives' {horizon_months:g}-month churn probability "
        "(Kaplan-Meier from the start of the relationship); the difference is treated as caused by the "
        "experience, though it is observational; they keep their own spend (last 365 days per active "
        "detractor); revenue, not margin; no discounting"
    )
    ok = all(g in v.index and not v.loc[g, "suppressed"] for g in ("detractor", "passive"))
    if not ok:
        row = dict.fromkeys(["active_detractors", "moved", "detractor_churn", "passive_churn", "churn_gap",
                             "customers_kept", "revenue_per_active_detractor", "value"], np.nan)
    else:
        d, p = v.loc["detractor"], v.loc["passive"]
        moved = share_moved * float(d["active"])
        det_churn, pas_churn = 1 - float(d["retention_at_horizon"]), 1 - float(p["retention_at_horizon"])
        gap = det_churn - pas_churn
        rev = float(d["revenue_last_year_per_active"]) if pd.notna(d["revenue_last_year_per_active"]) else 0.0
        kept = moved * gap
        row = {"active_detractors": float(d["active"]), "moved": moved, "detractor_churn": det_churn,
               "passive_churn": pas_churn, "churn_gap": gap, "customers_kept": kept,
               "revenue_per_active_detractor": rev, "value": kept * rev * horizon_months / 12}
    row.update(horizon_months=horizon_months, assumptions=assumptions,
               definition=definition_text(definition, inactivity_days))
    return pd.DataFrame([row])


def _reasons(model: CoxResult, top: int = 3) -> pd.Series:
    """Per customer: the covariates that raise their risk most above an average customer's.

    Only risk factors count (coef > 0, value above the mean): having less of something
    protective is not given as a reason.
    """
    coefs = model.summary.set_index("covariate")["coef"]
    coefs = coefs[coefs > 0]
    names = list(coefs.index)
    if not names:
        return pd.Series("no CX factor above average", index=model.customers.index)
    X = model.customers[names].to_numpy(dtype=float)
    contrib = (X - model.covariate_means[names].to_numpy()) * coefs.to_numpy()
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    counted = {i for i, n in enumerate(names) if n in ("ticket_contacts", "channel_switches")}
    out = []
    for row, idx in enumerate(order):
        parts = [(f"{int(X[row, i])} " if i in counted else "") + COX_COVARIATES[names[i]]
                 for i in idx if contrib[row, i] > 0]
        out.append("; ".join(parts) if parts else "no CX factor above average")
    return pd.Series(out, index=model.customers.index)


def at_risk_customers(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    horizon_days: int = 90,
    top: int | None = 100,
    model: CoxResult | None = None,
) -> pd.DataFrame:
    """Customers not yet churned, ranked by their probability of churning within `horizon_days`.

    *Definition*: churn_probability from the time-varying Cox model (`cox_churn`, or `model` if
    given) at the customer's current tenure and latest known covariates (contractual: at as-of;
    non_contractual: at their last activity); reasons = up to three covariates that raise the
    customer's risk most above an average customer's (risk factors with coef > 0 whose value is
    above the mean, ordered by coef x (value - mean));
    revenue_last_year = orders in the 365 days up to as-of; expected_lost_revenue =
    churn_probability x revenue_last_year x horizon_days / 365.
    Customer-level (customer ids): for CSV export (`export_csv`) or interactive use, never for a
    stakeholder report. Columns: rank, customer_id, churn_probability, reasons, tenure_days,
    nps_group, long_resolution, ticket_contacts, channel_switches, revenue_last_year,
    expected_lost_revenue, horizon_days, definition.
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise CxInputError(f"horizon_days must be a whole number of days of at least 1, got {horizon_days!r}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise CxInputError(f"top must be a whole number of at least 1, or None for everyone, got {top!r}")
    cutoff = _as_of(con, as_of)
    if model is None:
        model = cox_churn(con, definition=definition, inactivity_days=inactivity_days, as_of=cutoff)
    cust = model.customers
    prob = model.churn_probability(horizon_days).to_numpy()
    reasons = _reasons(model)
    rev = sql.run(con, "churn_revenue_last_year", {"as_of": cutoff}).set_index("customer_id")["revenue_last_year"]
    nps_group = np.select(
        [cust["nps_detractor"] == 1, cust["nps_passive"] == 1, cust["nps_no_answer"] == 1],
        ["detractor", "passive", "no_answer"], "promoter")
    out = pd.DataFrame(
        {
            "customer_id": cust["customer_id"],
            "churn_probability": prob,
            "reasons": reasons,
            "tenure_days": cust["tenure_days"],
            "nps_group": nps_group,
            "long_resolution": cust["long_resolution"].astype(bool),
            "ticket_contacts": cust["ticket_contacts"].astype(int),
            "channel_switches": cust["channel_switches"].astype(int),
            "revenue_last_year": cust["customer_id"].map(rev).fillna(0.0).to_numpy(),
        }
    )
    out = out[~cust["churned"].to_numpy()]
    out["expected_lost_revenue"] = out["churn_probability"] * out["revenue_last_year"] * horizon_days / 365
    out = out.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    if top is not None:
        out = out.head(top)
    out["horizon_days"] = horizon_days
    out["definition"] = model.definition
    return out


def revenue_at_risk(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    as_of=None,
    horizon_days: int = 365,
    threshold: float = 0.5,
    model: CoxResult | None = None,
) -> pd.DataFrame:
    """Expected revenue lost over `horizon_days` from customers likely to churn.

    *Definition*: for every customer not yet churned, churn_probability within `horizon_days`
    from the time-varying Cox model (as in `at_risk_customers`); likely to churn =
    churn_probability >= `threshold`; revenue_at_risk = sum over them of churn_probability x
    revenue in the last 365 days x horizon_days / 365 (their spend continues at last year's
    rate unless they churn; no discounting); expected_lost_revenue_all = the same sum over every
    active customer. One aggregated row (no customer data).
    Columns: active_customers, likely_to_churn, revenue_at_risk, expected_lost_revenue_all,
    revenue_last_year_active, threshold, horizon_days, assumptions, definition.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise CxInputError(f"threshold must be a probability between 0 and 1, got {threshold!r}")
    risk = at_risk_customers(con, definition=definition, inactivity_days=inactivity_days, as_of=as_of,
                             horizon_days=horizon_days, top=None, model=model)
    likely = risk["churn_probability"] >= threshold
    return pd.DataFrame(
        [
            {
                "active_customers": len(risk),
                "likely_to_churn": int(likely.sum()),
                "revenue_at_risk": float(risk.loc[likely, "expected_lost_revenue"].sum()),
                "expected_lost_revenue_all": float(risk["expected_lost_revenue"].sum()),
                "revenue_last_year_active": float(risk["revenue_last_year"].sum()),
                "threshold": threshold,
                "horizon_days": horizon_days,
                "assumptions": (
                    "churn probabilities from a time-varying Cox model of CX factors; spend continues at each "
                    f"customer's last-365-day rate for {horizon_days} days unless they churn; no discounting"
                ),
                "definition": risk["definition"].iloc[0] if len(risk) else definition_text(definition, inactivity_days),
            }
        ]
    )


def export_csv(df: pd.DataFrame, path) -> Path:
    """Write a customer list (e.g. `at_risk_customers`) to CSV for a spreadsheet; returns the path.

    Spreadsheet formula injection is neutralised (cxlib.voc.neutralise_formulas: a text cell
    starting with = + - @, a tab or a carriage return gets a leading apostrophe). Every field
    is quoted; parent folders are created. The input is not changed.
    """
    from .voc import neutralise_formulas

    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"export_csv takes a DataFrame, got {type(df).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(df).to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    return path
