"""The impact of a dated change, on small synthetic stores with a planted effect (docs/metrics.md, "Impact
of a dated change"): the estimate recovered within its interval; the figures checked against
statsmodels fitted here on the raw answers, and the difference in differences against the four
means it is made of."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import cxlib
from cxlib.analysis import impact as im
from cxlib.analysis.impact import fitting
from cxlib.errors import CxDataError, CxInputError

START = datetime(2025, 1, 6)  # a Monday: weeks start on Mondays
CHANGE = START + timedelta(weeks=20)
WEEKS = 40


def _answers(rng, *, effect: float, common_jump: float, drift: float = 0.0, per_week: int = 60,
             regions=("north", "south"), customers: int = 200, wave: float = 0.05,
             trend: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CSAT answers: each week `per_week` customers of each region answer (each at most once that week).
    P(satisfied) = 0.55 + wave sin(week / 3) + trend * week + common_jump after the change (every
    region) + effect after the change (north only) + drift * week (north only)."""
    people = pd.DataFrame({"customer_id": [f"{r}{i:04d}" for r in regions for i in range(customers)],
                           "region": [r for r in regions for _ in range(customers)]})
    rows = []
    for week in range(WEEKS):
        monday = START + timedelta(weeks=week)
        after = monday >= CHANGE
        for region in regions:
            who = rng.choice(customers, per_week, replace=False)
            p = 0.55 + wave * math.sin(week / 3) + trend * week + common_jump * after
            if region == "north":
                p += effect * after + drift * week
            satisfied = rng.random(per_week) < p
            for k, (c, s) in enumerate(zip(who, satisfied)):
                rows.append({"response_id": f"r{week}-{region}-{k}", "customer_id": f"{region}{c:04d}",
                             "ts": monday + timedelta(days=int(rng.integers(0, 7)), hours=10), "metric": "csat",
                             "score": 5 if s else 2})
    return pd.DataFrame(rows), people


def _store(tmp_path, answers, people=None, name="impact.duckdb"):
    con = cxlib.connect(tmp_path / name, read_only=False)
    if people is not None:
        assert cxlib.ingest(people, "customers", db=con).rejected == 0
    assert cxlib.ingest(answers, "survey_responses", db=con, add_customers=True).rejected == 0
    return con


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """North gets +12 points of CSAT from the change; every region also jumps +5 at that date."""
    answers, people = _answers(np.random.default_rng(3), effect=0.12, common_jump=0.05)
    con = _store(tmp_path_factory.mktemp("did"), answers, people)
    yield con, answers, people
    con.close()


def _weekly(answers: pd.DataFrame, people: pd.DataFrame | None) -> pd.DataFrame:
    df = answers.copy()
    df["y"] = np.where(df["score"] >= 4, 100.0, 0.0)
    df["week"] = (df["ts"] - START).dt.days // 7
    df["post"] = (df["week"] >= 20).astype(int)
    if people is not None:
        df = df.merge(people, on="customer_id")
        df["treated"] = (df["region"] == "north").astype(int)
    return df


def test_difference_in_differences_recovers_the_planted_effect(planted):
    con, _, _ = planted
    res = im.impact(con, metric="csat", change_date=CHANGE.date().isoformat(), treated="region: north")
    assert res.design == im.DID and res.comparison == "region other than north"
    assert res.ci_lower <= 12 <= res.ci_upper and res.ci_lower > 0  # the common +5 is not in it
    assert res.significant and (res.periods_before, res.periods_after) == (20, 20)
    assert res.check["pre_trend"]["p_value"] > 0.05
    assert im.impact_headline(res).startswith(
        f"After {CHANGE:%Y-%m-%d}, CSAT for region north moved by +{res.estimate:.1f} percentage points more than for "
        "region other than north (95% interval")
    assert "a real effect" in im.impact_headline(res)
    design = im.impact_design(res)
    assert "cannot rule out something else that affected region north alone" in design and "held steady" in design


