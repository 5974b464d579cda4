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
import os
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from . import sql
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
    "definition_text",
]

DEFINITIONS = ("contractual", "non_contractual")
PERIODS = ("month", "week")
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}
# customer_features columns usable as `by` besides the customers table's own columns
FEATURE_SEGMENTS = ("nps_group", "long_resolution")


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
    if by in FEATURE_SEGMENTS:
        return _fragment(
            "churn_segment_features", {"features": _fragment("customer_features"), "segment_col": sql.quote_ident(by)}
        )
    customer_cols = [c for c in table_columns(con, "customers") if c not in ("customer_id", "signup_at")]
    if by not in customer_cols:
        raise unknown_name("column", by, "customers (or the CX groups " + ", ".join(FEATURE_SEGMENTS) + ")",
                           customer_cols + list(FEATURE_SEGMENTS))
    return _fragment("churn_segment_customers", {"segment_col": sql.checked_column(con, "customers", by)})


def _run(con, name: str, params: dict, slots: dict | None = None) -> pd.DataFrame:
    """Run a query whose slots hold our fragments, passing exactly the parameters it uses."""
    needed = sql.parameters(sql.render(name, slots))
    missing = needed - set(params)
    if missing:
        raise CxInputError(f"{name}.sql needs parameters {sorted(missing)}")
    return sql.run(con, name, {k: v for k, v in params.items() if k in needed}, slots)


def _has_rows(con, table: str) -> bool:
    return bool(con.execute(f"SELECT count(*) FROM {sql.quote_ident(table)}").fetchone()[0])


def _check_data(con, definition: str) -> None:
    if definition == "contractual" and not _has_rows(con, "subscriptions"):
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
    relationship NPS answer: promoter, passive, detractor, '(missing)') or 'long_resolution'
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
) -> pd.DataFrame:
    """Churn rate per calendar period, from the first customer start to the as-of date.

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
    """
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
    return df.drop(columns="period_end")


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
    suppressed, kind.
    """
    _check_choice(period, PERIODS, "period")
    _check_choice(kind, ("first_time", "recurring"), "retention kind")
    check_min_group_size(min_group_size)
    cutoff = _as_of(con, as_of)
    df = sql.run(con, "cohort_retention", {"period": period, "as_of": cutoff, "kind": kind})
    df = suppress(df, n="customers", values=["retained", "retention"], min_group_size=min_group_size,
                  within=["period_number"])
    df["kind"] = kind
    return df


def lifecycle(con: duckdb.DuckDBPyConnection, *, period: str = "month", as_of=None) -> pd.DataFrame:
    """Customers per period by lifecycle status: new, returning, resurrecting, dormant.

    *Definition* (PostHog's lifecycle): activity = events and orders. In period P a customer is
    new (first activity ever in P), returning (active in P and the period before), resurrecting
    (active in P, not the period before, active some time earlier) or dormant (active the
    period before, not in P). Counts are of whole customer bases (not broken down), so no
    suppression applies. ``incomplete``: the period ends after as-of.
    Columns: period, status, customers, incomplete.
    """
    _check_choice(period, PERIODS, "period")
    cutoff = _as_of(con, as_of)
    return sql.run(con, "lifecycle", {"period": period, "as_of": cutoff})


# --------------------------------------------------------------------------- survival


def _survival_counts(con, *, by, definition, inactivity_days, as_of) -> pd.DataFrame:
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    slots = {"status": _status_fragment(definition), "segments": _segments_fragment(con, by)}
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
    """
    from lifelines import KaplanMeierFitter

    udays = _unit_days(unit)
    _check_alpha(alpha)
    check_min_group_size(min_group_size)
    counts = _survival_counts(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of)
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
    counts = _survival_counts(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of)
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
) -> LogrankResult:
    """Log-rank test that the survival curves of the groups of `by` are the same.

    *Definition*: lifelines' multivariate_logrank_test (for two groups the classic log-rank
    test) on the same durations as `survival`; chi-squared with groups - 1 degrees of freedom.
    Groups below `min_group_size` customers (after complementary suppression) and the
    '(missing)' group are left out of the test and listed as such in the summary.
    summary columns: group, customers, churned, tested.
    """
    from lifelines.statistics import multivariate_logrank_test

    if by is None:
        raise CxInputError("logrank compares groups: give by=<a customers column or 'nps_group'>")
    udays = _unit_days(unit)
    check_min_group_size(min_group_size)
    counts = _survival_counts(con, by=by, definition=definition, inactivity_days=inactivity_days, as_of=as_of)
    sizes = _group_sizes(counts, min_group_size)
    tested = sizes[~sizes["suppressed"] & (sizes["segment"] != "(missing)")]["segment"].tolist()
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
