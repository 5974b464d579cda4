"""`cx report run --jobs N`: notebooks run at once make the same run as one after another.

Same statuses, same pages (apart from the run's id and start time), the same release ledger; a
failed notebook fails alone; and the release ledger catches a subtraction between two pages of the
same run whether they ran one after another or at the same time."""

from __future__ import annotations

import json

import nbformat
import pytest
from report_helpers import FIXTURES, cx

from cxlib.privacy import ledger
from cxlib.report.jobs import ReportTarget
from cxlib.report.render import visible_text
from cxlib.report.runs import ledger_file, run_reports

pytestmark = pytest.mark.slow


def _run_folder(out):
    (run,) = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    return run


def _page_text(run, page: str) -> str:
    """The page's visible text without the run's id and start time (the only things that may differ)."""
    manifest = json.loads((run / "run.json").read_text())
    text = visible_text((run / page).read_text())
    return text.replace(manifest["run_id"], "<run>").replace(manifest["started"], "<started>")


def _ledger(out, store) -> str:
    return ledger_file(out / ".analyst", str(store.resolve())).read_text()


def test_every_notebook_in_parallel_makes_the_serial_run(report_store, tmp_path):
    runs = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"jobs{jobs}"
        done = cx("report", "run", "--all", "--db", str(report_store), "--out", str(out), "--jobs", jobs, timeout=3000)
        assert done.returncode == 0, done.stderr
        runs[jobs] = out
    serial, parallel = _run_folder(runs["1"]), _run_folder(runs["3"])
    one, three = (json.loads((r / "run.json").read_text())["targets"] for r in (serial, parallel))
    assert [(t["name"], t["status"], t["charts"]) for t in one] == [(t["name"], t["status"], t["charts"]) for t in three]
    assert len(one) >= 5
    for t in one:
        assert _page_text(serial, t["html"]) == _page_text(parallel, t["html"]), t["name"]
    assert _ledger(runs["1"], report_store) == _ledger(runs["3"], report_store)


def test_a_failed_notebook_fails_alone(report_store, tmp_path):
    out = tmp_path / "reports"
    done = cx("report", "run", str(FIXTURES / "cell_error.ipynb"), str(FIXTURES / "chart_and_comments.ipynb"),
              "--db", str(report_store), "--out", str(out), "--jobs", "2")
    assert done.returncode == 1
    run = _run_folder(out)
    status = {t["name"]: t["status"] for t in json.loads((run / "run.json").read_text())["targets"]}
    assert status == {"cell_error": "failed", "chart_and_comments": "ok"}
    assert (out / "latest" / report_store.stem / "chart_and_comments.html").exists()
    assert not (out / "latest" / report_store.stem / "cell_error.html").exists()
    assert (out / ".analyst" / run.name / "cell_error.failed.ipynb").exists()
    lines = [line for line in done.stderr.splitlines() if line.startswith("cx report: [")]
    assert any(line.startswith("cx report: [1/2] cell_error: FAILED") for line in lines), lines
    assert any(line.startswith("cx report: [2/2] chart_and_comments: ok") for line in lines), lines


def _regions_notebook(path):
    """A page with one table, NPS respondents by region, whose east count is a parameter."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"},
                                            "language_info": {"name": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell("import pandas as pd\nfrom cxlib.privacy import suppress"),
        nbformat.v4.new_code_cell("db_path = None\neast = 100", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('suppress(pd.DataFrame({"segment": ["east", "west", "north"], "n": [east, 50, 30], '
                                  '"detractors": [10, 5, 3]}), values=["detractors"])'),
    ]
    nbformat.write(nb, path)
    return path


def _east(page) -> str:
    """East's count as the page shows it ('' when hidden)."""
    from bs4 import BeautifulSoup

    table = BeautifulSoup(page.read_text(), "html.parser").find("table", class_="dataframe")
    head = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
    for tr in table.find("tbody").find_all("tr"):
        cells = [c.get_text(strip=True) for c in tr.find_all(["th", "td"])]
        if cells[head.index("segment")] == "east":
            return "" if cells[head.index("n")] == "<NA>" else cells[head.index("n")]
    raise AssertionError("no east row")


@pytest.mark.parametrize("jobs", [1, 2])
def test_two_pages_of_one_run_cannot_be_subtracted(report_store, tmp_path, jobs, capsys):
    """The first page shows east 100, the second would show 101: one person singled out. The second
    page hides east whether it ran after the first or beside it (then it is run again)."""
    notebook = _regions_notebook(tmp_path / "regions.ipynb")
    out = tmp_path / "reports"
    targets = [ReportTarget(name, notebook, {"db_path": str(report_store), "east": east})
               for name, east in (("before", 100), ("after", 101))]
    result = run_reports(targets, out_dir=out, jobs=jobs, progress=False)
    assert [t.status for t in result.targets] == ["ok", "ok"]
    assert _east(result.run_dir / "before.html") == "100"
    assert _east(result.run_dir / "after.html") == ""
    if jobs > 1:  # it ran beside the first page, against the ledger without it, and was run again after it
        assert "[2/2] after: run again" in capsys.readouterr().err
    counts = [c for c in ledger.read(ledger_file(out / ".analyst", str(report_store.resolve()))).values()]
    assert all(a == b or abs(a - b) >= 5 for group in counts for a in group for b in group), counts
    assert {100} in counts and not any(101 in group for group in counts)
    # nothing the run kept for itself is left beside the analysts' notebooks
    assert not list((out / ".analyst" / result.run_id).glob("*.jsonl"))
