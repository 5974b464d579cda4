"""cxlib's analyses on Spark (local mode) against the same analyses on DuckDB, on the same data.

    .venv/bin/python -u benchmarks/spark.py                          # 1M events, 3 rounds
    .venv/bin/python -u benchmarks/spark.py --events 10000000 --repeat 2
    .venv/bin/python -u benchmarks/spark.py --events 1000000 --queries funnel,transitions --keep

For each size the store is generated directly in DuckDB by speed.py's generator (`speed.build`:
50 events per customer, sessions of five events minutes apart, a session a month, twelve monthly
cohorts over 2025, four regions; events_ordered and the derived tables built by
cxlib.store.refresh_derived), then exported to Parquet with `cxlib.store.spark.export_parquet`
(the config file `cx-spark.yml` beside the files). Both engines read these same rows.

Spark, one fresh process per round (its JVM with it):

- start: `cxlib.store.spark.spark_session()` (cxlib's local-mode session: local[*], 2 GB driver,
  4 shuffle partitions), then `cxlib.connect(config, engine="spark", spark=session)`, which reads
  the Parquet files and builds events_ordered, customer_keys and customer_activity on Spark
  (checkpointed), each timed;
- per query: the scan (the reference, as in speed.py: ``sum(hash(customer_id, ts, seq,
  touchpoint, channel, next_ts))`` over events_ordered, so every value is read), then cxlib's
  analysis on the Spark connection.

DuckDB, as speed.py: per query and round, the scan and cxlib's analysis each in a fresh process
on a read-only connection to the store.

Queries: funnel(con, ["product_page","add_to_cart","checkout","payment"], window="7 days"),
transitions(con), cohort_retention(con), churn_rate(con, definition="non_contractual") (the
generated store has events but no subscriptions, so contractual churn has nothing to judge) and
nps(con) when the store has survey answers (speed.py's store has none: the query is reported
as skipped). An analysis that fails on an engine is printed with its error and the rest go on.

Measured per run: wall seconds; CPU seconds of the Python process (driver) and, for Spark, of
the JVM (in local mode the executors are threads of the driver's JVM; read from /proc/<pid>/stat);
peak resident memory (VmHWM) of the Python process and of the JVM. The Spark process runs every
query, so its peaks are over the whole round; the JVM's resident memory after each query is
given too. Answers are compared between the engines (speed.py's `compare`: counts exact, medians
within 1 ms) and a difference is printed as MISMATCH.

Writes benchmarks/out/spark_<UTC time>.json (and every child's records as they come, .jsonl). Stores and Parquet go to --dir (default
/tmp/s9_bench), deleted afterwards unless --keep (and reused when kept).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import speed  # (the generator, scan, cxlib answers and answer comparison)

# the funnel last: the slowest on Spark, and cut at --query-timeout
QUERIES = ["transitions", "cohort_retention", "churn_rate", "nps", "funnel"]
TICKS = os.sysconf("SC_CLK_TCK")
RAW: Path | None = None  # every record of every child, as it arrives (JSON lines), set by main


# ---------------------------------------------------------------------------------------------
# the analyses, in a shape both engines' answers can be compared in


def has_surveys(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM survey_responses WHERE metric = 'nps'").fetchone()[0])


def answer(con, query: str):
    """(rows, answer): speed.py's shapes for its three queries; counts for churn_rate and nps."""
    if query in ("funnel", "transitions", "cohort_retention"):
        return speed.cxlib_answer(con, query)
    if query == "churn_rate":
        from cxlib import churn_rate

        df = churn_rate(con, definition="non_contractual")
        return len(df), {"all": [int(df["customers"].iloc[0]), int(df["churned"].iloc[0]),
                                 int(df["not_judged"].iloc[0])]}
    if query == "nps":
        from cxlib import nps

        df = nps(con)
        return len(df), {"all": [int(df["n"].iloc[0]), float(df["nps"].iloc[0])]}
    raise ValueError(query)


# ---------------------------------------------------------------------------------------------
# process figures


