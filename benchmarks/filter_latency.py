"""Latency of a filter change in the explore panel on a large store (issue 8).

What one filter change costs an analyst, without the panel's 300 ms debounce: build the filtered
store (cxlib.explore.filtered: bound variables + TEMP VIEWs) and re-run a funnel and an NPS
breakdown on it, as FilterPanel does in its worker thread. Reports median and p95 over N changes
that cycle through every kind of filter (date range, customer attribute values, channel,
touchpoint, combinations, and none), plus the same queries on the unfiltered store as a baseline.

    .venv/bin/python benchmarks/filter_latency.py                      # 10M events, 24 changes
    .venv/bin/python benchmarks/filter_latency.py --events 1000000 --changes 20

The store is built directly in DuckDB (not through ingest, whose validation is not what is being
measured): customers with region/plan/acquisition_channel/age_band, events spread over two
years on the 20 shipped touchpoints and 6 channels, relationship NPS answers; then
events_ordered is derived as after every ingest. It is kept at --db and reused when the sizes match.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cxlib  # noqa: E402
from cxlib.explore import Filters, filtered  # noqa: E402
from cxlib.store import refresh_derived  # noqa: E402

TOUCHPOINTS = [
    "ad_click", "social_post", "email_open", "home_page", "product_page", "compare", "reviews", "add_to_cart",
    "checkout", "payment", "help_center", "chat", "phone_call", "email_support", "store_visit", "delivery",
    "app_login", "review_written", "referral", "newsletter",
]
CHANNELS = ["web", "app", "email", "phone", "chat", "store"]
FUNNEL = ["product_page", "add_to_cart", "checkout", "payment"]


def build(path: Path, *, events: int, customers: int) -> float:
    started = time.perf_counter()
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()
    con = cxlib.connect(path, read_only=False)
    for col in ("region", "plan", "acquisition_channel", "age_band"):
        con.execute(f"ALTER TABLE customers ADD COLUMN {col} VARCHAR")
    con.execute(
        """INSERT INTO customers
        SELECT 'c' || lpad(i::VARCHAR, 7, '0'), TIMESTAMP '2024-01-01' + to_seconds((hash(i, 1) % 31536000)::BIGINT),
               ['north', 'south', 'east', 'west', 'central'][1 + (hash(i, 2) % 5)::BIGINT],
               ['basic', 'plus', 'premium'][1 + (hash(i, 3) % 3)::BIGINT],
               ['search', 'social', 'referral', 'store'][1 + (hash(i, 4) % 4)::BIGINT],
               ['18-24', '25-34', '35-44', '45-54', '55+'][1 + (hash(i, 5) % 5)::BIGINT]
        FROM range($n) t(i)""",
        {"n": customers},
    )
    # Each customer's events walk forward through the journey from a start time: touchpoints are
    # drawn with the purchase funnel (product_page -> add_to_cart -> checkout -> payment) common.
    con.execute(
        """INSERT INTO events
        SELECT 'c' || lpad(((hash(i, 11) % $customers)::BIGINT)::VARCHAR, 7, '0') AS customer_id,
               TIMESTAMP '2024-01-01' + to_seconds((hash(i, 12) % 63072000)::BIGINT) AS ts,
               CASE WHEN hash(i, 13) % 10 < 4 THEN $funnel[1 + (hash(i, 14) % 4)::BIGINT]
                    ELSE $tps[1 + (hash(i, 15) % 20)::BIGINT] END AS touchpoint,
               $channels[1 + (hash(i, 16) % 6)::BIGINT] AS channel,
               NULL AS session_id
        FROM range($n) t(i)""",
        {"n": events, "customers": customers, "funnel": FUNNEL, "tps": TOUCHPOINTS, "channels": CHANNELS},
    )
    con.execute(
        """INSERT INTO survey_responses
        SELECT 'r' || i, 'c' || lpad(((hash(i, 21) % $customers)::BIGINT)::VARCHAR, 7, '0'),
               TIMESTAMP '2024-01-01' + to_seconds((hash(i, 22) % 63072000)::BIGINT), 'nps', (hash(i, 23) % 11)::INTEGER,
               NULL, $channels[1 + (hash(i, 24) % 6)::BIGINT], NULL
        FROM range($n) t(i)""",
        {"n": max(events // 25, 1), "customers": customers, "channels": CHANNELS},
    )
    refresh_derived(con)
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - started


def changes(n: int) -> list[Filters]:
    """N filter states as an analyst clicks through them: every kind, combinations, and back to none."""
    kinds = [
        Filters(attribute="region", values=["north"]),
        Filters(channel="app"),
        Filters(start="2025-01-01", end="2025-04-01"),
        Filters(attribute="plan", values=["premium", "plus"]),
        Filters(touchpoint="checkout"),
        Filters(start="2024-06-01", end="2025-06-01", channel="web"),
        Filters(attribute="region", values=["south", "east"], channel="app", start="2024-09-01"),
        Filters(),
    ]
    return [kinds[i % len(kinds)] for i in range(n)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--changes", type=int, default=24)
    ap.add_argument("--db", default=None, help="store path (default: /tmp/cx_bench_<events>.duckdb)")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's choice)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if args.changes < 20:
        ap.error("--changes must be at least 20 for a meaningful p95")
    path = Path(args.db or f"/tmp/cx_bench_{args.events}.duckdb")

    built = None
    if path.exists():
        con = cxlib.connect(path)
        have = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        if have != args.events:
            built = build(path, events=args.events, customers=args.customers)
    else:
        built = build(path, events=args.events, customers=args.customers)

    con = cxlib.connect(path)
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]

    def run(c, f: Filters):
        t0 = time.perf_counter()
        fun = cxlib.funnel(c, FUNNEL, window="7 days", **f.as_kwargs())
        t1 = time.perf_counter()
        nps = cxlib.nps(c, by="region", **f.as_kwargs())
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, fun, nps

    # warm-up (first touch of the file's pages), then the unfiltered baseline
    run(con, Filters())
    base_funnel, base_nps = [], []
    for _ in range(5):
        a, b, _f, _n = run(con, Filters())
        base_funnel.append(a)
        base_nps.append(b)

    rows = []
    for f in changes(args.changes):
        t0 = time.perf_counter()
        store = filtered(con, f, check=False)
        t_views = time.perf_counter() - t0
        t_funnel, t_nps, fun, nps = run(store.con, f)
        store.close()
        rows.append({"filter": f.describe(), "views_s": t_views, "funnel_s": t_funnel, "nps_s": t_nps,
                     "total_s": time.perf_counter() - t0, "funnel_first_step": int(fun["customers"].fillna(0).iloc[0]),
                     "nps_n": int(nps["n"].fillna(0).sum())})

    def summary(key):
        vals = [r[key] for r in rows]
        return {"median": statistics.median(vals), "p95": pct(vals, 0.95), "max": max(vals)}

    result = {
        "events": n_events,
        "customers": args.customers,
        "changes": len(rows),
        "cores": os.cpu_count(),
        "duckdb_threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "build_seconds": built,
        "baseline_unfiltered": {"funnel_median": statistics.median(base_funnel), "nps_median": statistics.median(base_nps)},
        "filter_change": {k: summary(k) for k in ("views_s", "funnel_s", "nps_s", "total_s")},
        "per_change": rows,
    }
    con.close()
    print(f"store: {n_events:,} events, {args.customers:,} customers ({path}); built in "
          f"{built:.1f}s" if built else f"store: {n_events:,} events ({path}, reused)")
    print(f"baseline (no filter): funnel {result['baseline_unfiltered']['funnel_median']:.3f}s, "
          f"nps {result['baseline_unfiltered']['nps_median']:.3f}s (median of 5)")
    for r in rows:
        print(f"  {r['filter'][:60]:60} views {r['views_s']*1000:6.1f} ms  funnel {r['funnel_s']:.3f}s  "
              f"nps {r['nps_s']:.3f}s  total {r['total_s']:.3f}s")
    for k, label in (("views_s", "views"), ("funnel_s", "funnel"), ("nps_s", "nps"), ("total_s", "filter change -> funnel + nps")):
        s = result["filter_change"][k]
        print(f"{label:32} median {s['median']:.3f}s  p95 {s['p95']:.3f}s  max {s['max']:.3f}s  (n={len(rows)})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
