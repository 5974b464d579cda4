"""The breakdown a segment report uses on this store: a customer attribute with a few groups, or a
numeric attribute cut into a few ranges, or NPS groups when asked for, or none.

Real customer exports carry numbers as attributes (a telco export's tenure or monthly charges,
an age): with dozens of distinct values they are no breakdown as they are, so `numeric_ranges`
cuts one into a few ranges of about equal size ('1 to 9', '10 to 29', ...), and the segment
profile, usage and cues take those ranges like any other segmentation (a frame of customer_id,
segment). `fit_profile_breakdown` chooses, and says in one sentence what it chose when it adapts.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis import defaults
from cxlib.analysis.churn.status import check_segment_name
from cxlib.analysis.voc.scores import MISSING_SEGMENT
from cxlib.errors import CxDataError, CxInputError
from cxlib.sql import quote_ident, table_columns

RANGE_BINS = 4  # ranges a numeric attribute is cut into: quartiles


def numeric_attributes(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Customer attributes that are numbers with more values than a breakdown can show.

    *Definition*: every non-blank value reads as a number (DuckDB TRY_CAST to DOUBLE) and there
    are more than `defaults.MAX_SEGMENT_VALUES` distinct values (an attribute with fewer is a
    breakdown as it is). Returns {column: (distinct values, blank values)}.
    """
    out = {}
    for column in table_columns(con, "customers"):
        if column in defaults.NOT_ATTRIBUTES:
            continue
        q = quote_ident(column)
        values, blank, other = con.execute(
            f"SELECT count(DISTINCT {q}), count(*) FILTER (WHERE {q} IS NULL), "
            f"count(*) FILTER (WHERE {q} IS NOT NULL AND try_cast({q} AS DOUBLE) IS NULL) FROM customers"
        ).fetchall()[0]
        if other == 0 and values > defaults.MAX_SEGMENT_VALUES:
            out[column] = (int(values), int(blank))
    return out


