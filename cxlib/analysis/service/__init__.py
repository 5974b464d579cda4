"""Service responsiveness and the agents behind it: resolution time, first-contact resolution,
reopens and contacts, CSAT, CES and churn by resolution-time band, and an agent view by pseudonym.

Each module holds one job; this package gathers their public names so that notebooks can write
``from cxlib.analysis import service`` and ``service.resolution_times(con)``. Tickets come from the
``tickets`` table; ratings after a ticket are survey answers linked to it by customer, channel and
time. Definitions: docs/metrics.md ("Service responsiveness").
"""

from cxlib.analysis.service.agents import agent_headline, agent_performance
from cxlib.analysis.service.first_contact import first_contact_headline, first_contact_resolution
from cxlib.analysis.service.headline import service_headline
from cxlib.analysis.service.outcomes import (
    churn_by_resolution,
    churn_resolution_headline,
    ratings_by_resolution,
    ratings_headline,
)
from cxlib.analysis.service.pseudonyms import agent_pseudonyms
from cxlib.analysis.service.resolution import resolution_bands, resolution_headline, resolution_times

__all__ = [
    "agent_headline",
    "agent_performance",
    "agent_pseudonyms",
    "churn_by_resolution",
    "churn_resolution_headline",
    "first_contact_headline",
    "first_contact_resolution",
    "ratings_by_resolution",
    "ratings_headline",
    "resolution_bands",
    "resolution_headline",
    "resolution_times",
    "service_headline",
]
