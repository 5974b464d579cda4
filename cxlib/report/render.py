"""Render an executed notebook to one self-contained, script-free HTML page for stakeholders.

What a rendered report guarantees, whatever the notebook printed:

* **No code, no kernel, no network.** Inputs are hidden; Altair/Vega-Lite charts are drawn to
  inline SVG here with vl-convert (no CDN script, no JavaScript at all); images are data URIs.
  A Content-Security-Policy meta tag forbids every script and every outside source, so even a
  missed injection could not run or phone home. The page is one file that can be mailed.
* **Untrusted text is inert.** Every HTML fragment a notebook produced (DataFrames, pandas
  Stylers, Markdown output, error text) passes an allowlist sanitizer (bleach): tags outside the
  list, ``on*`` attributes, ``javascript:`` links and outside image/style sources are escaped or
  removed, so a comment ``<script>`` shows as text. Chart data goes into SVG text nodes, escaped
  by the SVG serializer, and the SVG is sanitized again (no script, foreignObject, handlers).
* **No personal data.** One masker (`cxlib.privacy.masking.Masker`; a report run passes the one
  built from the store, which knows every customer id, agent id and personal column value) masks
  e-mail addresses, phone numbers, IBANs, identifiers and introduced names in all shown text,
  titles, the header and chart data, and the finished page is scanned with the same masker: a
  page that still shows any is refused (`find_personal_data`).
* **Context.** A header gives the run time, job, parameters, data freshness (latest event and
  as-of), row counts and a fingerprint of the data; each chart carries a short definition of the
  metric it shows (from the chart's Vega-Lite ``description`` when set, else the glossary below)."""

from __future__ import annotations

import base64
import copy
import html
import json
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser

from cxlib.errors import CxDataError
from cxlib.privacy.masking import Masker, default_masker
from cxlib.report.sanitize import _SVG_NS, _XLINK_NS, sanitize_html, sanitize_svg

ET.register_namespace("", _SVG_NS)


ET.register_namespace("xlink", _XLINK_NS)


def _mask_spec(value, masker: Masker):
    """A copy of a chart spec with personal data masked in every string (its data included)."""
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, list):
        return [_mask_spec(v, masker) for v in value]
    if isinstance(value, dict):
        return {k: _mask_spec(v, masker) for k, v in value.items()}
    return value


def _vl_version(spec: dict) -> str | None:
    import vl_convert as vlc

    m = re.search(r"/v(\d+)\.(\d+)", str(spec.get("$schema", "")))
    if not m:
        return None
    wanted = f"{m.group(1)}.{m.group(2)}"
    versions = vlc.get_vegalite_versions()
    if wanted in versions:
        return wanted
    same_major = [v for v in versions if v.split(".")[0] == m.group(1)]
    return same_major[-1] if same_major else None


def chart_svg(mimetype: str, spec: dict, masker: Masker | None = None) -> str:
    """A Vega-Lite or Vega spec drawn to sanitized SVG, offline (no outside data is fetched), with
    personal data masked (`masker`, default the store-free one) in every string of the spec."""
    import vl_convert as vlc

    masker = masker or default_masker()
    spec = _mask_spec(spec, masker)
    try:
        if "vegalite" in mimetype:
            svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version(spec), allowed_base_urls=[])
        else:
            svg = vlc.vega_to_svg(spec, allowed_base_urls=[])
    except Exception as exc:  # noqa: BLE001 - vl-convert raises plain ValueError/RuntimeError
        raise CxDataError(f"a chart could not be drawn offline: {str(exc).splitlines()[0][:200]}") from None
    return sanitize_svg(svg, masker=masker)


