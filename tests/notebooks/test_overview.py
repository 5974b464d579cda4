"""notebooks/overview.ipynb runs headless with papermill on the sample store and shows the key results."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "overview.ipynb"
pytestmark = pytest.mark.slow


def run(tmp_path, sample_db, **parameters) -> dict:
    import papermill as pm

    out = tmp_path / "overview_out.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
                        parameters={"db_path": str(sample_db), **parameters}, cwd=str(tmp_path))
    return json.loads(out.read_text())


def outputs(nb):
    return [o for c in nb["cells"] for o in c.get("outputs", [])]


def printed(nb) -> str:
    return "".join("".join(o["text"]) for o in outputs(nb) if o.get("name") == "stdout")


def shown(nb) -> str:
    parts = [printed(nb)]
    for o in outputs(nb):
        for value in o.get("data", {}).values():
            parts.append("".join(value) if isinstance(value, list) else value if isinstance(value, str)
                         else json.dumps(value))
    return "\n".join(parts)


def charts(nb) -> list[str]:
    """Each chart's spec as text (Altair's default renderer embeds it in HTML; a report run as JSON)."""
    found = []
    for o in outputs(nb):
        for key, value in o.get("data", {}).items():
            text = "".join(value) if isinstance(value, list) else value if isinstance(value, str) else json.dumps(value)
            if key.startswith("application/vnd.vegalite") or (key == "text/html" and "vegaEmbed" in text):
                found.append(text)
    return found


@pytest.fixture(scope="module")
def defaults(tmp_path_factory, sample_db):
    return run(tmp_path_factory.mktemp("overview"), sample_db)


def test_runs_with_defaults_and_shows_the_headlines(defaults):
    assert not [o for o in outputs(defaults) if o.get("output_type") == "error"]
    text = printed(defaults)
    assert re.search(r"NPS -?\d+ \(95% interval -?\d+ to -?\d+\); CSAT \d+% satisfied; CES \d\.\d of 7", text)
    assert re.search(r"month of \d{4}-\d{2}-01 against \d{4}-\d{2}-01: NPS [+-]\d+\.\d \((a real change|within chance)\); "
                     r"CSAT [+-]\d+\.\d .*; CES [+-]\d+\.\d", text)
    assert re.search(r"\d+% of customers who reached product_page went on to payment within 7 days", text)
    assert re.search(r"\d+% of [\d,]+ customers have churned \(contractual churn", text)
    assert "NPS by region" in text
    assert len(charts(defaults)) == 6


def test_change_is_latest_minus_previous_period(defaults, sample_db):
    """Checked against NPS per month computed here in plain SQL (every nps answer, docs/metrics.md's formula)."""
    import duckdb

    con = duckdb.connect(str(sample_db), read_only=True)
    rows = con.execute("""
        SELECT date_trunc('month', ts) AS period,
               100.0 * (avg(CASE WHEN score >= 9 THEN 1 ELSE 0 END) - avg(CASE WHEN score <= 6 THEN 1 ELSE 0 END))
        FROM survey_responses WHERE metric = 'nps' GROUP BY 1 ORDER BY 1 DESC LIMIT 2""").fetchall()
    con.close()
    (latest, latest_nps), (previous, previous_nps) = rows
    m = re.search(r"month of (\S+) against (\S+): NPS ([+-]\d+\.\d)", printed(defaults))
    assert (m.group(1), m.group(2)) == (f"{latest:%Y-%m-%d}", f"{previous:%Y-%m-%d}")
    assert float(m.group(3)) == pytest.approx(latest_nps - previous_nps, abs=0.051)


def test_recovers_planted_effects(defaults):
    text = printed(defaults)
    # (6) the billing theme is >= 3x over-represented among detractors
    theme = re.search(r"Detractors mention (\w[\w ]*) (\d+\.\d) times as often as promoters do", text)
    assert theme and theme.group(1) == "billing" and float(theme.group(2)) >= 3
    # (5) long ticket resolution is the strongest NPS driver
    driver = re.search(r"Top driver of NPS: (.+?) \((\d+)% of the explained variation", text)
    assert driver and re.search(r"resol|72", driver.group(1)), driver.group(1)


def test_shows_no_personal_data(defaults):
    text = shown(defaults)
    assert not re.search(r"\bC\d{7}\b", text)
    for secret in ("anna.smith@example.com", "7946 0958", "Anna Smith"):
        assert secret not in text


def test_runs_with_another_segment_and_period(tmp_path, sample_db):
    nb = run(tmp_path, sample_db, segment="plan", period="quarter", funnel_steps=["add_to_cart", "checkout"])
    assert not [o for o in outputs(nb) if o.get("output_type") == "error"]
    text = printed(nb)
    assert "NPS by plan" in text and re.search(r"quarter of \d{4}-\d{2}-01 against", text)
    assert re.search(r"\d+% of customers who reached add_to_cart went on to checkout within 7 days", text)
    titles = "".join(charts(nb))
    assert "NPS by plan" in titles and "NPS by quarter" in titles


def test_a_bad_segment_fails_with_a_clear_message(tmp_path, sample_db):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError) as err:
        run(tmp_path, sample_db, segment="regon")
    assert "did you mean 'region'" in str(err.value)


@pytest.fixture(scope="module")
def one_month_of_nps(sample_db, tmp_path_factory):
    """NPS answers of the sample's last month only (no touchpoint, channel or comment), nothing else."""
    import cxlib

    source = cxlib.connect(sample_db)
    answers = source.execute(
        "SELECT response_id, customer_id, ts, metric, score FROM survey_responses WHERE metric = 'nps' "
        "AND date_trunc('month', ts) = (SELECT max(date_trunc('month', ts)) FROM survey_responses)").df()
    source.close()
    path = tmp_path_factory.mktemp("one_month") / "one_month.duckdb"
    assert cxlib.ingest(answers, "survey_responses", db=path, add_customers=True).rejected == 0
    return path


def test_a_store_with_one_period_shows_the_score_and_says_why_there_is_no_change(tmp_path, one_month_of_nps):
    nb = run(tmp_path, one_month_of_nps)
    assert not [o for o in outputs(nb) if o.get("output_type") == "error"]
    text = shown(nb)
    assert re.search(r"NPS -?\d+ \(95% interval -?\d+ to -?\d+\)\n", printed(nb))  # NPS only: no CSAT or CES named
    assert "This section needs NPS answers in at least two periods or CSAT answers in at least two periods" in text
    assert "Breakdowns by 'region' are left out" in text
    assert len(charts(nb)) == 1  # the make-up of NPS; no trend from one month
