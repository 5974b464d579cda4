"""`cx report run`: a good run publishes; every way a run can fail exits non-zero with one line,
keeps the partly executed notebook and leaves the last good report untouched.

Issue 14: stakeholders get HTML only. The executed (and failed) notebooks and kernel logs hold raw
customer data, so they go to ``reports/.analyst/<run-id>/`` (mode 0700), never into the run folder
and never linked from the index; these tests expected them beside the HTML before."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import nbformat
import pytest
from report_helpers import FIXTURES, cx, tree_digest, write_jobs

from cxlib.report.render import find_personal_data
from cxlib.report.sanitize import find_external_sources

pytestmark = pytest.mark.slow

GOOD = FIXTURES / "chart_and_comments.ipynb"


@pytest.fixture(scope="module")
def reports(tmp_path_factory, report_store):
    """A reports folder holding one good run of job 'daily', made while an analyst's session reads the store."""
    out = tmp_path_factory.mktemp("reports")
    jobs = write_jobs(out.parent / "good_jobs.yml", {"daily": (str(GOOD), {"db_path": str(report_store)})})
    analyst = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, cxlib; con = cxlib.connect(sys.argv[1]); "
                               "print(con.execute('SELECT count(*) FROM events').fetchone()[0], flush=True); "
                               "time.sleep(600)", str(report_store)], stdout=subprocess.PIPE, text=True)
    try:
        assert int(analyst.stdout.readline()) > 0  # the analyst's read-only session is open
        done = cx("report", "run", "--job", "daily", "--jobs-file", str(jobs), "--out", str(out))
        assert analyst.poll() is None  # ... and still open: reports read beside it
    finally:
        analyst.kill()
        analyst.wait()
    assert done.returncode == 0, done.stderr
    runs = [p for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst")]
    assert len(runs) == 1
    return {"out": out, "good_run": runs[0], "store": report_store, "stdout": done.stdout, "stderr": done.stderr}


def _runs(out):
    return {p.name for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst")}


def _analyst(run):
    """Where a run's notebooks and kernel logs are kept, for analysts only."""
    return run.parent / ".analyst" / run.name


def _links(index: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', index)


def _failing(reports, tmp_path, fixture: str, *extra: str, params: dict | None = None):
    """Run job 'daily', now pointing at a failing fixture; return the result and the new run folder."""
    out = reports["out"]
    before_runs = _runs(out)
    good = tree_digest(reports["good_run"])
    latest = (out / "latest" / reports["store"].stem / "daily.html").read_bytes()
    jobs = write_jobs(tmp_path / "jobs.yml", {"daily": (str(FIXTURES / fixture),
                                                        {"db_path": str(reports["store"]), **(params or {})})})
    done = cx("report", "run", "--job", "daily", "--jobs-file", str(jobs), "--out", str(out), *extra)
    # the last good report is untouched, whatever happened
    assert tree_digest(reports["good_run"]) == good
    assert (out / "latest" / reports["store"].stem / "daily.html").read_bytes() == latest
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    assert not [p for p in (out / ".analyst").iterdir() if p.name.startswith(".staging")]
    new = _runs(out) - before_runs
    return done, (out / new.pop()) if new else None


def _error_line(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("cx: error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_good_run_publishes_report_notebook_latest_and_index(reports):
    out, run = reports["out"], reports["good_run"]
    assert sorted(p.name for p in run.iterdir()) == ["daily.html", "run.json"]  # HTML only for stakeholders
    assert sorted(p.name for p in _analyst(run).iterdir()) == ["daily.ipynb"]
    assert (out / ".analyst").stat().st_mode & 0o777 == 0o700
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["notebooks"] == f".analyst/{run.name}" and manifest["targets"][0]["ipynb"] == "daily.ipynb"
    assert manifest["status"] == "ok" and manifest["targets"][0]["charts"] == 2
    assert manifest["targets"][0]["parameters"] == {"db_path": str(reports["store"])}
    assert manifest["data"][0]["row_counts"]["customers"] == 3000
    assert (out / "latest" / reports["store"].stem / "daily.html").read_bytes() == (run / "daily.html").read_bytes()
    index = (out / "index.html").read_text()
    assert f'href="latest/{reports["store"].stem}/daily.html"' in index and f'href="{run.name}/daily.html"' in index
    assert all(link.endswith(".html") and ".analyst" not in link for link in _links(index))
    # progress was shown while it ran
    assert "[1/1] daily: running chart_and_comments.ipynb" in reports["stderr"]
    assert "[1/1] daily: ok in" in reports["stderr"]


def test_good_report_is_safe_and_self_contained(reports):
    page = (reports["good_run"] / "daily.html").read_text()
    assert find_external_sources(page) == [] and "<script" not in page.lower()
    assert find_personal_data(page) == []
    assert page.count("<svg") == 2
    for hostile in ("&lt;script&gt;document.body.setAttribute", "&lt;/script&gt;&lt;script&gt;",
                    "&lt;img src=x onerror", "&lt;svg onload"):
        assert hostile in page
    header = page.split("</header>")[0]
    manifest = json.loads((reports["good_run"] / "run.json").read_text())
    data = manifest["data"][0]
    for text in (manifest["run_id"], "daily", "chart_and_comments.ipynb", data["as_of"], data["latest_event"],
                 f"customers {data['row_counts']['customers']:,}", data["fingerprint"], "db_path"):
        assert text in header
    assert "NPS: % of respondents scoring 9-10" in page  # from the glossary (field 'nps')
    assert '<figcaption class="cx-definition">Mentions: number of comments with each text.</figcaption>' in page
    executed = nbformat.read(_analyst(reports["good_run"]) / "daily.ipynb", as_version=4)
    assert executed.cells[0].metadata["tags"] == ["cx-report-setup"]
    charts = [o for c in executed.cells for o in c.get("outputs", []) if any("vegalite" in m for m in o.get("data", {}))]
    assert charts and all(o["data"]["image/svg+xml"].startswith("<svg") for o in charts)  # static fallback
    # the executed notebook holds the raw comments: why it is kept from stakeholders
    raw = json.dumps(executed)
    assert "bob.jones@example.org" in raw and "Anna Smith" in raw
    assert "bob.jones@example.org" not in page and "Anna Smith" not in page


def test_same_data_gives_the_same_fingerprint(reports):
    from cxlib.report.runs import store_summary

    first = store_summary(reports["store"])
    assert store_summary(reports["store"]) == first
    assert first["fingerprint"] == json.loads((reports["good_run"] / "run.json").read_text())["data"][0]["fingerprint"]


def test_cell_error(reports, tmp_path):
    done, run = _failing(reports, tmp_path, "cell_error.ipynb")
    assert done.returncode == 1
    line = _error_line(done)
    assert "daily: cell 5 (raise ValueError('planted failure for the report tests')) raised ValueError: " in line
    assert "raised ValueError: planted failure for the report tests (partly executed" in line
    assert "earlier reports unchanged" in line
    assert sorted(p.name for p in run.iterdir()) == ["run.json"]
    assert sorted(p.name for p in _analyst(run).iterdir()) == ["daily.failed.ipynb", "daily.kernel.log"]
    kept = nbformat.read(_analyst(run) / "daily.failed.ipynb", as_version=4)
    texts = [o.get("text", "") for c in kept.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert "this cell ran before the failure\n" in texts
    assert any(o.get("ename") == "ValueError" for c in kept.cells for o in c.get("outputs", []))
    assert json.loads((run / "run.json").read_text())["status"] == "failed"
    index = (reports["out"] / "index.html").read_text()
    assert "failed notebook" not in index and "planted failure" in index and "notebook kept for analysts" in index
    assert all(link.endswith(".html") and ".analyst" not in link for link in _links(index))
    assert f'href="latest/{reports["store"].stem}/daily.html"' in index  # the latest good report is still there


def test_timeout(reports, tmp_path):
    started = time.monotonic()
    done, run = _failing(reports, tmp_path, "timeout.ipynb", "--timeout", "30")
    assert time.monotonic() - started < 200  # the 300 s cell was cut off
    assert done.returncode == 1
    assert "daily: timeout: cell 4 (time.sleep(300)) ran longer than the limit of 30 s per cell" in _error_line(done)
    kept = nbformat.read(_analyst(run) / "daily.failed.ipynb", as_version=4)
    assert any("started" in o.get("text", "") for c in kept.cells for o in c.get("outputs", []))
    # one reason line, not the kernel's own noise (it is in the kernel log beside the notebook)
    assert "Traceback" not in done.stderr and "ZMQError" not in done.stderr
    assert "without encryption" not in done.stderr


def test_a_whole_notebook_has_a_time_limit_too(reports, tmp_path):
    started = time.monotonic()
    done, run = _failing(reports, tmp_path, "timeout.ipynb", "--timeout", "280", "--notebook-timeout", "20")
    assert time.monotonic() - started < 200
    assert done.returncode == 1
    assert ("daily: timeout: the notebook ran longer than its limit of 20 s in all (stopped while running cell 4 "
            "(time.sleep(300)))") in _error_line(done)
    assert "Traceback" not in done.stderr


def test_kernel_killed(reports, tmp_path):
    done, run = _failing(reports, tmp_path, "kernel_dies.ipynb")
    assert done.returncode == 1
    assert "daily: the kernel died (killed, crashed or out of memory) while running cell 4 (os.kill(os.getpid(), signal.SIGKILL))" \
        in _error_line(done)
    kept = nbformat.read(_analyst(run) / "daily.failed.ipynb", as_version=4)
    assert any("about to die" in o.get("text", "") for c in kept.cells for o in c.get("outputs", []))


def test_store_locked_during_the_run(reports, tmp_path):
    done, run = _failing(reports, tmp_path, "locked_store.ipynb")
    assert done.returncode == 1
    assert "raised CxStoreLockedError: the store" in _error_line(done)
    assert "held for writing" in _error_line(done)
    kept = nbformat.read(_analyst(run) / "daily.failed.ipynb", as_version=4)
    assert any("store readable at the start: True" in o.get("text", "")
               for c in kept.cells for o in c.get("outputs", []))


def test_store_locked_before_the_run_starts_no_kernel(reports, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(120)", str(reports["store"])],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        done, run = _failing(reports, tmp_path, "chart_and_comments.ipynb")
        took = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    line = _error_line(done)
    assert "no report was run" in line and "held for writing by another process" in line
    assert run is None  # nothing was started, so nothing to keep
    assert took < 30


def test_unknown_parameter_fails_before_a_kernel(reports, tmp_path):
    done, run = _failing(reports, tmp_path, "typed_params.ipynb", "-p", "stor_id=1")
    assert done.returncode == 2
    line = _error_line(done)
    assert "unknown parameter 'stor_id'; did you mean 'store_id'?" in line
    assert "It accepts: db_path (any value, default None); store_id (text, default '02134')" in line
    assert run is None and "running" not in done.stderr


def test_bad_type_fails_before_a_kernel(reports, tmp_path):
    done, run = _failing(reports, tmp_path, "typed_params.ipynb", params={"n_top": "many"})
    assert done.returncode == 2
    line = _error_line(done)
    assert "job 'daily' notebook typed_params.ipynb: parameter 'n_top' takes a whole number, got 'many'" in line
    assert "It accepts:" in line
    assert run is None and "running" not in done.stderr
    done, run = _failing(reports, tmp_path, "typed_params.ipynb", "-p", "start=2024-02-30")
    assert done.returncode == 2 and "parameter 'start' takes a date YYYY-MM-DD or null, got '2024-02-30'" in done.stderr


def test_values_keep_their_types_from_the_command_line_and_yaml(reports, tmp_path):
    """`02134` stays text, `no` stays text unless the parameter is a boolean, a date is a date."""
    out = tmp_path / "typed"
    jobs = write_jobs(tmp_path / "typed.yml", {
        "from_yaml": (str(FIXTURES / "typed_params.ipynb"),
                      {"store_id": "02134", "label": "no", "flag": "no", "start": "2024-01-29", "n_top": "07",
                       "segments": "[region, plan]", "db_path": str(reports["store"])}),
        "defaults": (str(FIXTURES / "typed_params.ipynb"), {"db_path": str(reports["store"])}),
    })
    done = cx("report", "run", "--all-jobs", "--jobs-file", str(jobs), "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = next(p for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst"))
    seen = {}
    for name in ("from_yaml", "defaults"):
        nb = nbformat.read(_analyst(run) / f"{name}.ipynb", as_version=4)
        text = next(o["text"] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                    if o.get("name") == "stdout")
        seen[name] = json.loads(text)
    assert seen["from_yaml"] == {
        "store_id": ["'02134'", "str"], "label": ["'no'", "str"], "flag": ["False", "bool"],
        # a Monday stays; the default end 2026-06-30 (a Tuesday) becomes the last whole week's Sunday
        "start": ["'2024-01-29'", "str"], "end": ["'2026-06-28'", "str"], "n_top": ["7", "int"],
        "ratio": ["0.5", "float"], "segments": ["['region', 'plan']", "list"],
    }
    assert seen["defaults"]["start"] == ["None", "NoneType"] and seen["defaults"]["store_id"] == ["'02134'", "str"]
    # the same values from the command line
    done = cx("report", "run", str(FIXTURES / "typed_params.ipynb"), "--db", str(reports["store"]), "--out", str(out),
              "-p", "store_id=02134", "-p", "label=no", "-p", "flag=yes", "-p", "ratio=1")
    assert done.returncode == 0, done.stderr
    index = (out / "index.html").read_text()
    runs = [p.name for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst")]
    assert len(runs) == 2 and all(index.count(f"<tr><td>{r}</td>") == (2 if r == run.name else 1) for r in runs)
    stem = reports["store"].stem
    assert f'href="latest/{stem}/from_yaml.html"' in index and f'href="latest/{stem}/typed_params.html"' in index
    assert "&quot;02134&quot;" in index  # parameters listed per run, as typed


def test_two_runs_at_once_both_publish(report_store, tmp_path):
    """Reports open the store read-only and publish under a lock: concurrent runs do not clash."""
    out = tmp_path / "both"
    cmd = [sys.executable, "-m", "cxlib.cli", "report", "run", str(FIXTURES / "typed_params.ipynb"),
           "--db", str(report_store), "--out", str(out)]
    runs = [subprocess.Popen([*cmd, "-p", f"n_top={i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in (1, 2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in runs]
    assert [code for code, _ in results] == [0, 0], results
    folders = [p for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst")]
    assert len(folders) == 2
    index = (out / "index.html").read_text()
    assert all(f"<tr><td>{f.name}</td>" in index for f in folders)
    assert {json.loads((f / "run.json").read_text())["targets"][0]["parameters"]["n_top"] for f in folders} == {1, 2}
