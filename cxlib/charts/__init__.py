"""Altair chart builders: `chart_*(df) -> alt.Chart` functions that never show or save.

One registered theme ("cx"); charts take small aggregated frames (results of cxlib metric
functions), never raw events. Builders for each area live in the submodule of that area.
"""

from __future__ import annotations

import altair as alt

PALETTE = ["#1f4e79", "#e07b39", "#3a9e6f", "#c23b4b", "#7a5195", "#8c8c8c", "#d4a017", "#2f9fbf"]
GOOD, BAD, NEUTRAL = "#3a9e6f", "#c23b4b", "#8c8c8c"


@alt.theme.register("cx", enable=True)
def cx_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "view": {"continuousWidth": 480, "continuousHeight": 280, "stroke": None},
            "range": {"category": PALETTE},
            "font": "Helvetica, Arial, sans-serif",
            "title": {"anchor": "start", "fontSize": 14},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eeeeee"},
        }
    }


# JupyterLab 4 draws Vega-Lite offline, with its own bundled Vega, under the v5 MIME type; Altair 6's
# default renderer instead loads Vega from a CDN, which fails without network. cxlib's charts use no
# Vega-Lite 6-only feature, so they are handed to JupyterLab as v5. An explicitly chosen renderer
# (e.g. the report renderer of cxlib.render) is left alone.
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

from .churn import *  # noqa: E402,F401,F403
from .interactive import *  # noqa: E402,F401,F403
from .journey import *  # noqa: E402,F401,F403
from .segments import *  # noqa: E402,F401,F403
from .voc import *  # noqa: E402,F401,F403
