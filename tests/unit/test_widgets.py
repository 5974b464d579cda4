"""The filter panel driven programmatically: queries that follow a change, debounce, stale results."""

from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest
import test_explore  # tests/unit is on sys.path

from cxlib.errors import CxInputError
from cxlib.explore import Filters
from cxlib.explore.widgets import Debouncer, FilterPanel, _InlineExecutor, explore

tiny_db, tiny = test_explore.tiny_db, test_explore.tiny  # the fixtures' three-customer store


class FakeClock:
    """Timers that fire only when the test advances time (kept in whole milliseconds: no float drift)."""

    def __init__(self):
        self.ms = 0
        self.timers = []

    def timer(self, delay, fn):
        clock = self

        class Timer:
            def __init__(self):
                self.due, self.fn, self.cancelled, self.started = None, fn, False, False

            def start(self):
                self.started, self.due = True, clock.ms + round(delay * 1000)
                clock.timers.append(self)

            def cancel(self):
                self.cancelled = True

        return Timer()

    def advance(self, seconds):
        self.ms += round(seconds * 1000)
        for t in [t for t in self.timers if t.started and not t.cancelled and t.due <= self.ms]:
            self.timers.remove(t)
            t.fn()

    @property
    def now(self):
        return self.ms / 1000

    @property
    def pending(self):
        return [t for t in self.timers if not t.cancelled]


# ----------------------------------------------------------------- debounce


def test_debouncer_runs_once_after_the_last_trigger():
    clock, calls = FakeClock(), []
    d = Debouncer(0.3, lambda: calls.append(clock.now), timer_factory=clock.timer)
    d.trigger()
    clock.advance(0.2)
    d.trigger()  # restarts the wait
    clock.advance(0.2)
    assert calls == [] and d.pending
    d.trigger()
    clock.advance(0.29)
    assert calls == []
    clock.advance(0.01)
    assert calls == [pytest.approx(0.7)] and not d.pending
    clock.advance(5)
    assert len(calls) == 1


def test_debouncer_flush_cancel_and_zero_delay():
    clock, calls = FakeClock(), []
    d = Debouncer(0.3, lambda: calls.append(1), timer_factory=clock.timer)
    d.flush()
    assert calls == []
    d.trigger()
    d.flush()
    assert calls == [1]
    clock.advance(1)
    assert calls == [1]  # the flushed timer does not fire again
    d.trigger()
    d.cancel()
    clock.advance(1)
    assert calls == [1]
    now = Debouncer(0, lambda: calls.append(2))
    now.trigger()
    assert calls == [1, 2]
    with pytest.raises(CxInputError, match="seconds"):
        Debouncer(-1, lambda: None)


def test_debouncer_with_real_timers():
    done = threading.Event()
    calls = []
    d = Debouncer(0.05, lambda: (calls.append(1), done.set()))
    for _ in range(5):
        d.trigger()
    assert done.wait(2)
    time.sleep(0.1)
    assert calls == [1]


# ----------------------------------------------------------------- panel


def make_panel(con, **kw):
    clock = FakeClock()
    panel = FilterPanel(con, timer_factory=clock.timer, executor=_InlineExecutor(), **kw)
    return panel, clock


def event_count(con, filters):
    return pd.DataFrame({"events": [con.execute("SELECT count(*) FROM events").fetchone()[0]],
                         "shown": [filters.describe()]})


def shown(output):
    return "".join(o["data"].get("text/plain", "") for o in output.outputs)


def events_shown(output):
    """The number in the 'events' column of an event_count frame on display."""
    import re

    return int(re.search(r"^0\s+(\d+)", shown(output), re.MULTILINE).group(1))


def test_panel_controls_offer_the_stores_choices(tiny):
    panel, _ = make_panel(tiny)
    assert panel.attribute.options == ("(none)", "region", "plan")
    assert panel.channel.options == ("(all)", "app", "chat", "web")
    assert panel.touchpoint.options == ("(all)", "chat", "checkout", "home_page", "payment")
    assert panel.values.options == ()
    panel.set(attribute="plan")
    assert panel.values.options == ("basic", "pro")  # most customers first
    assert panel.filters == Filters(attribute="plan")