def test_difference_in_differences_equals_the_four_means_and_statsmodels(planted):
    """Balanced weeks: the two-way fixed-effects estimate is the difference of the four means; its
    standard error is statsmodels' cluster-robust one from the answers themselves."""
    con, answers, people = planted
    res = im.impact(con, metric="csat", change_date=CHANGE, treated={"region": "north"})
    df = _weekly(answers, people)
    m = df.groupby(["treated", "post"])["y"].mean()
    assert res.estimate == pytest.approx((m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0]), abs=1e-9)
    df["did"] = df["treated"] * df["post"]
    fit = smf.ols("y ~ C(week) + treated + did", df).fit(cov_type="cluster",
                                                          cov_kwds={"groups": pd.factorize(df["customer_id"])[0]})
    assert res.estimate == pytest.approx(fit.params["did"], abs=1e-8)
    from scipy import stats

    customers = df["customer_id"].nunique()
    se = (res.ci_upper - res.ci_lower) / 2 / stats.t.ppf(0.975, customers - 1)  # t with G - 1 degrees of freedom
    assert se == pytest.approx(fit.bse["did"], rel=1e-6)
    assert res.terms["term"].tolist() == ["difference in differences", "gap before the change (treated - comparison)",
                                          "drift of the gap per week before the change"]


def test_interrupted_time_series_without_a_comparison_group(tmp_path):
    """No attribute to compare with: the segmented regression recovers a planted jump of +10 on a trend."""
    rng = np.random.default_rng(5)
    answers, _ = _answers(rng, effect=0.0, common_jump=0.10, regions=("north",), per_week=120, wave=0.0,
                          trend=0.002)
    answers["customer_id"] = "x" + answers["customer_id"]
    con = _store(tmp_path, answers)
    res = im.impact(con, metric="csat", change_date=CHANGE.date().isoformat(), treated=None)
    assert res.design == im.ITS and res.treated is None and "no comparison group was given" in res.reason
    assert res.ci_lower <= 10 <= res.ci_upper and res.ci_lower > 0
    slope = res.check["slope_change"]
    assert slope["ci_lower"] <= 0 <= slope["ci_upper"]
    assert "It cannot tell the change apart from anything else" in im.impact_design(res)
    assert res.check["placebo"]["dates"] == 12 and not res.unreliable
    con.close()


def test_the_placebo_check_catches_a_series_the_design_does_not_fit(tmp_path):
    """A strong season and no change at all: a straight trend cannot follow it, and moving the change
    to dates before it was made finds 'effects' far more often than chance."""
    answers, _ = _answers(np.random.default_rng(17), effect=0.0, common_jump=0.0, regions=("north",), per_week=150,
                          wave=0.2)
    con = _store(tmp_path, answers)
    res = im.impact(con, metric="csat", change_date=CHANGE)
    assert res.check["placebo"]["false_alarms"] >= 3 and res.unreliable
    assert "treat its verdict with caution" in im.impact_design(res)
    if res.significant:
        assert "an apparent effect" in im.impact_headline(res)
    con.close()


def test_interrupted_time_series_matches_statsmodels_with_the_larger_of_hac_and_hc3(tmp_path):
    rng = np.random.default_rng(7)
    answers, _ = _answers(rng, effect=0.0, common_jump=0.08, regions=("north",), per_week=50)
    con = _store(tmp_path, answers)
    res = im.impact(con, metric="csat", change_date=CHANGE, treated=None, maxlags=2)
    df = _weekly(answers, None)
    weekly = df.groupby("week").agg(y=("y", "mean"), n=("y", "size")).reset_index()
    weekly["post"] = (weekly["week"] >= 20).astype(float)
    weekly["after"] = (weekly["week"] - 20) * weekly["post"]
    model = smf.wls("y ~ week + post + after", weekly, weights=weekly["n"])
    hac = model.fit(cov_type="HAC", cov_kwds={"maxlags": 2, "use_correction": True})
    hc3 = model.fit(cov_type="HC3")
    row = res.terms.set_index("term").loc["jump at the change"]
    assert row["estimate"] == pytest.approx(hac.params["post"], abs=1e-8)
    se = max(hac.bse["post"], hc3.bse["post"])
    from scipy import stats

    half = stats.t.ppf(0.975, WEEKS - 4) * se
    assert (row["ci_lower"], row["ci_upper"]) == (pytest.approx(hac.params["post"] - half),
                                                  pytest.approx(hac.params["post"] + half))
    assert im.hac_lags(100) == 4 and im.hac_lags(40) == 3
    con.close()


