"""notebooks/voice_of_customer.ipynb runs headless with papermill on the sample store and shows the key results."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from notebook_run import chart_count, errors, shown_text
from notebook_run import run as run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "voice_of_customer.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters):
    return run_notebook(NOTEBOOK, tmp_path, sample_db, **parameters)


def assert_safe(text: str) -> None:
    """No personal data and no live untrusted markup in anything shown."""
    assert not re.search(r"\bC\d{7}\b", text), "customer ids shown"
    for secret in ("anna.smith@example.com", "7946 0958", "Anna Smith"):
        assert secret not in text, secret
    assert "<script>alert(1)" not in text and "<img src=x onerror" not in text


def test_runs_with_its_defaults_and_shows_the_key_results(tmp_path, sample_db):
    nb = run(tmp_path, sample_db)
    assert not errors(nb), errors(nb)
    text = shown_text(nb)
    for expected in ["Data up to 2026-06-30", "NPS ", "CSAT ", "CES ",
                     "ci_lower", "ci_upper", "p_adjusted", "significant",  # intervals and corrected tests
                     "north", "south", "east", "west",  # the default segment, region
                     "Top driver of NPS: ticket resolution > 72h", "Top driver",  # drivers of each target (the table)
                     "churn better than", "95% CI",  # peak-end against churn, with intervals
                     "model R²",
                     "(Peak + end) / 2 predicts NPS better than the average rating",
                     "billing", "over_representation", "quote",  # themes and quotes
                     "detractors answered in the last 30 days", "points per month"]:
        assert expected in text, expected
    assert chart_count(nb) >= 8
    assert_safe(text)


def test_runs_with_another_segment_period_filters_and_export(tmp_path, sample_db):
    out = tmp_path / "followup.csv"
    nb = run(tmp_path, sample_db, segment="plan", period="quarter", interval="adjusted_wald",
             start="2025-01-01", followup_days=90, export_csv=str(out), bootstrap=30, n_topics=4)
    assert not errors(nb), errors(nb)
    text = shown_text(nb)
    assert all(p in text for p in ("basic", "plus", "premium"))
    assert "trend by quarter" in text and "detractors answered in the last 90 days" in text
    assert_safe(text)
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(int(r["nps_score"]) <= 6 for r in rows)
    assert {"customer_id", "last_touchpoints", "open_tickets", "comment"} <= set(rows[0])
    assert not any(r["comment"].startswith(("=", "+", "-", "@")) for r in rows)


def test_a_misspelt_segment_fails_with_a_suggestion(tmp_path, sample_db):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="did you mean 'region'"):
        run(tmp_path, sample_db, segment="regon")


@pytest.fixture(scope="module")
def nps_and_trust_store(sample_db, tmp_path_factory):
    """NPS answers without touchpoint or comment, plus a declared custom metric (trust, 0-10)."""
    import cxlib

    source = cxlib.connect(sample_db)
    nps = source.execute("SELECT response_id, customer_id, ts, metric, score FROM survey_responses "
                         "WHERE metric = 'nps'").df()
    source.close()
    trust = nps.assign(response_id="t" + nps["response_id"], metric="trust")
    path = tmp_path_factory.mktemp("trust") / "trust.duckdb"
    report = cxlib.ingest(pd.concat([nps, trust]), "survey_responses", db=path, add_customers=True,
                          metric_scales={"trust": "0-10"})
    assert report.rejected == 0
    return path


def test_a_declared_custom_metric_does_not_break_the_report(tmp_path, nps_and_trust_store):
    nb = run(tmp_path, nps_and_trust_store)
    assert not errors(nb), errors(nb)
    text = shown_text(nb)
    assert "This store's surveys also hold trust (0-10, 2,543 answers)" in text
    assert re.search(r"NPS -?\d+ \(95% interval -?\d+ to -?\d+, n = 2543\)\n", text)  # NPS alone: no CSAT, no CES
    assert "CSAT: too few" not in text and "CES: too few" not in text
    assert "This section needs a customer attribute with at least two groups to break NPS down by" in text


def test_the_segment_default_adapts_on_a_store_without_it(tmp_path, nps_and_trust_store):
    nb = run(tmp_path, nps_and_trust_store, period="quarter")
    assert not errors(nb), errors(nb)
    text = shown_text(nb)
    assert "Breakdowns by 'region' are left out" in text and "trend by quarter" in text
    assert "quarter of " in text and " against " in text  # the latest quarter against the one before
