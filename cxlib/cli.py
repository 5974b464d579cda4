"""The `cx` command line: sample data, ingestion, store summary, reports, JupyterLab.

The top layer: it may import every other layer and nothing imports it. Each command parses its
arguments and calls one function of the layer that does the work.
Errors of ours print one line (`cx: error: ...`) and exit non-zero; no traceback is the interface.
Exit codes: 0 success, 1 failed run or bad data (or a file that loaded nothing), 2 bad arguments,
130 interrupted; a reader that goes away (cx profile | head) ends the output quietly with 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from cxlib.errors import CxDataError, CxError, CxInputError, did_you_mean
from cxlib.store import schema

EXIT_FAILED, EXIT_USAGE = 1, 2


# --------------------------------------------------------------------------- store


def cmd_sample(args) -> int:
    from cxlib.locations import sample_store
    from cxlib.store.sample import generate

    path = Path(args.db) if args.db else sample_store()
    started = time.perf_counter()
    counts = generate(path, customers=args.customers, seed=args.seed)
    took = time.perf_counter() - started
    summary = ", ".join(f"{t} {n:,}" for t, n in counts.items())
    print(f"sample store {path} built in {took:.1f}s: {summary}")
    return 0


def _pairs(values: list[str], flag: str, *, empty_is_none: bool = False, form: str = "NAME=VALUE") -> dict:
    """NAME=VALUE arguments of a repeatable flag as a dict (in order)."""
    out: dict = {}
    for pair in values or []:
        name, _, value = (part.strip() for part in pair.partition("="))
        if "=" not in pair or not name:
            raise CxInputError(f"{flag} takes {form}, got {pair!r}")
        out[name] = (value or None) if empty_is_none else value
    return out


def _ingest_options(args) -> dict:
    """The `ingest` options the command line gave (None: not given, so a preset's setting stands)."""
    wide = {}
    if args.question:
        wide["questions"] = _pairs(args.question, "--question")
    if args.question_comment:
        wide["comments"] = _pairs(args.question_comment, "--question-comment")
    return {
        "mapping": _pairs(args.map, "--map", empty_is_none=True,
                          form="SOURCE=TARGET (or SOURCE= to drop a column)") or None,
        "constants": _pairs(args.set, "--set") or None,
        "timezone": args.timezone, "date_format": args.date_format, "delimiter": args.delimiter,
        "encoding": args.encoding,
        "columns": [c.strip() for c in args.columns.split(",")] if args.columns else None,
        "skip_rows": args.skip_rows, "add_customers": args.add_customers or None, "update": args.update or None,
        "lowercase": True if args.lowercase else None,
        "metric_scales": _pairs(args.metric_scale, "--metric-scale") or None,
        "as_of": args.as_of, "tenure_unit": args.tenure_unit, "wide": wide or None,
        "earliest": args.earliest, "latest": args.latest,
    }


def cmd_ingest(args) -> int:
    from cxlib.store.connection import connect
    from cxlib.store.ingest import ingest

    options = _ingest_options(args)
    personal = [c.strip() for c in (args.personal or "").split(",") if c.strip()]
    if personal and args.table != "customers":
        raise CxInputError(f"--personal declares customer columns personal; load customers with it, not {args.table}")
    con = connect(args.db, read_only=False)
    failed = empty = 0
    try:
        for i, source in enumerate(args.files):
            try:
                report = ingest(source, args.table, db=con, preset=args.preset, force=args.force, **options)
            except CxError as exc:
                if len(args.files) == 1:
                    raise
                done = f" ({i} earlier file(s) loaded, as printed above)" if i else ""
                raise type(exc)(f"{source}: {exc}{done}") from None
            print(report)
            failed += report.rejected > 0
            empty += report.loaded == 0 and not _only_repeats(con, report)
        if personal:
            from cxlib.privacy.masking import declare_personal_columns

            declared = declare_personal_columns(con, personal)
            print(f"personal columns (their values masked in every report): {', '.join(declared)}")
    finally:
        con.close()
    if empty:
        print(f"cx: error: {empty} of {len(args.files)} file(s) loaded nothing (see above)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if failed and args.strict else 0


def _only_repeats(con, report) -> bool:
    """A repeated load, which rightly adds nothing: rows are already in the store, and every row
    read is such a row, repeats an earlier row of this load, or was rejected on the same line for
    the same reason when this source was loaded before (a re-export's bad rows stay bad)."""
    stored, repeats = con.execute(
        """SELECT count(*) FILTER (WHERE reason = 'duplicate key: already in the store'),
                  count(*) FILTER (WHERE reason LIKE 'duplicate key: %' OR EXISTS (
                      SELECT 1 FROM rejects p WHERE p.load_id < r.load_id AND p.source = r.source
                        AND p.line IS NOT DISTINCT FROM r.line AND p.reason = r.reason))
           FROM rejects r WHERE load_id = ?""", [report.load_id]).fetchone()
    return stored > 0 and repeats == report.read


def cmd_rejects(args) -> int:
    from cxlib.store.connection import connect
    from cxlib.store.rejects import rejects_summary

    con = connect(args.db)
    try:
        summary = rejects_summary(con, load_id=args.load, examples=args.examples)
    finally:
        con.close()
    if summary.empty:
        print("no rejected rows" + (f" in load {args.load}" if args.load else ""))
        return 0
    for (load_id, table, source), group in summary.groupby(["load_id", "table_name", "source"], sort=False):
        print(f"load {load_id}: {table} <- {source}")
        for r in group.itertuples():
            print(f"  {r.rows:>8,}  {r.column_name or '(line)'}: {r.reason}")
            for example in r.examples:
                print(f"            e.g. line {example}")
    return 0


def cmd_presets(args) -> int:
    from cxlib.store.presets import PRESET_DIR, describe_presets

    for name, table, description in describe_presets():
        print(f"{name} ({table}): {description}\n")
    print(f"Preset files: {PRESET_DIR} (copy one, edit it, pass its path to --preset)")
    return 0


def cmd_profile(args) -> int:
    from cxlib.analysis.profile import profile
    from cxlib.store.connection import connect

    con = connect(args.db)
    try:
        print(profile(con))
    finally:
        con.close()
    return 0


def cmd_stages_suggest(args) -> int:
    from cxlib.store.connection import connect
    from cxlib.store.stages import suggest_stages

    con = connect(args.db)
    try:
        stages = suggest_stages(con)
    finally:
        con.close()
    if stages.empty:
        raise CxDataError("the store holds no events, so there are no touchpoints to map: load events first")
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise CxInputError(f"{out} exists; pass --overwrite to replace it, or another -o FILE")
    stages[["touchpoint", "stage"]].to_csv(out, index=False)
    counts = stages["source"].value_counts()
    print(f"wrote {out}: {len(stages)} touchpoints ({counts.get('map', 0)} from the current map, "
          f"{counts.get('guess', 0)} guessed from their names, {counts.get('default', 0)} set to 'consideration' "
          "for want of a better guess). Edit the stages (awareness, consideration, purchase, service, loyalty), "
          f"then load it: cx ingest touchpoint_stages {out}")
    return 0


def cmd_info(args) -> int:
    from cxlib.sql import quote_ident
    from cxlib.store.connection import as_of, connect

    con = connect(args.db)
    for name in schema.LOAD_ORDER:
        print(f"{name:18} {con.execute(f'SELECT count(*) FROM {quote_ident(name)}').fetchone()[0]:>12,}")
    print(f"{'as of':18} {as_of(con)}")
    return 0


# --------------------------------------------------------------------------- reports


def _targets_from_args(args) -> list:
    from cxlib.report.jobs import JOBS_FILE, ReportTarget, load_jobs, notebooks, resolve_notebook
    from cxlib.report.params import load_params_file, parse_assignments

    extra: dict = {}
    if args.params_file:
        extra.update(load_params_file(args.params_file))
    extra.update(parse_assignments(args.param or []))
    if args.db:
        extra["db_path"] = str(args.db)
    targets: list[ReportTarget] = []
    if args.job or args.all_jobs:
        jobs = load_jobs(args.jobs_file or JOBS_FILE)
        names = list(jobs) if args.all_jobs else args.job
        for name in names:
            if name not in jobs:
                raise CxInputError(f"job '{name}' not in {args.jobs_file or JOBS_FILE}{did_you_mean(name, jobs)} "
                                   f"Available: {', '.join(sorted(jobs)) or '(none)'}")
            job = jobs[name]
            targets.append(ReportTarget(job.name, job.notebook, {**job.parameters, **extra}, job=job.name,
                                        shared=frozenset(extra) - {"db_path"}))
    paths = [resolve_notebook(n) for n in args.notebooks]
    if args.all:
        paths += [p.resolve() for p in notebooks()]
    shared = frozenset(extra) - {"db_path"} if len(paths) > 1 else frozenset()
    for path in paths:
        targets.append(ReportTarget(path.stem, path, dict(extra), shared=shared))
    return targets


def _out_dir(args) -> Path | None:
    return Path(args.out) if args.out else None


def cmd_report_run(args) -> int:
    from cxlib.report.runs import run_reports

    if args.engine:  # the runner's checks and every notebook's kernel (which inherits it) read it
        os.environ["CX_ENGINE"] = args.engine

    result = run_reports(_targets_from_args(args), out_dir=_out_dir(args), timeout=args.timeout,
                         notebook_timeout=args.notebook_timeout, kernel_name=args.kernel, pdf=args.pdf,
                         jobs=args.jobs)
    index = (result.run_dir.parent / "index.html") if result.run_dir else None
    if result.failed:
        raise CxError(
            f"{len(result.failed)} of {len(result.targets)} report(s) failed: "
            + "; ".join(f"{t.name}: {t.reason}" for t in result.failed)
            + f" (partly executed notebooks kept for analysts in {result.analyst_dir}; earlier reports unchanged)"
        )
    print(f"{len(result.targets)} report(s) ok in {result.run_dir}; index {index}")
    return 0


def cmd_report_list(args) -> int:
    from cxlib.report.jobs import JOBS_FILE, load_jobs, notebooks
    from cxlib.report.params import accepted, notebook_parameters

    for path in notebooks():
        declared = notebook_parameters(path)
        print(f"{path.stem}: {accepted(declared) if declared is not None else '(no parameters cell)'}")
    jobs_file = Path(args.jobs_file or JOBS_FILE)
    if jobs_file.exists():
        for name, job in load_jobs(jobs_file).items():
            print(f"job {name}: {job.notebook.name} {json.dumps(job.parameters)}")
    return 0


def cmd_report_index(args) -> int:
    from cxlib.report.index import rebuild_index

    print(rebuild_index(_out_dir(args)))
    return 0


def cmd_demo(args) -> int:
    from cxlib.locations import sample_store
    from cxlib.report.jobs import ReportTarget, notebooks
    from cxlib.report.runs import run_reports

    cmd_sample(args)
    store = str(Path(args.db) if args.db else sample_store())
    targets = [ReportTarget(p.stem, p.resolve(), {"db_path": store}) for p in notebooks()]
    result = run_reports(targets, out_dir=_out_dir(args))
    if result.failed:
        raise CxError(f"{len(result.failed)} of {len(result.targets)} report(s) failed: "
                      + "; ".join(f"{t.name}: {t.reason}" for t in result.failed))
    print(f"reports in {result.run_dir}; open {result.run_dir.parent / 'index.html'}")
    return 0


# --------------------------------------------------------------------------- JupyterLab


def cmd_lab(args) -> int:
    from cxlib.explore.lab import start_lab

    return start_lab(args.db, port=args.port, no_browser=args.no_browser, notebook_dir=args.notebook_dir,
                     extra=args.jupyter_args)


# --------------------------------------------------------------------------- the parser


def _add_db(p) -> None:
    p.add_argument("--db", help="store path (default: $CX_DB, else data/cx.duckdb)")


def _add_store_commands(sub) -> None:
    p = sub.add_parser("sample", help="build a seeded synthetic store with planted effects",
                       description="Build a seeded synthetic store (all tables, planted effects; see "
                                   "cxlib/store/sample.py) in data/sample.duckdb, apart from your own store. "
                                   "It replaces an earlier sample, never a store holding loaded data.")
    p.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--db", help="where to build it (default data/sample.duckdb)")
    p.set_defaults(func=cmd_sample)

    _add_ingest_command(sub)

    p = sub.add_parser("rejects", help="what the loads rejected, by reason, with example lines")
    p.add_argument("--load", type=int, metavar="ID", help="one load (default: every load)")
    p.add_argument("--examples", type=int, default=2, metavar="N", help="example lines per reason (default 2)")
    _add_db(p)
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("presets", help="the shipped presets for common export shapes")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("profile", help="what the store holds and which report sections can run on it",
                       description="Tables with rows and date ranges, customers, touchpoints (and those without a "
                                   "stage), attributes usable as segments, survey metrics, and for every report "
                                   "section whether it can run here or what to load to enable it.")
    _add_db(p)
    p.set_defaults(func=cmd_profile)

    stages = sub.add_parser("stages", help="the touchpoint -> stage map of the store")
    ssub = stages.add_subparsers(dest="stages_command", required=True, metavar="ACTION")
    p = ssub.add_parser("suggest", help="write a starting map of the store's own touchpoints to edit and load",
                        description="Write a CSV (touchpoint,stage) with every touchpoint the store's events use: the "
                                    "stage from the current map where it has one, else a guess from the name. Edit "
                                    "it, then load it with cx ingest touchpoint_stages FILE.")
    p.add_argument("-o", "--output", default="touchpoint_stages.csv", help="file to write (default touchpoint_stages.csv)")
    p.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    _add_db(p)
    p.set_defaults(func=cmd_stages_suggest)

    p = sub.add_parser("info", help="row counts and as-of date of the store")
    _add_db(p)
    p.set_defaults(func=cmd_info)


def _add_ingest_command(sub) -> None:
    p = sub.add_parser(
        "ingest", help="load CSV, JSON-lines or Parquet files into a table of the store",
        description="Load files into TABLE. Every row loads or lands in the rejects table with its line and reason; "
                    "loading a file twice adds nothing. Exports as they come: rename columns with --map, supply "
                    "a missing one with --set, create customers from first sight with --add-customers, or use a "
                    "--preset for a common export shape (cx presets lists them). Exit 1 when a file loads nothing.")
    p.add_argument("table", choices=list(schema.TABLES), metavar="TABLE", help=", ".join(schema.LOAD_ORDER))
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".csv/.tsv/.txt/.json/.jsonl (optionally .gz) or .parquet")
    p.add_argument("--preset", metavar="NAME|FILE.yml", help="settings for an export shape (see cx presets)")
    p.add_argument("--map", action="append", default=[], metavar="SRC=DST",
                   help="rename a source column (repeatable); SRC= drops it; a.b names a field of a JSON object")
    p.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE",
                   help="a column every row shares, e.g. --set channel=web (repeatable)")
    p.add_argument("--add-customers", action="store_true",
                   help="create customers the file names that are not in the store (signup: first seen)")
    p.add_argument("--update", action="store_true",
                   help="replace stored rows with the same key when they changed (previous versions kept in history)")
    p.add_argument("--columns", metavar="A,B,C", help="column names of a file without a header line")
    p.add_argument("--skip-rows", type=int, metavar="N", help="rows after the header to skip (question texts)")
    p.add_argument("--timezone", help="time zone of naive timestamps (default UTC)")
    p.add_argument("--date-format", help="strptime format for non-ISO timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' or "
                                         "'%%Y%%m%%d'; epoch_s, epoch_ms, epoch_us for numbers since 1970")
    p.add_argument("--delimiter", help="field delimiter, or 'whitespace' (default: detected among , ; tab |)")
    p.add_argument("--encoding", help="utf-8 (default, BOM allowed), latin-1 or utf-16")
    p.add_argument("--lowercase", action="store_true", help="fold touchpoint and channel names to lower case")
    p.add_argument("--metric-scale", action="append", default=[], metavar="METRIC=MIN-MAX",
                   help="declare a survey metric beyond nps/csat/ces, e.g. trust=0-10 (repeatable)")
    p.add_argument("--question", action="append", default=[], metavar="COLUMN=METRIC",
                   help="a wide survey export: this question column holds METRIC (repeatable)")
    p.add_argument("--question-comment", action="append", default=[], metavar="COLUMN=COMMENT_COLUMN",
                   help="a wide survey export: the comment column that goes with a question (repeatable)")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="subscriptions by tenure: the day the export was taken")
    p.add_argument("--tenure-unit", choices=["month", "week", "day"], help="unit of tenure (default month)")
    p.add_argument("--earliest", metavar="YYYY-MM-DD", help="times before this are rejected as implausible "
                                                           "(default 1970-01-01)")
    p.add_argument("--latest", metavar="YYYY-MM-DD", help="times after this are rejected as implausible "
                                                         "(default: the load time plus one day)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any row was rejected")
    p.add_argument("--force", action="store_true", help="load into a sample store all the same")
    p.add_argument("--personal", metavar="A,B",
                   help="customers only: declare these columns personal (e.g. name,email); kept in the store, "
                        "their values are masked in every report (columns named name, email, phone, ... always are)")
    _add_db(p)
    p.set_defaults(func=cmd_ingest)


