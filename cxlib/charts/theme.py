"""The charts' shared look and checks: one registered theme ("cx"); one palette of named colour
meanings that every builder uses (promoter / passive / detractor, better / worse, significant / not,
higher / lower than average, the main series and its reference marks); the sizing helpers that give
a chart room for its labels (text widths, wrapping, widths and heights from the number of bars and
the longest label, titles and legends that fit); the input check every builder runs; and the
offline JupyterLab renderer.

Text is drawn in DejaVu Sans where a machine has it, else Helvetica or Arial: reports are drawn
offline by vl-convert, which measures text in the first font of the list, and a browser that lacks
it falls back to a narrower font, so measured room is enough on every machine. The estimates in
`text_width` are DejaVu Sans widths rounded up.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

import altair as alt
import pandas as pd

from cxlib.errors import CxInputError

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
LABEL_SIZE, TITLE_SIZE, HEADING_SIZE = 11, 12, 14

# One colour per meaning, the same in every chart. A builder takes its colours from here by name.
COLOURS: dict[str, str] = {
    "promoter": "#3a9e6f",
    "passive": "#a6a6a6",
    "detractor": "#c23b4b",
    "no answer": "#d8c8a0",
    "better": "#3a9e6f",
    "worse": "#c23b4b",
    "no clear difference": "#a6a6a6",
    "middle": "#e3b341",  # between better and worse on a graded scale (e.g. resolution-time bands)
    "significant": "#1f4e79",
    "not significant": "#c4c4c4",
    "higher": "#2166ac",  # above average, no judgement (e.g. a cluster uses a channel more)
    "lower": "#b5651d",
    "average": "#f5f5f5",
    "main": "#1f4e79",  # a single series
    "reference": "#555555",  # what a value is compared with: the rest, a model's forecast, a date
    "interval": "#333333",  # confidence interval whiskers
    "empty": "#f0f0f0",
}
# The words a title or legend may use for the colours above.
COLOUR_WORDS = {"#3a9e6f": "green", "#c23b4b": "red", "#a6a6a6": "grey", "#2166ac": "blue", "#b5651d": "orange",
                "#1f4e79": "dark blue", "#c4c4c4": "light grey", "#e3b341": "amber"}
# Series without a meaning (regions, plans, channels): no green or red, which mean better or worse.
SERIES = ["#1f4e79", "#2f9fbf", "#7a5195", "#d4a017", "#8c6d31", "#bc5090", "#5b6770", "#9e9ac8", "#17becf",
          "#b07aa1"]
SEQUENTIAL = "blues"  # counts and shares in heat maps

# Kept for code that imported them: the old names of the palette and of three meanings.
PALETTE = SERIES
GOOD, BAD, NEUTRAL = COLOURS["better"], COLOURS["worse"], COLOURS["no clear difference"]

PAGE_WIDTH = 900  # px a chart may take in a report page (labels, legend and padding included)
PLOT_WIDTH = 480  # px of the plotting area when there is room
MIN_PLOT_WIDTH = 220
LABEL_MAX = 230  # px of an axis label before it is wrapped onto more lines
PADDING = {"left": 8, "top": 6, "right": 12, "bottom": 6}


def colour(meaning: str) -> str:
    """The colour of a meaning ('promoter', 'worse', 'significant', ...)."""
    try:
        return COLOURS[meaning]
    except KeyError:
        raise CxInputError(f"no colour means {meaning!r}; the meanings are {', '.join(COLOURS)}") from None


def colour_scale(meanings: dict[str, str]) -> alt.Scale:
    """A scale from shown values to the colours of their meanings: {'hand-off': 'main', ...}."""
    return alt.Scale(domain=list(meanings), range=[colour(m) for m in meanings.values()])


NPS_GROUPS = {"promoter": "promoter", "promoters": "promoter", "passive": "passive", "passives": "passive",
              "detractor": "detractor", "detractors": "detractor", "(none)": "no answer", "no answer": "no answer",
              "no_response": "no answer", "no response": "no answer"}


def group_scale(values: Iterable) -> alt.Scale:
    """The colour scale of a breakdown: NPS groups in their own colours (promoter green, passive
    grey, detractor red) in that order, any other groups in the series colours."""
    names = [str(v) for v in dict.fromkeys(values)]
    if names and all(n.lower() in NPS_GROUPS for n in names):
        order = list(NPS_GROUPS)
        names.sort(key=lambda n: order.index(n.lower()))
        return alt.Scale(domain=names, range=[colour(NPS_GROUPS[n.lower()]) for n in names])
    return alt.Scale(domain=names, range=[SERIES[i % len(SERIES)] for i in range(len(names))])

def graded(n: int) -> list[str]:
    """n colours from better through amber to worse, for ordered groups such as time bands."""
    if n <= 1:
        return [COLOURS["better"]][:n]
    stops = [COLOURS["better"], COLOURS["middle"], COLOURS["worse"]]
    out = []
    for i in range(n):
        t = i / (n - 1) * 2
        a, b = stops[min(int(t), 1)], stops[min(int(t), 1) + 1]
        f = t - min(int(t), 1)
        rgb = [round(int(a[k:k + 2], 16) * (1 - f) + int(b[k:k + 2], 16) * f) for k in (1, 3, 5)]
        out.append(_unlike_an_id(rgb))
    return out


def _unlike_an_id(rgb: list[int]) -> str:
    """#rrggbb, with blue nudged a few steps where the text would read as letters then five digits
    ('#d27746'): the report's masker takes that shape for an identifier and blanks the colour."""
    for nudge in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6):
        text = "".join(f"{v:02x}" for v in (*rgb[:2], min(255, max(0, rgb[2] + nudge))))
        if not (text[0].isalpha() and text[1:].isdigit()):
            break
    return "#" + text


