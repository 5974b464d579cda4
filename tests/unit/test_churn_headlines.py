"""The sentences the churn report prints, on hand-made results: the figure when there is one, and
a plain sentence (never NaN, never an IndexError) when the store holds too little; plus the churn
functions' plain errors on stores that cannot serve a definition or a model."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from test_churn_metrics import AS_OF, con  # noqa: F401  (the hand-made store)

import cxlib
from cxlib.analysis import churn
from cxlib.analysis.churn.cox import CoxResult

DEF = "contractual churn: every subscription of the customer has ended"


def _clean(text: str) -> str:
    assert "nan" not in text.lower().replace("nance", "") and "None" not in text and "<NA>" not in text, text
    return text


# ---------------------------------------------------------------- churn rate


def test_rate_headline_with_a_rate():
    rate = pd.DataFrame({"customers": [200], "churned": [50], "churn_rate": [0.25], "not_judged": [0],
                         "suppressed": [False], "definition": [DEF]})
    assert churn.churn_rate_headline(rate) == f"25.0% of 200 customers have churned ({DEF})."


def test_rate_headline_when_nobody_can_be_judged_yet():
    rate = pd.DataFrame({"customers": [0], "churned": [0], "churn_rate": [np.nan], "not_judged": [12],
                         "suppressed": [False], "definition": [DEF]})
    assert _clean(churn.churn_rate_headline(rate)) == (
        "No customer has been followed long enough to judge churn yet (12 are too new to judge). "
        "Contractual churn: every subscription of the customer has ended.")


def test_rate_headline_when_suppressed_or_empty():
    hidden = pd.DataFrame({"customers": [np.nan], "churned": [np.nan], "churn_rate": [np.nan], "not_judged": [np.nan],
                           "suppressed": [True], "definition": [DEF]})
    assert _clean(churn.churn_rate_headline(hidden)).startswith("Too few customers have been followed long enough")
    empty = pd.DataFrame(columns=["customers", "churned", "churn_rate", "definition"])
    assert churn.churn_rate_headline(empty) == "No customer can be judged for churn yet."
    with pytest.raises(cxlib.CxInputError, match="churn_rate"):
        churn.churn_rate_headline(pd.DataFrame({"customers": [1]}))


def test_rate_headline_on_a_store_where_every_customer_is_too_new(con):  # noqa: F811
    # 400 days of inactivity: every customer started in 2024, less than 400 days before as-of: nobody is judged
    # (0 judged customers hide nobody: the 0 is shown, not suppressed, and the headline says why)
    rate = churn.churn_rate(con, definition="non_contractual", inactivity_days=400, as_of=AS_OF)
    assert not rate["suppressed"].iloc[0] and rate["customers"].iloc[0] == 0 and pd.isna(rate["churn_rate"].iloc[0])
    assert _clean(churn.churn_rate_headline(rate)).startswith("No customer has been followed long enough")



# ---------------------------------------------------------------- trend


def _periods(rates, complete=True):
    n = len(rates)
    return pd.DataFrame({"period": pd.date_range("2024-01-01", periods=n, freq="MS"), "active_at_start": 100,
                         "lost": [np.nan if pd.isna(r) else r * 100 for r in rates], "churn_rate": rates,
                         "complete": complete, "judged": True, "definition": DEF})


def test_trend_headline_with_too_few_periods():
    assert churn.churn_trend_headline(_periods([0.1, 0.2]), period="month") == (
        "Churn per month cannot be trended yet: 2 finished months with a churn rate, and a trend needs 3. "
        "Contractual churn: every subscription of the customer has ended.")
    one = _periods([0.1, np.nan, np.nan])
    assert "1 finished week with" in churn.churn_trend_headline(one, period="week")
    none = _periods([]).astype({"churn_rate": float})
    assert _clean(churn.churn_trend_headline(none)).startswith("Churn per month cannot be trended yet: 0 finished months")


def test_trend_headline_with_a_trend():
    text = churn.churn_trend_headline(_periods([0.10, 0.12, 0.14, 0.16, 0.18]))
    assert text.startswith("Churn per month is rising over 5 finished periods (slope +2.00% per month, p < 0.001)")
    assert text.endswith(f"). {DEF[0].upper() + DEF[1:]}.")  # the definition opens its own sentence


# ---------------------------------------------------------------- survival and log-rank


@pytest.fixture()
def halves(tmp_path):
    """10 subscribers from 2024-01-01: 5 end on 2024-03-01 (60 days), 5 still run at 2024-12-31."""
    c = cxlib.connect(tmp_path / "h.duckdb", read_only=False)
    c.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    for i in range(10):
        c.execute("INSERT INTO customers (customer_id, signup_at, region) VALUES (?, '2024-01-01', 'north')", [f"h{i}"])
        c.execute("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES (?, 'basic', '2024-01-01', ?)",
                  [f"h{i}", "2024-03-01" if i < 5 else None])
    yield c
    c.close()


def test_survival_headline_overall_by_hand(halves):
    text = churn.survival_headline(halves, as_of="2024-12-31", at=12)
    # Kaplan-Meier: S = 1 - 5/10 = 0.5 from 60 days (60 / 30.4375 = 1.97 months): the median, and S(12)
    assert text == ("Across 10 customers, half have left 2.0 months after they started; 50% are still customers "
                    "12 months in. Contractual churn: every subscription of the customer has ended.")


def test_survival_headline_when_more_than_half_stay_or_too_few(halves):
    halves.execute("UPDATE subscriptions SET ended_at = NULL WHERE customer_id IN ('h2', 'h3', 'h4')")
    text = churn.survival_headline(halves, as_of="2024-12-31", at=12)
    assert "more than half are still customers at the end of the follow-up; 80% are still customers" in text
    assert _clean(churn.survival_headline(halves, as_of="2024-12-31", min_group_size=20)) == (
        "Too few customers to estimate how long customers stay. "
        "Contractual churn: every subscription of the customer has ended.")


def test_logrank_headline_with_one_group_says_why_not(halves):
    text = churn.survival_headline(halves, by="region", as_of="2024-12-31")
    assert _clean(text).startswith("Survival by region: no comparison, as the log-rank test needs at least two "
                                   "groups of 5 or more customers in 'region'; found 1.")
    text = churn.logrank_headline(halves, by="nps_group", lead="By NPS group", as_of="2024-12-31")
    assert text.startswith("By NPS group: no comparison")  # nobody answered: one '(none)' group, left out


def test_logrank_headline_with_two_groups(halves):
    halves.execute("UPDATE customers SET region = 'south' WHERE customer_id IN ('h0', 'h1', 'h2', 'h5', 'h6')")
    test = churn.logrank(halves, by="region", as_of="2024-12-31")
    text = churn.logrank_headline(halves, by="region", as_of="2024-12-31")
    assert text == (f"Survival by region: log-rank p = {test.p_value:.2g} (chi2 = {test.test_statistic:.1f} on 1 df; "
                    "no clear difference). Contractual churn: every subscription of the customer has ended.")


# ---------------------------------------------------------------- Cox, value, revenue, at risk


def _model(covariates):
    summary = pd.DataFrame({"covariate": covariates, "description": [churn.cox.COX_COVARIATES[c] for c in covariates],
                            "coef": 0.5, "se": 0.1, "hazard_ratio": math.exp(0.5), "ci_lower": 1.2, "ci_upper": 2.0,
                            "p_value": 0.001, "alpha": 0.05})
    return CoxResult(summary=summary, customers=pd.DataFrame(), baseline_cumulative_hazard=pd.Series(dtype=float),
                     concordance=0.61, log_likelihood_ratio_p=0.001, n_customers=1200, n_events=300, definition=DEF,
                     covariate_means=pd.Series(0.0, index=covariates))


def test_cox_headline_names_the_factors_it_could_estimate():
    full = churn.cox_headline(_model(list(churn.cox.COX_COVARIATES)))
    assert full == ("Cox model on 1,200 customers and 300 churns; concordance 0.61. Covariates change over time and use "
                    f"only what was known before each moment. {DEF}.")
    part = churn.cox_headline(_model(["channel_switches"]))
    assert "Only channel switches within a day could be estimated: the other CX factors do not vary" in part
    with pytest.raises(cxlib.CxInputError, match="cox_churn"):
        churn.cox_headline("model")


def test_experience_value_headline():
    row = {"customers_kept": 45.2, "value": 5661.4, "horizon_months": 12, "assumptions": "as stated"}
    assert churn.experience_value_headline(pd.DataFrame([row])) == (
        "Moving every active detractor to passive would keep about 45 customers and 5,661 in revenue over 12 months. "
        "Assumptions: as stated.")
    blank = pd.DataFrame([{**row, "customers_kept": np.nan, "value": np.nan}])
    assert _clean(churn.experience_value_headline(blank)).startswith(
        "What moving detractors to passive is worth cannot be estimated here")


def _risk(**kw):
    row = {"active_customers": 500, "likely_to_churn": 96, "revenue_at_risk": 7302.4, "expected_lost_revenue_all": 55702.0,
           "revenue_last_year_active": 80000.0, "threshold": 0.5, "horizon_days": 365, "assumptions": "as stated",
           "definition": DEF}
    return pd.DataFrame([{**row, **kw}])


def test_revenue_at_risk_headline():
    assert churn.revenue_at_risk_headline(_risk()) == (
        "Revenue at risk: 96 customers are more likely than not to churn within a year, 7,302 of expected lost revenue; "
        f"across all active customers the expected loss is 55,702. Assumptions: as stated. {DEF}.")
    assert "churn within 90 days" in churn.revenue_at_risk_headline(_risk(horizon_days=90))
    no_revenue = churn.revenue_at_risk_headline(_risk(revenue_at_risk=0.0, expected_lost_revenue_all=0.0,
                                                      revenue_last_year_active=0.0))
    assert "their revenue cannot be valued, as active customers placed no orders in the last year" in no_revenue
    assert churn.revenue_at_risk_headline(_risk(active_customers=0)).startswith(
        "Revenue at risk: no customer is still active.")


def test_at_risk_headline():
    at_risk = pd.DataFrame({"nps_group": ["detractor", "detractor", "passive", "no_answer"],
                            "long_resolution": [True, False, False, False],
                            "reasons": ["a", "b", "no CX factor above average", "no CX factor above average"]})
    assert churn.at_risk_headline(at_risk) == (
        "Of the 4 customers most at risk, 50% are detractors and 25% had a ticket that took over 72 hours.")
    # a model of channel switches alone: neither NPS nor tickets can be spoken of
    assert churn.at_risk_headline(at_risk, _model(["channel_switches"])) == (
        "Of the 4 customers most at risk, 50% have a CX factor above the average customer's.")
    assert churn.at_risk_headline(at_risk.iloc[0:0]) == "No customer is still active, so nobody is at risk."
    weak = dataclasses.replace(_model(["channel_switches"]), log_likelihood_ratio_p=0.38)
    assert churn.at_risk_headline(at_risk, weak).endswith(
        "Read the ranking with care: no CX factor in the model is clearly linked to churn here "
        "(likelihood-ratio p = 0.38).")


# ---------------------------------------------------------------- plain errors on stores that cannot serve


def test_non_contractual_churn_needs_events_or_orders(tmp_path):
    c = cxlib.connect(tmp_path / "s.duckdb", read_only=False)
    c.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('A', '2024-01-01')")
    c.execute("INSERT INTO subscriptions (customer_id, plan, started_at) VALUES ('A', 'basic', '2024-01-01')")
    with pytest.raises(cxlib.CxDataError, match="non-contractual churn needs dated activity"):
        churn.churn_rate(c, definition="non_contractual")
    assert churn.churn_rate(c, definition="contractual", min_group_size=1)["customers"].iloc[0] == 1
    c.close()


def test_cox_needs_a_factor_that_varies(con):  # noqa: F811
    con.execute("DELETE FROM events")  # no channel switches; no answers and no tickets either
    from cxlib.store import refresh_derived

    refresh_derived(con)
    with pytest.raises(cxlib.CxDataError, match="differs between customers"):
        churn.cox_churn(con, as_of=AS_OF)


def test_check_segment_name(con):  # noqa: F811
    assert churn.check_segment_name(con, "Region") == "region"
    assert churn.check_segment_name(con, "plan") == "plan"  # not an attribute, not a near miss: a default to adapt
    assert churn.check_segment_name(con, "none") == "none" and churn.check_segment_name(con, None) is None
    with pytest.raises(cxlib.CxInputError, match="did you mean 'region'"):
        churn.check_segment_name(con, "regon")
