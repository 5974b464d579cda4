"""The result of an impact analysis and the vocabulary every part of it shares: the metrics it can
judge, their labels and units, the two designs.

Definitions: docs/metrics.md ("Impact of a dated change").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

METRICS = ("nps", "csat", "ces", "fcr")
PERIODS = ("week", "month", "quarter")
LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "fcr": "first-contact resolution"}
UNITS = {"nps": "points", "csat": "percentage points", "ces": "points (1-7 scale)", "fcr": "percentage points"}
AXIS = {"nps": "NPS", "csat": "CSAT (% satisfied)", "ces": "CES (1-7, higher = easier)",
        "fcr": "first-contact resolution (%)"}
DID, ITS = "difference in differences", "interrupted time series"
MIN_PERIODS = 3  # periods with data needed on each side of the change


@dataclass(frozen=True)
class ImpactResult:
    """The estimated impact of a change, with the design that gave it.

    ``estimate`` is the effect in the metric's units (`unit`) with its 95% interval and p-value:
    for difference in differences, how much more the treated group moved than the comparison
    group; for an interrupted time series, the jump at the change beyond the earlier trend.
    ``terms`` lists every estimated term; ``series`` the data per period and group with the
    fitted values and ``expected`` (what the design expects without the change).
    """

    metric: str
    design: str
    change_date: pd.Timestamp
    period: str
    treated: str | None
    comparison: str | None
    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float
    terms: pd.DataFrame
    series: pd.DataFrame
    periods_before: int
    periods_after: int
    check: dict = field(default_factory=dict)  # DiD: gap drift before the change; ITS: the slope change
    reason: str = ""  # why this design

    @property
    def unit(self) -> str:
        return UNITS[self.metric]

    @property
    def label(self) -> str:
        """The metric as a chart axis says it: 'CSAT (% satisfied)'."""
        return AXIS[self.metric]

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 0.05)

    @property
    def unreliable(self) -> bool:
        """The time series' placebo check found more false alarms than chance gives (P(X >= found) < 0.05
        for X ~ Binomial(dates, 0.05))."""
        from scipy.stats import binom

        placebo = self.check.get("placebo") or {}
        found, dates = placebo.get("false_alarms", 0), placebo.get("dates", 0)
        return bool(dates and found and binom.sf(found - 1, dates, 0.05) < 0.05)