def test_view_draws_now_and_redraws_after_a_debounced_change(tiny):
    panel, clock = make_panel(tiny)
    seen = []
    out = panel.view(lambda con, f: (seen.append(f), event_count(con, f))[1])
    assert seen == [Filters()] and events_shown(out) == 7 and "all data" in shown(out)

    panel.set(channel="app")
    assert len(seen) == 1, "runs only after the debounce delay"
    clock.advance(0.3)
    assert seen[-1] == Filters(channel="app")
    assert events_shown(out) == 3 and "channel app" in shown(out)
    assert panel.completed == panel.generation and not panel.busy
    assert "channel app" in panel.status.value and "cx-status-ready" in panel.status.value


def test_rapid_changes_run_one_query_with_the_last_state(tiny):
    panel, clock = make_panel(tiny)
    seen = []
    panel.view(lambda con, f: seen.append(f) or event_count(con, f))
    # a user clicking through menus: each change within 300 ms of the previous one
    panel.channel.value = "web"
    clock.advance(0.1)
    panel.channel.value = "app"
    clock.advance(0.1)
    panel.attribute.value = "region"
    clock.advance(0.1)
    panel.values.value = ("north",)
    clock.advance(0.299)
    assert len(seen) == 1
    clock.advance(0.001)
    assert seen[1:] == [Filters(channel="app", attribute="region", values=("north",))]
    assert panel.queries[-1] == seen[-1] and len(panel.queries) == 2


def test_widget_changes_reach_sql_as_the_filter(tiny):
    panel, clock = make_panel(tiny)
    out = panel.view(lambda con, f: event_count(con, f))
    import datetime as dt

    panel.start.value = dt.date(2025, 1, 3)
    panel.end.value = dt.date(2025, 1, 5)  # "To": the last day included
    clock.advance(0.3)
    assert events_shown(out) == 3  # a: checkout, payment; b: checkout (on the 5th)
    assert panel.filters == Filters(start="2025-01-03", end="2025-01-05")
    assert "2025-01-03 to 2025-01-05" in shown(out) and "2025-01-03 to 2025-01-05" in panel.status.value
    panel.end.value = dt.date(2025, 1, 6)
    clock.advance(0.3)
    assert events_shown(out) == 4  # and b's payment at noon on the 6th
    panel.set(attribute="region", values=["south"])
    clock.advance(0.3)
    assert events_shown(out) == 2  # b: checkout, payment
    panel.reset()
    clock.advance(0.3)
    assert panel.filters == Filters() and events_shown(out) == 7


def test_attribute_change_resets_values_and_runs_once(tiny):
    panel, clock = make_panel(tiny)
    seen = []
    panel.view(lambda con, f: seen.append(f))
    panel.set(attribute="region", values=["north"])
    clock.advance(0.3)
    panel.attribute.value = "plan"
    assert panel.values.value == () and panel.values.options == ("basic", "pro")
    clock.advance(0.3)
    assert seen[-1] == Filters(attribute="plan") and len(seen) == 3


def test_set_rejects_unknown_names_and_values(tiny):
    panel, _ = make_panel(tiny)
    with pytest.raises(CxInputError, match="did you mean 'web'"):
        panel.set(channel="wbe")
    with pytest.raises(CxInputError, match="unknown filter"):
        panel.set(chanel="web")
    with pytest.raises(CxInputError, match="choose an attribute first"):
        panel.set(values=["north"])
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        FilterPanel(tiny, filters=Filters(attribute="regin"))


def test_contradictory_dates_show_an_error_and_run_nothing(tiny):
    panel, clock = make_panel(tiny)
    seen = []
    panel.view(lambda con, f: seen.append(f))
    panel.set(start="2025-02-01", end="2025-01-01")
    clock.advance(0.3)
    assert len(seen) == 1 and "before end" in panel.status.value and "cx-status-error" in panel.status.value


def test_a_failing_view_shows_its_error_escaped_and_others_still_draw(tiny):
    panel, clock = make_panel(tiny)
    bad = panel.view(lambda con, f: con.execute("SELECT <b>nope</b> FROM events").df())
    good = panel.view(lambda con, f: event_count(con, f))
    panel.set(channel="web")
    clock.advance(0.3)
    html_out = bad.outputs[0]["data"]["text/html"]
    assert "cx-error" in html_out and "<b>" not in html_out and "&lt;b&gt;" in html_out
    assert events_shown(good) == 3
    assert "failed" in panel.status.value


