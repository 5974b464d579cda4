"""Is a person looking? Filter panels in a live JupyterLab session, static output in scheduled runs.

A notebook's ``interactive`` parameter defaults to None, which :func:`interactive` resolves:

- ``True`` or ``False`` given (``-p interactive true``, a job's parameters, an edited cell) wins;
- a report run by ``cx report run`` is never live: the runner starts its kernels with ``CX_REPORT_RUN=1``;
- a kernel that a Jupyter server started for a notebook is live: jupyter_server gives such kernels
  ``JPY_SESSION_NAME`` (the notebook's path), which papermill, nbclient and ``jupyter nbconvert --execute``
  never set;
- anything else (papermill on a schedule, a plain Python process) is static.

A papermill run started from inside a live kernel (``!papermill ...`` in a cell) inherits that kernel's
environment and would count as live: pass ``-p interactive False`` there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cxlib.errors import CxInputError

REPORT_ENV = "CX_REPORT_RUN"
SESSION_ENV = "JPY_SESSION_NAME"


def live_session(environ: Mapping[str, str] | None = None) -> bool:
    """True in a kernel a Jupyter server started for a notebook, False in report runs and scripts."""
    env = os.environ if environ is None else environ
    if env.get(REPORT_ENV, "").strip() not in ("", "0"):
        return False
    return bool(env.get(SESSION_ENV, "").strip())


def interactive(value: bool | None = None, *, environ: Mapping[str, str] | None = None) -> bool:
    """The notebook's ``interactive`` parameter resolved: True/False as given, None from the session."""
    if value is None:
        return live_session(environ)
    if value is True or value is False:
        return value
    raise CxInputError(f"interactive must be True, False or None (None: decided by the session), got {value!r}")
