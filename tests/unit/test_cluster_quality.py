"""How good behavioural clusters are: the mean silhouette in Kaufman & Rousseeuw's words, Hennig's
bootstrap Jaccard stability (by hand on a tiny case, on planted blobs, on uniform noise), and the
headline that says both."""

import math

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib.analysis import segments
from cxlib.analysis.segments.clusters import best_jaccard, cluster_quality, cluster_stability, stability_reading


@pytest.mark.parametrize(("silhouette", "quality"), [
    (0.71, "strong"), (0.70, "reasonable"), (0.51, "reasonable"), (0.50, "weak"), (0.26, "weak"),
    (0.25, "no substantial structure"), (0.18, "no substantial structure"), (-0.1, "no substantial structure"),
    (math.nan, "unknown"),
])
def test_quality_follows_kaufman_and_rousseeuw(silhouette, quality):
    assert cluster_quality(silhouette) == quality


@pytest.mark.parametrize(("jaccard", "reading"), [
    (0.9, "highly stable"), (0.85, "highly stable"), (0.8, "stable"), (0.75, "stable"),
    (0.7, "a pattern, members unsure"), (0.6, "a pattern, members unsure"), (0.59, "not to be trusted"),
    (math.nan, ""),
])
def test_stability_reading_follows_hennig(jaccard, reading):
    assert stability_reading(jaccard) == reading


def test_best_jaccard_by_hand():
    # original 0 = {0, 1, 2}, 1 = {3, 4, 5}; refit 5 = {0, 1}, 6 = {2, 3, 4, 5}
    got = best_jaccard(np.array([0, 0, 0, 1, 1, 1]), np.array([5, 5, 6, 6, 6, 6]))
    # cluster 0: with 5, 2 shared of 3 in either -> 2/3; with 6, 1 shared of 6 -> 1/6
    # cluster 1: with 6, 3 shared of 4 in either -> 3/4
    assert got.to_dict() == pytest.approx({0: 2 / 3, 1: 3 / 4})
    assert best_jaccard(np.array([1, 1, 2]), np.array([7, 7, 8])).tolist() == [1.0, 1.0]  # same partition


def _blobs(n_per=60, seed=1):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [10, 0, 10], [0, 10, 10]], dtype=float)  # apart on every axis
    x = np.concatenate([c + rng.normal(size=(n_per, 3)) for c in centres])
    return x, np.repeat([0, 1, 2], n_per)


def test_planted_blobs_are_highly_stable_and_noise_is_not():
    x, truth = _blobs()
    jaccard, rand = cluster_stability(x, truth, 3, runs=10, seed=0)
    assert (jaccard["jaccard_mean"] > 0.9).all() and (jaccard["dissolved_share"] == 0).all()
    assert len(rand) == 10 and min(rand) > 0.9
    noise = np.random.default_rng(2).uniform(size=(300, 10))
    from sklearn.cluster import KMeans
    labels = KMeans(4, n_init=10, random_state=0).fit_predict(noise)
    jaccard, rand = cluster_stability(noise, labels, 4, runs=10, seed=0)
    assert (jaccard["jaccard_mean"] < 0.6).all() and np.mean(rand) < 0.5
    assert (jaccard["dissolved_share"] > 0).any()
    empty, no_rand = cluster_stability(x, truth, 3, runs=0)
    assert empty.empty and no_rand == []


def _attribute_store(tmp_path, x: np.ndarray):
    """Customers c000, ... with numeric attributes a, b, c (no events): clustered on them alone."""
    con = cxlib.connect(tmp_path / "q.duckdb", read_only=False)
    for column in ("a", "b", "c"):
        con.execute(f'ALTER TABLE customers ADD COLUMN "{column}" VARCHAR')
    con.executemany("INSERT INTO customers (customer_id, signup_at, a, b, c) VALUES (?, '2024-01-01', ?, ?, ?)",
                    [(f"c{i:03d}", *(f"{v:.4f}" for v in row)) for i, row in enumerate(x)])
    return con


