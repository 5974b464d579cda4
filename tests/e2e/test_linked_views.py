"""Linked views in an analyst's exported HTML, driven with the mouse in headless Chromium.

The notebooks' analyst panels draw `chart_trend_explorer` and `chart_funnel_explorer` on frames of
the real analysis functions; an analyst exports them with ``chart.save(path, inline=True)``. Here
those pages are opened offline (every request that is not the page itself is refused) and used as
a person would: a drag across the NPS trend must change the bars below to each segment's NPS over
the brushed periods only (weighted by respondents), a double-click must bring back all periods; a
segment chosen in the funnel's dropdown, clicked, or clicked in the legend must stay bright in both
views while the others fade.

JupyterLab: the panel hands JupyterLab the same Vega-Lite spec (cxlib.charts.theme.lab_bundle), and
every interaction lives in that spec (selections, the brush's filter), none in Python; so the saved
page stands for the analyst session. Only the renderer differs (JupyterLab 4.6 bundles Vega-Lite
5.6, the export Vega-Lite 6), so each test also runs on the spec JupyterLab is handed, drawn by
Vega-Lite 5.8; that the charts draw inside JupyterLab itself is
tests/e2e/test_lab.py::test_report_notebooks_panels_draw_their_linked_charts_unedited.

The page's Vega view is read through a hook on ``window.vegaEmbed`` (set before the page loads; it
only keeps the view the page's own call returns), so the test reads each drawn bar, line and point
with its data, opacity and pixels, and clicks where they are drawn.
"""

from __future__ import annotations

import pandas as pd
import pytest
import vl_convert as vlc
from report_helpers import find_browser

import cxlib
from cxlib.charts.interactive import chart_funnel_explorer, chart_trend_explorer
from cxlib.charts.theme import LAB_VEGALITE_MIME, lab_bundle

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FUNNEL_STEPS = ["product_page", "add_to_cart", "checkout", "payment"]  # the journey notebook's default
FADED = 0.15

# Keeps the view that the page's own vegaEmbed(...) call resolves to, as window.cxView.
KEEP_VIEW = """(() => { let wrapped;
  Object.defineProperty(window, 'vegaEmbed', {configurable: true, get() { return wrapped; },
    set(real) { wrapped = (...args) => real(...args).then(result => { window.cxView = result.view; return result; }); }});
})();"""

# Every drawn item whose data has a segment, with the view it belongs to and its box in page pixels;
# the box of each view (the groups right under the root); where each legend label is.
DRAWN = """() => {
  const view = window.cxView;
  const page = view.container().querySelector('canvas, svg').getBoundingClientRect();
  const [ox, oy] = view.origin(), padding = view.padding();  // the drawing is shifted by both
  const items = [], views = [], legend = {};
  const walk = (group, x, y, top) => {
    for (const mark of group.items) {
      for (const item of mark.items) {
        if (mark.marktype === 'group') {
          const [gx, gy] = [x + (item.x || 0), y + (item.y || 0)];
          if (top === null && mark.name) views.push({name: mark.name, x: gx, y: gy, width: item.width, height: item.height});
          walk(item, gx, gy, top === null ? mark.name : top);
        } else if (mark.role === 'legend-label') {
          legend[item.datum.value] = {x: x + item.x, y: y + item.y};
        } else if (item.datum && item.datum.segment !== undefined) {
          const datum = Object.fromEntries(Object.entries(item.datum).filter(([, v]) => typeof v !== 'object' || v instanceof Date));
          items.push({view: top, mark: mark.marktype, datum, opacity: item.opacity,
                      x: x + item.x, y: y + item.y, width: item.width || 0, height: item.height || 0});
        }
      }
    }
  };
  walk(view.scenegraph().root.items[0], page.x + ox + padding.left, page.y + oy + padding.top, null);
  return {items, views, legend};
}"""


