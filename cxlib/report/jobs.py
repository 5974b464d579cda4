"""What a report run can run: the report notebooks, a notebook named on the command line, and named jobs
(notebook + parameters) from a YAML jobs file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cxlib.errors import CxInputError, did_you_mean
from cxlib.locations import NOTEBOOK_DIR, shipped
from cxlib.report.params import load_yaml_text

JOBS_FILE = shipped("report_jobs.yml")  # the shipped jobs; pass your own with --jobs-file


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class ReportTarget:
    """One notebook to run: `name` names its outputs and its job (the notebook stem if ad hoc)."""

    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)
    job: str | None = None
    shared: frozenset = frozenset()  # names given for a whole run (-p): they apply where the notebook has them


def notebooks(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """Every report notebook in notebooks/ (present and future), sorted by name.

    A notebook whose metadata says ``"cx": {"report": false}`` is for analysts only (the
    "start here" notebook that `cx lab` opens) and is not a report."""
    return sorted(p for p in Path(directory).glob("*.ipynb")
                  if not p.name.startswith((".", "_")) and _is_report(p))


def _is_report(path: Path) -> bool:
    import json

    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return True  # an unreadable notebook is reported as failing by the run, not hidden here
    return (meta.get("cx") or {}).get("report", True) is not False


def resolve_notebook(name: str, directory: Path = NOTEBOOK_DIR) -> Path:
    """A notebook given by name ('journey') or by path ('tests/x.ipynb')."""
    candidate = Path(name)
    if candidate.suffix == ".ipynb" and candidate.exists():
        return candidate.resolve()
    stem = candidate.name.removesuffix(".ipynb")
    path = Path(directory) / f"{stem}.ipynb"
    if path.exists():
        return path.resolve()
    available = [p.stem for p in notebooks(directory)]
    raise CxInputError(
        f"notebook '{name}' not found in {directory}{did_you_mean(stem, available)} "
        f"Available: {', '.join(available) or '(none)'}"
    )


def load_jobs(path: str | Path = JOBS_FILE, *, directory: Path = NOTEBOOK_DIR) -> dict[str, ReportTarget]:
    """Named jobs from a YAML file: ``jobs: {NAME: {notebook: ..., parameters: {...}}}``.

    ``notebook`` is a name in notebooks/ (``overview``) or a path to an .ipynb (relative to the
    jobs file). Values are read as text (YAML's implicit typing is off) and typed by each
    notebook's parameters cell when the job runs.
    """
    path = Path(path)
    data = load_yaml_text(path, what="jobs file")
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise CxInputError(f"jobs file {path} must hold 'jobs:' mapping NAME to {{notebook, parameters}}")
    jobs = {}
    for name, spec in data["jobs"].items():
        if not _NAME.match(name):
            raise CxInputError(f"jobs file {path}: job name {name!r} may hold only letters, digits, '_', '-', '.'")
        if not isinstance(spec, dict) or "notebook" not in spec:
            raise CxInputError(f"jobs file {path}: job '{name}' needs a 'notebook' (and optional 'parameters')")
        unknown = set(spec) - {"notebook", "parameters", "description"}
        if unknown:
            raise CxInputError(f"jobs file {path}: job '{name}' has unknown keys {sorted(unknown)}; "
                               "allowed: notebook, parameters, description")
        params = spec.get("parameters") or {}
        if not isinstance(params, dict):
            raise CxInputError(f"jobs file {path}: parameters of job '{name}' must be a mapping of name: value")
        nb = str(spec["notebook"])
        if nb.endswith(".ipynb"):
            nb_path = Path(nb) if Path(nb).is_absolute() else path.parent / nb
            if not nb_path.exists():
                raise CxInputError(f"jobs file {path}: job '{name}': no notebook at {nb_path}")
            nb_path = nb_path.resolve()
        else:
            nb_path = resolve_notebook(nb, directory)
        jobs[name] = ReportTarget(name, nb_path, dict(params), job=name)
    return jobs
