"""Every rendered report laid out by a real browser (headless Chromium) on the sample store, and read
as a stakeholder reads it:

1. no SVG text extends past its chart's box or past a clip region, and none was shortened with '…';
2. no table cell shows NaN / NaT / None / <NA>, no count shows '.0', no text anywhere shows a raw
   timedelta ('0 days 00:12:00');
3. colour keys match the marks: each legend swatch's colour is used by a mark of its chart, a legend
   label that names a meaning of the palette ('promoters', 'worse', ...) has that meaning's colour,
   and one label has one colour on the whole page;
4. every chart has its own caption: present, not another chart's caption (unless the charts are the
   same kind), and naming no metric (NPS, CSAT, CES) that its chart never mentions.

Pages are script-free (a CSP forbids scripts), so the test measures a copy of each page with the CSP
removed and a measuring script added; the script writes what it found as JSON into
<pre id="cx-check">, read back from Chromium's --dump-dom.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from report_helpers import PROJECT, dump_dom, find_browser

from cxlib.charts.theme import COLOURS, NPS_GROUPS
from cxlib.report.jobs import notebooks as report_notebooks

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WINDOW = "--window-size=1280,1000"
TOLERANCE = 1.0  # px

# Collects, per figure, the boxes of the svg and its texts (with any clip region), the legends and
# the colours of the marks; per table the header and cells; and the page's visible text.
MEASURE = r"""
(function () {
  function box(r) { return [r.left, r.top, r.right, r.bottom]; }
  function colour(el, prop) {
    var v = getComputedStyle(el)[prop];
    if (!v || v === 'none' || v.indexOf('url(') === 0) return null;
    var m = v.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/);
    if (!m || (m[4] !== undefined && +m[4] === 0)) return null;
    return '#' + [m[1], m[2], m[3]].map(function (x) { return (+x).toString(16).padStart(2, '0'); }).join('');
  }
  function clipBox(el, svg) {
    // The clip region (in page px) of the nearest ancestor with a clip-path, or null.
    for (var g = el.parentElement; g && g !== svg.parentElement; g = g.parentElement) {
      var ref = g.getAttribute && g.getAttribute('clip-path');
      if (!ref) continue;
      var id = (ref.match(/url\(["']?#([^"')]+)/) || [])[1];
      var cp = id && svg.querySelector('[id="' + id + '"]');
      var shape = cp && cp.firstElementChild;
      if (!shape) continue;
      var b = shape.getBBox(), m = g.getScreenCTM();
      var pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]].map(
        function (p) { var q = new DOMPoint(p[0], p[1]).matrixTransform(m); return [q.x, q.y]; });
      var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
      return [Math.min.apply(null, xs), Math.min.apply(null, ys), Math.max.apply(null, xs), Math.max.apply(null, ys)];
    }
    return null;
  }
  var out = {figures: [], tables: [], text: document.body.innerText};
  document.querySelectorAll('figure').forEach(function (fig, i) {
    var svg = fig.querySelector('svg');
    var f = {index: i, captions: [], svg: null, texts: [], legends: [], marks: [], kind: [], title: ''};
    fig.querySelectorAll('figcaption').forEach(function (c) { f.captions.push(c.textContent.trim()); });
    if (svg) {
      f.svg = box(svg.getBoundingClientRect());
      f.title = Array.from(svg.querySelectorAll('.role-title-text text')).map(function (t) {
        return t.textContent; }).join(' ');
      svg.querySelectorAll('text').forEach(function (t) {
        var s = t.textContent;
        if (!s.trim()) return;
        f.texts.push({text: s, box: box(t.getBoundingClientRect()), clip: clipBox(t, svg),
                      legend: !!t.closest('.role-legend')});
      });
      svg.querySelectorAll('.role-legend').forEach(function (lg) {
        var title = lg.querySelector('.role-legend-title text');
        var entries = [];
        var labels = lg.querySelectorAll('.role-legend-label text');
        var symbols = lg.querySelectorAll('.role-legend-symbol path, .role-legend-symbol rect, .role-legend-symbol circle');
        symbols.forEach(function (sym, k) {
          entries.push({label: labels[k] ? labels[k].textContent : '', fill: colour(sym, 'fill'),
                        stroke: colour(sym, 'stroke')});
        });
        f.legends.push({title: title ? title.textContent : '', entries: entries,
                        gradient: !!lg.querySelector('.role-legend-gradient')});
      });
      svg.querySelectorAll('.role-mark').forEach(function (g) {
        if (g.closest('.role-legend') || g.closest('.role-axis')) return;
        f.kind.push((g.getAttribute('class') || '').split(' ')[0]);
        g.querySelectorAll('path, rect, circle, line, polygon, polyline, ellipse').forEach(function (m) {
          [colour(m, 'fill'), colour(m, 'stroke')].forEach(function (c) { if (c) f.marks.push(c); });
        });
      });
      f.marks = Array.from(new Set(f.marks));
      f.kind = Array.from(new Set(f.kind)).sort();
    }
    out.figures.push(f);
  });
  document.querySelectorAll('main table, table').forEach(function (t) {
    if (t.closest('header')) return;
    var head = Array.from(t.querySelectorAll('thead th')).map(function (c) { return c.textContent.trim(); });
    var rows = Array.from(t.querySelectorAll('tbody tr')).map(function (tr) {
      return Array.from(tr.children).map(function (c) { return c.textContent.trim(); });
    });
    out.tables.push({head: head, rows: rows});
  });
  var pre = document.createElement('pre');
  pre.id = 'cx-check';
  pre.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(out))));
  document.body.appendChild(pre);
})();
"""

CSP_META = re.compile(r"<meta\s+http-equiv=\"Content-Security-Policy\"[^>]*>", re.IGNORECASE)


def measure(browser: str, page: Path, tmp_path: Path) -> dict:
    """What MEASURE found on `page`, laid out by Chromium."""
    html = CSP_META.sub("", page.read_text())
    assert "</body>" in html
    copy = tmp_path / f"measured-{page.name}"
    copy.write_text(html.replace("</body>", f"<script>{MEASURE}</script></body>", 1))
    dom = dump_dom(browser, copy, tmp_path, WINDOW)
    found = re.search(r'<pre id="cx-check">([A-Za-z0-9+/=\s]*)</pre>', dom)
    assert found, f"{page.name}: the measuring script did not run"
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8"))


# --- the checks: each takes what MEASURE found and returns the problems as sentences ---

def _name(fig: dict) -> str:
    return f"figure {fig['index'] + 1} ({fig['title'][:70]!r})"


def _outside(b: list[float], frame: list[float], tol: float = TOLERANCE) -> bool:
    return b[0] < frame[0] - tol or b[1] < frame[1] - tol or b[2] > frame[2] + tol or b[3] > frame[3] + tol


def check_text_inside(found: dict) -> list[str]:
    problems = []
    for fig in found["figures"]:
        if fig["svg"] is None:
            continue
        for t in fig["texts"]:
            where = f"{_name(fig)}: text {t['text']!r}"
            b = [round(v, 1) for v in t["box"]]
            if _outside(b, fig["svg"]):
                problems.append(f"{where} at {b} extends past its chart {[round(v) for v in fig['svg']]}")
            elif t["clip"] and _outside(b, t["clip"]):
                problems.append(f"{where} at {b} is clipped by {[round(v) for v in t['clip']]}")
            if t["text"].rstrip().endswith("…"):
                problems.append(f"{where} is shortened with '…'")
    return problems


MISSING = re.compile(r"^(nan|NaN|NaT|None|<NA>|null|undefined|inf|-inf)$|\bNaN\b|\bNaT\b|\bNone\b|<NA>")
TIMEDELTA = re.compile(r"\bdays?,?\s+\d{1,2}:\d{2}|\b\d{1,2}:\d{2}:\d{2}\.\d{3,}")
WHOLE_WITH_ZERO = re.compile(r"^-?\d{1,3}(?:,?\d{3})*\.0+$")
# a column of counts: its header names what is counted (not a rate, share, mean or amount of it)
COUNT_HEAD = re.compile(r"^(n|#)$|\bn_|\bn\b|count|customers|responses|respondents|answers|tickets|orders|"
                        r"comments|contacts|visits|events|members|frequency|purchases|\bnumber\b", re.IGNORECASE)
NOT_COUNT_HEAD = re.compile(r"rate|share|%|mean|average|avg|per |revenue|value|amount|score|lift|ratio", re.IGNORECASE)


def check_cells(found: dict) -> list[str]:
    problems = []
    for ti, table in enumerate(found["tables"], 1):
        columns: dict[int, list[str]] = defaultdict(list)
        for row in table["rows"]:
            for ci, cell in enumerate(row):
                columns[ci].append(cell)
                if MISSING.search(cell):
                    problems.append(f"table {ti}: cell {cell!r} shows a missing value ({row[:3]})")
        # a row's label cell (th) comes first when the table has an index
        offset = max(map(len, table["rows"]), default=0) - len(table["head"])
        for ci, cells in columns.items():
            head = table["head"][ci - offset] if 0 <= ci - offset < len(table["head"]) else ""
            numbers = [c for c in cells if re.fullmatch(r"-?[\d,]+(?:\.\d+)?", c)]
            zeros = [c for c in numbers if WHOLE_WITH_ZERO.match(c)]
            whole = all(WHOLE_WITH_ZERO.match(c) or re.fullmatch(r"-?[\d,]+", c) for c in numbers)
            # counts: a column of whole numbers, some shown with '.0', under a count's header or all so
            count_like = COUNT_HEAD.search(head) and not NOT_COUNT_HEAD.search(head)
            if zeros and whole and (count_like or len(zeros) >= 2):
                problems.append(f"table {ti}, column {head!r}: counts shown with decimals: {zeros[:5]}")
    for fig in found["figures"]:
        for t in fig["texts"]:
            if MISSING.search(t["text"].strip()):
                problems.append(f"{_name(fig)}: text {t['text']!r} shows a missing value")
    for m in TIMEDELTA.finditer(found["text"]):
        problems.append(f"timedelta text: {found['text'][max(0, m.start() - 40):m.end() + 20]!r}")
    return problems


# legend labels that name a meaning of the palette in other words
SAYINGS = {**NPS_GROUPS, "better": "better", "worse": "worse", "no clear difference": "no clear difference",
           "could be chance": "no clear difference", "like the rest": "no clear difference",
           "significant": "significant", "not significant": "not significant", "higher": "higher", "lower": "lower",
           "above average": "higher", "below average": "lower", "faster": "better", "slower": "worse",
           "lowers churn": "better", "raises churn": "worse"}


def _meaning(label: str) -> str | None:
    """The palette meaning a legend label names ('Promoters (9-10)' -> 'promoter', 'significantly worse'
    -> 'worse', 'over-represented among detractors' -> 'detractor'), or None."""
    low = re.sub(r"^significantly\s+", "", label.strip().lower())
    for saying in sorted(SAYINGS, key=len, reverse=True):
        if low == saying or low.startswith(saying + " "):
            return SAYINGS[saying]
    groups = {NPS_GROUPS[w] for w in re.findall(r"\b(promoters?|passives?|detractors?)\b", low)}
    return groups.pop() if len(groups) == 1 else None


def check_colour_keys(found: dict) -> list[str]:
    problems = []
    page_colours: dict[str, dict[str, str]] = defaultdict(dict)  # label -> colour -> where
    for fig in found["figures"]:
        for lg in fig["legends"]:
            if len(lg["entries"]) > 1 and len({e["fill"] or e["stroke"] for e in lg["entries"]}) == 1:
                continue  # one colour for every entry: a key to size, shape, dashes or opacity, not to colour
            for e in lg["entries"]:
                key = e["fill"] or e["stroke"]
                where = f"{_name(fig)}: legend {lg['title']!r} entry {e['label']!r}"
                if key is None:
                    continue
                if key not in fig["marks"] and (e["stroke"] or key) not in fig["marks"]:
                    problems.append(f"{where} is {key}, a colour no mark of the chart uses "
                                    f"(marks: {', '.join(sorted(fig['marks']))})")
                meaning = _meaning(e["label"])
                if meaning and COLOURS[meaning] not in (e["fill"], e["stroke"]):
                    problems.append(f"{where} names '{meaning}' but is {key}, not {COLOURS[meaning]}")
                page_colours[e["label"]][key] = _name(fig)
    for label, colours in page_colours.items():
        if len(colours) > 1:
            problems.append(f"legend entry {label!r} has {len(colours)} colours on the page: "
                            + "; ".join(f"{c} in {w}" for c, w in colours.items()))
    return problems


METRICS = {  # a caption naming the key needs the chart to mention one of the words
    "NPS": re.compile(r"\bnps\b|promoter|detractor|net promoter", re.IGNORECASE),
    "CSAT": re.compile(r"\bcsat\b|satisf", re.IGNORECASE),
    "CES": re.compile(r"\bces\b|effort", re.IGNORECASE),
}


def check_captions(found: dict) -> list[str]:
    problems = []
    seen: dict[str, dict] = {}
    for fig in found["figures"]:
        caption = " ".join(c for c in fig["captions"] if c)
        if not caption:
            problems.append(f"{_name(fig)} has no caption")
            continue
        other = seen.setdefault(caption, fig)
        if other is not fig and other["kind"] != fig["kind"]:
            problems.append(f"{_name(fig)} has the caption of {_name(other)}, a different kind of chart: "
                            f"{caption[:100]!r}")
        drawn = " ".join(t["text"] for t in fig["texts"])
        for metric, words in METRICS.items():
            if re.search(rf"\b{metric}\b", caption) and not words.search(drawn):
                problems.append(f"{_name(fig)}: the caption speaks of {metric}, the chart never does: "
                                f"{caption[:100]!r}")
    return problems


CHECKS = {"text inside its chart": check_text_inside, "table cells": check_cells,
          "colour keys": check_colour_keys, "captions": check_captions}


def problems_of(found: dict) -> dict[str, list[str]]:
    return {name: check(found) for name, check in CHECKS.items()}


@pytest.fixture(scope="module")
def browser():
    return find_browser()


@pytest.fixture(scope="module")
def measured(browser, rendered_reports, tmp_path_factory) -> dict[str, dict]:
    """Target name -> what MEASURE found on its page, for every page of the run."""
    run = rendered_reports["run"]
    manifest = json.loads((run / "run.json").read_text())
    tmp = tmp_path_factory.mktemp("layout")
    return {t["name"]: measure(browser, run / t["html"], tmp) for t in manifest["targets"] if t["status"] == "ok"}


PAGES = [p.stem for p in report_notebooks(PROJECT / "notebooks")]  # the reports: start_here is for analysts only
CASES = [(page, check) for page in [*PAGES, "chart_and_comments"] for check in CHECKS]


@pytest.mark.parametrize(("page", "check"), CASES)
def test_every_report_reads_right_in_a_browser(measured, page, check):
    assert page in measured, f"{page} did not render"
    problems = CHECKS[check](measured[page])
    assert not problems, f"{page}: {len(problems)} problem(s) with {check}:\n" + "\n".join(problems)


# --- controls: a hand-made page with one fault of each kind, and the same page without them ---

def _svg(title: str, *, legend_fill: str, mark_fill: str, label_x: int = 12, label: str = "Promoters",
         kind: str = "rect", inside: str = "") -> str:
    """A small chart drawn as Vega draws one: a title, clipped marks (plus `inside`), a one-entry legend."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="120" viewBox="0 0 300 120" '
        'style="font-family: DejaVu Sans, sans-serif">'
        f'<g class="mark-text role-title"><text x="5" y="15" font-size="12">{title}</text></g>'
        '<defs><clipPath id="c1"><path d="M0,0h120v100h-120Z"/></clipPath></defs>'
        f'<g transform="translate(10,20)" clip-path="url(#c1)"><g class="mark-{kind} role-mark">'
        f'<path d="M0,0h40v40h-40Z" fill="{mark_fill}"/>{inside}</g></g>'
        '<g class="mark-group role-legend" transform="translate(150,30)">'
        f'<g class="mark-symbol role-legend-symbol"><path d="M0,0h8v8h-8Z" fill="{legend_fill}"/></g>'
        f'<g class="mark-text role-legend-label"><text x="{label_x}" y="8" font-size="11">{label}</text></g>'
        "</g></svg>")