def test_busy_state_is_visible_while_a_query_runs(tiny):
    started, release = threading.Event(), threading.Event()
    panel = FilterPanel(tiny, debounce=0)
    states = []

    def slow(con, f):
        if f.channel == "web":
            started.set()
            release.wait(5)
        return event_count(con, f)

    out = panel.view(slow)
    panel.set(channel="web")
    assert started.wait(5)
    states.append((panel.busy, panel.refresh_button.disabled, "cx-status-busy" in panel.status.value,
                   "cx-busy" in out._dom_classes))
    release.set()
    deadline = time.time() + 5
    while panel.busy and time.time() < deadline:
        time.sleep(0.01)
    states.append((panel.busy, panel.refresh_button.disabled, "cx-status-busy" in panel.status.value,
                   "cx-busy" in out._dom_classes))
    assert states == [(True, True, True, True), (False, False, False, False)]
    panel.close()


def test_stale_result_never_overwrites_a_newer_one(tiny):
    """Request 1 (slow) finishes after request 2 (fast): request 2's result stays on display."""
    slow_started, release_slow = threading.Event(), threading.Event()
    panel = FilterPanel(tiny, debounce=0)

    def query(con, f):
        n = con.execute("SELECT count(*) FROM events").fetchone()[0]
        if f.channel == "web":  # the slow, older request
            slow_started.set()
            release_slow.wait(5)
        return f"{f.describe()}: {n} events"

    out = panel.view(query)
    panel.set(channel="web")  # generation 2: slow
    assert slow_started.wait(5)
    panel.set(channel="app")  # generation 3: fast
    deadline = time.time() + 5
    while panel.completed != 3 and time.time() < deadline:
        time.sleep(0.01)
    assert shown(out) == "'channel app: 3 events'"
    release_slow.set()  # the old result arrives now ...
    deadline = time.time() + 5
    while panel.stale_dropped == 0 and time.time() < deadline:
        time.sleep(0.01)
    assert panel.stale_dropped == 1
    assert shown(out) == "'channel app: 3 events'"  # ... and is dropped
    assert panel.completed == 3 and not panel.busy
    assert panel.filters_shown == Filters(channel="app") and "channel app" in panel.status.value
    panel.close()


def test_a_newer_request_interrupts_a_running_query(tiny):
    """A long DuckDB query of a stale filter is cancelled, not waited for."""
    in_query = threading.Event()
    panel = FilterPanel(tiny, debounce=0)

    def heavy(con, f):
        if f.channel == "web":
            in_query.set()
            # seconds of work unless interrupted
            return con.execute("SELECT count(*) FROM range(3000000000) t(i) WHERE hash(i) % 7 = 0").fetchone()[0]
        return "light"

    out = panel.view(heavy)
    t0 = time.perf_counter()
    panel.set(channel="web")
    assert in_query.wait(5)
    time.sleep(0.2)
    panel.set(channel="app")
    deadline = time.time() + 20
    while (panel.completed != panel.generation or panel.stale_dropped == 0) and time.time() < deadline:
        time.sleep(0.01)
    took = time.perf_counter() - t0
    assert shown(out) == "'light'" and panel.stale_dropped == 1
    assert took < 5, f"the stale query was not interrupted ({took:.1f} s)"
    panel.close()


def test_sql_toggle_and_drilldown(tiny):
    panel, clock = make_panel(tiny)
    panel.view(lambda con, f: con.execute("SELECT count(*) FROM events WHERE channel = $c", {"c": "web"}).fetchone()[0])
    panel.set(attribute="region", values=["south"])
    clock.advance(0.3)
    text = panel.sql_text(0)
    assert "cx_values = ['south']" in text and "$c" in text and "{'c': 'web'}" in text
    assert panel.sql.layout.display == "none"
    panel.sql_toggle.value = True
    assert panel.sql.layout.display is None and "CREATE TEMP VIEW customers" in panel.sql.value
    assert "&#x27;south&#x27;" in panel.sql.value  # escaped inside <pre>
    with pytest.raises(CxInputError, match="no view 3"):
        panel.sql_text(3)
    assert panel.customers()["customer_id"].tolist() == ["b"]
    assert panel.customers(touchpoint="chat")["customer_id"].tolist() == []


