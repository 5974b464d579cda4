"""Masking personal data in free text (comments, quotes) before it is shown to anyone but an analyst."""

from __future__ import annotations

import re

import pandas as pd

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
