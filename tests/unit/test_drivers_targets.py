"""Key drivers of CSAT, CES and churn as well as NPS, and collinear drivers explained."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis import voc
from cxlib.analysis.voc.drivers import _collinearity
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived


def _store(tmp_path, *, customers, answers=(), tickets=(), subscriptions=(), events=(), regions=None):
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')", [(c,) for c in customers])
    if regions is not None:
        con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
        con.executemany("UPDATE customers SET region = ? WHERE customer_id = ?", list(zip(regions, customers)))
    rows = [(f"r{i:05d}", *(tuple(a) + (None,) * (5 - len(a)))) for i, a in enumerate(answers)]
    if rows:
        con.executemany("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint) "
                        "VALUES (?, ?, ?, ?, ?, ?)", rows)
    if tickets:
        con.executemany("INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, channel, category, "
                        "agent_id, contacts, reopened) VALUES (?, ?, '2024-02-01', ?, 'chat', 'billing', NULL, 1, "
                        "false)", list(tickets))
    if subscriptions:
        con.executemany("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES (?, 'basic', "
                        "'2024-01-01', ?)", list(subscriptions))
    if events:
        con.executemany("INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, ?, "
                        "NULL)", list(events))
    refresh_derived(con)
    return con


def _planted(tmp_path, n=300, seed=3):
    """A long ticket (> 72 h) lowers CSAT by 1.5 and CES by 2 and raises churn from 10% to 70%; the
    region (north) moves NPS, nothing else does; every customer answers NPS, CSAT and CES."""
    rng = np.random.default_rng(seed)
    customers, answers, tickets, subs, regions = [], [], [], [], []
    for i in range(n):
        cid = f"c{i:04d}"
        customers.append(cid)
        regions.append(["north", "south"][i % 2])
        long_ = rng.random() < 0.4
        hours = float(rng.uniform(80, 200) if long_ else rng.uniform(1, 48))
        tickets.append((f"t{i}", cid, str(pd.Timestamp("2024-02-01") + pd.Timedelta(hours=hours))))
        answers.append((cid, "2024-02-12", "ces", int(np.clip(round(5 - 2 * long_ + rng.normal(0, 1)), 1, 7)), "chat"))
        answers.append((cid, "2024-02-14", "csat", int(np.clip(round(4 - 1.5 * long_ + rng.normal(0, .7)), 1, 5)),
                        "support"))
        answers.append((cid, "2024-03-01", "nps", int(np.clip(round(5 + 3 * (i % 2 == 0) + rng.normal(0, 1)), 0, 10))))
        subs.append((cid, "2024-06-01" if rng.random() < (0.7 if long_ else 0.1) else None))
    answers.append((customers[0], "2024-12-31", "ces", 4, "chat"))  # fixes the as-of date
    return _store(tmp_path, customers=customers, answers=answers, tickets=tickets, subscriptions=subs, regions=regions)


def test_each_target_finds_its_planted_driver(tmp_path):
    con = _planted(tmp_path)
    nps = voc.key_drivers(con, target="nps", bootstrap=30)
    assert nps["driver"].iloc[0] == "region" and nps["target"].iloc[0] == "nps"
    pd.testing.assert_frame_equal(nps, voc.key_drivers(con, target="nps_score", bootstrap=30))  # the older name
    for target, sign in (("csat", "-"), ("ces", "-"), ("churn", "+")):
        df = voc.key_drivers(con, target=target, bootstrap=30)
        assert df["target"].iloc[0] == target
        top = df.iloc[0]
        assert top["driver"] in ("ticket resolution > 72h", "resolution hours (max, log)"), (target, top["driver"])
        assert top["significant"] and top["direction"] == sign, target
        assert df["importance"].sum() == pytest.approx(100)
    # the CSAT target is never explained by its own answers: its touchpoint ratings come from CES
    csat = voc.key_drivers(con, target="csat", bootstrap=0)
    assert "chat rating" in set(csat["driver"]) and "support rating" not in set(csat["driver"])
    assert "NPS answer" in set(csat["driver"]) and "NPS answer" not in set(nps["driver"])
    churn = voc.key_drivers(con, target="churn", bootstrap=0)
    assert churn["n"].iloc[0] == 300  # every customer has a subscription: all judged
    said = voc.drivers_headline(churn)
    assert said.startswith("Top driver of churn: ") and "300 customers" in said


def test_churn_target_population_and_outcome_are_the_churn_status(tmp_path):
    import statsmodels.api as sm

    con = _planted(tmp_path, n=120)
    status = cxlib.analysis.churn.churn_status(con, definition="contractual").set_index("customer_id")
    df = voc.key_drivers(con, target="churn", bootstrap=0, attributes=[])
    assert df["n"].iloc[0] == status["judged"].sum() == 120
    # a linear probability model: its R^2 is that of statsmodels' OLS of churned (0/1) on the same columns
    feats = cxlib.analysis.features.customer_features(con).set_index("customer_id").loc[status.index]
    support = con.execute("SELECT customer_id, avg(score) FROM survey_responses WHERE metric = 'csat' "
                          "AND touchpoint = 'support' GROUP BY 1").df().set_index("customer_id").iloc[:, 0]
    design = pd.DataFrame({
        "support": support.reindex(status.index), "nps": feats["nps_score"].astype(float),
        "long": feats["long_resolution"].astype(float),
        "hours": np.log1p(feats["max_resolution_hours"].astype(float)),
    })
    fit = sm.OLS(status["churned"].astype(float), sm.add_constant(design)).fit()
    assert set(df["driver"]) >= {"support rating", "NPS answer", "ticket resolution > 72h"}
    assert df["r_squared"].iloc[0] == pytest.approx(fit.rsquared)


def test_vif_matches_statsmodels_and_groups_get_the_generalised_vif():
    import statsmodels.api as sm
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    rng = np.random.default_rng(8)
    a = rng.normal(size=400)
    x = np.column_stack([a, a + 0.3 * rng.normal(size=400), rng.normal(size=400), rng.normal(size=400),
                         np.ones(400)])
    groups = np.array([0, 1, 2, 2, 3])  # the last driver does not vary
    out = _collinearity(x, groups, ["a", "b", "pair", "constant"])
    exog = sm.add_constant(x[:, :4])
    assert out["vif"].iloc[0] == pytest.approx(variance_inflation_factor(exog, 1))
    assert out["vif"].iloc[1] == pytest.approx(variance_inflation_factor(exog, 2))
    assert out["vif"].iloc[2] == pytest.approx(1.0, abs=0.05)  # independent of the rest
    assert math.isnan(out["vif"].iloc[3]) and out["partner"].iloc[3] == ""
    assert out["partner"].tolist()[:2] == ["b", "a"]
    assert out["partner_r"].iloc[0] == pytest.approx(np.corrcoef(x[:, 0], x[:, 1])[0, 1])
    assert out["partner"].iloc[2] == "" and math.isnan(out["partner_r"].iloc[2])  # a group has no partner


def _collinear_store(tmp_path, n=100, seed=6):
    """Delivery and courier ratings nearly equal (r ~ 0.95); NPS follows their sum."""
    rng = np.random.default_rng(seed)
    customers, answers = [], []
    for i in range(n):
        cid = f"c{i:04d}"
        customers.append(cid)
        delivery = int(rng.integers(1, 6))
        courier = int(np.clip(delivery + rng.choice([-1, 0, 0, 0, 0, 0, 0, 1]), 1, 5))
        answers.append((cid, "2024-02-10", "csat", delivery, "delivery"))
        answers.append((cid, "2024-02-11", "csat", courier, "courier"))
        answers.append((cid, "2024-02-12", "csat", int(rng.integers(1, 6)), "checkout"))
        answers.append((cid, "2024-03-01", "nps", int(np.clip(round(0.45 * (delivery + courier) + 2
                                                                     + rng.normal(0, 3)), 0, 10))))
    return _store(tmp_path, customers=customers, answers=answers)


def test_collinear_drivers_are_explained_not_just_shown_insignificant(tmp_path):
    con = _collinear_store(tmp_path)
    df = voc.key_drivers(con, bootstrap=0).set_index("driver")
    pair = df.loc[["delivery rating", "courier rating"]]
    assert (pair["importance"] >= 10).all() and not pair["significant"].any()
    r = pair["partner_r"].iloc[0]
    assert r > 0.9 and pair["vif"].min() > 5
    assert df.loc["delivery rating", "partner"] == "courier rating"
    note = df.loc["delivery rating", "note"]
    assert note.startswith(f"delivery rating and courier rating move together (r = {r:.2f}): their joint weight is "
                           "clear")
    assert note.endswith("the split between them is not")
    assert df.loc["checkout rating", "note"] == ""
    # "their joint weight is clear": together the pair is significant (statsmodels' joint F-test)
    import statsmodels.formula.api as smf

    wide = con.execute("SELECT customer_id, touchpoint, score FROM survey_responses WHERE metric = 'csat'").df()
    wide = wide.pivot(index="customer_id", columns="touchpoint", values="score")
    wide["nps"] = con.execute("SELECT customer_id, score FROM survey_responses WHERE metric = 'nps'").df() \
        .set_index("customer_id")["score"]
    fit = smf.ols("nps ~ delivery + courier + checkout", data=wide.astype(float)).fit()
    assert fit.f_test("delivery = 0, courier = 0").pvalue < 0.001
    said = voc.drivers_headline(df.reset_index())
    assert said.count("move together") == 1  # the pair is said once
    # a significant collinear driver, or an unimportant one, needs no note
    cols = {"driver": ["x", "y", "z"], "importance": [60.0, 35.0, 5.0], "significant": [True, False, False],
                "vif": [9.0, 9.0, 9.0], "partner": ["y", "x", "x"], "partner_r": [0.9, 0.9, 0.2]}
    from cxlib.analysis.voc.drivers import _notes

    notes = _notes(pd.DataFrame(cols))
    assert notes[0] == "" and notes[1].startswith("y and x move together (r = 0.90)") and "95%" in notes[1]
    assert notes[2] == ""  # under 10% of R^2
    assert _notes(pd.DataFrame({**cols, "partner_r": [0.2, 0.2, 0.2]}))[1].startswith("y moves with the other "
                                                                                      "drivers (VIF = 9.0)")


def test_targets_say_what_they_need_on_partial_stores(tmp_path):
    # surveys only: NPS and CSAT but no subscriptions, events or orders
    customers = [f"c{i}" for i in range(60)]
    answers = [(c, "2024-02-10", "csat", i % 5 + 1, "delivery") for i, c in enumerate(customers)]
    answers += [(c, "2024-03-01", "nps", i % 11) for i, c in enumerate(customers)]
    (tmp_path / "s").mkdir()
    con = _store(tmp_path / "s", customers=customers, answers=answers)
    with pytest.raises(CxDataError, match="key drivers of churn need churn status: non-contractual churn needs "
                                          "dated activity"):
        voc.key_drivers(con, target="churn", bootstrap=0)
    with pytest.raises(CxDataError, match="key drivers of CES need customers with a CES answer, and this store"):
        voc.key_drivers(con, target="ces", bootstrap=0)
    table = voc.drivers_by_target(con, bootstrap=0)
    assert table["target"].tolist() == ["NPS", "CSAT", "CES", "churn"]
    assert table.loc[0, "top_driver"] == "delivery rating" and table.loc[0, "n"] == 60
    assert table.loc[3, "note"].startswith("Key drivers of churn need churn status") and pd.isna(table.loc[3, "n"])
    assert table.loc[2, "note"].startswith("Key drivers of CES need")
    # events only: no answers at all
    (tmp_path / "e").mkdir()
    # monthly visits up to month 1..5 (the first two months' leavers churn by inactivity); every third
    # customer switches from web to app within a day
    events = [(c, f"2024-0{m}-05 10:00", "home", "web") for i, c in enumerate(customers) for m in range(1, 2 + i % 5)]
    events += [(c, "2024-01-05 12:00", "home", "app") for i, c in enumerate(customers) if i % 3 == 0]
    con = _store(tmp_path / "e", customers=customers, events=events)
    with pytest.raises(CxDataError, match="relationship NPS answer .* has none"):
        voc.key_drivers(con, bootstrap=0)
    with pytest.raises(CxDataError, match="key drivers of CSAT need customers with a CSAT answer"):
        voc.key_drivers(con, target="csat", bootstrap=0)
    churn = voc.key_drivers(con, target="churn", bootstrap=0)  # judged by inactivity from the events
    assert churn["target"].iloc[0] == "churn" and "channel switches" in set(churn["driver"])
    with pytest.raises(CxInputError, match="target 'revenue'"):
        voc.drivers_by_target(con, targets=["revenue"])


def test_churn_target_with_nobody_churned_says_so(tmp_path):
    customers = [f"c{i}" for i in range(40)]
    answers = [(c, "2024-02-10", "csat", i % 5 + 1, "delivery") for i, c in enumerate(customers)]
    con = _store(tmp_path, customers=customers, answers=answers, subscriptions=[(c, None) for c in customers])
    with pytest.raises(CxDataError, match="none of the 40 customers churned"):
        voc.key_drivers(con, target="churn", bootstrap=0)


def test_chart_drivers_names_the_target(tmp_path):
    from cxlib.charts import voc as charts

    con = _planted(tmp_path, n=120)
    d = charts.chart_drivers(voc.key_drivers(con, target="churn", bootstrap=20)).to_dict()
    assert d["title"]["text"] == "What drives churn" and "explains of churn" in d["description"]
    assert d["layer"][1]["mark"]["color"] == charts.colour("interval")
    assert charts.chart_drivers(voc.key_drivers(con, target="csat", bootstrap=0)).to_dict()["title"]["text"] == \
        "What drives CSAT"


def test_the_drivers_section_is_ready_for_the_target_the_store_can_answer(tmp_path):
    from cxlib.analysis import needs

    customers = [f"c{i:03d}" for i in range(40)]
    answers = [(c, "2024-02-14", "csat", 1 + i % 5, "support") for i, c in enumerate(customers)]
    tickets = [(f"t{i}", c, "2024-02-02") for i, c in enumerate(customers)]
    con = _store(tmp_path, customers=customers, answers=answers, tickets=tickets)  # CSAT, no NPS
    assert needs.readiness(con, "voc.drivers", target="csat")
    assert not needs.readiness(con, "voc.drivers", target="nps")
    assert not needs.readiness(con, "voc.drivers")  # NPS by default
    assert not needs.readiness(con, "voc.drivers", target="ces")
    assert "relationship NPS answer" in needs.readiness(con, "voc.drivers").sentence
