"""Every report notebook, with its defaults, on stores holding one family of tables and on the sample.

Real stores are partial (a clickstream alone, subscriptions alone, orders alone, one survey
item, tickets alone). Each run must succeed, show no NaN/NaT/None and no empty chart, draw its
charts in the sections that apply, and say in one sentence what each other section needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_run import run as run_notebook
from report_checks import charted, problems, skipped

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
pytestmark = pytest.mark.slow

# (notebook, store) -> sections (## headings, by their first words) that must draw a chart there.
MUST_CHART = {
    # events only: no touchpoint has a stage (the map by stage says what to load instead), no attribute, no
    # service contact under the default names; the funnel follows the common path, the flow is by touchpoint
    ("journey", "events"): ["Purchase funnel", "Paths", "Friction"],
    ("journey", "sample"): ["Journey map", "Purchase funnel", "Purchase funnel by segment", "Paths", "Omnichannel",
                            "Friction"],
    ("voice_of_customer", "survey"): ["The scores", "Trend"],
    ("voice_of_customer", "sample"): ["The scores", "By segment", "Trend", "Satisfaction", "Effort", "What drives",
                                      "Peak-end", "What customers", "Topics"],
    # churn: survey or tickets alone hold no activity to judge churn by (every section says what to load)
    ("churn", "events"): ["How many customers", "Cohort retention", "Survival", "Which experiences"],
    ("churn", "subscriptions"): ["How many customers", "Survival"],
    ("churn", "orders"): ["How many customers", "Cohort retention", "Survival", "Lifetime value"],
    ("churn", "sample"): ["How many customers", "Cohort retention", "Do promoters", "Survival", "Do unhappy",
                          "After a slow first ticket", "Which experiences", "The value", "Lifetime value"],
    # segments: the partial stores' customers have no attributes (no profile); clusters use what varies
    ("segments", "events"): ["Behavioural"],
    ("segments", "orders"): ["RFM", "Behavioural"],
    ("segments", "tickets"): ["Behavioural"],
    ("segments", "sample"): ["Segment profile", "Personalisation", "RFM", "Behavioural"],
    # service: tickets alone judge a change on first-contact resolution (no attribute: a time series); a survey
    # alone on its NPS; every other section says what to load
    ("service", "tickets"): ["How fast", "First-contact", "The agents", "Did the change"],
    ("service", "survey"): ["Did the change"],
    ("service", "sample"): ["How fast", "First-contact", "Ratings after", "Churn after", "The agents", "Did the change"],
    ("overview", "events"): ["How many buy", "How many stay"],
    ("overview", "subscriptions"): ["How many stay"],
    ("overview", "orders"): ["How many stay"],
    ("overview", "survey"): ["How customers rate", "Did it change"],
    ("overview", "sample"): ["How customers rate", "Did it change", "How many buy", "How many stay", "What drives",
                             "What customers"],
}


def _run(notebook, store, tmp_path):
    return run_notebook(NOTEBOOKS / f"{notebook}.ipynb", tmp_path, store)


@pytest.mark.parametrize("family", ["events", "subscriptions", "orders", "survey", "tickets", "sample"])
@pytest.mark.parametrize("notebook", ["journey", "voice_of_customer", "churn", "segments", "overview", "service"])
def test_every_notebook_is_useful_on_whatever_the_store_holds(notebook, family, partial_stores, sample_db, tmp_path):
    store = sample_db if family == "sample" else partial_stores[family]
    nb = _run(notebook, store, tmp_path)
    assert problems(nb) == []
    drawn = charted(nb)
    for heading in MUST_CHART.get((notebook, family), []):
        assert any(h.startswith(heading) for h in drawn), f"{notebook} on {family}: no chart in '{heading}'"
    if family == "sample":
        assert skipped(nb) == [], f"{notebook} on the sample skipped {skipped(nb)}"


def test_voice_of_customer_on_csat_answers_with_comments_and_no_nps(sample_db, tmp_path):
    """A CSAT survey export with comments and touchpoints, no NPS: themes, quotes and the drivers of CSAT run;
    the NPS parts (the themes' NPS chart, sentiment by NPS group) say what they need instead of failing."""
    import cxlib

    source = cxlib.connect(sample_db)
    answers = source.execute("SELECT response_id, customer_id, ts, metric, score, touchpoint, comment "
                             "FROM survey_responses WHERE metric = 'csat'").df()
    source.close()
    store = tmp_path / "csat_only.duckdb"
    report = cxlib.ingest(answers, "survey_responses", db=store, add_customers=True)
    assert report.rejected == 0 and report.loaded == len(answers)
    nb = run_notebook(NOTEBOOKS / "voice_of_customer.ipynb", tmp_path, store, driver_target="csat")
    assert problems(nb) == []
    drawn = charted(nb)
    assert any(h.startswith("Satisfaction") for h in drawn)
    text = " ".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                    for c in nb["cells"] for o in c.get("outputs", []))
    assert "NPS answers with a comment" in text  # the themes' NPS chart says what it needs
    assert "Sentiment by NPS group needs" in text
    assert "billing" in text  # the themes table and quotes ran on the CSAT comments