@pytest.fixture(params=["export", "vega-lite 5"])
def open_saved(request, tmp_path):
    """open_saved(chart) -> a Playwright page showing the chart saved inline, with its view kept.

    Each test runs twice: on the analyst's export (Vega-Lite 6), and on the spec the panel hands
    JupyterLab drawn by Vega-Lite 5.8 (vl-convert's oldest; JupyterLab 4.6 bundles Vega-Lite 5.6)."""
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright's Python package is missing: pip install playwright")
    executable = find_browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        context = browser.new_context(timezone_id="UTC", viewport={"width": 1200, "height": 900})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else route.abort())

        def open_page(chart):
            path = tmp_path / "chart.html"
            if request.param == "export":
                chart.save(str(path), inline=True)
            else:
                lab_spec = lab_bundle(chart.to_dict())[0][LAB_VEGALITE_MIME]  # what JupyterLab is handed
                path.write_text(vlc.vegalite_to_html(lab_spec, bundle=True, vl_version="5.8"))
            page = context.new_page()
            errors = []  # the page's own errors, and what vegaEmbed(...).catch(console.error) reports
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.add_init_script(KEEP_VIEW)
            page.goto(path.as_uri())
            try:
                page.wait_for_function("window.cxView !== undefined", timeout=20000)
            except PlaywrightTimeout:
                pytest.fail(f"the chart did not draw: {errors}")
            settle(page)
            assert not errors, errors
            return page

        yield open_page
        browser.close()


def settle(page) -> None:
    """Wait until the view has run every update the last input caused."""
    page.evaluate("async () => { await window.cxView.runAsync(); }")


def click_legend(page, segment: str) -> None:
    label = page.evaluate(DRAWN)["legend"][segment]
    page.mouse.click(label["x"] + 4, label["y"])
    settle(page)


def drawn(page) -> tuple[list[dict], list[dict]]:
    """(items, views) now on the page; items' `view` is the index of their view, top/left first."""
    found = page.evaluate(DRAWN)
    names = [v["name"] for v in found["views"]]
    for item in found["items"]:
        item["view"] = names.index(item["view"])
    return found["items"], found["views"]


# ----------------------------------------------------------------- trend explorer: the time brush


def weighted_nps(frame: pd.DataFrame, periods) -> dict[str, float]:
    """Each segment's NPS over `periods`: its periods' NPS weighted by their respondents (shown rows only)."""
    rows = frame[frame["period"].isin(periods)]
    totals = rows.assign(weighted=rows["nps"] * rows["n"]).groupby("segment")[["weighted", "n"]].sum()
    return (totals["weighted"] / totals["n"]).to_dict()


def summary_bars(page) -> dict[str, dict]:
    """The summary's bars (the second view) by segment: their value and their length in pixels."""
    items, _ = drawn(page)
    return {i["datum"]["segment"]: {"value": i["datum"]["value"], "length": i["width"]}
            for i in items if i["view"] == 1 and i["mark"] == "rect"}


def assert_bars_show(page, expected: dict[str, float]) -> None:
    bars = summary_bars(page)
    assert sorted(bars) == sorted(expected)
    for segment, value in expected.items():
        assert bars[segment]["value"] == pytest.approx(value, abs=1e-9), segment
    # the drawn length is the value on the axis (bars start at 0)
    ends = page.evaluate("(values) => values.map(v => window.cxView.scale('concat_1_x')(v))",
                         [0.0, *expected.values()])
    for (segment, _), end in zip(expected.items(), ends[1:], strict=True):
        assert bars[segment]["length"] == pytest.approx(abs(end - ends[0]), abs=0.5), segment


def test_brushing_the_nps_trend_filters_the_segment_bars_to_those_periods(open_saved, sample_con):
    frame = cxlib.nps(sample_con, by="region", period="month")
    page = open_saved(chart_trend_explorer(frame, value="nps", value_title="NPS"))
    shown = frame[~frame["suppressed"].astype(bool)].dropna(subset=["nps", "n"]).astype({"n": float})
    periods = sorted(shown["period"].unique())
    everything = weighted_nps(shown, periods)
    assert_bars_show(page, everything)

    items, views = drawn(page)
    # the months as drawn (Vega keeps times as milliseconds; the page runs in UTC) and their x in pixels
    points = sorted({pd.Timestamp(i["datum"]["period"], unit="ms"): i["x"]
                     for i in items if i["view"] == 0 and i["mark"] == "symbol"}.items())
    assert [p for p, _ in points] == list(periods)
    first, last = len(points) // 3, 2 * len(points) // 3  # brush the middle third of the months
    x_from = (points[first - 1][1] + points[first][1]) / 2
    x_to = (points[last][1] + points[last + 1][1]) / 2
    plot = views[0]
    y = plot["y"] + plot["height"] / 2
    page.mouse.move(x_from, y)
    page.mouse.down()
    page.mouse.move(x_to, y, steps=8)
    page.mouse.up()
    settle(page)

    brushed = weighted_nps(shown, periods[first:last + 1])
    assert any(abs(brushed[s] - everything[s]) > 1 for s in brushed), "the brushed months must change a bar"
    assert_bars_show(page, brushed)

    page.mouse.dblclick(plot["x"] + plot["width"] / 2, y)  # clears the brush
    settle(page)
    assert_bars_show(page, everything)