def test_a_segment_without_a_usable_comparison_falls_back_to_the_time_series(tmp_path):
    rng = np.random.default_rng(11)
    answers, people = _answers(rng, effect=0.1, common_jump=0.0, regions=("north", "south"))
    keep = answers["customer_id"].str.startswith("north") | (answers["ts"] < START + timedelta(weeks=2))
    con = _store(tmp_path, answers[keep], people)  # the south answered in the first two weeks only
    res = im.impact(con, metric="csat", change_date=CHANGE, treated="region=north")
    assert res.design == im.ITS and res.treated == "region north"
    assert "too little data on one side of the change" in res.reason
    con.close()


def test_a_drifting_gap_before_the_change_is_said(tmp_path):
    rng = np.random.default_rng(13)
    answers, people = _answers(rng, effect=0.0, common_jump=0.0, drift=0.01, per_week=80)
    con = _store(tmp_path, answers, people)
    res = im.impact(con, metric="csat", change_date=CHANGE, treated="region: north")
    assert res.check["pre_trend"]["p_value"] < 0.05
    assert "were not moving in parallel" in im.impact_design(res)
    con.close()


def test_suppressed_periods_and_the_series(planted):
    con, _, _ = planted
    res = im.impact(con, metric="csat", change_date=CHANGE, treated="region: north", min_group_size=61)
    assert res.series["suppressed"].all() and res.series["value"].isna().all()  # 60 answers a week per region
    shown = im.impact(con, metric="csat", change_date=CHANGE, treated="region: north").series
    assert set(shown["group"]) == {"region north", "region other than north"}
    assert shown.loc[shown["group"] == "region other than north", "expected"].isna().all()


def test_bad_arguments_and_too_little_data(planted):
    con, _, _ = planted
    with pytest.raises(CxInputError, match="change_date"):
        im.impact(con, metric="csat")
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        im.impact(con, change_date=CHANGE, treated="regon: north")
    with pytest.raises(CxInputError, match="did you mean 'north'"):
        im.impact(con, change_date=CHANGE, treated="region: nort")
    with pytest.raises(CxInputError):
        im.impact(con, metric="churn", change_date=CHANGE)
    with pytest.raises(CxDataError, match="at least 3 weeks before 2026-01-01"):
        im.impact(con, metric="csat", change_date="2026-01-01")
    with pytest.raises(CxDataError, match="NPS"):
        im.impact(con, metric="nps", change_date=CHANGE)


def test_defaults_adapt_to_the_store(planted, tmp_path, monkeypatch):
    con, _, _ = planted
    said = []
    monkeypatch.setattr(fitting, "_say", said.append)
    assert im.fit_treated(con, "region: north") == "region: north"
    assert im.fit_treated(con, "plan: basic") is None and "no segment 'plan: basic'" in said[-1]
    with pytest.raises(CxInputError, match="did you mean 'region'"):
        im.fit_treated(con, "regio: north")
    assert im.fit_impact_metric(con, "nps") == "csat" and "no NPS data" in said[-1]
    assert im.fit_impact_metric(con, "csat") == "csat"


