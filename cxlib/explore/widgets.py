"""The filter panel (ipywidgets) an analyst uses in JupyterLab when a notebook runs with interactive=True.

One panel per section of a notebook: date range (both days included), a customer attribute and
its values, a saved segment, channel, touchpoint. Every view registered on the panel is re-run
with the current filter when a control changes (one debounced request for all of them), without
re-running the notebook:

    panel = cxlib.explore.widgets.FilterPanel(con, notebook="voice_of_customer")
    panel.view(lambda con, f: cxlib.charts.chart_nps(cxlib.nps(con, by=f.attribute or "region")))
    panel
    ...
    trend = ipywidgets.Output()  # shown in a later cell, below its text
    panel.bind(lambda con, f: cxlib.charts.chart_nps(cxlib.nps(con, period="month", **f.as_kwargs())), trend)
    trend

``func(con, filters)`` receives a filtered connection (see :func:`cxlib.explore.filtered`: the
canonical tables hold only the filtered rows, so every cxlib function works unchanged) and the
:class:`~cxlib.explore.Filters` value; it returns what to show (a DataFrame, a chart, text, or a
tuple of them); the panel adds the filter's description to each chart's title (a subtitle line)
and to each table (a caption line), and a view that fails shows its error while the others
still draw. Changes are debounced (default 300 ms after the last change), queries run in a
worker thread with a visible busy state, and a generation counter makes sure that a result of an
older filter never overwrites a newer one (an older query still running is interrupted).

:func:`explore` is the one-liner a notebook uses: with ``interactive=False`` it creates no widget
and returns ``func``'s static result for the notebook's own filter.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb

from cxlib.errors import CxError, CxInputError
from cxlib.explore.filters import (
    Drilldown,
    Filters,
    attribute_columns,
    attribute_values,
    drilldown_customers,
    drilldown_funnel_dropped,
    drilldown_sql,
    filter_choices,
    filtered,
    saved_segments,
)

ALL = "(all)"
NONE = "(none)"
EVERYONE = "(all customers)"


class Debouncer:
    """Calls `callback` once, `delay` seconds after the last :meth:`trigger`.

    Each trigger cancels the pending call and schedules a new one, so a burst of changes runs the
    callback once, with the last state. ``timer_factory(delay, fn)`` returns an object with
    ``start()`` and ``cancel()`` (``threading.Timer`` by default); tests pass a fake clock's
    factory to drive time deterministically.
    """

    def __init__(self, delay: float, callback: Callable[[], None], *, timer_factory: Callable = threading.Timer):
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
            raise CxInputError(f"debounce delay must be a number of seconds >= 0, got {delay!r}")
        self.delay = float(delay)
        self._callback = callback
        self._timer_factory = timer_factory
        self._timer = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> bool:
        return self._timer is not None

    def trigger(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self.delay == 0:
                self._timer = None
                run_now = True
            else:
                timer = self._timer_factory(self.delay, self._fire)
                if hasattr(timer, "daemon"):
                    timer.daemon = True
                self._timer = timer
                run_now = False
        if run_now:
            self._callback()
        else:
            timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
        self._callback()

    def flush(self) -> None:
        """Run a pending call now (no-op when nothing is pending)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._callback()

    def cancel(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


class _InlineExecutor(Executor):
    """Runs each job at once in the caller's thread (for tests and for the first render)."""

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future like a real executor
            future.set_exception(exc)
        return future


@dataclass
class View:
    """One registered view: the callable, the Output it draws into, and what its last run produced."""

    func: Callable
    output: Any
    drilldown: Drilldown | None = None
    error: str | None = None
    runs: int = 0


def _title_text(title) -> str:
    """A Vega-Lite title or subtitle (text, lines, or {'text': ...}) as one line of text."""
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, (list, tuple)):
        return " ".join(str(line) for line in title)
    return "" if title is None else str(title)


