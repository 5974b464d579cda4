"""notebooks/journey.ipynb runs headless with papermill on the sample store and shows the key results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import errors, shown_text
from notebook_run import run as run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "journey.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters):
    return run_notebook(NOTEBOOK, tmp_path, sample_db, **parameters)


def test_runs_with_its_defaults_and_shows_the_key_results(tmp_path, sample_db):
    nb = run(tmp_path, sample_db)
    assert not errors(nb)
    text = shown_text(nb)
    for expected in ["conversion_from_first", "open_window", "promoter", "detractor",  # funnel by NPS group
                     "consideration", "p90_time_from_previous",  # journey map
                     "repeat_rate",  # the planted hand-off problem
                     ">Extra drop-off<", "dropoff_rate", "Not switched", "(ended)"]:
        assert expected in text, expected
    assert re.search(r"chat (→|\\u2192) phone_call", text)  # the hand-off chart (spec embedded in HTML)
    assert re.search(r">chat</td>\s*<td[^>]*>phone_call</td>\s*<td[^>]*>yes</td>", text)  # and its table
    assert text.count("vega-lite") >= 6  # the six charts
    # stakeholder safety: no customer ids (the sample's are C0000001 ...) in anything shown
    assert not re.search(r"\bC\d{7}\b", text)


def test_runs_with_another_segment_and_exports_the_dropped_customers(tmp_path, sample_db):
    csv = tmp_path / "dropped.csv"
    nb = run(tmp_path, sample_db, segment="region", funnel_order="strict", flow_level="touchpoint",
             start="2024-01-01", dropped_csv=str(csv))
    assert not errors(nb)
    text = shown_text(nb)
    assert "nps_group" not in text or "region" in text
    regions = _regions(sample_db)
    assert sum(r in text for r in regions) >= 2  # the funnel and paths are split by region
    assert csv.exists() and csv.read_text().startswith("customer_id,segment,reached_step,reached_at")
    assert not re.search(r"\bC\d{7}\b", text)


def test_a_misspelt_segment_fails_before_the_run_with_a_clear_error(sample_db):
    # The notebook adapts a segment the store lacks (it cannot tell a default from a value passed), so a
    # misspelt value is caught where the user passes it: cx report run checks it against the store first.
    import cxlib
    from cxlib.errors import CxInputError
    from cxlib.report.store_params import check_against_store

    con = cxlib.connect(sample_db)
    try:
        with pytest.raises(CxInputError, match="did you mean 'region'"):
            check_against_store(con, "journey", {"segment": "regon"})
        with pytest.raises(CxInputError, match="this store's events have no 'chekout'"):
            check_against_store(con, "journey", {"path_touchpoint": "chekout"})
    finally:
        con.close()


def test_on_a_clickstream_alone_it_says_what_is_missing_and_draws_what_it_can(tmp_path, partial_stores):
    from report_checks import charted, problems, skipped

    nb = run(tmp_path, partial_stores["events"])
    assert problems(nb) == []
    text = shown_text(nb)
    # no touchpoint has a stage: the map by stage is not drawn; the report names touchpoints and the fix
    assert "None of this store's 20 touchpoints has a journey stage yet" in text
    assert "web_product_page (26,184; consideration)" in text
    assert "cx stages suggest" in text and "cx ingest touchpoint_stages" in text
    assert "unmapped" not in text
    assert "The flow is drawn between touchpoints instead of stages" in text
    # the sample's funnel steps are not in these events: the store's own common path stands in
    assert "most common path, web_add_to_cart > web_checkout > web_payment > web_delivery" in text
    assert "1. product_page" not in text and "1. web_add_to_cart" in text
    # no attribute and no NPS: breakdowns are left out and their sections say what they need
    assert "Breakdowns by 'nps_group' are left out" in text
    assert {"Purchase funnel by segment", "Paths by segment", "Journey map by stage"} <= set(skipped(nb))
    # friction without ratings: no empty rating columns; the friction score (drop-off against the touchpoint's
    # other channels, here the other touchpoints of a one-channel store) needs no ratings, so it is charted
    assert "Where customers fail to take the next step more often than elsewhere" in text
    assert ">Dissatisfaction</th>" not in text and ">CSAT</th>" not in text and ">Extra drop-off</th>" in text
    assert set(charted(nb)) == {"Purchase funnel", "Paths", "Friction points"}


def _regions(sample_db):
    import cxlib

    con = cxlib.connect(sample_db)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT region FROM customers").fetchall()]
    finally:
        con.close()
