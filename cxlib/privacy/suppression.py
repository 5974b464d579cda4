"""Small-group suppression for stakeholder output: no group below the minimum size is shown."""

from __future__ import annotations

import pandas as pd

from cxlib.errors import CxInputError

MIN_GROUP_SIZE = 5


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
) -> pd.DataFrame:
    """Mark groups with fewer than `min_group_size` in column `n` as suppressed and blank `values`.

    Complementary suppression: if exactly one group within a set (rows sharing the `within`
    columns, e.g. one period) is suppressed, the next smallest group of that set is suppressed
    too, so that a hidden group cannot be recovered by subtracting the visible ones from a total.
    Suppressed rows stay in the frame, marked ``suppressed=True``: never silently dropped.
    The `n` column of a suppressed row is blanked as well.
    """
    check_min_group_size(min_group_size)
    out = df.copy()
    small = out[n].fillna(0) < min_group_size
    if within is None:
        sets = [out.index]
    else:
        sets = [idx for _, idx in out.groupby(within, dropna=False, sort=False).groups.items()] if within else [out.index]
    for idx in sets:
        hidden = small.loc[idx]
        if hidden.sum() == 1 and len(idx) > 1:
            visible = out.loc[idx][~hidden]
            small.loc[visible[n].idxmin()] = True
    out["suppressed"] = small
    for col in values + [n]:
        if col in out:
            out[col] = out[col].astype("object").where(~small, None) if out[col].dtype == object else out[col].where(~small)
    return out
