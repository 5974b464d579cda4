"""A multi-step flow (Sankey) chart of customer journeys, laid out here and drawn with plain Altair marks.

Vega-Lite has no Sankey mark and reports are drawn offline (vl-convert), so the layout is computed
in Python: one column of nodes per journey step (``mark_rect``, stacked with padding, largest
first, 'Other' and '(ended)' last), one band per link (``mark_area`` between the source's slice
of its node and the target's slice, an S-curve sampled in points), and node labels with counts
(``mark_text``). Takes the frame of ``cxlib.analysis.journey.sankey_links``.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from cxlib.charts.journey import STAGE_ORDER
from cxlib.charts.theme import (
    LABEL_MAX,
    LABEL_SIZE,
    PADDING,
    PAGE_WIDTH,
    SERIES,
    checked_frame,
    colour,
    heading,
    longest,
    wrap,
)

__all__ = ["chart_sankey", "sankey"]

OTHER, ENDED = "Other", "(ended)"
NODE_WIDTH = 14  # px of a node's bar
BAND_ROOM = 70  # px of band between a column's labels and the next column
GAP = 8  # px between the slots of two nodes of a column
PLOT_HEIGHT = 360  # px the largest column's customers take, padding aside
LINE_PX = LABEL_SIZE + 3  # px of a label line
POINTS = 24  # points per band


def _last(name: str) -> int:
    return {OTHER: 1, ENDED: 2}.get(name, 0)


def _nodes(d: pd.DataFrame) -> pd.DataFrame:
    """One row per (column, node) with its size: the published total, else its shown links."""
    src = d.assign(column=d["step"], node=d["source"], total=d["source_customers"])
    tgt = d.assign(column=d["step"] + 1, node=d["target"], total=d["target_customers"])
    both = pd.concat([src, tgt], ignore_index=True)
    shown = both[~both["suppressed"]]
    out_flow = shown[shown.index < len(src)].groupby(["column", "node"])["customers"].sum()
    in_flow = shown[shown.index >= len(src)].groupby(["column", "node"])["customers"].sum()
    nodes = both.groupby(["column", "node"])["total"].max().to_frame("total")
    flow = pd.concat([out_flow.astype(float), in_flow.astype(float)], axis=1).max(axis=1)
    nodes["flow"] = flow.reindex(nodes.index).fillna(0.0)
    nodes["size"] = nodes["total"].astype("Float64").fillna(nodes["flow"]).astype(float)
    nodes = nodes.reset_index()
    nodes = nodes[nodes["size"] > 0]
    nodes["last"] = nodes["node"].map(_last)
    return nodes.sort_values(["column", "last", "size", "node"], ascending=[True, True, False, True],
                             kind="stable").reset_index(drop=True)


def _layout(nodes: pd.DataFrame, label_px: float) -> tuple[pd.DataFrame, float, float]:
    """Node labels, slots and positions in px; returns (nodes, width, height)."""
    nodes = nodes.copy()
    nodes["label"] = [wrap(f"{n} ({round(s):,})", label_px) for n, s in zip(nodes["node"], nodes["size"])]
    nodes["lines"] = nodes["label"].str.count("\n") + 1
    per_column = nodes.groupby("column")["size"].sum()
    unit = PLOT_HEIGHT / float(per_column.max())
    columns = sorted(nodes["column"].unique())
    label_w = nodes.groupby("column")["label"].agg(lambda s: longest(s)).to_dict()
    x, xs = 0.0, {}
    for c in columns:
        xs[c] = x
        x += NODE_WIDTH + 6 + label_w[c] + (BAND_ROOM if c != columns[-1] else 2)
    tops, heights = [], []
    cursor = {c: 0.0 for c in columns}
    for c, size, lines in zip(nodes["column"], nodes["size"], nodes["lines"]):
        h = max(size * unit, 1.0)
        slot = max(h, lines * LINE_PX)
        tops.append(cursor[c] + (slot - h) / 2)
        heights.append(h)
        cursor[c] += slot + GAP
    nodes["x"] = nodes["column"].map(xs)
    nodes["x2"] = nodes["x"] + NODE_WIDTH
    nodes["y"] = tops
    nodes["y2"] = nodes["y"] + pd.Series(heights)
    nodes["unit"] = unit
    return nodes, x, max(cursor.values()) - GAP


def _bands(d: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """The points of each shown link's band: its slice of the source node to its slice of the target."""
    pos = nodes.set_index(["column", "node"])
    order = {key: i for i, key in enumerate(pos.index)}
    links = d[~d["suppressed"]].copy()
    links["customers"] = links["customers"].astype(int)
    links["src"] = list(zip(links["step"], links["source"]))
    links["tgt"] = list(zip(links["step"] + 1, links["target"]))
    links = links[links["src"].isin(order) & links["tgt"].isin(order)]
    unit = float(nodes["unit"].iloc[0])
    links["h"] = links["customers"] * unit
    links = links.assign(so=links["src"].map(order), to=links["tgt"].map(order))
    links["y0"] = links.sort_values(["so", "to"]).groupby("so")["h"].cumsum() - links["h"]
    links["y1"] = links.sort_values(["to", "so"]).groupby("to")["h"].cumsum() - links["h"]
    links["y0"] += [pos.loc[k, "y"] for k in links["src"]]
    links["y1"] += [pos.loc[k, "y"] for k in links["tgt"]]
    links["xa"] = [pos.loc[k, "x2"] for k in links["src"]]
    links["xb"] = [pos.loc[k, "x"] for k in links["tgt"]]
    rows = []
    for i, r in enumerate(links.itertuples(index=False)):
        for j in range(POINTS + 1):
            t = j / POINTS
            ease = t * t * (3 - 2 * t)
            top = r.y0 + (r.y1 - r.y0) * ease
            rows.append({"link": i, "x": r.xa + (r.xb - r.xa) * t, "y": top, "y2": top + r.h,
                         "step": int(r.step), "source": r.source, "target": r.target, "customers": r.customers})
    return pd.DataFrame(rows)


