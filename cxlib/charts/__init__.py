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


from .churn import *  # noqa: E402,F401,F403
from .interactive import *  # noqa: E402,F401,F403
from .journey import *  # noqa: E402,F401,F403
from .segments import *  # noqa: E402,F401,F403
from .voc import *  # noqa: E402,F401,F403