def test_panel_is_displayable_as_a_widget(tiny):
    panel, _ = make_panel(tiny)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


# ----------------------------------------------------------------- explore(): static vs interactive


def test_explore_static_creates_no_widget(tiny, monkeypatch):
    import ipywidgets

    created = []
    monkeypatch.setattr(ipywidgets.Widget, "__init__", lambda *a, **k: created.append(a) or pytest.fail("widget"))
    result = explore(tiny, event_count, interactive=False)
    assert result["events"].tolist() == [7] and created == []
    result = explore(tiny, event_count, interactive=False, filters=Filters(channel="web"))
    assert result["events"].tolist() == [3]
    with pytest.raises(CxInputError, match="interactive=True"):
        explore(tiny, event_count, interactive=False, debounce=0.1)
    with pytest.raises(CxInputError, match="True or False"):
        explore(tiny, event_count, interactive="no")


def test_explore_interactive_returns_a_panel(tiny):
    panel = explore(tiny, event_count, interactive=True, filters=Filters(channel="app"), executor=_InlineExecutor())
    assert isinstance(panel, FilterPanel) and panel.channel.value == "app"
    assert events_shown(panel.views[0].output) == 3
    panel.close()


def test_charts_are_drawn_offline_by_jupyterlab(tiny):
    """A chart in a view becomes JupyterLab's built-in Vega-Lite output (no CDN), SVG, no export menu."""
    import altair as alt

    from cxlib.charts import LAB_VEGALITE_MIME

    panel, clock = make_panel(tiny)

    def chart(con, f):
        df = con.execute("SELECT channel, count(*) AS events FROM events GROUP BY 1").df()
        return alt.Chart(df).mark_bar().encode(x="channel:N", y="events:Q").properties(title=f"Events: {f.describe()}")

    out = panel.view(chart)
    panel.set(channel="web")
    clock.advance(0.3)
    (item,) = out.outputs
    spec = item["data"][LAB_VEGALITE_MIME]
    assert spec["title"] == "Events: channel web" and spec["$schema"].endswith("v5.json")
    rows = next(iter(spec["datasets"].values()))
    assert rows == [{"channel": "web", "events": 3}]
    assert item["metadata"][LAB_VEGALITE_MIME]["embed_options"]["renderer"] == "svg"
    assert item["data"]["text/plain"] == "<chart: Events: channel web>"
    assert "text/html" not in item["data"]  # nothing that loads Vega from the network


def test_static_tuple_results_display_each_item(tiny):
    from cxlib.explore.widgets import Results

    shown_items = []
    result = explore(tiny, lambda con, f: (event_count(con, f), None, "note"), interactive=False)
    assert isinstance(result, Results) and result[0]["events"].tolist() == [7]
    import IPython.display

    original = IPython.display.display
    IPython.display.display = lambda item: shown_items.append(item)
    try:
        result._ipython_display_()
    finally:
        IPython.display.display = original
    assert len(shown_items) == 2 and shown_items[1] == "note"


def test_each_view_draws_as_soon_as_it_is_ready(tiny):
    """A fast view shows its new result while a slow view of the same request still runs."""
    slow_started, release = threading.Event(), threading.Event()
    panel = FilterPanel(tiny, debounce=0)
    fast = panel.view(lambda con, f: event_count(con, f))

    def slow(con, f):
        if f.channel == "app":
            slow_started.set()
            release.wait(5)
        return event_count(con, f)

    slow_out = panel.view(slow)
    panel.set(channel="app")
    assert slow_started.wait(5)
    assert events_shown(fast) == 3 and events_shown(slow_out) == 7  # fast: new; slow: still the old one
    assert panel.busy and "cx-busy" not in fast._dom_classes and "cx-busy" in slow_out._dom_classes
    release.set()
    deadline = time.time() + 5
    while panel.busy and time.time() < deadline:
        time.sleep(0.01)
    assert events_shown(slow_out) == 3 and not panel.busy
    panel.close()


# ----------------------------------------------------------------- a section's panel (issue 22)


def spec_of(output, index=0):
    from cxlib.charts import LAB_VEGALITE_MIME

    return output.outputs[index]["data"][LAB_VEGALITE_MIME]


