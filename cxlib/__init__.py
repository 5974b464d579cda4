"""CX Workbench: customer-experience analysis on a DuckDB store.

Every function that queries takes a store connection first (``cxlib.connect()``). The public
names of every analysis area are importable from here (``cxlib.nps``, ``cxlib.funnel``, ...);
the package's layers, and what each may import, are in docs/architecture.md.
"""

from cxlib.analysis import churn as _churn
from cxlib.analysis import clv as _clv
from cxlib.analysis import decomposition as _decomposition
from cxlib.analysis import impact as _impact
from cxlib.analysis import journey as _journey
from cxlib.analysis import segments as _segments
from cxlib.analysis import service as _service
from cxlib.analysis import shifts as _shifts
from cxlib.analysis import voc as _voc
from cxlib.analysis.churn import *  # noqa: F401,F403
from cxlib.analysis.clv import *  # noqa: F401,F403
from cxlib.analysis.decomposition import *  # noqa: F401,F403
from cxlib.analysis.exports import neutralise_formulas
from cxlib.analysis.impact import *  # noqa: F401,F403
from cxlib.analysis.journey import *  # noqa: F401,F403
from cxlib.analysis.segments import *  # noqa: F401,F403
from cxlib.analysis.service import *  # noqa: F401,F403
from cxlib.analysis.shifts import *  # noqa: F401,F403
from cxlib.analysis.voc import *  # noqa: F401,F403
from cxlib.errors import CxDataError, CxError, CxInputError, CxStoreLockedError, CxWarning
from cxlib.explore.funnel_panel import funnel_explorer
from cxlib.privacy import mask_personal_data, suppress
from cxlib.store.connection import as_of, connect, data_span
from cxlib.store.frames import Frame, from_frames
from cxlib.store.ingest import LoadReport, ingest

__all__ = sorted({*_churn.__all__, *_clv.__all__, *_journey.__all__, *_segments.__all__, *_voc.__all__,
                  *_service.__all__, *_impact.__all__, *_shifts.__all__, *_decomposition.__all__}) + [
    "CxDataError",
    "CxError",
    "CxInputError",
    "CxStoreLockedError",
    "CxWarning",
    "Frame",
    "LoadReport",
    "as_of",
    "connect",
    "data_span",
    "from_frames",
    "funnel_explorer",
    "ingest",
    "mask_personal_data",
    "neutralise_formulas",
    "suppress",
]
