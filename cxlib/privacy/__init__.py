"""The privacy layer: what stakeholder output may show.

Owns: ``suppression`` (no group below the minimum size), ``ledger`` (what earlier report runs
published, so no run can be subtracted from another), ``masking`` (personal data in text).
May import: ``cxlib.errors`` and ``cxlib.sql`` (a store's columns, on either engine); the analysis
and report layers use it. See docs/architecture.md.
"""

from cxlib.privacy.masking import mask_personal_data
from cxlib.privacy.suppression import MIN_GROUP_SIZE, check_min_group_size, suppress

__all__ = ["MIN_GROUP_SIZE", "check_min_group_size", "mask_personal_data", "suppress"]
