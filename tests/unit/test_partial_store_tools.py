"""Knowing a partial store: section needs, defaults that fit it, the profile, the stage map for its touchpoints.

Each case builds a small store by hand (the way a user's export would load it) and checks the
exact answer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cxlib
from cxlib.analysis import defaults, needs
from cxlib.analysis.profile import profile
from cxlib.errors import CxInputError
from cxlib.store.stages import guess_stage, suggest_stages, unmapped_touchpoints

CX = [sys.executable, "-m", "cxlib.cli"]


def _events(rows):
    return pd.DataFrame(rows, columns=["customer_id", "ts", "touchpoint", "channel"])


@pytest.fixture()
def clickstream(tmp_path):
    """Three users of a shop: a, b and c go view > cart > pay; c and d only view; nothing else."""
    rows = []
    for user, steps in {"a": ["home", "view", "cart", "pay"], "b": ["home", "view", "view", "cart", "pay"],
                        "c": ["home", "view", "cart", "pay", "view"], "d": ["view"]}.items():
        rows += [(user, f"2024-03-01 10:{i:02d}", step, "web") for i, step in enumerate(steps)]
    con = cxlib.connect(tmp_path / "click.duckdb", read_only=False)
    cxlib.ingest(_events(rows), "events", db=con, add_customers=True)
    yield con
    con.close()


ORDERS_TWICE = needs.Requirement("customers with two orders", needs._sql(
    "SELECT count(*) FROM (SELECT customer_id FROM orders GROUP BY 1 HAVING count(*) >= 2)"), 2, "cx ingest orders FILE")


@pytest.fixture()
def test_sections(monkeypatch):
    """Sections declared for the test (the report's own declarations belong to their notebooks' tests)."""
    monkeypatch.setitem(needs.SECTIONS, "test.journey", (needs.EVENTS, needs.JOURNEYS))
    monkeypatch.setitem(needs.SECTIONS, "test.value", (needs.EVENTS, ORDERS_TWICE, needs.NPS))
    monkeypatch.setitem(needs.SECTIONS, "test.by_segment", (needs.SEGMENT,))
    monkeypatch.setitem(needs.SECTIONS, "test.churn", (needs.ACTIVITY,))


def test_sections_say_what_they_need_on_a_clickstream(clickstream, test_sections):
    assert needs.readiness(clickstream, "test.journey")
    value = needs.readiness(clickstream, "test.value")
    assert not value and [r.label for r in value.missing] == ["customers with two orders", "NPS answers (0-10)"]
    assert value.sentence == (
        "This section needs customers with two orders (at least 2); NPS answers (0-10), which this store does not "
        "hold. To enable it: cx ingest orders FILE; cx ingest survey_responses FILE (--preset qualtrics or "
        "surveymonkey for a wide export).")
    assert not needs.readiness(clickstream, "test.churn", definition="contractual")
    assert needs.readiness(clickstream, "test.churn", definition="non_contractual")
    assert not needs.readiness(clickstream, "test.by_segment", segment="region")  # no attributes at all
    assert not needs.readiness(clickstream, "test.by_segment", segment="nps_group")  # no NPS answers
    scores = needs.readiness(clickstream, "voc.scores")  # one of NPS, CSAT, CES
    assert not scores and scores.sentence.startswith("This section needs NPS answers (0-10) or CSAT answers (1-5) or CES")
    with pytest.raises(CxInputError, match="did you mean 'test.journey'"):
        needs.readiness(clickstream, "test.journy")


def test_a_section_shows_its_sentence_with_the_section_in_the_metadata(clickstream, test_sections, monkeypatch):
    shown = []
    monkeypatch.setattr(needs, "_show", shown.append)
    assert needs.section(clickstream, "test.journey") and shown == []
    assert not needs.section(clickstream, "test.value")
    data, meta = shown[0]._repr_mimebundle_()
    assert meta == {"cx": {"skipped_section": "test.value"}}
    assert data["text/plain"].startswith("This section needs customers with two orders")


def test_a_reason_the_data_gives_inside_a_ready_section_becomes_its_sentence(clickstream, test_sections, monkeypatch):
    from cxlib.errors import CxDataError

    shown = []
    monkeypatch.setattr(needs, "_show", shown.append)
    ready = needs.section(clickstream, "test.journey")
    assert ready and shown == []
    with ready:
        if ready:
            raise CxDataError("the model needs a factor that varies; every customer here has the same")
    assert not ready  # its follow-up cells are skipped
    data, meta = shown[0]._repr_mimebundle_()
    assert data["text/plain"] == ("This section needs data this store does not give it: the model needs a factor that "
                                  "varies; every customer here has the same.")
    assert meta == {"cx": {"skipped_section": "test.journey"}}
    with pytest.raises(ZeroDivisionError), needs.section(clickstream, "test.journey"):
        1 / 0  # any other error is a bug and still fails the run


def test_defaults_adapt_to_the_store_and_say_so(clickstream, monkeypatch):
    said = []
    monkeypatch.setattr(defaults, "_say", lambda note: said.append(note) if note else None)
    # the most common path of four different touchpoints: home > view > cart > pay (a, b, c)
    assert defaults.common_path(clickstream) == ["home", "view", "cart", "pay"]
    assert defaults.fit_funnel_steps(clickstream, ["home", "pay"]) == ["home", "pay"] and said == []
    assert defaults.fit_funnel_steps(clickstream, ["product_page", "checkout"]) == ["home", "view", "cart", "pay"]
    assert said[-1] == ("The funnel follows the store's most common path, home > view > cart > pay, because this "
                        "store's events have no product_page, checkout.")
    assert defaults.fit_segment(clickstream, "region") is None
    assert "left out" in said[-1]
    assert defaults.fit_segment(clickstream, "none") is None
    assert defaults.fit_churn_definition(clickstream, "contractual") == "non_contractual"
    assert defaults.fit_touchpoint(clickstream, "checkout") == "view"  # the most frequent one


def test_segment_falls_back_to_an_attribute_with_few_groups(tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(defaults, "_say", lambda note: said.append(note) if note else None)
    con = cxlib.connect(tmp_path / "c.duckdb", read_only=False)
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)], "signup_at": "2024-01-01",
                              "id_like": [f"x{i}" for i in range(30)],  # 30 values: no breakdown
                              "contract": ["month", "year"] * 15, "gender": ["f", "m", None] * 10})
    cxlib.ingest(customers, "customers", db=con)
    assert defaults.segment_choices(con) == {"contract": 2, "gender": 2}
    assert defaults.fit_segment(con, "region") == "contract"  # no missing values, beats gender
    assert said == ["Breakdowns use 'contract' (2 groups) instead of 'region': this store has no customer attribute "
                    "'region' with 2 to 12 groups."]
    assert defaults.fit_segment(con, "gender") == "gender"
    con.close()


def test_a_telco_export_breaks_down_by_contract_not_by_its_churn_flag(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "_say", lambda note: None)
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    telco = pd.DataFrame({"customer_id": [f"c{i}" for i in range(12)], "Churn": ["Yes", "No"] * 6,
                          "SeniorCitizen": ["0", "1"] * 6, "gender": ["Female", "Male"] * 6,
                          "Contract": ["Month-to-month", "One year", "Two year"] * 4})
    cxlib.ingest(telco, "customers", db=con)
    assert defaults.fit_segment(con, "plan") == "Contract"
    con.close()


def test_profile_lists_what_the_store_holds_and_what_to_load(clickstream):
    p = profile(clickstream)
    rows = p.tables.set_index("table")["rows"].to_dict()
    assert rows == {"customers": 4, "events": 15, "survey_responses": 0, "orders": 0, "tickets": 0, "subscriptions": 0}
    assert p.customers == 4 and p.customers_from_first_sight == 4
    assert p.touchpoints.set_index("touchpoint")["events"].to_dict() == {"view": 6, "home": 3, "cart": 3, "pay": 3}
    assert sorted(p.unmapped) == ["cart", "home", "pay", "view"]  # the shipped map knows none of them
    ready = p.sections.set_index("section")["ready"]
    assert set(ready.index) == set(needs.SECTIONS)
    assert not ready["voc.nps"] and not ready["segments.rfm"] and ready.any()
    text = str(p)
    assert "Customers: 4 (4 created from first sight)" in text and "cx stages suggest" in text
    assert "needs  segments.rfm: orders" in text


def test_stage_suggestions_for_the_stores_own_touchpoints(clickstream, tmp_path):
    assert [guess_stage(t) for t in ("add_to_cart", "view_item", "phone_call", "promo_page", "login", "zzz")] == [
        "purchase", "consideration", "service", "awareness", "loyalty", None]
    assert unmapped_touchpoints(clickstream)["touchpoint"].tolist() == ["view", "cart", "home", "pay"]
    suggested = suggest_stages(clickstream)
    assert suggested.to_dict("records") == [
        {"touchpoint": "view", "stage": "consideration", "events": 6, "source": "guess"},
        {"touchpoint": "cart", "stage": "purchase", "events": 3, "source": "guess"},
        {"touchpoint": "home", "stage": "consideration", "events": 3, "source": "guess"},
        {"touchpoint": "pay", "stage": "purchase", "events": 3, "source": "guess"},
    ]


def test_cx_stages_suggest_writes_a_map_that_loads(tmp_path):
    db = tmp_path / "s.duckdb"
    con = cxlib.connect(db, read_only=False)
    cxlib.ingest(_events([("a", "2024-01-01", "checkout", "web"), ("a", "2024-01-02", "mystery", "web")]), "events",
                 db=con, add_customers=True)
    con.close()
    out = tmp_path / "stages.csv"
    done = subprocess.run(CX + ["stages", "suggest", "--db", str(db), "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 from the current map, 0 guessed from their names, 1 set to 'consideration'" in done.stdout
    assert out.read_text() == "touchpoint,stage\ncheckout,purchase\nmystery,consideration\n"
    again = subprocess.run(CX + ["stages", "suggest", "--db", str(db), "-o", str(out)], capture_output=True, text=True)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    loaded = subprocess.run(CX + ["ingest", "touchpoint_stages", str(out), "--db", str(db)], capture_output=True,
                            text=True)
    assert loaded.returncode == 0, loaded.stderr
    con = cxlib.connect(db)
    assert profile(con).unmapped == []
    con.close()


def test_cx_profile_prints_the_profile(tmp_path):
    db = tmp_path / "p.duckdb"
    con = cxlib.connect(db, read_only=False)
    cxlib.ingest(pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["a", "a"], "ts": ["2024-01-01", "2024-02-01"],
                               "amount": [10.0, 20.0]}), "orders", db=con, add_customers=True)
    con.close()
    done = subprocess.run(CX + ["profile", "--db", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "  orders                        2  2024-01-01 to 2024-02-01" in done.stdout
    assert "ready  segments.rfm" in done.stdout and "needs  voc.nps" in done.stdout


def test_the_sample_and_a_users_store_stay_apart(tmp_path):
    sample = tmp_path / "sample.duckdb"
    mine = tmp_path / "mine.duckdb"
    done = subprocess.run(CX + ["sample", "--customers", "30", "--db", str(sample)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    csv = tmp_path / "e.csv"
    csv.write_text("customer_id,ts,touchpoint,channel\nu1,2024-01-01,home,web\n")
    refused = subprocess.run(CX + ["ingest", "events", str(csv), "--db", str(sample), "--add-customers"],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "this is a sample store" in refused.stderr and "--force" in refused.stderr
    forced = subprocess.run(CX + ["ingest", "events", str(csv), "--db", str(sample), "--add-customers", "--force"],
                            capture_output=True, text=True)
    assert forced.returncode == 0, forced.stderr
    loaded = subprocess.run(CX + ["ingest", "events", str(csv), "--db", str(mine), "--add-customers"],
                            capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    before = Path(mine).read_bytes()
    over = subprocess.run(CX + ["sample", "--customers", "30", "--db", str(mine)], capture_output=True, text=True)
    assert over.returncode == 2 and "holds loaded data" in over.stderr
    assert Path(mine).read_bytes() == before
    one = subprocess.run(CX + ["sample", "--customers", "1", "--db", str(tmp_path / "one.duckdb")],
                         capture_output=True, text=True)
    assert one.returncode == 0 and "customers 1," in one.stdout, one.stderr
