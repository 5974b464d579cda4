"""Helpers for the report end-to-end tests (imported by test modules; fixtures are in conftest)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "notebooks" / "fixtures"


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
