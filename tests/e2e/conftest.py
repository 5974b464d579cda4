"""Fixtures for the report end-to-end tests: a private copy of the sample store."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def report_store(sample_db, tmp_path_factory):
    """A private copy of the sample store: the lock tests must not block other tests' store."""
    path = tmp_path_factory.mktemp("report_store") / "store.duckdb"
    shutil.copyfile(sample_db, path)
    return path


@pytest.fixture(scope="session")
def rendered_reports(report_store, tmp_path_factory):
    """One run of every notebook in notebooks/ plus the comment/chart fixture, on the sample store.

    Returns the reports folder; the run's manifest says which targets succeeded.
    """
    from report_helpers import FIXTURES, cx

    out = tmp_path_factory.mktemp("rendered")
    done = cx("report", "run", "--all", str(FIXTURES / "chart_and_comments.ipynb"), "--db", str(report_store),
              "--out", str(out), timeout=3000)
    runs = [p for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst")]  # .analyst: notebooks
    assert len(runs) == 1, done.stderr
    return {"out": out, "run": runs[0], "returncode": done.returncode, "stderr": done.stderr, "store": report_store}
