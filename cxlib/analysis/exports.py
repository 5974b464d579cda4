"""Customer lists written for spreadsheets: CSV with formula injection neutralised.

Customer-level files are for the teams who act on them (closed loop, at-risk lists, segment
members), never for stakeholder reports.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` safe to open in a spreadsheet: every text cell starting with = + - @, a tab
    or a carriage return gets a leading apostrophe (OWASP "CSV injection"), so it is shown as
    text and never run as a formula. Numbers, dates and missing values are left alone;
    column names are neutralised too. The input is not changed.
    """
    def fix(v):
        if isinstance(v, str) and v.startswith(FORMULA_START):
            return "'" + v
        return v

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(fix)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path, *, quote_all: bool = False) -> Path:
    """Write `df` to CSV (UTF-8) with `neutralise_formulas` applied; returns the path written.

    Parent folders are created; `quote_all` quotes every text field. The input is not changed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(df).to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC if quote_all else csv.QUOTE_MINIMAL)
    return path
