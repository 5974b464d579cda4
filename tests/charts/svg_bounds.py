"""Draw a chart offline as the reports do (vl-convert) and find text that would stick out of it.

Each <text> element's position is the sum of its own and its groups' translations; its extent is
estimated with cxlib.charts.theme.text_width (DejaVu Sans, the font a Linux browser uses, widths
rounded up) from its anchor. A text is out of bounds when any part lies left of 0 or right of the
SVG's width (or above 0 / below its height)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import vl_convert as vlc

from cxlib.charts.theme import text_width

_NS = "{http://www.w3.org/2000/svg}"
_TRANSLATE = re.compile(r"translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)\s*\)")


def svg_of(chart) -> str:
    spec = chart.to_dict() if hasattr(chart, "to_dict") else chart
    return vlc.vegalite_to_svg(spec, allowed_base_urls=[])


def _shift(el) -> tuple[float, float]:
    m = _TRANSLATE.search(el.get("transform", ""))
    return (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)


def _texts(el, x: float, y: float):
    dx, dy = _shift(el)
    x, y = x + dx, y + dy
    if el.tag == _NS + "text":
        lines = [t.text or "" for t in el.iter(_NS + "tspan")] or [el.text or ""]
        yield el, x, y, lines
        return
    for child in el:
        yield from _texts(child, x, y)


def text_outside(svg: str, margin: float = 1.0) -> list[str]:
    """Each text of `svg` that extends past its bounds, described with its estimated extent."""
    root = ET.fromstring(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    out = []
    for el, x, y, lines in _texts(root, 0.0, 0.0):
        size = float(re.sub(r"[^\d.]", "", el.get("font-size", "11")) or 11)
        bold = el.get("font-weight") in ("bold", "700")
        w = max(text_width(line, size, bold=bold) for line in lines)
        angle = re.search(r"rotate\(([-\d.]+)", el.get("transform", ""))
        if angle and abs(float(angle.group(1))) == 90:  # a vertical axis title: the width runs along y
            anchor = el.get("text-anchor", "start")
            up = float(angle.group(1)) < 0  # rotate(-90): the text runs upwards from its anchor
            lo = y - ({"start": w, "middle": w / 2, "end": 0.0} if up else {"start": 0.0, "middle": w / 2, "end": w})[anchor]
            if lo < -margin or lo + w > height + margin:
                out.append(f"{' / '.join(lines)!r}: y {lo:.0f}..{lo + w:.0f} of {height:.0f}")
            continue
        anchor = el.get("text-anchor", "start")
        left = x - {"start": 0.0, "middle": w / 2, "end": w}[anchor]
        top = y - size
        bottom = y + (len(lines) - 1) * size * 1.2 + size * 0.3
        if left < -margin or left + w > width + margin or top < -margin or bottom > height + margin:
            out.append(f"{' / '.join(lines)!r}: x {left:.0f}..{left + w:.0f} of {width:.0f}, "
                       f"y {top:.0f}..{bottom:.0f} of {height:.0f}")
    return out


def svg_size(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return float(root.get("width")), float(root.get("height"))


def smallest_font(svg: str) -> float:
    sizes = [float(re.sub(r"[^\d.]", "", s)) for s in re.findall(r'font-size="([\d.]+)px"', svg)]
    return min(sizes, default=0.0)
