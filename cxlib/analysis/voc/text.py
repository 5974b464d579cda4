"""Feedback text: themes from an editable keyword taxonomy, unsupervised topics, an offline
sentiment score and representative quotes with personal data masked.

The sentiment word lists and the shipped theme taxonomy are English (`SCORED_LANGUAGES`). Each
comment's language is detected (cxlib.analysis.voc.language); comments in another language are
"not scored": no sentiment (NaN, never 0) and no themes, and results say how many there were and
in which languages (`not_scored_note`).

Comments are untrusted text. Functions here return them as plain strings (masked where they
are meant to be shown); showing them is left to pandas / Altair, which escape HTML.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.voc.language import UNKNOWN, detect_languages
from cxlib.errors import CxDataError, CxInputError
from cxlib.locations import shipped
from cxlib.privacy import (
    MIN_GROUP_SIZE,
    check_min_group_size,
    mask_personal_data,
    suppress,
)
from cxlib.privacy.suppression import order_published

THEMES_CSV = shipped("feedback_themes.csv")
NO_THEME = "(no theme)"
SCORED_LANGUAGES = ("en",)  # the language of the sentiment word lists and of the shipped taxonomy
SCORED_LANGUAGE_NAMES = "English"


# --------------------------------------------------------------------------- taxonomy


def keyword_pattern(keyword: str) -> str:
    """The needle one taxonomy keyword is searched for in a normalised comment.

    Comments are normalised in SQL (voc_themes.sql): lower-cased, split into words on every run
    of characters that are not letters (any script), digits or '_', and joined with single
    spaces, with a space at each end. A keyword is normalised the same way and matches as a
    whole word or phrase ('bill' does not match 'billion'; 'on hold' matches 'On  hold!'); a
    trailing '*' matches any word ending ('bill*' matches bill, billing, billed). Matching is
    plain substring search (no regular expression per row), so it stays fast.
    """
    if not isinstance(keyword, str):
        raise CxInputError(f"a taxonomy keyword must be a word or phrase, got {keyword!r}")
    kw = keyword.strip().lower()
    prefix = kw.endswith("*")
    words = [w for w in re.split(r"[\W]+", kw.rstrip("*")) if w]
    if not words:
        raise CxInputError(f"a taxonomy keyword must be a word or phrase, got {keyword!r}")
    return " " + " ".join(words) + ("" if prefix else " ")


def normalise(text: str) -> str:
    """A comment normalised as voc_themes.sql does it (for tests and for matching in Python)."""
    return " " + " ".join(w for w in re.split(r"[\W]+", str(text).lower()) if w) + " "


def load_taxonomy(path=None) -> pd.DataFrame:
    """The theme taxonomy: a CSV with columns theme,keyword (one keyword per row; default
    cxlib/data/feedback_themes.csv, which analysts edit). Returns theme, keyword, pattern.
    Blank rows are skipped; duplicates dropped; a missing column is a clear error."""
    path = Path(path) if path is not None else THEMES_CSV
    if not path.exists():
        raise CxInputError(f"no theme taxonomy at {path}: give a CSV with columns theme,keyword")
    tax = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"theme", "keyword"} - set(tax.columns)
    if missing:
        raise CxDataError(f"{path.name} needs columns theme,keyword; missing {', '.join(sorted(missing))}")
    tax = tax[["theme", "keyword"]].apply(lambda s: s.str.strip())
    tax = tax[(tax["theme"] != "") & (tax["keyword"] != "")].drop_duplicates().reset_index(drop=True)
    if tax.empty:
        raise CxDataError(f"{path.name} holds no theme,keyword rows")
    tax["pattern"] = tax["keyword"].map(keyword_pattern)
    return tax


def _taxonomy(taxonomy) -> pd.DataFrame:
    if taxonomy is None or isinstance(taxonomy, (str, Path)):
        return load_taxonomy(taxonomy)
    if isinstance(taxonomy, pd.DataFrame):
        if not {"theme", "keyword"} <= set(taxonomy.columns):
            raise CxInputError("a taxonomy DataFrame needs columns theme and keyword")
        tax = taxonomy[["theme", "keyword"]].copy()
        tax["pattern"] = tax["keyword"].map(keyword_pattern)
        return tax
    if isinstance(taxonomy, dict):  # {theme: [keywords]}
        rows = [(t, k) for t, kws in taxonomy.items() for k in ([kws] if isinstance(kws, str) else kws)]
        return _taxonomy(pd.DataFrame(rows, columns=["theme", "keyword"]))
    raise CxInputError("taxonomy must be a CSV path, a DataFrame (theme, keyword) or a dict {theme: [keywords]}")


def _window(start, end):
    from datetime import timedelta

    s, e = to_timestamp(start, "start"), to_timestamp(end, "end")
    if e is not None and isinstance(end, str) and len(end) == 10:
        e = e + timedelta(days=1)
    if s is not None and e is not None and e <= s:
        raise CxInputError(f"end ({end}) must be after start ({start})")
    return s, e


# --------------------------------------------------------------------------- themes


def _check_metric(con: duckdb.DuckDBPyConnection, metric: str | None) -> None:
    """A `metric` filter must be None (every metric) or a metric the store's surveys hold."""
    if metric is None:
        return
    known = [m for (m,) in con.execute("SELECT DISTINCT metric FROM survey_responses WHERE metric IS NOT NULL")
             .fetchall()]
    if not isinstance(metric, str) or metric not in known:
        from cxlib.errors import unknown_name

        raise unknown_name("metric", str(metric), "the store's survey answers", known)


