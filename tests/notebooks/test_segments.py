"""notebooks/segments.ipynb runs headless with papermill on the sample store and shows the key results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import chart_count, errors, outputs, shown_text
from notebook_run import run as run_notebook
from test_filter_panels import WIDGET, panel_charts, widget_models

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "segments.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters):
    return run_notebook(NOTEBOOK, tmp_path, sample_db, **parameters)


def panel_cell(nb: dict) -> dict:
    return next(c for c in nb["cells"] if "cxlib.explore.FilterPanel(" in "".join(c["source"]))


def panel_tables(nb: dict) -> list[str]:
    """The HTML of the tables the panel's views drew into their Outputs."""
    return [o["data"]["text/html"] for m in widget_models(nb) for o in m.get("outputs", [])
            if "<table" in o.get("data", {}).get("text/html", "")]


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
    # a scheduled run: no widget, and the panel's cell shows nothing
    assert not [o for o in outputs(nb) if WIDGET in o.get("data", {})] and panel_cell(nb)["outputs"] == []


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
    # the analyst's panel drives the segment profile section: its table and one chart per measure, by region,
    # from the notebook's start
    assert [o for o in panel_cell(nb)["outputs"] if WIDGET in o.get("data", {})]
    charts = panel_charts(nb)
    assert [c["title"]["text"] for c in charts] == ["NPS (points) by segment, with 95% intervals",
                                                    "Revenue per customer by segment, with 95% intervals"]
    for chart in charts:
        assert "from 2025-01-01" in chart["title"]["subtitle"]
        assert {r["segment"] for rows in chart["datasets"].values() for r in rows} == {"north", "south", "east", "west"}
    (profile,) = panel_tables(nb)
    assert "from 2025-01-01" in profile and "Revenue per customer" in profile
    (copy,) = [m for m in widget_models(nb) if m.get("description") == "Copy as report parameters"]
    assert copy["disabled"] is False


def test_no_panel_on_a_clickstream_store(tmp_path, partial_stores):
    """Events only: customers have no attribute, so no segment profile and no panel; a sentence says so."""
    from report_checks import problems

    nb = run(tmp_path, partial_stores["events"], interactive=True)
    assert problems(nb) == []
    assert not [o for o in outputs(nb) if WIDGET in o.get("data", {})]
    assert "No filter panel: it drives the segment profile" in "".join(
        "".join(o.get("text", "")) for o in panel_cell(nb)["outputs"])


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
