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
    for expected in ["segments by plan", "premium", "basic",  # the profile by plan
                     ">Revenue per customer<", ">Churn rate<", "p_adjusted", "significant",
                     "champions", "at risk", "no purchase",  # RFM
                     "(mean silhouette", "Hennig's mean Jaccard", "description", "sd)",  # clusters in words
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
    assert "segments by region" in text
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


@pytest.fixture(scope="module")
def telco_store(tmp_path_factory):
    """A telco-style export: subscriptions given by tenure, and customer attributes that are numbers
    only (tenure in months, monthly charges); no events, orders or answers."""
    import numpy as np
    import pandas as pd

    import cxlib

    rng = np.random.default_rng(4)
    n = 400
    ids = [f"T{i:04d}" for i in range(n)]
    tenure = rng.integers(0, 73, n)
    charges = np.round(rng.uniform(18, 119, n), 2)
    churned = rng.random(n) < 0.5 - tenure / 200
    path = tmp_path_factory.mktemp("telco") / "telco.duckdb"
    subs = pd.DataFrame({"customer_id": ids, "plan": "phone", "tenure": tenure.astype(float), "churned": churned})
    assert cxlib.ingest(subs, "subscriptions", db=path, add_customers=True, as_of="2026-01-31").rejected == 0
    attrs = pd.DataFrame({"customer_id": ids, "tenure": tenure.astype(str), "monthly_charges": charges.astype(str)})
    assert cxlib.ingest(attrs, "customers", db=path, update=True).rejected == 0
    return path


def test_numeric_attributes_become_ranges_on_a_telco_export(tmp_path, telco_store):
    from report_checks import charted, problems

    nb = run(tmp_path, telco_store)
    assert problems(nb) == []
    text = shown_text(nb)
    assert "Segments are ranges of 'monthly_charges'" in text and "segments by monthly_charges, in 4 ranges" in text
    assert "Churn rate by segment" in text  # no NPS and no revenue: the profile charts churn by range
    assert "from the 2 features that vary in this store: tenure, monthly charges" in text
    assert {"Segment profile", "Behavioural clusters"} <= set(charted(nb))
