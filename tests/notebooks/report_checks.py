"""What every report notebook must show on any store: read off an executed notebook.

A *section* is a level-2 heading (``## ...``) and the cells up to the next one. A section that
applies shows something (a chart, a table or a sentence of text); a section whose needs the
store does not meet shows one "This section needs ..." sentence and no chart. No table shows
NaN, NaT or None as a value, and no chart is drawn without data.
"""

from __future__ import annotations

import json
import re

NEEDS = "This section needs"
_BAD_CELL = re.compile(r"<td[^>]*>\s*(NaN|NaT|None|nan|<NA>)\s*</td>")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else json.dumps(value)


def sections(nb: dict) -> list[tuple[str, list[dict]]]:
    """(heading, outputs of the section's code cells) for every level-2 section."""
    found: list[tuple[str, list[dict]]] = []
    for cell in nb["cells"]:
        source = _text(cell.get("source", ""))
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            found.append((source.splitlines()[0][3:].strip(), []))
        elif cell["cell_type"] == "code" and found:
            found[-1][1].extend(cell.get("outputs", []))
    return found


def is_chart(output: dict) -> bool:
    return any(k.startswith("application/vnd.vegalite") for k in output.get("data", {}))


def chart_is_empty(output: dict) -> bool:
    """A Vega-Lite chart whose every inline dataset is empty."""
    data = output.get("data", {})
    spec = next((v for k, v in data.items() if k.startswith("application/vnd.vegalite")), None)
    spec = json.loads(spec) if isinstance(spec, str) else spec or {}
    datasets = list((spec.get("datasets") or {}).values())
    inline = spec.get("data", {}).get("values") if isinstance(spec.get("data"), dict) else None
    sizes = [len(d) for d in datasets] + ([len(inline)] if inline is not None else [])
    return bool(sizes) and not any(sizes)


def shows_something(outputs: list[dict]) -> bool:
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stdout" and _text(out.get("text", "")).strip():
            return True
        data = out.get("data", {})
        if is_chart(out) or "<table" in _text(data.get("text/html", "")) or _text(data.get("text/markdown", "")).strip():
            return True
    return False


def problems(nb: dict) -> list[str]:
    """Everything wrong with an executed report notebook (empty when it is fit to publish)."""
    found = []
    for out in (o for c in nb["cells"] for o in c.get("outputs", [])):
        if out.get("output_type") == "error":
            found.append(f"error: {out.get('ename')}: {out.get('evalue')}")
        html = _text(out.get("data", {}).get("text/html", ""))
        for bad in _BAD_CELL.findall(html):
            found.append(f"a table shows {bad}")
        if is_chart(out) and chart_is_empty(out):
            found.append("a chart without data")
    for heading, outputs in sections(nb):
        needs = [o for o in outputs if NEEDS in _text(o.get("data", {}).get("text/plain", ""))]
        if needs and any(is_chart(o) for o in outputs):
            found.append(f"section '{heading}': a chart next to a 'needs' sentence")
        if not needs and not shows_something(outputs):
            found.append(f"section '{heading}': shows nothing and says nothing")
    return found


def skipped(nb: dict) -> list[str]:
    """Headings of the sections that said what they need instead of running."""
    return [h for h, outputs in sections(nb) if any(NEEDS in _text(o.get("data", {}).get("text/plain", ""))
                                                     for o in outputs)]


def charted(nb: dict) -> list[str]:
    """Headings of the sections that drew at least one chart."""
    return [h for h, outputs in sections(nb) if any(is_chart(o) for o in outputs)]
