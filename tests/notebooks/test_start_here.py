"""The start notebook on stores holding one family of tables, in a scheduled run and in a live session."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_run import errors, shown_text
from notebook_run import run as run_notebook
from report_checks import charted, problems, skipped

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"
pytestmark = pytest.mark.slow


def _widgets(nb: dict) -> int:
    return sum(WIDGET in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))


@pytest.mark.parametrize("family", ["events", "subscriptions", "orders", "survey", "tickets", "sample"])
def test_start_here_is_useful_on_whatever_the_store_holds(family, partial_stores, sample_db, tmp_path):
    store = sample_db if family == "sample" else partial_stores[family]
    nb = run_notebook(NOTEBOOKS / "start_here.ipynb", tmp_path, store)
    assert problems(nb) == []
    assert _widgets(nb) == 0  # a scheduled run: static charts, no panel
    text = shown_text(nb)
    assert "[Journey](journey.ipynb)" in text and "[Service](service.ipynb)" in text
    if family in ("events", "sample"):
        assert any(h.startswith("A first look") for h in charted(nb))
    else:  # no events: the first look says what it needs, nothing is drawn
        assert any(h.startswith("A first look") for h in skipped(nb))
        assert "events (a clickstream or interaction log)" in text
    if family == "sample":
        assert text.count("sections can run.*") == 6 and "The first that cannot" not in text


@pytest.mark.parametrize("notebook", ["start_here", "journey", "voice_of_customer"])
def test_live_sessions_on_a_clickstream_alone(notebook, partial_stores, tmp_path):
    """interactive=True (as a person in JupyterLab) on events only: panels where the events serve them,
    a sentence where not, never an error."""
    nb = run_notebook(NOTEBOOKS / f"{notebook}.ipynb", tmp_path, partial_stores["events"], interactive=True)
    assert not errors(nb)
    # (a section whose only output is the panel "shows nothing" to the report check, which knows no widgets)
    assert [p for p in problems(nb) if not p.startswith("section 'A first look'")] == []
    # start_here: the first look's panel; journey: the funnel panel; VoC: no NPS answers, no panel
    assert _widgets(nb) == (0 if notebook == "voice_of_customer" else 1)
    if notebook == "voice_of_customer":  # where the panel would be, the sentence of what it needs
        panel_cell = next(c for c in nb["cells"] if "cxlib.explore.FilterPanel(" in "".join(c["source"]))
        assert "NPS answers" in "".join("".join(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                                        for o in panel_cell["outputs"])
