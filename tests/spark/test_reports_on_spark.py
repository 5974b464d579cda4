"""Reports run on Spark: `cx report run --engine spark` renders the churn, journey and overview
reports from the Parquet copy of the sample store (journey and overview run the funnel over the
whole two years), and each page says what the DuckDB run's page says, word for word, apart from
the header lines naming the run and the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxlib.report.render import visible_text

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# The header lines that name the run and the store (they differ by design).
HEADER = ("run", "run started (UTC)", "parameters", "store", "data fingerprint")


# each report, with its least number of charts and a sentence only a computed page holds
REPORTS = {"churn": (10, "customers have churned"), "journey": (5, "Conversion from first"),
           "overview": (5, "Nothing moved beyond chance")}


def _run(tmp_path: Path, db: Path, engine: str) -> dict[str, Path]:
    out = tmp_path / engine
    done = subprocess.run([sys.executable, "-m", "cxlib.cli", "report", "run", *REPORTS, "--engine", engine,
                           "--db", str(db), "--out", str(out), "--jobs", "1"],
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True, timeout=3600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    targets = json.loads((run / "run.json").read_text())["targets"]
    assert [(t["name"], t["status"]) for t in targets] == [(name, "ok") for name in REPORTS]
    for t in targets:
        assert t["charts"] >= REPORTS[t["name"]][0], t
    return {t["name"]: run / t["html"] for t in targets}


def _body(page: Path) -> list[str]:
    lines = visible_text(page.read_text()).splitlines()
    keep, skip = [], False
    for line in lines:
        if skip:
            skip = False
            continue
        if line.strip() in HEADER:
            skip = True  # the header's value is on the next line
            continue
        keep.append(line)
    return keep


@pytest.fixture(scope="module")
def pages(sample_db, spark_config, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    return _run(tmp, sample_db, "duckdb"), _run(tmp, spark_config, "spark")


@pytest.mark.parametrize("report", REPORTS)
def test_a_report_on_spark_says_what_duckdb_says(pages, report):
    duck, spark = pages
    body = _body(spark[report])
    assert any(REPORTS[report][1] in line for line in body)
    assert body == _body(duck[report])