def test_a_segment_clicked_on_the_trend_or_in_its_legend_is_highlighted_in_both_views(open_saved, sample_con):
    frame = cxlib.nps(sample_con, by="region", period="month")
    segments = sorted(frame["segment"].unique())
    page = open_saved(chart_trend_explorer(frame, value="nps", value_title="NPS"))
    assert_highlighted(page, None, segments)

    click_legend(page, segments[-1])
    assert_highlighted(page, segments[-1], segments)
    page.mouse.click(10, 10)  # on nothing (the page's margin): clears the pick
    settle(page)
    assert_highlighted(page, None, segments)

    point = next(i for i in drawn(page)[0] if i["mark"] == "symbol" and i["datum"]["segment"] == segments[0])
    page.mouse.click(point["x"], point["y"])
    settle(page)
    assert_highlighted(page, segments[0], segments)


# ----------------------------------------------------------------- funnel explorer: the segment pick


def opacities(page) -> dict[tuple[int, str], set[float]]:
    """(view, segment) -> the opacities its bars, lines and points are drawn with."""
    found: dict[tuple[int, str], set[float]] = {}
    for item in drawn(page)[0]:
        found.setdefault((item["view"], item["datum"]["segment"]), set()).add(item["opacity"])
    return found


def assert_highlighted(page, segment: str | None, segments: list[str]) -> None:
    """Both views draw every segment; `segment` (all when None) bright, the others faded."""
    seen = opacities(page)
    assert sorted(seen) == [(view, s) for view in (0, 1) for s in segments]
    for (view, s), values in seen.items():
        assert values == ({1.0} if segment in (None, s) else {FADED}), (view, s, values)


def test_a_funnel_segment_picked_in_the_dropdown_or_clicked_is_highlighted_in_both_views(open_saved, sample_con):
    frame = cxlib.funnel(sample_con, FUNNEL_STEPS, by="region")
    segments = sorted(frame["segment"].unique())
    assert len(segments) >= 3
    page = open_saved(chart_funnel_explorer(frame))
    assert_highlighted(page, None, segments)
    marks = {(i["view"], i["mark"]) for i in drawn(page)[0]}
    assert marks == {(0, "rect"), (1, "line"), (1, "symbol")}, "counts as bars, conversion as lines with points"

    page.select_option(".vega-bindings select", label=segments[1])
    settle(page)
    assert_highlighted(page, segments[1], segments)

    other = segments[2]
    bar = max((i for i in drawn(page)[0] if i["view"] == 0 and i["datum"]["segment"] == other),
              key=lambda i: i["height"])
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    settle(page)
    assert_highlighted(page, other, segments)

    page.select_option(".vega-bindings select", label="(all)")
    settle(page)
    assert_highlighted(page, None, segments)

    click_legend(page, segments[0])  # the legend picks too
    assert_highlighted(page, segments[0], segments)


def test_the_hook_reads_the_page_as_drawn(open_saved):
    """Control: the readings come from the page's own view (a chart with no brush has bars of its data)."""
    frame = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01"] * 2), "segment": ["a", "a", "b", "b"],
                          "value": [10.0, 30.0, -20.0, 0.0], "n": [10, 30, 5, 15]})
    page = open_saved(chart_trend_explorer(frame))
    bars = summary_bars(page)
    assert bars["a"]["value"] == pytest.approx(25.0) and bars["b"]["value"] == pytest.approx(-5.0)
    assert bars["a"]["length"] == pytest.approx(5 * bars["b"]["length"], rel=0.02)
