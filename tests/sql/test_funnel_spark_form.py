"""funnel_customers.spark.sql, the Spark form of the funnel (cxlib.sql loads it on Spark), builds the same
cx_funnel_customers as funnel_customers.sql: both run here on DuckDB (the Spark form is DuckDB's dialect
too), through a connection that calls itself Spark, for every order, count, breakdown and option."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib import sql
from cxlib.analysis import journey

STEPS = ["product_page", "add_to_cart", "checkout", "payment"]


class _SparkNamed:
    """A DuckDB connection that says it is Spark, so cxlib.sql picks the .spark.sql forms."""

    engine = "spark"

    def __init__(self, con):
        self._con = con

    def execute(self, query, parameters=None):
        return self._con.execute(query, parameters) if parameters is not None else self._con.execute(query)

    def table_columns(self, table):
        return sql.table_columns(self._con, table)

    def __getattr__(self, name):
        return getattr(self._con, name)


CASES = {
    "ordered": {},
    "strict_by_region": {"order": "strict", "by": "region", "window": "2 days"},
    "any": {"order": "any"},
    "closed": {"order": "closed", "window": None},
    "hybrid": {"order": "hybrid", "window": None},
    "open": {"order": "open", "window": None},
    "exclusions": {"exclusions": ["help_center", "chat"]},
    "totals": {"count": "totals"},
    "totals_no_window": {"count": "totals", "window": None},
    "nps_group": {"by": "nps_group"},  # also nps_group_funnel.spark.sql (a new table, not an UPDATE)
    "overlapping_steps": {"steps": ["product_page", "product_page", "add_to_cart"]},
    "a_set_step": {"steps": [{"product_page", "compare"}, "add_to_cart", "payment"]},
    "channel_first_touch": {"by": "channel", "attribution": "first_touch"},
    "channel_all_events": {"by": "channel", "attribution": "all_events"},
    "channel_step": {"by": "channel", "attribution": "step", "attribution_step": 2},
    "date_range": {"start": "2025-01-01", "end": "2025-06-30"},
}


@pytest.mark.parametrize("options", CASES.values(), ids=CASES.keys())
def test_spark_form_builds_the_same_funnel(sample_con, options):
    options = dict(options)
    steps = options.pop("steps", STEPS)
    table = "SELECT * FROM cx_funnel_customers ORDER BY ALL"
    duckdb_form = journey.funnel(sample_con, steps, **options)
    duckdb_rows = sample_con.execute(table).df()
    spark_form = journey.funnel(_SparkNamed(sample_con), steps, **options)
    spark_rows = sample_con.execute(table).df()
    pd.testing.assert_frame_equal(duckdb_form, spark_form, check_exact=True)
    pd.testing.assert_frame_equal(duckdb_rows, spark_rows, check_exact=True)


def test_the_spark_form_is_loaded_only_on_spark():
    assert sql.load("funnel_customers", "spark") != sql.load("funnel_customers")
    assert sql.load("funnel", "spark") == sql.load("funnel")  # no form of its own: the one file