# Short metric definitions for the page's Definitions list (same wording as docs/metrics.md).
GLOSSARY: list[tuple[str, re.Pattern, str]] = [
    ("NPS", re.compile(r"\bnps\b|net promoter|promoter|detractor", re.I),
     "NPS: % of respondents scoring 9-10 (promoters) minus % scoring 0-6 (detractors), from -100 to 100; "
     "intervals are 95% from the multinomial variance."),
    ("CSAT", re.compile(r"\bcsat\b|satisfaction", re.I),
     "CSAT: share of answers 4 or 5 on the 1-5 satisfaction scale (top-2-box), with a 95% Wilson interval."),
    ("CES", re.compile(r"\bces\b|effort", re.I),
     "CES: mean customer-effort score on the 1-7 scale, higher = easier (share of 5-7 alongside), "
     "with a 95% t interval."),
    ("Conversion", re.compile(r"conversion|funnel|drop.?off", re.I),
     "Funnel conversion: share of customers who did the first step and then each later step, in order, "
     "within the conversion window."),
    ("Retention", re.compile(r"retention|retained|cohort", re.I),
     "Retention: share of a cohort (customers whose first activity fell in the same month) still active "
     "N periods later."),
    ("Survival", re.compile(r"survival|kaplan|at.?risk", re.I),
     "Survival: Kaplan-Meier estimate of the share of customers not yet churned after t periods; customers "
     "still active are counted up to the data's as-of date (censored)."),
    ("Churn", re.compile(r"churn|p_alive|lost", re.I),
     "Churn: customers lost in a period / customers active at its start; lost = subscription ended, or no "
     "activity for 90 days where that much follow-up time exists."),
    ("Transitions", re.compile(r"transition|sankey|directly.?follow", re.I),
     "Transitions: how often one touchpoint directly followed another in customers' time-ordered events."),
    ("Peak-end", re.compile(r"peak", re.I),
     "Peak-end: per customer, (most extreme rating + last rating) / 2, compared with the plain mean of "
     "their ratings."),
    ("Themes", re.compile(r"theme", re.I),
     "Theme share: share of comments that mention a theme's keywords, by group."),
    ("Drivers", re.compile(r"driver|importance|coefficient|effect", re.I),
     "Drivers: how strongly each factor goes with the outcome in the analysis above (association, not "
     "proof of cause)."),
    ("Revenue", re.compile(r"revenue|amount|order value|lifetime", re.I),
     "Revenue: sum of order amounts in the period."),
    ("Lifecycle", re.compile(r"lifecycle|resurrect|dormant", re.I),
     "Lifecycle: customers per period who are new (first activity ever), returning (active this and the "
     "previous period), resurrecting (back after a gap) or dormant (active the previous period, not this one)."),
    ("Topics", re.compile(r"\btopics?\b", re.I),
     "Topics: groups of comments that use similar words, found automatically; each is labelled by its most "
     "typical words."),
    ("RFM", re.compile(r"recency|frequency|\brfm\b|r.score|f.score", re.I),
     "RFM: customers scored 1-5 on recency (time since their last order; 5 = most recent) and frequency "
     "(number of orders; 5 = most)."),
    ("Lift", re.compile(r"\blift\b|relative to average", re.I),
     "Lift: a segment's rate divided by the rate of all customers (1 = average; 2 = twice as common)."),
    ("Cluster profile", re.compile(r"cluster|\bsds?\b from average|z.score", re.I),
     "Cluster profile: how far each cluster's average on a measure lies from the average of all customers, "
     "in standard deviations."),
    ("Journey steps", re.compile(r"position|event number|\bpaths?\b|variant", re.I),
     "Journey steps: share of customers at each touchpoint by the order of their events (first, second, ...)."),
]


def _spec_words(spec) -> str:
    """Field names, titles and texts of a spec (not its data), for matching the glossary."""
    words: list[str] = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("datasets", "data", "values", "config"):
                    continue
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("field", "title", "text", "description", "as", "aggregate", "name"):
            words.append(node)

    walk(spec)
    return " ".join(words)


def caption_for(spec: dict) -> str | None:
    """The caption under a chart: its own ``description``, written for that figure (the chart modules set it)."""
    own = spec.get("description") if isinstance(spec, dict) else None
    return own.strip() if isinstance(own, str) and own.strip() else None


def definitions_for(spec: dict) -> list[str]:
    """The glossary lines a chart's fields and titles name: they go to the page's Definitions list, not under
    the chart (a survival chart split by NPS group names NPS, but its caption must speak of survival)."""
    words = _spec_words(spec).replace("_", " ")
    return [text for _, pattern, text in GLOSSARY if pattern.search(words)]


