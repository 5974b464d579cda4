"""Voice of the customer: scores, comparisons, trends, drivers, peak-end, feedback text, the closed loop.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import voc`` and ``voc.nps(con)``. Definitions: docs/metrics.md.
"""

from cxlib.analysis.intervals import nps_interval, t_interval, wilson_interval
from cxlib.analysis.voc.comparisons import compare, compare_nps
from cxlib.analysis.voc.drivers import key_drivers, relative_weights
from cxlib.analysis.voc.followup import export_followup, followup_list, followup_summary
from cxlib.analysis.voc.peakend import peak_end, peak_end_bins, williams_t
from cxlib.analysis.voc.scores import ces, check_options, csat, nps
from cxlib.analysis.voc.text import comments as feedback_comments
from cxlib.analysis.voc.text import quotes, sentiment, sentiment_by_group, themes, topics
from cxlib.analysis.voc.trend import score_headline, score_trend, trend_headline

__all__ = [
    "nps",
    "csat",
    "ces",
    "nps_interval",
    "wilson_interval",
    "t_interval",
    "compare",
    "compare_nps",
    "score_trend",
    "williams_t",
    "peak_end",
    "peak_end_bins",
    "relative_weights",
    "key_drivers",
    "followup_list",
    "followup_summary",
    "score_headline",
    "trend_headline",
    "export_followup",
    "check_options",
    "themes",
    "feedback_comments",
    "topics",
    "quotes",
    "sentiment",
    "sentiment_by_group",
]