def _status(pid: int | str, key: str) -> float | None:
    """VmHWM / VmRSS of a process in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of stat)


def _emit(record: dict) -> None:
    print("@@" + json.dumps(record, default=str), flush=True)


# ---------------------------------------------------------------------------------------------
# the child processes


def child_spark(config: str, queries: list[str], limit: float) -> None:
    """One Spark round: session, store, then per query the scan and the analysis; one JSON line each.
    A query still running after `limit` seconds has its Spark jobs cancelled and is reported as cut."""
    import threading

    t, cpu = time.perf_counter(), time.process_time()
    from cxlib.store.spark import spark_session

    spark = spark_session()
    jvm = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    _emit({"step": "session", "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
           "jvm_cpu_seconds": _cpu(jvm), "jvm_pid": jvm, "spark": spark.version,
           "cores": spark.sparkContext.defaultParallelism})
    import cxlib

    t, cpu, jcpu = time.perf_counter(), time.process_time(), _cpu(jvm)
    con = cxlib.connect(config, engine="spark", spark=spark)
    n = con.execute("SELECT count(*) FROM events_ordered").fetchone()[0]
    _emit({"step": "connect", "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
           "jvm_cpu_seconds": _cpu(jvm) - jcpu, "events_ordered": n, "jvm_rss_mib": _status(jvm, "VmRSS")})
    surveys = has_surveys(con)
    for query in queries:
        for engine in ("scan", "cxlib"):
            record = {"step": "query", "query": query, "engine": engine}
            if query == "nps" and not surveys:
                _emit({**record, "skipped": "the store has no NPS survey answers"})
                continue
            t, cpu, jcpu = time.perf_counter(), time.process_time(), _cpu(jvm)
            timer = threading.Timer(limit, spark.sparkContext.cancelAllJobs)
            timer.start()
            try:
                if engine == "scan":
                    con.execute(speed.SCAN_SQL).fetchall()
                    rows = got = None
                else:
                    rows, got = answer(con, query)
            except Exception as exc:  # noqa: BLE001  (any engine error: report it, go on with the next query)
                cut = time.perf_counter() - t >= limit
                _emit({**record, "error": f"cut: still running after {limit:.0f} s (Spark jobs cancelled)" if cut else
                       f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:400]}",
                       "jvm_cpu_seconds": _cpu(jvm) - jcpu})
                continue
            finally:
                timer.cancel()
            _emit({**record, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
                   "jvm_cpu_seconds": _cpu(jvm) - jcpu, "jvm_rss_mib": _status(jvm, "VmRSS"), "rows": rows,
                   "answer": got})
    _emit({"step": "end", "peak_rss_mib": _status("self", "VmHWM"), "jvm_peak_rss_mib": _status(jvm, "VmHWM")})


def child_duckdb(engine: str, query: str, db: str) -> None:
    """One DuckDB run (scan or cxlib) of one query in this fresh process, as speed.py's children."""
    import cxlib

    con = cxlib.connect(db)
    record = {"step": "query", "query": query, "engine": engine}
    if query == "nps" and not has_surveys(con):
        _emit({**record, "skipped": "the store has no NPS survey answers"})
        return
    t, cpu = time.perf_counter(), time.process_time()
    rows = got = None
    if engine == "scan":
        con.execute(speed.SCAN_SQL).fetchall()
    else:
        rows, got = answer(con, query)
    _emit({**record, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu,
           "peak_rss_mib": _status("self", "VmHWM"), "rows": rows, "answer": got})


def run_child(args: list[str], timeout: float, progress: str = "") -> tuple[list[dict], str | None]:
    """The JSON records a child printed (also those before a failure or the timeout) and its error;
    with `progress`, each record is printed as it arrives."""
    import tempfile
    import threading

    with tempfile.TemporaryFile(mode="w+") as err_file:
        return _run(args, timeout, progress, err_file, threading)


