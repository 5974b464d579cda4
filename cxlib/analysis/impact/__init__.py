"""Did it work? The impact of a dated change (a new checkout, a policy, a launch in one region) on NPS,
CSAT, CES or first-contact resolution: difference in differences when a comparison group exists,
an interrupted time series otherwise, with intervals and a plain statement of what the design can
and cannot show.

Definitions: docs/metrics.md ("Impact of a dated change").

Modules: ``result`` (ImpactResult and the shared vocabulary), ``data`` (the treated segment and the
observations), ``designs`` (the two designs), ``estimate`` (`impact`), ``sentences`` (headline and
design statement), ``fitting`` (notebook defaults that fit the store).
"""

from cxlib.analysis.impact.data import parse_treated
from cxlib.analysis.impact.designs import hac_lags  # noqa: F401
from cxlib.analysis.impact.estimate import impact
from cxlib.analysis.impact.fitting import fit_impact_metric, fit_treated
from cxlib.analysis.impact.result import DID, ITS, LABELS, METRICS, ImpactResult  # noqa: F401
from cxlib.analysis.impact.sentences import impact_design, impact_headline

__all__ = ["ImpactResult", "fit_impact_metric", "fit_treated", "impact", "impact_design", "impact_headline",
           "parse_treated"]
