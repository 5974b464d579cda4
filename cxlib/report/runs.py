"""Scheduled report runs: papermill into reports/<run-id>/, safe on failure, published atomically.

A run (``cx report run``) takes one or more *targets* (a notebook with parameters, named after
its job, or after the notebook for an ad-hoc run) and:

1. checks every target's parameters against its notebook's ``parameters`` cell before any
   kernel starts (unknown names and wrong types fail, listing what the notebook accepts);
2. reads the store read-only for the header (row counts, latest event, as-of, fingerprint), so a
   store held for writing fails the run up front with one line;
3. executes each notebook with papermill into a private analyst-only staging folder
   (``reports/.analyst/.staging-*``), with a per-cell timeout; a cell error, timeout or dead
   kernel fails that target with a one-line reason and keeps the partly executed notebook as
   ``<target>.failed.ipynb`` (and the kernel's log as ``<target>.kernel.log``); several
   notebooks at once with ``jobs`` (`run_reports`), the run's pages the same as one at a time;
4. renders each good notebook to one offline, script-free HTML page (cxlib.report.render) with
   the store's masker (``Masker.from_store``: every customer id, agent id and personal column
   value of the store, besides e-mails, phones, IBANs and names), into ``reports/.staging-*``;
5. publishes: the staging folder is renamed to ``reports/<run-id>/`` (atomic on one file
   system), ``reports/latest/<store>/<target>.html`` (one per store and job: a sample run never
   replaces the latest report of a user's store) is replaced atomically for good targets only, and
   ``reports/index.html`` is rebuilt from every run's ``run.json``. A failed run never touches
   an earlier run's folder or a ``latest`` page.

Stakeholders get HTML only: ``reports/<run-id>/`` holds the pages and ``run.json``, nothing else
(with ``--pdf``, also each good page printed to PDF by headless Chromium, beside it).
The executed notebooks, failed notebooks and kernel logs hold raw customer data (the comments,
ids and outputs the notebook printed); they go to ``reports/.analyst/<run-id>/`` (folder mode
0700), which the index never links.

Exit codes (via cxlib.cli): 0 all good, 1 a run failed or the store was unusable, 2 bad
arguments or parameters."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from cxlib.errors import CxDataError, CxInputError, CxStoreLockedError, did_you_mean
from cxlib.locations import reports_dir
from cxlib.privacy import ledger
from cxlib.privacy.masking import Masker, default_masker
from cxlib.report.index import atomic_copy, atomic_write, latest_page, rebuild_index
from cxlib.report.jobs import ReportTarget
from cxlib.report.params import notebook_parameters, validate_parameters
from cxlib.report.periods import complete_periods
from cxlib.store.connection import default_path

DEFAULT_TIMEOUT = 600  # seconds per cell
DEFAULT_NOTEBOOK_TIMEOUT = 3600  # seconds per notebook, all cells together


SETUP_TAG = "cx-report-setup"


# Run before the notebook's own cells (and shown in the executed .ipynb, tagged): charts are
# emitted as Vega-Lite JSON so the renderer can draw them offline, and pandas Stylers escape HTML.
# The kernel, like a notebook, may load the charts' theme: an analyst's own Altair chart is then drawn
# in the same font the page measures (the report package itself does not import cxlib.charts).
SETUP_SOURCE = (
    "# Added by cx report run: charts as Vega-Lite JSON (drawn offline into the HTML) in the cx theme,\n"
    "# Stylers escape HTML.\n"
    "import cxlib.charts.theme as _cx_theme  # registers and enables the 'cx' theme\n"
    "from cxlib.report.render import use_report_renderer as _cx_use_report_renderer\n"
    "_cx_use_report_renderer()\n"
)


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
    ipynb: str | None = None  # relative to the analyst folder .analyst/<run-id>/, never published
    failed_ipynb: str | None = None  # likewise
    charts: int = 0
    store: str = ""  # the store's file name
    fingerprint: str = ""  # of the store's contents when the run read it
    pdf: str | None = None  # the page printed by headless Chromium (--pdf), relative to the run folder


@dataclass
class RunResult:
    run_id: str
    started: str
    finished: str
    status: str  # "ok" or "failed"
    data: dict
    targets: list[TargetResult]
    run_dir: Path | None = None
    analyst_dir: Path | None = None  # the executed notebooks and kernel logs, for analysts only

    @property
    def failed(self) -> list[TargetResult]:
        return [t for t in self.targets if t.status != "ok"]


def store_summary(db_path: str | os.PathLike | None) -> dict:
    """Row counts, latest event, as-of and a fingerprint of the store, read read-only."""
    import duckdb

    from cxlib import sql
    from cxlib.store.connection import as_of, connect

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


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_run_id() -> str:
    """The start time and six random consonants. Every page shows its run id and passes the masker,
    so the suffix has no digits: a hex suffix such as 'e12345' was masked as an identifier ('[id]')."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + "".join(
        secrets.choice("bcdfghjkmnpqrstvwxz") for _ in range(6))


