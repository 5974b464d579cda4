"""Rendering an executed notebook to stakeholder HTML: escaped, masked, offline, defined."""

from __future__ import annotations

import json
import re

import altair as alt
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cxlib.errors import CxDataError
from cxlib.report import render
from cxlib.privacy.masking import Masker, mask_personal_data
from cxlib.report.render import caption_for, chart_svg, definitions_for, find_personal_data, render_report
from cxlib.report.sanitize import find_external_sources, sanitize_html, sanitize_svg

HOSTILE = [
    "<script>document.body.setAttribute('data-xss','1')</script>",
    "</script><script>alert(2)</script>",
    "<img src=x onerror=alert(3)>",
    '<a href="javascript:alert(4)">click</a>',
    "<svg onload=alert(5)></svg>",
    "<style>body{background:url(https://evil.example/x.png)}</style>",
]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to anna.smith@example.com now", "write to [email] now"),
        ("truncated anna.smith@exam...", "truncated [email]"),
        ("call +44 20 7946 0958 please", "call [phone] please"),
        ("call (555) 123-4567", "call [phone]"),
        ("call 555-123-4567.", "call [phone]."),
        ("call +4915112345678", "call [phone]"),
        ("call 07700900123", "call [phone]"),
        ("customer C0001234 again", "customer [id] again"),
        ("my name is Anna Smith and", "my name is [name] and"),
        ("Thanks, Bob", "Thanks, [name]"),
        ("My Name Is Anna", "My Name Is [name]"),
    ],
)
def test_the_one_masker_masks_personal_data(text, masked):
    assert mask_personal_data(text) == masked


@pytest.mark.parametrize(
    "text",
    ["Name: Region, dtype: float64", "0.12345678", "25.301205", "1234567", "12,345,678", "2024-01-15", "15.01.2024", "2024-01-15 10:30:00",
     "NPS 12.5 (95% CI 3.2 to 21.8)", "I am happy with it", "this is NPS", "C123", "order 20240115",
     "60\n80\n100\n140\n160\n1800", "140 160 1800", "n=123456789", "1.234567890"],
)
def test_the_one_masker_leaves_figures_dates_and_prose_alone(text):
    assert mask_personal_data(text) == text


def test_sanitize_html_escapes_scripts_and_removes_handlers_and_outside_sources():
    out = sanitize_html("<div>" + "".join(f"<p>{h}</p>" for h in HOSTILE) + "</div>")
    assert "<script" not in out.lower()
    assert "&lt;script&gt;" in out  # shown as text, as the customer wrote it
    assert "<p><img></p>" in out  # an allowed tag keeps no unsafe attribute
    assert not [a for _, attrs in _tags(out) for a, _ in attrs if a.startswith("on")]
    assert not [v for _, attrs in _tags(out) for _, v in attrs if "javascript:" in (v or "")]
    assert "url(" not in out
    assert find_external_sources(out) == []


def test_sanitize_html_keeps_tables_and_safe_styles():
    html = ('<table class="dataframe"><tr style="text-align: right; background-image: url(http://x/y)">'
            '<td colspan="2" onclick="x()">1.5</td></tr></table><img src="data:image/png;base64,AAAA">'
            '<img src="https://evil.example/t.png">')
    out = sanitize_html(html)
    assert '<table class="dataframe">' in out and 'colspan="2"' in out and "text-align: right" in out
    assert "onclick" not in out and "url(" not in out and "evil.example" not in out
    assert 'src="data:image/png;base64,AAAA"' in out


def test_sanitize_svg_drops_scripts_handlers_and_foreign_objects():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="x()">'
           '<script>alert(1)</script><foreignObject><div>x</div></foreignObject>'
           '<a xlink:href="javascript:alert(1)"><text>mail bob@example.org</text></a>'
           '<rect width="10" height="5" onmouseover="y()"/></svg>')
    out = sanitize_svg(svg)
    assert "script" not in out and "foreignObject" not in out and "onload" not in out
    assert "onmouseover" not in out and "javascript" not in out
    assert "[email]" in out and "<rect" in out