def _add_report_commands(sub) -> None:
    from cxlib.report.runs import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT

    p = sub.add_parser("demo", help="build the sample store (data/sample.duckdb) and run every report notebook on it")
    p.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.add_argument("--db", help="where to build the sample (default data/sample.duckdb)")
    p.set_defaults(func=cmd_demo)

    report = sub.add_parser("report", help="run report notebooks into reports/ (HTML for stakeholders)",
                            description="Run, list and index report notebooks. See reports/README.md.")
    rsub = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    p = rsub.add_parser(
        "run", help="run notebooks or named jobs into reports/<run-id>/",
        description="Run notebooks with papermill into reports/<run-id>/ as HTML without code (the executed "
                    ".ipynb go to reports/.analyst/<run-id>/, for analysts only), then rewrite reports/index.html. "
                    "Parameters are checked against each notebook's "
                    "'parameters' cell before any kernel starts. A failed run exits 1 with a one-line reason, "
                    "keeps <name>.failed.ipynb for analysts and leaves earlier reports untouched. Examples: "
                    "cx report run journey -p start=2024-01-01 -p segment=region; cx report run --all; "
                    "cx report run --job overview; cx report run --all-jobs (for cron/CI).")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebook names in notebooks/ or .ipynb paths")
    p.add_argument("--all", action="store_true", help="every notebook in notebooks/")
    p.add_argument("--job", action="append", metavar="NAME", help="a named job from the jobs file (repeatable)")
    p.add_argument("--all-jobs", action="store_true", help="every job in the jobs file")
    p.add_argument("--jobs-file", help="jobs file (default: the one shipped in cxlib/data/report_jobs.yml)")
    p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="a parameter for every notebook run (repeatable; overrides the jobs and params files)")
    p.add_argument("--params-file", metavar="FILE.yml", help="parameters as a YAML mapping name: value")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help=f"seconds per cell (default {DEFAULT_TIMEOUT})")
    p.add_argument("--notebook-timeout", type=int, default=DEFAULT_NOTEBOOK_TIMEOUT,
                   help=f"seconds per notebook, all cells together (default {DEFAULT_NOTEBOOK_TIMEOUT})")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel (default python3)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="notebooks run at once (default: the number of cores, at most the number of notebooks; "
                        "1 runs them one after another). The pages are the same whatever N is")
    p.add_argument("--pdf", action="store_true",
                   help="also print each good report to <report>.pdf beside it with headless Chromium "
                        "(where none is installed, the run still succeeds and says no PDF was made)")
    p.add_argument("--engine", choices=("duckdb", "spark"),
                   help="where the queries run (default duckdb, or CX_ENGINE). With spark, --db is the Spark config "
                        "file naming the tables (cx-spark.yml; see README, Warehouse scale)")
    _add_db(p)
    p.set_defaults(func=cmd_report_run)

    p = rsub.add_parser("list", help="notebooks with the parameters they accept, and the named jobs")
    p.add_argument("--jobs-file", help="jobs file")
    p.set_defaults(func=cmd_report_list)

    p = rsub.add_parser("index", help="rebuild reports/index.html from the runs' manifests")
    p.add_argument("--out", help="reports folder (default reports/)")
    p.set_defaults(func=cmd_report_index)


def _add_lab_command(sub) -> None:
    p = sub.add_parser(
        "lab",
        help="open JupyterLab on notebooks/ with the store configured",
        description="Start JupyterLab on the notebooks directory with CX_DB set to the store, so "
        "every notebook (and cxlib.connect()) opens it. Stop it with Ctrl-C.",
    )
    _add_db(p)
    p.add_argument("--port", type=int, help="port to listen on (default: JupyterLab's, 8888 or the next free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser (print the URL instead)")
    p.add_argument("--notebook-dir", help="directory to open (default: the project's notebooks/)")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, metavar="-- JUPYTER_OPTIONS",
                   help="further JupyterLab options after --, e.g. -- --ip=0.0.0.0")
    p.set_defaults(func=cmd_lab)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cx", description="CX Workbench: customer-experience analysis.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_store_commands(sub)
    _add_report_commands(sub)
    _add_lab_command(sub)
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
    except BrokenPipeError:  # the reader went away (cx profile | head): nothing more to say
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
