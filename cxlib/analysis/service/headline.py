"""The service headline of the overview report: resolution, first contact and what slow tickets cost
in CSAT, in one sentence.

Definitions: docs/metrics.md ("Service responsiveness").
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib.analysis.service.common import ANSWER_WINDOW_HOURS, DEFAULT_BANDS, band_labels, check_bands
from cxlib.analysis.service.first_contact import first_contact_resolution
from cxlib.analysis.service.outcomes import ratings_by_resolution
from cxlib.analysis.service.resolution import resolution_headline, resolution_times
from cxlib.privacy import MIN_GROUP_SIZE


def _csat_gap(ratings: pd.DataFrame, last: str) -> str:
    """'CSAT after those: 26%, against 87% after faster ones' from the pooled bands, or ''."""
    shown = ratings[ratings["csat_answers"].notna()]
    slow, fast = shown[shown["band"] == last], shown[shown["band"] != last]
    if slow.empty or fast.empty or slow["csat_answers"].sum() == 0 or fast["csat_answers"].sum() == 0:
        return ""
    slow_csat = (slow["csat"] * slow["csat_answers"]).sum() / slow["csat_answers"].sum()
    fast_csat = (fast["csat"] * fast["csat_answers"]).sum() / fast["csat_answers"].sum()
    return f"; CSAT after those was {slow_csat:.0f}%, against {fast_csat:.0f}% after faster ones"


def service_headline(
    con: duckdb.DuckDBPyConnection,
    *,
    bands=DEFAULT_BANDS,
    answer_window_hours: float = ANSWER_WINDOW_HOURS,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> str:
    """Service in one sentence: tickets, the median resolution time with its interval, the share
    beyond the last band limit (and CSAT after those against faster tickets, when answers follow
    tickets), the share still open and first-contact resolution. Figures as `resolution_times`,
    `ratings_by_resolution` (CSAT of the faster bands pooled by their answers) and
    `first_contact_resolution`; a store without tickets in the period gets a sentence saying so."""
    limits = check_bands(bands)
    window = {"start": start, "end": end, "min_group_size": min_group_size}
    times = resolution_times(con, bands=limits, **window)
    said = resolution_headline(times)
    if times.empty or pd.isna(times["tickets"].iloc[0]) or times["tickets"].iloc[0] == 0:
        return said
    ratings = ratings_by_resolution(con, bands=limits, answer_window_hours=answer_window_hours, **window)
    gap = _csat_gap(ratings, band_labels(limits)[-1])
    if gap:
        head, _, tail = said.rpartition("; ")
        said = f"{head}{gap}; {tail}"
    fcr = first_contact_resolution(con, **window)
    if len(fcr) and pd.notna(fcr["first_contact_rate"].iloc[0]):
        said += f"; {fcr['first_contact_rate'].iloc[0]:.0%} were solved at the first contact"
    return said