def channel_bars(con, title=None):
    import altair as alt

    df = con.execute("SELECT channel, count(*) AS events FROM events GROUP BY 1 ORDER BY 1").df()
    chart = alt.Chart(df).mark_bar().encode(x="channel:N", y="events:Q")
    return chart if title is None else chart.properties(title=title)


def test_date_pickers_read_as_an_inclusive_range(tiny):
    panel, clock = make_panel(tiny)
    assert (panel.start.description, panel.end.description) == ("From", "To")
    seen = []
    panel.view(lambda con, f: seen.append(f))
    panel.set(start="2025-01-06", end="2025-01-06")  # one day: valid
    clock.advance(0.3)
    assert seen[-1] == Filters(start="2025-01-06", end="2025-01-06")
    assert "2025-01-06 to 2025-01-06" in panel.status.value and "cx-status-ready" in panel.status.value


def test_each_chart_title_states_the_filter(tiny):
    """The panel adds the filter to every chart's title, whatever the view returns."""
    import altair as alt

    panel, clock = make_panel(tiny)
    plain = panel.view(lambda con, f: channel_bars(con, "Events by channel"))
    untitled = panel.view(lambda con, f: channel_bars(con))
    layered = panel.view(lambda con, f: channel_bars(con, "Layered") + channel_bars(con).mark_tick())
    concat = panel.view(lambda con, f: (channel_bars(con, "Left") | channel_bars(con, "Right")).properties(
        title=alt.TitleParams("Side by side", subtitle=["Two charts", "same data"])))
    several = panel.view(lambda con, f: (channel_bars(con, "One"), "a note", channel_bars(con, "Two")))
    assert spec_of(plain)["title"] == {"text": "Events by channel", "subtitle": "all data"}

    panel.set(start="2025-01-01", end="2025-01-31", channel="app")
    clock.advance(0.3)
    said = "2025-01-01 to 2025-01-31, channel app"
    assert spec_of(plain)["title"] == {"text": "Events by channel", "subtitle": said}
    assert spec_of(untitled)["title"]["text"] == said
    assert plain.outputs[0]["data"]["text/plain"] == "<chart: Events by channel>"
    spec = spec_of(layered)  # the first layer's title, lifted to the top with the filter under it
    assert spec["title"] == {"text": "Layered", "subtitle": said} and all("title" not in la for la in spec["layer"])
    spec = spec_of(concat)  # an existing subtitle keeps its lines; the parts keep their own titles
    assert spec["title"]["text"] == "Side by side"
    assert spec["title"]["subtitle"] == ["Two charts", "same data", said]
    assert [part["title"] for part in spec["hconcat"]] == ["Left", "Right"]
    assert [spec_of(several, i)["title"]["subtitle"] for i in (0, 2)] == [said, said]
    assert several.outputs[1]["data"]["text/plain"] == "'a note'"  # text is shown as it is


def test_a_title_that_already_states_the_filter_is_left_alone():
    from cxlib.explore.widgets import with_filter_title

    spec = {"title": {"text": "NPS: channel app", "anchor": "start"}, "mark": "bar"}
    assert with_filter_title(spec, "channel app") == spec
    titled = with_filter_title({"title": ["Two", "lines"], "mark": "bar"}, "all data")
    assert titled["title"] == {"text": ["Two", "lines"], "subtitle": "all data"}
    original = {"layer": [{"title": "T", "mark": "bar"}]}
    with_filter_title(original, "all data")
    assert original == {"layer": [{"title": "T", "mark": "bar"}]}  # the input is not changed


def test_tables_get_a_caption_line_with_the_filter(tiny):
    from cxlib.charts.tables import table

    panel, clock = make_panel(tiny)
    out = panel.view(lambda con, f: (event_count(con, f), table(event_count(con, f))))
    panel.set(channel="web")
    clock.advance(0.3)
    frame, great = out.outputs
    assert frame["data"]["text/plain"].startswith("channel web\n")
    for item in (frame, great):
        assert item["data"]["text/html"].startswith('<div class="cx-caption" style="color:#555555">channel web</div>')


