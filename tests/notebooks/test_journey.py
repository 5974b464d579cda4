"""notebooks/journey.ipynb runs headless with papermill on the sample store and shows the key results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import errors, shown_text
from notebook_run import run as run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "journey.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters):
    return run_notebook(NOTEBOOK, tmp_path, sample_db, **parameters)


def test_runs_with_its_defaults_and_shows_the_key_results(tmp_path, sample_db):
    nb = run(tmp_path, sample_db)
    assert not errors(nb)
    text = shown_text(nb)
    for expected in ["conversion_from_first", "open_window", "promoter", "detractor",  # funnel by NPS group
                     "consideration", "p90_time_from_previous",  # journey map
                     "repeat_rate",  # the planted hand-off problem
                     "friction_score", "dropoff_rate", "not_switched", "(ended)"]:
        assert expected in text, expected
    assert re.search(r"chat (→|\\u2192) phone_call", text)  # the hand-off chart (spec embedded in HTML)
    assert re.search(r"<td>chat</td>\s*<td>phone_call</td>\s*<td>True</td>", text)  # and its table
    assert text.count("vega-lite") >= 6  # the six charts
    # stakeholder safety: no customer ids (the sample's are C0000001 ...) in anything shown
    assert not re.search(r"\bC\d{7}\b", text)


def test_runs_with_another_segment_and_exports_the_dropped_customers(tmp_path, sample_db):
    csv = tmp_path / "dropped.csv"
    nb = run(tmp_path, sample_db, segment="region", funnel_order="strict", flow_level="touchpoint",
             start="2024-01-01", dropped_csv=str(csv))
    assert not errors(nb)
    text = shown_text(nb)
    assert "nps_group" not in text or "region" in text
    regions = _regions(sample_db)
    assert sum(r in text for r in regions) >= 2  # the funnel and paths are split by region
    assert csv.exists() and csv.read_text().startswith("customer_id,segment,reached_step,reached_at")
    assert not re.search(r"\bC\d{7}\b", text)


def test_a_misspelt_parameter_fails_with_a_clear_error(tmp_path, sample_db):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="did you mean 'region'"):
        run(tmp_path, sample_db, segment="regon")


def _regions(sample_db):
    import cxlib

    con = cxlib.connect(sample_db)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT region FROM customers").fetchall()]
    finally:
        con.close()
