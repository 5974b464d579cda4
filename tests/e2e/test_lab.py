"""End to end: JupyterLab headless, the filter panel in headless Chromium, a filter change redraws the chart.

Needs Chromium (tests/install_browser.py) and Playwright's Python package (driving the system
Chromium through executable_path: no browser download). Run with ``pytest -m browser``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).parent / "fixtures" / "explore_demo.ipynb"
START = Path(__file__).resolve().parents[2] / "notebooks" / "start_here.ipynb"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _missing(what: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing (CI must run the browser tests): see tests/install_browser.py")
    pytest.skip(f"{what} is missing: run tests/install_browser.py")


def _chromium() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from install_browser import find_browser

    found = find_browser()
    if not found:
        _missing("headless Chromium")
    return shutil.which(found) or found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def lab(sample_db, tmp_path):
    """`cx lab --db <sample store>` on a temporary folder holding the demo notebook."""
    yield from _lab(sample_db, tmp_path, FIXTURE)


@pytest.fixture()
def start_lab(sample_db, tmp_path):
    """`cx lab --db <sample store>` on a folder holding the project's start notebook, as shipped."""
    yield from _lab(sample_db, tmp_path, START)


def _lab(sample_db, tmp_path, notebook: Path):
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(notebook, root / notebook.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**{k: v for k, v in os.environ.items() if k != "CX_DB"}, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "IPYTHONDIR": str(tmp_path / "ipy")}
    # started the way an analyst does, through `cx lab` (extra JupyterLab options after --)
    cmd = [sys.executable, "-m", "cxlib.cli", "lab", "--db", str(sample_db), "--no-browser", f"--port={port}",
           f"--notebook-dir={root}", "--", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
           "--LabApp.news_url="]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed in the finally below, after the server stops
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 45
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
            time.sleep(0.3)
        _start_kernel(base, token, notebook.name)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _api(base: str, token: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(f"{base}{path}", method="POST" if body is not None else "GET",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _start_kernel(base: str, token: str, notebook: str) -> None:
    """Start the notebook's kernel through the REST API before the page opens.

    The server answers once the kernel process is up, so the page's websocket attaches to a
    started kernel: one opened while the kernel is still starting can fail server-side
    (jupyter_server issue #1265) and the first 'Run All' is then lost.
    """
    session = _api(base, token, "/api/sessions",
                   {"path": notebook, "type": "notebook", "name": notebook, "kernel": {"name": "python3"}})
    if not session.get("kernel", {}).get("id"):
        raise RuntimeError(f"no kernel started for {notebook}: {session}")


def _run_all(page) -> None:
    """Run every cell of the notebook open on `page`, as the analyst does: Run > Run All Cells."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=45_000)
    # JupyterLab may ask which kernel to use for the session started before the page opened: keep the default
    try:
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=8_000)
    except PlaywrightTimeout:
        pass
    # the kernel is up when the toolbar's status says idle
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=45_000)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator("li[data-command='runmenu:run-all']").click()


def test_changing_a_filter_redraws_the_chart(lab):
    executable = _chromium()
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("the playwright Python package")
    base, token = lab
    started = time.time()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{FIXTURE.name}?token={token}")
            _run_all(page)

            panel = page.locator(".cx-filter-panel")
            expect(panel).to_be_visible(timeout=45_000)
            title = panel.locator("svg text", has_text="Events by channel:")
            expect(title).to_have_text("Events by channel: all data", timeout=30_000)
            bars = panel.locator("svg g.mark-rect path")
            expect(bars).to_have_count(6)  # web, app, email, phone, chat, store
            # the NPS table for all data is there too, and shows no customer ids
            expect(panel.locator("table").first).to_contain_text("segment")
            assert "customer_id" not in panel.inner_text()

            # change a filter as the analyst does: the Channel menu of the panel
            channel = panel.locator(".cx-filter-channel select")
            channel.select_option("app")
            expect(title).to_have_text("Events by channel: channel app", timeout=30_000)
            expect(bars).to_have_count(1)
            expect(panel.locator(".cx-status-ready")).to_contain_text("channel app")
            axis_labels = panel.locator("svg .role-axis-label text").evaluate_all("els => els.map(e => e.textContent)")
            assert "app" in axis_labels and "web" not in axis_labels
        finally:
            browser.close()
    assert time.time() - started < 90


def test_start_notebook_runs_unedited_filters_two_charts_and_drills_to_customers(start_lab):
    """The issue's path: cx lab opens the start notebook; Run All with no edits shows the panel (a live
    session); a filter change redraws both charts; a click on a bar lists the customers behind it."""
    executable = _chromium()
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("the playwright Python package")
    base, token = start_lab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{base}/?token={token}")  # where `cx lab` sends the browser: its default URL
            page.wait_for_url("**/lab/tree/start_here.ipynb**", timeout=45_000)
            _run_all(page)

            panel = page.locator(".cx-filter-panel")
            expect(panel).to_be_visible(timeout=60_000)
            by_channel = panel.locator("svg", has=page.locator("text", has_text="Customers by channel")).first
            weekly = panel.locator("svg", has=page.locator("text", has_text="Customers active each week")).first
            expect(by_channel).to_contain_text("all data", timeout=30_000)
            expect(weekly).to_contain_text("all data")
            expect(by_channel.locator("g.mark-rect path")).to_have_count(6)  # web, app, email, phone, chat, store
            weekly_before = weekly.locator("g.mark-line path").first.get_attribute("d")

            panel.locator(".cx-filter-channel select").select_option("chat")
            expect(by_channel).to_contain_text("channel chat", timeout=30_000)
            expect(weekly).to_contain_text("channel chat")
            expect(by_channel.locator("g.mark-rect path")).to_have_count(1)
            assert weekly.locator("g.mark-line path").first.get_attribute("d") != weekly_before

            by_channel.locator("g.mark-rect path").first.click()
            expect(panel).to_contain_text("customers behind channel chat", timeout=30_000)
            listing = panel.locator("table.dataframe")
            expect(listing.locator("th").first).to_have_text("customer_id")
            assert listing.locator("tbody tr").count() > 0
        finally:
            browser.close()


@pytest.fixture()
def report_lab(sample_db, tmp_path, request):
    """`cx lab` on a folder holding one report notebook of the project, as shipped."""
    yield from _lab(sample_db, tmp_path, START.parent / f"{request.param}.ipynb")


@pytest.mark.parametrize("report_lab", ["journey", "voice_of_customer"], indirect=True)
def test_report_notebooks_panels_draw_their_linked_charts_unedited(report_lab):
    """Run All with no edits in a live session: the panel shows both charts of its section, each with the
    filter under its title, and no chart fails in JupyterLab's own Vega-Lite renderer."""
    executable = _chromium()
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _missing("the playwright Python package")
    base, token = report_lab
    notebook = _api(base, token, "/api/sessions")[0]["path"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{base}/lab/tree/{notebook}?token={token}")
            _run_all(page)
            panel = page.locator(".cx-filter-panel")
            expect(panel).to_be_visible(timeout=90_000)
            expect(panel.locator(".cx-status-ready")).to_contain_text("all data", timeout=60_000)
            charts = panel.locator(".vega-embed")
            expect(charts).to_have_count(2, timeout=30_000)
            for i in range(2):
                expect(charts.nth(i).locator("svg.marks")).to_contain_text("all data")  # the filter line
            assert "Javascript Error" not in panel.inner_text()
            # the linked chart's control (journey: the segment menu; VoC: the brushable trend) is there
            second = charts.nth(1)
            if notebook.startswith("journey"):
                expect(second.locator("select")).to_have_count(1)
            else:
                expect(second.locator("svg.marks")).to_contain_text("NPS over the brushed periods")
        finally:
            browser.close()
