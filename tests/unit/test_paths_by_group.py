"""variants, step_matrix, paths and journey_map by a customer attribute or NPS group, and the differential step
matrix (step_matrix_diff) on a planted difference: hand-computed cases (docs/metrics.md, Paths, Journey map),
and a run on the sample store."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

import cxlib
from cxlib.analysis.journey import journey_map, paths, step_matrix, step_matrix_diff, variants
from cxlib.errors import CxDataError, CxInputError
from cxlib.store import refresh_derived

T0 = datetime(2024, 1, 1)
A, B, C, D = "ad_click", "home_page", "checkout", "chat"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def make_store(tmp_path, journeys, surveys=()):
    """journeys = [(customer, region, [touchpoints one hour apart])]; surveys = [(customer, nps score)]."""
    con = cxlib.connect(tmp_path / "t.duckdb", read_only=False)
    con.execute("ALTER TABLE customers ADD COLUMN region VARCHAR")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(c, T0, r) for c, r, _ in journeys])
    con.executemany(
        "INSERT INTO events (customer_id, ts, touchpoint, channel, session_id) VALUES (?, ?, ?, 'web', NULL)",
        [(c, at(h), t) for c, _, tps in journeys for h, t in enumerate(tps)],
    )
    for i, (cust, score) in enumerate(surveys):
        con.execute("INSERT INTO survey_responses (response_id, customer_id, ts, metric, score, touchpoint, channel, "
                    "comment) VALUES (?, ?, ?, 'nps', ?, NULL, NULL, NULL)", [f"r{i}", cust, at(100), score])
    refresh_derived(con)
    return con


# north: 10 x A B C and 2 x A D C; south: 2 x A B C and 10 x A D C (the planted difference is at position 2)
JOURNEYS = ([(f"n{i:02d}", "north", [A, B, C]) for i in range(10)] + [(f"n{i:02d}", "north", [A, D, C]) for i in (10, 11)]
            + [(f"s{i:02d}", "south", [A, B, C]) for i in (0, 1)] + [(f"s{i:02d}", "south", [A, D, C]) for i in range(2, 12)])


@pytest.fixture
def con(tmp_path):
    con = make_store(tmp_path, JOURNEYS, surveys=[(f"n{i:02d}", 10) for i in range(12)]
                     + [(f"s{i:02d}", 2) for i in range(12)])
    yield con
    con.close()


def test_variants_by_region(con):
    out = variants(con, by="region", min_group_size=1)
    assert list(out.columns[:2]) == ["segment", "variant"]
    rows = {(r.segment, tuple(r.variant)): (int(r.customers), r.share) for r in out.itertuples()}
    assert rows == {("north", (A, B, C)): (10, pytest.approx(10 / 12)), ("north", (A, D, C)): (2, pytest.approx(2 / 12)),
                    ("south", (A, D, C)): (10, pytest.approx(10 / 12)), ("south", (A, B, C)): (2, pytest.approx(2 / 12))}
    # without by: today's frame, no segment column
    plain = variants(con, min_group_size=1)
    assert "segment" not in plain.columns and [int(v) for v in plain["customers"]] == [12, 12]
    # suppression within each segment: the 2-customer variant is hidden, and its complement with it
    hid = variants(con, by="region", min_group_size=3)
    assert hid["suppressed"].all()
    # top applies per segment
    assert len(variants(con, by="region", top=1, min_group_size=1)) == 2


def test_step_matrix_by_nps_group(con):
    out = step_matrix(con, by="nps_group", max_steps=3, min_group_size=1)
    pro = out[out["segment"] == "promoter"].set_index(["position", "node"])["customers"]
    det = out[out["segment"] == "detractor"].set_index(["position", "node"])["customers"]
    assert int(pro[(2, B)]) == 10 and int(pro[(2, D)]) == 2 and int(det[(2, D)]) == 10
    assert out.groupby(["segment", "position"])["share"].sum().tolist() == pytest.approx([1.0] * 6)
    assert "segment" not in step_matrix(con, max_steps=3, min_group_size=1).columns


def test_paths_by_region(con):
    out = paths(con, A, direction="from", steps=1, by="region", min_group_size=1)
    rows = {(r.segment, tuple(r.path)): int(r.customers) for r in out.itertuples()}
    assert rows == {("north", (B,)): 10, ("north", (D,)): 2, ("south", (D,)): 10, ("south", (B,)): 2}


def test_journey_map_by_region(con):
    out = journey_map(con, by="region", min_group_size=1)
    stage_of = dict(con.execute("SELECT touchpoint, stage FROM touchpoint_stages").fetchall())
    for seg in ("north", "south"):
        part = out[out["segment"] == seg].set_index("stage")
        assert len(part) == 5
        for stage in part.index:  # reach = the segment's customers with an event of the stage
            expected = sum(1 for _, r, tps in JOURNEYS if r == seg and any(stage_of.get(t) == stage for t in tps))
            assert int(part.loc[stage, "customers"]) == expected
            assert part.loc[stage, "share"] == pytest.approx(expected / 12) or expected == 0
    plain = journey_map(con, min_group_size=1)
    assert "segment" not in plain.columns
    both = out.groupby("stage", sort=False)["customers"].sum()
    assert both.loc[plain["stage"]].astype(int).tolist() == plain["customers"].astype(int).tolist()


def test_step_matrix_diff_flags_the_planted_difference(con):
    out = step_matrix_diff(con, groups=("north", "south"), by="region", max_steps=3, min_group_size=1)
    assert out.attrs["groups"] == ("north", "south") and out.attrs["n"] == (12, 12)
    cell = out.set_index(["position", "node"])
    assert cell.loc[(2, B), "diff"] == pytest.approx(10 / 12 - 2 / 12)
    assert cell.loc[(2, D), "diff"] == pytest.approx(2 / 12 - 10 / 12)
    z, p = proportions_ztest([10, 2], [12, 12])
    assert cell.loc[(2, B), "z"] == pytest.approx(z) and cell.loc[(2, B), "p_value"] == pytest.approx(p)
    # no variance where both groups are all in: p = 1
    assert cell.loc[(1, A), "p_value"] == 1.0 and np.isnan(cell.loc[(1, A), "z"])
    _, adj, _, _ = multipletests(out["p_value"].to_numpy(), method="fdr_bh")
    assert out["p_adjusted"].tolist() == pytest.approx(adj.tolist())
    assert out.loc[out["significant"], ["position", "node"]].values.tolist() == [[2, D], [2, B]]  # by node name


def test_step_matrix_diff_nps_groups_and_suppression(con):
    out = step_matrix_diff(con, groups=("promoter", "detractor"), by="nps_group", max_steps=3, min_group_size=1)
    assert out.loc[out["significant"], "node"].tolist() == [D, B]
    # min_group_size 3: north's D cell (2) is hidden, and B with it (complement); so position 2 is hidden
    hid = step_matrix_diff(con, groups=("north", "south"), by="region", max_steps=3, min_group_size=3)
    pos2 = hid[hid["position"] == 2]
    assert pos2["suppressed"].all() and pos2["diff"].isna().all() and not pos2["significant"].any()
    assert not hid.loc[hid["position"] == 1, "suppressed"].any()


def test_step_matrix_diff_input_errors(con):
    with pytest.raises(CxInputError, match="did you mean"):
        step_matrix_diff(con, groups=("nort", "south"), by="region")
    with pytest.raises(CxInputError, match="did you mean"):
        step_matrix_diff(con, groups=("promoter", "detractor"), by="regoin")
    with pytest.raises(CxInputError):
        step_matrix_diff(con, groups=("north",), by="region")
    with pytest.raises(CxDataError):
        step_matrix_diff(con, groups=("passive", "promoter"), by="nps_group")


def test_sample_store_by_group(sample_con):
    base = step_matrix(sample_con, max_steps=4)
    byg = step_matrix(sample_con, max_steps=4, by="nps_group", min_group_size=1)
    assert byg.groupby(["segment", "position"])["share"].sum().to_numpy() == pytest.approx(1.0)
    # segments add up to the matrix without by
    tot = byg.groupby(["position", "node"])["customers"].sum()
    shown = base[~base["suppressed"]].set_index(["position", "node"])["customers"]
    assert (tot.loc[shown.index].astype(int) == shown.astype(int)).all()
    out = step_matrix_diff(sample_con, groups=("detractor", "promoter"), by="nps_group", max_steps=4)
    shown = out[~out["suppressed"]]
    assert shown["p_adjusted"].ge(shown["p_value"] - 1e-12).all()
    assert set(variants(sample_con, by="nps_group")["segment"]) <= {"promoter", "passive", "detractor", "no_response"}
    jm = journey_map(sample_con, by="nps_group")
    assert len(jm) == 5 * jm["segment"].nunique()