def _colours(names) -> alt.Scale:
    """Touchpoints in the series colours (the same colour in every column), 'Other' and '(ended)' grey."""
    named = sorted({n for n in names if n not in (OTHER, ENDED)})
    domain = named + [OTHER, ENDED]
    return alt.Scale(domain=domain, range=[SERIES[i % len(SERIES)] for i in range(len(named))]
                     + [colour("no clear difference"), colour("not significant")])


def chart_sankey(links: pd.DataFrame, *, title: str | None = None) -> alt.LayerChart:
    """Sankey chart of journeys step by step: a column of nodes per step, bands as tall as their customers.

    Takes ``sankey_links()`` output (``step, source, target, customers``; ``source_customers``,
    ``target_customers`` and ``suppressed`` when present). Nodes are as tall as their customers
    (the published total; else the larger of their shown in- and outflows), stacked with padding,
    largest first, 'Other' and '(ended)' last; bands are coloured by their source node and start and
    end in the source's and target's slices. Suppressed links are not drawn (their room in a node
    stays empty). Labels "touchpoint (1,234)" sit right of each node, wrapped so the chart fits the page.
    At stage level, touchpoints without a stage (stage 'unmapped') are one node, "(no stage)".
    """
    d = checked_frame(links, ["step", "source", "target", "customers"], "chart_sankey")
    for col in ("source_customers", "target_customers"):
        if col not in d:
            d[col] = pd.NA
    d["suppressed"] = (d["suppressed"].astype(bool) if "suppressed" in d else False) | d["customers"].isna()
    d[["source", "target"]] = d[["source", "target"]].astype(str)
    if set(d["source"]) | set(d["target"]) <= set(STAGE_ORDER) | {"unmapped", OTHER, ENDED}:  # level='stage'
        d[["source", "target"]] = d[["source", "target"]].replace("unmapped", "(no stage)")
    d["step"] = d["step"].astype(int)
    nodes = _nodes(d)
    if nodes.empty:
        return _empty(title)
    n_columns = nodes["column"].nunique()
    room = PAGE_WIDTH - PADDING["left"] - PADDING["right"] - 30 - n_columns * (NODE_WIDTH + 8)
    label_px = max(60.0, min(LABEL_MAX, (room - (n_columns - 1) * BAND_ROOM) / n_columns))
    nodes, width, height = _layout(nodes, label_px)
    bands = _bands(d, nodes)
    width, height = math.ceil(width), math.ceil(height)
    xs = alt.Scale(domain=[0, width], nice=False, zero=False)
    ys = alt.Scale(domain=[height, 0], nice=False, zero=False)
    scale = _colours(nodes["node"])
    return _draw(nodes, bands, xs, ys, scale).properties(
        width=width, height=height,
        title=heading(title or f"Customer journeys, step 1 to step {n_columns}", width),
        description="Journey flow (Sankey): each band is the customers who went from one touchpoint (or stage) at a "
                    "step to another at the next step, its height proportional to their number; repeats of a "
                    "touchpoint in a row count once, '(ended)' means the journey stopped and 'Other' lumps "
                    "the less common touchpoints." + _hidden_note(d))


