"""The "start here" notebook's parts: activity counts, which reports can run, and that it is no report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.profile import activity, profile
from cxlib.charts.journey import chart_activity
from cxlib.errors import CxInputError
from cxlib.explore.start import REPORTS, reports_markdown, reports_ready, sections_of
from cxlib.locations import NOTEBOOK_DIR
from cxlib.report.jobs import notebooks


@pytest.fixture()
def clicks(tmp_path):
    """A clickstream alone: 7 customers; only events, customers added from first sight."""
    path = tmp_path / "clicks.duckdb"
    con = cxlib.connect(path, read_only=False)
    rows = [(f"c{i}", "2025-03-03", "home_page", "web") for i in range(7)]  # Monday of week 10: all 7 on web
    rows += [(f"c{i}", "2025-03-11", "app_login", "app") for i in range(5)]  # Tuesday of week 11: 5 on app
    rows += [("c0", "2025-03-12", "app_login", "app"), ("c0", "2025-03-16", "chat", "chat"),  # Sunday, week 11
             ("c1", "2025-03-17", "chat", "chat")]  # Monday of week 12
    con.execute("INSERT INTO customers SELECT DISTINCT customer_id, TIMESTAMP '2025-03-01' FROM "
                "(SELECT unnest($ids) AS customer_id)", {"ids": sorted({r[0] for r in rows})})
    con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel) VALUES (?, CAST(? AS TIMESTAMP), ?, ?)",
                    rows)
    con.close()
    con = cxlib.connect(path)
    yield con
    con.close()


def test_activity_counts_customers_and_events_per_channel_by_hand(clicks):
    df = activity(clicks, "channel", min_group_size=2).set_index("channel")
    # web: c0..c6 once each; app: c0..c4 once, c0 again; chat: c0 and c1, one each
    assert df.loc["web", ["customers", "events"]].tolist() == [7, 7]
    assert df.loc["app", ["customers", "events"]].tolist() == [5, 6]
    assert df.loc["chat", ["customers", "events"]].tolist() == [2, 2]
    assert not df["suppressed"].any()


def test_activity_hides_small_groups_without_totals(clicks):
    df = activity(clicks, "channel", min_group_size=3).set_index("channel")
    assert df.loc["chat", "suppressed"] and pd.isna(df.loc["chat", "customers"]) and pd.isna(df.loc["chat", "events"])
    assert df.loc["app", "customers"] == 5  # groups overlap, so no complement is hidden


def test_activity_by_week_starts_on_monday_and_the_end_day_is_included(clicks):
    df = activity(clicks, "week", min_group_size=1)
    assert [str(v)[:10] for v in df["week"]] == ["2025-03-03", "2025-03-10", "2025-03-17"]
    assert df["customers"].tolist() == [7, 5, 1]  # week 11: c0..c4 (c0's Sunday chat stays in week 11)
    cut = activity(clicks, "week", start="2025-03-04", end="2025-03-16", min_group_size=1)
    assert [str(v)[:10] for v in cut["week"]] == ["2025-03-10"]  # the 16th (end) counts, the 3rd does not
    assert cut["events"].tolist() == [7]  # 5 app logins + c0's second login + c0's chat on the 16th


def test_activity_refuses_an_unknown_grouping(clicks):
    with pytest.raises(CxInputError, match="region"):
        activity(clicks, "region")


def test_activity_chart_has_a_bar_per_shown_group(clicks):
    spec = chart_activity(activity(clicks, "channel", min_group_size=3), title="Customers by channel").to_dict()
    values = next(iter(spec["datasets"].values()))
    assert sorted(v["channel"] for v in values) == ["app", "web"]  # chat is hidden, not drawn as zero
    assert spec["mark"]["type"] == "bar"
    line = chart_activity(activity(clicks, "week", min_group_size=1)).to_dict()
    assert [layer["mark"]["type"] for layer in line["layer"]] == ["line", "line", "point"]
    assert line["layer"][0]["encoding"]["x"]["type"] == "temporal"
    assert line["layer"][1]["transform"] == [{"filter": "datum.period == 'whole'"}]  # the solid line: whole weeks only


def test_partial_periods_are_marked(clicks):
    weeks = activity(clicks, "week", min_group_size=1)
    # data from Monday 3 March to Monday 17 March: the week of the 17th has one observed day of seven
    assert weeks["complete"].tolist() == [True, True, False]
    cut = activity(clicks, "week", start="2025-03-04", end="2025-03-16", min_group_size=1)
    assert cut["complete"].tolist() == [True]  # 10-16 March lies inside 4-16 March
    cut = activity(clicks, "week", start="2025-03-11", min_group_size=1)
    assert cut["complete"].tolist() == [False, False]  # the 10th is before the start; the 17th's week runs on
    assert "complete" not in activity(clicks, "channel", min_group_size=1)


def test_reports_ready_reads_each_notebooks_sections():
    assert "journey.funnel" in sections_of(NOTEBOOK_DIR / "journey.ipynb")
    assert "service.agents" in sections_of(NOTEBOOK_DIR / "service.ipynb")
    assert all(s.startswith(("voc.", "overview.", "journey.", "churn.")) for s in sections_of(NOTEBOOK_DIR / "overview.ipynb"))


def test_a_clickstream_store_says_what_each_report_lacks(clicks):
    ready = reports_ready(profile(clicks)).set_index("report")
    assert list(ready.index) == list(REPORTS)
    assert ready.loc["service", "ready"] == 0 and "tickets" in ready.loc["service", "needs"]
    assert ready.loc["journey", "ready"] >= 1  # paths run on a clickstream
    text = reports_markdown(ready.reset_index())
    assert "- [Journey](journey.ipynb)" in text and "None of its" in text


def test_the_sample_can_run_every_section(sample_con):
    ready = reports_ready(profile(sample_con))
    assert ready["needs"].isna().all() and (ready["ready"] == ready["sections"]).all()
    assert "*All " in reports_markdown(ready)


def test_store_text_cannot_inject_links(clicks):
    ready = pd.DataFrame([("journey", "journey.ipynb", "x", 0, 2, "[click](http://evil) <img src=x>")],
                         columns=["report", "notebook", "about", "ready", "sections", "needs"])
    text = reports_markdown(ready)
    import re

    assert "[click](" not in text and not re.search(r"(?<!\\)[<\[\]]", text.split("): ", 1)[1])


def test_the_start_notebook_is_for_analysts_not_a_report(tmp_path):
    assert (NOTEBOOK_DIR / "start_here.ipynb").exists()
    assert "start_here" not in [p.stem for p in notebooks()]
    assert {"journey", "overview"} <= {p.stem for p in notebooks()}
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (tmp_path / "b.ipynb").write_text(json.dumps({"cells": [], "metadata": {"cx": {"report": False}},
                                                  "nbformat": 4, "nbformat_minor": 5}))
    assert [p.name for p in notebooks(tmp_path)] == ["a.ipynb"]
