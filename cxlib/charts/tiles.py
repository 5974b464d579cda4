"""KPI tiles: the headline metrics at the top of a report as a responsive grid of tiles, one HTML
fragment that needs nothing else (its own ``<style>`` block, class names prefixed ``cx-tile``, no
script, no outside source), so it reads the same in JupyterLab and in a rendered report after the
report's sanitiser.

Each tile: the label, the value formatted as the result tables format it (``cxlib.charts.tables``:
counts with thousands separators, shares as %, durations in human units), the 95% interval small
underneath, and the change against the previous period ("▲ 2.1 pts vs previous 4 weeks") in the
palette's better / worse colours (``theme.colour``), grey when flat or when a test says the change
is within chance. KPIs the store cannot give are listed under the grid with their one sentence.

`tiles(kpis)` takes the result of ``cxlib.analysis.kpis.headline_kpis`` (read by attribute: this
layer imports no analysis). Every text is escaped.
May import: ``cxlib.errors`` and the other chart modules.
"""

from __future__ import annotations

import html
import math

from cxlib.charts import tables
from cxlib.charts.theme import FONT, colour

__all__ = ["Tiles", "tiles", "format_value", "format_interval", "format_change"]

ARROWS = {"up": "▲", "down": "▼", "flat": "■"}
_CLASS = {"better": "better", "worse": "worse"}  # every other direction is drawn grey


def _css() -> str:
    grey = colour("no clear difference")
    return (
        ".cx-tiles { margin: 8px 0 18px 0; font-family: " + FONT + "; }"
        ".cx-tiles .cx-tile-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));"
        " gap: 12px; }"
        ".cx-tiles .cx-tile { border: 1px solid #dddddd; border-radius: 6px; padding: 10px 14px;"
        " background-color: #ffffff; min-width: 0; }"
        ".cx-tiles .cx-tile-label { font-size: 13px; color: #444444; margin-bottom: 2px; }"
        ".cx-tiles .cx-tile-value { font-size: 28px; font-weight: 600; color: " + colour("main") + ";"
        " line-height: 1.25; white-space: nowrap; }"
        ".cx-tiles .cx-tile-interval { font-size: 12px; color: #555555; }"
        ".cx-tiles .cx-tile-change { font-size: 13px; margin-top: 6px; font-weight: 600; }"
        ".cx-tiles .cx-tile-better { color: " + colour("better") + "; }"
        ".cx-tiles .cx-tile-worse { color: " + colour("worse") + "; }"
        ".cx-tiles .cx-tile-grey { color: " + grey + "; }"
        ".cx-tiles .cx-tile-test { font-size: 12px; color: #666666; }"
        ".cx-tiles .cx-tile-note { font-size: 12px; color: #666666; margin-top: 6px; }"
        ".cx-tiles .cx-tile-period { font-size: 12px; color: #555555; margin-bottom: 6px; }"
        ".cx-tiles .cx-tile-missing { font-size: 12px; color: #555555; margin: 8px 0 0 0; }"
    )


