"""The breakdown a segment report uses on a store: numeric attributes cut into ranges (by hand),
the fitted default, the report helpers (which profile charts, cue and breakdown sentences), and
behavioural clusters on stores that hold one kind of data."""

import warnings

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis import segments
from cxlib.analysis.segments import breakdown


@pytest.fixture()
def said(monkeypatch):
    notes = []
    monkeypatch.setattr(breakdown, "_say", notes.append)
    return notes


def _store(tmp_path, columns: dict[str, list], name="b.duckdb"):
    """Customers c00, c01, ... with the given attribute columns (text, as ingestion stores them)."""
    con = cxlib.connect(tmp_path / name, read_only=False)
    n = len(next(iter(columns.values())))
    for column in columns:
        con.execute(f'ALTER TABLE customers ADD COLUMN "{column}" VARCHAR')
    for i in range(n):
        values = [None if columns[c][i] is None else str(columns[c][i]) for c in columns]
        con.execute(f"INSERT INTO customers (customer_id, signup_at, {', '.join(columns)}) "
                    f"VALUES (?, '2024-01-01', {', '.join('?' for _ in columns)})", [f"c{i:02d}", *values])
    return con


def test_numeric_attributes_are_numbers_with_too_many_values_for_a_breakdown(tmp_path):
    con = _store(tmp_path, {
        "tenure": [*range(1, 21), None],                        # 20 numbers and a blank
        "plan": ["a", "b"] * 10 + ["a"],                        # a breakdown as it is
        "city": [f"city{i}" for i in range(21)],               # text
        "score": [1, 2, 3, 4, 5] * 4 + [1],                     # numbers, but only five values
        "charges": [f"{18.25 + i * 3.5:.2f}" for i in range(21)],
    })
    assert segments.numeric_attributes(con) == {"tenure": (20, 1), "charges": (21, 0)}


def test_numeric_ranges_by_hand(tmp_path):
    con = _store(tmp_path, {"tenure": [*range(1, 21), None]})
    r = segments.numeric_ranges(con, "tenure").set_index("customer_id")["segment"]
    # quartiles of 1..20: 1-5, 6-10, 11-15, 16-20; each labelled by its lowest and highest value
    assert r["c00"] == "1 to 5" and r["c04"] == "1 to 5" and r["c05"] == "6 to 10"
    assert r["c14"] == "11 to 15" and r["c19"] == "16 to 20" and r["c20"] == "(none)"
    assert r.value_counts().to_dict() == {"1 to 5": 5, "6 to 10": 5, "11 to 15": 5, "16 to 20": 5, "(none)": 1}
    assert segments.range_labels(r.reset_index()) == ["1 to 5", "6 to 10", "11 to 15", "16 to 20"]
    two = segments.numeric_ranges(con, "tenure", bins=2).set_index("customer_id")["segment"]
    assert two["c09"] == "1 to 10" and two["c10"] == "11 to 20"


def test_numeric_ranges_with_decimals_ties_and_no_spread(tmp_path):
    con = _store(tmp_path, {"charges": ["18.25", "20.5", "99.99", "1200", "7", "7.5", "30", "31"],
                            "flat": ["0"] * 6 + ["1", "2"], "same": ["3"] * 8})
    r = segments.numeric_ranges(con, "charges").set_index("customer_id")["segment"]
    assert r["c03"] == "99.99 to 1,200" and r["c04"] == "7 to 7.50"
    # six zeros: the quartile edges repeat, so the ranges merge into fewer
    flat = segments.numeric_ranges(con, "flat")
    assert segments.range_labels(flat) == ["0 to 0", "1 to 2"]
    with pytest.raises(cxlib.CxDataError, match="fewer than two different numbers"):
        segments.numeric_ranges(con, "same")
    with pytest.raises(cxlib.CxInputError, match="bins"):
        segments.numeric_ranges(con, "charges", bins=1)
    with pytest.raises(cxlib.CxInputError, match="did you mean 'charges'"):
        segments.numeric_ranges(con, "charge")