def with_filter_title(spec: dict, text: str) -> dict:
    """A Vega-Lite spec whose title states `text` (the filter description) as a subtitle line.

    The title kept is the chart's own: the top-level one, else (for a layered chart) the first
    layer's, lifted to the top; an existing subtitle keeps its lines and `text` is added below
    them. A chart without any title gets `text` as its title. A title or subtitle that already
    says `text` is left as it is. `spec` is not changed.
    """
    spec = dict(spec)
    if "title" not in spec and "layer" in spec:
        layers = [dict(layer) for layer in spec["layer"]]
        for layer in layers:
            if "title" in layer:
                spec["title"] = layer.pop("title")
                break
        spec["layer"] = layers
    if "title" not in spec:
        spec["title"] = {"text": text, "anchor": "start"}
        return spec
    title = dict(spec["title"]) if isinstance(spec["title"], dict) else {"text": spec["title"]}
    subtitle = title.get("subtitle")
    if text in _title_text(title) or text in _title_text(subtitle):
        return spec
    lines = [] if subtitle is None else [subtitle] if isinstance(subtitle, str) else list(subtitle)
    title["subtitle"] = [*lines, text] if lines else text
    spec["title"] = title
    return spec


def _is_table(obj) -> bool:
    import pandas as pd
    from great_tables import GT
    from pandas.io.formats.style import Styler

    return isinstance(obj, (pd.DataFrame, Styler, GT))