def format_value(value, kind: str) -> str:
    """A KPI value as the tables show it: count '1,927', percent '43.9%', score '17.8', mean '5.28',
    money '32,948' (two decimals below 1,000), duration (hours) '1.1 days'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return tables.HIDDEN
    if kind == "count":
        return tables.count(value)
    if kind == "percent":
        return tables.percent(value, of_one=False)
    if kind == "mean":
        return tables.number(value, 2)
    if kind == "money":
        return f"{float(value):,.0f}" if abs(float(value)) >= 1000 else f"{float(value):,.2f}"
    if kind == "duration":
        return tables.duration(float(value) * 3600)
    return tables.number(value, 1)


def format_interval(lower, upper, kind: str) -> str:
    """'(95% CI 11.0-16.8)'; with a negative bound or a duration '(95% CI -5.0 to 3.2)'; '' without bounds."""
    if lower is None or upper is None or any(isinstance(v, float) and math.isnan(v) for v in (lower, upper)):
        return ""
    lo, hi = format_value(lower, kind), format_value(upper, kind)
    if kind == "percent":
        lo = lo[:-1]  # '(95% CI 69.4-76.8%)'
    joint = " to " if "-" in lo + hi or kind == "duration" else "-"
    return f"(95% CI {lo}{joint}{hi})"


def format_change(kpi, comparison: str) -> str:
    """'▲ 2.1 pts vs previous 4 weeks', '▼ 1.6% vs previous month', '■ no change vs previous week'."""
    if kpi.change is None:
        return ""
    if kpi.direction == "flat":
        return f"{ARROWS['flat']} no change vs {comparison}"
    arrow = ARROWS["up"] if kpi.change > 0 else ARROWS["down"]
    size = abs(kpi.change)
    if kpi.change_unit == "%":
        amount = f"{size:,.1f}%"
    elif kpi.kind == "mean":
        amount = f"{size:.2f}"
    else:
        amount = f"{size:.1f} pts"
    return f"{arrow} {amount} vs {comparison}"


def _change_class(kpi) -> str:
    if kpi.significant is False:
        return "cx-tile-grey"
    return f"cx-tile-{_CLASS.get(kpi.direction, 'grey')}"


def _tile(kpi, comparison: str) -> str:
    e = html.escape
    parts = [f'<div class="cx-tile-label">{e(str(kpi.label))}</div>',
             f'<div class="cx-tile-value">{e(format_value(None if kpi.hidden else kpi.value, kpi.kind))}</div>']
    interval = "" if kpi.hidden else format_interval(kpi.lower, kpi.upper, kpi.kind)
    if interval:
        parts.append(f'<div class="cx-tile-interval">{e(interval)}</div>')
    change = format_change(kpi, comparison)
    if change:
        previous = f"{comparison}: {format_value(kpi.previous, kpi.kind)}"
        parts.append(f'<div class="cx-tile-change {_change_class(kpi)}" title="{e(previous)}">{e(change)}</div>')
        test = {True: "beyond chance (95%)", False: "within chance"}.get(kpi.significant, "")
        if test:
            parts.append(f'<div class="cx-tile-test">{e(test)}</div>')
    if kpi.note:
        parts.append(f'<div class="cx-tile-note">{e(str(kpi.note))}</div>')
    return f'<div class="cx-tile">{"".join(parts)}</div>'


class Tiles:
    """KPI tiles that display as HTML in a notebook and in a report (`_repr_html_`)."""

    def __init__(self, kpis):
        self.kpis = kpis

    def _period(self) -> str:
        k = self.kpis
        last = k.end - _day()
        return (f"{k.start:%Y-%m-%d} to {last:%Y-%m-%d}, against the {k.comparison}"
                f" ({k.previous_start:%Y-%m-%d} to {k.previous_end - _day():%Y-%m-%d})")

    def _repr_html_(self) -> str:
        e = html.escape
        k = self.kpis
        comparison = str(k.comparison)
        body = "".join(_tile(kpi, comparison) for kpi in k.kpis)
        missing = "".join(f'<p class="cx-tile-missing">{e(str(reason))}</p>' for _, reason in k.missing)
        grid = f'<div class="cx-tile-grid">{body}</div>' if body else ""
        return (f'<div class="cx-tiles"><style>{_css()}</style>'
                f'<div class="cx-tile-period">{e(self._period())}</div>{grid}{missing}</div>')

    def __repr__(self) -> str:
        lines = [self._period()]
        for kpi in self.kpis.kpis:
            value = format_value(None if kpi.hidden else kpi.value, kpi.kind)
            extra = " ".join(x for x in (format_interval(kpi.lower, kpi.upper, kpi.kind) if not kpi.hidden else "",
                                          format_change(kpi, self.kpis.comparison), kpi.note) if x)
            lines.append(f"{kpi.label}: {value} {extra}".rstrip())
        lines += [str(reason) for _, reason in self.kpis.missing]
        return "\n".join(lines)


def _day():
    from datetime import timedelta

    return timedelta(days=1)


def tiles(kpis) -> Tiles:
    """The KPI tiles of a ``headline_kpis`` result: an object that displays as self-contained HTML."""
    return Tiles(kpis)
