"""The churn analyses recover the effects planted in the sample data (cxlib.store.sample):
detractors churn ~2.5x faster than promoters and a ticket resolved after more than 72 hours
doubles the churn hazard (both are time-varying in the generator)."""

import pytest

import cxlib
from cxlib.analysis import churn

DEFINITIONS = ["contractual", "non_contractual"]


@pytest.fixture(scope="module")
def big_con(tmp_path_factory):
    """An 8,000-customer sample store: the Cox tests need more power than the shared 3,000 give
    (on those, the long-resolution interval's lower end sits near 1.05)."""
    from cxlib.store.sample import generate

    path = tmp_path_factory.mktemp("churn_big") / "sample.duckdb"
    generate(path, customers=8000, seed=11)
    con = cxlib.connect(path)
    yield con
    con.close()


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_detractors_churn_faster(sample_con, definition):
    lr = churn.logrank(sample_con, by="nps_group", definition=definition)
    assert lr.p_value < 0.01 and lr.degrees_of_freedom == 2
    km = churn.survival_summary(sample_con, by="nps_group", definition=definition, at=12).set_index("group")
    assert km.loc["detractor", "survival_at"] < km.loc["passive", "survival_at"] < km.loc["promoter", "survival_at"]
    rate = churn.churn_rate(sample_con, by="nps_group", definition=definition).set_index("segment")
    assert rate.loc["detractor", "churn_rate"] > 1.5 * rate.loc["promoter", "churn_rate"]


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_long_first_ticket_is_followed_by_faster_churn(sample_con, definition):
    lr = churn.logrank(sample_con, by="first_ticket_resolution", origin="first_ticket", definition=definition)
    assert lr.p_value < 0.01
    km = churn.survival_summary(sample_con, by="first_ticket_resolution", origin="first_ticket",
                                definition=definition, at=12).set_index("group")
    assert km.loc["over 72 hours", "survival_at"] < km.loc["within 72 hours", "survival_at"]


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_cox_finds_detractors_and_long_resolution(big_con, definition):
    m = churn.cox_churn(big_con, definition=definition)
    s = m.summary.set_index("covariate")
    for cov in ("nps_detractor", "long_resolution"):
        assert s.loc[cov, "hazard_ratio"] > 1 and s.loc[cov, "ci_lower"] > 1, s.loc[cov]
    # planted: x2 after a long ticket; detractors x2.5 vs promoters (passives x1.5)
    assert 1.2 < s.loc["long_resolution", "hazard_ratio"] < 3.5
    assert s.loc["nps_detractor", "hazard_ratio"] > s.loc["nps_passive", "hazard_ratio"]
    assert m.log_likelihood_ratio_p < 1e-4


def test_contractual_status_matches_the_generators_truth(sample_con):
    status = churn.churn_status(sample_con, definition="contractual").set_index("customer_id")
    truth = sample_con.execute("SELECT customer_id, churned FROM sample_truth").df().set_index("customer_id")
    assert (status["churned"] == truth.loc[status.index, "churned"]).all()


def test_at_risk_list_puts_known_risk_factors_first(sample_con):
    risk = churn.at_risk_customers(sample_con, top=50)
    assert len(risk) == 50 and risk.churn_probability.is_monotonic_decreasing
    top = risk.head(20)
    assert ((top.nps_group == "detractor") | top.long_resolution).mean() >= 0.8
    assert top.reasons.str.contains("detractor|72 hours").all()


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_cox_fit_equals_lifelines_on_the_planted_store(big_con, definition):
    """cox_churn's fitter against lifelines' own CoxTimeVaryingFitter on the same customers:
    coefficients, intervals, p-values, baseline hazard and partial hazards equal to rounding
    (1e-8 relative; the report shows 2-3 digits)."""
    import numpy as np
    import pandas as pd
    from lifelines import CoxTimeVaryingFitter

    from cxlib.analysis.churn import cox

    m = churn.cox_churn(big_con, definition=definition, max_customers=2000)
    rows = cox._interval_rows(big_con, definition, 90, cxlib.as_of(big_con))
    fit_rows = cox._rows_to_fit(rows, 2000)
    keep = list(m.summary["covariate"])
    ref = CoxTimeVaryingFitter().fit(
        pd.concat([fit_rows[["customer_id", "start_day", "stop_day", "event"]], cox._design(fit_rows)[keep]], axis=1),
        id_col="customer_id", event_col="event", start_col="start_day", stop_col="stop_day")
    want = cox._summary_table(ref.summary, 0.05)
    pd.testing.assert_frame_equal(m.summary, want, check_exact=False, rtol=1e-8)
    assert m.log_likelihood_ratio_p == pytest.approx(ref.log_likelihood_ratio_test().p_value, rel=1e-8)
    pd.testing.assert_series_equal(m.baseline_cumulative_hazard, ref.baseline_cumulative_hazard_.iloc[:, 0],
                                   check_exact=False, rtol=1e-8)
    np.testing.assert_allclose(m.customers["partial_hazard"],
                               np.asarray(ref.predict_partial_hazard(m.customers[keep])).ravel(), rtol=1e-8)
