"""CX Workbench: customer-experience analysis on a DuckDB store.

Every function that queries takes a DuckDB connection first; see DESIGN.md for the contract.
"""

from .errors import CxDataError, CxError, CxInputError, CxStoreLockedError, CxWarning
from .store import as_of, connect

__all__ = [
    "CxDataError",
    "CxError",
    "CxInputError",
    "CxStoreLockedError",
    "CxWarning",
    "as_of",
    "connect",
]
