"""The impact of a dated change: which design the data allow, and the estimate with its interval.

Definitions: docs/metrics.md ("Impact of a dated change").
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from cxlib.analysis.features import to_timestamp
from cxlib.analysis.impact.data import observations, parse_treated, per_period
from cxlib.analysis.impact.designs import difference_in_differences, interrupted_time_series
from cxlib.analysis.impact.result import DID, ITS, LABELS, METRICS, MIN_PERIODS, PERIODS, ImpactResult
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size


def _check(metric, period, min_group_size, maxlags) -> None:
    if metric not in METRICS:
        raise unknown_name("metric", str(metric), "the metrics impact can judge", METRICS)
    if period not in PERIODS:
        raise unknown_name("period", str(period), "the periods", PERIODS)
    check_min_group_size(min_group_size)
    if maxlags is not None and (isinstance(maxlags, bool) or not isinstance(maxlags, int) or maxlags < 0):
        raise CxInputError(f"maxlags must be a whole number of at least 0 (or None for the rule of thumb), "
                           f"got {maxlags!r}")


def _sides(s: pd.DataFrame) -> tuple[int, int]:
    """Periods with data before and after the change."""
    return int((s["post"] == 0).sum()), int((s["post"] == 1).sum())


def _usable(s: pd.DataFrame, min_group_size: int) -> bool:
    """At least MIN_PERIODS periods on each side and min_group_size observations on each side."""
    before, after = _sides(s)
    counts = s.groupby("post")["n"].sum()
    return before >= MIN_PERIODS and after >= MIN_PERIODS and min(counts.get(0, 0), counts.get(1, 0)) >= min_group_size


def _labelled(series: pd.DataFrame, labels: dict, min_group_size: int) -> pd.DataFrame:
    """The per-period series as shown: period, group, n, value, fitted, expected, suppressed
    (periods of a group with fewer than min_group_size observations hidden, complementary per period)."""
    from cxlib.privacy import suppress

    out = series.assign(group=series["treated"].map(labels))
    out = out[["period", "group", "n", "mean", "fitted", "expected"]].rename(columns={"mean": "value"})
    out = suppress(out, n="n", values=["value"], min_group_size=min_group_size, within=["period"])
    out["n"] = pd.to_numeric(out["n"], errors="coerce").astype("Float64").round().astype("Int64")
    return out.sort_values(["group", "period"]).reset_index(drop=True)


def impact(
    con: duckdb.DuckDBPyConnection,
    *,
    metric: str = "csat",
    change_date=None,
    treated=None,
    period: str = "week",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    maxlags: int | None = None,
) -> ImpactResult:
    """The impact of a change made on `change_date` on `metric` ('nps', 'csat', 'ces' or 'fcr').

    *Definition* (docs/metrics.md): observations are NPS answers (+100 / 0 / -100), CSAT answers
    (100 for 4-5, else 0), CES answers (1-7) or resolved tickets (100 when solved at the first
    contact), averaged per `period` (week, month, quarter); periods from the change date on are
    "after", periods that ended by it "before", and a period holding the change date is left out.
    - `treated` ('column: value': a customer attribute, or the answer's or ticket's channel) with
      a comparison group (every other value) holding data in at least 3 periods on each side:
      **difference in differences**, two-way fixed effects y = a + b treated + l_period +
      d treated x after over the periods where both groups have data, least squares on each
      customer's mean per period weighted by its observations (the fit on the single observations),
      standard errors clustered by customer (CRV1 with statsmodels' small-sample factor, computed
      on the data within-transformed by period), t interval with G - 1 degrees of freedom; the
      estimate is d.
      ``check['pre_trend']``: the drift of the gap per period before the change (treated x t in
      place of the effect, over the periods before; the parallel-trends check).
    - otherwise (no `treated`, or no comparison group): **interrupted time series**, the segmented
      regression mean_t = b0 + b1 t + b2 after_t + b3 (t - t0) after_t (t = periods since the
      first, t0 the first period after), weights n, HAC errors; the estimate is b2, the jump at
      the change beyond the earlier trend; ``check['slope_change']`` is b3.
    HAC lags: `maxlags`, or floor(4 (T/100)^(2/9)) (Newey-West 1994) for T periods; statsmodels WLS.
    Needs data in at least 3 periods on each side (CxDataError otherwise, in plain words).
    """
    _check(metric, period, min_group_size, maxlags)
    if change_date is None:
        raise CxInputError("impact needs change_date: the day the change took effect, such as '2026-01-01'")
    change = pd.Timestamp(to_timestamp(change_date, "change_date"))
    group = parse_treated(con, treated)
    cells = observations(con, metric, period, group, change, start, end)
    mine = per_period(cells[cells["treated"] == 1])
    if not _usable(mine, min_group_size):
        before, after = _sides(mine)
        raise CxDataError(f"judging a change needs {LABELS[metric]} data in at least {MIN_PERIODS} {period}s before "
                          f"{change:%Y-%m-%d} and {MIN_PERIODS} from it on (with {min_group_size} observations on "
                          f"each side); the data give {before} before and {after} after")
    return _design(cells, metric, period, change, group, min_group_size, maxlags)


def _comparable(cells: pd.DataFrame, min_group_size: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The cells of the periods where both groups have data and their per-period series, when both
    groups are usable there."""
    both = cells.groupby("period")["treated"].transform("nunique") == 2
    cells = cells[both].reset_index(drop=True)
    s = per_period(cells)
    if _usable(s[s["treated"] == 1], min_group_size) and _usable(s[s["treated"] == 0], min_group_size):
        return cells, s
    return None


def _design(cells, metric, period, change, group, min_group_size, maxlags) -> ImpactResult:
    """Difference in differences when the comparison group is usable, else the interrupted time series."""
    treated_label = f"{group[0]} {group[1]}" if group else None
    comparison_label = f"{group[0]} other than {group[1]}" if group else None
    comparable = _comparable(cells, min_group_size) if group else None
    if comparable is not None:
        both, s = comparable
        terms, check, fitted = difference_in_differences(both, period)
        s = s.merge(fitted, on=["period", "treated"], how="left")
        s.loc[s["treated"] == 0, "expected"] = np.nan
        design, reason, labels = DID, f"a comparison group exists ({comparison_label})", {1: treated_label,
                                                                                          0: comparison_label}
    else:
        s = per_period(cells[cells["treated"] == 1]).reset_index(drop=True)
        terms, check, fitted, expected = interrupted_time_series(s, period, maxlags)
        s = s.assign(fitted=fitted, expected=expected)
        design, labels = ITS, {1: treated_label or "all"}
        reason = ("no comparison group was given" if not group else
                  f"the comparison group ({comparison_label}) has too little data on one side of the change")
    before, after = _sides(s[s["treated"] == 1])
    main, terms = terms.iloc[0], terms.drop(columns="name")
    return ImpactResult(metric=metric, design=design, change_date=change, period=period, treated=treated_label,
                        comparison=comparison_label if design == DID else None, estimate=main["estimate"],
                        ci_lower=main["ci_lower"], ci_upper=main["ci_upper"], p_value=main["p_value"], terms=terms,
                        series=_labelled(s, labels, min_group_size), periods_before=before, periods_after=after,
                        check=check, reason=reason)