def _page(figures: list[tuple[str, str]], cells: list[str], note: str = "") -> str:
    """A report page as render.py writes one: CSP, figures with captions, a table of customers, a note."""
    from cxlib.report.render import CSP

    body = "".join(f'<figure class="cx-figure">{svg}<figcaption class="cx-definition">{cap}</figcaption></figure>'
                   for svg, cap in figures)
    rows = "".join(f"<tr><th>{i}</th><td>{c}</td></tr>" for i, c in enumerate(cells))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            f'content="{CSP}"></head><body><main>{body}<table><thead><tr><th></th><th>customers</th></tr></thead>'
            f"<tbody>{rows}</tbody></table><p>{note}</p></main></body></html>")


def test_each_check_catches_its_fault(browser, tmp_path):
    """Control: a cut label, a NaN cell, a count with '.0', a timedelta, a legend in a colour no mark
    has (and red for promoters), a borrowed caption and a caption about NPS under a chart without it
    are each found; the same page without the faults passes."""
    green, red = COLOURS["promoter"], COLOURS["detractor"]
    bad = tmp_path / "bad.html"
    bad.write_text(_page([
        (_svg("Promoters by region", legend_fill=red, mark_fill=green, label_x=250), "Share of promoters."),
        (_svg("Tickets by channel", legend_fill="#123456", mark_fill="#2f9fbf", label="Email", kind="symbol",
              inside='<text x="100" y="10" font-size="11">a label cut by the clip</text>'), "Share of promoters."),
        (_svg("Tickets by week", legend_fill="#2f9fbf", mark_fill="#2f9fbf", label="Email"),
         "NPS: promoters minus detractors."),
    ], ["12", "NaN", "1,204.0", "None"], note="Median wait: 3 days 00:00:00 at worst."))
    found = problems_of(measure(browser, bad, tmp_path))
    text = "\n".join(f"{k}: {p}" for k, ps in found.items() for p in ps)
    assert any("'Promoters'" in p and "extends past" in p for p in found["text inside its chart"]), text
    assert any("cut by the clip" in p and "clipped" in p for p in found["text inside its chart"]), text
    assert any("'NaN'" in p for p in found["table cells"]) and any("'None'" in p for p in found["table cells"]), text
    assert any("'1,204.0'" in p and "count" in p for p in found["table cells"]), text
    assert any("timedelta" in p and "3 days 00:00:00" in p for p in found["table cells"]), text
    assert any("#123456" in p and "no mark" in p for p in found["colour keys"]), text
    assert any("names 'promoter'" in p and red in p for p in found["colour keys"]), text
    assert any("'Email' has 2 colours" in p for p in found["colour keys"]), text
    assert any("figure 2" in p and "caption of figure 1" in p for p in found["captions"]), text
    assert any("figure 3" in p and "speaks of NPS" in p for p in found["captions"]), text

    good = tmp_path / "good.html"
    good.write_text(_page([
        (_svg("Promoters by region", legend_fill=green, mark_fill=green), "Share of promoters."),
        (_svg("Tickets by channel", legend_fill="#2f9fbf", mark_fill="#2f9fbf", label="Email", kind="symbol",
              inside='<text x="10" y="10" font-size="11">a label</text>'), "Tickets per channel."),
    ], ["12"]))
    assert problems_of(measure(browser, good, tmp_path)) == {name: [] for name in CHECKS}