def comment_languages(
    con: duckdb.DuckDBPyConnection,
    *,
    metric: str | None = None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Each distinct survey comment text with how many answers carry it and its language.

    *Definition*: comments (non-blank) on answers of `metric` (None: every metric) in the dates;
    language = cxlib.analysis.voc.language.detect_languages, once per distinct text;
    scored = the language is one of `SCORED_LANGUAGES` ("unknown" counts as scored for themes
    only: see `themes`). Columns: comment, comments, language, scored.
    """
    _check_metric(con, metric)
    s, e = _window(start, end)
    df = sql.run(con, "voc_comment_texts", {"metric": metric, "start": s, "end": e})
    df["language"] = detect_languages(df["comment"])
    df["scored"] = df["language"].isin(SCORED_LANGUAGES)
    return df


def _not_scored(languages: pd.Series, comments: pd.Series | None = None) -> dict[str, int]:
    """Comments per language outside SCORED_LANGUAGES and 'unknown', most first."""
    counts = (comments if comments is not None else pd.Series(1, index=languages.index)).groupby(languages).sum()
    counts = counts[~counts.index.isin([*SCORED_LANGUAGES, UNKNOWN])]
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    return {str(k): int(v) for k, v in counts.items()}


def not_scored_note(df: pd.DataFrame, *, min_group_size: int = MIN_GROUP_SIZE) -> str:
    """One sentence on the comments left unscored for their language, '' when there are none.

    `df` is a result of `themes` or `sentiment_by_group` (they keep the counts in
    ``df.attrs["not_scored"]``) or a `comments` frame. Languages with at least `min_group_size`
    comments are named with their count, smaller ones by name only: "14 comments in other
    languages were not scored (de 12, fr): the sentiment words and theme keywords are English".
    """
    check_min_group_size(min_group_size)
    if not isinstance(df, pd.DataFrame):
        raise CxInputError("not_scored_note takes the result of themes, sentiment_by_group or comments")
    if "not_scored" in df.attrs:
        counts = df.attrs["not_scored"]
    elif "language" in df.columns:
        counts = _not_scored(df["language"])
    else:
        raise CxInputError("not_scored_note takes the result of themes, sentiment_by_group or comments")
    total = sum(counts.values())
    if not total:
        return ""
    named = [f"{lang} {n:,}" if n >= min_group_size else lang for lang, n in counts.items()]
    noun = "comment" if total == 1 else "comments"
    verb = "was" if total == 1 else "were"
    return (f"{total:,} {noun} in other languages {verb} not scored ({', '.join(named)}): "
            f"the sentiment words and theme keywords are {SCORED_LANGUAGE_NAMES}")


def _theme_scores(df: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """share, nps with its Wald interval, detractor_share, over_representation and Fisher's p per
    theme (the definitions in `themes`); what comes from fewer than `min_group_size` NPS answers is blank."""
    from cxlib.analysis.intervals import nps_interval

    total = df["total_comments"].iloc[0] if len(df) else 0
    total_det = df["total_detractors"].iloc[0] if len(df) else 0
    total_pro = df["total_promoters"].iloc[0] if len(df) else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        df["share"] = df["comments"] / total * 100 if total else np.nan
        answers = df["promoters"] + df["passives"] + df["detractors"]
        df["nps"] = np.where(answers >= min_group_size, (df["promoters"] - df["detractors"]) / answers * 100, np.nan)
        det_share = df["detractors"] / total_det if total_det else pd.Series(np.nan, index=df.index)
        pro_share = df["promoters"] / total_pro if total_pro else pd.Series(np.nan, index=df.index)
        df["detractor_share"] = det_share * 100
        df["over_representation"] = np.where(pro_share > 0, det_share / pro_share,
                                             np.where(det_share > 0, np.inf, np.nan))
    cis = [nps_interval(p, d, n) if n >= min_group_size else (math.nan, math.nan)
           for p, d, n in zip(df["promoters"], df["detractors"], answers)]
    df["ci_lower"] = [c[0] for c in cis]
    df["ci_upper"] = [c[1] for c in cis]
    pvals = []
    for d, p in zip(df["detractors"], df["promoters"]):
        if total_det and total_pro:
            pvals.append(stats.fisher_exact([[d, total_det - d], [p, total_pro - p]])[1])
        else:
            pvals.append(math.nan)
    df["p_value"] = pvals
    # too few NPS answers among a theme's comments: nothing about their scores is shown
    few = answers < min_group_size
    for col in ["promoters", "passives", "detractors", "detractor_share", "over_representation", "p_value"]:
        df[col] = df[col].where(~few)
    return df


def themes(
    con: duckdb.DuckDBPyConnection,
    *,
    taxonomy=None,
    metric: str | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Feedback themes in survey comments: volume, NPS and over-representation among detractors.

    *Definition*: a comment belongs to every theme one of whose keywords it contains
    (`keyword_pattern`: whole words, '*' for any ending, case-insensitive); '(no theme)' counts
    comments matching none. Comments on answers of every survey metric count (`metric` picks one:
    'nps', 'csat', 'ces' or another the store holds). The keywords are English: comments detected
    as another language are not scored (counted per language in ``attrs["not_scored"]``, said by
    `not_scored_note`); "unknown" ones (too short to tell, e.g. "billing mess") are matched, since
    a keyword found in them is found. share = comments / all scored comments (percent; themes
    overlap, so shares can sum past 100). promoters / passives / detractors count the theme's
    comments on NPS answers; nps of those with a Wald interval as in cxlib.analysis.voc.nps.
    When fewer than `min_group_size` of a theme's comments are on NPS answers, everything drawn
    from their scores (counts, nps, interval, shares, over-representation, p-values) is blank.
    over_representation = (share of detractor comments mentioning the theme) /
    (share of promoter comments mentioning it): the usual NPS text-analytics contrast of the
    two ends ("detractors mention billing 5x as often as promoters"); inf when no promoter
    mentions it. Tested with Fisher's exact test (scipy) on the 2x2 table theme yes/no by
    detractor/promoter, Benjamini-Hochberg adjusted over themes; significant = p_adjusted < alpha.
    Themes with fewer than `min_group_size` comments are suppressed (scores, counts, quotes blanked; suppressed=True); themes overlap, so there is
    no complementary suppression.

    Columns: theme, comments, share, promoters, passives, detractors, nps, ci_lower, ci_upper,
    detractor_share (percent of detractor comments mentioning it), over_representation,
    p_value, p_adjusted, significant, suppressed.
    Raises CxDataError when no comment is in a scored language.
    """
    from statsmodels.stats.multitest import multipletests

    check_min_group_size(min_group_size)
    tax = _taxonomy(taxonomy)
    texts = comment_languages(con, metric=metric, start=start, end=end)
    matched = texts[texts["scored"] | (texts["language"] == UNKNOWN)]
    not_scored = _not_scored(texts["language"], texts["comments"])
    if len(texts) and matched.empty:
        langs = ", ".join(f"{lang} {n:,}" for lang, n in not_scored.items())
        raise CxDataError(f"no comment is in a language the theme keywords are written in "
                          f"({', '.join(SCORED_LANGUAGES)}); the {texts['comments'].sum():,} comments are in {langs}")
    s, e = _window(start, end)
    df = sql.run(con, "voc_themes", {"themes": tax["theme"].tolist(), "patterns": tax["pattern"].tolist(),
                                     "texts": matched["comment"].tolist(), "metric": metric, "start": s, "end": e})
    df = _theme_scores(df, min_group_size)
    df["p_adjusted"] = np.nan
    ok = df["p_value"].notna()
    if ok.any():
        df.loc[ok, "p_adjusted"] = multipletests(df.loc[ok, "p_value"].to_numpy(), method="fdr_bh")[1]
    df["significant"] = (df["p_adjusted"] < alpha).fillna(False).astype(bool)
    df = df.rename(columns={"comments": "n"})
    values = ["share", "promoters", "passives", "detractors", "nps", "ci_lower", "ci_upper", "detractor_share",
              "over_representation", "p_value", "p_adjusted"]
    # Themes overlap (a comment can be in several), so no total minus the visible themes gives
    # a hidden one away: each theme is judged alone, with no complementary suppression. Order:
    # shown themes by comments, then suppressed ones by name (never by their hidden count).
    df = suppress(df, values=values, min_group_size=min_group_size, margins=[])
    df = order_published(df, by=["n"], ascending=False, keys=["theme"])
    df.loc[df["suppressed"], "significant"] = False
    df = df.rename(columns={"n": "comments"})
    cols = ["theme", "comments", "share", "promoters", "passives", "detractors", "nps", "ci_lower", "ci_upper",
            "detractor_share", "over_representation", "p_value", "p_adjusted", "significant", "suppressed"]
    out = df[cols].reset_index(drop=True)
    out.attrs["not_scored"] = not_scored
    return out


def comments(
    con: duckdb.DuckDBPyConnection,
    *,
    taxonomy=None,
    metric: str | None = "nps",
    start=None,
    end=None,
    limit: int = 20_000,
) -> pd.DataFrame:
    """Comments with their score, NPS group, language and matched themes (a seeded sample of at
    most `limit`) on answers of `metric` (None: every metric). Untrusted, unmasked text: for
    analysis, not for display (see `quotes`).

    Columns: response_id, metric, score, nps_group, comment, language (ISO 639-1 code or
    "unknown", cxlib.analysis.voc.language), themes (list of theme names; None, not scored, for a
    comment detected as a language outside `SCORED_LANGUAGES`).
    """
    _check_metric(con, metric)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise CxInputError(f"limit must be a whole number of at least 1, got {limit!r}")
    tax = _taxonomy(taxonomy)
    s, e = _window(start, end)
    df = sql.run(con, "voc_comments", {"themes": tax["theme"].tolist(), "patterns": tax["pattern"].tolist(),
                                       "metric": metric, "start": s, "end": e, "limit": limit})
    df["language"] = detect_languages(df["comment"])
    matched = df["language"].isin([*SCORED_LANGUAGES, UNKNOWN])
    df["themes"] = [(list(v) if v is not None else []) if ok else None for v, ok in zip(df["themes"], matched)]
    return df[["response_id", "metric", "score", "nps_group", "comment", "language", "themes"]]


# --------------------------------------------------------------------------- sentiment

_POSITIVE = {
    "good", "great", "excellent", "love", "loved", "lovely", "happy", "quick", "quickly", "fast", "easy", "smooth",
    "friendly", "helpful", "kind", "patient", "thanks", "thank", "clear", "simple", "correct", "fair", "value",
    "cheaper", "best", "perfect", "nice", "amazing", "awesome", "recommend", "satisfied", "polite", "early", "fine",
    "okay", "ok", "solved", "resolved", "super", "deals", "wonderful", "pleased", "worth", "reliable", "works",
    "👍", "😊", "✨", "🚚", "📱",
}
_NEGATIVE = {
    "bad", "poor", "terrible", "awful", "worst", "hate", "late", "damaged", "broke", "broken", "wrong", "rude",
    "unhelpful", "unfriendly", "confusing", "crashing", "crash", "crashes", "froze", "slow", "expensive", "mess",
    "unexpected", "unacceptable", "forever", "disappointed", "frustrating", "frustrant", "never", "nobody",
    "waited", "waiting", "twice", "glitches", "problem", "problems", "issue", "issues", "complaint", "annoying",
    "useless", "refund", "overcharged", "pricey", "rain", "😡",
}
_NEGATORS = {"not", "no", "never", "nothing", "didn't", "don't", "doesn't", "wasn't", "weren't", "isn't", "aren't",
             "cannot", "can't", "couldn't", "won't", "wouldn't", "hardly", "without", "nor"}
_CLAUSE_END = {".", ",", ";", ":", "!", "?", "but", "however", "although", "though"}
_NEGATION_SCOPE = 4  # tokens after a negator that it reaches, within its clause
_TOKEN = re.compile(r"[\w']+|[^\w\s]", re.UNICODE)


def sentiment(text: str | None, *, language: str | None = None) -> float:
    """An offline, lexicon-based sentiment score in [-1, 1] (no network, no model download), for
    English comments only: NaN ("not scored", never 0) for a comment in another language or
    whose language is "unknown" (`language`, detected when not given), and for missing text.

    *Definition*: tokens (words with their apostrophes, and single punctuation marks or emoji)
    are matched against small English positive and negative word lists and emoji. Negation
    follows VADER's rule that a negator ('not', "can't", 'never', 'no', 'without', ...) flips
    the words after it, with a scope of up to four tokens (VADER looks three back) that ends at
    the clause: a punctuation mark or 'but' / 'however' / 'although' stops it. So "I can't say
    it was good" and "wasn't helpful" count negative, "no problems" and "not bad" positive,
    "good, but not fast" once each way. A negator that is itself a negative word ('never')
    counts as negative when no sentiment word follows it in its scope ("never again").
    score = (pos - neg) / (pos + neg), 0 when an English comment has no sentiment word.
    Crude by design: it ranks comments, it does not read irony.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return math.nan
    if language is None:
        language = detect_languages([text])[0]
    if language not in SCORED_LANGUAGES:
        return math.nan
    tokens = _TOKEN.findall(str(text).lower())
    pos = neg = 0
    negate_until = -1
    for i, tok in enumerate(tokens):
        if tok in _CLAUSE_END:
            negate_until = -1
            continue
        flipped = i <= negate_until
        if tok in _POSITIVE:
            if flipped:
                neg += 1
            else:
                pos += 1
        elif tok in _NEGATIVE and tok not in _NEGATORS:
            if flipped:
                pos += 1
            else:
                neg += 1
        if tok in _NEGATORS:
            scope = tokens[i + 1:i + 1 + _NEGATION_SCOPE]
            if _CLAUSE_END & set(scope):
                scope = scope[:min(scope.index(t) for t in _CLAUSE_END & set(scope))]
            if tok in _NEGATIVE and not any(t in _POSITIVE or t in _NEGATIVE for t in scope):
                neg += 1
            negate_until = i + _NEGATION_SCOPE
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


def _sentiments(df: pd.DataFrame) -> pd.Series:
    """`sentiment` of each comment of a `comments` frame, with its detected language."""
    languages = df["language"] if "language" in df.columns else detect_languages(df["comment"])
    return pd.Series([sentiment(t, language=lang) for t, lang in zip(df["comment"], languages)],
                     index=df.index, dtype=float)


def sentiment_by_group(df: pd.DataFrame, *, min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """Mean sentiment of comments (a `comments` frame) by NPS group: a check that the score
    tracks what people say.

    *Definition*: n counts the group's scored comments only (English, see `sentiment`);
    not_scored counts the others (another language or "unknown"), and ``attrs["not_scored"]``
    holds the comments per other language for `not_scored_note`. Columns: segment (promoter /
    passive / detractor), n, mean_sentiment, not_scored, suppressed (groups under
    `min_group_size` scored comments blanked, their not_scored count too)."""
    check_min_group_size(min_group_size)
    if not isinstance(df, pd.DataFrame) or not {"comment", "nps_group"} <= set(df.columns):
        raise CxInputError("sentiment_by_group takes the DataFrame of comments (cxlib.analysis.voc.text.comments)")
    d = df[df["nps_group"].notna()]
    d = d.assign(sentiment=_sentiments(d))
    order = ["promoter", "passive", "detractor"]
    out = (d.groupby("nps_group")["sentiment"].agg(n="count", mean_sentiment="mean", comments="size")
           .reindex(order).fillna({"n": 0, "comments": 0}).rename_axis("segment").reset_index())
    out["n"] = out["n"].astype("int64")
    out["not_scored"] = (out["comments"] - out["n"]).astype("int64")
    out = suppress(out.drop(columns="comments"), values=["mean_sentiment", "not_scored"],
                   min_group_size=min_group_size)
    languages = d["language"] if "language" in d.columns else pd.Series(detect_languages(d["comment"]), index=d.index)
    out.attrs["not_scored"] = _not_scored(languages)
    return out


# --------------------------------------------------------------------------- topics


def topics(
    df: pd.DataFrame,
    *,
    k: int = 6,
    top_terms: int = 6,
    seed: int = 0,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Unsupervised topics in comments (a `comments` frame): NMF on TF-IDF (scikit-learn).

    *Definition*: TF-IDF of word uni- and bigrams (English stop words removed, terms in at least
    2 comments and at most 50% of them); NMF with `k` components (nndsvda start, seeded); each
    comment goes to its highest-weight topic (comments with no known term go nowhere);
    top_terms = the topic's highest-weight terms. Topics with fewer than `min_group_size`
    comments are suppressed. Masking: emails, phone numbers and names are masked before
    vectorising, so they can never become a topic term.

    Columns: topic (1..k), top_terms (comma-separated), comments, share (percent of comments),
    mean_sentiment (of the topic's English comments, see `sentiment`; blank when it has none),
    suppressed.
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise CxInputError(f"k (number of topics) must be a whole number of at least 1, got {k!r}")
    if not isinstance(df, pd.DataFrame) or "comment" not in df.columns:
        raise CxInputError("topics takes the DataFrame of comments (cxlib.analysis.voc.text.comments)")
    check_min_group_size(min_group_size)
    texts = df["comment"].dropna().map(mask_personal_data)
    cols = ["topic", "top_terms", "comments", "share", "mean_sentiment", "suppressed"]
    if len(texts) < max(2 * k, 4):
        raise CxDataError(f"topics need at least {max(2 * k, 4)} comments, found {len(texts)}; widen the dates, "
                          "load survey answers with comments, or ask for fewer topics (k)")
    vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2, max_df=0.5,
                          token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b")
    try:
        x = vec.fit_transform(texts.to_numpy())
    except ValueError:  # no word is shared by two comments and absent from half of them
        raise CxDataError(f"the {len(texts)} comments share too few words to find topics in (a word must appear in "
                          "at least two comments and in at most half of them)") from None
    k = min(k, x.shape[1])
    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
    w = model.fit_transform(x)
    terms = np.array(vec.get_feature_names_out())
    has = w.sum(axis=1) > 0
    assigned = np.where(has, w.argmax(axis=1), -1)
    senti = _sentiments(df.loc[texts.index]).to_numpy()
    rows = []
    for t in range(k):
        members = assigned == t
        rows.append({
            "topic": t + 1,
            "top_terms": ", ".join(terms[np.argsort(model.components_[t])[::-1][:top_terms]]),
            "n": int(members.sum()),
            "share": members.sum() / len(texts) * 100,
            "mean_sentiment": float(np.nanmean(senti[members])) if np.isfinite(senti[members]).any() else math.nan,
        })
    out = pd.DataFrame(rows)
    out = suppress(out, values=["share", "mean_sentiment", "top_terms"], min_group_size=min_group_size)
    return out.rename(columns={"n": "comments"})[cols]


# --------------------------------------------------------------------------- quotes


def quotes(
    df: pd.DataFrame,
    *,
    per_theme: int = 3,
    nps_group: str | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    masker=None,
) -> pd.DataFrame:
    """Representative quotes per theme from a `comments` frame, with personal data masked.

    *Definition*: for each theme (and '(no theme)'), the comments closest (cosine similarity of
    TF-IDF vectors) to the theme's centroid: the most typical wording, distinct texts only, at
    most `per_theme`; optionally only from one `nps_group`. Comments not scored for themes (in
    a language other than `SCORED_LANGUAGES`) give no quotes. Quotes pass through the one masker
    (cxlib.privacy.masking): `masker` when given (``Masker.from_store(con)`` also masks every
    customer id, agent id and personal column value of the store), else the store-free
    `mask_personal_data` (e-mails, phone numbers, IBANs, identifier shapes such as C0001234 or
    CUST-000123, introduced names in five languages). Themes with
    fewer than `min_group_size` comments give no quotes (their comments are suppressed).
    The text is NOT HTML-escaped here: pandas and Altair escape it when they show it; escape it
    yourself (html.escape) before writing it into HTML by hand.

    Columns: theme, quote, nps_group, metric (the survey the score belongs to), score, sentiment.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    check_min_group_size(min_group_size)
    cols = ["theme", "quote", "nps_group", "metric", "score", "sentiment"]
    if nps_group is not None and nps_group not in ("promoter", "passive", "detractor"):
        from cxlib.errors import unknown_name

        raise unknown_name("nps_group", str(nps_group), "the NPS groups", ["promoter", "passive", "detractor"])
    d = df[df["comment"].notna() & df["themes"].notna()].copy()  # themes None: not scored (another language)
    if nps_group is not None:
        d = d[d["nps_group"] == nps_group]
    if d.empty:
        return pd.DataFrame(columns=cols)
    d["masked"] = d["comment"].map(masker.mask if masker is not None else mask_personal_data)
    d["theme"] = d["themes"].map(lambda t: list(t) if len(t) else [NO_THEME])
    long = d.explode("theme")
    vec = TfidfVectorizer(min_df=1)
    x = vec.fit_transform(d["masked"].to_numpy())
    pos = {rid: i for i, rid in enumerate(d["response_id"])}
    out = []
    for theme, grp in long.groupby("theme", sort=True):
        if len(grp) < min_group_size:
            continue
        rows = x[[pos[r] for r in grp["response_id"]]]
        centroid = np.asarray(rows.mean(axis=0)).ravel()
        norm = np.linalg.norm(centroid)
        sims = rows @ centroid / (norm if norm else 1)
        grp = grp.assign(sim=np.asarray(sims).ravel()).sort_values(["sim", "response_id"], ascending=[False, True])
        grp = grp.drop_duplicates("masked").head(per_theme)
        for _, r in grp.iterrows():
            out.append({"theme": theme, "quote": r["masked"], "nps_group": r["nps_group"],
                        "metric": r.get("metric"), "score": r["score"],
                        "sentiment": sentiment(r["masked"], language=r.get("language"))})
    return pd.DataFrame(out, columns=cols)


def themes_headline(df: pd.DataFrame) -> str:
    """One sentence on a `themes` result: the theme detractors mention most often relative to promoters.

    *Definition*: the shown theme (not suppressed, not '(no theme)') with the highest
    over_representation; a theme
    no promoter mentions ("inf") is named as such. When no theme has comments from both ends of
    the scale, it says so.
    """
    if not isinstance(df, pd.DataFrame) or not {"theme", "over_representation"} <= set(df.columns):
        raise CxInputError("themes_headline takes the result of themes")
    shown = df[~df["suppressed"].astype(bool)] if "suppressed" in df.columns else df
    shown = shown[shown["theme"] != NO_THEME].dropna(subset=["over_representation"])
    if shown.empty:
        return "Too few comments from promoters and detractors to say which themes detractors mention more"
    top = shown.sort_values("over_representation", ascending=False, kind="stable").iloc[0]
    if np.isinf(top["over_representation"]):
        return f"Detractors mention {top['theme']}, which no promoter mentions"
    return f"Detractors mention {top['theme']} {top['over_representation']:.1f} times as often as promoters do"