def _tags(html: str) -> list[tuple[str, list]]:
    """Every start tag of a page with its attributes, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    P().feed(html)
    return found


def _chart_output(chart: alt.Chart) -> dict:
    """The display output a report kernel produces for a chart (cx-report renderer)."""
    bundle = render._report_renderer(chart.to_dict())
    return new_output("display_data", data=bundle)


def _notebook() -> nbformat.NotebookNode:
    comments = pd.DataFrame({"comment": HOSTILE + ["reach anna@example.com or +44 20 7946 0958", "C0000042"]})
    nb = new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    md = new_markdown_cell("# Title\n\nPlain sentence. <script>alert('author')</script>")
    table = new_code_cell("comments")
    table.outputs = [new_output("execute_result", data={"text/html": comments.to_html(escape=False),
                                                        "text/plain": "df"}, execution_count=1)]
    styled = new_code_cell("comments.style")
    styled.outputs = [new_output("execute_result", data={"text/html": comments.style.to_html()}, execution_count=2)]
    markdown_out = new_code_cell("display(Markdown(...))")
    markdown_out.outputs = [new_output("display_data", data={"text/markdown": "Comment: " + HOSTILE[0] + HOSTILE[3]})]
    nps = pd.DataFrame({"segment": ["a", "b"], "nps": [10.0, -5.0]})
    chart = new_code_cell("chart")
    chart.outputs = [_chart_output(alt.Chart(nps).mark_bar().encode(x="segment:N", y="nps:Q"))]
    labels = new_code_cell("labels")
    labels.outputs = [_chart_output(
        alt.Chart(comments.assign(n=1)).mark_bar().encode(y="comment:N", x="n:Q", tooltip=["comment"])
        .properties(description="Mentions: how many comments say this.")
    )]
    widget = new_code_cell("slider")
    widget.outputs = [new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0},
        "text/plain": "IntSlider()"})]
    noisy = new_code_cell("warn")
    noisy.outputs = [new_output("stream", name="stderr", text="/home/anna/x.py:1: CxWarning: small sample\n"),
                     new_output("stream", name="stdout", text="printed <b>bold</b>\n")]
    nb.cells = [md, table, styled, markdown_out, chart, labels, widget, noisy]
    return nb


@pytest.fixture(scope="module")
def page():
    meta = {"run": {"run": "20260101T000000Z-abc", "job": "weekly"}, "parameters": {"segment": "<b>region</b>"},
            "data": {"store": "shop.duckdb", "as_of": "2026-06-30 22:46:33", "latest_event": "2026-06-30 21:35:27",
                     "row_counts": {"events": 24357, "customers": 500}, "fingerprint": "d80180d239e79660"}}
    return render_report(_notebook(), title="Test <report>", meta=meta)


def test_page_has_no_script_and_no_outside_source(page):
    assert "<script" not in page.html.lower()
    assert find_external_sources(page.html) == []
    assert "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';" in page.html
    assert "cdn" not in page.html.lower() and "require.js" not in page.html


def test_charts_are_inline_svg_with_definitions(page):
    assert page.charts == 2
    assert page.html.count("<svg") == 2
    assert len(re.findall(r"<figure class=\"cx-figure\"><svg", page.html)) == 2
    assert "NPS: % of respondents scoring 9-10 (promoters) minus % scoring 0-6 (detractors)" in page.html
    assert '<figcaption class="cx-definition">Mentions: how many comments say this.</figcaption>' in page.html
    assert page.definitions[0].startswith("NPS:")
    figures = re.findall(r'<figure class="cx-figure">.*?</figure>', page.html, re.S)
    assert "cx-definition" not in figures[0]  # the NPS bar chart has no description: its definition is in the footer
    assert "NPS:" in page.html.split('<footer class="cx-footer">')[1]
    assert "Mentions:" not in page.html.split('<footer class="cx-footer">')[1]
    assert '<h2 id="cx-definitions">Definitions</h2>' in page.html


def test_untrusted_text_is_escaped_on_every_path(page):
    html = page.html
    # the author's markdown, DataFrame HTML with escape=False, Styler, Markdown output, chart data
    assert "&lt;script&gt;alert('author')&lt;/script&gt;" in html
    assert "&lt;script&gt;document.body.setAttribute" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(2)" in html
    assert not [a for tag, attrs in _tags(html) for a, _ in attrs if a.startswith("on")]
    assert not [v for tag, attrs in _tags(html) for a, v in attrs if "javascript:" in (v or "").lower()
                and a in ("href", "src", "xlink:href")]
    assert "evil.example" not in "".join(v or "" for _, attrs in _tags(html) for a, v in attrs if a != "aria-label")
    svgs = "".join(re.findall(r"<svg.*?</svg>", html, re.S))
    assert "&lt;/script&gt;" in svgs  # chart data: a closing script tag is only text inside the SVG


def test_no_personal_data_and_masks_shown(page):
    assert find_personal_data(page.html) == []
    assert "anna@example.com" not in page.html and "7946" not in page.html and "C0000042" not in page.html
    assert "[email]" in page.html and "[phone]" in page.html and "[id]" in page.html


def test_the_same_notebook_renders_to_the_same_bytes(page):
    """nbformat gives cells random ids (one once held '7946', the phone number the test above looks for)."""
    nb = _notebook()
    first, again = (render_report(nb, title="Test <report>", meta={}) for _ in range(2))
    assert again.html == first.html
    ids = re.findall(r'id="(cell-id=[^"]*)"', page.html)
    assert ids and ids == [f"cell-id=c{n}" for n in range(1, len(ids) + 1)]
    assert re.findall(r'id="(cell-id=[^"]*)"', again.html) == ids


def test_header_has_run_parameters_freshness_counts_and_fingerprint(page):
    header = page.html.split("</header>")[0]
    for text in ("Test &lt;report&gt;", "20260101T000000Z-abc", "weekly", "&lt;b&gt;region&lt;/b&gt;",
                 "2026-06-30 22:46:33", "latest event 2026-06-30 21:35:27", "events 24,357", "customers 500",
                 "d80180d239e79660", "<th>store</th><td>shop.duckdb</td>"):
        assert text in header


def test_a_store_without_events_says_so_in_the_header():
    meta = {"data": {"store": "orders.duckdb", "as_of": "1998-06-30 00:00:00", "latest_event": None,
                     "row_counts": {"orders": 10}, "fingerprint": "0"}}
    header = render_report(_notebook(), title="t", meta=meta).html.split("</header>")[0]
    assert "1998-06-30 00:00:00 (no events)" in header and "None" not in header


def test_widgets_stderr_and_code_stay_out(page):
    assert "interactive control" in page.html
    assert "CxWarning" not in page.html and "/home/anna" not in page.html
    assert "printed &lt;b&gt;bold&lt;/b&gt;" in page.html
    assert "comments.style" not in page.html and "display(Markdown" not in page.html


def test_input_notebook_is_not_mutated():
    nb = _notebook()
    before = json.dumps(nb, sort_keys=True)
    render_report(nb, title="t")
    assert json.dumps(nb, sort_keys=True) == before


class _Leaky(Masker):
    """A masker whose masking misses everything (its scan still sees it)."""

    def mask(self, text):
        return text


def test_a_page_that_would_show_personal_data_is_refused():
    with pytest.raises(CxDataError, match="personal data"):
        render_report(_notebook(), title="t", masker=_Leaky())


def test_find_personal_data_sees_text_titles_and_svg_text():
    assert find_personal_data("<p>C1234567</p>") == ["id: C12***"]
    assert find_personal_data('<td title="bob@example.org">x</td>') == ["email: bob***"]
    assert find_personal_data("<svg><text>+44 20 7946 0958</text></svg>") == ["phone: +44***"]
    assert find_personal_data("<p>my name is Anna Smith</p>") == ["name: Ann***"]
    assert find_personal_data('<p class="C1234567">NPS 12.5, 2024-01-15, 0.12345678</p>') == []


@pytest.mark.parametrize(("page", "found"), [
    ("<p>call +44 7700 900123</p>", ["phone: +44***"]),
    ("<td>refund to GB82 WEST 1234 5698 7654 32</td>", ["iban: GB8***"]),
    ("<td>GB82WEST12345698765432</td>", ["iban: GB8***"]),
    ("<p>CUST-000123 called</p>", ["id: CUS***"]),
    ("<p>Ich heisse Anna</p>", ["name: Ann***"]),
    ("<p>je m'appelle <b>Marie</b></p>", ["name: Mar***"]),  # an inline tag does not hide a name
    ("<p>tel 06 12 34 56 78</p>", ["phone: 06 ***"]),
    ("<p>0044 20 7946 0958</p>", ["phone: 004***"]),
    ("<p>+44 (0)20 7946 0958</p>", ["phone: +44***"]),
    ("<p>tel: 030/1234567</p>", ["phone: 030***"]),
    ("<td>Kind regards</td><td>Total</td>", []),  # two cells are two texts: no sign-off across them
])
def test_the_page_scan_finds_what_the_old_scan_missed(page, found):
    """Issue 14: the final page scan let these through; it now uses the one masker's detectors."""
    assert find_personal_data(page) == found


