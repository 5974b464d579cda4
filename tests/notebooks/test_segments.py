"""notebooks/segments.ipynb runs headless with papermill on the sample store and shows the key results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import chart_count, errors, shown_text
from notebook_run import run as run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "segments.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters):
    return run_notebook(NOTEBOOK, tmp_path, sample_db, **parameters)


def test_runs_with_its_defaults_and_shows_the_key_results(tmp_path, sample_db):
    nb = run(tmp_path, sample_db)
    assert not errors(nb)
    text = shown_text(nb)
    for expected in ["segments by 'plan'", "premium", "basic",  # the profile by plan
                     "revenue_per_customer", "churn_rate", "p_adjusted", "significant",
                     "champions", "at risk", "no purchase",  # RFM
                     "clusters (mean silhouette", "description", "sd)",  # clusters in words
                     "uses phone", "x as much as average"]:  # cues: the support cluster's phone use
        assert expected in text, expected
    assert chart_count(nb) >= 7
    # stakeholder safety: no customer ids (the sample's are C0000001 ...) in anything shown
    assert not re.search(r"\bC\d{7}\b", text)


def test_runs_with_another_segment_given_k_and_export(tmp_path, sample_db):
    csv = tmp_path / "segments.csv"
    nb = run(tmp_path, sample_db, segment="region", cluster_k=4, start="2025-01-01", export_csv=str(csv),
             interactive=True)
    assert not errors(nb)
    text = shown_text(nb)
    assert "segments by 'region'" in text
    assert sum(r in text for r in ("north", "south", "east", "west")) == 4
    assert "4 clusters" in text and "cluster 4" in text
    # interactive=True (an analyst's session) is the only way customer ids are shown
    assert re.search(r"\bC\d{7}\b", text)
    head = csv.read_text().splitlines()
    assert head[0] == ("customer_id,last_order_at,recency_days,frequency,monetary,r_score,f_score,m_score,"
                       "rfm_cell,rfm_segment,cluster")
    assert len(head) == 3001 and re.match(r"C\d{7},", head[1])


def test_a_misspelt_segment_fails_with_a_clear_error(tmp_path, sample_db):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="did you mean 'region'"):
        run(tmp_path, sample_db, segment="regon")
