"""Journey results as tables a reader can take in: no NaN, NaT or None, no column that holds nothing.

The journey functions return frames with blank values where a value cannot be given: a
suppressed group, a rating with too few answers, a first step with no time from a previous one,
a store with no survey at all. Shown as they are, those blanks read ``NaN`` and ``NaT``.
:func:`journey_table` says instead why a value is missing, and leaves out the columns that hold
nothing on this store (e.g. the ratings of a clickstream without surveys). The numbers are
unchanged; only how blanks and durations are written differs.
"""

from __future__ import annotations

import pandas as pd

# A rated value and the count of answers (or tickets) behind it; the label when that count is 0.
RATED = {
    "csat": ("csat_n", "no ratings"), "csat_lower": ("csat_n", "no ratings"), "csat_upper": ("csat_n", "no ratings"),
    "ces": ("ces_n", "no ratings"), "ces_lower": ("ces_n", "no ratings"), "ces_upper": ("ces_n", "no ratings"),
    "ces_high": ("ces_n", "no ratings"), "ticket_contacts": ("tickets", "no tickets"),
}
# Counts: whole numbers, which a blank in the column turns into decimals.
COUNTS = {"customers", "transitions", "switches", "cases", "occurrences", "dropped_off", "gap_customers", "csat_n",
          "ces_n", "tickets", "open_window", "dropped"}
TOO_FEW = "too few"  # a value with answers behind it, but fewer than min_group_size (or one, for an interval)
BLANK = "–"  # nothing to show (e.g. the time to the first step, which has no previous step)
UNMAPPED = "unmapped"  # the stage of a touchpoint the stage map does not know


def journey_table(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a journey result for a report: blanks said in words, empty columns left out.

    - a column with no value in any row is left out, and so is a ``stage`` column that is
      'unmapped' in every row; a rating column only when nobody answered (its count is 0 in every
      row), and then its count column with it;
    - in a suppressed row (``suppressed=True``) the blanked values are empty cells;
    - a rating whose count is 0 reads 'no ratings' ('no tickets' for ticket_contacts), a rating
      left blank for too few answers 'too few';
    - any other blank reads '–'; durations are rounded to the second, and counts that suppression
      turned into decimals (``customers``, ``transitions``, ...) are whole numbers again.

    The index is kept; other values are unchanged (numbers stay numbers, in columns of dtype object
    where a column mixes them with words).
    """
    out = df.copy()
    unrated = {n for n in {RATED[c][0] for c in out.columns if c in RATED}
               if n in out and pd.to_numeric(out[n], errors="coerce").fillna(0).eq(0).all()}
    empty = [c for c in out.columns if c != "suppressed" and len(out) and out[c].isna().all()
             and (c not in RATED or RATED[c][0] not in out or RATED[c][0] in unrated)]
    empty += [n for n in unrated if all(c in empty for c in out.columns if c in RATED and RATED[c][0] == n)]
    if "stage" in out and len(out) and out["stage"].eq(UNMAPPED).all():
        empty.append("stage")
    out = out.drop(columns=empty)
    hidden = out["suppressed"].astype(bool) if "suppressed" in out else pd.Series(False, index=out.index)
    return pd.DataFrame({c: out[c] if c == "suppressed" else _column(out, c, hidden) for c in out.columns},
                        index=out.index)


def _column(out: pd.DataFrame, col: str, hidden: pd.Series) -> pd.Series:
    values = out[col]
    if str(values.dtype).startswith("timedelta"):
        values = values.dt.round("s")
    missing = values.isna()
    count = col in COUNTS and pd.api.types.is_float_dtype(values.dtype)
    if not missing.any() and not count:
        return values
    shown = values.astype(object)
    if pd.api.types.is_float_dtype(values.dtype):  # numbers stay numbers (pandas' display precision applies)
        shown = pd.Series([None if pd.isna(v) else int(v) if count else float(v) for v in values],
                          index=values.index, dtype=object)
    labels = pd.Series(BLANK, index=out.index, dtype=object)
    if col in RATED and RATED[col][0] in out:
        n = pd.to_numeric(out[RATED[col][0]], errors="coerce")
        labels = labels.where(~n.gt(0), TOO_FEW).where(~n.eq(0), RATED[col][1])
    labels = labels.where(~hidden, "")
    return shown.where(~missing, labels)