def graded_range() -> list[str]:
    """The worse -> middle -> better range of a continuous colour scale where higher is better."""
    return [COLOURS["worse"], COLOURS["middle"], COLOURS["better"]]


def diverging_range() -> list[str]:
    """The lower -> average -> higher range of a continuous scale around an average, no judgement."""
    return [COLOURS["lower"], COLOURS["average"], COLOURS["higher"]]


# Sizing: text widths in DejaVu Sans (hundredths of an em for ASCII 32..126; others as wide as 'M')
# and the room a chart needs for them.
_EM = dict(zip(
    (chr(c) for c in range(32, 127)),
    [32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34,
     84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66, 56, 86, 75, 79, 60, 79, 69, 63, 61, 73, 68, 99,
     69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63, 63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52,
     39, 63, 59, 82, 59, 59, 52, 64, 34, 64, 84]))


def text_width(text, size: float = LABEL_SIZE, *, bold: bool = False) -> float:
    """Width in px of the longest line of `text` (lines split at '\n') at font `size` in DejaVu
    Sans (bold about 10% wider), rounded up by 3%."""
    def em(line: str) -> float:
        return sum(_EM.get(ch, 86) for ch in line) / 100
    return max(em(line) for line in str(text).split("\n")) * size * (1.11 if bold else 1.0) * 1.03


def longest(texts: Iterable, size: float = LABEL_SIZE, *, bold: bool = False) -> float:
    """The widest of `texts` in px (0 for none)."""
    return max((text_width(t, size, bold=bold) for t in texts), default=0.0)


def wrap(text, px: float = LABEL_MAX, size: float = LABEL_SIZE, *, bold: bool = False) -> str:
    """`text` broken at spaces with '\\n' so that no line is wider than `px` (a word wider than that
    is broken too)."""
    text = str(text)
    chars = max(int(px / (0.64 * size)), 4)
    out = text
    while text_width(out, size, bold=bold) > px and chars >= 4:
        out = "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False)) or text
        chars -= 1
    return out


def line_count(texts: Iterable) -> int:
    """The most lines any of `texts` has."""
    return max((str(t).count("\n") + 1 for t in texts), default=1)


SPLIT_LINES = "split(datum.label, '\\n')"  # an axis labelExpr drawing a wrapped label on its lines


