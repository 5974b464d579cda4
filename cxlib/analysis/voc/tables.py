"""Result tables as a report shows them: blanks where a value is hidden or cannot be computed.

The analysis functions keep suppressed rows (``suppressed=True``, values blanked to NaN) and
leave NaN where a figure cannot be computed (no promoters to compare with, one answer with no
spread). pandas prints those as ``NaN``, ``NaT`` or ``None``, which readers take for an error.
`display_table` gives a copy for display only: the same rows and columns, the numbers rounded
for reading, and missing values left blank. Compute with the original frame, never this one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cxlib.errors import CxInputError


def _number(value, decimals: int | None) -> str:
    """A number as a reader sees it: with `decimals` decimals (None: three significant digits),
    infinity as the sign, missing as a blank."""
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.{decimals}f}" if decimals is not None else f"{value:.3g}"


def _decimals(values: pd.Series) -> int | None:
    """One precision per column: whole numbers none, columns reaching 1 (scores, intervals,
    shares, differences) one decimal, smaller figures (p-values, correlations) three significant
    digits."""
    finite = values[np.isfinite(values)]
    if not len(finite) or (finite == finite.round()).all():
        return 0
    return 1 if finite.abs().max() >= 1 else None


def _column(col: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        return col
    if pd.api.types.is_datetime64_any_dtype(col):
        has_time = col.dropna().dt.normalize().ne(col.dropna()).any()
        return col.map(lambda v: "" if pd.isna(v) else f"{v:%Y-%m-%d %H:%M}" if has_time else f"{v:%Y-%m-%d}")
    if pd.api.types.is_timedelta64_dtype(col):
        return col.map(lambda v: "" if pd.isna(v) else str(v))
    if pd.api.types.is_numeric_dtype(col):
        values = col.astype("float64")
        decimals = _decimals(values)
        return values.map(lambda v: _number(v, decimals))
    return col.map(lambda v: "" if v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v)) else v)


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a result table for showing in a report: missing values (suppressed groups,
    figures that cannot be computed) as blanks, numbers rounded for reading with one precision per
    column (whole numbers without decimals; columns reaching 1 to one decimal; smaller figures
    such as p-values to three significant digits), dates without a time of day when none has one.
    Booleans and text are kept as they are. For display only."""
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"display_table takes a DataFrame, got {type(df).__name__}")
    out = df.copy()
    for name in out.columns:
        out[name] = _column(out[name])
    return out