def test_one_request_redraws_every_view_and_a_failing_view_does_not_stop_the_others(tiny):
    panel, clock = make_panel(tiny)
    runs = {"first": [], "broken": [], "last": []}

    def counted(name, func):
        return lambda con, f: (runs[name].append(f), func(con, f))[1]

    first = panel.view(counted("first", event_count))
    broken = panel.view(counted("broken", lambda con, f: {}["no such column"] if f.channel else "fine"))
    last = panel.view(counted("last", event_count))
    assert panel.outputs.children == (first, broken, last)
    panel.set(channel="app")
    clock.advance(0.1)
    panel.set(touchpoint="checkout")
    clock.advance(0.3)
    expected = Filters(channel="app", touchpoint="checkout")
    assert {name: f[1:] for name, f in runs.items()} == {name: [expected] for name in runs}  # one run each
    assert events_shown(first) == 1 and events_shown(last) == 1
    assert "KeyError" in broken.outputs[0]["data"]["text/plain"] and "cx-error" in broken.outputs[0]["data"]["text/html"]
    assert "1 view(s) failed" in panel.status.value and not panel.busy
    panel.set(channel=None, touchpoint=None)
    clock.advance(0.3)
    assert shown(broken) == "'fine'" and "cx-status-ready" in panel.status.value  # it recovers


def test_bound_outputs_are_shown_by_the_notebook_in_later_cells(tiny):
    """bind() draws into the notebook's own Output, which can be displayed in any cell."""
    import ipywidgets

    panel, clock = make_panel(tiny)
    inside = panel.view(lambda con, f: event_count(con, f))
    later_cell = ipywidgets.Output()
    bound = panel.bind(lambda con, f: event_count(con, f), later_cell)
    assert bound is later_cell and panel.outputs.children == (inside,)  # not also inside the panel
    assert "application/vnd.jupyter.widget-view+json" in later_cell._repr_mimebundle_()
    panel.set(channel="app")
    clock.advance(0.3)
    assert events_shown(later_cell) == 3 and events_shown(inside) == 3
    assert "cx-busy" not in later_cell._dom_classes


def test_a_view_added_while_a_request_waits_joins_it(tiny):
    """A view registered during a pending change does not leave the others on an older filter."""
    panel, clock = make_panel(tiny)
    seen = []
    first = panel.view(lambda con, f: (seen.append(("first", f)), event_count(con, f))[1])
    panel.set(channel="web")
    second = panel.view(lambda con, f: (seen.append(("second", f)), event_count(con, f))[1])
    assert seen[1:] == [("first", Filters(channel="web")), ("second", Filters(channel="web"))]
    assert events_shown(first) == 3 and events_shown(second) == 3
    assert panel.completed == panel.generation and not clock.pending
    clock.advance(1)
    assert len(seen) == 3  # nothing left to run


def test_a_store_with_only_events_gives_a_working_panel(tmp_path):
    import cxlib

    path = tmp_path / "clicks.duckdb"
    con = cxlib.connect(path, read_only=False)
    con.execute("INSERT INTO customers (customer_id) VALUES ('u1'), ('u2')")  # the ids only, as ingest adds them
    con.execute(
        """INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES
        ('u1', '2025-01-01 10:00', 'home', 'web', 's1'), ('u1', '2025-01-01 10:05', 'cart', 'web', 's1'),
        ('u2', '2025-01-02 09:00', 'home', 'app', 's2'), ('u2', '2025-01-03 09:00', 'cart', 'app', 's3')"""
    )
    con.close()
    con = cxlib.connect(path)
    panel, clock = make_panel(con)
    assert panel.attribute.options == ("(none)",) and panel.channel.options == ("(all)", "app", "web")
    out = panel.view(lambda c, f: event_count(c, f))
    assert events_shown(out) == 4
    panel.set(channel="app", end="2025-01-02")
    clock.advance(0.3)
    assert events_shown(out) == 1 and "cx-status-ready" in panel.status.value
    assert panel.customers(touchpoint="home")["customer_id"].tolist() == ["u2"]
    panel.close()
    con.close()


# ----------------------------------------------------------------- the panel as a report's parameters


