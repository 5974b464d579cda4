"""A report run is static even when started from a live JupyterLab kernel (CX_REPORT_RUN wins)."""

from __future__ import annotations

import pytest
from report_helpers import FIXTURES, cx, write_jobs

pytestmark = pytest.mark.slow


def test_report_kernels_are_never_live(report_store, tmp_path, monkeypatch):
    # as if `!cx report run ...` were typed in a notebook of a live session: the session name is inherited
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ana/notebooks/start_here.ipynb")
    jobs = write_jobs(tmp_path / "jobs.yml", {"kind": (str(FIXTURES / "session_kind.ipynb"),
                                                       {"db_path": str(report_store)})})
    done = cx("report", "run", "--job", "kind", "--jobs-file", str(jobs), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    page = next((tmp_path / "out").glob("*/kind.html")).read_text()
    assert "interactive resolved to False" in page
