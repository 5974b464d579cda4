"""With interactive=True each analysis notebook shows the shared filter panel; without, no widget."""

from pathlib import Path

import pytest
from notebook_run import errors, outputs
from notebook_run import run as run_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
pytestmark = pytest.mark.slow


def widget_models(nb: dict) -> list[dict]:
    """The state of every widget the run created (papermill stores it in the notebook's metadata)."""
    return [m["state"] for m in nb["metadata"].get("widgets", {}).get(STATE, {}).get("state", {}).values()]


def panel_charts(nb: dict) -> list[dict]:
    """The Vega-Lite specs the panel's views drew into their Outputs."""
    return [spec for m in widget_models(nb) for o in m.get("outputs", [])
            for mime, spec in o.get("data", {}).items() if mime.startswith("application/vnd.vegalite")]


@pytest.mark.parametrize("name", ["voice_of_customer", "journey", "segments", "churn"])
def test_interactive_run_shows_the_filter_panel(name, tmp_path, sample_db):
    nb = run_notebook(NOTEBOOKS / f"{name}.ipynb", tmp_path, sample_db, interactive=True)
    assert not errors(nb)
    panel_cell = next(c for c in nb["cells"] if "cxlib.explore.FilterPanel(" in "".join(c["source"]))
    assert [o for o in panel_cell["outputs"] if WIDGET in o.get("data", {})], "the panel is shown"
    charts = panel_charts(nb)
    assert charts, "the panel drew its charts"
    for spec in charts:  # each chart's title states the filter: nothing filtered yet
        assert "all data" in str(spec.get("title")), spec.get("title")
    (copy,) = [m for m in widget_models(nb) if m.get("description") == "Copy as report parameters"]
    assert copy["disabled"] is False, "the panel knows its notebook (notebook=) and can copy its parameters"


def test_a_scheduled_run_creates_no_widget(tmp_path, sample_db):
    nb = run_notebook(NOTEBOOKS / "journey.ipynb", tmp_path, sample_db)
    assert not errors(nb)
    assert not [o for o in outputs(nb) if WIDGET in o.get("data", {})]
