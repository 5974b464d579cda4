"""Report parameters are checked against the store before any kernel starts, in the command line's own words."""

from __future__ import annotations

import pandas as pd
import pytest
from report_helpers import FIXTURES, cx

import cxlib
from cxlib.errors import CxInputError
from cxlib.report.store_params import check_against_store


@pytest.fixture()
def clickstream_db(tmp_path):
    db = tmp_path / "click.duckdb"
    con = cxlib.connect(db, read_only=False)
    events = pd.DataFrame({"customer_id": ["a", "a", "b"], "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
                           "touchpoint": ["home", "checkout", "home"], "channel": "web"})
    cxlib.ingest(events, "events", db=con, add_customers=True)
    cxlib.ingest(pd.DataFrame({"customer_id": ["a", "b"], "plan": ["pro", "free"]}), "customers", db=con, update=True)
    con.close()
    return db


@pytest.mark.parametrize("notebook, values, message", [
    ("journey", {"segment": "plna"}, "-p segment=plna: not a customer attribute of this store; did you mean 'plan'?"),
    ("journey", {"segment": "nps_group"}, "-p segment=nps_group: this store has no NPS answers"),
    ("journey", {"funnel_steps": ["home", "cart"]}, "-p funnel_steps=home,cart: this store's events have no 'cart'"),
    ("journey", {"funnel_order": "strct"}, "-p funnel_order=strct: not one of ordered, strict, any; did you mean"),
    ("journey", {"funnel_window": "7 dais"}, "-p funnel_window=7 dais:"),
    ("churn", {"churn_definition": "contractual"},
     "-p churn_definition=contractual: this store holds no subscriptions; use -p churn_definition=non_contractual"),
    ("churn", {"period": "quarter"}, "-p period=quarter: not one of month, week"),
    ("voice_of_customer", {"min_group_size": 0}, "-p min_group_size=0: must be a whole number of at least 1"),
])
def test_a_parameter_the_store_cannot_serve_fails_with_a_hint(clickstream_db, notebook, values, message):
    con = cxlib.connect(clickstream_db)
    try:
        with pytest.raises(CxInputError) as err:
            check_against_store(con, notebook, values)
        assert str(err.value).startswith(message), str(err.value)
    finally:
        con.close()


def test_parameters_the_store_can_serve_pass(clickstream_db):
    con = cxlib.connect(clickstream_db)
    check_against_store(con, "journey", {"segment": "plan", "funnel_steps": ["home", "checkout"], "funnel_order": "any",
                                         "funnel_window": "2 days", "min_group_size": 1})
    check_against_store(con, "journey", {"segment": "none"})
    check_against_store(con, "voice_of_customer", {"period": "quarter"})
    con.close()


def test_the_run_fails_before_any_kernel_and_says_which_notebook(clickstream_db, tmp_path):
    out = tmp_path / "reports"
    done = cx("report", "run", str(FIXTURES / "chart_and_comments.ipynb"), "--db", str(clickstream_db), "--out", str(out),
              "-p", "segment=plna")
    assert done.returncode == 2
    assert done.stderr.strip() == ("cx: error: notebook chart_and_comments.ipynb: -p segment=plna: not a customer "
                                   "attribute of this store; did you mean 'plan'? Available: plan, none")
    assert not out.exists() or not any(out.iterdir())  # nothing ran


def test_a_run_wide_parameter_applies_where_a_notebook_has_it(clickstream_db, tmp_path):
    out = tmp_path / "reports"
    # segment is a parameter of chart_and_comments, not of cell_error's sibling typed_params: both run
    done = cx("report", "run", str(FIXTURES / "chart_and_comments.ipynb"), str(FIXTURES / "typed_params.ipynb"),
              "--db", str(clickstream_db), "--out", str(out), "-p", "segment=plan", "-p", "n_top=3")
    assert done.returncode == 0, done.stderr
    nobody = cx("report", "run", str(FIXTURES / "chart_and_comments.ipynb"), str(FIXTURES / "typed_params.ipynb"),
                "--db", str(clickstream_db), "--out", str(out), "-p", "segmnt=plan")
    assert nobody.returncode == 2
    assert ("-p segmnt: unknown parameter 'segmnt'; did you mean 'segment'? None of the notebooks in this run takes "
            "it") in nobody.stderr


def test_a_relative_store_path_is_resolved_before_the_kernel_starts(clickstream_db, tmp_path):
    """The kernel runs in the notebook's folder; a relative --db must still mean the caller's file."""
    import shutil

    work = tmp_path / "work"
    (work / "stores").mkdir(parents=True)
    shutil.copyfile(clickstream_db, work / "stores" / "mine.duckdb")
    done = cx("report", "run", str(FIXTURES / "chart_and_comments.ipynb"), "--db", "stores/mine.duckdb",
              "-p", "segment=plan", "--out", str(tmp_path / "reports"), cwd=work)
    assert done.returncode == 0, done.stderr
