"""The chart theme and the JupyterLab renderer that cxlib.charts sets up."""

import altair as alt
import pandas as pd

from cxlib import charts


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


def test_palette_colours_survive_the_report_masker():
    # the report masks every string of a chart spec; a colour that looks like an identifier
    # ('#b35806': a letter and five digits) would be blanked and its marks drawn in a fallback colour
    from cxlib.charts import theme
    from cxlib.privacy.masking import Masker
    from cxlib.report.render import _mask_spec

    colours = [*theme.COLOURS.values(), *theme.SERIES] + [c for n in range(2, 12) for c in theme.graded(n)]
    masker = Masker()
    assert [c for c in colours if _mask_spec(c, masker) != c] == []
