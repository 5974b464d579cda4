"""Churn and retention: status and rates, cohorts, survival, the Cox model, the value of experience.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import churn`` and ``churn.churn_rate(con)``. Definitions: docs/metrics.md.
"""

from cxlib.analysis.churn.cox import CoxResult, cox_churn
from cxlib.analysis.churn.headlines import (
    at_risk_headline,
    churn_rate_headline,
    churn_trend_headline,
    cox_headline,
    experience_value_headline,
    logrank_headline,
    revenue_at_risk_headline,
    survival_headline,
)
from cxlib.analysis.churn.kaplan_meier import LogrankResult, logrank, survival, survival_summary
from cxlib.analysis.churn.retention import cohort_retention, lifecycle, retention_by_group
from cxlib.analysis.churn.status import (
    DEFINITIONS,
    check_parameters,
    check_segment_name,
    churn_rate,
    churn_status,
    churn_trend,
    definition_text,
    period_churn,
)
from cxlib.analysis.churn.active_days import stickiness, stickiness_summary
from cxlib.analysis.churn.value import (
    at_risk_customers,
    detractor_to_passive_value,
    export_csv,
    revenue_at_risk,
    value_by_nps_group,
)
from cxlib.analysis.clv import BgNbdResult, LifetimeValue, bgnbd, customer_lifetime_value, lifetime_value_report

__all__ = [
    "DEFINITIONS",
    "churn_status",
    "churn_rate",
    "period_churn",
    "churn_trend",
    "cohort_retention",
    "lifecycle",
    "retention_by_group",
    "stickiness",
    "stickiness_summary",
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
    "check_segment_name",
    "bgnbd",
    "BgNbdResult",
    "customer_lifetime_value",
    "LifetimeValue",
    "lifetime_value_report",
    "churn_rate_headline",
    "churn_trend_headline",
    "survival_headline",
    "logrank_headline",
    "cox_headline",
    "experience_value_headline",
    "revenue_at_risk_headline",
    "at_risk_headline",
]