RENDERER = "cx-report"


def _report_renderer(spec: dict, **metadata) -> dict:
    """Altair renderer for report runs: the spec as Vega-Lite JSON under a `+json` mimetype, with a
    static SVG beside it so the executed notebook shows its charts in nbconvert, GitHub and nbviewer.

    (Altair's own 'mimetype' renderer writes 'application/vnd.vegalite.v6.json', which nbformat
    rejects when papermill saves the notebook.) The page is drawn from the JSON afterwards, masked
    with the store's own masker; a chart that cannot be drawn has no fallback and fails there.
    """
    import altair as alt

    mime = f"application/vnd.vegalite.{str(getattr(alt, 'SCHEMA_VERSION', 'v6')).split('.')[0]}+json"
    bundle = {mime: spec, "text/plain": "<Chart (drawn in the report)>"}
    try:
        bundle["image/svg+xml"] = chart_svg(mime, spec)
    except CxDataError:
        pass
    return bundle


def use_report_renderer() -> None:
    """Set up a kernel for a report run: charts as Vega-Lite JSON, pandas Stylers escape HTML."""
    import altair as alt
    import pandas as pd

    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, _report_renderer)
    alt.renderers.enable(RENDERER)
    pd.set_option("styler.format.escape", "html")
    pd.set_option("display.precision", 2)  # stakeholders read 19.35, not 19.345238


_MIME_CHART = re.compile(r"^application/vnd\.vega(?:lite)?\.v\d+(?:\.\d+)*(?:\+json|\.json)?$")


_WIDGET = "application/vnd.jupyter.widget-view+json"


CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "base-uri 'none'; form-action 'none'")


CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#1d1d1d;background:#fff;line-height:1.45}
main,header.cx-header,footer.cx-footer{max-width:1000px;margin:0 auto;padding:0 24px}
header.cx-header{border-bottom:3px solid #1f4e79;padding-top:16px;padding-bottom:12px;font-size:13px}
header.cx-header h1{font-size:20px;margin:0 0 8px;color:#1f4e79}
header.cx-header table,table.cx-meta{border-collapse:collapse;margin:4px 0}
header.cx-header td,header.cx-header th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
.cx-status-failed{color:#c23b4b;font-weight:bold}
main table{border-collapse:collapse;margin:8px 0;font-size:13px;display:block;overflow-x:auto;max-width:100%}
main th,main td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}
main th{background:#f4f6f8}
figure.cx-figure{margin:12px 0}
figure.cx-figure svg{max-width:100%;height:auto}
figcaption.cx-definition{font-size:12px;color:#555;margin-top:4px}
pre{white-space:pre-wrap;font-size:12px;background:#f7f7f7;padding:6px}
.cx-note{font-size:12px;color:#777;font-style:italic}
main table.cx-index{display:table;font-size:12px}
main table.cx-index th,main table.cx-index td{text-align:left;vertical-align:top}
.cx-status-ok{color:#3a9e6f;font-weight:bold}
body.cx-index-page main,body.cx-index-page header.cx-header{max-width:1400px}
footer.cx-footer{font-size:12px;color:#555;border-top:1px solid #ddd;margin-top:32px;padding-bottom:24px}
.cx-prose{border-left:3px solid #1f4e79;padding:1px 0 1px 12px;margin:10px 0}
.cx-prose p{font-size:15px;font-weight:600;margin:4px 0}
nav.cx-contents{max-width:1000px;margin:0 auto;padding:10px 24px 4px;font-size:14px;border-bottom:1px solid #ddd}
nav.cx-contents h2{font-size:14px;margin:0 0 4px;color:#1f4e79;text-transform:uppercase;letter-spacing:.04em}
nav.cx-contents ol{margin:0 0 6px;padding-left:22px;columns:2;column-gap:40px}
nav.cx-contents li{margin:1px 0;break-inside:avoid}
nav.cx-contents a{color:#1f4e79;text-decoration:none}
nav.cx-contents a:hover{text-decoration:underline}
@page{margin:14mm 12mm}
@media print{
body{font-size:10.5pt;line-height:1.35}
main,header.cx-header,footer.cx-footer,nav.cx-contents{max-width:none;padding-left:0;padding-right:0}
header.cx-header{padding-top:0;padding-bottom:4px;border-bottom-width:2px;font-size:8.5pt}
header.cx-header h1{font-size:15pt;margin:0 0 2px}
header.cx-header td,header.cx-header th{padding:0 8px 0 0}
figure.cx-figure,main table,main tr,pre,.cx-prose,nav.cx-contents{break-inside:avoid;page-break-inside:avoid}
main table{display:table;overflow:visible;font-size:9pt}
h1,h2,h3,h4{break-after:avoid;page-break-after:avoid}
a,nav.cx-contents a{color:inherit;text-decoration:none}
}
"""


@dataclass
class RenderedReport:
    """The page and what went into it."""

    html: str
    charts: int = 0
    definitions: list[str] = field(default_factory=list)


def _prepare(nb, token: str, masker: Masker) -> tuple[object, dict[str, tuple[str, str | None, list[str]]]]:
    """A copy of the notebook whose chart/widget/stderr outputs are replaced by placeholders."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # widget state would pull the widget manager from a CDN
    nb.cells = _without_skipped_sections(nb.cells)
    figures: dict[str, tuple[str, str | None, list[str]]] = {}  # key -> (svg, caption, glossary lines)
    for number, cell in enumerate(nb.cells, 1):
        if "id" in cell:
            cell.id = f"c{number}"  # nbformat's ids are random: a page is the same, byte for byte, on every run
        if cell.cell_type != "code":
            continue
        cell.source = ""
        outputs = []
        for out in _stdout_as_prose(cell.get("outputs", [])):
            if out.output_type not in ("display_data", "execute_result"):
                outputs.append(out)
                continue
            data = out.get("data", {})
            chart_mime = next((m for m in data if _MIME_CHART.match(m)), None)
            key = f"cxfigure{token}n{len(figures)}"
            if chart_mime:
                spec = data[chart_mime]
                spec = json.loads(spec) if isinstance(spec, str) else dict(spec)
                caption = caption_for(spec)
                figures[key] = (chart_svg(chart_mime, spec, masker), masker.mask(caption) if caption else None,
                                [masker.mask(d) for d in definitions_for(spec)])
            elif "image/svg+xml" in data:
                svg = data["image/svg+xml"]
                figures[key] = (sanitize_svg("".join(svg) if isinstance(svg, list) else svg, masker=masker), None, [])
            elif _WIDGET in data:
                out = copy.deepcopy(out)
                out["data"] = {"text/html": '<p class="cx-note">(an interactive control, shown only in '
                                            'JupyterLab with interactive = True)</p>'}
                outputs.append(out)
                continue
            else:
                outputs.append(out)
                continue
            out = copy.deepcopy(out)
            out["data"] = {"text/html": f"<div>{key}</div>"}
            out["metadata"] = {}
            outputs.append(out)
        cell.outputs = outputs
    return nb, figures


# Two or more lines with columns lined up by runs of spaces: printed tables stay monospace.
_ALIGNED = re.compile(r"\S {2,}\S")


def _prose_html(text: str) -> str:
    """Printed text as HTML: one escaped paragraph per non-blank line (a headline sentence reads as
    prose), or one <pre> block when its lines are columns lined up with spaces (a printed table)."""
    lines = [line.rsplit("\r", 1)[-1].strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if sum(bool(_ALIGNED.search(line)) for line in lines) >= 2:
        return f'<pre class="cx-printed">{html.escape(text.strip())}</pre>'
    return '<div class="cx-prose">' + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</div>"


def _stdout_as_prose(outputs: list) -> list:
    """A cell's outputs with stderr left out (warnings and logs belong in the executed notebook,
    not the report) and its stdout, consecutive prints joined, as prose HTML (`_prose_html`)."""
    from nbformat.v4 import new_output

    result: list = []
    printed: list[str] = []

    def flush():
        text = "".join(printed)
        printed.clear()
        if text.strip():
            result.append(new_output("display_data", data={"text/html": _prose_html(text)}))

    for out in outputs:
        if out.output_type == "stream":
            if out.get("name") != "stderr":
                printed.append("".join(out.text) if isinstance(out.text, list) else str(out.text))
            continue
        flush()
        result.append(out)
    flush()
    return result


_H2 = re.compile(r"<h2\b([^>]*)>(.*?)</h2>", re.DOTALL | re.IGNORECASE)


_ID = re.compile(r'\sid="([^"]*)"')


def _with_contents(body: str) -> tuple[str, list[tuple[str, str]]]:
    """The (sanitized) body with an id on every h2 (kept when it has a unique one, else
    ``cx-section-N``), and the (id, escaped heading text) of each, in page order."""
    sections: list[tuple[str, str]] = []
    seen: set[str] = {"cx-definitions"}  # the Definitions list that closes the page

    def anchor(m: re.Match) -> str:
        attrs, inner = m.group(1), m.group(2)
        found = _ID.search(attrs)
        ident = found.group(1) if found else ""
        if not ident or ident in seen or not re.fullmatch(r"[^\s<>&\"']+", ident):
            ident = f"cx-section-{len(sections) + 1}"
            attrs = _ID.sub("", attrs) + f' id="{ident}"'
        seen.add(ident)
        text = " ".join(html.unescape(re.sub(r"<[^>]*>", "", inner)).split())
        if text:
            sections.append((ident, html.escape(text)))
        return f"<h2{attrs}>{inner}</h2>"

    return _H2.sub(anchor, body), sections


def _contents(sections: list[tuple[str, str]]) -> str:
    """A short contents list: same-page links to each section (none for fewer than two)."""
    if len(sections) < 2:
        return ""
    items = "".join(f'<li><a href="#{ident}">{text}</a></li>' for ident, text in sections)
    return f'<nav class="cx-contents" aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>'


def skipped_sections(cells) -> set[str]:
    """Sections whose needs the store did not meet (their note's output metadata names them)."""
    return {out.get("metadata", {}).get("cx", {}).get("skipped_section")
            for cell in cells if cell.cell_type == "code" for out in cell.get("outputs", [])} - {None}


ANALYST_ONLY = "analyst-only"  # a cell for analysts' sessions (how to explore, customer lists): never in a report


def _without_skipped_sections(cells) -> list:
    """Cells tagged ``section:NAME`` (captions, charts) are left out when section NAME did not run:
    its one-sentence note says why, and a caption under nothing would mislead. Cells tagged
    ``analyst-only`` are always left out."""
    hidden = {f"section:{name}" for name in skipped_sections(cells)} | {ANALYST_ONLY}
    return [c for c in cells if not hidden & set(c.get("metadata", {}).get("tags", []))]


def _header(title: str, meta: dict, masker: Masker) -> str:
    def e(text) -> str:
        return html.escape(masker.mask(str(text)))

    rows = []
    for label, value in meta.get("run", {}).items():
        rows.append(f"<tr><th>{e(label)}</th><td>{e(str(value))}</td></tr>")
    params = meta.get("parameters", {})
    shown = ", ".join(f"{k} = {json.dumps(v, default=str)}" for k, v in params.items()) or "(defaults)"
    rows.append(f"<tr><th>parameters</th><td><code>{e(shown)}</code></td></tr>")
    data = meta.get("data") or {}
    if data:
        if data.get("store"):
            rows.append(f"<tr><th>store</th><td>{e(str(data['store']))}</td></tr>")
        latest = f" (latest event {data['latest_event']})" if data.get("latest_event") else " (no events)"
        rows.append(f"<tr><th>data as of</th><td>{e(str(data.get('as_of')) + latest)}</td></tr>")
        counts = ", ".join(f"{k} {v:,}" for k, v in (data.get("row_counts") or {}).items())
        rows.append(f"<tr><th>rows</th><td>{e(counts)}</td></tr>")
        rows.append(f"<tr><th>data fingerprint</th><td><code>{e(str(data.get('fingerprint')))}</code></td></tr>")
    return (f'<header class="cx-header"><h1>{e(title)}</h1><table class="cx-meta">'
            + "".join(rows) + "</table></header>")


def render_report(nb, *, title: str, meta: dict | None = None, masker: Masker | None = None) -> RenderedReport:
    """One self-contained HTML page for an executed notebook node (see the module docstring).

    `meta` = {"run": {label: value} (run time, job, notebook, ...), "parameters": {...},
    "data": {"as_of", "latest_event", "row_counts", "fingerprint"}}. `masker` masks personal data
    everywhere on the page and scans the finished page (default: the store-free masker; a report
    run passes ``Masker.from_store`` of the store the notebook read).
    Raises CxDataError when a chart cannot be drawn or personal data would still be shown.
    """
    from nbconvert import HTMLExporter

    meta = meta or {}
    masker = masker or default_masker()
    title = masker.mask(title)
    token = secrets.token_hex(8)
    prepared, figures = _prepare(nb, token, masker)
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(prepared)
    body, sections = _with_contents(sanitize_html(body, masker=masker))
    all_definitions: list[str] = []
    for key, (svg, own, definitions) in figures.items():
        caption = f'<figcaption class="cx-definition">{html.escape(own)}</figcaption>' if own else ""
        all_definitions += [d for d in definitions if d not in all_definitions]
        figure = f'<figure class="cx-figure">{svg}{caption}</figure>'
        body = body.replace(f"<div>{key}</div>", figure, 1)
    footer = ""
    if all_definitions:
        footer = ('<footer class="cx-footer"><h2 id="cx-definitions">Definitions</h2><ul>'
                  + "".join(f"<li>{html.escape(d)}</li>" for d in all_definitions) + "</ul></footer>")
        sections.append(("cx-definitions", "Definitions"))
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        + _header(title, meta, masker) + _contents(sections) + f"<main>{body}</main>" + footer + "</body></html>\n"
    )
    leaks = find_personal_data(page, masker)
    if leaks:
        raise CxDataError(
            f"the report would show personal data ({len(leaks)}: {', '.join(leaks[:3])}); mask it with "
            "cxlib.privacy.masking (Masker.from_store(con).mask) or move customer-level lists to a CSV export "
            "or interactive=True"
        )
    return RenderedReport(page, charts=len(figures), definitions=all_definitions)


def svg_data_uri(svg: str) -> str:
    """An SVG as a data: URI (for places where inline SVG is not possible)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# Tags whose text runs on in the same line of text for a reader (a new part starts at any other tag).
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q", "s",
           "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr", "tspan"}


class _TextParser(HTMLParser):
    """What a reader sees: text outside <style>/<script> (SVG text included), one part per block
    (a table cell, a paragraph, an SVG text), inline tags joined; plus title/alt/aria-label values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._current: list[str] = []
        self._skip = 0

    def _flush(self):
        text = "".join(self._current)
        if text.strip():
            self.parts.append(text)
        self._current = []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        if tag not in _INLINE:
            self._flush()
        elif tag == "br":
            self._current.append("\n")
        self.parts += [v for k, v in attrs if k in ("title", "alt", "aria-label") and v]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        if tag not in _INLINE:
            self._flush()

    def handle_data(self, data):
        if not self._skip:
            self._current.append(data)

    def close(self):
        super().close()
        self._flush()


def visible_parts(page: str) -> list[str]:
    """The text of an HTML page a reader can see, one part per block (see _TextParser)."""
    parser = _TextParser()
    parser.feed(page)
    parser.close()
    return parser.parts


def visible_text(page: str) -> str:
    """The text of an HTML page a reader can see (SVG text included), one part per line."""
    return "\n".join(visible_parts(page))


def find_personal_data(page: str, masker: Masker | None = None) -> list[str]:
    """Personal data visible in an HTML page, found by `masker` (default: the store-free one) in
    each block of text: one short label per finding ('email: ann***'); empty means clean."""
    masker = masker or default_masker()
    return [f.short() for part in visible_parts(page) for f in masker.find(part)]