def _hidden_note(d: pd.DataFrame) -> str:
    hidden = int(d["suppressed"].sum())
    if not hidden:
        return ""
    return (f" {hidden} flow{'s are' if hidden != 1 else ' is'} not drawn: too few customers, or "
            f"{'they' if hidden != 1 else 'it'} would reveal a small flow by subtraction from a node's total.")


def _draw(nodes, bands, xs, ys, scale) -> alt.LayerChart:
    x = alt.X("x:Q", scale=xs, axis=None)
    y = alt.Y("y:Q", scale=ys, axis=None)
    nodes = nodes[["column", "node", "size", "label", "x", "x2", "y", "y2"]].assign(
        xt=nodes["x2"] + 5, yt=(nodes["y"] + nodes["y2"]) / 2, lines=nodes["label"].str.split("\n"))
    nodes["yt"] -= (nodes["lines"].str.len() - 1) * LINE_PX / 2  # a wrapped label centred on its node
    layers = []
    if not bands.empty:
        layers.append(alt.Chart(bands).mark_area(opacity=0.45, interpolate="monotone").encode(
            x=x, y=y, y2="y2:Q", detail="link:N",
            color=alt.Color("source:N", scale=scale, legend=None),
            tooltip=[alt.Tooltip("step:O", title="from step"), alt.Tooltip("source:N"), alt.Tooltip("target:N"),
                     alt.Tooltip("customers:Q", format=",")]))
    base = alt.Chart(nodes)
    layers.append(base.mark_rect().encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q", color=alt.Color("node:N", scale=scale, legend=None),
        tooltip=[alt.Tooltip("column:O", title="step"), alt.Tooltip("node:N"),
                 alt.Tooltip("size:Q", format=",", title="customers")]))
    text = base.mark_text(align="left", baseline="middle", lineHeight=LINE_PX, fontSize=LABEL_SIZE)
    layers.append(text.mark_text(align="left", baseline="middle", lineHeight=LINE_PX, fontSize=LABEL_SIZE,
                                 stroke="white", strokeWidth=3, strokeJoin="round", opacity=0.8).encode(
        x=alt.X("xt:Q", scale=xs, axis=None), y=alt.Y("yt:Q", scale=ys, axis=None), text="lines"))
    layers.append(text.encode(x=alt.X("xt:Q", scale=xs, axis=None), y=alt.Y("yt:Q", scale=ys, axis=None),
                              text="lines"))
    return alt.layer(*layers)


def _empty(title: str | None) -> alt.Chart:
    """A small chart that says there are no flows to draw (all links suppressed or none)."""
    msg = "No journey flows to show (none, or all from groups too small to publish)."
    return alt.Chart(pd.DataFrame({"text": [msg]})).mark_text(align="left").encode(text="text:N").properties(
        width=math.ceil(longest([msg])) + 4, height=30, title=heading(title or "Journey flows", 400),
        description="Journey flow (Sankey): no bands to draw for this selection.")


sankey = chart_sankey  # the name the journey report asked for
