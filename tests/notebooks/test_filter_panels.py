"""With interactive=True each analysis notebook shows the shared filter panel; without, no widget."""

from pathlib import Path

import pytest
from notebook_run import errors, outputs
from notebook_run import run as run_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["voice_of_customer", "journey", "segments", "churn"])
def test_interactive_run_shows_the_filter_panel(name, tmp_path, sample_db):
    nb = run_notebook(NOTEBOOKS / f"{name}.ipynb", tmp_path, sample_db, interactive=True)
    assert not errors(nb)
    panel_cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("panel = cxlib.explore.FilterPanel"))
    assert [o for o in panel_cell["outputs"] if WIDGET in o.get("data", {})], "the panel is shown"


def test_a_scheduled_run_creates_no_widget(tmp_path, sample_db):
    nb = run_notebook(NOTEBOOKS / "journey.ipynb", tmp_path, sample_db)
    assert not errors(nb)
    assert not [o for o in outputs(nb) if WIDGET in o.get("data", {})]
