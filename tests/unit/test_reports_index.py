"""reports/index.html, jobs files and the run folder rules, without starting a kernel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cxlib.errors import CxDataError, CxInputError, CxStoreLockedError
from cxlib.report import ReportTarget, load_jobs, rebuild_index, run_reports
from cxlib.report.sanitize import find_external_sources

FIXTURES = Path(__file__).resolve().parents[1] / "notebooks" / "fixtures"
PROJECT = Path(__file__).resolve().parents[2]


def _run(out: Path, run_id: str, started: str, targets: list[dict], status: str | None = None) -> None:
    folder = out / run_id
    folder.mkdir(parents=True)
    status = status or ("ok" if all(t["status"] == "ok" for t in targets) else "failed")
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "started": started, "status": status,
                                                 "data": [{"as_of": "2026-06-30 10:00:00"}], "targets": targets}))


def _target(name, status="ok", **kw):
    base = {"name": name, "notebook": f"{name}.ipynb", "job": name, "parameters": {}, "status": status,
            "store": "cx.duckdb", "fingerprint": "0123456789abcdef",
            "reason": "", "html": f"{name}.html" if status == "ok" else None,
            "ipynb": f"{name}.ipynb" if status == "ok" else None,
            "failed_ipynb": None if status == "ok" else f"{name}.failed.ipynb"}
    return {**base, **kw}


def test_index_lists_every_run_and_the_latest_good_report_of_each_job(tmp_path):
    _run(tmp_path, "20260101T000000Z-aaaaaa", "2026-01-01T00:00:00Z", [_target("weekly"), _target("churn")])
    _run(tmp_path, "20260102T000000Z-bbbbbb", "2026-01-02T00:00:00Z", [_target("weekly")])
    _run(tmp_path, "20260103T000000Z-cccccc", "2026-01-03T00:00:00Z",
         [_target("weekly", "failed", reason="cell 3 (x) raised ValueError: <b>boom</b>",
                  parameters={"segment": "<script>x</script>"})])
    (tmp_path / "20260104T000000Z-broken").mkdir()  # a folder without manifest is ignored
    _run(tmp_path, ".staging-20260105T000000Z-dddddd", "2026-01-05T00:00:00Z", [_target("weekly")])  # killed
    # the same job on another store (the sample) keeps its own latest page
    _run(tmp_path, "20260106T000000Z-eeeeee", "2026-01-06T00:00:00Z", [_target("weekly", store="sample.duckdb")])
    index = rebuild_index(tmp_path).read_text()
    latest = index.split("<h2>All runs</h2>")[0]
    # the newest *good* run of weekly is the 2nd, although the 3rd is newer
    assert '<td>cx.duckdb (01234567)</td><td>weekly</td><td><a href="latest/cx/weekly.html">' in latest
    assert '<a href="20260102T000000Z-bbbbbb/weekly.html">' in latest
    assert '<td>sample.duckdb (01234567)</td><td>weekly</td><td><a href="latest/sample/weekly.html">' in latest
    assert '<a href="20260106T000000Z-eeeeee/weekly.html">' in latest
    assert '<a href="20260101T000000Z-aaaaaa/churn.html">' in latest
    runs = index.split("<h2>All runs</h2>")[1]
    order = [runs.index(r) for r in ("20260106T000000Z-eeeeee", "20260103T000000Z-cccccc", "20260102T000000Z-bbbbbb",
                                     "20260101T000000Z-aaaaaa")]
    assert order == sorted(order)  # newest first
    # notebooks hold raw customer data: kept for analysts (reports/.analyst/), never linked (issue 14)
    assert ".ipynb" not in index.replace("weekly.ipynb", "").replace("churn.ipynb", "")
    assert not [h for h in re.findall(r'href="([^"]+)"', index) if not h.endswith(".html")]
    assert "notebook kept for analysts" in runs
    assert "failed: cell 3 (x) raised ValueError: &lt;b&gt;boom&lt;/b&gt;" in runs
    assert "&lt;script&gt;x&lt;/script&gt;" in runs and "<script" not in index


def test_index_masks_personal_data_in_parameters_and_reasons(tmp_path):
    _run(tmp_path, "20260101T000000Z-aaaaaa", "2026-01-01T00:00:00Z",
         [_target("weekly", "failed", reason="cell 2 raised KeyError: 'anna@example.com'",
                  parameters={"customer": "CUST-000123", "note": "je m'appelle Marie"})])
    index = rebuild_index(tmp_path).read_text()
    assert "anna@example.com" not in index and "CUST-000123" not in index and "Marie" not in index
    assert "[email]" in index and "[id]" in index and "[name]" in index
    assert find_external_sources(index) == []
    assert "20260104T000000Z-broken" not in index and "staging" not in index


def test_index_with_no_runs(tmp_path):
    assert "No good report yet." in rebuild_index(tmp_path / "new").read_text()


def test_jobs_file(tmp_path):
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(f"jobs:\n  a:\n    notebook: {FIXTURES / 'typed_params.ipynb'}\n    parameters:\n"
                    "      store_id: 02134\n      flag: no\n  b:\n    notebook: ../fixtures_link.ipynb\n")
    with pytest.raises(CxInputError, match="job 'b': no notebook at"):
        load_jobs(jobs)
    jobs.write_text(f"jobs:\n  a:\n    notebook: {FIXTURES / 'typed_params.ipynb'}\n    parameters:\n"
                    "      store_id: 02134\n      flag: no\n")
    loaded = load_jobs(jobs)
    assert loaded["a"].parameters == {"store_id": "02134", "flag": "no"}  # typed later, by the notebook
    assert loaded["a"].notebook == (FIXTURES / "typed_params.ipynb").resolve()
    for text, says in [("jobs: [a]\n", "must hold 'jobs:'"), ("jobs:\n  a b:\n    notebook: x\n", "may hold only"),
                       ("jobs:\n  a:\n    parameters: {}\n", "needs a 'notebook'"),
                       ("jobs:\n  a:\n    notebook: x\n    params: {}\n", "unknown keys"),
                       ("jobs:\n  a:\n    notebook: nosuchnotebook\n", "notebook 'nosuchnotebook' not found")]:
        jobs.write_text(text)
        with pytest.raises(CxInputError, match=says):
            load_jobs(jobs)


def test_shipped_jobs_file_names_real_notebooks_or_future_ones():
    import yaml

    data = yaml.load((PROJECT / "cxlib" / "data" / "report_jobs.yml").read_text(), Loader=yaml.BaseLoader)
    assert set(data["jobs"]) >= {"overview", "journey", "segments", "churn", "voice_of_customer"}
    for name, job in data["jobs"].items():
        assert set(job) <= {"notebook", "parameters", "description"}
        # a job that runs a notebook as it is carries the notebook's name, so its latest page is the
        # same one an ad-hoc run of that notebook makes
        assert "parameters" in job or name == job["notebook"], name


def test_nothing_to_run_and_bad_timeout(tmp_path):
    with pytest.raises(CxInputError, match="nothing to run"):
        run_reports([], out_dir=tmp_path)
    target = ReportTarget("x", FIXTURES / "typed_params.ipynb")
    with pytest.raises(CxInputError, match="timeout must be"):
        run_reports([target], out_dir=tmp_path, timeout=0)
    for jobs in (0, -1, 1.5, True):
        with pytest.raises(CxInputError, match="jobs must be a whole number of notebooks of at least 1"):
            run_reports([target], out_dir=tmp_path, jobs=jobs)


def test_cli_jobs_option(capsys):
    from cxlib import cli

    with pytest.raises(SystemExit) as done:
        cli.main(["report", "run", "--help"])
    assert done.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--jobs N notebooks run at once (default: the number of cores, at most the number of notebooks; " \
           "1 runs them one after another)" in help_text
    assert cli.main(["report", "run", "--all", "--jobs", "0"]) == 2
    assert "jobs must be a whole number of notebooks of at least 1, got 0" in capsys.readouterr().err


def test_bad_parameters_and_missing_store_start_nothing(tmp_path):
    target = ReportTarget("x", FIXTURES / "typed_params.ipynb", {"n_top": "lots"})
    with pytest.raises(CxInputError, match="takes a whole number"):
        run_reports([target], out_dir=tmp_path / "out")
    target = ReportTarget("x", FIXTURES / "typed_params.ipynb", {"db_path": str(tmp_path / "none.duckdb")})
    with pytest.raises(CxDataError, match="no report was run: no store at"):
        run_reports([target], out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_locked_store_is_reported_before_any_kernel(tmp_path):
    import subprocess
    import sys

    import cxlib

    store = tmp_path / "s.duckdb"
    cxlib.connect(store, read_only=False).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); time.sleep(60)", str(store)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        target = ReportTarget("x", FIXTURES / "typed_params.ipynb", {"db_path": str(store)})
        with pytest.raises(CxStoreLockedError, match="no report was run: the store .* is held for writing"):
            run_reports([target], out_dir=tmp_path / "out")
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "out").exists()


def test_a_store_that_is_not_a_workbench_store_is_one_clear_error(tmp_path):
    import duckdb

    store = tmp_path / "other.duckdb"
    duckdb.connect(str(store)).close()  # a DuckDB file without our tables
    target = ReportTarget("x", FIXTURES / "typed_params.ipynb", {"db_path": str(store)})
    with pytest.raises(CxDataError, match="no report was run: cannot read the store .* for the report header"):
        run_reports([target], out_dir=tmp_path / "out")