def _store_masker() -> Masker:
    return Masker({"customer": ["CUST-000123", "C0000042"], "agent": ["A0007"],
                   "personal": ["Anna Smith", "GB29 NWBK 6016 1331 9268 19"]})


def _attribute_notebook() -> nbformat.NotebookNode:
    """A report whose table shows customer attributes: a bare name, an IBAN, ids of every shape."""
    frame = pd.DataFrame({"segment": ["Anna Smith", "GB82 WEST 1234 5698 7654 32", "north"],
                          "who": ["CUST-000123", "agent A0007", "c0000042"], "nps": [10.0, -5.0, 3.0]})
    nb = new_notebook()
    table = new_code_cell("frame")
    table.outputs = [new_output("execute_result", data={"text/html": frame.to_html(), "text/plain": "df"},
                                execution_count=1)]
    chart = new_code_cell("chart")
    chart.outputs = [_chart_output(alt.Chart(frame).mark_bar().encode(y="segment:N", x="nps:Q", tooltip=["who"]))]
    md = new_markdown_cell("Best segment: Anna Smith (CUST-000123)")
    nb.cells = [md, table, chart]
    return nb


def test_the_store_masker_masks_attribute_values_ids_and_ibans_everywhere_on_the_page():
    """Issue 14: an IBAN and a bare name in attribute values were shown; ids not shaped like C + 7
    digits passed. With the store's masker (as a report run passes it) none is shown, and the
    page scan with the same masker finds nothing."""
    masker = _store_masker()
    html = render_report(_attribute_notebook(), title="t", meta={"parameters": {"customer": "CUST-000123"}},
                         masker=masker).html
    for shown in ("Anna Smith", "Anna", "GB82", "CUST-000123", "A0007", "c0000042", "000123"):
        assert shown not in html, shown
    assert "[personal]" in html and "[iban]" in html and "[customer]" in html and "[agent]" in html
    assert "north" in html
    assert find_personal_data(html, masker) == []


