"""A scan of every rendered report (and the index): no personal data, no script, no outside source.

The patterns here are written independently of cxlib.report.render, so a bug in its own scanner
cannot hide a leak.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cxlib.report.masking import find_personal_data
from cxlib.report.sanitize import find_external_sources

pytestmark = pytest.mark.slow

CUSTOMER_ID = re.compile(r"C\d{7}")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
PLANTED = ["anna.smith@example.com", "+44 20 7946 0958", "7946 0958", "Anna Smith", "bob.jones@example.org",
           "(555) 123-4567", "C0001234"]


class Seen(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def pages(rendered_reports):
    out = rendered_reports["out"]
    found = sorted(out.rglob("*.html"))
    assert out / "index.html" in found and len(found) >= 3
    return found


def test_no_personal_data_in_any_report(rendered_reports):
    for page in pages(rendered_reports):
        html = page.read_text()
        seen = Seen()
        seen.feed(html)
        text = "\n".join(seen.text)
        attrs = " ".join(v or "" for _, a in seen.tags for k, v in a.items() if k not in ("src", "d", "transform"))
        for where in (text, attrs):
            assert not CUSTOMER_ID.search(where), (page.name, CUSTOMER_ID.search(where).group(0))
            assert not EMAIL.search(where), (page.name, EMAIL.search(where).group(0))
            for planted in PLANTED:
                assert planted not in where, (page.name, planted)
        assert find_personal_data(html) == [], page.name


def test_no_script_and_no_outside_source_in_any_report(rendered_reports):
    for page in pages(rendered_reports):
        html = page.read_text()
        seen = Seen()
        seen.feed(html)
        assert not [t for t, _ in seen.tags if t in ("script", "iframe", "object", "embed", "link", "base")], page.name
        for tag, attrs in seen.tags:
            assert not [k for k in attrs if k.startswith("on")], (page.name, tag, attrs)
            for key in ("src", "href", "xlink:href"):
                value = (attrs.get(key) or "").strip().lower()
                assert not value.startswith("javascript:"), (page.name, tag)
                if key != "href" or tag != "a":
                    assert value == "" or value.startswith(("data:", "#")), (page.name, tag, value[:80])
        assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", "".join(
            m for m in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))), page.name
        assert find_external_sources(html) == [], page.name


def test_every_chart_carries_a_definition(rendered_reports):
    for page in pages(rendered_reports):
        if page.name == "index.html":
            continue
        figures = re.findall(r'<figure class="cx-figure">(.*?)</figure>', page.read_text(), re.S)
        for i, figure in enumerate(figures, 1):
            assert '<figcaption class="cx-definition">' in figure, (
                f"{page.name}: chart {i} has no metric definition; give it .properties(description='...') "
                "or a field/title the glossary in cxlib/render.py knows")
