"""notebooks/churn.ipynb runs headless with papermill on the sample store, with both churn
definitions, and shows the key results without personal data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import chart_count, errors, shown_text
from notebook_run import run as run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "churn.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters):
    return run_notebook(NOTEBOOK, tmp_path, sample_db, **parameters)


def test_runs_with_its_defaults_and_shows_the_key_results(tmp_path, sample_db):
    nb = run(tmp_path, sample_db)
    assert not errors(nb)
    text = shown_text(nb)
    for expected in ["Churn definition used in every figure below: contractual churn",
                     "customers have churned (contractual churn",
                     "Churn per month is", "Survival by plan", "log-rank", "median_survival",
                     "By NPS group: log-rank p ", "72 hours", ">Hazard ratio<", "latest NPS answer was 0-6 (detractor)",
                     "retention_at_horizon", "Moving every active detractor to passive", "Assumptions:",
                     "Revenue at risk", "holdout_expected", "most at risk", "Share still active by NPS group",
                     "Mean active days"]:
        assert expected in text, expected
    assert chart_count(nb) >= 6
    assert ">Alpha<" not in text and ">Coef<" not in text  # the Cox table shows what a stakeholder reads
    # stakeholder safety: no customer ids (C0000001 ...) anywhere in what is shown by default
    assert not re.search(r"\bC\d{7}\b", text)


def test_runs_non_contractual_by_region_weekly_with_export(tmp_path, sample_db):
    csv = tmp_path / "at_risk.csv"
    nb = run(tmp_path, sample_db, churn_definition="non_contractual", inactivity_days=60, segment="region",
             period="week", retention_kind="recurring", start="2025-06-01", export_csv=str(csv), interactive=True)
    assert not errors(nb)
    text = shown_text(nb)
    assert "non-contractual churn: no activity (events or orders) for 60 days" in text
    assert "Survival by region" in text and "Churn per week is" in text
    assert sum(r in text for r in ("north", "south", "east", "west")) == 4
    assert re.search(r"\bC\d{7}\b", text)  # interactive=True is the only way ids are shown
    head = csv.read_text().splitlines()
    assert head[0].startswith('"rank","customer_id","churn_probability","reasons"')
    assert len(head) == 101


def test_a_bad_parameter_fails_with_a_clear_message(tmp_path, sample_db):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="churn definition 'contract'"):
        run(tmp_path, sample_db, churn_definition="contract")
