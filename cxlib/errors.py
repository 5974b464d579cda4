"""One exception root for the workbench; every message says what is wrong and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CxError(Exception):
    """Root of every error the workbench raises on purpose."""


class CxInputError(ValueError, CxError):
    """A bad argument or parameter (a misspelt column, an impossible date range, ...)."""


class CxDataError(CxError):
    """The data cannot be used as asked (a header that does not match, an empty store, ...)."""


class CxStoreLockedError(CxError):
    """Another process holds the DuckDB file for writing."""


class CxWarning(UserWarning):
    """Something the analyst should know, such as a small sample."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' did you mean 'x'?' when a close match exists, else ''."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else "."


def unknown_name(kind: str, name: str, where: str, choices: Iterable[str]) -> CxInputError:
    """The error for a name that is not among `choices`, with a suggestion and the full list."""
    choices = sorted(choices)
    return CxInputError(
        f"{kind} '{name}' not in {where}{did_you_mean(name, choices)} "
        f"Available: {', '.join(choices) or '(none)'}"
    )
