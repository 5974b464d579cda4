"""Reports at scale: every report notebook on a large sample store, timed per notebook and per cell.

    .venv/bin/python -u benchmarks/reports.py                        # 236,000 customers = about 10M events
    .venv/bin/python -u benchmarks/reports.py --customers 24000      # about 1M events, a quick run
    .venv/bin/python -u benchmarks/reports.py --keep                 # reuse the store in /tmp/cx_reports_bench

Builds the seeded sample (`cx sample --customers N`, all tables, planted effects) unless it is kept,
then runs `cx report run --all` on it in a subprocess, as a scheduled job does (papermill, one kernel
per notebook, the report pages rendered). Prints the wall time of the whole run and, per notebook,
the seconds papermill recorded for its cells (kernel start and page rendering are the difference),
with the slowest cells and the first line of their source. Writes everything to
benchmarks/out/reports_<UTC time>.json. The issue-17 target: all notebooks within 90 s at 10M events.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import nbformat

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
CX = Path(sys.executable).with_name("cx")


def build_store(path: Path, customers: int, keep: bool) -> float:
    """The sample store at `path` (reused with `keep` when it exists); the seconds it took to build."""
    if keep and path.exists():
        return 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    began = time.perf_counter()
    subprocess.run([str(CX), "sample", "--customers", str(customers), "--db", str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def cell_times(notebook: Path, top: int) -> dict:
    """Seconds papermill recorded per code cell of an executed notebook: the total and the slowest cells."""
    nb = nbformat.read(notebook, as_version=4)
    cells = []
    for i, cell in enumerate(nb.cells):
        seconds = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell.cell_type == "code" and seconds is not None:
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            cells.append({"cell": i, "seconds": round(seconds, 2), "source": first[:90]})
    slowest = sorted(cells, key=lambda c: -c["seconds"])[:top]
    return {"cells_seconds": round(sum(c["seconds"] for c in cells), 1), "slowest": slowest}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=236_000, help="sample customers (236,000 = about 10M events)")
    ap.add_argument("--dir", default="/tmp/cx_reports_bench", help="where the store and the pages go")
    ap.add_argument("--keep", action="store_true", help="reuse the store when it exists")
    ap.add_argument("--top", type=int, default=4, help="slowest cells listed per notebook")
    args = ap.parse_args()

    work = Path(args.dir)
    store = work / f"sample_{args.customers}.duckdb"
    built = build_store(store, args.customers, args.keep)
    con = duckdb.connect(str(store), read_only=True)
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    print(f"store {store}: {args.customers:,} customers, {events:,} events"
          + (f", built in {built:.1f} s" if built else " (kept)"), flush=True)

    pages = work / "reports"
    began = time.perf_counter()
    run = subprocess.run([str(CX), "report", "run", "--all", "--db", str(store), "--out", str(pages)],
                         check=False, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wall = time.perf_counter() - began
    print(run.stderr.strip(), flush=True)
    runs = sorted((pages / ".analyst").glob("20*"))
    if run.returncode != 0 or not runs:
        print(f"the report run failed (exit {run.returncode})", file=sys.stderr)
        return 1
    per_notebook = {nb.stem: cell_times(nb, args.top) for nb in sorted(runs[-1].glob("*.ipynb"))}

    print(f"\nall notebooks: {wall:.1f} s wall (target at 10M events: <= 90 s)")
    print(f"{'notebook':<20} {'cells s':>8}  slowest cells")
    for name, t in per_notebook.items():
        slow = "; ".join(f"{c['seconds']:.1f} s [{c['cell']}] {c['source']}" for c in t["slowest"])
        print(f"{name:<20} {t['cells_seconds']:>8.1f}  {slow}")
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    record = {"customers": args.customers, "events": events, "wall_seconds": round(wall, 1),
              "load_average": os.getloadavg(), "notebooks": per_notebook, "log": run.stderr}
    (OUT / f"reports_{stamp}.json").write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
