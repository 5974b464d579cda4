"""The charts' shared look and checks: one registered theme ("cx"), one palette with fixed meanings
(good, bad, neutral), the input check every builder runs, and the offline JupyterLab renderer.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from cxlib.errors import CxInputError

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
