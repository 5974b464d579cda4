"""What the service analyses share: the ticket breakdowns, resolution-time bands, the observed window,
and the intervals every figure carries (Wilson for rates, t for means, order statistics for medians).

Definitions: docs/metrics.md ("Service responsiveness").
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from itertools import pairwise

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.intervals import t_interval, wilson_bounds
from cxlib.errors import CxInputError, unknown_name
from cxlib.store.connection import as_of as store_as_of

BY = {"channel": "channel", "category": "category"}  # breakdown -> tickets column
AGENT = "agent_id"
DEFAULT_BANDS = (24, 72)  # hours: 0-24 h, 24-72 h, > 72 h
ANSWER_WINDOW_HOURS = 48  # an answer within this long after resolution belongs to the ticket


def check_bands(bands) -> list[float]:
    """Band limits in hours: one to four increasing positive numbers, such as (24, 72)."""
    if isinstance(bands, (int, float)) and not isinstance(bands, bool):
        bands = [bands]
    if not isinstance(bands, (list, tuple)) or not 1 <= len(bands) <= 4:
        raise CxInputError(f"bands must be one to four limits in hours, such as (24, 72), got {bands!r}")
    limits = []
    for value in bands:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise CxInputError(f"bands must be positive numbers of hours, such as (24, 72), got {bands!r}")
        limits.append(float(value))
    if any(b <= a for a, b in pairwise(limits)):
        raise CxInputError(f"bands must increase, such as (24, 72), got {bands!r}")
    return limits


def _hours(value: float) -> str:
    return f"{value:g}"


def band_labels(limits: list[float]) -> list[str]:
    """'0-24 h', '24-72 h', '> 72 h' for limits (24, 72)."""
    edges = [0.0, *limits]
    labels = [f"{_hours(a)}-{_hours(b)} h" for a, b in pairwise(edges)]
    return labels + [f"> {_hours(limits[-1])} h"]


def check_window_hours(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise CxInputError(f"answer_window_hours must be a positive number of hours, such as 48, got {value!r}")
    return float(value)


def group_slot(con: duckdb.DuckDBPyConnection, by: str | None, *, agents: bool = False) -> sql.Ident:
    """The {grp} slot of the service queries: a checked tickets column, or 'all' for no breakdown."""
    if by is None:
        return sql.Ident("'all'")
    choices = {**BY, **({"agent": AGENT} if agents else {})}
    if by not in choices:
        raise unknown_name("breakdown", str(by), "the ticket breakdowns", choices)
    return sql.Ident("t." + sql.checked_column(con, "tickets", choices[by]))


def window(con: duckdb.DuckDBPyConnection, start, end) -> dict:
    """Bound parameters $start, $end (on opened_at) and $horizon: the store's as-of date, or the
    end when earlier. A date-only end ('2026-03-31') includes that whole day."""
    lo, hi = to_timestamp(start, "start"), to_timestamp(end, "end")
    if hi is not None and isinstance(end, str) and len(end.strip()) <= 10:
        hi = hi + timedelta(days=1)
    if lo is not None and hi is not None and hi <= lo:
        raise CxInputError(f"end ({end}) must be after start ({start})")
    horizon = store_as_of(con)
    if hi is not None and hi < horizon:
        horizon = hi
    return {"start": lo, "end": hi, "horizon": horizon}


def median_ranks(n: int, level: float = 0.95) -> tuple[int, int] | None:
    """1-based ranks (j, k) of the distribution-free interval for a median of n values.

    *Definition* (order statistics; Conover, Practical Nonparametric Statistics, 3rd ed., 3.2):
    j is the largest rank with P(B <= j - 1) <= (1 - level) / 2 for B ~ Binomial(n, 1/2), and
    k = n + 1 - j; [x_(j), x_(k)] covers the median with probability at least `level`.
    None when n is too small for any such j (n < 6 at 95%).
    """
    from scipy.stats import binom

    if n is None or n < 1:
        return None
    half = (1 - level) / 2
    j = int(binom.ppf(half, n, 0.5))
    while j + 1 <= n and binom.cdf(j, n, 0.5) <= half:  # P(B <= j) still within the tail: rank j + 1 fits
        j += 1
    while j >= 1 and binom.cdf(j - 1, n, 0.5) > half:
        j -= 1
    return (j, n + 1 - j) if j >= 1 else None


def with_wilson(df: pd.DataFrame, successes: str, n: str, name: str) -> pd.DataFrame:
    """Adds `name` = successes / n (0..1) with its 95% Wilson interval (name_lower, name_upper)."""
    out = df.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out[name] = (df[successes].astype(float) / df[n].astype(float).where(df[n] > 0)).astype(float)
    out[f"{name}_lower"], out[f"{name}_upper"] = wilson_bounds(df[successes].fillna(0), df[n].fillna(0))
    return out


def with_mean(df: pd.DataFrame, total: str, sumsq: str, n: str, name: str) -> pd.DataFrame:
    """Adds the mean `name` = total / n with its 95% t interval (name_lower, name_upper), from sums."""
    out = df.copy()
    m = df[n].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = df[total].astype(float) / m.where(m > 0)
        var = (df[sumsq].astype(float) - m * mean ** 2) / (m - 1).where(m > 1)
    sd = np.sqrt(var.clip(lower=0))
    bounds = [t_interval(a, s, k) for a, s, k in zip(mean, sd, m)]
    out[name] = mean.astype(float)
    out[f"{name}_lower"] = [lo for lo, _ in bounds]
    out[f"{name}_upper"] = [hi for _, hi in bounds]
    return out


def horizon_text(horizon: datetime) -> str:
    return f"{pd.Timestamp(horizon):%Y-%m-%d}"


def suppress_answered(df: pd.DataFrame, *, n: str, values: list[str], min_group_size: int,
                      within: list[str] | None = None) -> pd.DataFrame:
    """`cxlib.privacy.suppress` decides which rows with n > 0 are hidden; rows with n = 0 stay shown (an
    empty group hides nobody and must not trigger a complementary suppression), their values blank.
    Hidden rows get `values` and `n` blank (floats) and ``suppressed=True``."""
    from cxlib.privacy import suppress

    answered = df[n].fillna(0) > 0
    hidden = pd.Series(False, index=df.index)
    if answered.any():
        decided = suppress(df[answered], n=n, values=values, min_group_size=min_group_size, within=within)
        hidden.loc[decided.index] = decided["suppressed"].astype(bool).to_numpy()
    out = df.copy()
    for col in [*values, n]:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).where(~hidden)
    out["suppressed"] = hidden
    return out


def as_counts(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Count columns as whole numbers that may be blank (pandas Int64): a hidden count stays blank, never 'nan'."""
    out = df.copy()
    for col in columns:
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Float64").round().astype("Int64")
    return out
