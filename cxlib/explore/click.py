"""Click to drill: a chart whose bars, cells and points open the customers behind them (analyst sessions only).

:func:`drill` wraps an Altair chart in ``altair.JupyterChart``, whose selections the browser reports
to Python. A click on a bar, cell or point picks that datum's fields (``{"channel": "app"}``); the
widget then shows the customers behind it (the first rows and the count of all), the SQL that
listed them with its bound parameters, and a box to save the list as a segment that every analysis
accepts (``Filters(segment=name)``, see :func:`cxlib.explore.save_segment`)::

    chart = cxlib.charts.chart_quick(events_by_channel)
    cxlib.explore.drill(chart, con, cxlib.explore.by_channel())

The ready-made ``customers`` functions (:func:`by_channel`, :func:`by_touchpoint`,
:func:`by_attribute`, :func:`by_funnel_drop`) know which field a click picks; any function
``customers(store, picked) -> DataFrame`` with a ``customer_id`` column works, given ``fields=``.
Customer lists are personal data: with ``interactive=False`` (a scheduled or stakeholder run)
:func:`drill` refuses, as :func:`cxlib.explore.drilldown_customers` does.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import duckdb
import ipywidgets as w
import pandas as pd

from cxlib.errors import CxError, CxInputError
from cxlib.explore.filters import (
    Drilldown,
    Filters,
    drilldown_customers,
    drilldown_funnel_dropped,
    drilldown_sql,
    filtered,
    save_segment,
)

SELECTION = "drill"  # the point selection drill adds to a chart that has none
SHOWN_ROWS = 50
HINT = "Click a bar, cell or point of the chart to see the customers behind it."


@dataclass(frozen=True)
class CustomerQuery:
    """A ``customers`` function for :func:`drill` that knows the chart fields a click picks.

    ``run(store, picked)`` returns the customers (a frame with ``customer_id``) for the picked
    datum, ``picked`` holding a value for each of ``fields``.
    """

    fields: tuple[str, ...]
    run: Callable[[Any, dict], pd.DataFrame]
    label: Callable[[dict], str] | None = None  # who they are, e.g. 'who stopped before step 3'

    def __call__(self, store, picked: dict) -> pd.DataFrame:
        missing = [f for f in self.fields if f not in picked]
        if missing:
            raise CxInputError(f"the click picked {picked}, which has no {', '.join(missing)}: "
                               f"draw the chart with the field(s) {', '.join(self.fields)}")
        return self.run(store, picked)


def by_channel(field: str = "channel") -> CustomerQuery:
    """The customers with an event on the clicked channel (the chart's `field` holds the channel)."""
    return CustomerQuery((field,), lambda store, picked: drilldown_customers(
        store, interactive=True, channel=str(picked[field])))


def by_touchpoint(field: str = "touchpoint") -> CustomerQuery:
    """The customers with an event at the clicked touchpoint (the chart's `field` holds the touchpoint)."""
    return CustomerQuery((field,), lambda store, picked: drilldown_customers(
        store, interactive=True, touchpoint=str(picked[field])))


def by_attribute(attribute: str, field: str = "segment") -> CustomerQuery:
    """The customers whose `attribute` is the clicked value (the chart's `field`, e.g. ``segment`` of ``nps(by=...)``)."""
    return CustomerQuery((field,), lambda store, picked: drilldown_customers(
        store, interactive=True, segment=attribute, value=picked[field]))


def by_funnel_drop(steps: Sequence, *, field: str = "step", **funnel_options) -> CustomerQuery:
    """The customers who dropped at the clicked funnel step (``step`` of :func:`cxlib.funnel`'s frame).

    *Definition*: :func:`cxlib.explore.drilldown_funnel_dropped` with `steps` and `funnel_options`
    (the funnel's window, order, by, ...): customers whose furthest step is the one before the
    clicked step and whose windows are closed. Step 1 has no drops (a sentence says so).
    """
    def run(store, picked):
        step = int(picked[field])
        if step < 2:
            raise CxInputError("nobody drops at step 1: click a later step to see who stopped before it")
        return drilldown_funnel_dropped(store, steps, step=step, interactive=True, **funnel_options)

    return CustomerQuery((field,), run, lambda picked: f"who stopped before step {int(picked[field])}")


def _picked_text(picked: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in picked.items())


def _with_selection(chart: alt.TopLevelMixin, fields: Sequence[str] | None) -> tuple[alt.TopLevelMixin, str]:
    """The chart with a point selection to observe: its own (the first point selection), else one added."""
    params = getattr(chart, "params", alt.Undefined)
    for param in [] if params is alt.Undefined else params:
        select = getattr(param, "select", alt.Undefined)
        if select is alt.Undefined:
            continue
        kind = select if isinstance(select, str) else select.to_dict().get("type")
        if kind == "point":
            return chart, str(param.name)
    if not fields:
        raise CxInputError("say which field a click picks: drill(chart, con, customers, fields=['channel']) "
                           "(the ready-made customers functions, such as by_channel(), know theirs)")
    selection = alt.selection_point(name=SELECTION, fields=list(fields), on="click", toggle=False)
    return chart.add_params(selection), SELECTION


class Drill(w.VBox):
    """The chart and, for the datum last clicked, its customers, their SQL and a "Save as segment" box.

    Attributes for code and tests: ``chart`` (the ``altair.JupyterChart``), ``picked`` (the datum's
    fields), ``customers`` (the frame of the last pick, None before one), ``drilldown`` (the
    customers with the SQL behind them), ``filters`` (the filter the customers are drawn from).
    """

    def __init__(self, chart: alt.TopLevelMixin, con: duckdb.DuckDBPyConnection, customers: Callable,
                 *, fields: Sequence[str] | None, filters: Filters | None) -> None:
        chart, self.selection = _with_selection(chart, fields)
        alt.JupyterChart.enable_offline()  # the widget's JavaScript from vl-convert, not a CDN
        self.con, self.filters, self.query = con, filters, customers
        self.picked: dict = {}
        self.customers: pd.DataFrame | None = None
        self.drilldown: Drilldown | None = None
        self.chart = alt.JupyterChart(chart)
        self.headline = w.HTML(f"<p>{HINT}</p>")
        self.table = w.HTML()
        self.sql = w.Textarea(rows=10, layout=w.Layout(width="100%"), disabled=True)
        self.name = w.Text(placeholder="segment name, e.g. dropped_at_checkout", layout=w.Layout(width="22em"))
        self.save_button = w.Button(description="Save as segment", disabled=True)
        self.saved = w.HTML()
        self.save_button.on_click(lambda _: self._save_clicked())
        self.details = w.Accordion(children=[self.sql], titles=("SQL and bound parameters",))
        super().__init__([self.chart, self.headline, self.table, self.details,
                          w.HBox([self.name, self.save_button]), self.saved])
        self.chart.selections.observe(self._on_selection, [self.selection])

    def pick(self, picked: dict) -> None:
        """Do what a click on the datum with these field values does (tests and code use it)."""
        value = {"vlPoint": {"or": [dict(picked)]}, **{k: [v] for k, v in picked.items()}}
        store = [{"unit": "", "fields": [{"field": k, "type": "E"} for k in picked], "values": list(picked.values())}]
        self.chart._vl_selections = {**self.chart._vl_selections, self.selection: {"value": value, "store": store}}

    def _on_selection(self, change) -> None:
        points = change["new"].value
        self.show(dict(points[-1]) if points else {})

    def show(self, picked: dict) -> None:
        """List the customers behind `picked` ({} clears) and show them, their SQL and the save box."""
        self.picked, self.customers, self.drilldown, self.saved.value = picked, None, None, ""
        self.table.value, self.sql.value, self.save_button.disabled = "", "", True
        if not picked:
            self.headline.value = f"<p>{HINT}</p>"
            return
        try:
            self.drilldown = self._run(picked)
            if not isinstance(self.drilldown.result, pd.DataFrame) or "customer_id" not in self.drilldown.result:
                raise CxInputError(f"the customers function returned {type(self.drilldown.result).__name__}, "
                                   "not a frame with a customer_id column")
        except CxError as exc:
            self.drilldown = None
            self.headline.value = f"<p>{html.escape(str(exc))}</p>"
            return
        self.customers = self.drilldown.result
        self.sql.value = self.sql_text()
        self.headline.value = f"<p>{html.escape(self.sentence())}</p>"
        if len(self.customers):
            shown = self.customers.head(SHOWN_ROWS)
            note = f"<p>The first {len(shown)} of {len(self.customers):,}.</p>" if len(shown) < len(self.customers) else ""
            self.table.value = shown.to_html(index=False, escape=True, na_rep="") + note
            self.save_button.disabled = False

    def _run(self, picked: dict) -> Drilldown:
        if self.filters is None:
            cur = self.con.cursor()  # a cursor of its own: temp tables of a funnel stay there
            try:
                return drilldown_sql(self.query, cur, picked)
            finally:
                cur.close()
        with filtered(self.con, self.filters) as store:
            return drilldown_sql(self.query, store, picked)

    def sentence(self) -> str:
        """One line on the last pick, e.g. '12 customers behind channel app' (with the filter, if any)."""
        if not self.picked:
            return HINT
        picked = _picked_text(self.picked)
        label = getattr(self.query, "label", None)
        where = label(self.picked) if label else f"behind {picked}"
        if self.filters is not None and not self.filters.is_empty and self.filters.describe() != picked:
            where += f" ({self.filters.describe()})"  # the filter, unless it says just what was picked
        n = 0 if self.customers is None else self.customers["customer_id"].nunique()
        if n == 0:
            return f"No customers {where}."
        return f"{n:,} customer{'s' if n != 1 else ''} {where}"

    def sql_text(self) -> str:
        """The SQL that listed the customers of the last pick, with the filter's and the query's bound values."""
        return self.drilldown.text() if self.drilldown is not None else ""

    def save(self, name: str) -> int:
        """Save the customers of the last pick as the segment `name`; returns how many were saved."""
        if self.customers is None or not len(self.customers):
            raise CxInputError("no customers to save: click a bar, cell or point with customers first")
        n = save_segment(self.con, name, self.customers)
        self.saved.value = (f"<p>Saved {n:,} customers as segment {html.escape(name)}: "
                            f"Filters(segment={html.escape(repr(name))}) restricts any analysis to them.</p>")
        return n

    def _save_clicked(self) -> None:
        try:
            self.save(self.name.value.strip())
        except CxError as exc:
            self.saved.value = f"<p>{html.escape(str(exc))}</p>"


def drill(
    chart: alt.TopLevelMixin,
    con: duckdb.DuckDBPyConnection,
    customers: Callable[[Any, dict], pd.DataFrame],
    *,
    fields: Sequence[str] | None = None,
    filters: Filters | None = None,
    interactive: bool = True,
) -> Drill:
    """`chart` as a widget whose clicks show the customers behind the clicked bar, cell or point.

    *Definition*: a click picks the datum's values of the selection's fields (the chart's first
    point selection, else one added on `fields`, by default ``customers.fields``: ``{"channel":
    "app"}``); ``customers(store, picked)`` lists the customers behind it, run on `con` (on the
    filtered store when `filters` is given) through :func:`cxlib.explore.drilldown_sql`, so the
    SQL and its bound parameters are shown with the list. The list can be saved as a segment.
    Refuses with CxInputError unless ``interactive`` is True: customer lists are for the
    analyst's session, never for reports.

    >>> drill(chart_nps(nps(con, by="region")), con, by_attribute("region"))  # doctest: +SKIP
    """
    if interactive is not True:
        raise CxInputError(
            "customer lists are shown only in an analyst's interactive session (interactive=True); "
            "stakeholder reports must not show customer ids: show the chart alone there"
        )
    if not callable(customers):
        raise CxInputError(f"customers must be a function (store, picked) -> DataFrame, such as by_channel(); "
                           f"got {customers!r}")
    if filters is not None and not isinstance(filters, Filters):
        raise CxInputError(f"filters must be a cxlib.explore.Filters, got {type(filters).__name__}")
    fields = fields if fields is not None else getattr(customers, "fields", None)
    if isinstance(fields, str):
        fields = [fields]
    return Drill(chart, con, customers, fields=fields, filters=filters)
