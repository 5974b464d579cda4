"""Journey queries at scale: funnel, transitions and cohort retention against a plain scan.

    .venv/bin/python benchmarks/journey_bench.py                    # 1M and 10M events
    .venv/bin/python benchmarks/journey_bench.py --events 50000000  # one size
    .venv/bin/python benchmarks/journey_bench.py --events 1000000 --keep   # keep the store for reruns

For each size it generates a synthetic store directly in DuckDB (50 events per customer in
sessions of 5 events minutes apart, sessions a month apart; touchpoints drawn with realistic
weights), builds events_ordered with cxlib.store.refresh_derived, then times each query through
cxlib in a fresh subprocess (read-only connection, as a report would), so the peak resident memory
(RSS) reported is that query's process alone. The baseline is a plain DuckDB scan of the columns
the journey queries read (customer_id, ts, seq, touchpoint, channel, next_ts) from events_ordered.
Stores go to --dir (default /tmp/cx_journey_bench) and are deleted afterwards unless --keep.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = {
    "ad_click": "awareness", "social_post": "awareness", "email_open": "awareness",
    "home_page": "consideration", "product_page": "consideration", "compare": "consideration",
    "reviews": "consideration", "add_to_cart": "purchase", "checkout": "purchase", "payment": "purchase",
    "help_center": "service", "chat": "service", "phone_call": "service", "email_support": "service",
    "store_visit": "service", "delivery": "service", "app_login": "loyalty", "review_written": "loyalty",
    "referral": "loyalty", "newsletter": "loyalty",
}
# weights in percent, summing to 100
WEIGHTS = {
    "ad_click": 6, "social_post": 4, "email_open": 8, "home_page": 12, "product_page": 18, "compare": 4,
    "reviews": 4, "add_to_cart": 8, "checkout": 6, "payment": 4, "help_center": 3, "chat": 2, "phone_call": 2,
    "email_support": 1, "store_visit": 2, "delivery": 4, "app_login": 8, "review_written": 1, "referral": 1,
    "newsletter": 2,
}
CHANNELS = ["web", "app", "email", "phone", "chat", "store"]
FUNNEL = ["product_page", "add_to_cart", "checkout", "payment"]
EVENTS_PER_CUSTOMER = 50

OPS = {
    # hash() of every value forces a read of each column (max() alone can come from row-group statistics)
    "scan": "SELECT sum(hash(customer_id, ts, seq, touchpoint, channel, next_ts)) FROM events_ordered",
    "funnel": None,
    "funnel_strict": None,
    "funnel_by_region": None,
    "transitions": None,
    "cohort_retention": None,
}


def build(path: Path, events: int) -> dict:
    import cxlib
    from cxlib.store import refresh_derived

    customers = max(1, events // EVENTS_PER_CUSTOMER)
    table = [tp for tp, w in WEIGHTS.items() for _ in range(w)]
    assert len(table) == 100
    con = cxlib.connect(path, read_only=False)
    con.execute("DELETE FROM touchpoint_stages")
    con.executemany("INSERT INTO touchpoint_stages VALUES (?, ?)", list(STAGES.items()))
    con.execute("ALTER TABLE customers ADD COLUMN IF NOT EXISTS region VARCHAR")
    t = time.perf_counter()
    con.execute(
        """INSERT INTO customers
           SELECT printf('C%08d', i), TIMESTAMP '2025-01-01' + to_seconds(i % 2592000),
                  ['north', 'south', 'east', 'west'][1 + i % 4]
           FROM range($n) t(i)""",
        {"n": customers},
    )
    con.execute(
        """INSERT INTO events
           SELECT printf('C%08d', c),
                  TIMESTAMP '2025-01-01' + to_seconds(c % 2592000)      -- the customer's start
                    + to_seconds((k // 5) * 30 * 86400)                    -- a session a month
                    + to_seconds((k % 5) * 240 + (hash(i) % 240)::BIGINT),           -- events minutes apart
                  $tps[(1 + hash(i * 7 + 1) % 100)::BIGINT],
                  $channels[(1 + hash(i * 13 + 5) % 6)::BIGINT],
                  NULL
           FROM (SELECT i, i % $customers AS c, i // $customers AS k FROM range($n) t(i))""",
        {"n": events, "customers": customers, "tps": table, "channels": CHANNELS},
    )
    generate_s = time.perf_counter() - t
    t = time.perf_counter()
    refresh_derived(con)
    derive_s = time.perf_counter() - t
    n = con.execute("SELECT count(*) FROM events_ordered").fetchone()[0]
    con.close()
    return {"events": n, "customers": customers, "generate_s": generate_s, "refresh_derived_s": derive_s}


def _peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM is reset by exec, unlike ru_maxrss, which a child
    inherits from the parent that forked it (and the parent may have just built a big store)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, op: str) -> None:
    """Run one operation in this fresh process and print its time and peak RSS as JSON."""
    import cxlib

    con = cxlib.connect(path)
    t = time.perf_counter()
    cpu = time.process_time()  # all threads of this process (DuckDB's workers included)
    rows = None
    if op == "scan":
        con.execute(OPS["scan"]).fetchall()
    elif op == "funnel":
        rows = len(cxlib.funnel(con, FUNNEL, window="7 days"))
    elif op == "funnel_strict":
        rows = len(cxlib.funnel(con, FUNNEL, window="7 days", order="strict"))
    elif op == "funnel_by_region":
        rows = len(cxlib.funnel(con, FUNNEL, window="7 days", by="region"))
    elif op == "transitions":
        rows = len(cxlib.transitions(con))
    elif op == "cohort_retention":
        fn = getattr(cxlib, "cohort_retention", None)
        if fn is None:
            print(json.dumps({"op": op, "skipped": "cxlib.cohort_retention does not exist yet"}))
            return
        rows = len(fn(con))
    seconds = time.perf_counter() - t
    cpu = time.process_time() - cpu
    peak_mib = _peak_rss_mib()
    print(json.dumps({"op": op, "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak_mib, "rows": rows}))


def measure(path: Path, op: str, repeat: int) -> dict:
    best = None
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, "--child", str(path), op], capture_output=True, text=True,
                              cwd=ROOT, check=False)
        if proc.returncode != 0:
            return {"op": op, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        if "skipped" in got:
            return got
        if best is None or got["seconds"] < best["seconds"]:
            best = got
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, action="append", help="events to generate (repeatable); default 1M and 10M")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/cx_journey_bench"))
    ap.add_argument("--repeat", type=int, default=2, help="runs per query; the fastest is reported")
    ap.add_argument("--keep", action="store_true", help="keep the generated stores")
    ap.add_argument("--child", nargs=2, metavar=("DB", "OP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = args.events or [1_000_000, 10_000_000]
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    for events in sizes:
        path = args.dir / f"journey_{events}.duckdb"
        if path.exists() and args.keep:
            import duckdb

            with duckdb.connect(str(path), read_only=True) as c:
                info = {"events": c.execute("SELECT count(*) FROM events_ordered").fetchone()[0]}
        else:
            path.unlink(missing_ok=True)
            info = build(path, events)
        size_mib = path.stat().st_size / 2**20
        print(f"\n== {info['events']:,} events ({size_mib:,.0f} MiB store)"
              + (f"; generated in {info['generate_s']:.1f} s, events_ordered built in {info['refresh_derived_s']:.1f} s"
                 if "generate_s" in info else ""))
        results = [measure(path, op, args.repeat) for op in OPS]
        scan = next(r for r in results if r["op"] == "scan").get("seconds")
        print(f"{'query':<18}{'seconds':>10}{'x scan':>9}{'CPU s':>9}{'peak RSS MiB':>14}{'rows':>7}", flush=True)
        for r in results:
            if "seconds" not in r:
                print(f"{r['op']:<18}  {r.get('skipped') or r.get('error')}")
                continue
            ratio = r["seconds"] / scan if scan else float("nan")
            print(f"{r['op']:<18}{r['seconds']:>10.2f}{ratio:>9.1f}{r['cpu_seconds']:>9.2f}{r['peak_rss_mib']:>14.0f}"
                  f"{r['rows'] or '':>7}", flush=True)
        if not args.keep:
            path.unlink(missing_ok=True)
            shutil.rmtree(path.with_suffix(".duckdb.wal"), ignore_errors=True)


if __name__ == "__main__":
    main()
