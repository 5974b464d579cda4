"""KPI tiles (cxlib.charts.tiles): escaped text, HTML the report sanitiser keeps as it is, values
formatted as the tables format them, and the change coloured by whether it is better or worse."""

from __future__ import annotations

import re
from datetime import datetime

from cxlib.analysis.kpis import Kpi, Kpis
from cxlib.charts.theme import colour
from cxlib.charts.tiles import format_change, format_interval, format_value, tiles
from cxlib.report.sanitize import sanitize_html

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


def _kpis(*items, missing=()):
    return Kpis("overview", datetime(2026, 6, 1), datetime(2026, 7, 1), datetime(2026, 5, 1), datetime(2026, 6, 1),
                "previous month", tuple(items), tuple(missing))


def _kpi(**kw):
    base = dict(key="nps", label="NPS", kind="score", value=17.8, lower=7.0, upper=28.6, previous=7.7, change=10.1,
                change_unit="pts", direction="better", significant=True)
    return Kpi(**{**base, **kw})


def _change_div(page: str, label: str) -> str:
    tile = page.split(f'<div class="cx-tile-label">{label}</div>', 1)[1].split('<div class="cx-tile">', 1)[0]
    return re.search(r'<div class="cx-tile-change ([^"]+)"', tile).group(1)


def test_a_hostile_label_and_reason_are_escaped():
    page = tiles(_kpis(_kpi(label=HOSTILE, note=HOSTILE), missing=[(HOSTILE, HOSTILE)]))._repr_html_()
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_html_survives_the_report_sanitiser_unchanged():
    page = tiles(_kpis(_kpi(), _kpi(key="churn", label="Churn rate", kind="percent", value=2.5, lower=1.9, upper=3.2,
                                    change=-0.9, direction="better", significant=False),
                       _kpi(key="revenue", label=HOSTILE, kind="money", value=32947.8, lower=None, upper=None,
                            change=9.2, change_unit="%", significant=None),
                       missing=[("Conversion", "Conversion needs events, which this store does not hold.")]))._repr_html_()
    assert sanitize_html(page) == page
    assert page.count("<style>") == 1 and "cx-tile" in page
    classes = {c for attr in re.findall(r'class="([^"]+)"', page) for c in attr.split()}
    assert all(c.startswith("cx-tile") for c in classes), classes
    assert "<script" not in page and "url(" not in page


def test_better_and_worse_colours_follow_the_metric_direction():
    page = tiles(_kpis(
        _kpi(key="churn", label="Churn down", kind="percent", change=-1.0, direction="better", significant=True),
        _kpi(key="nps", label="NPS down", change=-5.0, direction="worse", significant=True),
        _kpi(key="csat", label="CSAT within chance", kind="percent", change=-3.0, direction="worse", significant=False),
        _kpi(key="tickets", label="Tickets up", kind="count", change=4.0, change_unit="%", direction="up",
             significant=None),
        _kpi(key="revenue", label="Revenue flat", kind="money", change=0.01, change_unit="%", direction="flat",
             significant=None),
    ))._repr_html_()
    assert _change_div(page, "Churn down") == "cx-tile-better"
    assert _change_div(page, "NPS down") == "cx-tile-worse"
    assert _change_div(page, "CSAT within chance") == "cx-tile-grey"
    assert _change_div(page, "Tickets up") == "cx-tile-grey"  # no better or worse for a count without polarity
    assert _change_div(page, "Revenue flat") == "cx-tile-grey"
    css = page.split("<style>")[1].split("</style>")[0]
    assert f".cx-tile-better {{ color: {colour('better')}; }}" in css
    assert f".cx-tile-worse {{ color: {colour('worse')}; }}" in css
    assert f".cx-tile-grey {{ color: {colour('no clear difference')}; }}" in css
    assert "within chance" in page and "beyond chance" in page


def test_values_intervals_and_changes_read_like_the_tables():
    assert format_value(1927.0, "count") == "1,927"
    assert format_value(43.995, "percent") == "44.0%"
    assert format_value(25.5, "duration") == "1.1 days"
    assert format_value(32947.8, "money") == "32,948" and format_value(85.371, "money") == "85.37"
    assert format_value(5.2828, "mean") == "5.28"
    assert format_interval(11.0, 16.8, "score") == "(95% CI 11.0-16.8)"
    assert format_interval(-5.0, 3.2, "score") == "(95% CI -5.0 to 3.2)"
    assert format_interval(69.4, 76.8, "percent") == "(95% CI 69.4-76.8%)"
    assert format_interval(None, None, "score") == ""
    assert format_change(_kpi(change=2.1), "previous 4 weeks") == "▲ 2.1 pts vs previous 4 weeks"
    assert format_change(_kpi(change=-1.63, change_unit="%", kind="count"), "previous month") == "▼ 1.6% vs previous month"
    assert format_change(_kpi(change=0.0, direction="flat"), "previous week") == "■ no change vs previous week"


def test_hidden_values_and_missing_change_are_said_not_blank():
    page = tiles(_kpis(_kpi(hidden=True, value=None, lower=None, upper=None, change=None, previous=None,
                            note="hidden: fewer than 5 behind it, to protect their privacy"),
                       _kpi(key="csat", label="CSAT", change=None, previous=None, note="no earlier period to compare")
                       ))._repr_html_()
    assert '<div class="cx-tile-value">–</div>' in page and "fewer than 5" in page
    assert "no earlier period to compare" in page and "NaN" not in page and ">nan<" not in page
    assert "None" not in page