def label_axis(labels: Iterable, *, title=None, size: float = LABEL_SIZE, **kw) -> alt.Axis:
    """An axis for wrapped category labels: each drawn whole (limit = the longest line), line by line."""
    return alt.Axis(title=title, labelLimit=math.ceil(longest(labels, size)) + 8, labelExpr=SPLIT_LINES,
                    labelFontSize=size, **kw)


def band_step(labels: Iterable, size: float = LABEL_SIZE, minimum: int = 20) -> int:
    """Px per category on a band axis, tall enough for the labels' lines."""
    return max(minimum, line_count(labels) * (round(size) + 3) + 6)


def legend_width(labels: Iterable, title=None) -> float:
    """Px a vertical legend takes beside a chart: symbol, longest label or title, offset."""
    return max(longest(labels) + 24, text_width(title or "", TITLE_SIZE, bold=True)) + 22


def plot_width(left: float = 0.0, right: float = 0.0, preferred: int = PLOT_WIDTH) -> int:
    """The plotting area's width leaving `left` px for labels and axis title and `right` px for a
    legend within the page width."""
    room = PAGE_WIDTH - left - right - PADDING["left"] - PADDING["right"] - 30
    return int(max(MIN_PLOT_WIDTH, min(preferred, room)))


def legend(labels: Iterable, title=None, *, orient: str = "right", width: float = PLOT_WIDTH,
           **kw) -> alt.Legend:
    """A legend that shows its labels and title whole; at the bottom, in as many columns as fit `width`."""
    labels = [str(x) for x in labels]
    extra = {}
    if orient in ("bottom", "top"):
        per = longest(labels) + 40
        extra["columns"] = max(1, min(len(labels), int(width // per)))
    return alt.Legend(title=title, orient=orient, labelLimit=0, titleLimit=0, **extra, **kw)


def heading(text: str, width: float, subtitle: str | None = None) -> alt.TitleParams:
    """A chart title (and subtitle) wrapped to `width` px, so neither is cut."""
    lines = wrap(text, width, HEADING_SIZE, bold=True).split("\n")
    kw = {}
    if subtitle:
        sub = wrap(subtitle, width, LABEL_SIZE).split("\n")
        kw["subtitle"] = sub if len(sub) > 1 else sub[0]
    return alt.TitleParams(lines if len(lines) > 1 else lines[0], anchor="start", **kw)


def axis_title(text: str, width: float, size: float = TITLE_SIZE) -> str | list[str]:
    """An axis title wrapped to `width` px (a list of lines when it needs more than one)."""
    lines = wrap(text, width, size, bold=True).split("\n")
    return lines if len(lines) > 1 else lines[0]



@dataclass
class Room:
    """The room a chart with categories on its y axis needs: the wrapped labels, the plot width,
    the whole chart's width (labels, plot, legend) and the px per category."""
    labels: list[str]
    width: int
    total: float
    step: int

    def axis(self, **kw) -> alt.Axis:
        return label_axis(self.labels, **kw)

    def title(self, text: str, subtitle: str | None = None) -> alt.TitleParams:
        return heading(text, self.total, subtitle)


def room(labels: Iterable, *, legend_labels: Iterable = (), legend_title=None, preferred: int = PLOT_WIDTH,
         label_px: float = LABEL_MAX) -> Room:
    """Wrap category `labels` to `label_px` and size a chart around them and its legend (none
    when `legend_labels` is empty) so that it fits the page and nothing is cut."""
    wrapped = [wrap(x, label_px) for x in labels]
    legend_labels = [str(x) for x in legend_labels]
    left = longest(wrapped) + 16
    right = legend_width(legend_labels, legend_title) if legend_labels or legend_title else 0.0
    width = plot_width(left, right, preferred)
    return Room(wrapped, width, left + width + right, band_step(wrapped))

def score_domain(values: Iterable, full: tuple[float, float], *, step: float | None = None,
                 min_span: float | None = None) -> tuple[list[float], bool]:
    """An axis domain around `values` (with their intervals) on a scale whose `full` range would
    flatten their differences: rounded out to `step`, at least `min_span` wide, never past the full
    range. Returns (domain, zoomed); zoomed is False when the data need (nearly) the full range."""
    lo, hi = full
    span = hi - lo
    step = step or span / 20
    min_span = min_span or span / 5
    vals = [float(v) for v in values if v is not None and not pd.isna(v)]
    if not vals:
        return [lo, hi], False
    a, b = math.floor(min(vals) / step) * step, math.ceil(max(vals) / step) * step
    if a == min(vals):
        a -= step
    if b == max(vals):
        b += step
    if b - a < min_span:
        mid = (a + b) / 2
        a, b = math.floor((mid - min_span / 2) / step) * step, math.ceil((mid + min_span / 2) / step) * step
    a, b = max(lo, a), min(hi, b)
    if b - a > 0.7 * span:
        return [lo, hi], False
    return [a, b], True


def full_range_note(label: str, full: tuple[float, float], domain: list[float]) -> str:
    """The subtitle line saying that an axis is zoomed and what the full range is."""
    def num(v: float) -> str:
        return f"{v:g}"
    return (f"Axis zoomed to {num(domain[0])} to {num(domain[1])} to show the differences; "
            f"{label} runs from {num(full[0])} to {num(full[1])}.")


@alt.theme.register("cx", enable=True)
def cx_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "padding": PADDING,
            "view": {"continuousWidth": PLOT_WIDTH, "continuousHeight": 280, "stroke": None},
            "range": {"category": SERIES, "diverging": diverging_range()},
            "title": {"anchor": "start", "fontSize": HEADING_SIZE, "subtitleFontSize": LABEL_SIZE,
                      "subtitleColor": "#555555", "offset": 10, "limit": 0},
            "axis": {"labelFontSize": LABEL_SIZE, "titleFontSize": TITLE_SIZE, "gridColor": "#eeeeee",
                     "labelLimit": LABEL_MAX + 10, "titleLimit": 0},
            # about one tick per 80 px, so that numbers such as "1,200" never crowd (labelOverlap only hides them)
            "axisX": {"labelOverlap": "greedy", "labelSeparation": 6, "tickCount": {"expr": "ceil(width / 80)"}},
            "legend": {"labelFontSize": LABEL_SIZE, "titleFontSize": TITLE_SIZE, "labelLimit": 0,
                       "titleLimit": 0},
            "text": {"fontSize": LABEL_SIZE},
        }
    }


def checked_frame(df: pd.DataFrame, columns: list[str], chart: str, *, shown_only: bool = False) -> pd.DataFrame:
    """A copy of `df` after checking it is a DataFrame with `columns`; with `shown_only`, without
    the rows marked suppressed (they are listed in tables, never drawn)."""
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"{chart} takes a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CxInputError(f"{chart} needs columns {list(columns)}; missing {missing}. "
                           "Pass the frame returned by the matching cxlib function.")
    out = df.copy()
    if shown_only and "suppressed" in out:
        out = out[~out["suppressed"].astype(bool)]
    return out


