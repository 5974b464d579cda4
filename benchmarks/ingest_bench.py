"""Ingest throughput: time `cx ingest` of a large events CSV into a fresh store.

    .venv/bin/python benchmarks/ingest_bench.py                   # 10M events, 500k customers
    .venv/bin/python benchmarks/ingest_bench.py --rows 1000000    # a quicker run
    .venv/bin/python benchmarks/ingest_bench.py --profile         # in-process, time per ingest step
    .venv/bin/python benchmarks/ingest_bench.py --memory-limit 2GB   # CX_MEMORY_LIMIT for the load

Writes the input files with DuckDB COPY into benchmarks/out/ (kept between runs, not in git),
then loads customers and events with the `cx ingest` command in a subprocess and prints wall
time, rows/s, CPU time and the peak resident memory of that process. With --profile the load
runs in this process and each step of cxlib.store.ingest (staging the file, typing and checking,
duplicates, writing, rejects, the events_ordered refresh) is timed, with the peak resident memory
during that step (Linux: the peak is reset through /proc/self/clear_refs before each step).
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
STEPS = ["stage_source", "map_header", "_stage", "build_typed", "mark_lookalikes", "mark_duplicates", "mark_orphans",
         "_write", "_write_rejects", "refresh_derived", "fill_first_seen"]


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) so that the next reading is one step's peak; False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    """This process's peak RSS in MB since the last reset (VmHWM), else since it started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_inputs(rows: int, customers: int, regen: bool) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    cust, events = OUT / f"customers_{customers}.csv", OUT / f"events_{rows}_{customers}.csv"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if regen or not cust.exists():
        con.execute(f"""COPY (SELECT printf('C%07d', i) AS customer_id,
                                     TIMESTAMP '2023-01-01' + to_seconds(i % 31536000) AS signup_at,
                                     ['north', 'south', 'east', 'west'][1 + i % 4] AS region,
                                     ['basic', 'plus', 'pro'][1 + i % 3] AS plan
                              FROM range({customers}) r(i)) TO '{cust}' (HEADER)""")
    if regen or not events.exists():
        touchpoints = ["ad_click", "home_page", "product_page", "add_to_cart", "checkout", "payment", "chat",
                       "phone_call", "app_login", "help_center"]
        # Customers' events interleaved, timestamps spread over a year, about 5% of them with an offset.
        con.execute(f"""COPY (SELECT printf('C%07d', hash(i) % {customers}) AS customer_id,
                                     CASE WHEN i % 20 = 0
                                          THEN strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 3 % 31536000),
                                                        '%Y-%m-%dT%H:%M:%S+02:00')
                                          ELSE strftime(TIMESTAMP '2024-01-01' + to_seconds(i * 3 % 31536000),
                                                        '%Y-%m-%d %H:%M:%S') END AS ts,
                                     {touchpoints}[1 + (hash(i + 1) % {len(touchpoints)})::BIGINT] AS touchpoint,
                                     ['web', 'app', 'email', 'phone', 'chat', 'store'][1 + (hash(i + 2) % 6)::BIGINT] AS channel,
                                     'S' || (i // 7) AS session_id
                              FROM range({rows}) r(i)) TO '{events}' (HEADER)""")
    con.close()
    return cust, events


def run_cli(table: str, path: Path, db: Path) -> dict:
    """Run `cx ingest` in a subprocess; wall time, CPU time and peak RSS of that process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "ingest", table, str(path), "--db", str(db)],
                          check=False, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"cx ingest failed ({proc.returncode}): {proc.stderr}")
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mb": after.ru_maxrss / 1024, "summary": proc.stdout.strip()}


def run_profiled(table: str, path: Path, db: Path) -> dict:
    """Load in this process, timing each step of cxlib.store.ingest, with its peak RSS."""
    ingest_mod = importlib.import_module("cxlib.store.ingest")
    times: dict[str, float] = {}
    peaks: dict[str, float] = {}
    overall = [0.0]
    for step in STEPS:
        real = getattr(ingest_mod, step)

        def timed(*args, _real=real, _step=step, **kwargs):
            overall[0] = max(overall[0], _peak_mb())
            _reset_peak()
            t0 = time.perf_counter()
            try:
                return _real(*args, **kwargs)
            finally:
                times[_step] = times.get(_step, 0.0) + time.perf_counter() - t0
                peaks[_step] = max(peaks.get(_step, 0.0), _peak_mb())
                overall[0] = max(overall[0], peaks[_step])

        setattr(ingest_mod, step, timed)
    try:
        _reset_peak()
        started, cpu0 = time.perf_counter(), time.process_time()
        report = ingest_mod.ingest(path, table, db=db)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        importlib.reload(ingest_mod)
    return {"wall": wall, "cpu": cpu, "peak_rss_mb": max(overall[0], _peak_mb()), "summary": str(report),
            "steps": {s: (times[s], peaks[s]) for s in times}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="events rows (default 10,000,000)")
    parser.add_argument("--customers", type=int, default=500_000, help="customers (default 500,000)")
    parser.add_argument("--profile", action="store_true", help="load in-process and time each ingest step")
    parser.add_argument("--regen", action="store_true", help="rewrite the input files")
    parser.add_argument("--memory-limit", help="CX_MEMORY_LIMIT for the loads (default: as set, else cxlib's default)")
    args = parser.parse_args(argv)
    if args.memory_limit:
        os.environ["CX_MEMORY_LIMIT"] = args.memory_limit

    t0 = time.perf_counter()
    cust, events = write_inputs(args.rows, args.customers, args.regen)
    print(f"inputs ready in {time.perf_counter() - t0:.1f}s: {events} ({events.stat().st_size / 1e6:,.0f} MB)")
    db = OUT / f"bench_{os.getpid()}.duckdb"  # one per run: several runs may share benchmarks/out
    for f in (db, db.with_suffix(".duckdb.wal")):
        f.unlink(missing_ok=True)
    run = run_profiled if args.profile else run_cli
    for table, path, rows in (("customers", cust, args.customers), ("events", events, args.rows)):
        r = run(table, path, db)
        print(r["summary"])
        print(f"  {table}: {rows:,} rows in {r['wall']:.1f}s = {rows / r['wall']:,.0f} rows/s; "
              f"CPU {r['cpu']:.1f}s; peak RSS {r['peak_rss_mb']:,.0f} MB")
        for step, (took, peak) in r.get("steps", {}).items():
            print(f"    {step:16} {took:7.1f}s  peak RSS {peak:7,.0f} MB")
    con = duckdb.connect(str(db), read_only=True)
    n_events, n_ordered = con.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM events_ordered)").fetchone()
    con.close()
    print(f"events {n_events:,}, events_ordered {n_ordered:,}; store {db.stat().st_size / 1e6:,.0f} MB")
    for f in (db, db.with_suffix(".duckdb.wal")):
        f.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