def test_fit_profile_breakdown(tmp_path, said):
    con = _store(tmp_path, {"tenure": list(range(30)), "monthly_charges": [f"{20 + i * 1.5}" for i in range(30)]})
    # no attribute with 2-12 groups: the default 'plan' becomes ranges of a numeric attribute, said so
    name, by = segments.fit_profile_breakdown(con, "plan")
    assert name == "monthly_charges" and isinstance(by, pd.DataFrame) and len(by) == 30
    assert said[-1].startswith("Segments are ranges of 'monthly_charges' (20 to 30.50, ")
    assert "instead of 'plan'" in said[-1]
    # a numeric attribute asked for by name: its ranges, said so
    name, by = segments.fit_profile_breakdown(con, "tenure")
    # quartile edges of 0..29: 7.25, 14.5, 21.75
    assert name == "tenure" and segments.range_labels(by) == ["0 to 7", "8 to 14", "15 to 21", "22 to 29"]
    assert said[-1] == ("'tenure' is a number with 30 different values, so segments are its ranges of about equal "
                        "size: 0 to 7, 8 to 14, 15 to 21, 22 to 29.")
    assert segments.fit_profile_breakdown(con, "none") == (None, None)
    with pytest.raises(cxlib.CxInputError, match="did you mean 'tenure'"):
        segments.fit_profile_breakdown(con, "tenur")
    # an attribute with a few groups is used as it is; and it is preferred to ranges for the default
    con.execute("ALTER TABLE customers ADD COLUMN plan VARCHAR")
    con.execute("UPDATE customers SET plan = CASE WHEN customer_id < 'c10' THEN 'basic' ELSE 'plus' END")
    assert segments.fit_profile_breakdown(con, "plan") == ("plan", "plan")
    assert segments.fit_profile_breakdown(con, "Plan") == ("plan", "plan")


def test_fit_profile_breakdown_without_attributes_and_by_nps_group(tmp_path, said):
    con = cxlib.connect(tmp_path / "n.duckdb", read_only=False)
    con.execute("INSERT INTO customers (customer_id, signup_at) VALUES ('A', '2024-01-01'), ('B', '2024-01-01')")
    assert segments.fit_profile_breakdown(con, "plan") == (None, None)
    assert said == []  # defaults.fit_segment says it (one sentence), not this function
    con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score) VALUES "
                "('r1', 'A', '2024-02-01', 'nps', 10)")
    name, by = segments.fit_profile_breakdown(con, "nps_group")
    assert name == "nps_group" and by.set_index("customer_id")["segment"].to_dict() == {"A": "promoter", "B": None}
    assert segments.fit_profile_breakdown(con, "plan") == (None, None)  # NPS groups are never the default


def test_profile_by_ranges_has_churn_by_range(tmp_path):
    """Churn per range from each member's churn status: 10 subscribers, the short-tenure half churned."""
    con = _store(tmp_path, {"tenure": list(range(1, 21))})
    for i in range(20):
        con.execute("INSERT INTO subscriptions (customer_id, plan, started_at, ended_at) VALUES (?, 'basic', "
                    "'2024-01-01', ?)", [f"c{i:02d}", "2024-03-01" if i < 10 else None])
    ranges = segments.numeric_ranges(con, "tenure", bins=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxlib.CxWarning)
        p = segments.segment_profile(con, by=ranges, churn_definition="contractual", min_group_size=5)
    churn = p[p["metric"] == "churn_rate"].set_index("segment")
    assert churn.loc["1 to 10", "value"] == 1.0 and churn.loc["11 to 20", "value"] == 0.0
    assert churn.loc["1 to 10", "n"] == 10 and churn.loc["1 to 10", "rest_value"] == 0.0
    assert segments.profile_chart_metrics(p) == ["churn_rate"]  # no NPS, no revenue: the churn chart


def _profile(rows):
    return pd.DataFrame(rows, columns=["segment", "metric", "value", "suppressed"])


def test_profile_chart_metrics():
    both = _profile([("a", "nps", 10.0, False), ("b", "nps", -5.0, False), ("a", "revenue_per_customer", 3.0, False),
                     ("b", "revenue_per_customer", 0.0, False), ("a", "churn_rate", 0.2, False),
                     ("b", "churn_rate", 0.3, False)])
    assert segments.profile_chart_metrics(both) == ["nps", "revenue_per_customer"]
    no_spend = _profile([("a", "nps", np.nan, False), ("b", "nps", np.nan, False),
                         ("a", "revenue_per_customer", 0.0, False), ("b", "revenue_per_customer", 0.0, False),
                         ("a", "churn_rate", 0.2, False), ("b", "churn_rate", 0.3, False)])
    assert segments.profile_chart_metrics(no_spend) == ["churn_rate"]
    one_shown = _profile([("a", "nps", 10.0, False), ("b", "nps", np.nan, True)])
    assert segments.profile_chart_metrics(one_shown) == []  # one segment is no comparison
    with pytest.raises(cxlib.CxInputError, match="segment_profile"):
        segments.profile_chart_metrics(pd.DataFrame({"segment": ["a"]}))