def test_the_page_scan_with_the_store_masker_refuses_a_bare_store_value():
    masker = _store_masker()
    assert find_personal_data("<td>Anna Smith</td><td>cust-000123</td>", masker) == [
        "personal: Ann***", "customer: cus***"]
    assert find_personal_data("<td>Anna Smith</td>") == []  # without the store a bare name is not known
    with pytest.raises(CxDataError, match="personal data"):
        render_report(_attribute_notebook(), title="t", masker=type("Leaky", (_Leaky,), {})(
            {"personal": ["Anna Smith"]}))


def test_find_external_sources_flags_scripts_and_remote_sources():
    assert find_external_sources('<script src="https://cdn.example/vega.js"></script>')
    assert find_external_sources('<link rel="stylesheet" href="https://x/y.css">')
    assert find_external_sources('<img src="http://x/y.png">')
    assert find_external_sources("<style>@import 'x.css'</style>")
    assert find_external_sources('<a href="javascript:alert(1)">x</a>')
    assert find_external_sources('<p onclick="x()">x</p>')
    assert find_external_sources('<p style="background:url(https://x/y.png)">x</p>')
    assert find_external_sources('<img src="data:image/png;base64,AA"><a href="#x">x</a>'
                                 '<a href="https://example.com">docs</a><p>url(https://x) @import in text</p>') == []


def test_charts_never_fetch_outside_data():
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json",
            "data": {"url": "https://example.com/data.csv"}, "mark": "point",
            "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    with pytest.raises(CxDataError, match="could not be drawn offline"):
        chart_svg("application/vnd.vegalite.v6+json", spec)


def test_report_kernels_keep_a_static_svg_beside_the_chart_json():
    """Executed notebooks show their charts in nbconvert, GitHub and nbviewer (which don't run Vega)."""
    spec = alt.Chart(pd.DataFrame({"region": ["north", "south"], "nps": [12.0, -3.0]})).mark_bar().encode(
        x="region:N", y="nps:Q").to_dict()
    bundle = render._report_renderer(spec)
    assert any(m.startswith("application/vnd.vegalite.") for m in bundle)
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg") and ">north<" in svg and ">south<" in svg
    broken = render._report_renderer({"mark": "bar", "data": {"url": "https://example.com/x.csv"}})
    assert "image/svg+xml" not in broken  # no fallback; the page run says the chart could not be drawn


def test_captions_and_definitions_for_charts():
    assert caption_for({"description": " Own words. "}) == "Own words."
    assert caption_for({"encoding": {"y": {"field": "nps"}}}) is None  # no caption borrowed from the glossary
    assert definitions_for({"description": "Own words."}) == []
    assert [d.split(":")[0] for d in definitions_for({"encoding": {"y": {"field": "csat"}, "x": {"field": "ces"}}})] \
        == ["CSAT", "CES"]
    assert definitions_for({"encoding": {"y": {"field": "conversion_from_first"}}})[0].startswith("Funnel conversion")
    assert definitions_for({"encoding": {"y": {"field": "x"}}}) == []
    # data values never count as words: a comment saying 'churn' does not make a churn chart
    assert definitions_for({"datasets": {"d": [{"c": "churn nps"}]}, "encoding": {"y": {"field": "c"}}}) == []