def _one_line(text: str, limit: int = 400, masker: Masker | None = None) -> str:
    line = " ".join(str(text).split())
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    line = (masker or default_masker()).mask(line)
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
    return f"cell {own.index(culprit) + 1} ({_statement(cells[culprit])})"


_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _statement(cell) -> str:
    """The line of the cell that raised (from the traceback's last frame in the cell), else its first line."""
    lines = cell.source.splitlines()
    number = None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            found = _CELL_LINE.findall(_ANSI.sub("", "\n".join(out.get("traceback", []))))
            number = int(found[-1]) if found else None
    text = lines[number - 1].strip() if number and 0 < number <= len(lines) else ""
    text = text or next((line.strip() for line in lines if line.strip()), "")
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"line {number}: {text}" if number and number > 1 else text


def _reason(exc: BaseException, executed: Path | None = None, timeout: int | None = None,
            masker: Masker | None = None) -> str:
    """One line that says why a notebook failed (personal data masked: it is shown in the index)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, NotebookTimeout):
        line = f"timeout: {exc} (stopped while running {_cell_label(executed)})"
    elif isinstance(exc, PapermillExecutionError):
        value = exc.evalue.strip().splitlines()[0] if exc.evalue and exc.evalue.strip() else ""
        line = f"{_cell_label(executed, exc.cell_index)} raised {exc.ename}: {value}"
    elif isinstance(exc, CellTimeoutError) or "timed out" in str(exc).lower():
        line = f"timeout: {_cell_label(executed)} ran longer than the limit of {timeout} s per cell"
    elif isinstance(exc, DeadKernelError) or "kernel died" in str(exc).lower():
        line = f"the kernel died (killed, crashed or out of memory) while running {_cell_label(executed)}"
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        line = f"{type(exc).__name__}: {first}"
    return _one_line(line, masker=masker)


def _prepared_notebook(source: Path, dest: Path) -> None:
    """A copy of the notebook with the report setup cell first."""
    import nbformat

    nb = nbformat.read(source, as_version=4)
    setup = nbformat.v4.new_code_cell(SETUP_SOURCE, metadata={"tags": [SETUP_TAG]})
    nb.cells.insert(0, setup)
    nbformat.write(nb, dest)


def _execute(target: ReportTarget, out: Path, *, store: str, timeout: int, notebook_timeout: int, kernel_name: str,
             progress: bool, ledger_path: Path, release_log: Path, checked: Path, kernels: list) -> None:
    """Run one notebook with papermill.

    The kernel starts in the notebook's folder, so it is told the store's absolute path through
    CX_DB (a relative path would resolve against that folder), and the store's release ledger,
    this page's release log and its list of checked rows (cxlib.privacy.ledger), and
    CX_REPORT_RUN=1 (a report is never a live session: no widgets, whatever started the run). The
    folder and these variables are the kernel's own (this process's working folder and environment are left
    alone, so several notebooks can run at once). Its stderr (warnings, and the tracebacks
    ipykernel prints when it is interrupted or stopped) goes to ``<target>.kernel.log`` beside the
    executed notebook, not into the run's one-line output. The kernel is added to `kernels` (to be
    stopped on an interrupt); a watchdog stops it when the whole notebook runs longer than
    `notebook_timeout` seconds.
    """
    import papermill as pm

    # papermill warns about every parameters-cell comment it cannot read as a type hint; ours are prose
    logging.getLogger("papermill.translators").setLevel(logging.ERROR)
    prepared = out.with_name(f".{out.stem}.input.ipynb")
    _prepared_notebook(target.notebook, prepared)
    env = {"CX_DB": store, ledger.LEDGER_ENV: str(ledger_path), ledger.LOG_ENV: str(release_log),
           ledger.CHECKED_ENV: str(checked),
           "CX_REPORT_RUN": "1"}  # static output: cxlib.explore.session.REPORT_ENV (report does not import explore)
    mine: list = []
    stopped = threading.Event()
    watchdog = threading.Timer(notebook_timeout, _stop_kernels, [mine, stopped])
    watchdog.daemon = True
    watchdog.start()
    manager = _kernel_manager(out.with_name(f"{out.stem}.kernel.log"), cwd=target.notebook.parent, env=env,
                              kernels=[mine, kernels])
    try:
        pm.execute_notebook(
            str(prepared), str(out), parameters=target.parameters, kernel_name=kernel_name,
            progress_bar=progress, execution_timeout=timeout, start_timeout=120, report_mode=False,
            kernel_manager_class=manager, engine_name=_engine(),
        )
    except Exception as exc:
        if stopped.is_set():
            raise NotebookTimeout(notebook_timeout) from exc
        raise
    else:  # the kernel's log is kept for a failed run only
        out.with_name(f"{out.stem}.kernel.log").unlink(missing_ok=True)
    finally:
        watchdog.cancel()
        prepared.unlink(missing_ok=True)


@functools.cache
def _engine() -> str:
    """papermill's nbclient engine, saving the executed notebook once, when it ends (papermill ends
    it also when a cell fails or times out and when the kernel dies), not before and after every
    cell: rewriting a notebook full of charts ~140 times took ~20 s of a run on 10M events."""
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class SavedAtTheEnd(NotebookExecutionManager):
        def save(self, **kwargs):
            if self.end_time is not None:  # set by notebook_complete, however the notebook ends
                super().save(**kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            nb_man = SavedAtTheEnd(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                   autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("cx-report", Engine)
    return "cx-report"


class NotebookTimeout(Exception):
    """The whole notebook ran longer than its limit."""

    def __init__(self, seconds: int):
        super().__init__(f"the notebook ran longer than its limit of {seconds} s in all")
        self.seconds = seconds


def _kernel_manager(log: Path, *, cwd: Path, env: dict, kernels: list[list]):
    """A kernel manager class whose kernels start in `cwd` with `env` added to the environment,
    write stderr to `log` and are appended to each list in `kernels`."""
    from jupyter_client.manager import AsyncKernelManager

    class ReportKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["stderr"] = open(log, "ab")  # noqa: SIM115 - the kernel process owns it until it exits
            kw["cwd"] = str(cwd)
            kw["env"] = {**(kw.get("env") or os.environ), **env}
            for found in kernels:
                found.append(self)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return ReportKernelManager


def _stop_kernels(kernels: list, stopped: threading.Event) -> None:
    """The watchdog: kill the notebook's kernel (the run then fails with a timeout reason)."""
    stopped.set()
    for km in kernels:
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()