def _format(obj, caption: str) -> dict:
    """One display_data output: a chart titled with `caption`, a table under a `caption` line, else as is."""
    import altair as alt

    if isinstance(obj, alt.TopLevelMixin):
        from cxlib.charts import lab_bundle

        data, metadata = lab_bundle(with_filter_title(obj.to_dict(), caption))
        return {"output_type": "display_data", "data": data, "metadata": metadata}
    from IPython.core.formatters import format_display_data

    from cxlib.explore.click import Drill

    if isinstance(obj, Drill):  # a drillable chart states the filter like any other
        obj.chart.spec = with_filter_title(obj.chart.spec, caption)
    data, metadata = format_display_data(obj)
    if _is_table(obj):
        data = dict(data)
        data["text/plain"] = f"{caption}\n{data.get('text/plain', '')}"
        if "text/html" in data:
            data["text/html"] = f'<div class="cx-caption" style="color:#555555">{html.escape(caption)}</div>{data["text/html"]}'
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def _outputs_of(result, caption: str) -> tuple[dict, ...]:
    """The outputs of a view's result (one item, or a tuple/list of items), each stating `caption`."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    return tuple(_format(item, caption) for item in items if item is not None)


def _error_output(message: str) -> tuple[dict, ...]:
    text = html.escape(message)
    return (
        {
            "output_type": "display_data",
            "data": {"text/plain": message, "text/html": f'<div class="cx-error" style="color:#c23b4b">{text}</div>'},
            "metadata": {},
        },
    )


class FilterPanel:
    """ipywidgets controls for a :class:`Filters` value that re-run registered views on change.

    Controls: ``start``/``end`` date pickers ("From", "To": both days included), ``attribute``
    (a customer attribute) and ``values`` (its values; none chosen = all customers), ``segment``
    (a saved segment, see :func:`cxlib.explore.save_segment`; the list is read again on
    :meth:`refresh`), ``channel`` and ``touchpoint`` menus, a Refresh and a Reset button, a
    status line and, per view, an Output; with ``notebook=`` (a report notebook's name) a "Copy
    as report parameters" button shows the filter as that report's parameters
    (:meth:`report_parameters`, :meth:`report_snippet`).
    Programmatic use (tests, or a notebook cell): :meth:`set`, :attr:`filters`, :meth:`refresh`.

    State for tests and the analyst: ``generation`` (number of requests made), ``completed``
    (generation of the result on display), ``stale_dropped`` (results discarded because a newer
    request existed), ``busy``, ``queries`` (filters of each request actually run).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        filters: Filters | None = None,
        debounce: float = 0.3,
        timer_factory: Callable = threading.Timer,
        executor: Executor | None = None,
        max_values: int = 200,
        notebook: str | None = None,
    ):
        import ipywidgets as w

        self.con = con
        filters = Filters() if filters is None else filters
        if not isinstance(filters, Filters):
            raise CxInputError(f"filters must be a cxlib.explore.Filters, got {type(filters).__name__}")
        self._w = w
        self._max_values = max_values
        self._lock = threading.RLock()
        self._executor = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="cx-panel")
        self._running: dict[int, Any] = {}
        self._muted = False
        self.views: list[View] = []
        self.generation = 0
        self.completed = 0
        self.stale_dropped = 0
        self.busy = False
        self.queries: list[Filters] = []
        self.last_seconds: float | None = None
        self.filters_shown = Filters()  # the filter of the results on display
        self.sql_visible = False
        self.notebook = notebook

        choices = filter_choices(con)
        attributes = attribute_columns(con)
        segments = _segment_names(con)
        _check_offered(filters, choices, attributes, segments)
        self._make_filter_controls(filters, choices, attributes, segments)
        self._make_buttons()
        self._make_outputs()
        self._make_widget()
        self._connect_events(debounce, timer_factory)
        self._set_status("ready")

    def _make_filter_controls(self, filters: Filters, choices: dict, attributes: list[str], segments: list[str]) -> None:
        """The date pickers, attribute and values, segment, channel and touchpoint menus, set to `filters`."""
        w = self._w
        layout = w.Layout(width="auto")
        style = {"description_width": "initial"}
        self.start = w.DatePicker(description="From", value=_date(filters.start), style=style, layout=layout)
        self.end = w.DatePicker(description="To", value=_date(filters.end), style=style, layout=layout)
        self.attribute = w.Dropdown(description="Attribute", options=[NONE, *attributes],
                                    value=filters.attribute or NONE, style=style, layout=layout)
        self.values = w.SelectMultiple(description="Values", options=self._value_options(filters.attribute),
                                       rows=4, style=style, layout=layout)
        if filters.values:
            self.values.options = tuple(dict.fromkeys([*self.values.options, *filters.values]))
            self.values.value = tuple(filters.values)
        self.segment = w.Dropdown(description="Segment", options=[EVERYONE, *segments],
                                  value=filters.segment or EVERYONE, style=style, layout=layout)
        self.channel = w.Dropdown(description="Channel", options=[ALL, *choices["channel"]],
                                  value=filters.channel or ALL, style=style, layout=layout)
        self.touchpoint = w.Dropdown(description="Touchpoint", options=[ALL, *choices["touchpoint"]],
                                     value=filters.touchpoint or ALL, style=style, layout=layout)

    def _make_buttons(self) -> None:
        w = self._w
        self.refresh_button = w.Button(description="Refresh", icon="refresh", tooltip="Run the views again now")
        self.reset_button = w.Button(description="Reset", tooltip="Clear every filter")
        self.sql_toggle = w.ToggleButton(description="Show SQL", value=False, tooltip="Show the SQL behind each view")
        self.copy_button = w.Button(description="Copy as report parameters", layout=w.Layout(width="auto"),
                                    disabled=self.notebook is None,
                                    tooltip="The filter as a scheduled report's parameters" if self.notebook else
                                    "Give the panel notebook= (the report's name) to copy its parameters")

    def _make_outputs(self) -> None:
        """The status line, the SQL box (hidden until asked for) and the box of the views' Outputs."""
        w = self._w
        self.status = w.HTML(value="")
        self.sql = w.HTML(value="", layout=w.Layout(display="none"))
        self.report_text = w.Textarea(value="", rows=10, layout=w.Layout(width="100%", display="none"))
        self.outputs = w.VBox([])

    def _make_widget(self) -> None:
        """The panel's widget: the controls in rows, then the views and the SQL, with CSS classes."""
        w = self._w
        self.widget = w.VBox(
            [
                w.HTML("<style>.cx-busy{opacity:.45;transition:opacity .2s}</style>"),
                w.HBox([self.start, self.end, self.channel, self.touchpoint]),
                w.HBox([self.attribute, self.values, self.segment]),
                w.HBox([self.refresh_button, self.reset_button, self.sql_toggle, self.copy_button, self.status]),
                self.report_text,
                self.outputs,
                self.sql,
            ]
        )
        self.widget.add_class("cx-filter-panel")
        for name in ("start", "end", "attribute", "values", "segment", "channel", "touchpoint"):
            getattr(self, name).add_class(f"cx-filter-{name}")  # stable hooks for tests and styling

    def _connect_events(self, debounce: float, timer_factory: Callable) -> None:
        """A change of a control re-runs the views (debounced); the buttons refresh, reset, show SQL."""
        self._debouncer = Debouncer(debounce, self._request, timer_factory=timer_factory)
        for control in (self.start, self.end, self.values, self.segment, self.channel, self.touchpoint):
            control.observe(self._changed, names="value")
        self.attribute.observe(self._attribute_changed, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.reset_button.on_click(lambda _b: self.reset())
        self.sql_toggle.observe(self._toggle_sql, names="value")
        self.copy_button.on_click(lambda _b: self._copy_report_parameters())

    # ------------------------------------------------------------------ state

    @property
    def filters(self) -> Filters:
        """The Filters value the controls show now (CxInputError if they contradict each other)."""
        attribute = None if self.attribute.value == NONE else self.attribute.value
        return Filters(
            start=self.start.value,
            end=self.end.value,
            attribute=attribute,
            values=tuple(self.values.value) if attribute else (),
            channel=None if self.channel.value == ALL else self.channel.value,
            touchpoint=None if self.touchpoint.value == ALL else self.touchpoint.value,
            segment=None if self.segment.value == EVERYONE else self.segment.value,
        )

    def set(self, **changes) -> None:
        """Change controls as a user would (one debounced re-run for all changes together).

        Keys: start, end (date, 'YYYY-MM-DD' or None), attribute (None for none), values,
        segment (a saved segment's name, None for all customers), channel, touchpoint (None for
        all). An unknown key or a value not offered fails.
        """
        unknown = set(changes) - {"start", "end", "attribute", "values", "segment", "channel", "touchpoint"}
        if unknown:
            raise CxInputError(f"unknown filter {sorted(unknown)}; filters are start, end, attribute, values, "
                               "segment, channel, touchpoint")
        self._muted = True
        try:
            if "start" in changes:
                self.start.value = _date(changes["start"])
            if "end" in changes:
                self.end.value = _date(changes["end"])
            if "attribute" in changes:
                self._choose(self.attribute, changes["attribute"], NONE, "attribute")
                self._refresh_values()
            if "values" in changes:
                values = changes["values"]
                values = (values,) if isinstance(values, str) else tuple(str(v) for v in (values or ()))
                missing = [v for v in values if v not in self.values.options]
                if missing:
                    raise CxInputError(
                        f"value(s) {missing} not among the values of {self.attribute.value}: "
                        f"{', '.join(map(str, self.values.options)) or '(none: choose an attribute first)'}"
                    )
                self.values.value = values
            if "segment" in changes:
                self._refresh_segments()  # one saved a moment ago is offered
                self._choose(self.segment, changes["segment"], EVERYONE, "segment")
            if "channel" in changes:
                self._choose(self.channel, changes["channel"], ALL, "channel")
            if "touchpoint" in changes:
                self._choose(self.touchpoint, changes["touchpoint"], ALL, "touchpoint")
        finally:
            self._muted = False
        self._debouncer.trigger()

    def reset(self) -> None:
        """Clear every filter (one re-run)."""
        self.set(start=None, end=None, attribute=None, segment=None, channel=None, touchpoint=None)

    def _choose(self, control, value, empty: str, name: str) -> None:
        value = empty if value is None else value
        if value not in control.options:
            from cxlib.errors import unknown_name

            raise unknown_name(name, str(value), "the panel's choices", [o for o in control.options if o != empty])
        control.value = value

    def _value_options(self, attribute: str | None) -> tuple[str, ...]:
        if attribute is None or attribute == NONE:
            return ()
        df = attribute_values(self.con, attribute, limit=self._max_values)
        return tuple(str(v) for v in df["value"] if v is not None)

    def _refresh_segments(self) -> None:
        """Offer the segments saved now; one on display that was dropped falls back to all customers."""
        current = self.segment.value
        self.segment.options = [EVERYONE, *_segment_names(self.con)]
        self.segment.value = current if current in self.segment.options else EVERYONE

    def _refresh_values(self) -> None:
        self.values.value = ()
        self.values.options = self._value_options(self.attribute.value)

    # ------------------------------------------------------------------ events

    def _changed(self, _change=None) -> None:
        if not self._muted:
            self._debouncer.trigger()

    def _attribute_changed(self, _change=None) -> None:
        if self._muted:
            return
        self._muted = True
        try:
            self._refresh_values()
        finally:
            self._muted = False
        self._debouncer.trigger()

    def _toggle_sql(self, change) -> None:
        self.sql_visible = bool(change["new"])
        self.sql.layout.display = None if self.sql_visible else "none"
        self._render_sql()

    # ------------------------------------------------------------------ running

    def view(self, func: Callable, *, output=None):
        """Register ``func(con, filters)`` and draw its result for the current filter now.

        Returns the Output it draws into: a new one shown inside the panel's widget, or `output`
        when given, which the notebook shows where it wants (see :meth:`bind`). The first run
        happens in the calling thread, so the cell shows the result when it finishes; while a
        request is running or waiting for its debounce, every view (this one too) is run again
        instead, so all of them show the same filter.
        """
        if not callable(func):
            raise CxInputError(f"panel.view needs a function of (con, filters), got {func!r}")
        view = View(func, output if output is not None else self._w.Output())
        with self._lock:
            self.views.append(view)
            if output is None:
                self.outputs.children = (*self.outputs.children, view.output)
            in_flight = bool(self._running) or self._debouncer.pending
        if in_flight:
            self.refresh()
            return view.output
        with self._lock:
            generation = self.generation = self.generation + 1
        filters = self.filters
        self.queries.append(filters)
        self._set_busy(True)
        started = time.perf_counter()
        results = self._run(generation, filters, [view])
        self._deliver(generation, filters, results, started=started)
        return view.output

    def bind(self, func: Callable, output) -> Any:
        """Like :meth:`view`, drawing into an Output the notebook created and shows itself, in any cell.

        The panel does not show `output` in its own widget: a section's charts can sit below
        their text while one panel above drives them all.
        """
        return self.view(func, output=output)

    def refresh(self) -> None:
        """Read the saved segments again and re-run every view now (skips the debounce delay).

        A segment on display that was dropped since falls back to all customers.
        """
        self._debouncer.cancel()
        self._muted = True
        try:
            self._refresh_segments()
        finally:
            self._muted = False
        self._request()

    def flush(self) -> None:
        """Run a pending debounced request now."""
        self._debouncer.flush()

    def _request(self) -> None:
        try:
            filters = self.filters
        except CxInputError as exc:
            self._set_status(f"check the filter: {exc}", error=True)
            return
        with self._lock:
            self.generation += 1
            generation = self.generation
            older = [fs for gen, fs in self._running.items() if gen < generation]
            views = list(self.views)
        for fs in older:  # a newer filter makes them stale: stop wasting the cores on them
            fs.interrupt()
        self.queries.append(filters)
        self._set_busy(True)
        started = time.perf_counter()
        self._executor.submit(self._job, generation, filters, views, started)

    def _job(self, generation: int, filters: Filters, views: list[View], started: float) -> None:
        try:
            results = self._run(generation, filters, views)
        except BaseException as exc:  # noqa: BLE001 - shown in the status line, never lost in a thread
            results = None
            with self._lock:
                current = generation == self.generation
            if current:
                self._set_busy(False)
                self._set_status(f"failed: {exc}", error=True)
            return
        self._deliver(generation, filters, results, started=started)

    def _run(self, generation: int, filters: Filters, views: list[View]) -> list[tuple[View, Any]]:
        store = filtered(self.con, filters, check=False)
        with self._lock:
            self._running[generation] = store
        out = []
        try:
            for view in views:
                with self._lock:
                    if generation != self.generation:
                        break  # stale: a newer request will draw every view
                try:
                    drill, error = drilldown_sql(view.func, store, filters), None
                except (CxError, duckdb.Error) as exc:
                    drill, error = None, str(exc)
                except Exception as exc:  # noqa: BLE001 - one view's bug must not blank the others
                    drill, error = None, f"{type(exc).__name__}: {exc}"
                out.append((view, drill, error))
                with self._lock:  # draw each view as soon as it is ready, if still current
                    if generation == self.generation:
                        self._show(view, drill, error, filters)
        finally:
            with self._lock:
                self._running.pop(generation, None)
            store.close()
        return out

    def _show(self, view: View, drill: Drilldown | None, error: str | None, filters: Filters) -> None:
        """Draw one view's result (called with the lock held, for the current generation only).

        Each chart's title and each table's caption state `filters` (see :func:`with_filter_title`).
        """
        view.runs += 1
        view.drilldown, view.error = drill, error
        try:
            view.output.outputs = _error_output(error) if error else _outputs_of(drill.result, filters.describe())
        except Exception as exc:  # noqa: BLE001 - a result that cannot be displayed
            view.error = f"cannot display the result: {exc}"
            view.output.outputs = _error_output(view.error)
        view.output.remove_class("cx-busy")

    def _deliver(self, generation: int, filters: Filters, results, *, started: float) -> bool:
        """Finish a request: status and busy state, unless a newer request exists (then it is stale).

        Each view was drawn as soon as it was ready (see :meth:`_run`), only while its request
        was the newest, so a stale result never reaches an Output.
        """
        with self._lock:
            if generation != self.generation:
                self.stale_dropped += 1
                return False
            self.completed = generation
            self.filters_shown = filters
            self.last_seconds = time.perf_counter() - started
            self._set_busy(False)
            errors = [v.error for v, _d, _e in results if v.error]
            if errors:
                self._set_status(f"{len(errors)} view(s) failed: {errors[0]}", error=True)
            else:
                self._set_status(f"showing {filters.describe()} ({self.last_seconds:.2f} s)")
            self._render_sql()
            return True

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.refresh_button.disabled = busy
        for view in self.views:
            if busy:
                view.output.add_class("cx-busy")
            else:
                view.output.remove_class("cx-busy")
        if busy:
            self._set_status("updating…", busy=True)

    def _set_status(self, text: str, *, busy: bool = False, error: bool = False) -> None:
        color = "#c23b4b" if error else ("#1f4e79" if busy else "#555555")
        icon = "⏳ " if busy else ""
        cls = "cx-status-busy" if busy else ("cx-status-error" if error else "cx-status-ready")
        self.status.value = f'<span class="{cls}" style="color:{color}">{icon}{html.escape(text)}</span>'

    def _render_sql(self) -> None:
        if not self.sql_visible:
            return
        parts = []
        for i, view in enumerate(self.views, 1):
            if view.drilldown is not None:
                parts.append(f"<b>view {i}</b><pre>{html.escape(view.drilldown.text())}</pre>")
        self.sql.value = "".join(parts)

    # ------------------------------------------------------------------ report parameters

    def report_parameters(self, notebook: str | None = None) -> dict:
        """The parameters of report `notebook` (default: the panel's) that the current filter maps to.

        *Definition*: start and end go to the notebook's ``start``/``end`` (both the first and
        the last day included, as in the filter), the attribute to ``segment``, the channel and
        the touchpoint to the parameters of those names, each only when the filter sets it and
        the notebook declares that parameter (read from its ``parameters`` cell). Values are
        checked with :func:`cxlib.report.params.validate_parameters`, so they run as given.
        What has no parameter is said in :meth:`report_snippet`. For example
        ``{'start': '2025-01-01', 'end': '2025-01-31', 'segment': 'region'}``.
        """
        return _report_mapping(self.filters, self._notebook(notebook))[1]

    def report_snippet(self, notebook: str | None = None) -> str:
        """The text "Copy as report parameters" shows: a job for the jobs file, the command line, and a
        sentence for each filter the report has no parameter for (e.g. "channel app has no parameter
        in journey: the report covers all channels").

        The job goes under ``jobs:`` in cxlib/data/report_jobs.yml (or a jobs file of your own);
        the command runs the report once with the same parameters (:meth:`report_parameters`).
        """
        import shlex

        import yaml

        name = self._notebook(notebook)
        path, params, notes = _report_mapping(self.filters, name)
        job_name = f"{path.stem}_filtered"
        ref = str(path) if name.endswith(".ipynb") else name  # a path: absolute, as the jobs file needs
        spec = {"description": f"{path.stem}: {self.filters.describe()}", "notebook": ref}
        if params:
            spec["parameters"] = {k: str(v) for k, v in params.items()}
        job = yaml.safe_dump({job_name: spec}, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
        job = "".join(f"  {line}\n" for line in job.splitlines())
        command = " ".join(["cx report run", shlex.quote(ref), *(f"-p {shlex.quote(f'{k}={v}')}" for k, v in params.items())])
        return "\n".join([
            f"# a job for cxlib/data/report_jobs.yml (under jobs:), run with: cx report run --job {job_name}",
            job.rstrip("\n"),
            "",
            "# or run it once:",
            command,
            *(["", *(f"# {note}" for note in notes)] if notes else []),
        ])

    def _copy_report_parameters(self) -> None:
        """The button: show :meth:`report_snippet` (or why it cannot be made) in the panel's text box."""
        try:
            text = self.report_snippet()
        except CxError as exc:
            text = f"cannot copy the filter as report parameters: {exc}"
        self.report_text.value = text
        self.report_text.layout.display = None

    def _notebook(self, notebook: str | None) -> str:
        notebook = notebook if notebook is not None else self.notebook
        if not isinstance(notebook, str) or not notebook:
            raise CxInputError("which report? Give the notebook's name, e.g. panel.report_parameters('journey'), "
                               "or create the panel with notebook='journey'")
        return notebook

    # ------------------------------------------------------------------ drill-down

    def sql_text(self, index: int = 0) -> str:
        """The SQL (views, bound values, queries) behind view `index`'s result on display."""
        try:
            view = self.views[index]
        except IndexError:
            raise CxInputError(f"no view {index}: the panel has {len(self.views)} view(s)") from None
        return view.drilldown.text() if view.drilldown is not None else ""

    def customers(self, **kwargs):
        """The customers behind the current filter (and optional segment/value, touchpoint, keywords).

        Analyst-session only: see :func:`cxlib.explore.drilldown_customers`.
        """
        with filtered(self.con, self.filters, check=False) as store:
            return drilldown_customers(store, interactive=True, **kwargs)

    def dropped(self, steps, *, step: int, **funnel_options):
        """The customers who dropped at funnel `step` under the current filter (analyst-session only)."""
        with filtered(self.con, self.filters, check=False) as store:
            return drilldown_funnel_dropped(store, steps, step=step, interactive=True, **funnel_options)

    def close(self) -> None:
        self._debouncer.cancel()
        if isinstance(self._executor, ThreadPoolExecutor):
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.widget.close()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _segment_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    return saved_segments(con)["name"].tolist()


def _check_offered(filters: Filters, choices: dict, attributes: list[str], segments: list[str]) -> None:
    """A CxInputError when `filters` names an attribute, segment, channel or touchpoint the store does not have."""
    from cxlib.errors import unknown_name

    if filters.attribute is not None and filters.attribute not in attributes:
        raise unknown_name("attribute", filters.attribute, "customers", attributes)
    if filters.segment is not None and filters.segment not in segments:
        raise unknown_name("segment", filters.segment, "the saved segments", segments)
    for name in ("channel", "touchpoint"):
        value = getattr(filters, name)
        if value is not None and value not in choices[name]:
            raise unknown_name(name, value, "events", choices[name])


# filter field -> (the report parameter it maps to, what a report without that parameter does)
_REPORT_PARAMETERS = {
    "start": ("start", "covers all dates"),
    "end": ("end", "covers all dates"),
    "attribute": ("segment", "keeps its own breakdown"),
    "channel": ("channel", "covers all channels"),
    "touchpoint": ("touchpoint", "covers all touchpoints"),
}


def _report_mapping(filters: Filters, notebook: str):
    """(the notebook's path, the validated parameters, the sentences for filters without a parameter)."""
    from cxlib.report.jobs import resolve_notebook
    from cxlib.report.params import notebook_parameters, validate_parameters

    path = resolve_notebook(notebook)
    declared = notebook_parameters(path) or {}
    params, notes = {}, []
    for field, (name, otherwise) in _REPORT_PARAMETERS.items():
        value = getattr(filters, field)
        if value is None:
            continue
        if name in declared:
            params[name] = value
        else:
            notes.append(f"{field} {value} has no parameter in {path.stem}: the report {otherwise}")
    if filters.values:
        notes.append(f"{filters.attribute} in {', '.join(filters.values)} has no parameter in {path.stem}: "
                     "the report covers all customers")
    if filters.segment:
        notes.append(f"segment {filters.segment} has no parameter in {path.stem}: the report covers all customers")
    return path, validate_parameters(path, params, label=f"report {path.stem}"), notes


def _date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CxInputError(f"a date must be 'YYYY-MM-DD', got {value!r}") from None


class Results(tuple):
    """Several results shown one after the other (what a view's tuple becomes in a static run)."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for item in self:
            if item is not None:
                display(item)


def explore(
    con: duckdb.DuckDBPyConnection,
    func: Callable,
    *,
    interactive: bool,
    filters: Filters | None = None,
    **panel_options,
):
    """Show ``func(con, filters)``: under a filter panel when interactive, else once, statically.

    With ``interactive=False`` (papermill, reports) no widget is created: `func` runs once on the
    store filtered by `filters` (default: everything) and its result is returned for the
    notebook to display (a tuple as :class:`Results`, which displays each item in turn). With
    ``interactive=True`` a :class:`FilterPanel` is returned with `func`
    registered as its view.
    """
    if interactive is not True and interactive is not False:
        raise CxInputError(f"interactive must be True or False, got {interactive!r}")
    if not interactive:
        if panel_options:
            raise CxInputError(f"panel options {sorted(panel_options)} need interactive=True")
        with filtered(con, filters) as store:
            result = func(store.con, store.filters)
        return Results(result) if isinstance(result, (tuple, list)) else result
    panel = FilterPanel(con, filters=filters, **panel_options)
    panel.view(func)
    return panel