def test_clusters_on_planted_blobs_say_strong_and_stable(tmp_path):
    x, _ = _blobs(n_per=40)
    con = _attribute_store(tmp_path, x)
    r = segments.behaviour_clusters(con, k_range=(2, 5), stability_runs=10)
    assert r.k == 3 and r.quality == "strong"
    assert r.stability["segment"].tolist() == ["cluster 1", "cluster 2", "cluster 3"]
    assert (r.stability["jaccard_mean"] > 0.9).all() and (r.stability["reading"] == "highly stable").all()
    assert r.adjusted_rand > 0.9 and r.stability_runs == 10
    text = segments.clusters_headline(r)
    assert text.startswith(f"3 clusters with a strong structure (mean silhouette {r.silhouette:.2f}). "
                           "Refitted on 10 bootstrap resamples (Hennig's mean Jaccard): cluster 1 highly stable (")
    assert "not natural groups" not in text and "Found from the 3 features" in text
    none = segments.behaviour_clusters(con, k=3, stability_runs=0)
    assert none.stability.empty and math.isnan(none.adjusted_rand) and "Refitted" not in segments.clusters_headline(none)
    with pytest.raises(cxlib.CxInputError, match="stability_runs"):
        segments.behaviour_clusters(con, k=3, stability_runs=-1)
    with pytest.raises(cxlib.CxInputError, match="stability_sample"):
        segments.behaviour_clusters(con, k=3, stability_sample=5)


def test_clusters_on_noise_say_no_structure_and_unstable(tmp_path):
    con = _attribute_store(tmp_path, np.random.default_rng(3).uniform(size=(150, 3)))
    r = segments.behaviour_clusters(con, k=4, stability_runs=10)
    assert r.quality in ("weak", "no substantial structure") and r.silhouette < 0.4
    assert r.stability["jaccard_mean"].mean() < 0.75
    assert "treat them as a convenient split of a continuum, not natural groups." in segments.clusters_headline(r)


def test_stability_on_a_sample_of_the_fitted_customers_and_suppressed_clusters_blank(tmp_path):
    x, _ = _blobs(n_per=40)
    x = np.concatenate([x, [[30.0, 30.0, 30.0]] * 3])  # a planted cluster of three customers
    con = _attribute_store(tmp_path, x)
    r = segments.behaviour_clusters(con, k=4, stability_runs=5, stability_sample=60, min_group_size=5)
    hidden = r.summary.loc[r.summary["suppressed"], "segment"].tolist()
    assert hidden  # the three-customer cluster (and its complement) are suppressed
    blank = r.stability.set_index("segment").loc[hidden]
    assert blank["jaccard_mean"].isna().all() and (blank["reading"] == "").all()
    assert r.stability.set_index("segment").drop(index=hidden)["jaccard_mean"].notna().all()
    assert all(f"{h} " not in segments.clusters_headline(r).split("Found from")[0] for h in hidden)


def test_sample_store_clusters_are_stated_as_weak(sample_con):
    r = segments.behaviour_clusters(sample_con)
    assert r.quality == "no substantial structure" and r.silhouette <= 0.25
    assert "not natural groups" in segments.clusters_headline(r)
    assert isinstance(r.stability, pd.DataFrame) and len(r.stability) == r.k


def test_stability_is_seeded():
    x, truth = _blobs(n_per=20)
    noisy = truth.copy()
    noisy[::7] = (noisy[::7] + 1) % 3  # a clustering the refits disagree with a little
    a = cluster_stability(x, noisy, 3, runs=5, seed=4)
    b = cluster_stability(x, noisy, 3, runs=5, seed=4)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert a[1] == b[1]
    assert (a[0]["jaccard_mean"] < 1).all()  # the refits find the blobs, not the relabelled points
