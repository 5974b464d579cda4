"""A non-editable install (a built wheel) runs `cx demo` away from the checkout.

The wheel must carry everything the package needs at run time: query files, the stage map, the
theme taxonomy, presets, report jobs and the report notebooks. The test builds the wheel, installs
it without dependencies into a fresh virtual environment that borrows this environment's
third-party packages (a plain path entry, so this checkout's editable install is not seen), and
runs `cx demo` in an empty folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


def test_a_wheel_install_runs_cx_demo_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(ROOT)])
    wheel = next(wheels.glob("cxlib-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # this environment's third-party packages as a plain path (its .pth files, the editable install among them,
    # are not processed)
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", str(wheel)])
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CX_DB", "CX_HOME", "PYTHONPATH")}
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")  # the borrowed packages' data (nbconvert templates)
    where = _run([str(py), "-c", "import cxlib; print(cxlib.__file__)"], cwd=work, env=env).stdout.strip()
    assert where.startswith(str(site)), where
    done = _run([str(venv / "bin" / "cx"), "demo", "--customers", "300"], cwd=work, env=env)
    assert (work / "data" / "sample.duckdb").exists() and (work / "reports" / "index.html").exists(), done.stdout
    presets = _run([str(venv / "bin" / "cx"), "presets"], cwd=work, env=env).stdout
    assert "clickstream (events)" in presets and "qualtrics (survey_responses)" in presets
    pages = list((work / "reports" / "latest" / "sample").glob("*.html"))
    assert {p.stem for p in pages} >= {"journey", "overview", "churn", "segments", "voice_of_customer"}
