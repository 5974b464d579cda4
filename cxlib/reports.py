"""Run report notebooks with papermill and render them to HTML without code."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from .errors import CxError
from .store import PROJECT_DIR

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
REPORT_DIR = PROJECT_DIR / "reports"


def notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def run_notebooks(names: list[str], *, db: str | None = None, out_dir: Path = REPORT_DIR) -> int:
    """Execute the named notebooks (all when empty) into out_dir/<run-id>/ as .ipynb and .html."""
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    paths = [NOTEBOOK_DIR / f"{n.removesuffix('.ipynb')}.ipynb" for n in names] if names else notebooks()
    run_dir = out_dir / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    params = {"db_path": str(db)} if db else {}
    failed = 0
    for path in paths:
        target = run_dir / path.name
        try:
            pm.execute_notebook(str(path), str(target), parameters=params, progress_bar=False, cwd=str(NOTEBOOK_DIR))
        except Exception as exc:  # noqa: BLE001 - any failure of a run is reported, the run goes on
            print(f"{path.name}: FAILED: {type(exc).__name__}", file=sys.stderr)
            failed += 1
            continue
        body, _ = HTMLExporter(exclude_input=True).from_notebook_node(nbformat.read(target, as_version=4))
        target.with_suffix(".html").write_text(body, encoding="utf-8")
        print(f"{path.name}: ok -> {target.with_suffix('.html')}")
    if failed:
        raise CxError(f"{failed} of {len(paths)} notebooks failed; see {run_dir}")
    return 0


def add_cli(sub, add_db) -> None:
    """The `report` and `demo` subcommands."""
    p = sub.add_parser("demo", help="build the sample store and run every report notebook on it")
    p.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    add_db(p)
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args) -> int:
    from .cli import cmd_sample

    cmd_sample(args)
    return run_notebooks([], db=args.db)