def _number_text(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def numeric_ranges(con: duckdb.DuckDBPyConnection, column: str, *, bins: int = RANGE_BINS) -> pd.DataFrame:
    """Each customer's range of a numeric attribute, as a segmentation (customer_id, segment).

    *Definition*: the attribute's values read as numbers are cut at their quantiles into `bins`
    ranges of about equal size (pandas ``qcut``; ranges that would repeat an edge, as with many
    equal values, are merged, so there may be fewer). Each range is labelled by the lowest and
    highest value of its customers, 'lo to hi' (whole numbers without decimals, else two). A
    customer whose value is blank, or not a number, is in '(none)'. CxDataError when fewer than
    two ranges are left (every customer has the same value). Customer-level: pass it as `by`
    to `segment_profile`, `segment_usage` or `personalisation_cues`; not for stakeholders as is.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise CxInputError(f"bins must be a whole number of at least 2, got {bins!r}")
    slot = sql.checked_column(con, "customers", column, exclude=defaults.NOT_ATTRIBUTES)
    df = sql.run(con, "voc_customer_attributes", {}, {"columns": slot})
    values = pd.to_numeric(df[column], errors="coerce")
    known = values.notna()
    if values[known].nunique() < 2:
        raise CxDataError(f"'{column}' has fewer than two different numbers: there are no ranges to compare")
    codes = pd.qcut(values[known], q=bins, labels=False, duplicates="drop")
    ranges = values[known].groupby(codes).agg(["min", "max"])
    if len(ranges) < 2:
        raise CxDataError(f"'{column}' has one value for most customers: there are no ranges to compare")
    labels = {code: f"{_number_text(lo)} to {_number_text(hi)}" for code, (lo, hi) in ranges.iterrows()}
    segment = pd.Series(MISSING_SEGMENT, index=df.index, dtype=object)
    segment[known] = codes.map(labels)
    return pd.DataFrame({"customer_id": df["customer_id"].astype(str), "segment": segment})


def range_labels(ranges: pd.DataFrame) -> list[str]:
    """The range labels of a `numeric_ranges` result, lowest first ('(none)' left out)."""
    labels = [s for s in ranges["segment"].unique() if s != MISSING_SEGMENT]
    return sorted(labels, key=lambda s: float(s.split(" to ")[0].replace(",", "")))


def _nps_groups(con) -> pd.DataFrame:
    from cxlib.analysis.features import customer_features

    f = customer_features(con)
    return pd.DataFrame({"customer_id": f["customer_id"], "segment": f["nps_group"].where(f["nps_group"].notna(), None)})


def fit_profile_breakdown(con: duckdb.DuckDBPyConnection, wanted: str | None) -> tuple[str | None, str | pd.DataFrame | None]:
    """The breakdown a segment report uses: (its name, what to pass as `by`).

    - 'none' / None: no breakdown, (None, None).
    - 'nps_group' with NPS answers: customers by their latest relationship NPS group (a frame).
    - a near miss of an attribute ('regon' for 'region'): CxInputError with the suggestion
      (`check_segment_name`); a name differing only in case is that attribute.
    - a numeric attribute (`numeric_attributes`): its ranges (`numeric_ranges`), said in one sentence.
    - otherwise `defaults.fit_segment` (without NPS groups): `wanted` when it is an attribute with
      2-12 groups, else the best such attribute, said in one sentence; and when the store has no
      such attribute but a numeric one, that one's ranges instead, said in one sentence.
    """
    if wanted is None or wanted in defaults.NONE:
        return None, None
    wanted = check_segment_name(con, wanted)
    if wanted == "nps_group" and defaults.has_nps(con):
        return wanted, _nps_groups(con)
    numeric = numeric_attributes(con)
    if wanted in numeric:
        ranges = numeric_ranges(con, wanted)
        _say(f"'{wanted}' is a number with {numeric[wanted][0]:,} different values, so segments are its ranges of "
             f"about equal size: {', '.join(range_labels(ranges))}.")
        return wanted, ranges
    choices = defaults.segment_choices(con)
    if wanted not in choices and not choices and numeric:
        best = min(numeric, key=lambda c: (numeric[c][1], c))
        ranges = numeric_ranges(con, best)
        _say(f"Segments are ranges of '{best}' ({', '.join(range_labels(ranges))}) instead of '{wanted}': this store "
             f"has no customer attribute '{wanted}' with 2 to {defaults.MAX_SEGMENT_VALUES} groups, and '{best}' is a "
             "number, cut into ranges of about equal size.")
        return best, ranges
    value = defaults.fit_segment(con, wanted, allow_nps_group=False)
    return value, value


def breakdown_headline(con: duckdb.DuckDBPyConnection, segment: str | None, by=None, *, start=None, end=None) -> str:
    """'Data up to 2026-06-30; segments by 'plan'' (or by ranges of a number, or no breakdown)."""
    from cxlib.store.connection import data_span

    data = data_span(con, start, end)
    if segment is None:
        return f"{data}; no customer attribute to segment by"
    if isinstance(by, pd.DataFrame) and segment != "nps_group":
        return f"{data}; segments by {segment}, in {len(range_labels(by))} ranges"
    return f"{data}; segments by {segment}"


def profile_chart_metrics(profile: pd.DataFrame, *, preferred=("nps", "revenue_per_customer"),
                          fallback=("churn_rate", "csat", "ces")) -> list[str]:
    """The `segment_profile` metrics worth a chart: those of `preferred` with a shown value in at
    least two segments (revenue only when someone spent something), else the first of `fallback`
    that has such values; empty when no metric has."""
    for column in ("segment", "metric", "value"):
        if column not in profile:
            raise CxInputError(f"profile_chart_metrics takes a segment_profile result; column '{column}' is missing")
    shown = profile[profile["value"].notna() & ~profile.get("suppressed", pd.Series(False, index=profile.index))
                    .astype(bool)]

    def drawable(metric: str) -> bool:
        rows = shown[shown["metric"] == metric]
        values = rows["value"].astype(float)
        if metric == "revenue_per_customer" and not (values.abs() > 0).any():
            return False
        return rows["segment"].nunique() >= 2 and bool(np.isfinite(values).all())

    chosen = [m for m in preferred if drawable(m)]
    return chosen or [m for m in fallback if drawable(m)][:1]


def cues_headline(cues: pd.DataFrame, *, min_lift: float = 1.2) -> str:
    """One sentence on `personalisation_cues`: how many cues for how many segments; or that there
    is no touchpoint or channel use to compare (no events: the result is empty); or that no
    segment uses a touchpoint or channel `min_lift` times as much as average with a 95% interval
    above 1."""
    if not isinstance(cues, pd.DataFrame) or "cue" not in cues or "segment" not in cues:
        raise CxInputError("cues_headline takes a personalisation_cues result")
    if cues.empty:
        return "There is no touchpoint or channel use to compare: these customers have no events in this store."
    found = cues[cues["cue"].notna()]
    if found.empty:
        return (f"No segment uses a touchpoint or channel clearly more than average ({min_lift:g}x or more, with its 95% "
                "interval above 1): the segments use them alike, so there is no cue to tailor by.")
    n = found["segment"].nunique()
    return (f"{len(found)} cues in {n} segment{'' if n == 1 else 's'}: where a segment uses a touchpoint or channel "
            f"at least {min_lift:g}x as much as average, its 95% interval above 1.")


def _say(text: str) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return
    display(defaults.Note(text))


__all__ = ["RANGE_BINS", "breakdown_headline", "cues_headline", "fit_profile_breakdown", "numeric_attributes", "numeric_ranges",
           "profile_chart_metrics", "range_labels"]
