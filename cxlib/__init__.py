"""CX Workbench: customer-experience analysis on a DuckDB store.

Every function that queries takes a DuckDB connection first; see DESIGN.md for the contract.
Each area's module declares its public names in ``__all__``; they are all importable from here.
"""

from .churn import *  # noqa: F401,F403
from .clv import *  # noqa: F401,F403
from .errors import CxDataError, CxError, CxInputError, CxStoreLockedError, CxWarning
from .ingest import LoadReport, ingest
from .journey import *  # noqa: F401,F403
from .privacy import mask_personal_data, suppress
from .segments import *  # noqa: F401,F403
from .store import as_of, connect
from .voc import *  # noqa: F401,F403

__all__ = [
    "CxDataError",
    "CxError",
    "CxInputError",
    "CxStoreLockedError",
    "CxWarning",
    "LoadReport",
    "as_of",
    "connect",
    "ingest",
    "mask_personal_data",
    "suppress",
]