def _say(message: str) -> None:
    print(f"cx report: {message}", file=sys.stderr, flush=True)


def run_reports(
    targets: list[ReportTarget],
    *,
    out_dir: str | Path | None = None,
    timeout: int = DEFAULT_TIMEOUT,
    notebook_timeout: int = DEFAULT_NOTEBOOK_TIMEOUT,
    kernel_name: str = "python3",
    progress: bool | None = None,
    pdf: bool = False,
    jobs: int | None = None,
) -> RunResult:
    """Run report targets into ``out_dir/<run-id>/`` (see the module docstring for the steps).

    Parameters are validated for every target before any kernel starts (CxInputError); a store
    that cannot be read raises CxStoreLockedError/CxDataError before any kernel starts. Notebook
    failures do not raise: they are in the result (status "failed", one-line reason per target).
    With `pdf`, each good page is also printed to ``<page>.pdf`` beside it (`print_pdf`).

    `jobs`: how many notebooks run at once (default: the number of cores, at most the number of
    targets; 1 runs them one after another in the order given). The result is the same whatever
    `jobs` is: targets are listed in the order given, and a page is published in its place in that
    order: when a page published before it in the run would have changed what the release ledger
    hides on it (`ledger.stale`), it is run again then, alone, as a serial run would have run it.
    """
    if not targets:
        raise CxInputError("nothing to run: name notebooks, or use --all, --job NAME or --all-jobs")
    for name, value in (("timeout", timeout), ("notebook_timeout", notebook_timeout)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CxInputError(f"{name} must be a whole number of seconds of at least 1, got {value!r}")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise CxInputError(f"jobs must be a whole number of notebooks of at least 1, got {jobs!r}")
    # absolute: papermill runs each notebook from the notebook's own folder
    out_dir = (Path(out_dir) if out_dir is not None else reports_dir()).resolve()
    checked = _checked_targets(targets)
    jobs = min(jobs or os.cpu_count() or 1, len(checked))
    progress = (sys.stderr.isatty() if progress is None else progress) and jobs == 1  # one bar at a time
    summaries, store_keys, covered = _read_stores(checked)
    maskers = {key: _store_masker(key) for key in summaries}
    browser = _pdf_browser() if pdf else None

    run_id = _new_run_id()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{run_id}"
    staging.mkdir()
    notebooks = _analyst_root(out_dir) / f".staging-{run_id}"
    notebooks.mkdir()
    started = _now()
    results: dict[str, TargetResult] = {}
    kernels: list = []  # every kernel of the run, stopped on an interrupt

    def run(i: int, t: ReportTarget, publish: bool) -> TargetResult:
        step = f"[{i}/{len(checked)}] {t.name}"
        _say(f"{step}: running {t.notebook.name} (timeout {timeout}s per cell)")
        meta = {
            "run": {"run": run_id, "run started (UTC)": started, "job": t.job or "(ad hoc)",
                    "notebook": t.notebook.name,
                    **({"period covered": covered[t.name]} if covered.get(t.name) else {})},
            "parameters": _jsonable(t.parameters),
            "data": summaries[store_keys[t.name]],
        }
        res = _run_target(t, staging, notebooks, store=store_keys[t.name], meta=meta, results=results,
                          timeout=timeout, notebook_timeout=notebook_timeout, kernel_name=kernel_name,
                          progress=progress, masker=maskers[store_keys[t.name]], browser=browser,
                          publish=publish, kernels=kernels)
        if res.status == "ok":
            _say(f"{step}: ok in {res.seconds}s, {res.charts} chart(s)")
        else:
            _say(f"{step}: FAILED in {res.seconds}s: {res.reason}")
        return res

    try:
        if jobs == 1:
            for i, t in enumerate(checked, 1):
                run(i, t, publish=True)
        else:
            _run_parallel(checked, run, jobs, notebooks, store_keys, results, kernels)
    finally:
        ordered = [results[t.name] for t in checked if t.name in results]
        status = "ok" if ordered and all(r.status == "ok" for r in ordered) and len(ordered) == len(checked) else "failed"
        result = RunResult(run_id, started, _now(), status, dict(summaries), ordered)
        result.analyst_dir = _keep_notebooks(notebooks, run_id)
        result.run_dir = _publish(result, staging, out_dir)
    return result


def _run_parallel(checked: list[ReportTarget], run, jobs: int, notebooks: Path, store_keys: dict[str, str],
                  results: dict[str, TargetResult], kernels: list) -> None:
    """`jobs` notebooks at a time, each checked against the release ledgers as they were when the
    run started; then, in the order given, each good page is published (its release log merged),
    or first run again when a page published before it in this run would have made the ledger
    hide more on it (`ledger.stale`), so that every page is what a serial run makes."""
    from concurrent.futures import ThreadPoolExecutor

    books = {key: ledger_file(notebooks.parent, key) for key in set(store_keys.values())}
    before = {key: {group: set(counts) for group, counts in ledger.read(book).items()} for key, book in books.items()}
    pool = ThreadPoolExecutor(jobs)
    try:
        for future in [pool.submit(run, i, t, False) for i, t in enumerate(checked, 1)]:
            future.result()
    except BaseException:
        _stop_kernels(kernels, threading.Event())  # an interrupt: the other notebooks stop too
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    for i, t in enumerate(checked, 1):
        res, book = results[t.name], books[store_keys[t.name]]
        if res.status != "ok":
            continue
        if ledger.stale(notebooks / f"{t.name}.checked.jsonl", before[store_keys[t.name]], book):
            _say(f"[{i}/{len(checked)}] {t.name}: run again, after the pages before it (the release ledger "
                 "hides more on it now)")
            run(i, t, publish=True)  # its page, notebook and logs are made anew
        else:
            ledger.merge(notebooks / f"{t.name}.released.jsonl", book)
        for name in (f"{t.name}.released.jsonl", f"{t.name}.checked.jsonl"):
            (notebooks / name).unlink(missing_ok=True)


def _analyst_root(out_dir: Path) -> Path:
    """``reports/.analyst/``: executed notebooks and kernel logs, readable by the owner only."""
    root = out_dir / ".analyst"
    root.mkdir(mode=0o700, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def ledger_file(analyst_root: Path, store: str) -> Path:
    """``reports/.analyst/ledger/<store>.jsonl``: what pages from this store have published."""
    name = hashlib.sha256(str(store).encode()).hexdigest()[:16]
    return analyst_root / "ledger" / f"{Path(store).stem}-{name}.jsonl"


def _keep_notebooks(staging: Path, run_id: str) -> Path | None:
    """The analyst staging folder becomes ``.analyst/<run-id>/`` (or goes, when nothing ran)."""
    if not any(staging.iterdir()):
        staging.rmdir()
        return None
    final = staging.with_name(run_id)
    os.rename(staging, final)
    return final


def _store_masker(store: str) -> Masker:
    """The masker that knows the store's customer ids, agent ids and personal column values."""
    from cxlib.store.connection import connect

    con = connect(store, read_only=True)
    try:
        return Masker.from_store(con)
    finally:
        con.close()


def _checked_targets(targets: list[ReportTarget]) -> list[ReportTarget]:
    """Step 1, before any kernel: every target's parameters checked and typed; names made unique.

    A parameter given for the whole run applies to the notebooks that have it, and is an error
    only when none of them has it; a job's own parameters must all be the notebook's.
    """
    checked: list[ReportTarget] = []
    seen: dict[str, int] = {}
    used: set[str] = set()
    for t in targets:
        declared = notebook_parameters(t.notebook) or {}
        given = {k: v for k, v in t.parameters.items() if k not in t.shared or k in declared}
        used |= set(given) & set(t.shared)
        label = f"{t.job and f'job {t.job!r} ' or ''}notebook {t.notebook.name}"
        params = validate_parameters(t.notebook, given, label=label)
        name = t.name
        if name in seen:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        else:
            seen[name] = 1
        checked.append(ReportTarget(name, t.notebook, params, t.job))
    unused = sorted(set().union(*(t.shared for t in targets)) - used)
    if unused and len({t.notebook for t in targets}) == 1:  # one notebook: its own, detailed error
        t = targets[0]
        validate_parameters(t.notebook, {unused[0]: t.parameters[unused[0]]},
                            label=f"{t.job and f'job {t.job!r} ' or ''}notebook {t.notebook.name}")
    if unused:
        every = sorted(set().union(*((notebook_parameters(t.notebook) or {}).keys() for t in targets)))
        raise CxInputError(f"-p {unused[0]}: unknown parameter '{unused[0]}'{did_you_mean(unused[0], every)} "
                           f"None of the notebooks in this run takes it; they take: {', '.join(every)}")
    return checked


def _read_stores(checked: list[ReportTarget]) -> tuple[dict[str, dict], dict[str, str], dict[str, str | None]]:
    """Step 2, before any kernel: each store a target reads, read-only, for the report header;
    each target's `start` and `end` snapped to whole periods (cxlib.report.periods).

    Returns (summary by store path, store path by target name, the period covered by target
    name). A relative ``db_path`` is made absolute, since the kernel runs in the notebook's folder.
    """
    summaries: dict[str, dict] = {}
    store_keys: dict[str, str] = {}
    covered: dict[str, str | None] = {}
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
        _check_against_store(key, t)
        if db:
            t.parameters["db_path"] = key
        as_of = summaries[key]["as_of"]
        values = {name: p.default for name, p in (notebook_parameters(t.notebook) or {}).items()} | t.parameters
        try:
            snapped, covered[t.name] = complete_periods(values, date.fromisoformat(as_of[:10]) if as_of else None)
        except CxInputError as exc:
            raise CxInputError(f"{t.job and f'job {t.job!r}, ' or ''}notebook {t.notebook.name}: {exc}") from None
        t.parameters.update({name: snapped[name] for name in ("start", "end") if snapped.get(name) is not None})
    return summaries, store_keys, covered


def _check_against_store(store: str, t: ReportTarget) -> None:
    from cxlib.report.store_params import check_against_store
    from cxlib.store.connection import connect

    con = connect(store, read_only=True)
    try:
        check_against_store(con, t.notebook.stem, {k: v for k, v in t.parameters.items() if k != "db_path"})
    except CxInputError as exc:
        raise CxInputError(f"{t.job and f'job {t.job!r}, ' or ''}notebook {t.notebook.name}: {exc}") from None
    finally:
        con.close()


def _run_target(t: ReportTarget, staging: Path, notebooks: Path, *, store: str, meta: dict,
                results: dict[str, TargetResult], timeout: int, notebook_timeout: int, kernel_name: str,
                progress: bool, masker: Masker, browser: str | None = None, publish: bool = True,
                kernels: list | None = None) -> TargetResult:
    """Steps 3 and 4 for one target: execute into `notebooks` (analysts only), then render into
    `staging` (and print a good page to PDF with `browser`); the result is put in `results` under
    the target's name (also when interrupted, so that the run's manifest lists it).

    With `publish`, a good page's release log is merged into the store's ledger at once; without,
    the log (``<target>.released.jsonl``) and the rows checked against the ledger
    (``<target>.checked.jsonl``) stay in `notebooks` for the caller (`_run_parallel`)."""
    clock = time.perf_counter()
    executed = notebooks / f"{t.name}.ipynb"
    res = TargetResult(t.name, t.notebook.name, t.job, _jsonable(t.parameters), "ok",
                       store=meta["data"].get("store", ""), fingerprint=meta["data"].get("fingerprint", ""))
    ledger_path = ledger_file(notebooks.parent, store)
    release_log, checked = notebooks / f"{t.name}.released.jsonl", notebooks / f"{t.name}.checked.jsonl"
    for log in (release_log, checked):
        log.unlink(missing_ok=True)
    try:
        _execute(t, executed, store=store, timeout=timeout, notebook_timeout=notebook_timeout, kernel_name=kernel_name,
                 progress=progress, ledger_path=ledger_path, release_log=release_log, checked=checked,
                 kernels=[] if kernels is None else kernels)
    except KeyboardInterrupt:
        res.status, res.reason = "failed", "interrupted"
        _keep_failed(executed, res)
        results[t.name] = res
        raise
    except Exception as exc:  # noqa: BLE001 - every way a notebook can fail is reported, never raised
        res.status, res.reason = "failed", _reason(exc, executed, timeout, masker)
        _keep_failed(executed, res)
    else:
        _render(t, executed, staging / f"{t.name}.html", res, meta, masker)
        if res.status == "ok" and browser:
            _pdf_beside(browser, staging / res.html, res)
    if publish:
        if res.status == "ok":  # published: later pages and runs are checked against it
            ledger.merge(release_log, ledger_path)
        for log in (release_log, checked):
            log.unlink(missing_ok=True)
    res.seconds = round(time.perf_counter() - clock, 1)
    results[t.name] = res
    return res


def _render(t: ReportTarget, executed: Path, page_path: Path, res: TargetResult, meta: dict,
            masker: Masker) -> None:
    """Render an executed notebook to `page_path` with the store's masker; a page that cannot be
    made safe is not published (the notebook is kept as failed, for analysts)."""
    import nbformat

    from cxlib.report.render import render_report

    res.ipynb = executed.name
    try:
        page = render_report(nbformat.read(executed, as_version=4), title=_title(t), meta=meta, masker=masker)
    except Exception as exc:  # noqa: BLE001 - a report we cannot render safely is not published
        res.status, res.reason = "failed", _one_line(f"not rendered: {exc}", masker=masker)
        executed.rename(executed.with_name(f"{t.name}.failed.ipynb"))
        res.ipynb, res.failed_ipynb = None, f"{t.name}.failed.ipynb"
    else:
        page_path.write_text(page.html, encoding="utf-8")
        res.html, res.charts = page_path.name, page.charts


def _publish(result: RunResult, staging: Path, out_dir: Path) -> Path:
    """Step 5: the run folder appears whole, with its manifest, or not at all; `latest` pages are
    replaced for good targets only; the index is rebuilt. Returns the run folder."""
    manifest = {
        "run_id": result.run_id, "started": result.started, "finished": result.finished, "status": result.status,
        "data": list(result.data.values()), "targets": [asdict(r) for r in result.targets],
        # where `ipynb` and `failed_ipynb` are, relative to the reports folder (analysts only)
        "notebooks": f".analyst/{result.run_id}" if result.analyst_dir else None,
    }
    atomic_write(staging / "run.json", json.dumps(manifest, indent=2, default=str))
    final = out_dir / result.run_id
    os.rename(staging, final)
    for r in result.targets:
        if r.status == "ok" and r.html:
            latest = out_dir / latest_page(r.store, r.name)
            latest.parent.mkdir(parents=True, exist_ok=True)
            atomic_copy(final / r.html, latest)
    rebuild_index(out_dir)
    return final


CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The headless Chromium to print PDFs with: ``CX_CHROMIUM`` if set and found, else the first
    of chromium, chromium-browser, google-chrome on the PATH; None when there is none."""
    explicit = os.environ.get("CX_CHROMIUM")
    if explicit and shutil.which(explicit):
        return shutil.which(explicit)
    return next(filter(None, map(shutil.which, CHROMIUM)), None)


def _pdf_browser() -> str | None:
    """Chromium for --pdf; when there is none the run goes on and says so once."""
    found = find_chromium()
    if not found:
        _say("no PDF was made: headless Chromium was not found (install chromium, chromium-browser or "
             "google-chrome, or set CX_CHROMIUM); the HTML reports are made as usual")
    return found


def print_pdf(browser: str, page: Path, pdf: Path, timeout: int = 180) -> str | None:
    """Print an HTML page to `pdf` with headless Chromium (the page's print CSS applies; no header
    or footer). Returns None when a PDF was written, else one line saying why not."""
    with tempfile.TemporaryDirectory(prefix="cx-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
               Path(page).resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{Path(browser).name} did not print the page: {type(exc).__name__}"
    if pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-":
        return None
    pdf.unlink(missing_ok=True)
    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    return _one_line(f"{Path(browser).name} did not print the page: {tail[0]}", limit=200)


def _pdf_beside(browser: str, page: Path, res: TargetResult) -> None:
    """``<page>.pdf`` beside a good page; a page that does not print keeps the run good (the HTML
    is the report) and says so in one line."""
    pdf = page.with_suffix(".pdf")
    why = print_pdf(browser, page, pdf)
    if why:
        _say(f"{res.name}: no PDF was made: {why}")
    else:
        res.pdf = pdf.name


def _keep_failed(executed: Path, res: TargetResult) -> None:
    """Keep the partly executed notebook (saved when it ended, `_engine`) for debugging."""
    if executed.exists():
        failed = executed.with_name(f"{executed.stem}.failed.ipynb")
        executed.rename(failed)
        res.failed_ipynb = failed.name


def _title(t: ReportTarget) -> str:
    base = t.notebook.stem.replace("_", " ").capitalize()
    return f"{base} report" + (f" ({t.job})" if t.job and t.job != t.notebook.stem else "")


def _jsonable(params: dict) -> dict:
    return json.loads(json.dumps(params, default=str))
