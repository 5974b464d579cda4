"""The demo notebook under papermill: interactive=False creates no widget and shows static results."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "e2e" / "fixtures" / "explore_demo.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def run(tmp_path, **parameters):
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(FIXTURE), str(out), kernel_name="python3", parameters=parameters,
                        progress_bar=False, cwd=str(tmp_path))
    return nbformat.read(out, as_version=4)


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_fixture_is_stored_stripped_with_a_parameters_cell():
    nb = nbformat.read(FIXTURE, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "parameters" in code[1].metadata.get("tags", [])
    assert "def " not in "".join(c.source for c in code)


@pytest.mark.slow
def test_static_run_creates_no_widget(sample_db, tmp_path):
    nb = run(tmp_path, db_path=str(sample_db), interactive=False)
    outs = outputs(nb)
    assert not any(WIDGET_MIME in o.get("data", {}) for o in outs)
    text = json.dumps([o.get("data", {}) for o in outs])
    assert "Events by channel: all data" in text  # the chart, static
    assert "segment" in text and "nps" in text  # the NPS table
    assert "customer_id" not in text


@pytest.mark.slow
def test_interactive_run_shows_the_panel_and_a_non_default_parameter(sample_db, tmp_path):
    nb = run(tmp_path, db_path=str(sample_db), interactive=True, min_group_size=100000)
    outs = outputs(nb)
    assert any(WIDGET_MIME in o.get("data", {}) for o in outs)
    # the panel's first render is in the widget state: a suppressed NPS table (no group that large)
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "Events by channel: all data" in state
    assert "True" in state and "suppressed" in state
