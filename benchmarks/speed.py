"""Journey queries against a DuckDB scan, pandas (the same definitions) and pm4py, in one interleaved run.

    .venv/bin/python -u benchmarks/speed.py                          # 1M and 10M events
    .venv/bin/python -u benchmarks/speed.py --events 1000000 --repeat 3
    .venv/bin/python -u benchmarks/speed.py --events 50000000 --repeat 1 --ingest
    .venv/bin/pip install -e '.[bench]'                              # pm4py, for its directly-follows graph

For each size it generates one synthetic store directly in DuckDB (50 events per customer in
sessions of 5 events minutes apart, sessions 30 days apart, first sessions spread over 2025,
touchpoints drawn with fixed weights, four regions) and builds events_ordered with cxlib.store.refresh_derived. Then, query by query,
it runs rounds of engines, each run in a fresh subprocess so that its peak resident memory (VmHWM)
is its own: scan, cxlib, pandas, pm4py, scan, cxlib, ... `--repeat` rounds, the median reported.

- scan: ``sum(hash(customer_id, ts, seq, touchpoint, channel, next_ts))`` over events_ordered, so
  that every value of the columns the journey queries read is read (max() alone can come from
  row-group statistics). The reference every ratio is taken to, from the same rounds.
- cxlib: ``funnel(con, FUNNEL, window="7 days")`` and ``transitions(con)`` (cxlib.analysis.journey),
  ``cohort_retention(con)`` (cxlib.analysis.churn), on a read-only connection as a report uses;
  also, cxlib only, the funnel with ``order="strict"`` and with ``by="region"``.
- pandas: the same three definitions (docs/metrics.md, cxlib/sql/funnel_customers.sql,
  transitions.sql, cohort_retention.sql) written in vectorised pandas: see pandas_funnel,
  pandas_transitions, pandas_cohort_retention. The events are loaded from the same store
  (events_ordered, the table cxlib reads, with its time order; touchpoints, channels and customer
  ids as categoricals) and the load is timed apart, not counted in the query time.
- pm4py (optional extra ``bench``): ``pm4py.discover_dfg`` on a dataframe with
  case:concept:name / concept:name / time:timestamp, for transitions (counts only: pm4py's DFG
  has no distinct customers or durations).

Answers are checked equal across engines before any timing is printed as trusted: the funnel's
customers, dropped, open windows and median time per step; per transition pair the count, distinct
customers and median seconds (pm4py: the count); per cohort retention cell the cohort size and
retained customers. A mismatch is printed and the script exits with status 1.

Prints one table per size (median wall seconds per engine, the ratio to the scan, cxlib's
speed-up over pandas and pm4py, CPU seconds of all threads, peak RSS) and writes all runs as JSON
to benchmarks/out/speed_<time>.json. `--ingest` also times `cx ingest` of an events CSV of the
same size (benchmarks/ingest_bench.py's input files) in a subprocess: wall, rows/s, peak RSS.
Stores go to --dir (default /tmp/cx_speed_bench) and are deleted afterwards unless --keep.
Not part of the test run (tests/unit/test_bench_definitions.py checks the pandas definitions).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
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
WINDOW = "7 days"
WINDOW_SECONDS = 7 * 86400
EVENTS_PER_CUSTOMER = 50

SCAN_SQL = "SELECT sum(hash(customer_id, ts, seq, touchpoint, channel, next_ts)) FROM events_ordered"
# query -> engines compared on it (scan is the reference of every query)
QUERIES = {
    "funnel": ["cxlib", "pandas"],
    "transitions": ["cxlib", "pandas", "pm4py"],
    "cohort_retention": ["cxlib", "pandas"],
    "funnel_strict": ["cxlib"],
    "funnel_by_region": ["cxlib"],
}
# the median time to convert and median seconds per pair are compared to within this (seconds)
MEDIAN_TOLERANCE_S = 1e-3


# ---------------------------------------------------------------------------------------------
# The synthetic store


def build(path: Path, events: int) -> dict:
    """A store of `events` events: 50 per customer, in sessions of 5 events minutes apart, a session a
    month (30 days), the customers' first sessions spread evenly over 2025 (so twelve monthly cohorts);
    touchpoints by WEIGHTS, channels uniform; customers in four regions. events_ordered built.
    (journey_bench.py, which this replaces, started every customer within c seconds of 2025-01-01:
    one cohort.)"""
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
        """INSERT INTO customers (customer_id, signup_at, region)
           SELECT printf('C%08d', i), TIMESTAMP '2025-01-01' + to_seconds(i * 31536000 // $n),
                  ['north', 'south', 'east', 'west'][1 + i % 4]
           FROM range($n) t(i)""",
        {"n": customers},
    )
    con.execute(
        """INSERT INTO events (customer_id, ts, touchpoint, channel, session_id)
           SELECT printf('C%08d', c),
                  TIMESTAMP '2025-01-01' + to_seconds(c * 31536000 // $customers)  -- starts spread over 2025
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


# ---------------------------------------------------------------------------------------------
# pandas: the same definitions


def load_pandas(con, query: str):
    """The events a pandas analyst would start from, read from the same store: events_ordered (the
    rows of events, in each customer's time order: ts, then touchpoint, then channel), with
    customer ids, touchpoints and channels as categoricals; for cohort retention also orders.
    Returns (frames, as_of): the store's as-of date (cxlib.as_of) is a parameter of the definitions."""
    import pandas as pd

    import cxlib

    cols = {
        "funnel": "customer_id, ts, seq, touchpoint",
        "transitions": "customer_id, ts, touchpoint, next_touchpoint, next_ts",
        "cohort_retention": "customer_id, ts",
    }[query]
    ev = con.execute(f"SELECT {cols} FROM events_ordered").df()
    tps = sorted(set(ev["touchpoint"].unique()) | (set(ev["next_touchpoint"].dropna().unique())
                                                   if "next_touchpoint" in ev else set())) if "touchpoint" in ev else []
    for c in ("touchpoint", "next_touchpoint"):
        if c in ev:
            ev[c] = pd.Categorical(ev[c], categories=tps)
    ev["customer_id"] = ev["customer_id"].astype("category")
    frames = {"events": ev}
    if query == "cohort_retention":
        orders = con.execute("SELECT customer_id, ts FROM orders").df()
        orders["customer_id"] = pd.Categorical(orders["customer_id"], categories=ev["customer_id"].cat.categories)
        frames["orders"] = orders
    return frames, pd.Timestamp(cxlib.as_of(con))


def pandas_funnel(ev, steps=FUNNEL, window_seconds: float = WINDOW_SECONDS, horizon=None) -> dict:
    """PostHog's 'ordered' funnel (docs/metrics.md, Funnel; cxlib/sql/funnel_customers.sql) in pandas.

    A fair, vectorised implementation, not a strawman: one ``pd.merge_asof(..., by='customer_id',
    direction='forward')`` per step finds, for every attempt at once, the earliest event of the next
    step at or after the previous step's time (ties on time: the lowest seq); customer ids are
    categorical codes, touchpoints categoricals, no Python loop over customers or attempts.

    Definition: every step-1 event starts an attempt; step k+1 is the earliest step-(k+1) event at
    or after step k's time, and counts if it lies within `window_seconds` of the attempt's step 1
    (the edge included). A customer's result is their furthest attempt; ties go to the earliest
    attempt (step-1 time, then seq), which gives the times to convert. A customer who stopped before
    the last step with any attempt whose window is still open at `horizon` is open, not dropped.
    Steps here are distinct single touchpoints (the benchmark's funnel), so one event can never fill
    two steps; no date range, no exclusions, no breakdown.

    Returns {"steps": [[customers, dropped, open_window, median_seconds or None], ...]}.
    """
    import numpy as np
    import pandas as pd

    assert len(set(steps)) == len(steps), "distinct single-touchpoint steps only"
    n = len(steps)
    window = pd.Timedelta(seconds=window_seconds)
    cust = ev["customer_id"]
    codes = cust.cat.codes.to_numpy() if hasattr(cust, "cat") else cust.to_numpy()
    base = pd.DataFrame({"c": codes, "ts": ev["ts"].to_numpy(), "seq": ev["seq"].to_numpy()})
    tp = ev["touchpoint"]
    step_events = [base[(tp == s).to_numpy()].sort_values(["ts", "seq"], kind="stable") for s in steps]

    first = step_events[0]
    att = pd.DataFrame({"c": first["c"].to_numpy(), "a_seq": first["seq"].to_numpy(), "t1": first["ts"].to_numpy()})
    times = np.full((len(att), n), np.datetime64("NaT"), dtype="datetime64[ns]")
    times[:, 0] = att["t1"].to_numpy()
    furthest = np.ones(len(att), dtype=np.int64)
    cur = pd.DataFrame({"aid": np.arange(len(att)), "c": att["c"].to_numpy(), "t1": att["t1"].to_numpy(),
                        "tk": att["t1"].to_numpy()})
    for k in range(1, n):
        if cur.empty:
            break
        right = step_events[k][["c", "ts"]].rename(columns={"ts": "tn"})
        m = pd.merge_asof(cur.sort_values("tk", kind="stable"), right, left_on="tk", right_on="tn", by="c",
                          direction="forward", allow_exact_matches=True)
        m = m[m["tn"].notna() & (m["tn"] <= m["t1"] + window)]
        aid = m["aid"].to_numpy()
        times[aid, k] = m["tn"].to_numpy()
        furthest[aid] = k + 1
        cur = pd.DataFrame({"aid": aid, "c": m["c"].to_numpy(), "t1": m["t1"].to_numpy(), "tk": m["tn"].to_numpy()})

    att["furthest"] = furthest
    att["aid"] = np.arange(len(att))
    if horizon is None:
        att["open"] = False
    else:
        att["open"] = (att["t1"] + window) > pd.Timestamp(horizon)
    any_open = att.groupby("c", sort=False)["open"].any()
    best = att.sort_values(["c", "furthest", "t1", "a_seq"], ascending=[True, False, True, True],
                           kind="stable").drop_duplicates("c")
    best_furthest = best["furthest"].to_numpy()
    best_open = (best_furthest < n) & any_open.reindex(best["c"]).to_numpy()
    best_times = times[best["aid"].to_numpy()]
    out = []
    for k in range(1, n + 1):
        customers = int((best_furthest >= k).sum())
        at_prev = best_furthest == k - 1
        open_window = int((at_prev & best_open).sum())
        dropped = int((at_prev & ~best_open).sum())
        median = None
        if k > 1:
            reached = best_furthest >= k
            secs = (best_times[reached, k - 1] - best_times[reached, k - 2]) / np.timedelta64(1, "s")
            median = float(np.median(secs)) if len(secs) else None
        out.append([customers, dropped, open_window, median])
    return {"steps": out}


def pandas_transitions(ev) -> dict:
    """Directly-follows transitions (docs/metrics.md, Transitions; cxlib/sql/transitions.sql) in pandas:
    every consecutive pair (event, next event) of a customer's events in time order is one transition
    source -> target; per pair the number of pairs, the distinct customers making them and the median
    seconds between the two events. The next event is events_ordered's (next_touchpoint, next_ts), the
    columns cxlib reads; grouped on categoricals, distinct customers by drop_duplicates then size.
    Returns {"source|target": [transitions, customers, median_seconds]}."""
    import numpy as np
    import pandas as pd

    has_next = ev["next_ts"].notna().to_numpy()
    p = pd.DataFrame({
        "source": ev["touchpoint"][has_next],
        "target": ev["next_touchpoint"][has_next],
        "c": ev["customer_id"].cat.codes.to_numpy()[has_next],
        "s": (ev["next_ts"].to_numpy()[has_next] - ev["ts"].to_numpy()[has_next]) / np.timedelta64(1, "s"),
    })
    g = p.groupby(["source", "target"], observed=True, sort=False)["s"]
    counts = g.size()
    medians = g.median()
    reach = p[["source", "target", "c"]].drop_duplicates().groupby(["source", "target"], observed=True,
                                                                     sort=False).size()
    return {f"{s}|{t}": [int(counts[(s, t)]), int(reach[(s, t)]), float(medians[(s, t)])] for s, t in counts.index}


def pandas_cohort_retention(ev, orders, as_of) -> dict:
    """Monthly first-time cohort retention (docs/metrics.md, Retention; cxlib/sql/cohort_retention.sql)
    in pandas: activity = events and orders at or before as-of; a customer's cohort is the month of
    their first activity; retained(cohort, k) = cohort members active in the month k months after
    the cohort's; every cohort has a cell for each month up to as-of's (0 when nobody came back).
    Returns {"cohort-month|k": [customers, retained]}."""
    import numpy as np
    import pandas as pd

    as_of = pd.Timestamp(as_of)
    parts = []
    for f in (ev, orders):
        if f is None or f.empty:
            continue
        keep = (f["ts"] <= as_of).to_numpy()
        parts.append(pd.DataFrame({"c": f["customer_id"].cat.codes.to_numpy()[keep],
                                   "p": f["ts"].to_numpy()[keep].astype("datetime64[M]").astype(np.int64)}))
    act = pd.concat(parts, ignore_index=True).drop_duplicates()  # p = months since 1970-01
    cohort = act.groupby("c", sort=False)["p"].min()
    act["cohort"] = cohort.reindex(act["c"]).to_numpy()
    sizes = cohort.value_counts()
    cells = act.groupby(["cohort", "p"], sort=False).size()
    last = int(np.datetime64(as_of.to_datetime64(), "M").astype(np.int64))
    out = {}
    for coh, size in sizes.items():
        for k in range(last - int(coh) + 1):
            label = str(np.datetime64(int(coh), "M"))
            out[f"{label}|{k}"] = [int(size), int(cells.get((coh, coh + k), 0))]
    return out


# ---------------------------------------------------------------------------------------------
# cxlib's answers in the same shape


def cxlib_answer(con, query: str, min_group_size: int | None = None):
    """Run the cxlib query; return (rows, answer in the pandas functions' shape; suppressed cells None)."""
    import pandas as pd

    from cxlib.analysis.churn import cohort_retention
    from cxlib.analysis.journey import funnel, transitions

    kw = {} if min_group_size is None else {"min_group_size": min_group_size}
    if query == "funnel":
        df = funnel(con, FUNNEL, window=WINDOW, **kw)
        return len(df), {"steps": [
            None if r.suppressed else
            [int(r.customers), int(r.dropped), int(r.open_window),
             None if pd.isna(r.median_time_to_convert) else r.median_time_to_convert.total_seconds()]
            for r in df.itertuples()]}
    if query == "transitions":
        df = transitions(con, **kw)
        return len(df), {f"{r.source}|{r.target}": None if r.suppressed else
                         [int(r.transitions), int(r.customers), r.median_duration.total_seconds()]
                         for r in df.itertuples()}
    if query == "cohort_retention":
        df = cohort_retention(con, **kw)
        return len(df), {f"{r.cohort:%Y-%m}|{r.period_number}": None if r.suppressed else
                         [int(r.customers), int(r.retained)] for r in df.itertuples()}
    if query == "funnel_strict":
        return len(funnel(con, FUNNEL, window=WINDOW, order="strict", **kw)), None
    if query == "funnel_by_region":
        return len(funnel(con, FUNNEL, window=WINDOW, by="region", **kw)), None
    raise ValueError(query)


def pandas_answer(frames, as_of, query: str):
    ev = frames["events"]
    if query == "funnel":
        return pandas_funnel(ev, FUNNEL, WINDOW_SECONDS, as_of)
    if query == "transitions":
        return pandas_transitions(ev)
    if query == "cohort_retention":
        return pandas_cohort_retention(ev, frames.get("orders"), as_of)
    raise ValueError(query)


def compare(query: str, ref: dict, other: dict, name: str, counts_only: bool = False) -> list[str]:
    """Differences between cxlib's answer `ref` and another engine's; cells cxlib suppressed are skipped."""
    problems = []

    def same(a, b):
        if a is None or b is None:
            return a is None and b is None
        if isinstance(a, float) or isinstance(b, float):
            return abs(a - b) <= MEDIAN_TOLERANCE_S
        return a == b

    def cell(key, a, b):
        if a is None:  # suppressed by cxlib
            return
        if b is None:
            problems.append(f"{query} {key}: cxlib {a}, {name} has none")
        elif counts_only:
            if a[0] != b:
                problems.append(f"{query} {key}: cxlib {a[0]} transitions, {name} {b}")
        elif len(a) != len(b) or not all(same(x, y) for x, y in zip(a, b)):
            problems.append(f"{query} {key}: cxlib {a}, {name} {b}")

    if query == "funnel":
        a_steps, b_steps = ref["steps"], other["steps"]
        if len(a_steps) != len(b_steps):
            return [f"funnel: cxlib {len(a_steps)} steps, {name} {len(b_steps)}"]
        for k, (a, b) in enumerate(zip(a_steps, b_steps), start=1):
            cell(f"step {k}", a, b)
        return problems
    for key, a in ref.items():
        cell(key, a, other.get(key))
    for key in other.keys() - ref.keys():
        problems.append(f"{query} {key}: {name} has {other[key]}, cxlib has none")
    return problems


# ---------------------------------------------------------------------------------------------
# one run in a fresh process


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


def child(engine: str, query: str, db: str) -> None:
    """Run one engine on one query in this fresh process; print its timings (and answer) as JSON."""
    import cxlib

    con = cxlib.connect(db)
    got: dict = {"engine": engine, "query": query}
    answer = rows = None
    if engine == "scan":
        t, cpu = time.perf_counter(), time.process_time()
        con.execute(SCAN_SQL).fetchall()
    elif engine == "cxlib":
        t, cpu = time.perf_counter(), time.process_time()  # all threads of this process (DuckDB's too)
        rows, answer = cxlib_answer(con, query)
    elif engine == "pandas":
        t0 = time.perf_counter()
        frames, as_of = load_pandas(con, query)
        con.close()
        got["load_seconds"] = time.perf_counter() - t0
        t, cpu = time.perf_counter(), time.process_time()
        answer = pandas_answer(frames, as_of, query)
    elif engine == "pm4py":
        import pandas as pd
        import pm4py

        t0 = time.perf_counter()
        df = con.execute("SELECT customer_id, touchpoint, ts FROM events_ordered").df()
        con.close()
        df = pd.DataFrame({"case:concept:name": df["customer_id"], "concept:name": df["touchpoint"],
                           "time:timestamp": df["ts"]})
        got["load_seconds"] = time.perf_counter() - t0
        t, cpu = time.perf_counter(), time.process_time()
        dfg, _, _ = pm4py.discover_dfg(df)
        answer = {f"{s}|{t_}": int(n) for (s, t_), n in dfg.items()}
    else:
        raise ValueError(engine)
    got.update(seconds=time.perf_counter() - t, cpu_seconds=time.process_time() - cpu,
               peak_rss_mib=_peak_rss_mib(), rows=rows, answer=answer)
    print(json.dumps(got))


def child_ingest(table: str, csv: str, db: str) -> None:
    """`cx ingest` (cxlib.cli.main, as the command runs it) in this fresh process."""
    from cxlib.cli import main as cx

    t, cpu = time.perf_counter(), time.process_time()
    rc = cx(["ingest", table, csv, "--db", db])
    print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
                      "peak_rss_mib": _peak_rss_mib()}))


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# the run


