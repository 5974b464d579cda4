"""Click to drill (cxlib.explore.click): picks driven the way the browser reports a click, on hand-made stores."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

import cxlib
from cxlib.charts.journey import chart_funnel
from cxlib.charts.voc import chart_nps
from cxlib.errors import CxInputError
from cxlib.explore import (
    Filters,
    by_attribute,
    by_channel,
    by_funnel_drop,
    by_touchpoint,
    drill,
    drilldown_customers,
    filtered,
    saved_segments,
)
from cxlib.explore.click import SHOWN_ROWS
from cxlib.store import refresh_derived

STEPS = ["home", "cart", "pay"]


@pytest.fixture()
def clicks(tmp_path):
    """A clickstream only (customers from first sight), read-only: u1..u4 through home -> cart -> pay."""
    path = tmp_path / "clicks.duckdb"
    con = cxlib.connect(path, read_only=False)
    rows = [("u1", "2024-03-01 10:00", "home", "web"), ("u1", "2024-03-01 10:05", "cart", "web"),
            ("u2", "2024-03-01 11:00", "home", "app"), ("u2", "2024-03-01 11:02", "cart", "app"),
            ("u3", "2024-03-02 09:00", "home", "app"), ("u3", "2024-03-02 09:10", "cart", "app"),
            ("u3", "2024-03-02 09:20", "pay", "app"), ("u4", "2024-03-03 09:00", "home", "web"),
            ("u4", "2024-03-20 09:00", "home", "app")]
    cxlib.ingest(pd.DataFrame(rows, columns=["customer_id", "ts", "touchpoint", "channel"]), "events", db=con,
                 add_customers=True)
    refresh_derived(con)
    con.close()
    con = cxlib.connect(path)
    yield con
    con.close()


def by_channel_chart(con) -> alt.Chart:
    counts = con.execute("SELECT channel, count(*) AS events FROM events GROUP BY 1 ORDER BY 1").df()
    return alt.Chart(counts).mark_bar().encode(x="channel:N", y="events:Q")


def test_a_picked_bar_lists_the_customers_behind_it(clicks):
    d = drill(by_channel_chart(clicks), clicks, by_channel())
    assert d.customers is None and "Click a bar" in d.headline.value
    d.pick({"channel": "app"})
    by_hand = [r[0] for r in clicks.execute(
        "SELECT DISTINCT customer_id FROM events WHERE channel = 'app' ORDER BY 1").fetchall()]
    assert d.customers["customer_id"].tolist() == by_hand == ["u2", "u3", "u4"]
    assert d.customers["events"].tolist() == [2, 3, 2]  # every event of theirs, not only the app ones
    assert d.sentence() == "3 customers behind channel app" and "3 customers behind channel app" in d.headline.value
    assert "u4" in d.table.value and not d.save_button.disabled
    # the click goes through the chart's selection, as the browser reports it
    assert d.chart.selections.drill.value == [{"channel": "app"}]
    spec = d.chart.chart.to_dict()
    assert spec["params"] == [{"name": "drill", "select": {"type": "point", "fields": ["channel"], "on": "click",
                                                           "toggle": False}}]
    d.pick({"channel": "web"})
    assert d.customers["customer_id"].tolist() == ["u1", "u4"]


def test_the_sql_shows_its_bound_values_and_reproduces_the_list(clicks):
    d = drill(by_channel_chart(clicks), clicks, by_channel())
    d.pick({"channel": "web"})
    text = d.sql_text()
    assert "'channel': 'web'" in text and "$channel" in text and d.sql.value == text
    assert "'web'" not in text.split("-- parameters:")[-1].split("\n", 1)[1]  # the value is bound, not in the SQL
    query = d.drilldown.queries[-1]
    again = clicks.execute(query.sql, query.params).df()
    pd.testing.assert_frame_equal(again, d.customers)
    # inside a filter, the filter's views and values come with it
    f = drill(by_channel_chart(clicks), clicks, by_channel(), filters=Filters(end="2024-03-02"))
    f.pick({"channel": "app"})
    assert f.customers["customer_id"].tolist() == ["u2", "u3"]  # u4's app event is on the 20th
    assert "cx_end = '2024-03-02'" in f.sql_text() and "CREATE TEMP VIEW events AS" in f.sql_text()
    assert f.sentence() == "2 customers behind channel app (up to 2024-03-02)"
    # a filter that says just what was picked is not repeated
    same = drill(by_channel_chart(clicks), clicks, by_channel(), filters=Filters(channel="app"))
    same.pick({"channel": "app"})
    assert same.sentence() == "3 customers behind channel app"


def test_saved_pick_feeds_a_funnel(clicks):
    funnel = cxlib.funnel(clicks, STEPS, min_group_size=1)
    chart = chart_funnel(funnel)
    d = drill(chart, clicks, by_funnel_drop(STEPS))
    d.pick({"step": 3})  # who reached cart but not pay: u1, u2
    assert d.customers["customer_id"].tolist() == ["u1", "u2"]
    assert d.sentence() == "2 customers who stopped before step 3"  # who they are, not 'behind step 3'
    assert d.save("stopped_at_pay") == 2
    assert saved_segments(clicks).values.tolist() == [["stopped_at_pay", 2]]
    assert "Saved 2 customers as segment stopped_at_pay" in d.saved.value
    with filtered(clicks, Filters(segment="stopped_at_pay")) as fs:
        again = cxlib.funnel(fs.con, STEPS, min_group_size=1)
    assert again["customers"].tolist() == [2, 2, 0]
    # the button does the same, and a bad name is a sentence, not an exception
    d.name.value = "not a name"
    d.save_button.click()
    assert "segment name" in d.saved.value
    d.pick({"step": 1})
    assert "nobody drops at step 1" in d.headline.value and d.customers is None and d.table.value == ""


def test_a_pick_without_customers_says_so_in_a_sentence(clicks):
    d = drill(by_channel_chart(clicks), clicks, by_channel(), filters=Filters(start="2024-03-10"))
    d.pick({"channel": "web"})  # no web event from the 10th on
    assert len(d.customers) == 0
    assert d.headline.value == "<p>No customers behind channel web (from 2024-03-10).</p>"
    assert d.table.value == "" and d.save_button.disabled
    with pytest.raises(CxInputError, match="no customers to save"):
        d.save("empty")
    d.pick({})  # a click on the background clears the selection
    assert d.customers is None and "Click a bar" in d.headline.value


def test_drill_refuses_outside_an_analyst_session(clicks):
    for flag in (False, None, "yes"):
        with pytest.raises(CxInputError, match="interactive"):
            drill(by_channel_chart(clicks), clicks, by_channel(), interactive=flag)
    with pytest.raises(CxInputError, match="which field a click picks"):
        drill(by_channel_chart(clicks), clicks, lambda store, picked: None)
    with pytest.raises(CxInputError, match="must be a function"):
        drill(by_channel_chart(clicks), clicks, "channel")
    d = drill(by_channel_chart(clicks), clicks, lambda store, picked: 3, fields="channel")
    d.pick({"channel": "app"})
    assert "not a frame with a customer_id column" in d.headline.value and d.customers is None


def test_a_chart_with_its_own_point_selection_keeps_it(clicks):
    chosen = alt.selection_point(name="pick", fields=["touchpoint"])
    counts = clicks.execute("SELECT touchpoint, count(*) AS n FROM events GROUP BY 1").df()
    chart = alt.Chart(counts).mark_bar().encode(x="touchpoint:N", y="n:Q").add_params(chosen)
    d = drill(chart, clicks, by_touchpoint())
    assert d.selection == "pick" and [p["name"] for p in d.chart.chart.to_dict()["params"]] == ["pick"]
    d.pick({"touchpoint": "pay"})
    assert d.customers["customer_id"].tolist() == ["u3"]


def test_a_custom_customers_function_and_a_long_list(sample_con):
    """By a customer attribute on the sample (read-only): the first 50 rows are shown and all are counted."""
    nps = cxlib.nps(sample_con, by="region", min_group_size=1)
    d = drill(chart_nps(nps), sample_con, by_attribute("region"))
    d.pick({"segment": "north"})
    want = drilldown_customers(sample_con, interactive=True, segment="region", value="north")
    pd.testing.assert_frame_equal(d.customers, want)
    assert len(want) > SHOWN_ROWS and d.table.value.count("</tr>") == SHOWN_ROWS + 1  # + the header row
    assert f"The first {SHOWN_ROWS} of {len(want):,}." in d.table.value
    # any function works when told the field
    d = drill(chart_nps(nps), sample_con,
              lambda store, picked: store.execute("SELECT customer_id FROM customers WHERE region = $r",
                                                  {"r": picked["segment"]}).df(), fields=["segment"])
    d.pick({"segment": "north"})
    assert sorted(d.customers["customer_id"]) == sorted(want["customer_id"])


def test_a_drillable_chart_in_a_panel_states_the_filter_in_its_title(clicks):
    """The panel titles a drill's chart as any chart it draws: the filter under the chart's own title."""
    from cxlib.explore import FilterPanel
    from cxlib.explore.widgets import _InlineExecutor

    panel = FilterPanel(clicks, debounce=0, executor=_InlineExecutor())
    drills = []

    def view(c, f):
        drills.append(drill(by_channel_chart(c).properties(title="Events by channel"), clicks, by_channel(),
                            filters=f))
        return drills[-1]

    panel.view(view)
    assert drills[-1].chart.spec["title"] == {"text": "Events by channel", "subtitle": "all data"}
    panel.set(channel="app")
    assert drills[-1].chart.spec["title"] == {"text": "Events by channel", "subtitle": "channel app"}
    drills[-1].pick({"channel": "app"})
    assert drills[-1].sentence() == "3 customers behind channel app"
