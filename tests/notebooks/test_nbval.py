"""The notebooks run as an analyst opens them (stored defaults, no papermill), checked by nbval."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_notebook_runs_as_stored_under_nbval(sample_db, tmp_path):
    env = {**os.environ, "CX_DB": str(sample_db)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         *sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
