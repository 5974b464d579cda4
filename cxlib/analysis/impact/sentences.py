"""What an impact analysis found and what its design can and cannot show, in plain sentences.

Definitions: docs/metrics.md ("Impact of a dated change").
"""

from __future__ import annotations

from cxlib.analysis.impact.result import DID, LABELS, ImpactResult
from cxlib.analysis.intervals import p_text as _p


def impact_headline(result: ImpactResult) -> str:
    """One sentence: the estimated effect with its interval and whether it is more than chance."""
    what = LABELS[result.metric] + (f" for {result.treated}" if result.treated else "")
    span = f"95% interval {result.ci_lower:+.1f} to {result.ci_upper:+.1f}; {_p(result.p_value)}"
    verdict = "a real effect" if result.significant else "no clear effect (within chance)"
    if result.significant and result.unreliable:
        verdict = "an apparent effect, but the design also finds effects at dates where nothing changed (see below)"
    if result.design == DID:
        return (f"After {result.change_date:%Y-%m-%d}, {what} moved by {result.estimate:+.1f} {result.unit} more than "
                f"for {result.comparison} ({span}): {verdict}")
    return (f"At {result.change_date:%Y-%m-%d}, {what} jumped by {result.estimate:+.1f} {result.unit} beyond its "
            f"earlier trend ({span}): {verdict}")


def impact_design(result: ImpactResult) -> str:
    """What the design can and cannot show, in plain words, with its own check."""
    label = LABELS[result.metric]
    periods = f"{result.periods_before} {result.period}s before and {result.periods_after} after"
    if result.design == DID:
        drift = result.check["pre_trend"]
        steady = (f"the gap between the groups drifted by {drift['estimate']:+.2f} per {result.period} "
                  f"({_p(drift['p_value'])}), so the groups were not moving in parallel and the estimate should be "
                  "read with care" if drift["p_value"] < 0.05 else
                  f"the gap between the groups held steady (drift {drift['estimate']:+.2f} per {result.period}, "
                  f"{_p(drift['p_value'])})")
        return (f"Design: difference in differences, as {result.reason}; {periods}. It shows how much more {label} "
                f"moved for {result.treated} than for {result.comparison}, which stands in for what would have "
                f"happened without the change. It cannot rule out something else that affected {result.treated} "
                f"alone at the same time, and it assumes both groups would otherwise have moved in parallel: before the change, "
                f"{steady}.")
    slope, placebo = result.check["slope_change"], result.check["placebo"]
    check = ""
    if placebo["dates"]:
        check = (f" A placebo check, moving the change to {placebo['dates']} dates before it was made, found an "
                 f"'effect' at {placebo['false_alarms']} of them")
        check += (": more than chance gives, so this series moves in ways the design does not capture; treat its "
                  "verdict with caution." if result.unreliable else ", no more than chance gives.")
    return (f"Design: interrupted time series, as {result.reason}; {periods}. It shows whether {label} jumped at the "
            f"date beyond the trend of the periods before (its trend changed by {slope['estimate']:+.2f} per "
            f"{result.period} after, {_p(slope['p_value'])}). It cannot tell the change apart from anything else that "
            "happened around the same date (a season, a campaign, a price change), and it assumes the earlier trend "
            f"would have gone on; a comparison group that the change did not reach would make it stronger.{check}")
