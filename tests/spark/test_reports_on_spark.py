"""A report run on Spark: `cx report run --engine spark` renders the churn report from the Parquet
copy of the sample store, and its page says what the DuckDB run's page says, word for word, apart
from the header lines naming the run and the store."""

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


def _run(tmp_path: Path, db: Path, engine: str) -> Path:
    out = tmp_path / engine
    done = subprocess.run([sys.executable, "-m", "cxlib.cli", "report", "run", "churn", "--engine", engine,
                           "--db", str(db), "--out", str(out), "--jobs", "1"],
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True, timeout=2400,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    targets = json.loads((run / "run.json").read_text())["targets"]
    assert [(t["name"], t["status"]) for t in targets] == [("churn", "ok")]
    assert targets[0]["charts"] >= 10
    return run / targets[0]["html"]


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


def test_the_churn_report_on_spark_says_what_duckdb_says(sample_db, spark_config, tmp_path):
    duck, spark = _run(tmp_path, sample_db, "duckdb"), _run(tmp_path, spark_config, "spark")
    body = _body(spark)
    assert any("customers have churned" in line for line in body)
    assert body == _body(duck)
