"""The value of experience: revenue by NPS group, the value of moving detractors to passive, revenue at risk,
and the at-risk customer list (analyst-only, customer-level).

Definitions and assumptions: docs/metrics.md (value of experience).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.churn.cox import COX_COVARIATES, CoxResult, cox_churn
from cxlib.analysis.churn.kaplan_meier import survival, survival_summary
from cxlib.analysis.churn.status import (
    _as_of,
    _check_data,
    _check_definition,
    _check_inactivity,
    _run,
    _segments_fragment,
    _status_fragment,
    definition_text,
)
from cxlib.analysis.exports import write_csv
from cxlib.analysis.intervals import Z95, t_interval, wilson_interval
from cxlib.errors import CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


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
    95% intervals: churn_rate_lower/upper Wilson (churned of judged); retention_at_horizon_lower/upper
    lifelines' exponential Greenwood ("log(-log)") interval of the Kaplan-Meier survival at the
    horizon; revenue_per_customer_lower/upper and revenue_last_year_per_active_lower/upper Student-t
    intervals on the mean over the customers (those without orders count 0).
    Groups below `min_group_size` customers are suppressed (their intervals too).
    Caution: groups are by the latest answer, which customers give at different times; those
    who never answered include customers who left before they were asked, so the '(none)'
    group's retention is low partly for that reason (the Cox model in `cox_churn` avoids this
    by letting the NPS group change over time).
    Columns: segment, customers, churned, churn_rate, churn_rate_lower, churn_rate_upper,
    retention_at_horizon, retention_at_horizon_lower, retention_at_horizon_upper, revenue,
    revenue_per_customer, revenue_per_customer_lower, revenue_per_customer_upper, active, revenue_last_year_per_active,
    revenue_last_year_per_active_lower, revenue_last_year_per_active_upper, suppressed, definition.
    """
    _check_definition(definition)
    _check_inactivity(inactivity_days)
    check_min_group_size(min_group_size)
    _check_data(con, definition)
    cutoff = _as_of(con, as_of)
    slots = {"status": _status_fragment(definition), "segments": _segments_fragment(con, "nps_group")}
    params = {"as_of": cutoff, "inactivity_days": inactivity_days}
    df = _run(con, "churn_value", params, slots)
    spread = _run(con, "churn_value_spread", params, slots).set_index("segment")
    km = survival_summary(con, by="nps_group", unit="month", definition=definition, inactivity_days=inactivity_days,
                          as_of=cutoff, at=horizon_months, min_group_size=1)
    df["retention_at_horizon"] = df["segment"].map(km.set_index("group")["survival_at"])
    band = _survival_band(con, definition, inactivity_days, cutoff, horizon_months)
    df["retention_at_horizon_lower"] = df["segment"].map(band["ci_lower"])
    df["retention_at_horizon_upper"] = df["segment"].map(band["ci_upper"])
    df[["churn_rate_lower", "churn_rate_upper"]] = [
        [v / 100 for v in wilson_interval(c, j)] for c, j in zip(df["churned"], df["judged"])]
    for mean, sd, n in (("revenue_per_customer", "revenue_sd", "customers"),
                        ("revenue_last_year_per_active", "revenue_last_year_sd", "active")):
        df[[f"{mean}_lower", f"{mean}_upper"]] = [
            list(t_interval(m, s, k)) for m, s, k in zip(df[mean], df["segment"].map(spread[sd]), df[n])]
    order = {"promoter": 0, "passive": 1, "detractor": 2}
    df = df.sort_values("segment", key=lambda s: s.map(order).fillna(3)).reset_index(drop=True)
    values = ["churned", "churn_rate", "churn_rate_lower", "churn_rate_upper", "retention_at_horizon",
              "retention_at_horizon_lower", "retention_at_horizon_upper", "revenue", "revenue_per_customer",
              "revenue_per_customer_lower",
              "revenue_per_customer_upper", "active", "revenue_last_year_per_active",
              "revenue_last_year_per_active_lower", "revenue_last_year_per_active_upper"]
    df = suppress(df[["segment", "customers", *values]], n="customers", min_group_size=min_group_size, values=values)
    df["definition"] = definition_text(definition, inactivity_days)
    return df


def _survival_band(con, definition, inactivity_days, as_of, horizon_months) -> pd.DataFrame:
    """Per NPS group (index): the Kaplan-Meier 95% interval (ci_lower, ci_upper) at `horizon_months`
    months, read off the step curve of `survival` (the last time at or before the horizon)."""
    curve = survival(con, by="nps_group", unit="month", definition=definition, inactivity_days=inactivity_days,
                     as_of=as_of, min_group_size=1)
    curve = curve[curve["time"] <= horizon_months].sort_values(["group", "time"])
    return curve.groupby("group")[["ci_lower", "ci_upper"]].last()


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
    95% intervals (delta method, normal): churn_gap_lower/upper = gap +/- 1.96 sqrt(se_d^2 + se_p^2),
    value_lower/upper = value +/- 1.96 moved h/12 sqrt(rev^2 se_gap^2 + gap^2 se_rev^2), the groups
    independent; each standard error read off its 95% interval in `value_by_nps_group` (half its
    width / 1.96: Kaplan-Meier Greenwood for the survivals, Student-t for the revenue). The number
    of active detractors is taken as known.
    Columns: active_detractors, moved, detractor_churn, passive_churn, churn_gap, churn_gap_lower,
    churn_gap_upper, customers_kept, revenue_per_active_detractor, value, value_lower, value_upper,
    horizon_months, assumptions, definition.
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
                             "churn_gap_lower", "churn_gap_upper", "customers_kept", "revenue_per_active_detractor",
                             "value", "value_lower", "value_upper"], np.nan)
    else:
        row = _move_value(v.loc["detractor"], v.loc["passive"], share_moved, horizon_months)
    row.update(horizon_months=horizon_months, assumptions=assumptions,
               definition=definition_text(definition, inactivity_days))
    return pd.DataFrame([row])


