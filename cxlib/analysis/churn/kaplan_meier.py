"""Survival of the customer relationship: Kaplan-Meier curves, median lifetimes and log-rank tests (lifelines),
fitted on aggregated (segment, day, outcome, count) rows from DuckDB.

Definitions: docs/metrics.md (churn, survival).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from cxlib.analysis.churn.status import (
    ORIGINS,
    UNIT_DAYS,
    _as_of,
    _check_choice,
    _check_data,
    _check_definition,
    _check_inactivity,
    _fragment,
    _run,
    _segments_fragment,
    _status_fragment,
    definition_text,
)
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


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
    sizes["events"] = (counts[counts["event"]].groupby("segment")["customers"].sum().reindex(sizes["segment"])
                       .fillna(0).astype("int64").to_numpy())
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
    The group column is called ``group`` (not ``segment``), as docs/contract.md names it;
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
    out = out.astype({c: "Int64" for c in ("at_risk", "events", "censored") if c in out})  # whole, <NA> if hidden
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
    out = pd.DataFrame(rows).astype({"customers": "Int64", "churned": "Int64"})
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
