"""Voice of the customer: scores, comparisons, trends, drivers, peak-end, feedback text, the closed loop.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import voc`` and ``voc.nps(con)``. Definitions: docs/metrics.md.
"""

from cxlib.analysis.intervals import nps_interval, t_interval, wilson_interval
from cxlib.analysis.voc.comparisons import compare, compare_nps
from cxlib.analysis.voc.drivers import drivers_by_target, drivers_headline, key_drivers, relative_weights
from cxlib.analysis.voc.followup import export_followup, followup_headline, followup_list, followup_summary
from cxlib.analysis.voc.language import detect_language, detect_languages
from cxlib.analysis.voc.peakend import (
    churn_definition_for,
    fisher_z_interval,
    peak_end,
    peak_end_bins,
    peak_end_headline,
    peak_end_table,
    williams_t,
)
from cxlib.analysis.voc.scores import ces, check_options, csat, fit_breakdown, nps, other_metrics_note
from cxlib.analysis.voc.text import (
    comment_languages,
    not_scored_note,
    quotes,
    sentiment,
    sentiment_by_group,
    themes,
    themes_headline,
    topics,
)
from cxlib.analysis.voc.text import comments as feedback_comments
from cxlib.analysis.voc.trend import (
    change_headline,
    latest_change,
    score_headline,
    score_trend,
    scores_table,
    trend_headline,
)

__all__ = [
    "ces",
    "change_headline",
    "check_options",
    "churn_definition_for",
    "comment_languages",
    "compare",
    "compare_nps",
    "csat",
    "detect_language",
    "detect_languages",
    "drivers_by_target",
    "drivers_headline",
    "export_followup",
    "feedback_comments",
    "fisher_z_interval",
    "fit_breakdown",
    "followup_headline",
    "followup_list",
    "followup_summary",
    "key_drivers",
    "latest_change",
    "not_scored_note",
    "nps",
    "nps_interval",
    "other_metrics_note",
    "peak_end",
    "peak_end_bins",
    "peak_end_headline",
    "peak_end_table",
    "quotes",
    "relative_weights",
    "score_headline",
    "score_trend",
    "scores_table",
    "sentiment",
    "sentiment_by_group",
    "t_interval",
    "themes",
    "themes_headline",
    "topics",
    "trend_headline",
    "williams_t",
    "wilson_interval",
]