def test_difference_in_differences_equals_statsmodels_cluster_robust_wls_on_an_unbalanced_panel(tmp_path):
    """Customers answering 0-3 times a week, unequal groups, a planted +10: every term's estimate,
    standard error and p-value equals statsmodels' WLS on the customer-week means with a dummy per
    week and errors clustered by customer to 1e-8 relative; the estimates equal OLS on the single
    answers, whose standard errors differ only by the small-sample factor (N - 1) / (N - K)."""
    from scipy import stats

    rng = np.random.default_rng(23)
    people = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(150)],
                           "region": ["north"] * 50 + ["south"] * 100})
    rows = []
    for week in range(16):
        for c, region in zip(people["customer_id"], people["region"]):
            for k in range(rng.choice(4, p=[0.5, 0.3, 0.15, 0.05])):
                p = 0.5 + 0.01 * week + (0.1 if region == "north" and week >= 8 else 0.0)
                rows.append({"response_id": f"{c}-{week}-{k}", "customer_id": c, "metric": "csat",
                             "ts": START + timedelta(weeks=week, days=int(rng.integers(0, 7)), hours=9),
                             "score": 5 if rng.random() < p else 1})
    answers = pd.DataFrame(rows)
    con = _store(tmp_path, answers, people)
    change = START + timedelta(weeks=8)
    res = im.impact(con, metric="csat", change_date=change, treated="region: north")
    con.close()
    assert res.design == im.DID and res.ci_lower <= 10 <= res.ci_upper

    df = answers.merge(people, on="customer_id")
    df["y"] = np.where(df["score"] >= 4, 100.0, 0.0)
    df["week"] = (df["ts"] - START).dt.days // 7
    df["treated"] = (df["region"] == "north").astype(int)
    df["did"] = df["treated"] * (df["week"] >= 8)
    df["drift"] = df["treated"] * df["week"]
    cells = df.groupby(["week", "customer_id", "treated", "did", "drift"], as_index=False).agg(y=("y", "mean"),
                                                                                               n=("y", "size"))
    customers = df["customer_id"].nunique()

    def fit(data, term, weights=None):
        formula = f"y ~ C(week) + treated + {term}"
        model = smf.ols(formula, data) if weights is None else smf.wls(formula, data, weights=data[weights])
        return model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["customer_id"])[0]})

    before = cells[cells["week"] < 8]
    expected = {"difference in differences": (fit(cells, "did", "n"), "did"),
                "gap before the change (treated - comparison)": (fit(cells, "did", "n"), "treated"),
                "drift of the gap per week before the change": (fit(before, "drift", "n"), "drift")}
    terms = res.terms.set_index("term")
    for label, (reference, name) in expected.items():
        estimate, se = reference.params[name], reference.bse[name]
        half = stats.t.ppf(0.975, customers - 1) * se
        p = 2 * stats.t.sf(abs(estimate / se), customers - 1)
        row = terms.loc[label]
        assert row["estimate"] == pytest.approx(estimate, rel=1e-8)
        assert (row["ci_upper"] - row["ci_lower"]) / 2 == pytest.approx(half, rel=1e-8)
        assert row["p_value"] == pytest.approx(p, rel=1e-8)

    raw = fit(df, "did")
    k = len(raw.params)
    assert res.estimate == pytest.approx(raw.params["did"], rel=1e-8)
    correction = ((len(cells) - 1) / (len(cells) - k)) / ((len(df) - 1) / (len(df) - k))
    assert (res.ci_upper - res.ci_lower) / 2 == pytest.approx(
        stats.t.ppf(0.975, customers - 1) * raw.bse["did"] * math.sqrt(correction), rel=1e-8)


@pytest.mark.parametrize("period, starts, ends, since", [
    ("week", ["2025-12-29", "2026-01-05", "2026-03-02"], ["2026-01-05", "2026-01-12", "2026-03-09"], [0, 1, 9]),
    ("month", ["2025-11-01", "2026-01-01", "2026-02-01"], ["2025-12-01", "2026-02-01", "2026-03-01"], [0, 2, 3]),
    ("quarter", ["2025-10-01", "2026-01-01", "2026-07-01"], ["2026-01-01", "2026-04-01", "2026-10-01"], [0, 1, 3]),
])
def test_period_ends_and_periods_since_the_first(period, starts, ends, since):
    from cxlib.analysis.impact.data import period_end, periods_since

    p = pd.Series(pd.to_datetime(starts))
    assert period_end(p, period).tolist() == list(pd.to_datetime(ends))
    assert periods_since(p[0], p, period).tolist() == since