def report_notebook(tmp_path, parameters: str):
    """A report notebook with the given parameters cell, saved in tmp_path."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import cxlib"),
                nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    path = tmp_path / "report.ipynb"
    nbformat.write(nb, path)
    return path


def test_report_parameters_map_the_filter_to_the_notebooks_parameters(tiny, tmp_path):
    path = report_notebook(tmp_path, 'start = None  # first day\nend = None  # last day included\n'
                                     'segment = "plan"\nchannel = None\nmin_group_size = 5\n')
    panel, _ = make_panel(tiny, notebook=str(path))
    assert panel.report_parameters() == {}
    panel.set(start="2025-01-01", end="2025-01-31", attribute="region", values=["north"], channel="app",
              touchpoint="checkout")
    assert panel.report_parameters() == {"start": "2025-01-01", "end": "2025-01-31", "segment": "region",
                                         "channel": "app"}
    text = panel.report_snippet()
    assert "# touchpoint checkout has no parameter in report: the report covers all touchpoints" in text
    assert "# region in north has no parameter in report: the report covers all customers" in text
    assert "channel app has no" not in text


def test_copied_report_parameters_run_as_a_job_and_on_the_command_line(tiny, tmp_path):
    """What the button shows is accepted by the jobs file and by cx report run's -p, with the same values."""
    import itertools
    import shlex

    from cxlib.report.jobs import load_jobs
    from cxlib.report.params import parse_assignments, validate_parameters

    path = report_notebook(tmp_path, 'start = None\nend = None\nsegment = "plan"\nmin_group_size = 5\n')
    panel, _ = make_panel(tiny, notebook=str(path))
    assert panel.copy_button.disabled is False and panel.report_text.layout.display == "none"
    panel.set(start="2025-01-02", end="2025-01-02", attribute="region", channel="web")
    panel.copy_button.click()
    text = panel.report_text.value
    assert panel.report_text.layout.display is None and text == panel.report_snippet()
    expected = {"start": "2025-01-02", "end": "2025-01-02", "segment": "region"}
    job_lines = [line for line in text.splitlines() if line.startswith("  ")]
    jobs_file = tmp_path / "jobs.yml"
    jobs_file.write_text("jobs:\n" + "\n".join(job_lines) + "\n")
    (job,) = load_jobs(jobs_file).values()
    assert job.notebook == path and validate_parameters(job.notebook, job.parameters) == expected
    command = next(line for line in text.splitlines() if line.startswith("cx report run "))
    words = shlex.split(command)
    assert words[3] == str(path)
    assignments = parse_assignments([w for prev, w in itertools.pairwise(words) if prev == "-p"])
    assert validate_parameters(path, assignments) == expected
    assert "# channel web has no parameter in report: the report covers all channels" in text


def test_report_parameters_of_a_shipped_notebook(tiny):
    panel, _ = make_panel(tiny, notebook="journey")
    panel.set(start="2025-01-01", end="2025-01-31", channel="app")
    assert panel.report_parameters() == {"start": "2025-01-01", "end": "2025-01-31"}
    text = panel.report_snippet()
    assert "cx report run journey -p start=2025-01-01 -p end=2025-01-31" in text
    assert "    notebook: journey" in text
    assert "channel app has no parameter in journey: the report covers all channels" in text


def test_report_parameters_need_a_notebook(tiny):
    panel, _ = make_panel(tiny)
    assert panel.copy_button.disabled
    with pytest.raises(CxInputError, match="notebook='journey'"):
        panel.report_parameters()
    with pytest.raises(CxInputError, match="did you mean 'journey'"):
        panel.report_parameters("jurney")
    panel.copy_button.disabled = False  # a click anyway says why, in the box
    panel.copy_button.click()
    assert panel.report_text.value.startswith("cannot copy the filter as report parameters: which report?")


# ----------------------------------------------------------------- saved segments


def test_segment_menu_lists_the_saved_segments_and_filters_every_view(tiny):
    from cxlib.explore import drop_segment, save_segment

    panel, clock = make_panel(tiny)
    assert panel.segment.options == ("(all customers)",) and panel.filters.segment is None
    out = panel.view(lambda con, f: event_count(con, f))
    save_segment(tiny, "north_and_south", ["a", "b"])
    assert panel.segment.options == ("(all customers)",)  # read again on refresh
    panel.refresh()
    assert panel.segment.options == ("(all customers)", "north_and_south")
    panel.segment.value = "north_and_south"  # as a user picks it
    clock.advance(0.3)
    assert panel.filters == Filters(segment="north_and_south")
    assert events_shown(out) == 6 and "segment north_and_south" in shown(out)  # a: 4, b: 2; c's event left out
    save_segment(tiny, "just_b", ["b"])
    panel.set(segment="just_b", channel="web")  # saved after the last refresh: offered all the same
    clock.advance(0.3)
    assert events_shown(out) == 2
    drop_segment(tiny, "just_b")
    panel.refresh()  # the segment on display is gone: all customers again
    assert panel.segment.options == ("(all customers)", "north_and_south") and panel.segment.value == "(all customers)"
    assert panel.filters == Filters(channel="web") and events_shown(out) == 3
    with pytest.raises(CxInputError, match="segment 'nobody' not in the panel's choices"):
        panel.set(segment="nobody")
    with pytest.raises(CxInputError, match="not in the saved segments"):
        FilterPanel(tiny, filters=Filters(segment="just_b"))
    panel.set(segment="north_and_south")
    panel.reset()
    assert panel.filters == Filters()


