"""How two groups' journeys differ: the differential step matrix (retentioneering's step matrix of group A minus
group B), each cell tested with a two-proportion z-test and the flags corrected for many cells (Benjamini-Hochberg).

Definition: docs/metrics.md (paths).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from cxlib import sql
from cxlib.analysis.journey.common import LEVELS, _check_choice, _check_int, _date_bounds, _horizon, _segment
from cxlib.errors import CxDataError, CxInputError, unknown_name
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


def step_matrix_diff(
    con: duckdb.DuckDBPyConnection,
    *,
    groups: Sequence[str],
    by: str,
    max_steps: int = 8,
    level: str = "touchpoint",
    start=None,
    end=None,
    alpha: float = 0.05,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Differential step matrix: group A's step matrix minus group B's, with a test per cell.

    *Definition* (retentioneering's step matrix of two groups, retentioneering-tools
    src/retentioneering/tools/step_matrix.py ``_process_diff_matrix``: each group's matrix
    normalised by its own number of paths, the two aligned on the union of nodes with missing
    cells 0, then subtracted): :func:`step_matrix` of each segment of `by` (a customers column or
    'nps_group'; ``groups=(A, B)`` two of its values, e.g. ``("detractor", "promoter")``), so
    ``share_a`` = customers of A whose event at ``position`` is ``node`` / A's customers with an
    event in `start`..`end` (``'(ended)'``: journeys with fewer events), likewise ``share_b``, and
    ``diff = share_a - share_b``.

    *Test*: per cell, the two-proportion z-test with pooled variance (statsmodels'
    ``proportions_ztest`` default): p = (x_a + x_b) / (n_a + n_b), z = diff / sqrt(p (1 - p) (1/n_a +
    1/n_b)), two-sided ``p_value``; a cell with p = 0 or 1 has no variance: z NaN, p_value 1.
    ``p_adjusted``: Benjamini-Hochberg over the shown cells (statsmodels ``multipletests``,
    ``method='fdr_bh'``), ``significant`` = p_adjusted < `alpha` (false discovery rate `alpha`
    among the flagged cells).

    Suppression: each group's matrix is suppressed as :func:`step_matrix` (small cells, complementary
    within the position); a cell hidden in either group is hidden here (counts, shares, diff, test)
    and left out of the correction.

    Returns ``position, node, customers_a, share_a, customers_b, share_b, diff, z, p_value,
    p_adjusted, significant, suppressed``, by position then node; ``attrs['groups']`` = (A, B),
    ``attrs['n']`` = their customers. Raises CxInputError for a group that is not a value of `by`
    (did you mean), CxDataError when a group has no customer with an event in the range.
    """
    if by is None:
        raise CxInputError("step_matrix_diff needs by= (a customers column or 'nps_group') whose values are the groups")
    if isinstance(groups, str) or not isinstance(groups, Sequence) or len(groups) != 2:
        raise CxInputError(f"groups must be two values of {by!r}, e.g. ('detractor', 'promoter'), got {groups!r}")
    a, b = (str(g) for g in groups)
    if a == b:
        raise CxInputError(f"groups must be two different values, got {groups!r}")
    _check_int(max_steps, "max_steps")
    _check_choice(level, LEVELS, "level")
    check_min_group_size(min_group_size)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise CxInputError(f"alpha must be a number between 0 and 1 (e.g. 0.05), got {alpha!r}")
    lo, hi = _date_bounds(start, end)
    by_mode, slot = _segment(con, by)
    raw = sql.run(con, "paths_step_matrix", {"start": lo, "end": hi, "level": level, "max_steps": max_steps,
                                             "by_mode": by_mode, "horizon": _horizon(con, hi)}, {"segment": slot})
    _check_present(con, by, by_mode, slot, (a, b), set(raw["segment"]), start, end)
    raw = raw[raw["segment"].isin([a, b])][["segment", "position", "node", "customers", "share", "total"]]
    n = raw.groupby("segment")["total"].first()
    shown = suppress(raw.drop(columns="total"), n="customers", values=["share"], min_group_size=min_group_size,
                     within=["segment", "position"])
    cells = shown.assign(customers=raw["customers"].to_numpy())
    wide = cells.pivot_table(index=["position", "node"], columns="segment", values=["customers", "suppressed"],
                             aggfunc="first")
    out = pd.DataFrame(index=wide.index).reset_index()
    na, nb = int(n[a]), int(n[b])
    xa = wide[("customers", a)].fillna(0).to_numpy(dtype=float) if ("customers", a) in wide else np.zeros(len(out))
    xb = wide[("customers", b)].fillna(0).to_numpy(dtype=float) if ("customers", b) in wide else np.zeros(len(out))
    hid_a = wide[("suppressed", a)].eq(True).to_numpy() if ("suppressed", a) in wide else False
    hid_b = wide[("suppressed", b)].eq(True).to_numpy() if ("suppressed", b) in wide else False
    hidden = np.asarray(hid_a | hid_b, dtype=bool) | np.zeros(len(out), dtype=bool)
    _test_cells(out, xa, xb, na, nb, hidden, alpha)
    out["suppressed"] = hidden
    for col in ("customers_a", "customers_b"):
        out[col] = out[col].astype("Int64").mask(hidden)
    for col in ("share_a", "share_b", "diff", "z", "p_value", "p_adjusted"):
        out[col] = out[col].astype(float).mask(hidden)
    out["significant"] = out["significant"].astype(bool)
    out = out[["position", "node", "customers_a", "share_a", "customers_b", "share_b", "diff", "z", "p_value",
               "p_adjusted", "significant", "suppressed"]]
    out = out.sort_values(["position", "node"], kind="stable").reset_index(drop=True)
    out.attrs["groups"] = (a, b)
    out.attrs["n"] = (na, nb)
    return out


def _check_present(con, by, by_mode, slot, groups, known, start, end) -> None:
    """Each group must be a value of `by` (else did-you-mean) with customers in the range (else CxDataError)."""
    if by_mode == "nps":
        valid = {"promoter", "passive", "detractor", "no_response"}
    else:
        valid = {str(r[0]) if r[0] is not None else "(none)" for r in con.execute(
            f"SELECT DISTINCT CAST({slot} AS VARCHAR) FROM customers").fetchall()}
    for g in groups:
        if g not in valid:
            raise unknown_name(f"group of {by}", g, f"the values of {by}", valid)
        if g not in known:
            raise CxDataError(f"step_matrix_diff: no customer of {by} = {g!r} has an event between "
                              f"{start or 'the first event'} and {end or 'the last event'}")


def _test_cells(out, xa, xb, na, nb, hidden, alpha) -> None:
    """Shares, difference, pooled two-proportion z-test and Benjamini-Hochberg over the shown cells, in place."""
    out["customers_a"], out["customers_b"] = xa.astype("int64"), xb.astype("int64")
    out["share_a"], out["share_b"] = xa / na, xb / nb
    out["diff"] = out["share_a"] - out["share_b"]
    pooled = (xa + xb) / (na + nb)
    se = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, out["diff"].to_numpy() / se, np.nan)
    out["z"] = z
    out["p_value"] = np.where(np.isnan(z), 1.0, 2 * norm.sf(np.abs(z)))
    out["p_adjusted"] = np.nan
    out["significant"] = False
    keep = ~hidden
    if keep.any():
        reject, p_adj, _, _ = multipletests(out.loc[keep, "p_value"].to_numpy(), alpha=alpha, method="fdr_bh")
        out.loc[keep, "p_adjusted"] = p_adj
        out.loc[keep, "significant"] = reject
