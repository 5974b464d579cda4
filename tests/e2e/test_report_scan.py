"""A scan of every rendered report (and the index): no personal data, no script, no outside source.

The patterns here are written independently of cxlib.report.render, so a bug in its own scanner
cannot hide a leak. Issue 14: the scan also runs the store's masker over every page, only HTML
reaches stakeholders (notebooks and kernel logs stay in reports/.analyst/, never linked), and a
store whose customers carry a name, an IBAN and a declared personal column, with comments holding
a fictional UK mobile, ids of other shapes and names introduced in German and French, publishes
none of them.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser

import nbformat
import pytest

import cxlib
from cxlib.privacy.masking import Masker, declare_personal_columns
from cxlib.report.render import find_personal_data
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
    found = sorted(p for p in out.rglob("*.html") if ".analyst" not in p.parts)
    assert out / "index.html" in found and len(found) >= 3
    return found


def _store_masker(store) -> Masker:
    con = cxlib.connect(store)
    try:
        return Masker.from_store(con)
    finally:
        con.close()


def test_no_personal_data_in_any_report(rendered_reports):
    masker = _store_masker(rendered_reports["store"])
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
        assert find_personal_data(html, masker) == [], page.name


def test_stakeholders_get_html_only_and_no_link_to_the_notebooks(rendered_reports):
    out = rendered_reports["out"]
    shown = [p for p in out.rglob("*") if p.is_file() and ".analyst" not in p.relative_to(out).parts]
    assert {p.suffix for p in shown} <= {".html", ".json", ".lock", ".pdf"}, sorted(str(p) for p in shown)
    assert not [p for p in shown if p.suffix == ".json" and p.name != "run.json"]
    notebooks = list((out / ".analyst").rglob("*.ipynb"))
    assert notebooks and (out / ".analyst").stat().st_mode & 0o777 == 0o700
    for page in pages(rendered_reports):
        links = re.findall(r'href="([^"]+)"', page.read_text())
        assert not [h for h in links if ".analyst" in h or h.endswith((".ipynb", ".log"))], page.name


PLANTED_ATTACK = ["Anna Smith", "GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "+44 7700 900123",
                  "7700 900123", "CUST-000123", "XK-42-QP", "xk-42-qp", "Bobby", "Anna", "Marie"]


@pytest.fixture(scope="module")
def attacked(sample_db, tmp_path_factory):
    """A store whose customers carry a name, an IBAN and a declared personal nickname as
    attributes, with comments holding personal data; one report run on it."""
    from report_helpers import PROJECT, cx

    folder = tmp_path_factory.mktemp("attacked")
    store = folder / "attacked.duckdb"
    shutil.copyfile(sample_db, store)
    con = cxlib.connect(store, read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN name VARCHAR")
    con.execute("ALTER TABLE customers ADD COLUMN iban VARCHAR")
    con.execute("ALTER TABLE customers ADD COLUMN nickname VARCHAR")
    ids = [r[0] for r in con.execute("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 7").fetchall()]
    con.execute("UPDATE customers SET name = 'Anna Smith', iban = 'GB82 WEST 1234 5698 7654 32', nickname = 'Bobby' "
                "WHERE list_contains(?, customer_id)", [ids[:6]])
    con.execute("UPDATE customers SET name = 'Zoë Müller', iban = 'GB82WEST12345698765432' WHERE customer_id = ?",
                [ids[6]])
    con.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('XK-42-QP', '2024-01-01'), "
                "('CUST-000123', '2024-01-01')")
    declare_personal_columns(con, ["nickname"])
    comments = ["PLANTED call me on +44 7700 900123", "PLANTED I am CUST-000123", "PLANTED Ich heisse Anna",
                "PLANTED je m'appelle Marie", "PLANTED ask xk-42-qp about it", "PLANTED Bobby was here",
                "PLANTED refund to GB82WEST12345698765432"]
    con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, comment) "
                    "VALUES (?, 'XK-42-QP', '2026-01-01', 'nps', 3, ?)",
                    [(f"planted-{i}", c) for i, c in enumerate(comments)])
    con.close()
    out = folder / "reports"
    done = cx("report", "run", str(PROJECT / "tests" / "e2e" / "fixtures" / "personal_attributes.ipynb"),
              "--db", str(store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = next(p for p in out.iterdir() if p.is_dir() and p.name not in ("latest", ".analyst"))
    return {"store": store, "out": out, "run": run}


def test_attribute_values_ids_ibans_and_introduced_names_are_never_published(attacked):
    page = (attacked["run"] / "personal_attributes.html").read_text()
    seen = Seen()
    seen.feed(page)
    text = "\n".join(seen.text)
    attrs = " ".join(v or "" for _, a in seen.tags for k, v in a.items() if k not in ("src", "d", "transform"))
    for where in (text, attrs):
        for planted in PLANTED_ATTACK:
            assert planted not in where, planted
    for label in ("[personal]", "[phone]", "[customer]", "[name]"):  # the IBANs are store values: [personal]
        assert label in text, label
    assert find_personal_data(page, _store_masker(attacked["store"])) == []
    # the executed notebook keeps them all, for analysts only
    executed = nbformat.read(attacked["out"] / ".analyst" / attacked["run"].name / "personal_attributes.ipynb",
                             as_version=4)
    raw = str(executed)
    assert all(planted in raw for planted in ("Anna Smith", "GB82 WEST 1234 5698 7654 32", "+44 7700 900123",
                                              "ask xk-42-qp", "Bobby", "je m'appelle Marie"))


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


def test_every_chart_carries_its_own_caption(rendered_reports):
    for page in pages(rendered_reports):
        if page.name == "index.html":
            continue
        figures = re.findall(r'<figure class="cx-figure">(.*?)</figure>', page.read_text(), re.S)
        for i, figure in enumerate(figures, 1):
            assert '<figcaption class="cx-definition">' in figure, (
                f"{page.name}: chart {i} has no caption; give it .properties(description='...'), one sentence "
                "written for that figure (glossary definitions go to the page's Definitions list)")
