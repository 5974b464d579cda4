"""`interactive = None`: panels when a person runs a notebook in JupyterLab, static output in scheduled runs."""

from __future__ import annotations

import nbformat
import pytest

from cxlib.errors import CxInputError
from cxlib.explore import interactive, live_session
from cxlib.locations import NOTEBOOK_DIR
from cxlib.report.params import notebook_parameters, validate_parameters

LAB_KERNEL = {"JPY_SESSION_NAME": "/home/ana/notebooks/journey.ipynb"}  # what jupyter_server gives a kernel


def test_a_kernel_jupyter_started_for_a_notebook_is_live():
    assert live_session(LAB_KERNEL) is True
    assert interactive(None, environ=LAB_KERNEL) is True


@pytest.mark.parametrize("environ", [
    {},  # papermill, nbclient, nbconvert --execute, a script: no session name
    {"JPY_SESSION_NAME": ""},
    {**LAB_KERNEL, "CX_REPORT_RUN": "1"},  # cx report run started from inside a live session
])
def test_scheduled_and_report_runs_are_static(environ):
    assert live_session(environ) is False
    assert interactive(None, environ=environ) is False


def test_an_explicit_value_wins_over_the_session():
    assert interactive(False, environ=LAB_KERNEL) is False
    assert interactive(True, environ={}) is True


@pytest.mark.parametrize("bad", ["true", 1, 0, "yes"])
def test_anything_but_true_false_or_none_is_refused(bad):
    with pytest.raises(CxInputError, match="interactive must be True, False or None"):
        interactive(bad)


@pytest.mark.parametrize("name", ["churn", "journey", "segments", "service", "voice_of_customer"])
def test_notebooks_decide_from_the_session_unless_told(name):
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    param = notebook_parameters(path)["interactive"]
    assert (param.kind, param.default, param.nullable) == ("bool", None, True)
    # a scheduled job can still force it, typed as a boolean
    assert validate_parameters(path, {"interactive": "true"})["interactive"] is True
    assert validate_parameters(path, {"interactive": "null"})["interactive"] is None
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "interactive = cxlib.explore.interactive(interactive)" in code
