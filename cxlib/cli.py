"""The `cx` command line: sample data, ingestion, store summary, reports, JupyterLab.

Errors of ours print one line (`cx: error: ...`) and exit non-zero; no traceback is the interface.
Exit codes: 0 success, 1 failed run or bad data, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import schema
from .errors import CxError, CxInputError

EXIT_FAILED, EXIT_USAGE = 1, 2


def _parse_mapping(pairs: list[str]) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            raise CxInputError(f"--map takes SOURCE=TARGET (or SOURCE= to drop a column), got {pair!r}")
        src, dst = pair.split("=", 1)
        mapping[src.strip()] = dst.strip() or None
    return mapping


def cmd_sample(args) -> int:
    from .sample import generate
    from .store import default_path

    path = Path(args.db) if args.db else default_path()
    started = time.perf_counter()
    counts = generate(path, customers=args.customers, seed=args.seed)
    took = time.perf_counter() - started
    summary = ", ".join(f"{t} {n:,}" for t, n in counts.items())
    print(f"sample store {path} built in {took:.1f}s: {summary}")
    return 0


def cmd_ingest(args) -> int:
    from .ingest import ingest
    from .store import connect

    mapping = _parse_mapping(args.map)
    con = connect(args.db, read_only=False)
    failed = 0
    try:
        for i, source in enumerate(args.files):
            try:
                report = ingest(source, args.table, db=con, mapping=mapping, timezone=args.timezone,
                                date_format=args.date_format, delimiter=args.delimiter, encoding=args.encoding)
            except CxError as exc:
                if len(args.files) == 1:
                    raise
                done = f" ({i} earlier file(s) loaded, as printed above)" if i else ""
                raise type(exc)(f"{source}: {exc}{done}") from None
            print(report)
            failed += report.rejected > 0
    finally:
        con.close()
    return EXIT_FAILED if failed and args.strict else 0


def cmd_info(args) -> int:
    from .store import as_of, connect

    con = connect(args.db)
    for name in schema.LOAD_ORDER:
        print(f"{name:18} {con.execute(f'SELECT count(*) FROM {name}').fetchone()[0]:>12,}")
    print(f"{'as of':18} {as_of(con)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx", description="CX Workbench: customer-experience analysis.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_db(p):
        p.add_argument("--db", help="store path (default: $CX_DB, else data/cx.duckdb)")

    p = sub.add_parser("sample", help="build a seeded synthetic store with planted effects",
                       description="Build a seeded synthetic store (all tables, planted effects; see cxlib/sample.py).")
    p.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    add_db(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("ingest", help="load CSV/Parquet files into a table of the store",
                       description="Load files into TABLE. Every row loads or lands in the rejects table with "
                                   "its line and reason; loading a file twice adds nothing. Load customers first.")
    p.add_argument("table", choices=list(schema.TABLES), metavar="TABLE", help=", ".join(schema.LOAD_ORDER))
    p.add_argument("files", nargs="+", metavar="FILE", help=".csv/.tsv/.txt (optionally .gz) or .parquet")
    p.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                   help="rename a source column (repeatable); SRC= drops it")
    p.add_argument("--timezone", default="UTC", help="time zone of naive timestamps (default UTC)")
    p.add_argument("--date-format", help="strptime format for non-ISO timestamps, e.g. '%%d/%%m/%%Y %%H:%%M'")
    p.add_argument("--delimiter", help="field delimiter (default: detected from the header among , ; tab |)")
    p.add_argument("--encoding", default="utf-8", help="utf-8 (default, BOM allowed), latin-1 or utf-16")
    p.add_argument("--strict", action="store_true", help="exit 1 when any row was rejected")
    add_db(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("info", help="row counts and as-of date of the store")
    add_db(p)
    p.set_defaults(func=cmd_info)

    from . import explore, reports

    reports.add_cli(sub, add_db)
    explore.add_cli(sub, add_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CxInputError as exc:
        print(f"cx: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CxError as exc:
        print(f"cx: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cx: interrupted; the store is unchanged by the unfinished step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
