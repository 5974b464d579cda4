"""notebooks/service.ipynb runs headless with papermill on the sample store and shows the key results,
with agents by pseudonym only and no customer or agent id anywhere in what it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_run import chart_count, errors, run, shown_text
from report_checks import problems, skipped

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "service.ipynb"
pytestmark = pytest.mark.slow


def printed(nb) -> str:
    return "".join("".join(o["text"]) for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stdout")


@pytest.fixture(scope="module")
def defaults(tmp_path_factory, sample_db):
    return run(NOTEBOOK, tmp_path_factory.mktemp("service"), sample_db)


def test_runs_with_defaults_and_shows_the_key_results(defaults):
    assert errors(defaults) == [] and problems(defaults) == [] and skipped(defaults) == []
    text = printed(defaults)
    assert re.search(r"[\d,]+ tickets: half of the resolved tickets took up to \d+ hours \(95% interval \d+ to \d+ "
                     r"h\); \d+% took longer than 72 hours; \d\.\d% are still open", text)
    assert re.search(r"First-contact resolution is lowest on chat \((6\d|7\d)%", text)
    csat = re.search(r"CSAT after a ticket: (\d+)% \(\d+% to \d+%\) for tickets resolved in 0-24 h; (\d+)% .* for "
                     r"tickets resolved in 24-72 h; (\d+)% \(\d+% to \d+%\) for tickets resolved after more than 72 h",
                     text)
    assert csat and int(csat.group(1)) >= 80 and int(csat.group(2)) >= 80 and int(csat.group(3)) <= 35
    assert re.search(r"Churned: .*whose slowest ticket took > 72 h \(contractual churn", text)
    assert re.search(r"\d+ agents shown by pseudonym", text)
    assert re.search(r"After 2026-01-01, CSAT for region north moved by [+-]\d+\.\d percentage points more than for "
                     r"region other than north \(95% interval", text)
    assert "Design: difference in differences" in text and "It cannot rule out" in text
    assert chart_count(defaults) == 7


def test_shows_no_customer_or_agent_ids(defaults):
    text = shown_text(defaults)
    assert not re.search(r"\bC\d{7}\b", text)
    assert not re.search(r"\bA\d{4}\b", text)
    assert re.search(r"Agent [b-z]{4}-[b-z]{4}", text)


def test_without_a_comparison_group_the_impact_is_a_time_series(tmp_path, sample_db):
    nb = run(NOTEBOOK, tmp_path, sample_db, treated="none", impact_metric="nps", impact_period="month")
    assert errors(nb) == []
    text = printed(nb)
    assert re.search(r"At 2026-01-01, NPS jumped by [+-]\d+\.\d points beyond its earlier trend \(95% interval", text)
    assert "Design: interrupted time series, as no comparison group was given" in text


def test_an_analyst_session_sees_the_agent_ids(tmp_path, sample_db):
    nb = run(NOTEBOOK, tmp_path, sample_db, interactive=True, agents_shown=5)
    assert errors(nb) == [] and re.search(r"\bA\d{4}\b", shown_text(nb))


def test_a_change_date_outside_the_data_says_what_it_needs(tmp_path, sample_db):
    nb = run(NOTEBOOK, tmp_path, sample_db, change_date="2030-01-01")
    assert errors(nb) == [] and skipped(nb) == ["Did the change work?"]
    assert "pass a change_date inside the data's time span" in shown_text(nb)