def measure_query(db: Path, query: str, repeat: int, engines_wanted: set[str]) -> dict:
    engines = ["scan"] + [e for e in QUERIES[query] if e in engines_wanted]
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    for _ in range(repeat):
        for engine in engines:
            got = run_child("--child", engine, query, str(db))
            runs[engine].append(got)
            if "error" in got:
                print(f"  {query} {engine}: ERROR {got['error']}", flush=True)
    summary = {}
    for engine, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            summary[engine] = {"error": rs[0]["error"]}
            continue
        summary[engine] = {
            "seconds": statistics.median(r["seconds"] for r in ok),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in ok),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in ok),
            "runs": [round(r["seconds"], 4) for r in ok],
        }
        if "load_seconds" in ok[0]:
            summary[engine]["load_seconds"] = statistics.median(r["load_seconds"] for r in ok)
        if ok[0].get("rows") is not None:
            summary[engine]["rows"] = ok[0]["rows"]
    # answers: every run of every engine against cxlib's first
    problems = []
    ref = next((r["answer"] for r in runs.get("cxlib", []) if "error" not in r), None)
    if ref is not None:
        for engine in engines:
            if engine == "scan":
                continue
            for r in runs[engine]:
                if "error" in r or r.get("answer") is None:
                    continue
                problems += compare(query, ref, r["answer"], engine, counts_only=engine == "pm4py")
    problems = list(dict.fromkeys(problems))
    return {"engines": summary, "problems": problems,
            "answer_cells": None if ref is None else len(ref.get("steps", ref))}


