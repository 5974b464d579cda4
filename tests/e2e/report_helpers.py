"""Helpers for the report end-to-end tests (imported by test modules; fixtures are in conftest)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "notebooks" / "fixtures"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str:
    """Path of headless Chromium (CX_CHROMIUM or the first found); the test is skipped without one,
    failed under CI (CI must run the browser tests, never skip them)."""
    explicit = os.environ.get("CX_CHROMIUM")
    found = explicit if explicit and shutil.which(explicit) else next(filter(None, map(shutil.which, BROWSERS)), None)
    if found:
        return found
    message = "headless Chromium not found: run `.venv/bin/python tests/install_browser.py` (or set CX_CHROMIUM)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def dump_dom(browser: str, page: Path, tmp_path: Path, *extra: str) -> str:
    """The DOM after the page loaded and ran (5 s of virtual time), with every network request failing.

    `extra`: more Chromium switches (e.g. a window size)."""
    profile = tmp_path / f"profile-{page.stem}"
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
        f"--user-data-dir={profile}",
        # network off: no name resolves and every request goes to a closed local port
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
        *extra, "--dump-dom", "--virtual-time-budget=5000", page.as_uri(),
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def cx(*args: str, timeout: int = 600, cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    """Run `cx ARGS...` as a scheduler would: a fresh process, output captured (in `cwd`, default the project)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "cxlib.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def tree_digest(folder: Path) -> dict[str, str]:
    """File name -> sha256 for every file under a folder (to prove it was not touched)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_jobs(path: Path, jobs: dict[str, tuple[str, dict]]) -> Path:
    """A jobs file: {name: (notebook path, {param: text})}; values written as plain YAML text."""
    lines = ["jobs:"]
    for name, (notebook, params) in jobs.items():
        lines += [f"  {name}:", f"    notebook: {notebook}"]
        if params:
            lines.append("    parameters:")
            lines += [f"      {k}: {v}" for k, v in params.items()]
    path.write_text("\n".join(lines) + "\n")
    return path
