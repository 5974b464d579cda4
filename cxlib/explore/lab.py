"""`cx lab`: JupyterLab on the report notebooks with the store configured (CX_DB), stopped cleanly.

JupyterLab opens on the "start here" notebook (START_NOTEBOOK) when the notebook folder has one:
it profiles the store, links to each analysis and gives a first look with a filter panel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from cxlib.errors import CxDataError, CxInputError
from cxlib.locations import NOTEBOOK_DIR, default_store, sample_store

START_NOTEBOOK = "start_here.ipynb"


def lab_command(
    *,
    port: int | None = None,
    no_browser: bool = False,
    notebook_dir: Path | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    """The command line that starts JupyterLab on the notebooks directory, opening its "start here"
    notebook when it has one (`extra`: more JupyterLab options)."""
    notebook_dir = Path(notebook_dir or NOTEBOOK_DIR)
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebook_dir}"]
    if (notebook_dir / START_NOTEBOOK).exists():
        cmd.append(f"--LabApp.default_url=/lab/tree/{START_NOTEBOOK}")
    if port is not None:
        cmd.append(f"--port={port}")
    if no_browser:
        cmd.append("--no-browser")
    return cmd + list(extra or [])


def start_lab(
    db: str | os.PathLike | None = None,
    *,
    port: int | None = None,
    no_browser: bool = False,
    notebook_dir: str | os.PathLike | None = None,
    extra: list[str] | None = None,
) -> int:
    """`cx lab`: JupyterLab on the notebooks with CX_DB pointing at the store, until it exits."""
    if db is None and not default_store().exists() and sample_store().exists():
        print(f"cx lab: no store of yours at {default_store()} yet; opening the sample store {sample_store()}")
        db = sample_store()
    db = Path(db or default_store()).expanduser().resolve()
    if not db.exists():
        raise CxDataError(
            f"no store at {db}: build one with 'cx sample' or load data with 'cx ingest', or pass --db"
        )
    if port is not None and not 0 < port < 65536:
        raise CxInputError(f"--port must be between 1 and 65535, got {port}")
    notebook_dir = Path(notebook_dir).resolve() if notebook_dir else NOTEBOOK_DIR
    if not notebook_dir.is_dir():
        raise CxInputError(f"no notebook directory {notebook_dir}")
    env = {**os.environ, "CX_DB": str(db)}
    extra = list(extra or [])
    if extra and extra[0] == "--":
        extra = extra[1:]
    cmd = lab_command(port=port, no_browser=no_browser, notebook_dir=notebook_dir, extra=extra)
    print(f"cx lab: JupyterLab on {notebook_dir} with CX_DB={db}", flush=True)
    return _run_lab(cmd, env)


def _run_lab(cmd: list[str], env: dict[str, str]) -> int:
    """Run JupyterLab until it exits; a SIGTERM to `cx lab` is passed on, so no server is left behind."""
    proc = subprocess.Popen(cmd, env=env)

    def forward(signum, _frame):
        proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward) if threading.current_thread() is threading.main_thread() else None
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                continue  # Ctrl-C reaches JupyterLab too (same process group): it asks, then stops
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
