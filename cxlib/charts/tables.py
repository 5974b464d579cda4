"""Result tables for people: one set of formatting rules, drawn with great_tables, the same in
JupyterLab and in rendered reports.

A result frame is made for computing (fixed snake_case columns, shares as 0-1 fractions,
intervals in their own columns, timedeltas, a ``suppressed`` flag). `table(df)` shows it the way
a reader expects:

- no index column; headers in plain words ("conversion_from_first" -> "Conversion from first",
  with NPS, CSAT, CES, CLV, RFM spelled as such);
- counts as whole numbers with thousands separators (18,030, never 18030.0);
- shares (0-1) as percentages ("42.3%"); scores already in percent (CSAT, easy share) with a % sign;
- an interval joined to its value: "17 (14-19)";
- durations in human units ("24 s", "3 min", "2.4 days");
- p-values as "< 0.001" or to two significant digits;
- lists as "a > b > c"; booleans as yes / no;
- hidden values (suppressed groups) as "–", with one footnote saying why; the ``suppressed``
  column itself is not shown;
- a rating left blank says why: "no ratings" when nobody answered, "too few" when fewer answered
  than can be shown (read from its count column, ``csat_n`` for ``csat``);
- a column that holds nothing in any shown row is left out (the ratings of a store without
  surveys), and so is a ``stage`` column that is "unmapped" in every row;
- a named index (a frame grouped by a column) becomes ordinary columns; a plain row index is
  never shown. Wide tables scroll sideways inside their box.

The kind of each column is read from its name and type (`column_kind`); pass ``kinds`` to say it.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pandas as pd

from cxlib.errors import CxInputError

HIDDEN = "–"
HIDDEN_NOTE = f"{HIDDEN} hidden: fewer people than the minimum group size, to protect their privacy."
ACRONYMS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "clv": "CLV", "rfm": "RFM", "ci": "CI", "id": "ID",
            "p90": "p90", "r2": "R²", "cx": "CX", "vif": "VIF"}
HEADERS = {"n": "n", "csat_n": "CSAT answers", "ces_n": "CES answers", "p": "p", "p_value": "p-value",
           "p_adjusted": "p-value (adjusted)", "diff": "Difference", "z": "z", "t": "t", "r_squared": "R²",
           "ces_high": "CES high", "r_peak_end": "r (peak-end)", "r_mean": "r (mean)", "r_peak": "r (peak)",
           "r_end": "r (end)", "k": "Clusters", "coef": "Coefficient", "se": "Standard error",
           "over_representation": "Over-representation", "excess": "Extra drop-off", "baseline": "Compared with",
           "reversed_share": "Went back later", "skipped_over": "Jumped over it",
           "partner_r": "r with partner"}
COUNT_NAMES = re.compile(r"^(n|count|customers|answers|responses|events|orders|tickets|churned|retained|promoters|"
                         r"passives|detractors|reached|dropped|dropped_off|open_window|transitions|switches|contacts|"
                         r"not_judged|cases|occurrences|at_risk|events_.*|.*_count|n_.*|.*_n|.*_customers|.*_answers)$")
SHARE_NAMES = re.compile(r"(^|_)(rate|share|retention|conversion|probability|lift_share|dropoff|reach|survival_at|"
                         r"excess)(_|$)|^conversion_|_rate$|^retention|^share|^friction_score$")
PERCENT_POINT_NAMES = {"csat", "easy_share", "importance", "nps_share", "share_of_r2"}
RATIO_NAMES = {"lift"}  # ratios near 1, where a tenth hides the difference: two decimals ("1.05 (1.02-1.08)")
P_VALUE_NAMES = re.compile(r"^(p|p_value|p_adjusted|pvalue)$")
# A rating and the count of answers (or tickets) behind it, with the words for "nobody answered".
RATED = {"csat": ("csat_n", "no ratings"), "ces": ("ces_n", "no ratings"), "ces_high": ("ces_n", "no ratings"),
         "ticket_contacts": ("tickets", "no tickets")}
TOO_FEW = "too few"
UNMAPPED = "unmapped"  # the stage of a touchpoint the stage map does not know
KINDS = ("count", "share", "percent", "number", "p_value", "duration", "text", "list", "bool", "date")
# Columns whose values name one of our metrics, factors or groups ('revenue_per_customer', 'not_switched'):
# snake_case names there are written in words like headers; a store's own values (touchpoints) stay as they are.
NAME_COLUMNS = {"metric", "driver", "group", "covariate", "breakdown", "attribute", "factor"}
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def header(name: str) -> str:
    """A column name in plain words: 'median_time_to_convert' -> 'Median time to convert'."""
    if str(name) in HEADERS:
        return HEADERS[str(name)]
    if str(name).endswith("_n") and len(str(name)) > 2:
        return f"{header(str(name)[:-2])} answers"
    words = [ACRONYMS.get(w.lower(), w) for w in str(name).split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else str(name)


def count(value) -> str:
    """A whole number for reading: 18030 -> '18,030'; missing -> ''."""
    if _missing(value):
        return ""
    return f"{round(float(value)):,}"


def percent(value, *, of_one: bool = True, decimals: int = 1) -> str:
    """A share as a percentage: 0.4234 -> '42.3%' (of_one=False: 42.34 -> '42.3%')."""
    if _missing(value):
        return ""
    value = float(value) * (100 if of_one else 1)
    return f"{value:,.{decimals}f}%"


def number(value, decimals: int | None = 1) -> str:
    """A measured value: one decimal by default; None: three significant digits; inf as the sign."""
    if _missing(value):
        return ""
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.{decimals}f}" if decimals is not None else f"{value:.3g}"


def p_value(value) -> str:
    """'< 0.001' below one in a thousand, else two significant digits."""
    if _missing(value):
        return ""
    value = float(value)
    return "< 0.001" if value < 0.001 else f"{value:.2g}"


def duration(value) -> str:
    """A duration in human units: seconds (a number or a timedelta) -> '24 s', '3 min', '5.5 h', '2.4 days'."""
    if _missing(value):
        return ""
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def interval(value: str, lower: str, upper: str) -> str:
    """A formatted value with its formatted interval: '17 (14-19)'; without bounds, the value alone."""
    if not value:
        return value
    if not lower or not upper:
        return value
    if value.endswith("%") and lower.endswith("%") and upper.endswith("%"):
        lower = lower[:-1]  # '66.1% (62.5-69.6%)'
    return f"{value} ({lower} to {upper})" if "-" in lower + upper else f"{value} ({lower}-{upper})"


def path(value) -> str:
    """A list of steps as 'a > b > c'."""
    if value is None or (not isinstance(value, (list, tuple)) and _missing(value)):
        return ""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return " > ".join(str(v) for v in list(value))
    return str(value)


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def column_kind(name: str, values: pd.Series) -> str:
    """The kind of a result column, from its name and type (one of KINDS)."""
    lower = str(name).lower()
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_timedelta64_dtype(values) or lower.endswith(("_seconds", "_duration")) or "time_to" in lower:
        return "duration"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    sample = values.dropna()
    if values.dtype == object and len(sample) and isinstance(sample.iloc[0], (list, tuple, np.ndarray)):
        return "list"
    if not pd.api.types.is_numeric_dtype(values):
        return "text"
    if P_VALUE_NAMES.match(lower):
        return "p_value"
    if lower in PERCENT_POINT_NAMES:  # CSAT is a 0-1 share in journey results, percent points in VoC
        return "share" if lower == "csat" and len(sample) and (sample.abs() <= 1).all() else "percent"
    if SHARE_NAMES.search(lower) and (sample.abs() <= 1).all():
        return "share"
    if SHARE_NAMES.search(lower) and len(sample) and sample.between(0, 100).all():
        return "percent"  # a share already in percent points (theme and topic shares)
    whole = len(sample) == 0 or (sample == sample.round()).all()
    if COUNT_NAMES.match(lower) or (whole and pd.api.types.is_integer_dtype(values)):
        return "count"
    return "number"


_TABLE_NUMBERS = itertools.count(1)  # one kernel runs one notebook top to bottom

_FORMAT = {
    "count": count,
    "share": percent,
    "percent": lambda v: percent(v, of_one=False),
    "number": number,
    "p_value": p_value,
    "duration": duration,
    "list": path,
    "bool": lambda v: "" if _missing(v) else ("yes" if v else "no"),
    "date": lambda v: "" if _missing(v) else (f"{v:%Y-%m-%d}" if pd.Timestamp(v).normalize() == pd.Timestamp(v)
                                              else f"{v:%Y-%m-%d %H:%M}"),
    "text": lambda v: "" if _missing(v) else str(v),
}


def formatted(df: pd.DataFrame, *, kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """The frame as text for reading (see the module docstring): intervals joined to their value,
    hidden values as '–', blank ratings said in words, empty columns, the ``suppressed`` column and a
    ``segment`` column that is 'all' on every row left out, no index. For display only."""
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"a table takes a DataFrame, got {type(df).__name__}")
    kinds = dict(kinds or {})
    bad = {k: v for k, v in kinds.items() if v not in KINDS}
    if bad:
        raise CxInputError(f"unknown column kinds {bad}; kinds: {', '.join(KINDS)}")
    if any(n is not None for n in df.index.names):
        df = df.reset_index()
    df = df.reset_index(drop=True)
    hidden = df["suppressed"].fillna(False).astype(bool) if "suppressed" in df else pd.Series(False, index=df.index)
    bounds = _interval_columns(list(df.columns), df)
    inner = {b for pair in bounds.values() for b in pair}
    left_out = _empty_columns(df, hidden) | inner | {"suppressed"}
    if "segment" in df and len(df) and df["segment"].astype(str).eq("all").all():
        left_out.add("segment")  # no breakdown: a column saying 'all' on every row says nothing
    out = pd.DataFrame(index=df.index)
    for name in df.columns:
        if name in left_out:
            continue
        kind = kinds.get(name) or column_kind(name, df[name])
        parts = [df[name]] + [df[b] for b in bounds.get(name, ()) if b in df]
        fmt = _formatter(kind, pd.concat(parts, ignore_index=True), str(name))
        text = df[name].map(fmt)
        if kind == "text" and str(name) in NAME_COLUMNS:
            text = text.map(lambda v: header(v) if _SNAKE.match(v) or v in ACRONYMS else v)
        if name in bounds:
            lo, hi = bounds[name]
            text = pd.Series([interval(v, a, b) for v, a, b in zip(text, df[lo].map(fmt), df[hi].map(fmt))],
                             index=df.index)
        text = text.mask(hidden & (text == ""), HIDDEN)
        out[str(name)] = _rating_words(df, name, text, hidden)
    return out


def _formatter(kind: str, values: pd.Series, name: str = ""):
    """How to write one column's values; a measured number gets one precision for its column:
    a ratio near 1 (RATIO_NAMES) two decimals, whole numbers none, a column reaching 1 one decimal,
    smaller figures three significant digits."""
    if kind != "number":
        return _FORMAT[kind]
    if name in RATIO_NAMES:
        return lambda v: number(v, 2)
    finite = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = finite[np.isfinite(finite)]
    decimals = 0 if not len(finite) or (finite == finite.round()).all() else 1 if finite.abs().max() >= 1 else None
    return lambda v: number(v, decimals)


def _rating_words(df: pd.DataFrame, name, text: pd.Series, hidden: pd.Series) -> pd.Series:
    """A blank rating in a shown row: 'no ratings' when nobody answered, 'too few' otherwise."""
    if name not in RATED or RATED[name][0] not in df:
        return text
    n = pd.to_numeric(df[RATED[name][0]], errors="coerce").fillna(0)
    blank = (text == "") & ~hidden
    words = pd.Series(np.where(n > 0, TOO_FEW, RATED[name][1]), index=df.index)
    return text.mask(blank, words)


def _empty_columns(df: pd.DataFrame, hidden: pd.Series) -> set:
    """Columns with nothing to show in any shown row (a rating nobody gave, with its count of
    answers), and a ``stage`` column that is 'unmapped' throughout."""
    shown = df[~hidden]
    if not len(shown):
        return set()
    empty = {c for c in df.columns if c != "suppressed" and all(_missing(v) for v in shown[c])}
    answered = {cnt for cnt in {RATED[c][0] for c in df.columns if c in RATED} if cnt in df
                and pd.to_numeric(df[cnt], errors="coerce").fillna(0).gt(0).any()}
    empty -= {c for c in empty if c in RATED and RATED[c][0] in answered}
    for cnt in {RATED[c][0] for c in df.columns if c in RATED} - answered:
        if cnt in df and all(c in empty for c in df.columns if c in RATED and RATED[c][0] == cnt):
            empty.add(cnt)
    if "stage" in df and shown["stage"].eq(UNMAPPED).all():
        empty.add("stage")
    return empty


def _interval_columns(columns: list[str], df: pd.DataFrame | None = None) -> dict[str, tuple[str, str]]:
    """Value column -> (lower, upper): 'x_lower'/'x_upper' (or '_ci_' forms) pair with 'x'; a bare
    ci_lower/ci_upper pair belongs to the nearest column before it whose values it contains (the
    funnel's interval is the conversion's, not the time's just before it)."""
    found = {}
    for name in columns:
        for lo_suffix, hi_suffix in (("_ci_lower", "_ci_upper"), ("_lower", "_upper")):
            if name.endswith(lo_suffix):
                base = name[: -len(lo_suffix)]
                if base + hi_suffix not in columns:
                    continue
                # the value is 'x', else the column just before the bounds that starts with 'x_' (median_survival)
                before = [c for c in columns[:columns.index(name)] if str(c).startswith(base + "_")]
                value = base if base in columns else before[-1] if before else None
                if value is not None:
                    found[value] = (name, base + hi_suffix)
    if "ci_lower" in columns and "ci_upper" in columns:
        i = columns.index("ci_lower")
        before = [c for c in columns[:i] if c not in ("suppressed",)]
        inside = [c for c in before if df is None or _contains(df, c)]
        if inside:
            found[inside[-1]] = ("ci_lower", "ci_upper")
    return found


def _contains(df: pd.DataFrame, name) -> bool:
    """Whether every value of a numeric column lies within ci_lower..ci_upper (where all three are given)."""
    values = df[name]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    v, lo, hi = (pd.to_numeric(x, errors="coerce").astype("float64") for x in (values, df["ci_lower"], df["ci_upper"]))
    given = v.notna() & lo.notna() & hi.notna()
    return bool(given.any() and ((lo[given] <= v[given] + 1e-9) & (v[given] <= hi[given] + 1e-9)).all())


def table(df: pd.DataFrame, *, title: str | None = None, kinds: dict[str, str] | None = None,
          note: str | None = None, rows: int | None = None):
    """A great_tables table of a result frame for people (see the module docstring): the one way a
    notebook shows a result table, the same in JupyterLab and in a rendered report.

    `title` sits above it, `note` below; `rows` keeps the first rows only. A '–' footnote is
    added when any value is hidden. A wide table scrolls sideways inside its box.
    """
    from great_tables import GT

    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"a table takes a DataFrame, got {type(df).__name__}")
    if any(n is not None for n in df.index.names):
        df = df.reset_index()
    df = df.head(rows) if rows else df
    shown = formatted(df, kinds=kinds)
    box = f"cx-table-{next(_TABLE_NUMBERS)}"  # numbered, not random: a page is the same on every run
    gt = GT(shown, id=box).cols_label(cases={c: header(c) for c in shown.columns})  # a column may be named "cases"
    numeric = [c for c in shown.columns if c in df and (kinds or {}).get(c, column_kind(c, df[c])) not in ("text", "list",
                                                                                                         "bool", "date")]
    if numeric:
        gt = gt.cols_align(align="right", columns=numeric)
    if title:
        gt = gt.tab_header(title=title)
    notes = [n for n in (note, HIDDEN_NOTE if (shown == HIDDEN).any().any() else None) if n]
    for text in notes:
        gt = gt.tab_source_note(source_note=text)
    # The report's sanitiser keeps a <style> block but not overflow-x in a style attribute: the box scrolls by id.
    # numbers and intervals ("87.4% (86.4-88.3%)") stay on one line; text columns wrap
    gt = gt.opt_css(f"#{box} {{ overflow-x: auto; max-width: 100%; }} #{box} td.gt_right {{ white-space: nowrap; }}")
    return gt.tab_options(table_font_size="14px", container_overflow_x="auto")
