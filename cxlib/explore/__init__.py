"""The explore layer: what an analyst uses in JupyterLab and a stakeholder never sees.

Owns: ``filters`` (one set of filters applied to every table, saved segments, drill-downs to customers
and SQL), ``click`` (click to drill: a chart that shows the customers behind a bar),
``widgets`` (the filter panel that redraws charts), ``funnel_explorer`` (an interactive funnel),
``sqlcell`` (the ``%%cxsql`` magic, read-only and bound), ``lab`` (``cx lab``), ``session`` (is a
person looking: the notebooks' ``interactive = None``).
May import: the analysis layer, ``cxlib.charts``, ``cxlib.store``, ``cxlib.sql``, ``cxlib.errors``.
Never imported by analysis, store, sql or report. See docs/architecture.md.
"""

from cxlib.explore.click import Drill, by_attribute, by_channel, by_funnel_drop, by_touchpoint, drill
from cxlib.explore.filters import (
    Drilldown,
    FilteredStore,
    Filters,
    Query,
    attribute_columns,
    attribute_values,
    drilldown_customers,
    drilldown_funnel_dropped,
    drilldown_sql,
    drop_segment,
    filter_choices,
    filtered,
    save_segment,
    saved_segments,
)
from cxlib.explore.funnel_panel import funnel_explorer
from cxlib.explore.lab import NOTEBOOK_DIR, lab_command
from cxlib.explore.session import interactive, live_session
from cxlib.explore.widgets import Debouncer, FilterPanel, Results, View, explore

__all__ = [
    "Filters",
    "FilteredStore",
    "Query",
    "Drilldown",
    "filtered",
    "attribute_columns",
    "attribute_values",
    "filter_choices",
    "drilldown_sql",
    "drilldown_customers",
    "drilldown_funnel_dropped",
    "save_segment",
    "saved_segments",
    "drop_segment",
    "drill",
    "Drill",
    "by_channel",
    "by_touchpoint",
    "by_attribute",
    "by_funnel_drop",
    "funnel_explorer",
    "NOTEBOOK_DIR",
    "lab_command",
    "interactive",
    "live_session",
    "Debouncer",
    "FilterPanel",
    "Results",
    "View",
    "explore",
]
