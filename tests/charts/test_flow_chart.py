"""chart_sankey: drawn offline as the reports draw it (vl-convert), nothing sticks out, nodes as tall
as their customers, stacked without overlap, labelled "touchpoint (1,234)"."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from svg_bounds import svg_of, svg_size, text_outside

from cxlib.charts import chart_sankey, sankey
from cxlib.charts.theme import PAGE_WIDTH, SERIES, colour
from cxlib.errors import CxInputError

_NS = "{http://www.w3.org/2000/svg}"
_RECT = re.compile(r"M([-\d.e]+),([-\d.e]+)h([-\d.e]+)v([-\d.e]+)h")

# step 1: a (1,834) and d (300); step 2: b (1,534), c (600); step 3: e, (ended)
LINKS = pd.DataFrame({
    "step": [1, 1, 1, 2, 2, 2, 2],
    "source": ["a", "a", "d", "b", "b", "c", "c"],
    "target": ["b", "c", "b", "e", "(ended)", "Other", "(ended)"],
    "customers": [1234, 600, 300, 1000, 534, 400, 200],
})


def nodes_drawn(svg: str) -> pd.DataFrame:
    """The rect marks of the SVG: node, step, customers (from their labels), x, y and height in px."""
    rows = []
    for group in ET.fromstring(svg).iter(_NS + "g"):
        if "mark-rect" not in group.get("class", ""):
            continue
        for path in group.iter(_NS + "path"):
            label = dict(part.split(": ", 1) for part in path.get("aria-label", "").split("; ") if ": " in part)
            m = _RECT.match(path.get("d", ""))
            rows.append({"node": label["node"], "step": int(label["step"]),
                         "customers": int(label["customers"].replace(",", "")),
                         "x": float(m.group(1)), "y": float(m.group(2)), "height": float(m.group(4))})
    return pd.DataFrame(rows)


def texts(svg: str) -> list[str]:
    out = []
    for el in ET.fromstring(svg).iter(_NS + "text"):
        spans = [t.text or "" for t in el.iter(_NS + "tspan")]
        out.append(" ".join(spans) if spans else (el.text or ""))
    return out


@pytest.fixture(scope="module")
def drawn():
    chart = chart_sankey(LINKS)
    return chart, svg_of(chart)


def test_renders_offline_inside_its_bounds_and_the_page(drawn):
    _, svg = drawn
    assert text_outside(svg) == []
    assert svg_size(svg)[0] <= PAGE_WIDTH


def test_node_heights_are_proportional_to_customers(drawn):
    nodes = nodes_drawn(drawn[1])
    expected = {("a", 1): 1834, ("d", 1): 300, ("b", 2): 1534, ("c", 2): 600, ("e", 3): 1000,
                ("(ended)", 3): 734, ("Other", 3): 400}
    assert dict(zip(zip(nodes["node"], nodes["step"]), nodes["customers"])) == expected
    ratio = nodes["height"] / nodes["customers"]
    assert ratio.max() - ratio.min() < 1e-6


def test_nodes_of_a_column_are_stacked_with_padding_largest_first_other_and_ended_last(drawn):
    nodes = nodes_drawn(drawn[1])
    for _, col in nodes.groupby("step"):
        col = col.sort_values("y")
        assert (col["y"].iloc[1:].to_numpy() >= (col["y"] + col["height"]).iloc[:-1].to_numpy() + 4).all()
        names = list(col["node"])
        real = [n for n in names if n not in ("Other", "(ended)")]
        assert names == real + [n for n in ("Other", "(ended)") if n in names]
        sizes = col.set_index("node").loc[real, "customers"]
        assert sizes.is_monotonic_decreasing
    assert nodes.groupby("step")["x"].nunique().eq(1).all() and nodes.groupby("step")["x"].first().is_monotonic_increasing


def test_labels_name_the_node_and_its_customers_with_thousands_separators(drawn):
    shown = texts(drawn[1])
    for label in ["a (1,834)", "d (300)", "b (1,534)", "c (600)", "e (1,000)", "(ended) (734)", "Other (400)"]:
        assert label in shown


def test_a_description_says_what_a_band_means(drawn):
    spec = drawn[0].to_dict()
    assert "each band is the customers" in spec["description"]
    assert "Sankey" in spec["description"]


def test_bands_are_coloured_by_source_and_other_is_grey(drawn):
    spec = drawn[0].to_dict()
    area = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "area")
    assert area["encoding"]["color"]["field"] == "source"
    scale = area["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"]))
    assert colours["Other"] == colour("no clear difference") and colours["a"] in SERIES
    bands = spec["datasets"][area["data"]["name"]]
    assert len({b["link"] for b in bands}) == len(LINKS)  # one band per link


def test_suppressed_links_are_not_drawn():
    links = LINKS.assign(suppressed=[False, False, False, False, False, True, True])
    links["customers"] = links["customers"].astype("Int64").mask(links["suppressed"])
    chart = chart_sankey(links)
    spec = chart.to_dict()
    area = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "area")
    assert len({b["link"] for b in spec["datasets"][area["data"]["name"]]}) == 5
    assert text_outside(svg_of(chart)) == []
    assert spec["description"].endswith("2 flows are not drawn: too few customers, or they would reveal a small "
                                        "flow by subtraction from a node's total.")
    assert "not drawn" not in chart_sankey(LINKS).to_dict()["description"]


def test_long_names_are_wrapped_so_the_chart_fits_the_page():
    long = "a very long touchpoint name from a real clickstream export that goes on"
    links = LINKS.replace({"a": long, "b": long + " again", "e": long + " and on"})
    svg = svg_of(chart_sankey(links))
    assert text_outside(svg) == []
    assert svg_size(svg)[0] <= PAGE_WIDTH


def test_nothing_to_draw_says_so():
    links = LINKS.assign(suppressed=True, customers=pd.NA, source_customers=pd.NA, target_customers=pd.NA)
    svg = svg_of(chart_sankey(links))
    assert any("No journey flows" in t for t in texts(svg))


def test_wrong_frame_is_refused():
    with pytest.raises(CxInputError, match="chart_sankey needs columns"):
        chart_sankey(LINKS.drop(columns=["target"]))


def test_the_sample_store_draws_cleanly(sample_con):
    from cxlib.analysis.journey import sankey_links

    for level in ("touchpoint", "stage"):
        chart = sankey(sankey_links(sample_con, steps=4, top=5, level=level))
        svg = svg_of(chart)
        assert text_outside(svg) == []
        assert svg_size(svg)[0] <= PAGE_WIDTH
        nodes = nodes_drawn(svg)
        for _, col in nodes.groupby("step"):
            col = col.sort_values("y")
            assert (col["y"].iloc[1:].to_numpy() >= (col["y"] + col["height"]).iloc[:-1].to_numpy()).all()
