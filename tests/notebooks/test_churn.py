"""notebooks/churn.ipynb runs headless with papermill on the sample store, with both churn
definitions, and shows the key results without personal data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import chart_count, errors, outputs, shown_text
from notebook_run import run as run_notebook
from test_filter_panels import WIDGET, panel_charts, widget_models

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "churn.ipynb"
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
    # a scheduled run: no widget, and the panel's cell shows nothing
    assert not [o for o in outputs(nb) if WIDGET in o.get("data", {})] and panel_cell(nb)["outputs"] == []
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
    # the analyst's panel drives the survival section: its table and curves, by region, from the notebook's start
    assert [o for o in panel_cell(nb)["outputs"] if WIDGET in o.get("data", {})]
    (curves,) = panel_charts(nb)
    assert curves["title"]["text"] == "Share of customers still with us, by time since they started"
    assert curves["title"]["subtitle"] == "from 2025-06-01"
    assert {"north", "south", "east", "west"} <= {row["group"] for rows in curves["datasets"].values() for row in rows}
    (summary,) = panel_tables(nb)
    assert "from 2025-06-01" in summary and "Median survival" in summary
    assert sum(r in summary for r in ("north", "south", "east", "west")) == 4
    (copy,) = [m for m in widget_models(nb) if m.get("description") == "Copy as report parameters"]
    assert copy["disabled"] is False


def test_the_panel_on_a_clickstream_store(tmp_path, partial_stores):
    """Events only: survival by inactivity for all customers together (no attribute to split by)."""
    from report_checks import problems

    nb = run(tmp_path, partial_stores["events"], interactive=True)
    assert problems(nb) == []
    assert [o for o in panel_cell(nb)["outputs"] if WIDGET in o.get("data", {})]
    (curves,) = panel_charts(nb)
    assert curves["title"]["subtitle"] == "all data"
    assert {row["group"] for rows in curves["datasets"].values() for row in rows} == {"all"}
    (summary,) = panel_tables(nb)
    assert "3,000" in summary  # every customer seen in the clickstream is followed


def test_no_panel_where_survival_cannot_run(tmp_path, partial_stores):
    """A store of survey answers holds no activity to judge churn by: a sentence instead of the panel."""
    nb = run(tmp_path, partial_stores["survey"], interactive=True)
    assert not errors(nb)
    assert not [o for o in outputs(nb) if WIDGET in o.get("data", {})]
    assert "No filter panel: it drives the survival section" in "".join(
        "".join(o.get("text", "")) for o in panel_cell(nb)["outputs"])


def test_a_bad_parameter_fails_with_a_clear_message(tmp_path, sample_db):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="churn definition 'contract'"):
        run(tmp_path, sample_db, churn_definition="contract")
