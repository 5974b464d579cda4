"""Small-group suppression for stakeholder output: no group below the minimum size can be read,
or worked out from what else the table publishes.

One engine, `suppress`, for every grouped table and chart of the reports, and one ordering
helper, `order_published`. k below is `min_group_size`; a *cell* is a row of the frame and its
count is the `n` column.

The table's published totals are its *margins*. A margin is a list of columns: the rows that
share their values form a set whose total is published (in a total row of the same frame, in
another table of the same report, or through a share whose denominator is shown). The default
margin is the whole table (or each `within` set). A two-way table names two margins (its rows
and its columns); a table whose rows overlap (themes: a comment may be in several) names none.

Guarantees (for one call: the frame and the totals its margins name)
-------------------------------------------------------------------
1. A cell with 0 < n < k is hidden (*primary* suppression). A cell with n = 0 is shown: an
   empty group hides nobody, and a finding such as "nobody reached this step" stays visible.
   (A caller may force further rows hidden with `hidden=`, e.g. rows whose values would give
   away a cell hidden in another table; a forced row is hidden even when its n is 0.)
2. In every set of every margin, the hidden cells with n > 0 are either none, or at least two
   whose counts add up to k or more (*complementary* suppression, chosen per margin: the
   smallest visible cells of that same set, first in the frame's order on ties). When a set's
   total is itself below k, all its cells are hidden: that total is then a small group in its
   own right, hidden where it is shown (a total row of the frame gets primary suppression).
3. From that it follows, when the margins do not cross (one margin, or margins whose sets nest,
   such as segments inside the whole table): nothing published (visible cells, published totals,
   counts >= 0) fixes the value of a hidden cell with 0 < n < k, nor the sum of any set of
   hidden cells below k. Each set's hidden cells can each lie anywhere between 0 and their sum;
   only whole sums of hidden cells, each >= k, are determined.
4. When margins cross (a two-way table with row and column totals), step 2 is not enough (a
   hidden cell can be the only link between two groups of hidden cells). The engine then checks
   the table exactly: it sets up the margin equations with the hidden cells as unknowns and
   asks, by linear algebra, whether any hidden cell below k, or any set of hidden cells adding up
   to less than k, has its value fixed by them (its indicator vector lies in the row space of
   the equations restricted to the hidden cells; exact because hidden counts are positive, so
   the true table lies inside the feasible set; a hidden 0, which only a caller can force, is
   counted as known, which only makes the check stricter). Each such set gets one more cell hidden, in a
   margin set it belongs to (a cell that undoes the disclosure when there is one), and the check
   runs again until nothing is fixed. The search for the smallest fixed set is a mixed-integer
   program (scipy's milp); should it not finish within `AUDIT_SECONDS`, every cell of the table
   is hidden instead.
5. Hidden values are blanked in `n` and in `values`: integer counts become pandas nullable
   ``Int64`` (``<NA>`` where hidden) whether or not anything is hidden, so their type does not
   change with the data; the `n` column is always ``Int64``. Rows are never dropped: a hidden row
   stays, marked ``suppressed=True``.
6. Order: `suppress` keeps the rows in the order given. A table ordered by a count must not be
   ordered before its hidden values are blanked (the position of a hidden row would tell its
   count): `order_published` orders visible rows by visible columns and puts the hidden rows
   last, ordered by their labels only.

Limits (what this engine does not protect)
------------------------------------------
- Other tables: the same group in two tables with different margins can still be differenced;
  `suppress` sees one table. Callers name as margins the totals the same report shows beside it.
- Other runs: inside a report run (cxlib.privacy.ledger), rows whose count is 1 to k-1 away from
  a count published before for the same group are forced hidden before complements are chosen,
  and the rows left visible are recorded; runs cover complete periods (cxlib.report.periods).
- A sum fixed by the published totals alone (a published total below k, or two published totals
  whose difference is below k) cannot be protected by hiding cells; such sets are skipped by the
  check in 4 and must be handled where the totals are published.
- Only exact disclosure is prevented. A hidden cell can still be bounded (between 0 and the
  hidden sum of its set), and a complement is known to be no larger than the visible cells of
  its set.
- Only `n` is checked. A `values` column that counts a part of a row's group (promoters of a
  visible segment, the retained of a cohort, those who dropped at a funnel step) is shown with
  its row, even when that part is below k.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxlib.errors import CxInputError
from cxlib.privacy import ledger

MIN_GROUP_SIZE = 5
AUDIT_SECONDS = 20.0  # time the crossing-margin check may take per step before hiding the whole table
TRIALS = 30  # cells tried, smallest first, for one that unfixes a disclosed set
_TOL = 1e-9


def check_min_group_size(min_group_size: int) -> int:
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
        raise CxInputError(f"min_group_size must be a whole number of at least 1, got {min_group_size!r}")
    return min_group_size


def suppress(
    df: pd.DataFrame,
    *,
    n: str = "n",
    values: list[str],
    min_group_size: int = MIN_GROUP_SIZE,
    within: list[str] | None = None,
    margins: Sequence[Sequence[str]] | None = None,
    hidden=None,
    total: str | None = None,
) -> pd.DataFrame:
    """Hide every group below `min_group_size` and whatever would let one be worked out.

    `n`: the count column (a missing count is 0). `values`: the columns blanked with `n` in a
    hidden row. `margins`: lists of columns, each naming sets of rows whose total is published
    (see the module docstring); default ``[within]`` when `within` is given, else ``[[]]`` (the
    whole table); ``[]`` means no published total (rows overlap: primary suppression only).
    `hidden`: rows to hide whatever their count (a boolean array or Series, in the frame's order).
    `total`: a boolean column marking total rows of the frame: they are no cell of any set, get
    primary suppression only, and are never chosen as complements.

    Returns a copy with ``suppressed`` (bool), `n` as ``Int64`` and the hidden values blanked
    (integers as ``<NA>`` in ``Int64``, floats NaN, times NaT, other values None), rows in the
    order given. Guarantees and limits: module docstring and docs/metrics.md (small groups and
    privacy).
    """
    k = check_min_group_size(min_group_size)
    if n not in df.columns:
        raise CxInputError(f"suppress: no count column {n!r} in {list(df.columns)}")
    counts = _counts(df[n])
    is_total = (df[total].fillna(False).astype(bool).to_numpy() if total is not None
                else np.zeros(len(df), dtype=bool))
    forced = _forced(hidden, df)
    # k = 1 asks for raw counts (an intermediate result, suppressed where it is published): no ledger
    keys = ledger.group_keys(df, n, values) if ledger.active() and k > 1 else None
    if keys is not None:  # a report run: no count 1..k-1 away from one published before
        forced |= ledger.differencing(keys, counts, k)
    hide = forced | ((counts > 0) & (counts < k))
    partitions = _partitions(df, _margins(within, margins), ~is_total)
    hide = _choose(counts, partitions, k, hide, cells=~is_total)
    if keys is not None:
        ledger.record(keys, counts, ~hide)
    return _blank(df, hide, [n] + [c for c in values if c != n], count=n)


def order_published(
    df: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    ascending: bool | Sequence[bool] = True,
    keys: Sequence[str],
    groups: Sequence[str] = (),
) -> pd.DataFrame:
    """`df` (a result of `suppress`) in an order no hidden value decides.

    Rows stay in blocks of equal `groups` values, the blocks in the order they first appear.
    Within a block the visible rows come first, sorted by `by` (with `ascending`) and then by
    `keys`; the suppressed rows follow, sorted by `keys` alone (labels such as a touchpoint or a
    variant, never a count). Lists in `keys` sort as tuples. Index reset.
    """
    by, keys, groups = list(by), list(keys), list(groups)
    asc = [ascending] * len(by) if isinstance(ascending, bool) else list(ascending)
    if len(asc) != len(by):
        raise CxInputError("order_published: one ascending flag per column of by")
    block = (df.groupby(groups, sort=False, dropna=False).ngroup() if groups and len(df)
             else pd.Series(0, index=df.index))
    hidden = df["suppressed"].astype(bool)
    work = df.assign(_block=block, _hidden=hidden.astype(int))
    shown = work[~hidden].sort_values(["_block"] + by + keys, ascending=[True] + asc + [True] * len(keys),
                                      kind="stable", na_position="last", key=_sortable)
    rest = work[hidden].sort_values(["_block"] + keys, kind="stable", na_position="last", key=_sortable)
    out = pd.concat([shown, rest]).sort_values(["_block", "_hidden"], kind="stable")
    return out.drop(columns=["_block", "_hidden"]).reset_index(drop=True)


# --------------------------------------------------------------------------- helpers


def _sortable(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        return s.map(lambda v: tuple(v) if isinstance(v, (list, np.ndarray)) else v)
    return s


def _counts(col: pd.Series) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").astype("Float64").fillna(0).to_numpy(dtype=float)
    if (values < 0).any() or (values != np.round(values)).any():
        raise CxInputError(f"suppress: the count column {col.name!r} must hold whole numbers of at least 0")
    return values.astype(np.int64)


def _forced(hidden, df: pd.DataFrame) -> np.ndarray:
    if hidden is None:
        return np.zeros(len(df), dtype=bool)
    out = pd.array(list(np.asarray(hidden, dtype=object)), dtype="boolean").fillna(False).to_numpy(dtype=bool)
    if len(out) != len(df):
        raise CxInputError(f"suppress: hidden has {len(out)} values for {len(df)} rows")
    return out


def _margins(within, margins) -> list[list[str]]:
    if margins is not None and within is not None:
        raise CxInputError("suppress: give within or margins, not both")
    if margins is not None:
        return [list(m) for m in margins]
    return [list(within)] if within is not None else [[]]


def _partitions(df: pd.DataFrame, margins: list[list[str]], cells: np.ndarray) -> list[list[np.ndarray]]:
    """For each margin, the sets of row positions (cells only) sharing its columns' values."""
    positions = np.flatnonzero(cells)
    out = []
    for cols in margins:
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise CxInputError(f"suppress: margin columns {missing} not in the frame")
        if not cols:
            out.append([positions] if len(positions) else [])
            continue
        sub = df.iloc[positions]
        groups = sub.groupby(cols, dropna=False, sort=False).indices
        out.append([positions[np.asarray(ix)] for ix in groups.values()])
    return out


def _choose(counts: np.ndarray, partitions, k: int, hide: np.ndarray, *, cells: np.ndarray) -> np.ndarray:
    """Complementary suppression per margin set, then, for crossing margins, the exact check."""
    hide = hide.copy()
    crossing = _crossing(partitions, len(counts))
    skipped: set[frozenset] = set()
    alone = None  # the positive cells and the row space of their equations (what the totals alone fix)
    while True:
        changed = False
        for sets in partitions:
            for idx in sets:
                changed |= _complete(counts, idx, hide, k)
        if changed:
            continue
        if not crossing:
            return hide
        found = _disclosed(counts, partitions, hide, k, skipped)
        if found is None:
            return hide
        if found == "timeout":
            hide[cells & (counts > 0)] = True
            return hide
        if alone is None:
            positive = np.flatnonzero(cells & (counts > 0))
            alone = (positive, _row_space(_equations(partitions, positive)))
        if not _protect(counts, partitions, hide, found, cells, alone):
            skipped.add(frozenset(found))


def _complete(counts: np.ndarray, idx: np.ndarray, hide: np.ndarray, k: int) -> bool:
    """Hide the smallest visible cells of one set until its hidden cells (n > 0) are none, or at
    least two adding up to k or more, or all of them."""
    positive = idx[counts[idx] > 0]
    hidden = positive[hide[positive]]
    if not len(hidden):
        return False
    changed = False
    while counts[hidden].sum() < k or len(hidden) < 2:
        shown = positive[~hide[positive]]
        if not len(shown):
            break
        pick = shown[np.lexsort((shown, counts[shown]))[0]]
        hide[pick] = True
        hidden = np.append(hidden, pick)
        changed = True
    return changed


def _crossing(partitions, size: int) -> bool:
    """True unless the margins nest: of any two, each set of one lies inside a set of the other."""
    labels = []
    for sets in partitions:
        label = np.full(size, -1)
        for i, idx in enumerate(sets):
            label[idx] = i
        labels.append(label)
    for a in range(len(labels)):
        for b in range(a + 1, len(labels)):
            cells = labels[a] >= 0
            pairs = pd.DataFrame({"a": labels[a][cells], "b": labels[b][cells]}).drop_duplicates()
            if pairs["a"].duplicated().any() and pairs["b"].duplicated().any():
                return True
    return False


def _equations(partitions, columns: np.ndarray) -> np.ndarray:
    rows = []
    for sets in partitions:
        for idx in sets:
            rows.append(np.isin(columns, idx).astype(float))
    return np.array(rows) if rows else np.zeros((0, len(columns)))


def _disclosed(counts, partitions, hide, k, skipped) -> list[int] | str | None:
    """The smallest set of hidden cells (n > 0) adding up to less than k whose sum the margins fix,
    or 'timeout' when the solver could not tell within AUDIT_SECONDS, or None.

    A mixed-integer program (scipy's milp, HiGHS): binary y_i marks the cells of the set, free
    lambda_s weighs the margin equations, and sum_s lambda_s * [i in s] = y_i for every hidden cell
    i (the set's indicator lies in the row space of the equations: its sum is fixed). Minimise the
    set's count; only cells below k can be in a set below k. Integer data, so the answer is exact.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    unknown = np.flatnonzero(hide & (counts > 0))
    small = counts[unknown] < k
    if not small.any():
        return None
    a = _equations(partitions, unknown)
    a = a[a.any(axis=1)]
    m, h = a.shape
    cost = np.concatenate([np.zeros(m), counts[unknown].astype(float)])
    constraints = [LinearConstraint(np.hstack([a.T, -np.eye(h)]), 0, 0),
                   LinearConstraint(np.concatenate([np.zeros(m), small.astype(float)])[None, :], 1, np.inf)]
    for members in skipped:  # sets only the published totals fix: look past them
        row = np.concatenate([np.zeros(m), np.isin(unknown, list(members)).astype(float)])
        constraints.append(LinearConstraint(row[None, :], -np.inf, len(members) - 1))
    bounds = Bounds(np.concatenate([np.full(m, -np.inf), np.zeros(h)]),
                    np.concatenate([np.full(m, np.inf), small.astype(float)]))
    res = milp(cost, constraints=constraints, integrality=np.concatenate([np.zeros(m), np.ones(h)]),
               bounds=bounds, options={"time_limit": AUDIT_SECONDS})
    if res.status == 2:  # infeasible: no set of small hidden cells is fixed
        return None
    if res.status != 0 or res.x is None:
        return "timeout"
    if res.fun >= k - 0.5:
        return None
    return [int(i) for i in unknown[res.x[m:] > 0.5]]


def _fixed(partitions, unknown: np.ndarray, target, basis: np.ndarray | None = None) -> bool:
    """Whether the margins fix the sum of `target` when `unknown` are the hidden cells: its
    indicator vector lies in the row space of the margin equations restricted to them (`basis`:
    that row space, when already known)."""
    if basis is None:
        basis = _row_space(_equations(partitions, unknown))
    vec = np.isin(unknown, list(target)).astype(float)
    return bool(np.abs(vec - basis @ (basis.T @ vec)).max(initial=0) < 1e-7)


def _row_space(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis (columns) of the row space of `a`."""
    if not a.size or not a.any():
        return np.zeros((a.shape[1], 0))
    u, s, _ = np.linalg.svd(a.T, full_matrices=False)
    return u[:, s > _TOL * max(a.shape) * s[0]]


def _protect(counts, partitions, hide, target: list[int], cells, alone) -> bool:
    """Hide one more cell so the sum of `target` is no longer fixed; False when only hiding a
    published total could (`alone`: the positive cells and the row space of their equations,
    with which the totals alone fix it)."""
    positive, basis = alone
    if _fixed(partitions, positive, target, basis):
        return False
    near = sorted({int(i) for sets in partitions for idx in sets if np.isin(target, idx).any()
                   for i in idx if counts[i] > 0 and not hide[i]}, key=lambda i: (counts[i], i))
    far = sorted((int(i) for i in positive if not hide[i] and int(i) not in near), key=lambda i: (counts[i], i))
    for pick in (near + far)[:TRIALS]:
        trial = hide.copy()
        trial[pick] = True
        if not _fixed(partitions, np.flatnonzero(trial & (counts > 0)), target):
            hide[pick] = True
            return True
    if not near + far:
        return False
    hide[(near + far)[0]] = True
    return True


def _blank(df: pd.DataFrame, hide: np.ndarray, columns: list[str], *, count: str) -> pd.DataFrame:
    out = df.copy()
    mask = pd.Series(hide, index=out.index)
    out["suppressed"] = hide
    for col in columns:
        if col not in out:
            continue
        s = out[col]
        if col == count:
            s = pd.Series(_counts(s), index=out.index).astype("Int64")
            out[col] = s.mask(mask)
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.astype("boolean").mask(mask)
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[col] = s.astype("Int64").mask(mask)
        elif (pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype)
              or pd.api.types.is_timedelta64_dtype(s.dtype)):
            out[col] = s.mask(mask)
        else:
            out[col] = s.astype(object).where(~mask, None)
    return out