def measure_ingest(events: int) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import ingest_bench

    customers = max(1, events // 20)
    cust, csv = ingest_bench.write_inputs(events, customers, regen=False)
    db = OUT / f"speed_ingest_{events}.duckdb"
    for f in (db, db.with_suffix(".duckdb.wal")):
        f.unlink(missing_ok=True)
    c = run_child("--child-ingest", "customers", str(cust), str(db))
    e = run_child("--child-ingest", "events", str(csv), str(db))
    for f in (db, db.with_suffix(".duckdb.wal")):
        f.unlink(missing_ok=True)
    if "error" in c or "error" in e or c.get("rc") or e.get("rc"):
        return {"error": c.get("error") or e.get("error") or f"rc {c.get('rc')} / {e.get('rc')}"}
    return {"rows": events, "csv_mb": csv.stat().st_size / 1e6, "seconds": e["seconds"],
            "rows_per_s": events / e["seconds"], "cpu_seconds": e["cpu_seconds"], "peak_rss_mib": e["peak_rss_mib"],
            "customers_seconds": c["seconds"]}


def fmt_s(x) -> str:
    return "-" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def print_table(size: dict) -> None:
    print(f"{'query':<18}{'engine':<8}{'median s':>10}{'x scan':>8}{'cx gain':>9}{'CPU s':>8}{'peak RSS MiB':>14}"
          f"{'load s':>8}  runs")
    for query, res in size["queries"].items():
        eng = res["engines"]
        scan = eng.get("scan", {}).get("seconds")
        cx = eng.get("cxlib", {}).get("seconds")
        for engine, r in eng.items():
            if "error" in r:
                print(f"{query:<18}{engine:<8}  ERROR {r['error']}")
                continue
            ratio = r["seconds"] / scan if scan else float("nan")
            speedup = f"{r['seconds'] / cx:.1f}x" if cx and engine in ("pandas", "pm4py") else ""
            print(f"{query:<18}{engine:<8}{fmt_s(r['seconds']):>10}{ratio:>8.1f}{speedup:>9}{r['cpu_seconds']:>8.2f}"
                  f"{r['peak_rss_mib']:>14,.0f}{fmt_s(r.get('load_seconds')) if 'load_seconds' in r else '':>8}  "
                  f"{r['runs']}")
        if res["answer_cells"] is None:
            status = "answers not checked (no cxlib run to check against)"
        elif res["problems"]:
            status = f"ANSWERS DIFFER ({len(res['problems'])} cells; {res['answer_cells']} compared against cxlib)"
        else:
            status = f"answers agree ({res['answer_cells']} cells compared against cxlib)"
        if len(eng) > 2 or res["problems"]:
            print(f"{'':<18}{status}")
    ing = size.get("ingest")
    if ing:
        if "error" in ing:
            print(f"ingest: ERROR {ing['error']}")
        else:
            print(f"ingest {ing['rows']:,} rows ({ing['csv_mb']:,.0f} MB CSV): {ing['seconds']:.1f} s = "
                  f"{ing['rows_per_s']:,.0f} rows/s; CPU {ing['cpu_seconds']:.1f} s; peak RSS {ing['peak_rss_mib']:,.0f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, action="append", help="events to generate (repeatable); default 1M and 10M")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds per query; the median is reported")
    ap.add_argument("--queries", default=",".join(QUERIES), help=f"comma-separated, of {', '.join(QUERIES)}")
    ap.add_argument("--ingest", action="store_true", help="also time `cx ingest` of an events CSV of each size")
    ap.add_argument("--engines", default="cxlib,pandas,pm4py",
                    help="comma-separated, of cxlib, pandas, pm4py (the scan always runs); e.g. cxlib alone at 50M, "
                         "where pandas needs far more memory than the machine may have")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/cx_speed_bench"))
    ap.add_argument("--keep", action="store_true", help="keep the generated stores (and reuse them)")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "QUERY", "DB"), help=argparse.SUPPRESS)
    ap.add_argument("--child-ingest", nargs=3, metavar=("TABLE", "CSV", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.child_ingest:
        child_ingest(*args.child_ingest)
        return 0

    import duckdb

    queries = [q.strip() for q in args.queries.split(",") if q.strip()]
    unknown = set(queries) - set(QUERIES)
    if unknown:
        ap.error(f"unknown queries {sorted(unknown)}; choose from {list(QUERIES)}")
    engines = {e.strip() for e in args.engines.split(",") if e.strip()}
    if engines - {"cxlib", "pandas", "pm4py"}:
        ap.error(f"unknown engines {sorted(engines - {'cxlib', 'pandas', 'pm4py'})}")
    with_pm4py = "pm4py" in engines
    if with_pm4py:
        try:
            import importlib.util

            if importlib.util.find_spec("pm4py") is None:
                raise ImportError
        except ImportError:
            sys.exit("pm4py is not installed: pip install -e '.[bench]', or pass --engines cxlib,pandas")
    sizes = args.events or [1_000_000, 10_000_000]
    args.dir.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "cxlib"], capture_output=True, text=True,
                           cwd=ROOT, check=False).stdout.strip()
    if dirty:
        commit += " + uncommitted changes in cxlib/"
    import pandas as pd

    report = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit,
              "cores": os.cpu_count(), "python": sys.version.split()[0], "duckdb": duckdb.__version__,
              "pandas": pd.__version__, "load_average_start": os.getloadavg(), "repeat": args.repeat, "sizes": []}
    if with_pm4py:
        from importlib.metadata import version

        report["pm4py"] = version("pm4py")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {report['python']}, "
          f"duckdb {report['duckdb']}, pandas {report['pandas']}" + (f", pm4py {report['pm4py']}" if with_pm4py else "")
          + f"; commit {commit}", flush=True)
    out_path = OUT / f"speed_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    failed = False
    for events in sizes:
        path = args.dir / f"speed_{events}.duckdb"
        if path.exists() and args.keep:
            with duckdb.connect(str(path), read_only=True) as c:
                info = {"events": c.execute("SELECT count(*) FROM events_ordered").fetchone()[0]}
        else:
            path.unlink(missing_ok=True)
            info = build(path, events)
        info["store_mib"] = path.stat().st_size / 2**20
        print(f"\n== {info['events']:,} events ({info['store_mib']:,.0f} MiB store)"
              + (f"; generated in {info['generate_s']:.1f} s, events_ordered built in {info['refresh_derived_s']:.1f} s"
                 if "generate_s" in info else ""), flush=True)
        size = {**info, "queries": {}}
        for query in queries:
            size["queries"][query] = measure_query(path, query, args.repeat, engines)
            for p in size["queries"][query]["problems"]:
                print(f"  MISMATCH {p}", flush=True)
                failed = True
            if any("error" in r for r in size["queries"][query]["engines"].values()):
                failed = True
        if args.ingest:
            size["ingest"] = measure_ingest(events)
            failed |= "error" in size["ingest"]
        size["load_average_end"] = os.getloadavg()
        report["sizes"].append(size)
        print_table(size)
        out_path.write_text(json.dumps(report, indent=1, default=str))
        if not args.keep:
            path.unlink(missing_ok=True)
            path.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    print(f"\nwritten {out_path.relative_to(ROOT)}")
    if failed:
        print("FAILED: answers differ between engines (or a run failed); the timings above are not comparable")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