def _run(args, timeout, progress, err_file, threading):
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=err_file, text=True,
                            cwd=ROOT, start_new_session=True)
    records: list[dict] = []

    def read():
        for line in proc.stdout:
            if line.startswith("@@"):
                rec = json.loads(line[2:])
                records.append(rec)
                if RAW:
                    with RAW.open("a") as f:
                        f.write(json.dumps({"args": args[:2], **rec}, default=str) + "\n")
                if progress:
                    what = " ".join(str(rec[k]) for k in ("step", "query", "engine") if k in rec)
                    print(f"    {progress} {what}: " + (
                        f"{rec['seconds']:.2f} s, CPU {rec['cpu_seconds']:.2f} s + JVM {rec.get('jvm_cpu_seconds') or 0:.2f} s"
                        f", JVM RSS {rec.get('jvm_rss_mib') or 0:,.0f} MiB" if "seconds" in rec else
                                                       str(rec.get("error") or rec.get("skipped") or "")), flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    error = None
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and its JVM
        proc.wait()
        error = f"timed out after {timeout:.0f} s"
    reader.join(timeout=10)
    if error is None and proc.returncode != 0:
        err_file.seek(0)
        lines = [x for x in err_file.read().strip().splitlines() if x.strip()]
        error = lines[-1][:400] if lines else f"exit {proc.returncode}"
    return records, error


# ---------------------------------------------------------------------------------------------
# the run


def prepare(events: int, folder: Path, keep: bool) -> dict:
    """The DuckDB store (speed.build) and its Parquet export, timed; reused when kept."""
    import cxlib
    from cxlib.store.spark import export_parquet

    db = folder / f"spark_{events}.duckdb"
    lake = folder / f"lake_{events}"
    config = lake / "cx-spark.yml"
    info: dict = {}
    if not (keep and db.exists() and config.exists()):
        for f in (db, db.with_suffix(".duckdb.wal")):
            f.unlink(missing_ok=True)
        info = speed.build(db, events)
        con = cxlib.connect(db)
        t = time.perf_counter()
        export_parquet(con, lake)
        info["export_parquet_s"] = time.perf_counter() - t
        con.close()
    else:
        con = cxlib.connect(db)
        info["events"] = con.execute("SELECT count(*) FROM events_ordered").fetchone()[0]
        con.close()
    info.update(db=str(db), config=str(config), store_mib=db.stat().st_size / 2**20,
                parquet_mib=sum(f.stat().st_size for f in lake.glob("*.parquet")) / 2**20)
    return info


def _median(rs: list[dict], key: str):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarise(records: list[dict]) -> dict:
    """Per engine: median wall / CPU over the rounds that ran, the runs, the first error."""
    ok = [r for r in records if "seconds" in r]
    out: dict = {"runs": [round(r["seconds"], 3) for r in ok]}
    errors = [r["error"] for r in records if "error" in r]
    skipped = [r["skipped"] for r in records if "skipped" in r]
    if errors:
        out["error"] = errors[0]
    if skipped:
        out["skipped"] = skipped[0]
    if ok:
        out.update(seconds=_median(ok, "seconds"), cpu_seconds=_median(ok, "cpu_seconds"),
                   jvm_cpu_seconds=_median(ok, "jvm_cpu_seconds"),
                   peak_rss_mib=max((r["peak_rss_mib"] for r in ok if r.get("peak_rss_mib")), default=None),
                   jvm_rss_mib=max((r["jvm_rss_mib"] for r in ok if r.get("jvm_rss_mib")), default=None),
                   rows=ok[0].get("rows"))
    return out


def measure(info: dict, queries: list[str], repeat: int, timeout: float, query_timeout: float) -> dict:
    spark_rounds: list[list[dict]] = []
    duck: dict[tuple[str, str], list[dict]] = {}
    for r in range(repeat):
        print(f"  round {r + 1}: Spark ...", flush=True)
        records, error = run_child(["--child-spark", info["config"], ",".join(queries), str(query_timeout)], timeout,
                                   "Spark")
        if error:
            print(f"  Spark round {r + 1}: {error}", flush=True)
            records.append({"step": "failed", "error": error})
        for rec in records:
            if "error" in rec:
                print(f"  Spark {rec.get('query', rec['step'])} {rec.get('engine', '')}: ERROR {rec['error']}",
                      flush=True)
        spark_rounds.append(records)
        print(f"  round {r + 1}: DuckDB ...", flush=True)
        for query in queries:
            for engine in ("scan", "cxlib"):
                recs, error = run_child(["--child-duckdb", engine, query, info["db"]], timeout)
                if error:
                    print(f"  DuckDB {query} {engine}: ERROR {error}", flush=True)
                    recs = [{"query": query, "engine": engine, "error": error}]
                duck.setdefault((query, engine), []).extend(recs)

    def steps(name):
        return [rec for rnd in spark_rounds for rec in rnd if rec.get("step") == name]

    result: dict = {"spark_start": {}, "queries": {}, "problems": []}
    for name in ("session", "connect"):
        rs = steps(name)
        result["spark_start"][name] = {"seconds": _median(rs, "seconds"), "cpu_seconds": _median(rs, "cpu_seconds"),
                                       "jvm_cpu_seconds": _median(rs, "jvm_cpu_seconds"),
                                       "runs": [round(x["seconds"], 2) for x in rs]}
    ends = steps("end")
    result["spark_peaks"] = {"driver_peak_rss_mib": max((e["peak_rss_mib"] or 0 for e in ends), default=None),
                             "jvm_peak_rss_mib": max((e["jvm_peak_rss_mib"] or 0 for e in ends), default=None)}
    if steps("session"):
        result["spark_version"] = steps("session")[0]["spark"]
        result["spark_cores"] = steps("session")[0]["cores"]
    for query in queries:
        spark_q = [rec for rnd in spark_rounds for rec in rnd if rec.get("query") == query]
        res = {"spark": {e: summarise([x for x in spark_q if x["engine"] == e]) for e in ("scan", "cxlib")},
               "duckdb": {e: summarise(duck.get((query, e), [])) for e in ("scan", "cxlib")}}
        d_ans = next((x["answer"] for x in duck.get((query, "cxlib"), []) if x.get("answer") is not None), None)
        s_ans = [x["answer"] for x in spark_q if x["engine"] == "cxlib" and x.get("answer") is not None]
        problems = []
        if d_ans is not None:
            for a in s_ans:
                problems += speed.compare(query, d_ans, a, "spark")
        res["problems"] = list(dict.fromkeys(problems))
        res["answers_compared"] = None if d_ans is None or not s_ans else len(d_ans.get("steps", d_ans))
        result["queries"][query] = res
    return result


def fmt(x, unit: str = "") -> str:
    if x is None:
        return "-"
    return (f"{x:.3f}" if x < 10 else f"{x:.1f}") + unit


def print_table(size: dict) -> None:
    st = size["result"]["spark_start"]
    print(f"Spark session start {fmt(st['session']['seconds'], ' s')} (runs {st['session']['runs']}); "
          f"connect (read Parquet, build events_ordered, customer_keys, customer_activity) "
          f"{fmt(st['connect']['seconds'], ' s')}, driver CPU {fmt(st['connect']['cpu_seconds'], ' s')}, "
          f"JVM CPU {fmt(st['connect']['jvm_cpu_seconds'], ' s')} (runs {st['connect']['runs']}); "
          f"DuckDB refresh_derived {fmt(size.get('refresh_derived_s'), ' s')}")
    pk = size["result"]["spark_peaks"]
    print(f"Spark process peaks over a round: driver {fmt(pk['driver_peak_rss_mib'], ' MiB')}, "
          f"JVM {fmt(pk['jvm_peak_rss_mib'], ' MiB')}")
    print(f"{'query':<18}{'engine':<8}{'what':<7}{'median s':>10}{'x scan':>8}{'CPU s py+jvm':>14}"
          f"{'RSS MiB':>9}  runs")
    for query, res in size["result"]["queries"].items():
        for engine in ("duckdb", "spark"):
            scan = res[engine]["scan"].get("seconds")
            for what in ("scan", "cxlib"):
                r = res[engine][what]
                if "seconds" not in r:
                    print(f"{query:<18}{engine:<8}{what:<7}  {'SKIPPED ' + r['skipped'] if 'skipped' in r else 'ERROR ' + str(r.get('error'))}")
                    continue
                ratio = r["seconds"] / scan if scan else float("nan")
                cpu = r["cpu_seconds"] + (r.get("jvm_cpu_seconds") or 0)
                rss = r.get("peak_rss_mib") if engine == "duckdb" else r.get("jvm_rss_mib")
                extra = f"  ERROR in a round: {r['error']}" if "error" in r else ""
                print(f"{query:<18}{engine:<8}{what:<7}{fmt(r['seconds']):>10}{ratio:>8.1f}{cpu:>14.2f}"
                      f"{fmt(rss):>9}  {r['runs']}{extra}")
        d, s = res["duckdb"]["cxlib"].get("seconds"), res["spark"]["cxlib"].get("seconds")
        if d and s:
            print(f"{'':<18}Spark / DuckDB: {s / d:.1f}x; "
                  + ("ANSWERS DIFFER: " + "; ".join(res["problems"][:3]) if res["problems"] else
                     f"answers agree ({res['answers_compared']} cells)" if res["answers_compared"] else
                     "answers not compared"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, action="append", help="events to generate (repeatable); default 1M")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported")
    ap.add_argument("--queries", default=",".join(QUERIES), help=f"comma-separated, of {', '.join(QUERIES)}")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/s9_bench"))
    ap.add_argument("--keep", action="store_true", help="keep the store and its Parquet export (and reuse them)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds a child process may take")
    ap.add_argument("--query-timeout", type=float, default=900,
                    help="seconds a query may run on Spark before its jobs are cancelled (reported as cut)")
    ap.add_argument("--child-spark", nargs=3, metavar=("CONFIG", "QUERIES", "LIMIT"), help=argparse.SUPPRESS)
    ap.add_argument("--child-duckdb", nargs=3, metavar=("ENGINE", "QUERY", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_spark:
        child_spark(args.child_spark[0], args.child_spark[1].split(","), float(args.child_spark[2]))
        return 0
    if args.child_duckdb:
        child_duckdb(*args.child_duckdb)
        return 0

    import duckdb

    queries = [q.strip() for q in args.queries.split(",") if q.strip()]
    if set(queries) - set(QUERIES):
        ap.error(f"unknown queries {sorted(set(queries) - set(QUERIES))}; choose from {QUERIES}")
    args.dir.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=False).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--", "cxlib"], capture_output=True, text=True, cwd=ROOT,
                      check=False).stdout.strip():
        commit += " + uncommitted changes in cxlib/"
    report = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit, "cores": os.cpu_count(),
              "python": sys.version.split()[0], "duckdb": duckdb.__version__, "repeat": args.repeat, "sizes": []}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; duckdb {duckdb.__version__}; "
          f"commit {commit}", flush=True)
    out_path = OUT / f"spark_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    global RAW
    RAW = out_path.with_suffix(".jsonl")
    failed = False
    for events in args.events or [1_000_000]:
        t = time.perf_counter()
        info = prepare(events, args.dir, args.keep)
        print(f"\n== {info['events']:,} events: DuckDB store {info['store_mib']:,.0f} MiB, Parquet "
              f"{info['parquet_mib']:,.0f} MiB" + (f"; generated {info['generate_s']:.1f} s, derived tables "
                                                  f"{info['refresh_derived_s']:.1f} s, export {info['export_parquet_s']:.1f} s"
                                                  if "generate_s" in info else "; reused")
              + f" ({time.perf_counter() - t:.0f} s); load average {os.getloadavg()[0]:.1f}", flush=True)
        size = {**info, "load_average_start": os.getloadavg()}
        size["result"] = measure(info, queries, args.repeat, args.timeout, args.query_timeout)
        size["load_average_end"] = os.getloadavg()
        report["sizes"].append(size)
        report["spark"] = size["result"].get("spark_version")
        print_table(size)
        print(f"load average at start {size['load_average_start'][0]:.1f}, at end {size['load_average_end'][0]:.1f}")
        for res in size["result"]["queries"].values():
            failed |= bool(res["problems"])
        out_path.write_text(json.dumps(report, indent=1, default=str))
        if not args.keep:
            for f in (Path(info["db"]), Path(info["db"]).with_suffix(".duckdb.wal")):
                f.unlink(missing_ok=True)
            for f in Path(info["config"]).parent.glob("*"):
                f.unlink()
            Path(info["config"]).parent.rmdir()
    print(f"\nwritten {out_path.relative_to(ROOT)}")
    if failed:
        print("FAILED: answers differ between the engines")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
