"""The stakeholder page reads like a report (issue 15): printed headlines as prose paragraphs, a
contents list of same-page links to every section, print-friendly CSS."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cxlib.report.render import CSP, CSS, render_report
from cxlib.report.sanitize import find_external_sources, sanitize_html


def _stdout(text: str):
    return new_output("stream", name="stdout", text=text)


def _notebook():
    return new_notebook(cells=[
        new_markdown_cell("# The overview\n\nWhat this report shows."),
        new_markdown_cell("## How customers rate us"),
        new_code_cell("print(...)", outputs=[
            _stdout("NPS is 23 (19 to 27) from 1,204 answers.\n"),
            new_output("stream", name="stderr", text="UserWarning: a warning for analysts\n"),
            _stdout("Up 4 points on last month.\n\nDown <script>alert(1)</script> & more\n"),
        ]),
        new_markdown_cell("### A sub-heading (not listed)\n\n## Did it change?\n\nText."),
        new_markdown_cell("## Who's <here> & there"),
        new_markdown_cell("## How customers rate us"),  # the same heading twice
    ])


class _Page(HTMLParser):
    """Paragraph texts, the contents links and the ids of the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.h2_ids: list[str] = []
        self._p = self._a = None
        self._nav = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if tag == "nav":
            self._nav = True
        if tag == "h2" and not self._nav:
            self.h2_ids.append(attrs.get("id"))
        if tag == "p":
            self._p = []
        if tag == "a" and self._nav:
            self._a = [attrs["href"], ""]

    def handle_endtag(self, tag):
        if tag == "nav":
            self._nav = False
        if tag == "p" and self._p is not None:
            self.paragraphs.append("".join(self._p))
            self._p = None
        if tag == "a" and self._a:
            self.links.append(tuple(self._a))
            self._a = None

    def handle_data(self, data):
        if self._p is not None:
            self._p.append(data)
        if self._a:
            self._a[1] += data


def _parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def test_printed_headlines_are_escaped_paragraphs_not_a_stdout_box():
    page = render_report(_notebook(), title="Overview").html
    seen = _parsed(page)
    assert "NPS is 23 (19 to 27) from 1,204 answers." in seen.paragraphs
    assert "Up 4 points on last month." in seen.paragraphs
    assert "Down <script>alert(1)</script> & more" in seen.paragraphs  # shown as text ...
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page  # ... never markup
    assert "<pre" not in page and "output_stdout" not in page
    assert "UserWarning" not in page  # stderr stays in the executed notebook
    assert not find_external_sources(page)
    # consecutive prints of one cell form one block, a blank line makes no empty paragraph
    assert re.search(r'<div class="cx-prose"><p>NPS is 23 .*?</p><p>Up 4 points.*?</p><p>Down .*?</p></div>', page)


def test_a_printed_table_stays_monospace():
    table = "segment   nps    n\nnorth     12.0   40\nsouth     20.5   61\n"
    nb = new_notebook(cells=[new_code_cell("print(df)", outputs=[_stdout(table)])])
    page = render_report(nb, title="t").html
    assert '<pre class="cx-printed">segment   nps    n\nnorth' in page


def test_the_contents_list_links_every_section_and_every_link_lands():
    page = render_report(_notebook(), title="Overview").html
    seen = _parsed(page)
    assert page.index('<nav class="cx-contents"') < page.index("<main>")
    texts = [text for _, text in seen.links]
    # a heading's tag-like text shows as text (the sanitizer escapes it, with the closing tag html5lib adds)
    assert texts[:2] == ["How customers rate us", "Did it change?"] and texts[3] == "How customers rate us"
    assert texts[2].startswith("Who's <here> & there")
    targets = [href for href, _ in seen.links]
    assert all(href.startswith("#") for href in targets)
    assert [href[1:] for href in targets] == seen.h2_ids  # every h2 of the notebook, in order
    assert len(set(seen.ids)) == len(seen.ids)  # ids are unique, so every link lands on its own section
    assert "A sub-heading" not in " ".join(texts)


def test_the_contents_list_ends_with_the_definitions():
    import altair as alt
    import pandas as pd

    spec = alt.Chart(pd.DataFrame({"segment": ["a", "b"], "nps": [10.0, 20.0]})).mark_bar().encode(
        x="segment", y="nps").to_dict()
    nb = _notebook()
    nb.cells.append(new_code_cell("chart", outputs=[new_output(
        "display_data", data={"application/vnd.vegalite.v6+json": spec, "text/plain": "chart"})]))
    page = render_report(nb, title="Overview").html
    assert _parsed(page).links[-1] == ("#cx-definitions", "Definitions")
    assert '<h2 id="cx-definitions">Definitions</h2>' in page


def test_one_section_needs_no_contents_list():
    nb = new_notebook(cells=[new_markdown_cell("## Only one"), new_code_cell("x", outputs=[_stdout("One line.\n")])])
    page = render_report(nb, title="t").html
    assert "cx-contents\"" not in page and '<p>One line.</p>' in page


def test_the_sanitizer_keeps_same_page_links_and_ids_and_the_csp_allows_them():
    kept = sanitize_html('<h2 id="Did-it-change?">Did it change?</h2><a href="#Did-it-change?">go</a>')
    assert kept == '<h2 id="Did-it-change?">Did it change?</h2><a href="#Did-it-change?">go</a>'
    # fragment navigation is not a fetch: no directive of the policy governs it, and nothing is loaded
    assert "navigate-to" not in CSP and "default-src 'none'" in CSP


def test_the_page_prints_well():
    printed = CSS[CSS.index("@media print"):]
    assert re.search(r"figure\.cx-figure[^{]*main table[^{]*\{[^}]*break-inside:avoid", printed)
    assert re.search(r"a,nav\.cx-contents a\{color:inherit;text-decoration:none\}", printed)
    assert "header.cx-header{padding-top:0" in printed
    assert "url(" not in CSS and "@import" not in CSS


def test_analyst_only_cells_are_left_out_of_the_page():
    nb = new_notebook(cells=[
        new_markdown_cell("## Scores"),
        new_markdown_cell("**Explore** (analyst sessions, `interactive = True`): filter below.",
                          metadata={"tags": ["analyst-only"]}),
        new_markdown_cell("Shown to everyone."),
    ])
    html = render_report(nb, title="t").html
    assert "Shown to everyone." in html and "Explore" not in html and "interactive" not in html


def test_run_ids_pass_the_masker_unchanged():
    """Every page shows its run id through the masker; a hex suffix such as 'e12345' came out as '[id]'
    about once in 28 runs (a parallel and a serial run then differed by more than their ids)."""
    from cxlib.privacy.masking import default_masker
    from cxlib.report.runs import _new_run_id

    ids = {_new_run_id() for _ in range(2000)}
    assert len(ids) > 1990
    assert [i for i in ids if default_masker().mask(i) != i] == []
