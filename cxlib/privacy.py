"""Small-group suppression and masking of personal data for stakeholder output."""

from __future__ import annotations

import re

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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{6,}\d(?!\w)")
_NAME_INTRO = re.compile(r"\b((?:my name is|I am|I'm|this is|name:|regards,?|thanks,?|cheers,?)\s+)([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")


def mask_personal_data(text: str | None) -> str | None:
    """Mask emails, phone numbers and introduced names ('my name is Anna') in free text."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return text
    text = _EMAIL.sub("[email]", str(text))
    text = _PHONE.sub("[phone]", text)
    return _NAME_INTRO.sub(lambda m: m.group(1) + "[name]", text)