# JupyterLab 4 draws Vega-Lite offline, with its own bundled Vega, under the v5 MIME type; Altair 6's
# default renderer instead loads Vega from a CDN, which fails without network. cxlib's charts use no
# Vega-Lite 6-only feature, so they are handed to JupyterLab as v5. An explicitly chosen renderer
# (e.g. the report renderer of cxlib.report.render) is left alone.
LAB_VEGALITE_MIME = "application/vnd.vegalite.v5+json"
LAB_VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def lab_bundle(spec: dict) -> tuple[dict, dict]:
    """(data, metadata) of a Vega-Lite spec as JupyterLab renders it offline, interactive, as SVG."""
    spec = {**spec, "$schema": LAB_VEGALITE_SCHEMA}
    title = spec.get("title")
    title = title.get("text") if isinstance(title, dict) else title
    return (
        {LAB_VEGALITE_MIME: spec, "text/plain": f"<chart: {title or 'Vega-Lite'}>"},
        {LAB_VEGALITE_MIME: {"embed_options": {"renderer": "svg", "actions": False}}},
    )


if "cx_lab" not in alt.renderers.names():
    alt.renderers.register("cx_lab", lambda spec, **_: lab_bundle(spec))
if alt.renderers.active in ("default", "html"):
    alt.renderers.enable("cx_lab")
