"""sankey_links: journeys of hand-made customers in, exact links out; flows conserve customers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

import cxlib
from cxlib.analysis.journey import sankey_links
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
COLS = ["step", "source", "target", "customers", "source_customers", "target_customers"]

# c1: ad_click, ad_click, home_page, product_page, checkout -> ad_click, home_page, product_page, checkout
# c2: ad_click, home_page, home_page                        -> ad_click, home_page
# c3: email_open, home_page, product_page
# c4: ad_click                                              -> ends after step 1
# c5: home_page, product_page, home_page, product_page      (repeats that are not consecutive stay)
JOURNEYS = {
    "c1": ["ad_click", "ad_click", "home_page", "product_page", "checkout"],
    "c2": ["ad_click", "home_page", "home_page"],
    "c3": ["email_open", "home_page", "product_page"],
    "c4": ["ad_click"],
    "c5": ["home_page", "product_page", "home_page", "product_page"],
}


def make_store(tmp_path, journeys=JOURNEYS, day: int = 0):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    if journeys:
        con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, ?)", [(c, T0) for c in journeys])
    rows = [(c, T0 + timedelta(days=day, hours=i), tp, "web")
            for c, tps in journeys.items() for i, tp in enumerate(tps)]
    if rows:
        con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) "
                        "VALUES (?, ?, ?, ?, NULL)", rows)
    refresh_derived(con)
    return con


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLS)


def shown(out: pd.DataFrame) -> pd.DataFrame:
    assert not out["suppressed"].any()
    return out[COLS].astype({c: "int64" for c in ("step", "customers", "source_customers", "target_customers")})


@pytest.fixture()
def con(tmp_path):
    c = make_store(tmp_path)
    yield c
    c.close()


def test_hand_computed_links_with_repeats_collapsed_and_ended(con):
    out = sankey_links(con, steps=3, top=10, min_group_size=1)
    expected = frame([
        (1, "ad_click", "home_page", 2, 3, 3),
        (1, "ad_click", "(ended)", 1, 3, 1),
        (1, "email_open", "home_page", 1, 1, 3),
        (1, "home_page", "product_page", 1, 1, 1),
        (2, "home_page", "product_page", 2, 3, 2),
        (2, "home_page", "(ended)", 1, 3, 1),
        (2, "product_page", "home_page", 1, 1, 1),
    ])
    pd.testing.assert_frame_equal(shown(out), expected)


def test_ended_journeys_can_be_dropped(con):
    out = sankey_links(con, steps=3, top=10, ended=False, min_group_size=1)
    assert "(ended)" not in set(out["target"])
    expected = frame([
        (1, "ad_click", "home_page", 2, 3, 3),
        (1, "email_open", "home_page", 1, 1, 3),
        (1, "home_page", "product_page", 1, 1, 1),
        (2, "home_page", "product_page", 2, 3, 2),
        (2, "product_page", "home_page", 1, 1, 1),
    ])
    pd.testing.assert_frame_equal(shown(out), expected)


def test_top_k_lumps_the_rest_into_other(con):
    out = sankey_links(con, steps=3, top=1, min_group_size=1)
    expected = frame([
        (1, "ad_click", "home_page", 2, 3, 3),
        (1, "Other", "Other", 1, 2, 1),
        (1, "Other", "home_page", 1, 2, 3),
        (1, "ad_click", "(ended)", 1, 3, 1),
        (2, "home_page", "product_page", 2, 3, 2),
        (2, "Other", "Other", 1, 1, 1),
        (2, "home_page", "(ended)", 1, 3, 1),
    ])
    pd.testing.assert_frame_equal(shown(out), expected)


def test_more_steps_than_any_journey_has(con):
    out = sankey_links(con, steps=6, top=10, min_group_size=1)
    assert out["step"].max() == 4  # c1 and c5 have 4 steps: the last links go from step 4 to (ended)
    last = out[out["step"] == 4]
    assert sorted(zip(last["source"], last["target"], last["customers"])) == [
        ("checkout", "(ended)", 1), ("product_page", "(ended)", 1)]


def test_date_range_keeps_only_events_in_it(tmp_path):
    con = make_store(tmp_path, day=10)
    try:
        with pytest.raises(CxDataError, match="no events between"):
            sankey_links(con, start="2024-01-01", end="2024-01-05")
        out = sankey_links(con, steps=2, start="2024-01-11", end="2024-01-11", min_group_size=1)
        assert int(out["customers"].sum()) == len(JOURNEYS)
    finally:
        con.close()


def test_empty_store_says_what_to_load(tmp_path):
    con = make_store(tmp_path, journeys={})
    try:
        with pytest.raises(CxDataError, match="cx ingest events"):
            sankey_links(con)
    finally:
        con.close()


def test_small_links_are_suppressed(con):
    out = sankey_links(con, steps=3)  # every touchpoint here has fewer than 5 customers: all lumped into Other
    assert set(out["source"]) <= {"Other"} and set(out["target"]) <= {"Other", "(ended)"}
    assert out["suppressed"].all() and out["customers"].isna().all()
    for col in ("source_customers", "target_customers"):  # node totals below 5 are blanked too
        totals = out[col].dropna()
        assert (totals >= 5).all()
    assert out.loc[out["step"] == 1, "source_customers"].tolist() == [5, 5]  # all five customers start in Other


@pytest.mark.parametrize("kw", [{"steps": 1}, {"top": 0}, {"level": "page"}, {"ended": "yes"},
                                {"start": "2024-02-01", "end": "2024-01-01"}])
def test_bad_arguments(con, kw):
    with pytest.raises(CxInputError):
        sankey_links(con, **kw)


@pytest.mark.parametrize("ended", [True, False])
@pytest.mark.parametrize("level", ["touchpoint", "stage"])
def test_flows_conserve_customers_on_the_sample(sample_con, ended, level):
    out = sankey_links(sample_con, steps=5, top=4, level=level, ended=ended, min_group_size=1)
    out = shown(out)
    inflow = out.groupby(["step", "target"])["customers"].sum()
    assert (inflow == out.groupby(["step", "target"])["target_customers"].first()).all()
    outflow = out.groupby(["step", "source"])["customers"].sum()
    size = out.groupby(["step", "source"])["source_customers"].first()
    assert (outflow <= size).all()
    if ended:
        assert (outflow == size).all()
    for (step, node), n_out in outflow.items():  # a node's links out never exceed the links into it
        if step > 1:
            assert n_out <= inflow[(step - 1, node)]
            if ended:
                assert n_out == inflow[(step - 1, node)]
    customers = sample_con.execute("SELECT count(DISTINCT customer_id) FROM events").fetchone()[0]
    if ended:
        assert out[out["step"] == 1]["customers"].sum() == customers
    per_step = out.groupby("step")["source"].agg(lambda s: set(s) - {"Other"})
    assert per_step.map(len).max() <= 4


def test_published_links_are_never_small(sample_con):
    out = sankey_links(sample_con, steps=4, top=5)
    visible = out[~out["suppressed"]]
    assert (visible["customers"] >= 5).all()
    assert list(out.columns) == COLS + ["suppressed"]
