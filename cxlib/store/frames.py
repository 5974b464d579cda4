"""Start from DataFrames: pandas frames into a new in-memory store, loaded as ``cx ingest`` loads files.

>>> con = from_frames(events=df)  # doctest: +SKIP

`df` may be shaped like retentioneering's event streams (``user_id, event, timestamp``) or hold
the store's own columns (``customer_id, ts, touchpoint, channel``). Every frame is loaded by
``cxlib.store.ingest.ingest`` into a store made as a new store file is (``connect``: the
schema, the shipped stage map, the memory limit), so the rules, the rejects and their reasons
are those of ``cx ingest``, and every analysis runs on the connection returned.
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd

from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.store import schema
from cxlib.store.connection import connect
from cxlib.store.ingest import LoadReport, ingest
from cxlib.store.rejects import rejects_summary

# The preset an events frame without the store's own columns is read with.
EVENTS_PRESET = "clickstream"


class Frame:
    """A DataFrame with how to load it: a preset ('clickstream', 'amplitude', ... or a preset
    file) and `ingest` options (mapping, constants, timezone, date_format, add_customers,
    lowercase, ...; see ``cxlib.ingest``).

    >>> from_frames(events=Frame(df, preset="amplitude", timezone="Europe/Berlin"))  # doctest: +SKIP
    """

    def __init__(self, df: pd.DataFrame, *, preset: str | os.PathLike | None = None, **options):
        self.df = df
        self.preset = preset
        self.options = options

    def __repr__(self) -> str:
        return f"Frame({type(self.df).__name__}, preset={self.preset!r}, **{self.options!r})"


def from_frames(events: pd.DataFrame | Frame | None = None,
                **frames: pd.DataFrame | Frame) -> duckdb.DuckDBPyConnection:
    """A new in-memory store holding the given frames, each loaded as ``cx ingest`` loads a file;
    prints what each load read, loaded and rejected (with the reasons).

    Frames are named by table: `events`, and `customers`, `survey_responses`, `orders`,
    `tickets`, `subscriptions`, `touchpoint_stages` (replaces the shipped stage map). Each is a
    DataFrame, or a ``Frame(df, preset=..., **options)`` saying how to read it. They load in
    the schema's order (customers first), each in one transaction, and the derived tables
    (``events_ordered``, ...) are built as after ``cx ingest``.

    Defaults, each overridden by a Frame's preset or options:
    - an events frame that lacks a column of the store's events (customer_id, ts, touchpoint,
      channel) is read with the 'clickstream' preset (user_id, event, timestamp, ...; channel
      'web' unless the frame has one; touchpoint names lower-cased);
    - without a customers frame, the customers the frames name are created from first sight
      (``add_customers``); with one, rows naming a customer it lacks are rejected.

    A rejected row stays in the store's ``rejects`` table (``line`` is its position in the frame
    plus 2, as in a file with a header) and every load in ``load_log`` (read = loaded + rejected).
    Raises CxInputError for an unknown table name, something that is not a DataFrame or a bad
    option, and CxDataError for a frame that loads no row (empty, a header the table cannot take,
    or every row rejected).

    >>> con = from_frames(events=clicks)  # doctest: +SKIP
    >>> funnel(con, ["catalog", "cart", "payment_done"])  # doctest: +SKIP
    """
    given = _checked({"events": events, **frames})
    con = connect(":memory:", read_only=False)  # DuckDB's in-memory database, set up as a new store file
    try:
        reports = [_load(con, table, frame, add_customers="customers" not in given) for table, frame in given.items()]
    except BaseException:
        con.close()
        raise
    print(_summary(con, reports))
    return con


def _checked(frames: dict) -> dict[str, Frame]:
    """The given frames as {table: Frame}, in the order tables load."""
    for name in frames:
        if name not in schema.LOAD_ORDER:
            raise CxInputError(f"{unknown_name('table', name, 'the store', schema.LOAD_ORDER)}. from_frames takes "
                               "one frame per table; a frame's preset and options go in cxlib.Frame(df, preset=..., "
                               "**options)")
    given = {name: frames[name] for name in schema.LOAD_ORDER if frames.get(name) is not None}
    if not given:
        raise CxInputError("from_frames needs at least one frame, e.g. from_frames(events=df); "
                           f"tables: {', '.join(schema.LOAD_ORDER)}")
    out = {}
    for name, value in given.items():
        frame = value if isinstance(value, Frame) else Frame(value)
        if not isinstance(frame.df, pd.DataFrame):
            raise CxInputError(f"{name} must be a pandas DataFrame, or cxlib.Frame(df, preset=..., **options) "
                               f"around one; got {type(frame.df).__name__}")
        out[name] = frame
    return out


def _load(con: duckdb.DuckDBPyConnection, table: str, frame: Frame, *, add_customers: bool) -> LoadReport:
    spec = schema.table(table)
    preset, options = frame.preset, dict(frame.options)
    names = {str(c).strip().lower() for c in frame.df.columns}
    if table == "events" and preset is None and not options.get("mapping") and not set(spec.required) <= names:
        preset = EVENTS_PRESET
    if spec.references_customers:
        options.setdefault("add_customers", add_customers)
    try:
        report = ingest(frame.df, table, db=con, preset=preset, **options)
    except (CxDataError, CxInputError) as exc:
        raise type(exc)(f"the {table} frame: {exc}") from None
    if report.loaded == 0:
        if report.read == 0:
            raise CxDataError(f"the {table} frame has no rows: nothing to load")
        raise CxDataError(f"no row of the {table} frame could be loaded ({report.read:,} read, all rejected): "
                          f"{'; '.join(_reasons(con, report.load_id))}")
    return report


def _summary(con: duckdb.DuckDBPyConnection, reports: list[LoadReport]) -> str:
    """One line per load (read, loaded, rejected), then its rejected rows by reason."""
    return "\n".join(line for report in reports
                     for line in [str(report), *("  " + r for r in _reasons(con, report.load_id))])


def _reasons(con: duckdb.DuckDBPyConnection, load_id: int) -> list[str]:
    """The load's rejected rows by column and kind of reason, each with its first example."""
    return [f"{r.rows:,} {r.column_name or '(line)'}: {r.reason} (e.g. line {r.examples[0]})"
            for r in rejects_summary(con, load_id=load_id, examples=1).itertuples()]


__all__ = ["Frame", "from_frames"]
