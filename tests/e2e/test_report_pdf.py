"""`cx report run --pdf` (issue 15): each good page is also printed to a PDF beside it by headless
Chromium, listed in run.json and linked from the index; without Chromium the run still succeeds and
says in one line that no PDF was made."""

from __future__ import annotations

import json
import os

import pytest
from report_helpers import FIXTURES, cx

from cxlib.report import runs
from cxlib.report.jobs import ReportTarget

pytestmark = pytest.mark.slow

GOOD = FIXTURES / "chart_and_comments.ipynb"


@pytest.fixture(scope="module")
def browser():
    found = runs.find_chromium()
    if found:
        return found
    message = ("headless Chromium not found, so no PDF can be printed: run `.venv/bin/python "
               "tests/install_browser.py` (or set CX_CHROMIUM)")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)  # CI must print the PDF, never skip it
    pytest.skip(message)


def _only_run(out):
    found = [p for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst")]
    assert len(found) == 1
    return found[0]


@pytest.mark.browser
def test_pdf_is_printed_listed_and_linked(browser, report_store, tmp_path):
    out = tmp_path / "reports"
    done = cx("report", "run", str(GOOD), "--db", str(report_store), "--out", str(out), "--pdf")
    assert done.returncode == 0, done.stderr
    assert "no PDF" not in done.stderr
    run = _only_run(out)
    pdf = run / "chart_and_comments.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 2000
    target = json.loads((run / "run.json").read_text())["targets"][0]
    assert target["status"] == "ok" and target["pdf"] == "chart_and_comments.pdf"
    assert target["html"] == "chart_and_comments.html"
    index = (out / "index.html").read_text()
    assert f'<a href="{run.name}/chart_and_comments.pdf">PDF</a>' in index
    assert {p.suffix for p in run.iterdir()} <= {".html", ".json", ".pdf"}


def test_without_pdf_no_pdf_is_made(report_store, tmp_path):
    out = tmp_path / "reports"
    done = cx("report", "run", str(GOOD), "--db", str(report_store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = _only_run(out)
    assert not list(run.glob("*.pdf"))
    assert json.loads((run / "run.json").read_text())["targets"][0]["pdf"] is None
    assert ">PDF</a>" not in (out / "index.html").read_text()


def test_without_chromium_the_run_succeeds_and_says_no_pdf_was_made(report_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runs, "find_chromium", lambda: None)
    out = tmp_path / "reports"
    result = runs.run_reports([ReportTarget("chart_and_comments", GOOD, {"db_path": str(report_store)})],
                              out_dir=out, pdf=True, progress=False)
    assert result.status == "ok" and result.targets[0].pdf is None
    said = [line for line in capsys.readouterr().err.splitlines() if "no PDF" in line]
    assert len(said) == 1 and "Chromium was not found" in said[0]
    assert not list(result.run_dir.glob("*.pdf"))
    assert (result.run_dir / "chart_and_comments.html").exists()


def test_a_browser_that_fails_leaves_the_run_good(report_store, tmp_path, monkeypatch, capsys):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(runs, "find_chromium", lambda: str(fake))
    result = runs.run_reports([ReportTarget("chart_and_comments", GOOD, {"db_path": str(report_store)})],
                              out_dir=tmp_path / "reports", pdf=True, progress=False)
    assert result.status == "ok" and result.targets[0].pdf is None
    said = [line for line in capsys.readouterr().err.splitlines() if "no PDF" in line]
    assert said == ["cx report: chart_and_comments: no PDF was made: chromium did not print the page: "
                    "cannot open display"]
