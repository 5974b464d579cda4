"""Intervals and tests shared by every analysis: NPS (Wald, adjusted Wald), Wilson, t.

Definitions and sources: docs/metrics.md.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.errors import unknown_name

Z95 = 1.959963984540054  # the 97.5% normal quantile
INTERVALS = ("wald", "adjusted_wald")  # NPS interval methods


def p_text(p: float, name: str = "p") -> str:
    """A p-value for a sentence: 'p < 0.001' below one in a thousand, else two significant digits ('p = 0.028')."""
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.2g}"


def nps_interval(promoters: int, detractors: int, n: int, *, method: str = "wald") -> tuple[float, float]:
    """95% interval for NPS in points, clamped to [-100, 100]; (nan, nan) when n = 0.

    *Definition* (wald, docs/metrics.md): pP = promoters/n, pD = detractors/n,
    var = pP + pD - (pP - pD)^2, SE = sqrt(var / n), NPS +/- 1.96 * SE * 100.
    adjusted_wald (Rocks 2016, "Interval Estimation for the Net Promoter Score", The American
    Statistician 70(4), as popularised by Sauro at MeasuringU): add 3/4 to promoters and 3/4
    to detractors and use n + 3; the interval is centred on that adjusted NPS. It keeps a
    sensible width for small n and for all-promoter / all-detractor samples, where the Wald
    variance is 0.
    Clamping: an interval running past +/-100 is cut at +/-100 (NPS cannot leave that range).
    """
    if method not in INTERVALS:
        raise unknown_name("interval", str(method), "the NPS interval methods", INTERVALS)
    if n is None or n <= 0 or pd.isna(n):
        return (math.nan, math.nan)
    if method == "adjusted_wald":
        promoters, detractors, n = promoters + 0.75, detractors + 0.75, n + 3
    p_p, p_d = promoters / n, detractors / n
    centre = (p_p - p_d) * 100
    var = p_p + p_d - (p_p - p_d) ** 2
    half = Z95 * math.sqrt(max(var, 0.0) / n) * 100
    return (max(centre - half, -100.0), min(centre + half, 100.0))


def nps_se(promoters, detractors, n):
    """Standard error of NPS in points (multinomial, docs/metrics.md); nan when n = 0."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_p, p_d = np.asarray(promoters) / n, np.asarray(detractors) / n
        return np.sqrt((p_p + p_d - (p_p - p_d) ** 2) / n) * 100


def wilson_bounds(successes, n) -> tuple[pd.Series, pd.Series]:
    """95% Wilson score interval as shares (0..1) for each pair of counts; NaN where n is 0 or missing.

    *Definition*: the score interval of statsmodels ``proportion_confint(method='wilson')``,
    (p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), vectorised. At 0 successes the
    lower bound is exactly 0 and at n successes the upper bound exactly 1. Returns two Series on
    the index of `successes` when it is a Series.
    """
    index = successes.index if isinstance(successes, pd.Series) else None
    x = pd.to_numeric(pd.Series(successes).reset_index(drop=True), errors="coerce").astype(float).to_numpy()
    m = pd.to_numeric(pd.Series(n).reset_index(drop=True), errors="coerce").astype(float).to_numpy()
    ok = (m > 0) & ~np.isnan(x)
    lo, hi = np.full(len(m), np.nan), np.full(len(m), np.nan)
    x, m_ok = x[ok], m[ok]
    p = x / m_ok
    denom = 1 + Z95**2 / m_ok
    centre = (p + Z95**2 / (2 * m_ok)) / denom
    half = Z95 * np.sqrt(p * (1 - p) / m_ok + Z95**2 / (4 * m_ok**2)) / denom
    lo[ok] = np.where(x > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    hi[ok] = np.where(x < m_ok, np.clip(centre + half, 0.0, 1.0), 1.0)
    return pd.Series(lo, index=index), pd.Series(hi, index=index)


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion, in percent (0..100); (nan, nan) when n = 0.

    *Definition*: :func:`wilson_bounds` (statsmodels' ``proportion_confint(method='wilson')``).
    """
    if n is None or pd.isna(n) or n <= 0:
        return (math.nan, math.nan)
    lo, hi = wilson_bounds([successes], [n])
    return (float(lo.iloc[0]) * 100, float(hi.iloc[0]) * 100)


def t_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    """95% Student-t interval on a mean: mean +/- t(0.975, n-1) * sd / sqrt(n).

    (nan, nan) when n < 2 (one answer says nothing about spread).
    """
    if n is None or pd.isna(n) or n < 2 or pd.isna(sd):
        return (math.nan, math.nan)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return (mean - half, mean + half)
