"""Scheduled report runs: papermill into reports/<run-id>/, safe on failure, published atomically.

A run (``cx report run``) takes one or more *targets* (a notebook with parameters, named after
its job, or after the notebook for an ad-hoc run) and:

1. checks every target's parameters against its notebook's ``parameters`` cell before any
   kernel starts (unknown names and wrong types fail, listing what the notebook accepts);
2. reads the store read-only for the header (row counts, latest event, as-of, fingerprint), so a
   store held for writing fails the run up front with one line;
3. executes each notebook with papermill in a private staging folder (``reports/.staging-*``),
   with a per-cell timeout; a cell error, timeout or dead kernel fails that target with a one-line
   reason and keeps the partly executed notebook as ``<target>.failed.ipynb``;
4. renders each good notebook to one offline, script-free HTML page (cxlib.render);
5. publishes: the staging folder is renamed to ``reports/<run-id>/`` (atomic on one file
   system), ``reports/latest/<target>.html`` is replaced atomically for good targets only, and
   ``reports/index.html`` is rebuilt from every run's ``run.json``. A failed run never touches
   an earlier run's folder or a ``latest`` page.

Exit codes (via cxlib.cli): 0 all good, 1 a run failed or the store was unusable, 2 bad
arguments or parameters.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import CxDataError, CxError, CxInputError, CxStoreLockedError, did_you_mean
from .report_params import load_params_file, load_yaml_text, parse_assignments, validate_parameters
from .store import PROJECT_DIR, default_path

__all__ = ["ReportTarget", "RunResult", "load_jobs", "notebooks", "rebuild_index", "run_reports"]

NOTEBOOK_DIR = PROJECT_DIR / "notebooks"
REPORT_DIR = PROJECT_DIR / "reports"
JOBS_FILE = PROJECT_DIR / "data" / "report_jobs.yml"
DEFAULT_TIMEOUT = 600  # seconds per cell
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

SETUP_TAG = "cx-report-setup"
# Run before the notebook's own cells (and shown in the executed .ipynb, tagged): charts are
# emitted as Vega-Lite JSON so the renderer can draw them offline, and pandas Stylers escape HTML.
SETUP_SOURCE = (
    "# Added by cx report run: charts as Vega-Lite JSON (drawn offline into the HTML), Stylers escape HTML.\n"
    "from cxlib.render import use_report_renderer as _cx_use_report_renderer\n"
    "_cx_use_report_renderer()\n"
)


@dataclass
class ReportTarget:
    """One notebook to run: `name` names its outputs and its job (the notebook stem if ad hoc)."""

    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)
    job: str | None = None


@dataclass
class TargetResult:
    name: str
    notebook: str
    job: str | None
    parameters: dict
    status: str  # "ok" or "failed"
    reason: str = ""
    seconds: float = 0.0
    html: str | None = None  # relative to the run folder
    ipynb: str | None = None
    failed_ipynb: str | None = None
    charts: int = 0


@dataclass
class RunResult:
    run_id: str
    started: str
    finished: str
    status: str  # "ok" or "failed"
    data: dict
    targets: list[TargetResult]
    run_dir: Path | None = None

    @property
    def failed(self) -> list[TargetResult]:
        return [t for t in self.targets if t.status != "ok"]


# ---------------------------------------------------------------- targets


def notebooks(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """Every report notebook in notebooks/ (present and future), sorted by name."""
    return sorted(p for p in Path(directory).glob("*.ipynb") if not p.name.startswith((".", "_")))


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


# ---------------------------------------------------------------- the store


def store_summary(db_path: str | os.PathLike | None) -> dict:
    """Row counts, latest event, as-of and a fingerprint of the store, read read-only."""
    from . import sql
    from .store import as_of, connect

    import duckdb

    path = Path(db_path) if db_path else default_path()
    con = connect(path, read_only=True)
    try:
        df = sql.run(con, "report_store_summary")
        try:
            as_of_value = as_of(con)
        except CxDataError:
            as_of_value = None
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CxDataError(f"cannot read the store {path} for the report header: {first}") from None
    finally:
        con.close()
    counts = {r.table_name: int(r.row_count) for r in df.itertuples()}
    digest = hashlib.sha256("\n".join(f"{r.table_name}:{r.row_count}:{r.content_hash}" for r in df.itertuples())
                            .encode()).hexdigest()[:16]
    latest = df.set_index("table_name")["latest"]
    latest_event = latest.get("events")
    return {
        "store": path.name,
        "as_of": str(as_of_value) if as_of_value is not None else None,
        "latest_event": None if latest_event is None or str(latest_event) in ("NaT", "None") else str(latest_event),
        "row_counts": counts,
        "fingerprint": digest,
    }


# ---------------------------------------------------------------- running


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _one_line(text: str, limit: int = 400) -> str:
    from .render import mask_text

    line = " ".join(str(text).split())
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    line = mask_text(line)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _cell_label(executed: Path | None, index: int | None = None) -> str:
    """'cell 5 (raise ValueError(...))': the failing cell's place in the notebook as its author wrote it.

    The failing cell is the one holding an error output, else (timeout, dead kernel) the last one
    that started; `index` (papermill's) is the fallback.
    """
    import nbformat

    if executed is None or not executed.exists():
        return "a cell"
    try:
        cells = nbformat.read(executed, as_version=4).cells
    except Exception:  # noqa: BLE001 - the label is a courtesy; the reason stands without it
        return "a cell"
    errors = [i for i, c in enumerate(cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    started = [i for i, c in enumerate(cells) if c.cell_type == "code"
               and (c.get("metadata", {}).get("papermill") or {}).get("start_time")]
    culprit = errors[0] if errors else started[-1] if started else index
    if culprit is None or not 0 <= culprit < len(cells):
        return "a cell"
    tags = set(cells[culprit].get("metadata", {}).get("tags", []))
    if SETUP_TAG in tags:
        return "the report setup cell (imports)"
    added = {SETUP_TAG, "injected-parameters", "papermill-error-cell-tag"}
    own = [i for i, c in enumerate(cells) if not added & set(c.get("metadata", {}).get("tags", []))]
    if culprit not in own:
        return "the injected parameters cell"
    first = next((line.strip() for line in cells[culprit].source.splitlines() if line.strip()), "")
    first = first if len(first) <= 40 else first[:37] + "..."
    return f"cell {own.index(culprit) + 1} ({first})"


def _reason(exc: BaseException, executed: Path | None = None, timeout: int | None = None) -> str:
    """One line that says why a notebook failed."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        value = exc.evalue.strip().splitlines()[0] if exc.evalue and exc.evalue.strip() else ""
        return _one_line(f"{_cell_label(executed, exc.cell_index)} raised {exc.ename}: {value}")
    if isinstance(exc, CellTimeoutError) or "timed out" in str(exc).lower():
        return _one_line(f"timeout: {_cell_label(executed)} ran longer than the limit of {timeout} s per cell")
    if isinstance(exc, DeadKernelError) or "kernel died" in str(exc).lower():
        return _one_line(f"the kernel died (killed, crashed or out of memory) while running {_cell_label(executed)}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return _one_line(f"{type(exc).__name__}: {first}")


def _prepared_notebook(source: Path, dest: Path) -> None:
    """A copy of the notebook with the report setup cell first."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    setup = nbformat.v4.new_code_cell(SETUP_SOURCE, metadata={"tags": [SETUP_TAG]})
    nb.cells.insert(0, setup)
    nbformat.write(nb, dest)


def _execute(target: ReportTarget, out: Path, *, timeout: int, kernel_name: str, progress: bool) -> None:
    import papermill as pm

    prepared = out.with_name(f".{out.stem}.input.ipynb")
    _prepared_notebook(target.notebook, prepared)
    try:
        pm.execute_notebook(
            str(prepared), str(out), parameters=target.parameters, kernel_name=kernel_name,
            progress_bar=progress, cwd=str(target.notebook.parent), execution_timeout=timeout,
            start_timeout=120, report_mode=False,
        )
    finally:
        prepared.unlink(missing_ok=True)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_copy(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def _say(message: str) -> None:
    print(f"cx report: {message}", file=sys.stderr, flush=True)


def run_reports(
    targets: list[ReportTarget],
    *,
    out_dir: str | Path = REPORT_DIR,
    timeout: int = DEFAULT_TIMEOUT,
    kernel_name: str = "python3",
    progress: bool | None = None,
) -> RunResult:
    """Run report targets into ``out_dir/<run-id>/`` (see the module docstring for the steps).

    Parameters are validated for every target before any kernel starts (CxInputError); a store
    that cannot be read raises CxStoreLockedError/CxDataError before any kernel starts. Notebook
    failures do not raise: they are in the result (status "failed", one-line reason per target).
    """
    if not targets:
        raise CxInputError("nothing to run: name notebooks, or use --all, --job NAME or --all-jobs")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise CxInputError(f"timeout must be a whole number of seconds of at least 1, got {timeout!r}")
    out_dir = Path(out_dir)
    progress = sys.stderr.isatty() if progress is None else progress

    # 1. parameters, before any kernel
    checked: list[ReportTarget] = []
    seen: dict[str, int] = {}
    for t in targets:
        params = validate_parameters(t.notebook, t.parameters, label=f"{t.job and f'job {t.job!r} ' or ''}"
                                                                       f"notebook {t.notebook.name}")
        name = t.name
        if name in seen:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        else:
            seen[name] = 1
        checked.append(ReportTarget(name, t.notebook, params, t.job))

    # 2. the data each target reads, read-only, before any kernel
    summaries: dict[str, dict] = {}
    store_keys: dict[str, str] = {}
    for t in checked:
        db = t.parameters.get("db_path") or None
        key = str(Path(db).resolve()) if db else str(default_path().resolve())
        if key not in summaries:
            try:
                summaries[key] = store_summary(db)
            except CxStoreLockedError as exc:
                raise CxStoreLockedError(f"no report was run: {exc}") from None
            except CxDataError as exc:
                raise CxDataError(f"no report was run: {exc}") from None
        store_keys[t.name] = key

    # 3. execute in a private staging folder
    run_id = _new_run_id()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{run_id}"
    staging.mkdir()
    started = _now()
    results: list[TargetResult] = []
    from .render import render_report

    try:
        for i, t in enumerate(checked, 1):
            _say(f"[{i}/{len(checked)}] {t.name}: running {t.notebook.name} "
                 f"(timeout {timeout}s per cell)")
            clock = time.perf_counter()
            executed = staging / f"{t.name}.ipynb"
            res = TargetResult(t.name, t.notebook.name, t.job, _jsonable(t.parameters), "ok")
            try:
                _execute(t, executed, timeout=timeout, kernel_name=kernel_name, progress=progress)
            except KeyboardInterrupt:
                res.status, res.reason = "failed", "interrupted"
                _keep_failed(executed, res)
                results.append(res)
                raise
            except Exception as exc:  # noqa: BLE001 - every way a notebook can fail is reported, never raised
                res.status, res.reason = "failed", _reason(exc, executed, timeout)
                _keep_failed(executed, res)
            else:
                res.ipynb = executed.name
                try:
                    import nbformat

                    data = summaries[store_keys[t.name]]
                    meta = {
                        "run": {"run": run_id, "run started (UTC)": started, "job": t.job or "(ad hoc)",
                                "notebook": t.notebook.name},
                        "parameters": _jsonable(t.parameters),
                        "data": data,
                    }
                    page = render_report(nbformat.read(executed, as_version=4), title=_title(t), meta=meta)
                except Exception as exc:  # noqa: BLE001 - a report we cannot render safely is not published
                    res.status, res.reason = "failed", _one_line(f"not rendered: {exc}")
                    executed.rename(staging / f"{t.name}.failed.ipynb")
                    res.ipynb, res.failed_ipynb = None, f"{t.name}.failed.ipynb"
                else:
                    (staging / f"{t.name}.html").write_text(page.html, encoding="utf-8")
                    res.html, res.charts = f"{t.name}.html", page.charts
            res.seconds = round(time.perf_counter() - clock, 1)
            if res.status == "ok":
                _say(f"[{i}/{len(checked)}] {t.name}: ok in {res.seconds}s, {res.charts} chart(s)")
            else:
                _say(f"[{i}/{len(checked)}] {t.name}: FAILED in {res.seconds}s: {res.reason}")
            results.append(res)
    finally:
        # 5. publish: the run folder appears whole, with its manifest, or not at all
        status = "ok" if results and all(r.status == "ok" for r in results) and len(results) == len(checked) else "failed"
        result = RunResult(run_id, started, _now(), status, {k: v for k, v in summaries.items()}, results)
        manifest = {
            "run_id": run_id, "started": started, "finished": result.finished, "status": status,
            "data": list(summaries.values()), "targets": [asdict(r) for r in results],
        }
        _atomic_write(staging / "run.json", json.dumps(manifest, indent=2, default=str))
        final = out_dir / run_id
        os.rename(staging, final)
        result.run_dir = final
        latest = out_dir / "latest"
        latest.mkdir(exist_ok=True)
        for r in results:
            if r.status == "ok" and r.html:
                _atomic_copy(final / r.html, latest / f"{r.name}.html")
        rebuild_index(out_dir)
    return result


def _keep_failed(executed: Path, res: TargetResult) -> None:
    """Keep the partly executed notebook (papermill saves it after every cell) for debugging."""
    if executed.exists():
        failed = executed.with_name(f"{executed.stem}.failed.ipynb")
        executed.rename(failed)
        res.failed_ipynb = failed.name


def _title(t: ReportTarget) -> str:
    base = t.notebook.stem.replace("_", " ").capitalize()
    return f"{base} report" + (f" ({t.job})" if t.job and t.job != t.notebook.stem else "")


def _jsonable(params: dict) -> dict:
    return json.loads(json.dumps(params, default=str))


# ---------------------------------------------------------------- the index


@contextlib.contextmanager
def _index_lock(out_dir: Path):
    lock = out_dir / ".index.lock"
    with open(lock, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: runs there are not concurrent
            pass
        yield


def read_runs(out_dir: str | Path = REPORT_DIR) -> list[dict]:
    """Every published run's manifest, newest first."""
    runs = []
    for manifest in Path(out_dir).glob("*/run.json"):
        if manifest.parent.name.startswith("."):
            continue  # a staging folder of a run that was killed before publishing
        try:
            runs.append(json.loads(manifest.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(runs, key=lambda r: (r.get("started", ""), r.get("run_id", "")), reverse=True)


def rebuild_index(out_dir: str | Path = REPORT_DIR) -> Path:
    """Rewrite ``out_dir/index.html`` (atomically) from every run's manifest."""
    from .render import CSP, CSS

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    e = html.escape
    with _index_lock(out_dir):
        runs = read_runs(out_dir)
        latest: dict[str, tuple[dict, dict]] = {}
        for run in runs:
            for t in run.get("targets", []):
                if t.get("status") == "ok" and t.get("name") not in latest:
                    latest[t["name"]] = (run, t)
        parts = ["<h2>Latest good report of each job</h2>"]
        if latest:
            parts.append('<table class="cx-index"><tr><th>job</th><th>report</th><th>run</th><th>data as of</th></tr>')
            for name in sorted(latest):
                run, t = latest[name]
                as_of = ", ".join(sorted({str(d.get("as_of")) for d in run.get("data", [])}))
                parts.append(
                    f'<tr><td>{e(name)}</td><td><a href="latest/{e(name)}.html">latest/{e(name)}.html</a></td>'
                    f'<td><a href="{e(run["run_id"])}/{e(t["html"])}">{e(run["run_id"])}</a></td><td>{e(as_of)}</td></tr>'
                )
            parts.append("</table>")
        else:
            parts.append("<p>No good report yet.</p>")
        parts.append('<h2>All runs</h2><table class="cx-index"><tr><th>run</th><th>started (UTC)</th><th>job</th><th>notebook</th>'
                     "<th>parameters</th><th>status</th><th>outputs</th></tr>")
        for run in runs:
            rid = run.get("run_id", "")
            targets = run.get("targets") or [{"name": "-", "status": run.get("status"), "parameters": {}}]
            for t in targets:
                links = []
                for key, label in (("html", "report"), ("ipynb", "notebook"), ("failed_ipynb", "failed notebook")):
                    if t.get(key):
                        links.append(f'<a href="{e(rid)}/{e(t[key])}">{label}</a>')
                params = ", ".join(f"{k}={json.dumps(v)}" for k, v in (t.get("parameters") or {}).items())
                status = t.get("status", "")
                reason = f": {t['reason']}" if t.get("reason") else ""
                css = "cx-status-failed" if status != "ok" else "cx-status-ok"
                parts.append(
                    f"<tr><td>{e(rid)}</td><td>{e(run.get('started', ''))}</td><td>{e(t.get('job') or '(ad hoc)')}</td>"
                    f"<td>{e(t.get('notebook', ''))}</td><td><code>{e(params)}</code></td>"
                    f'<td class="{css}">{e(status)}{e(reason)}</td><td>{" ".join(links)}</td></tr>'
                )
        parts.append("</table>")
        page = (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<title>CX reports</title><style>{CSS}</style></head><body class="cx-index-page">'
            '<header class="cx-header"><h1>CX reports</h1>'
            f"<p>{len(runs)} run(s); newest first. Failed runs keep their partly executed notebook.</p></header>"
            f"<main>{''.join(parts)}</main></body></html>\n"
        )
        index = out_dir / "index.html"
        _atomic_write(index, page)
    return index


# ---------------------------------------------------------------- command line


def _targets_from_args(args) -> list[ReportTarget]:
    extra: dict = {}
    if args.params_file:
        extra.update(load_params_file(args.params_file))
    extra.update(parse_assignments(args.param or []))
    if args.db:
        extra["db_path"] = str(args.db)
    targets: list[ReportTarget] = []
    if args.job or args.all_jobs:
        jobs = load_jobs(args.jobs_file or JOBS_FILE)
        names = list(jobs) if args.all_jobs else args.job
        for name in names:
            if name not in jobs:
                raise CxInputError(f"job '{name}' not in {args.jobs_file or JOBS_FILE}{did_you_mean(name, jobs)} "
                                   f"Available: {', '.join(sorted(jobs)) or '(none)'}")
            job = jobs[name]
            targets.append(ReportTarget(job.name, job.notebook, {**job.parameters, **extra}, job=job.name))
    paths = [resolve_notebook(n) for n in args.notebooks]
    if args.all:
        paths += [p.resolve() for p in notebooks()]
    for path in paths:
        targets.append(ReportTarget(path.stem, path, dict(extra)))
    return targets


def cmd_run(args) -> int:
    targets = _targets_from_args(args)
    result = run_reports(targets, out_dir=Path(args.out) if args.out else REPORT_DIR, timeout=args.timeout,
                         kernel_name=args.kernel)
    index = (result.run_dir.parent / "index.html") if result.run_dir else None
    if result.failed:
        raise CxError(
            f"{len(result.failed)} of {len(result.targets)} report(s) failed: "
            + "; ".join(f"{t.name}: {t.reason}" for t in result.failed)
            + f" (partly executed notebooks kept in {result.run_dir}; earlier reports unchanged)"
        )
    print(f"{len(result.targets)} report(s) ok in {result.run_dir}; index {index}")
    return 0


def cmd_list(args) -> int:
    from .report_params import accepted, notebook_parameters

    for path in notebooks():
        declared = notebook_parameters(path)
        print(f"{path.stem}: {accepted(declared) if declared is not None else '(no parameters cell)'}")
    jobs_file = Path(args.jobs_file or JOBS_FILE)
    if jobs_file.exists():
        for name, job in load_jobs(jobs_file).items():
            print(f"job {name}: {job.notebook.name} {json.dumps(job.parameters)}")
    return 0


def cmd_index(args) -> int:
    print(rebuild_index(Path(args.out) if args.out else REPORT_DIR))
    return 0


def add_cli(sub, add_db) -> None:
    """The `report` and `demo` subcommands."""
    p = sub.add_parser("demo", help="build the sample store and run every report notebook on it")
    p.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--out", help="reports folder (default reports/)")
    add_db(p)
    p.set_defaults(func=_cmd_demo)

    report = sub.add_parser("report", help="run report notebooks into reports/ (HTML for stakeholders)",
                            description="Run, list and index report notebooks. See reports/README.md.")
    rsub = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    p = rsub.add_parser(
        "run", help="run notebooks or named jobs into reports/<run-id>/",
        description="Run notebooks with papermill into reports/<run-id>/ as executed .ipynb and HTML without "
                    "code, then rewrite reports/index.html. Parameters are checked against each notebook's "
                    "'parameters' cell before any kernel starts. A failed run exits 1 with a one-line reason, "
                    "keeps <name>.failed.ipynb and leaves earlier reports untouched. Examples: "
                    "cx report run journey -p start=2024-01-01 -p segment=region; cx report run --all; "
                    "cx report run --job overview; cx report run --all-jobs (for cron/CI).")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebook names in notebooks/ or .ipynb paths")
    p.add_argument("--all", action="store_true", help="every notebook in notebooks/")
    p.add_argument("--job", action="append", metavar="NAME", help="a named job from the jobs file (repeatable)")
    p.add_argument("--all-jobs", action="store_true", help="every job in the jobs file")
    p.add_argument("--jobs-file", help=f"jobs file (default {JOBS_FILE.relative_to(PROJECT_DIR)})")
    p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="a parameter for every notebook run (repeatable; overrides the jobs and params files)")
    p.add_argument("--params-file", metavar="FILE.yml", help="parameters as a YAML mapping name: value")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help=f"seconds per cell (default {DEFAULT_TIMEOUT})")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel (default python3)")
    add_db(p)
    p.set_defaults(func=cmd_run)

    p = rsub.add_parser("list", help="notebooks with the parameters they accept, and the named jobs")
    p.add_argument("--jobs-file", help="jobs file")
    p.set_defaults(func=cmd_list)

    p = rsub.add_parser("index", help="rebuild reports/index.html from the runs' manifests")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.set_defaults(func=cmd_index)


def _cmd_demo(args) -> int:
    from .cli import cmd_sample

    cmd_sample(args)
    targets = [ReportTarget(p.stem, p.resolve(), {"db_path": str(args.db)} if args.db else {}) for p in notebooks()]
    result = run_reports(targets, out_dir=Path(args.out) if args.out else REPORT_DIR)
    if result.failed:
        raise CxError(f"{len(result.failed)} of {len(result.targets)} report(s) failed: "
                      + "; ".join(f"{t.name}: {t.reason}" for t in result.failed))
    print(f"reports in {result.run_dir}; open {result.run_dir.parent / 'index.html'}")
    return 0