def test_cues_and_breakdown_headlines(tmp_path):
    cols = ["segment", "kind", "value", "reach", "overall_reach", "lift", "cue", "suppressed"]
    assert segments.cues_headline(pd.DataFrame(columns=cols)) == (
        "There is no touchpoint or channel use to compare: these customers have no events in this store.")
    hidden = pd.DataFrame([["x", "channel", None, np.nan, np.nan, np.nan, None, True]], columns=cols)
    assert segments.cues_headline(hidden, min_lift=1.5).startswith("No segment uses a touchpoint or channel clearly "
                                                                   "more than average (1.5x or more, with its 95% ")
    found = pd.DataFrame([["a", "channel", "app", 0.5, 0.2, 2.0, "uses app 2.0x", False],
                          ["a", "touchpoint", "chat", 0.5, 0.2, 1.4, "uses chat 1.4x", False],
                          ["b", "channel", "web", 0.9, 0.5, 1.3, "uses web 1.3x", False]], columns=cols)
    assert segments.cues_headline(found) == ("3 cues in 2 segments: where a segment uses a touchpoint or channel at "
                                             "least 1.2x as much as average, its 95% interval above 1.")
    con = _store(tmp_path, {"tenure": list(range(1, 21))})
    con.execute("INSERT INTO orders (order_id, customer_id, ts, amount) VALUES ('o1', 'c00', '2024-05-02 10:00', 5)")
    assert segments.breakdown_headline(con, None) == "Data up to 2024-05-02; no customer attribute to segment by"
    assert segments.breakdown_headline(con, "region", "region") == "Data up to 2024-05-02; segments by region"
    ranges = segments.numeric_ranges(con, "tenure")
    assert segments.breakdown_headline(con, "tenure", ranges) == "Data up to 2024-05-02; segments by tenure, in 4 ranges"


# ---------------------------------------------------------------- clusters on one kind of data


def _orders_store(tmp_path, n=40, seed=2):
    rng = np.random.default_rng(seed)
    con = cxlib.connect(tmp_path / "o.duckdb", read_only=False)
    rows = []
    for i in range(n):
        con.execute("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')", [f"k{i:02d}"])
        heavy = i < n // 4
        for j in range(int(rng.integers(6, 10) if heavy else rng.integers(1, 3))):
            rows.append((f"o{i}-{j}", f"k{i:02d}", f"2024-0{1 + j % 6}-1{j % 9}",
                         float(rng.uniform(80, 120) if heavy else rng.uniform(5, 20))))
    con.executemany("INSERT INTO orders (order_id, customer_id, ts, amount) VALUES (?, ?, ?, ?)", rows)
    return con


def test_clusters_on_orders_alone_say_which_features_they_used(tmp_path):
    con = _orders_store(tmp_path)
    assert segments.cluster_features_used(con) == ["orders", "revenue"]
    r = segments.behaviour_clusters(con, k=2)
    assert r.features_used == ("orders", "revenue") and r.features_text == "orders, spend"
    assert segments.clusters_headline(r).startswith(f"2 clusters with a strong structure (mean silhouette "
                                                    f"{r.silhouette:.2f}). Refitted on 20 bootstrap resamples")
    assert segments.clusters_headline(r).endswith("Found from the 2 features that vary in this store: orders, spend.")
    heavy = r.assignments.set_index("customer_id")["segment"]
    assert heavy[[f"k{i:02d}" for i in range(10)]].nunique() == 1  # the heavy buyers are one cluster
    with pytest.raises(cxlib.CxInputError, match="behaviour_clusters"):
        segments.clusters_headline("clusters")


def test_clusters_use_numeric_attributes_and_say_when_nothing_varies(tmp_path):
    con = _store(tmp_path, {"tenure": [*range(1, 21)] * 2, "monthly_charges": [f"{20 + i}" for i in range(40)]})
    assert segments.cluster_features_used(con) == ["tenure", "monthly_charges"]
    r = segments.behaviour_clusters(con, k=2)
    assert r.features_text == "tenure, monthly charges"
    bare = cxlib.connect(tmp_path / "bare.duckdb", read_only=False)
    bare.executemany("INSERT INTO customers (customer_id, signup_at) VALUES (?, '2024-01-01')",
                     [(f"s{i}",) for i in range(30)])
    bare.executemany("INSERT INTO subscriptions (customer_id, plan, started_at) VALUES (?, 'basic', '2024-01-01')",
                     [(f"s{i}",) for i in range(30)])
    assert segments.cluster_features_used(bare) == []
    with pytest.raises(cxlib.CxDataError, match="nothing to cluster on"):
        segments.behaviour_clusters(bare)
    assert segments.features_in_words(["events", "channel_app", "channel_web", "stage_purchase"]) == (
        "activity (events), the channel mix (app, web), the journey-stage mix (purchase)")