def _move_value(d: pd.Series, p: pd.Series, share_moved: float, horizon_months: float) -> dict:
    """`detractor_to_passive_value`'s figures and delta-method intervals from the detractor and
    passive rows of `value_by_nps_group`."""
    def se(row, col):  # a standard error from a 95% interval's half width
        return (float(row[f"{col}_upper"]) - float(row[f"{col}_lower"])) / (2 * Z95)

    moved = share_moved * float(d["active"])
    det_churn, pas_churn = 1 - float(d["retention_at_horizon"]), 1 - float(p["retention_at_horizon"])
    gap = det_churn - pas_churn
    gap_se = np.hypot(se(d, "retention_at_horizon"), se(p, "retention_at_horizon"))
    has_rev = pd.notna(d["revenue_last_year_per_active"])
    rev = float(d["revenue_last_year_per_active"]) if has_rev else 0.0
    rev_se = se(d, "revenue_last_year_per_active") if has_rev else 0.0
    scale = moved * horizon_months / 12
    value_se = scale * np.hypot(rev * gap_se, gap * rev_se)
    return {"active_detractors": float(d["active"]), "moved": moved, "detractor_churn": det_churn,
            "passive_churn": pas_churn, "churn_gap": gap, "churn_gap_lower": gap - Z95 * gap_se,
            "churn_gap_upper": gap + Z95 * gap_se, "customers_kept": moved * gap, "revenue_per_active_detractor": rev,
            "value": scale * gap * rev, "value_lower": scale * gap * rev - Z95 * value_se,
            "value_upper": scale * gap * rev + Z95 * value_se}


def _reasons(model: CoxResult, top: int = 3, rows: np.ndarray | None = None) -> list[str]:
    """Per customer (the model's customers at positions `rows`, default all): the covariates
    that raise their risk most above an average customer's.

    Only risk factors count (coef > 0, value above the mean): having less of something
    protective is not given as a reason.
    """
    rows = np.arange(len(model.customers)) if rows is None else np.asarray(rows, dtype=int)
    coefs = model.summary.set_index("covariate")["coef"]
    coefs = coefs[coefs > 0]
    names = list(coefs.index)
    if not names:
        return ["no CX factor above average"] * len(rows)
    X = model.customers[names].to_numpy(dtype=float)[rows]
    contrib = (X - model.covariate_means[names].to_numpy()) * coefs.to_numpy()
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    counted = {i for i, n in enumerate(names) if n in ("ticket_contacts", "channel_switches")}
    out = []
    for row, idx in enumerate(order):
        parts = [(f"{int(X[row, i])} " if i in counted else "") + COX_COVARIATES[names[i]]
                 for i in idx if contrib[row, i] > 0]
        out.append("; ".join(parts) if parts else "no CX factor above average")
    return out


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
    return _at_risk(con, definition, inactivity_days, as_of, horizon_days, top, model, reasons=True)


def _at_risk(con, definition, inactivity_days, as_of, horizon_days, top, model, *, reasons: bool) -> pd.DataFrame:
    """`at_risk_customers`; the reasons (text built per customer) only for the rows returned,
    and not at all without `reasons` (for `revenue_at_risk`, which only sums)."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise CxInputError(f"horizon_days must be a whole number of days of at least 1, got {horizon_days!r}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise CxInputError(f"top must be a whole number of at least 1, or None for everyone, got {top!r}")
    cutoff = _as_of(con, as_of)
    if model is None:
        model = cox_churn(con, definition=definition, inactivity_days=inactivity_days, as_of=cutoff)
    cust = model.customers
    prob = model.churn_probability(horizon_days).to_numpy()
    rev = sql.run(con, "churn_revenue_last_year", {"as_of": cutoff}).set_index("customer_id")["revenue_last_year"]
    nps_group = np.select(
        [cust["nps_detractor"] == 1, cust["nps_passive"] == 1, cust["nps_no_answer"] == 1],
        ["detractor", "passive", "no_answer"], "promoter")
    out = pd.DataFrame(
        {
            "customer_id": cust["customer_id"],
            "churn_probability": prob,
            "_row": np.arange(len(cust)),
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
    rows = out.pop("_row").to_numpy()
    if reasons:
        out.insert(3, "reasons", _reasons(model, rows=rows))
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
    risk = _at_risk(con, definition, inactivity_days, as_of, horizon_days, None, model, reasons=False)
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

    Spreadsheet formula injection is neutralised (cxlib.analysis.exports.neutralise_formulas: a
    text cell starting with = + - @, a tab or a carriage return gets a leading apostrophe). Every
    field is quoted; parent folders are created. The input is not changed.
    """
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"export_csv takes a DataFrame, got {type(df).__name__}")
    return write_csv(df, path, quote_all=True)
