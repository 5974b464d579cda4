"""Behavioural clusters: per-customer features built in DuckDB, KMeans with k chosen by silhouette, each
cluster described in plain words, with how good the clustering is (silhouette read by Kaufman &
Rousseeuw's thresholds) and how stable each cluster is (Hennig's bootstrap Jaccard).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import customer_features
from cxlib.analysis.segments.profile import _ONE_TICK, _cutoff, _members, _segment_table
from cxlib.errors import CxDataError, CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size

_COUNT_FEATURES = {
    "events": "activity (events)",
    "channels_used": "channels used",
    "channel_switches": "channel hand-offs",
    "stages_reached": "journey stages reached",
    "orders": "orders",
    "revenue": "spend",
    "tickets": "support tickets",
    "ticket_contacts": "support contacts",
}


_LEVEL_FEATURES = {
    "mean_resolution_hours": "ticket resolution time",
    "nps_score": "NPS rating",
    "mean_csat": "CSAT rating",
    "mean_ces": "ease rating (CES)",
}


_WORDS = {  # how to say "above / below average" for each count feature; rates and ratings: higher/lower
    "events": ("more", "less"),
    "revenue": ("more", "less"),
    "channels_used": ("more", "fewer"),
    "channel_switches": ("more", "fewer"),
    "stages_reached": ("more", "fewer"),
    "orders": ("more", "fewer"),
    "tickets": ("more", "fewer"),
    "ticket_contacts": ("more", "fewer"),
}


@dataclass(frozen=True)
class BehaviourClusters:
    """The result of `behaviour_clusters`.

    k, silhouette: the number of clusters and its mean silhouette.
    quality: the mean silhouette in words (`cluster_quality`): 'strong', 'reasonable', 'weak',
      'no substantial structure' (or 'unknown' without a silhouette).
    stability: segment, jaccard_mean, dissolved_share (share of refits with Jaccard <= 0.5), reading
      (`stability_reading`), one row per cluster in summary order, a suppressed cluster's values
      blank (`cluster_stability`); empty when `stability_runs` = 0.
    adjusted_rand: mean adjusted Rand index between the fit and each refit (NaN without refits).
    stability_runs: how many bootstrap refits the stability comes from.
    selection: k, silhouette for every k tried (one row when k was given).
    summary: segment ('cluster 1' is the largest), customers, share, description, then
      revenue_per_customer and NPS / CSAT / CES with intervals, suppressed.
    features: segment, feature, label, cluster_mean, overall_mean, z (the cluster's mean of the
      scaled feature: how many overall SDs it sits from the average).
    assignments: customer_id, segment (customer-level: for exports, not for stakeholders).
    features_used: the features the clustering used (those that vary in this store), by name.
    """

    k: int
    silhouette: float
    selection: pd.DataFrame
    summary: pd.DataFrame
    features: pd.DataFrame
    assignments: pd.DataFrame
    features_used: tuple[str, ...] = ()
    quality: str = "unknown"
    stability: pd.DataFrame = field(default_factory=pd.DataFrame)
    adjusted_rand: float = math.nan
    stability_runs: int = 0

    @property
    def features_text(self) -> str:
        """The features used, in words (channel and stage shares summed up as a mix)."""
        return features_in_words(self.features_used)


def _cluster_matrix(con, cutoff) -> tuple[pd.DataFrame, dict[str, str]]:
    """The raw per-customer features (customer_id index) and their plain-word labels."""
    f = customer_features(con, as_of=cutoff).set_index("customer_id")
    mix = sql.run(con, "cluster_mix", {"as_of": cutoff})
    ratings = sql.run(con, "cluster_ratings", {"as_of": cutoff}).set_index("customer_id")
    labels = dict(_COUNT_FEATURES) | dict(_LEVEL_FEATURES)
    cols = [c for c in _COUNT_FEATURES if c != "stages_reached"] + ["mean_resolution_hours", "nps_score"]
    x = f[cols].astype(float).join(ratings.astype(float))
    for name, share in _mix_shares(mix, x.index).items():
        kind, value = name.split("_", 1)
        x[name] = share
        labels[name] = f"{value} channel use" if kind == "channel" else f"{value}-stage activity"
    stage_cols = [c for c in x.columns if c.startswith("stage_")]
    x["stages_reached"] = (x[stage_cols] > 0).sum(axis=1).astype(float) if stage_cols else 0.0
    for column, values in _numeric_attributes(con).items():
        x[column] = values.reindex(x.index).astype(float)
        labels[column] = column.replace("_", " ")
    return x, labels


def _mix_shares(mix: pd.DataFrame, index: pd.Index) -> dict[str, np.ndarray]:
    """'channel_<value>' and 'stage_<value>' (sorted by kind, then value): each customer's share of
    their events on that channel or stage, in the order of `index` (0 without events). `mix` is
    cluster_mix.sql's long counts; a customer's events are the sum of their channel counts."""
    rows = index.get_indexer(mix["customer_id"])
    events = mix["events"].to_numpy(dtype=float)
    is_channel = (mix["kind"] == "channel").to_numpy()
    total = np.bincount(rows[is_channel & (rows >= 0)], weights=events[is_channel & (rows >= 0)],
                        minlength=len(index))
    shares = {}
    for kind in ("channel", "stage"):
        mine = (mix["kind"] == kind).to_numpy() & (rows >= 0) & mix["value"].notna().to_numpy()
        codes, values = pd.factorize(mix["value"][mine], sort=True)
        wide = np.zeros((len(index), len(values)))
        wide[rows[mine], codes] = events[mine] / total[rows[mine]]
        shares |= {f"{kind}_{value}": wide[:, j] for j, value in enumerate(values)}
    return shares


def _numeric_attributes(con) -> dict[str, pd.Series]:
    """Customer attributes that are numbers (a telco export's tenure, monthly charges), by customer."""
    from cxlib.analysis.segments.breakdown import numeric_attributes

    columns = [c for c in numeric_attributes(con) if c not in _COUNT_FEATURES and c not in _LEVEL_FEATURES]
    if not columns:
        return {}
    slot = sql.Ident(", ".join(sql.checked_column(con, "customers", c) for c in columns))
    df = sql.run(con, "voc_customer_attributes", {}, {"columns": slot}).set_index("customer_id")
    return {c: pd.to_numeric(df[c], errors="coerce") for c in columns}


def features_in_words(columns) -> str:
    """'orders, spend' or 'activity (events), channels used, the channel mix (app, web)': the
    clustering features in words, the share of events per channel and per stage summed up."""
    labels = dict(_COUNT_FEATURES) | dict(_LEVEL_FEATURES)
    words, channels, stages = [], [], []
    for c in columns:
        if c.startswith("channel_") and c not in labels:
            channels.append(c.removeprefix("channel_"))
        elif c.startswith("stage_") and c not in labels:
            stages.append(c.removeprefix("stage_"))
        else:
            words.append(labels.get(c, c.replace("_", " ")))
    if channels:
        words.append(f"the channel mix ({', '.join(channels)})")
    if stages:
        words.append(f"the journey-stage mix ({', '.join(stages)})")
    return ", ".join(words) if words else "no features"


def cluster_features_used(con: duckdb.DuckDBPyConnection, *, as_of=None) -> list[str]:
    """The behavioural features that vary between customers in this store (what
    `behaviour_clusters` would cluster on): none on a store of subscriptions alone, orders and
    spend on one of orders alone, activity and the channel mix on a clickstream."""
    raw, _ = _cluster_matrix(con, _cutoff(con, as_of))
    return list(_scale(raw).columns)


def _scale(x: pd.DataFrame) -> pd.DataFrame:
    """Winsorised z-scores: missing values -> the column mean (neutral), each column clipped to
    its 1st-99th percentile (a few extreme customers do not make their own cluster), then
    standardised (population SD); columns without variation are dropped."""
    t = x.loc[:, x.notna().any()]
    t = t.fillna(t.mean())
    t = t.clip(t.quantile(0.01), t.quantile(0.99), axis=1)
    sd = t.std(ddof=0)
    t = t.loc[:, sd > 1e-12]
    return (t - t.mean()) / t.std(ddof=0)


def behaviour_clusters(
    con: duckdb.DuckDBPyConnection,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (3, 8),
    seed: int = 0,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
    silhouette_sample: int = 5000,
    fit_sample: int = 20_000,
    stability_runs: int = 20,
    stability_sample: int = 5000,
) -> BehaviourClusters:
    """Behavioural clusters of customers, each described by what sets it apart.

    *Definition*: per customer signed up by `as_of` (features from DuckDB: customer_features,
    cluster_mix.sql, cluster_ratings.sql): events, channels used, channel hand-offs, journey
    stages reached, orders, spend, tickets, support contacts, mean resolution hours, NPS, mean
    CSAT and CES, the share of the customer's events on each channel and each stage, and the
    customer attributes that are numbers (`numeric_attributes`: a telco export's tenure or
    monthly charges). Only the features that vary in the store are used (`features_used`): a
    store of orders alone is clustered on orders and spend, a clickstream on activity and the
    channel mix; CxDataError when none varies.
    A missing rating or resolution time takes the overall mean (neutral); each feature is
    clipped to its 1st-99th percentile and standardised (z-score); constant features are
    dropped. scikit-learn KMeans (n_init=10, random_state=`seed`: deterministic); with more
    than `fit_sample` customers it is fitted on a seeded random sample of that many and every
    customer is then assigned to the nearest centre. The sample is sized by the precision of
    the centres, not by the number of customers: with 20,000 customers a cluster of 2% still
    has 400 members, so each centre coordinate (in SD units) is known to about 1/sqrt(400) =
    0.05 SD, well below the 0.3 SD a description needs; a store up to `fit_sample` customers
    is clustered whole.
    k: given, or the k in `k_range` (inclusive) with the highest mean silhouette (scikit-learn
    ``silhouette_score``, Euclidean, on a seeded sample of at most `silhouette_sample`
    customers); ties go to the smaller k. The default range starts at 3: on customer data
    k = 2 mostly splits buyers from non-buyers, which RFM already shows. Clusters are numbered
    by size, 'cluster 1' largest.
    Each cluster's description names its (up to) three features with the largest |z| (at
    least 0.3 SD from average), e.g. "more app channel use (+2.1 sd)".
    CX scores per cluster as in `rfm_segments`; clusters smaller than `min_group_size` are
    suppressed (complementary), rows kept.
    *Quality*: the mean silhouette read by Kaufman & Rousseeuw (1990) (`cluster_quality`).
    *Stability*: Hennig's bootstrap (R fpc ``clusterboot``, `cluster_stability`) with
    `stability_runs` seeded refits of the chosen k on a seeded sample of at most
    `stability_sample` of the fitted customers (0 runs: none). The sample keeps the check at
    about a second on any store (20 refits of 20,000 customers on 23 features take 10 s; of
    5,000, 1 s); a cluster of 2% still has 100 members in it.
    """
    check_min_group_size(min_group_size)
    _check_options(seed, k, k_range, silhouette_sample, fit_sample, stability_sample)
    if isinstance(stability_runs, bool) or not isinstance(stability_runs, int) or stability_runs < 0:
        raise CxInputError(f"stability_runs must be a whole number of at least 0 (0: no stability check), "
                           f"got {stability_runs!r}")
    cutoff = _cutoff(con, as_of)
    raw, labels = _cluster_matrix(con, cutoff)
    raw = raw.sort_index()
    z = _scale(raw)
    tried = [k] if k is not None else list(range(k_range[0], k_range[1] + 1))
    _check_enough_data(z, tried)
    x = z.to_numpy()
    chosen, fitted, selection, fit_rows = _fit_each_k(x, tried, seed, silhouette_sample, fit_sample)
    seg = _segments_by_size(fitted, z.index)
    assignments = seg.rename_axis("customer_id").reset_index()
    features = _feature_table(raw, z, seg, labels)
    descriptions = {s_name: _describe(g) for s_name, g in features.groupby("segment")}
    table = _summary_table(con, assignments, descriptions, cutoff, min_group_size)
    hidden = set(table.loc[table["suppressed"], "segment"])
    features = features[~features["segment"].isin(hidden)].reset_index(drop=True)
    sil = float(selection.loc[selection["k"] == chosen, "silhouette"].iloc[0])
    rows = (np.sort(np.random.default_rng(seed).choice(fit_rows, stability_sample, replace=False))
            if len(fit_rows) > stability_sample else fit_rows)
    jaccard, rand = cluster_stability(x[rows], seg.to_numpy()[rows], chosen, runs=stability_runs, seed=seed)
    stability = _stability_table(jaccard, table)
    return BehaviourClusters(k=chosen, silhouette=sil, selection=selection, summary=table, features=features,
                             assignments=assignments, features_used=tuple(z.columns),
                             quality=cluster_quality(sil), stability=stability,
                             adjusted_rand=float(np.mean(rand)) if len(rand) else math.nan,
                             stability_runs=stability_runs)


def _check_options(seed, k, k_range, silhouette_sample, fit_sample, stability_sample) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise CxInputError(f"seed must be a whole number, got {seed!r}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 2):
        raise CxInputError(f"k must be a whole number of at least 2 (or None to choose by silhouette), got {k!r}")
    if k is None and (not isinstance(k_range, (tuple, list)) or len(k_range) != 2
                      or not all(isinstance(v, int) and not isinstance(v, bool) for v in k_range)
                      or not 2 <= k_range[0] <= k_range[1]):
        raise CxInputError(f"k_range must be two whole numbers (lowest, highest k) with 2 <= lowest <= highest, "
                           f"such as (2, 8); got {k_range!r}")
    for name, value in (("silhouette_sample", silhouette_sample), ("fit_sample", fit_sample),
                        ("stability_sample", stability_sample)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 10:
            raise CxInputError(f"{name} must be a whole number of at least 10, got {value!r}")


def _check_enough_data(z: pd.DataFrame, tried: list[int]) -> None:
    n = len(z)
    if z.shape[1] == 0:
        raise CxDataError(f"nothing to cluster on: none of the behavioural features (events, orders, tickets, ratings) "
                          f"varies between this store's {n} customers; load events, orders or tickets")
    if n <= max(tried):
        raise CxDataError(f"too little data to cluster: {n} customers and {z.shape[1]} varying features for "
                          f"k up to {max(tried)}; load more data or choose a smaller k")


def _fit_each_k(x: np.ndarray, tried: list[int], seed: int, silhouette_sample: int,
                fit_sample: int) -> tuple[int, np.ndarray, pd.DataFrame, np.ndarray]:
    """KMeans for each k in `tried`: the chosen k (`_best_k`), each customer's cluster under it,
    k and silhouette per k, and the rows the models were fitted on.

    Each k's silhouette is scikit-learn's ``silhouette_score(x, labels, sample_size=m,
    random_state=seed)`` with m = min(n, `silhouette_sample`): the same seeded rows for every k,
    so their distances are computed once and each k labels those rows alone; only the chosen k
    assigns every customer."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import pairwise_distances, silhouette_score
    from threadpoolctl import threadpool_limits

    n = len(x)
    models, scores = {}, []
    # One thread: on a shared machine OpenMP's many threads make KMeans 30x slower, not faster.
    # Many customers: fit on a seeded sample, then give every customer its nearest centre.
    fit_rows = (np.sort(np.random.default_rng(seed).choice(n, fit_sample, replace=False))
                if n > fit_sample else np.arange(n))
    sil_rows = np.random.RandomState(seed).permutation(n)[:silhouette_sample]  # silhouette_score's sample
    with threadpool_limits(1):
        distances = pairwise_distances(x[sil_rows])
        for kk in tried:
            km = models[kk] = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit(x[fit_rows])
            labels_k = km.labels_[sil_rows] if len(fit_rows) == n else km.predict(x[sil_rows])
            sil = (float(silhouette_score(distances, labels_k, metric="precomputed"))
                   if len(set(labels_k)) > 1 else math.nan)
            scores.append({"k": kk, "silhouette": sil})
        selection = pd.DataFrame(scores)
        chosen = _best_k(selection, tried)
        km = models[chosen]
        labels = km.labels_ if len(fit_rows) == n else km.predict(x)
    return chosen, labels, selection, fit_rows


def cluster_quality(silhouette: float) -> str:
    """The mean silhouette in words, by Kaufman & Rousseeuw (1990, *Finding Groups in Data*):
    above 0.70 'strong', above 0.50 'reasonable', above 0.25 'weak' (and could be artificial),
    else 'no substantial structure'; 'unknown' when there is no silhouette (NaN)."""
    if not math.isfinite(silhouette):
        return "unknown"
    if silhouette > 0.70:
        return "strong"
    if silhouette > 0.50:
        return "reasonable"
    if silhouette > 0.25:
        return "weak"
    return "no substantial structure"


def stability_reading(jaccard: float) -> str:
    """A cluster's mean bootstrap Jaccard in words, by Hennig (2007; R fpc ``clusterboot``):
    0.85 or more 'highly stable', 0.75 or more 'stable', 0.6 or more 'a pattern, members unsure'
    (which customers belong is doubtful), below 0.6 'not to be trusted'; '' when blank."""
    if not math.isfinite(jaccard):
        return ""
    if jaccard >= 0.85:
        return "highly stable"
    if jaccard >= 0.75:
        return "stable"
    if jaccard >= 0.6:
        return "a pattern, members unsure"
    return "not to be trusted"


def best_jaccard(original: np.ndarray, refit: np.ndarray) -> pd.Series:
    """For each cluster of `original` (labels of the same points), the highest Jaccard similarity
    |A & B| / |A | B| of its members with any cluster of `refit`, indexed by the original label."""
    table = pd.crosstab(pd.Series(original, name="original"), pd.Series(refit, name="refit"))
    inter = table.to_numpy(dtype=float)
    union = inter.sum(axis=1, keepdims=True) + inter.sum(axis=0, keepdims=True) - inter
    return pd.Series((inter / union).max(axis=1), index=table.index)


def cluster_stability(x: np.ndarray, labels: np.ndarray, k: int, *, runs: int = 20,
                      seed: int = 0) -> tuple[pd.DataFrame, list[float]]:
    """Hennig's bootstrap stability of a clustering (R fpc ``clusterboot``, Hennig 2007).

    *Definition*: `runs` times (seeded by `seed`), draw the rows of `x` with replacement, refit
    KMeans with `k` clusters (n_init=10) on the draw and give each drawn point its refitted
    cluster; for each original cluster, its members among the drawn points (each point once) are
    compared with every refitted cluster and the highest Jaccard similarity is kept
    (`best_jaccard`). Returns (per original label: jaccard_mean over the runs and dissolved_share,
    the share of runs with Jaccard <= 0.5; the adjusted Rand index (scikit-learn) between
    `labels` and the refit's nearest-centre assignment of every row, one per run).
    Hennig's reading (`stability_reading`): below 0.6 not to be trusted, 0.6-0.75 a pattern,
    0.85 or more highly stable. A cluster absent from a draw counts as Jaccard 0 (dissolved).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    clusters = sorted(set(labels))
    runs_jaccard, rands = [], []
    rng = np.random.default_rng(seed)
    with threadpool_limits(1):
        for run in range(runs):
            drawn = rng.integers(0, len(x), len(x))
            km = KMeans(n_clusters=k, n_init=10, random_state=seed + run + 1).fit(x[drawn])
            points = np.unique(drawn)
            runs_jaccard.append(best_jaccard(labels[points], km.predict(x[points])).reindex(clusters, fill_value=0.0))
            rands.append(float(adjusted_rand_score(labels, km.predict(x))))
    if not runs_jaccard:
        return pd.DataFrame(columns=["jaccard_mean", "dissolved_share"]), []
    j = pd.concat(runs_jaccard, axis=1)
    return pd.DataFrame({"jaccard_mean": j.mean(axis=1), "dissolved_share": (j <= 0.5).mean(axis=1)}), rands


def _stability_table(jaccard: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """segment, jaccard_mean, dissolved_share, reading in the summary's order; a suppressed cluster blank."""
    cols = ["segment", "jaccard_mean", "dissolved_share", "reading"]
    if jaccard.empty:
        return pd.DataFrame(columns=cols)
    out = summary[["segment", "suppressed"]].merge(jaccard, left_on="segment", right_index=True, how="left")
    out.loc[out["suppressed"], ["jaccard_mean", "dissolved_share"]] = np.nan
    out["reading"] = [stability_reading(v) for v in out["jaccard_mean"]]
    return out[cols].reset_index(drop=True)


def _best_k(selection: pd.DataFrame, tried: list[int]) -> int:
    """The k with the highest silhouette (ties: the smaller k); the first tried when none has one."""
    best = selection.dropna().sort_values(["silhouette", "k"], ascending=[False, True])
    return int(best["k"].iloc[0]) if not best.empty else tried[0]


def _segments_by_size(raw_labels: np.ndarray, index: pd.Index) -> pd.Series:
    """Each customer's segment, 'cluster 1' the largest (ties by the smallest member id, deterministic)."""
    n = len(raw_labels)
    sizes = pd.Series(raw_labels).value_counts()
    first = pd.Series(np.arange(n)).groupby(raw_labels).min()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], first[c]))
    names = {c: f"cluster {i + 1}" for i, c in enumerate(order)}
    return pd.Series([names[c] for c in raw_labels], index=index, name="segment")


def _feature_table(raw: pd.DataFrame, z: pd.DataFrame, seg: pd.Series, labels: dict[str, str]) -> pd.DataFrame:
    """Per segment and feature: label, cluster_mean, overall_mean and z."""
    zmeans = z.groupby(seg).mean()
    raw_means = raw.groupby(seg).mean()
    overall = raw.mean()
    feats = []
    for s_name in zmeans.index:
        for col in z.columns:
            feats.append({"segment": s_name, "feature": col, "label": labels.get(col, col),
                          "cluster_mean": float(raw_means.loc[s_name, col]), "overall_mean": float(overall[col]),
                          "z": float(zmeans.loc[s_name, col])})
    return pd.DataFrame(feats)


def _summary_table(con, assignments: pd.DataFrame, descriptions: dict[str, str], cutoff,
                   min_group_size: int) -> pd.DataFrame:
    """The segments' CX scores and descriptions (suppressed below `min_group_size`), 'cluster 1' first."""
    _members(con, assignments)
    summary = sql.run(con, "segment_summary", {"start": None, "end": cutoff + _ONE_TICK})
    extra = pd.DataFrame({"segment": list(descriptions), "description": list(descriptions.values())})
    table = _segment_table(summary, extra, min_group_size)
    table["_order"] = table["segment"].str.extract(r"(\d+)$")[0].astype(int)
    return table.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def _describe(g: pd.DataFrame) -> str:
    """The cluster's (up to) three most distinctive features in words."""
    g = g.assign(absz=g["z"].abs()).sort_values(["absz", "feature"], ascending=[False, True])
    g = g[g["absz"] >= 0.3].head(3)
    if g.empty:
        return "close to average on every feature"
    words = []
    for feature, label, z in zip(g["feature"], g["label"], g["z"]):
        more, less = _WORDS.get(feature, ("higher", "lower"))
        words.append(f"{more if z > 0 else less} {label} ({z:+.1f} sd)")
    return "; ".join(words)


def clusters_headline(clusters: BehaviourClusters) -> str:
    """How many clusters and how good they are, in words: the mean silhouette read by Kaufman &
    Rousseeuw ('3 clusters, but no substantial structure (mean silhouette 0.17): treat them as a
    convenient split of a continuum, not natural groups.'), each cluster's bootstrap stability
    (Hennig's mean Jaccard) and the adjusted Rand index, then the features they were found from."""
    if not isinstance(clusters, BehaviourClusters):
        raise CxInputError(f"clusters_headline takes the result of behaviour_clusters, got {type(clusters).__name__}")
    k, sil = clusters.k, f"mean silhouette {clusters.silhouette:.2f}"
    split = "treat them as a convenient split of a continuum, not natural groups"
    first = {
        "strong": f"{k} clusters with a strong structure ({sil})",
        "reasonable": f"{k} clusters with a reasonable structure ({sil})",
        "weak": f"{k} clusters, but the structure is weak ({sil}) and could be artificial: {split}",
        "no substantial structure": f"{k} clusters, but no substantial structure ({sil}): {split}",
    }.get(clusters.quality, f"{k} clusters (no silhouette)")
    sentences = [first + "."]
    shown = clusters.stability.dropna(subset=["jaccard_mean"]) if not clusters.stability.empty else None
    if shown is not None and not shown.empty:
        each = ", ".join(f"{s} {r} ({j:.2f})" for s, r, j in zip(shown["segment"], shown["reading"],
                                                                  shown["jaccard_mean"]))
        sentences.append(f"Refitted on {clusters.stability_runs} bootstrap resamples (Hennig's mean Jaccard): {each}; "
                         f"adjusted Rand index {clusters.adjusted_rand:.2f}.")
        if clusters.quality in ("weak", "no substantial structure") and (shown["jaccard_mean"] >= 0.75).all():
            sentences.append("Stable means the same cut comes back, not that the groups are natural.")
    if clusters.features_used:
        sentences.append(f"Found from the {len(clusters.features_used)} features that vary in this store: "
                         f"{clusters.features_text}.")
    return " ".join(sentences)