def test_a_saved_segment_fed_back_into_a_funnel(tiny, tmp_path):
    """Save the customers who dropped at a step, pick the segment: the funnel counts only them."""
    from cxlib.analysis.journey import funnel
    from cxlib.explore import save_segment

    steps = ["home_page", "checkout", "payment"]
    panel, clock = make_panel(tiny, notebook=str(report_notebook(tmp_path, "start = None\nend = None\n")))
    out = panel.view(lambda con, f: funnel(con, steps, window=None, min_group_size=1, **f.as_kwargs()))
    assert panel.views[0].drilldown.result["customers"].tolist() == [2, 1, 1]  # a and c start, a goes on
    dropped = panel.dropped(steps, step=2, window=None)
    assert dropped["customer_id"].tolist() == ["c"]  # home page, never a checkout
    assert save_segment(tiny, "dropped_at_checkout", dropped) == 1
    panel.set(segment="dropped_at_checkout")
    clock.advance(0.3)
    frame = panel.views[0].drilldown.result
    assert frame["customers"].tolist() == [1, 0, 0]  # c alone
    assert shown(out).startswith("segment dropped_at_checkout\n")
    assert "# segment dropped_at_checkout has no parameter in report: the report covers all customers" in (
        panel.report_snippet())


def test_a_section_of_the_sample_driven_by_one_panel(sample_con):
    """Three charts of a voice-of-customer section on the read-only sample: one change redraws all."""
    import cxlib
    from cxlib.charts.journey import chart_funnel
    from cxlib.charts.voc import chart_nps
    from cxlib.explore import save_segment

    steps = ["product_page", "add_to_cart", "checkout"]
    panel, clock = make_panel(sample_con, notebook="voice_of_customer")
    nps = panel.view(lambda con, f: chart_nps(cxlib.nps(con, by=f.attribute or "region", **f.as_kwargs()),
                                              title="NPS by segment"))
    trend = panel.view(lambda con, f: chart_nps(cxlib.nps(con, period="month", **f.as_kwargs())))

    def funnel_and_table(con, f):
        df = cxlib.funnel(con, steps, **f.as_kwargs())
        return chart_funnel(df), df

    funnel = panel.view(funnel_and_table)
    counts = [v.runs for v in panel.views]
    panel.set(start="2025-03-01", end="2025-05-31", attribute="plan", channel="app")
    clock.advance(0.3)
    said = "2025-03-01 to 2025-05-31, channel app"
    assert [v.runs for v in panel.views] == [n + 1 for n in counts] and not any(v.error for v in panel.views)
    assert spec_of(nps)["title"]["subtitle"][-1] == said  # under the chart's own note (its zoomed axis)
    assert said in json.dumps(spec_of(trend)["title"]) and said in json.dumps(spec_of(funnel)["title"])
    assert "premium" in json.dumps(spec_of(nps)["datasets"])  # by plan now
    assert funnel.outputs[1]["data"]["text/plain"].startswith(said + "\n")  # the table's caption
    assert panel.report_parameters() == {"start": "2025-03-01", "end": "2025-05-31", "segment": "plan",
                                         "channel": "app"}
    ids = sample_con.execute("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 300").df()
    save_segment(sample_con, "first_300", ids)  # the store is read-only: the segment lives in the session
    panel.set(segment="first_300")
    clock.advance(0.3)
    first = panel.views[2].drilldown.result[1]
    assert 0 < first.loc[first["step"] == 1, "customers"].iloc[0] <= 300
    assert "segment first_300" in json.dumps(spec_of(funnel)["title"])
