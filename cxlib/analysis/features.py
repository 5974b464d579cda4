"""Per-customer CX measures shared by drivers, churn models, clusters and journey splits."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.errors import CxInputError
from cxlib.store.connection import as_of as store_as_of

LONG_RESOLUTION_HOURS = 72


def to_timestamp(value, name: str) -> datetime | None:
    """A date parameter ('YYYY-MM-DD', date, datetime, None) as a datetime, or a clear error."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise CxInputError(f"{name} must be a date like '2026-01-31', got {value!r}")


def customer_features(con: duckdb.DuckDBPyConnection, *, as_of=None) -> pd.DataFrame:
    """One row per customer with the CX measures known at `as_of` (default: the store's as-of date).

    *Definition*: customers who signed up by `as_of`; only data at or before `as_of` counts.
    - events, channels_used: count of events and of distinct channels.
    - channel_switches: consecutive events of the customer less than a day apart on different
      channels (a hand-off within one journey).
    - nps_score, nps_group: the latest relationship NPS answer (metric 'nps', blank touchpoint);
      promoter 9-10, passive 7-8, detractor 0-6; None when the customer never answered.
    - orders, revenue, last_order_at.
    - tickets, open_tickets (unresolved at `as_of`), mean/max_resolution_hours (resolved tickets),
      long_resolution (any ticket resolved after more than 72 hours), ticket_contacts (sum of
      contacts), reopened_tickets.
    Customer-level: for analysis and models, never for stakeholder output as it is.

    >>> customer_features(con).loc[:, ["customer_id", "nps_group", "tickets"]]  # doctest: +SKIP
    """
    cutoff = to_timestamp(as_of, "as_of") or store_as_of(con)
    return sql.run(con, "customer_features", {"as_of": cutoff})
