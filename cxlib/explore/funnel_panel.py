"""An ipywidgets panel that re-runs a funnel with another order, window or breakdown (analyst sessions).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import duckdb

from cxlib.analysis.journey.common import NPS_GROUP, ORDERS, _check_touchpoints, parse_window
from cxlib.analysis.journey.funnels import funnel
from cxlib.errors import CxInputError
from cxlib.privacy import MIN_GROUP_SIZE


def funnel_explorer(
    con: duckdb.DuckDBPyConnection,
    steps: Sequence[str],
    *,
    window: str | timedelta | None = "7 days",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
):
    """An ipywidgets panel to re-run :func:`funnel` with another order, window or breakdown.

    For analysts in JupyterLab (notebooks show it only with ``interactive=True``). The panel's
    ``result`` attribute holds the latest funnel frame; ``chart`` the latest chart; ``table`` the latest
    table as the report shows it.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from cxlib.charts.journey import chart_funnel
    from cxlib.charts.tables import table
    from cxlib.sql import table_columns

    steps = _check_touchpoints(con, steps, name="steps", min_len=2)
    attributes = [c for c in table_columns(con, "customers") if c not in ("customer_id", "signup_at")]
    order_w = widgets.Dropdown(options=list(ORDERS), value="ordered", description="Order")
    window_w = widgets.Text(value="" if window is None else str(window) if isinstance(window, str) else
                            f"{parse_window(window) / 3600:g} hours", description="Window",
                            placeholder="7 days; empty = no limit")
    by_w = widgets.Dropdown(options=[("(none)", None), ("NPS group", NPS_GROUP)] + [(a, a) for a in attributes],
                            value=None, description="Split by")
    message = widgets.HTML()
    out = widgets.Output()
    panel = widgets.VBox([widgets.HBox([order_w, window_w, by_w]), message, out])
    panel.result, panel.chart, panel.table = None, None, None

    def refresh(_=None):
        try:
            df = funnel(con, steps, window=window_w.value.strip() or None, order=order_w.value, by=by_w.value,
                        start=start, end=end, min_group_size=min_group_size)
        except CxInputError as exc:
            message.value = f"<span style='color:#c23b4b'>{_escape(str(exc))}</span>"
            return
        message.value = ""
        panel.result, panel.chart, panel.table = df, chart_funnel(df), table(df)
        out.clear_output(wait=True)
        with out:
            display(panel.chart)
            display(panel.table)

    for w in (order_w, window_w, by_w):
        w.observe(refresh, names="value")
    refresh()
    return panel


def _escape(text: str) -> str:
    import html

    return html.escape(text)
