"""The chart layer: Altair builders, `chart_*(df) -> alt.Chart`, that never show or save.

Charts take the small aggregated frames that analysis functions return, never raw events.
Builders for each area live in the submodule of that area (``voc``, ``journey``, ``segments``,
``churn``, ``interactive``); ``theme`` holds the registered theme, the palette of named colour meanings, the sizing helpers
and input checks.
May import: ``cxlib.errors`` only (a chart knows the columns of a frame, not where it came from).
"""

from cxlib.charts.churn import *
from cxlib.charts.flow import *
from cxlib.charts.interactive import *
from cxlib.charts.journey import *
from cxlib.charts.segments import *
from cxlib.charts.theme import (  # noqa: F401
    BAD,
    COLOURS,
    GOOD,
    LAB_VEGALITE_MIME,
    LAB_VEGALITE_SCHEMA,
    NEUTRAL,
    PALETTE,
    SERIES,
    checked_frame,
    colour,
    cx_theme,
    lab_bundle,
)
from cxlib.charts.voc import *
