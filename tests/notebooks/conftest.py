"""Stores that hold one family of tables, as real users' stores do, built from the sample.

Each is loaded the way a user would load an export (cxlib.ingest with add_customers, so the
customers table holds only ids and first-seen dates): events only (with touchpoint names the
shipped stage map does not know, like a GA4 or Amplitude export), subscriptions only, orders
only, one survey item (NPS answers without touchpoint, channel or comment), tickets only.
"""

from __future__ import annotations

import pytest

FAMILIES = ("events", "subscriptions", "orders", "survey", "tickets")
QUERIES = {
    "events": ("events", "SELECT customer_id, ts, 'web_' || touchpoint AS touchpoint, channel, session_id FROM events"),
    "subscriptions": ("subscriptions", "SELECT customer_id, plan, started_at, ended_at FROM subscriptions"),
    "orders": ("orders", "SELECT order_id, customer_id, ts, amount, channel FROM orders"),
    "survey": ("survey_responses", "SELECT response_id, customer_id, ts, metric, score FROM survey_responses "
                                   "WHERE metric = 'nps'"),
    "tickets": ("tickets", "SELECT * EXCLUDE (properties) FROM tickets"),
}


@pytest.fixture(scope="session")
def partial_stores(sample_db, tmp_path_factory):
    """{family: path} of stores holding only that family (plus customers created from first sight)."""
    import cxlib

    source = cxlib.connect(sample_db)
    stores = {}
    try:
        for family in FAMILIES:
            table, query = QUERIES[family]
            path = tmp_path_factory.mktemp(f"only_{family}") / f"only_{family}.duckdb"
            report = cxlib.ingest(source.execute(query).df(), table, db=path, add_customers=True)
            assert report.rejected == 0 and report.loaded > 0, report
            stores[family] = path
    finally:
        source.close()
    return stores
