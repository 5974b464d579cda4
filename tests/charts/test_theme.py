"""The chart theme and the JupyterLab renderer that cxlib.charts sets up."""

import altair as alt
import pandas as pd

import cxlib.charts as charts


def test_charts_render_in_jupyterlab_without_network():
    chart = alt.Chart(pd.DataFrame({"a": [1, 2]}), title="Two bars").mark_bar().encode(x="a:Q")
    assert alt.renderers.active == "cx_lab"
    bundle = chart._repr_mimebundle_()
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    spec = data[charts.LAB_VEGALITE_MIME]
    assert spec["$schema"].endswith("/v5.json") and spec["mark"]["type"] == "bar"
    assert data["text/plain"] == "<chart: Two bars>"
    assert "text/html" not in data  # the CDN-loading HTML output is not produced
    assert metadata[charts.LAB_VEGALITE_MIME]["embed_options"]["renderer"] == "svg"


def test_the_cx_theme_is_enabled():
    assert alt.theme.active == "cx"
    assert alt.Chart(pd.DataFrame({"a": [1]})).mark_point().to_dict()["config"]["range"]["category"] == charts.PALETTE
