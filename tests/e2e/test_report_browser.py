"""Rendered reports in headless Chromium with the network off: every chart drew, no script ran."""

from __future__ import annotations

import json
import re

import pytest
from report_helpers import dump_dom, find_browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHAPES = re.compile(r"<(?:path|rect|line|circle|text|polygon|polyline)\b", re.I)


@pytest.fixture(scope="module")
def browser():
    return find_browser()


def _no_script_ran(dom: str) -> None:
    assert not re.search(r"<[^>]+\sdata-xss\s*=", dom), "a script from the data ran"
    assert "<script" not in dom.lower()


def test_harness_sees_a_script_that_runs(browser, tmp_path):
    """Control: the check above does fail when a script runs (and our CSP stops it)."""
    payload = "<script>document.body.setAttribute('data-xss', 'ran')</script>"
    open_page = tmp_path / "open.html"
    open_page.write_text(f"<!DOCTYPE html><html><body><p>x</p>{payload}</body></html>")
    assert re.search(r"<body[^>]*data-xss=\"ran\"", dump_dom(browser, open_page, tmp_path))
    from cxlib.report.render import CSP

    guarded = tmp_path / "guarded.html"
    guarded.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}">'
                       f"</head><body><p>x</p>{payload}</body></html>")
    assert "data-xss" not in dump_dom(browser, guarded, tmp_path).split("<p>x</p>")[0]


def test_every_report_draws_its_charts_and_runs_no_script(browser, rendered_reports, tmp_path):
    run = rendered_reports["run"]
    manifest = json.loads((run / "run.json").read_text())
    good = [t for t in manifest["targets"] if t["status"] == "ok"]
    assert any(t["name"] == "chart_and_comments" for t in good), rendered_reports["stderr"]
    for target in good:
        page = run / target["html"]
        dom = dump_dom(browser, page, tmp_path)
        _no_script_ran(dom)
        title = re.search(r"<title>(.*?)</title>", page.read_text()).group(1)
        assert f"<title>{title}</title>" in dom
        svgs = re.findall(r"<svg\b.*?</svg>", dom, re.S)
        assert len(svgs) >= target["charts"], target["name"]
        for svg in svgs:
            assert len(SHAPES.findall(svg)) >= 3, f"{target['name']}: an empty chart"
    fixture = next(t for t in good if t["name"] == "chart_and_comments")
    assert fixture["charts"] == 2
    index = dump_dom(browser, rendered_reports["out"] / "index.html", tmp_path)
    _no_script_ran(index)
    assert f'href="latest/{rendered_reports["store"].stem}/chart_and_comments.html"' in index


def test_every_notebook_in_the_project_rendered(rendered_reports):
    """`cx demo` and scheduled runs need every notebook in notebooks/ to run on the sample data."""
    manifest = json.loads((rendered_reports["run"] / "run.json").read_text())
    failed = {t["name"]: t["reason"] for t in manifest["targets"] if t["status"] != "ok"}
    assert not failed, failed
    assert rendered_reports["returncode"] == 0


def test_interactive_charts_exported_as_html_work_offline(browser, tmp_path):
    """An analyst's export (`chart.save(path, inline=True)`) draws with no network and keeps its controls."""
    import pandas as pd

    from cxlib.charts import chart_metric_picker, chart_trend_explorer

    trend = pd.DataFrame({"period": pd.date_range("2025-01-01", periods=6, freq="MS"),
                          "value": [10.0, 12, 9, 15, 14, 16], "n": [40] * 6})
    picker = pd.DataFrame({"metric": ["nps", "nps", "csat", "csat"], "segment": ["north", "south"] * 2,
                           "value": [12.0, 20, 75, 80], "n": [50, 60, 50, 60]})
    for name, chart in {"trend": chart_trend_explorer(trend), "picker": chart_metric_picker(picker)}.items():
        page = tmp_path / f"{name}.html"
        chart.save(str(page), inline=True)
        dom = dump_dom(browser, page, tmp_path)
        marks = re.search(r'<svg[^>]*class="marks".*?</svg>', dom, re.S)
        assert marks and SHAPES.search(marks.group(0)), f"{name}: the chart did not draw offline"
        if name == "picker":
            assert re.search(r'<input[^>]*type="radio"', dom), "the radio binding is missing"
