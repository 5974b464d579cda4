"""Where things live: the files the package ships, and the user's workspace.

Shipped with the package (read-only defaults, found the same way in an editable checkout and in
an installed wheel): ``cxlib/data/`` (touchpoint -> stage map, feedback theme taxonomy, report
jobs) and the report notebooks (``notebooks/`` of the checkout, installed as ``cxlib/notebooks``).

The workspace is where a user's store and reports go: ``CX_HOME`` if set, else the current
directory. The default store is ``<workspace>/data/cx.duckdb`` unless ``CX_DB`` names another;
rendered reports go to ``<workspace>/reports``. Users edit copies, never the shipped files:
a stage map is loaded into the store (``cx ingest touchpoint_stages FILE``), a jobs file is
passed with ``--jobs-file``, a theme taxonomy with ``themes(taxonomy=...)``.

This module imports nothing of ours, so every layer may use it.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
# An installed wheel carries the notebooks inside the package; a checkout keeps them beside it.
NOTEBOOK_DIR = PACKAGE_DIR / "notebooks" if (PACKAGE_DIR / "notebooks").is_dir() else PACKAGE_DIR.parent / "notebooks"
DEFAULT_DB = Path("data") / "cx.duckdb"  # relative to the workspace: the user's store
SAMPLE_DB = Path("data") / "sample.duckdb"  # the sample store, kept apart from the user's


def shipped(name: str) -> Path:
    """A data file shipped with the package: ``shipped("touchpoint_stages.csv")``."""
    return DATA_DIR / name


def workspace() -> Path:
    """``CX_HOME`` if set, else the current directory (as ``Path()``: resolve it where an absolute
    path is needed, as report runs do before a kernel starts in another folder)."""
    return Path(os.environ.get("CX_HOME") or "")


def default_store() -> Path:
    """``CX_DB`` if set, else ``<workspace>/data/cx.duckdb``."""
    return Path(os.environ.get("CX_DB") or workspace() / DEFAULT_DB)


def sample_store() -> Path:
    """``<workspace>/data/sample.duckdb``: where ``cx sample`` and ``cx demo`` build the sample."""
    return workspace() / SAMPLE_DB


def reports_dir() -> Path:
    """``<workspace>/reports``: where report runs and the index go."""
    return workspace() / "reports"
