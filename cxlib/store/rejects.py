"""What loads rejected, summarised: one row per load, column and kind of reason, with example lines.

A reason names the offending value ("not a timestamp: 2024-13-01"); the summary groups reasons by
their kind (the text before the value) so that a thousand bad dates are one line, not a thousand.
"""

from __future__ import annotations

import duckdb
import pandas as pd

# The kind of a reason: up to its first ': ' (the value follows), without a trailing value after
# 'unknown customer_id' or 'ambiguous date format'.
_KIND = ("CASE WHEN reason LIKE 'unknown customer_id %' THEN 'unknown customer_id (load its customer first, "
         "or --add-customers)' WHEN reason LIKE 'ambiguous date format %' THEN 'ambiguous date format (pass "
         "--date-format)' WHEN reason LIKE 'malformed line: %' THEN 'malformed line: ' || "
         "regexp_extract(reason, '^malformed line: ([^:]+)', 1) ELSE split_part(reason, ': ', 1) END")


def rejects_summary(con: duckdb.DuckDBPyConnection, *, load_id: int | None = None, examples: int = 2) -> pd.DataFrame:
    """Rejected rows by load, column and kind of reason, most frequent first.

    Columns: load_id, table_name, source, column_name, reason (the kind), rows, examples (up to
    `examples` entries 'LINE: full reason', the first distinct lines of that kind).
    """
    df = con.execute(
        # An example is a distinct line and reason (a wide survey's line can hold several answers).
        f"""WITH r AS (SELECT load_id, table_name, source, column_name, line, reason, {_KIND} AS kind,
                              row_number() OVER (PARTITION BY load_id, column_name, {_KIND}, line, reason) AS copy,
                              dense_rank() OVER (PARTITION BY load_id, column_name, {_KIND} ORDER BY line, reason) AS k
                       FROM rejects WHERE $load IS NULL OR load_id = $load)
            SELECT load_id, any_value(table_name) AS table_name, any_value(source) AS source, column_name,
                   kind AS reason, count(*) AS rows,
                   list(coalesce(CAST(line AS VARCHAR), '?') || ': ' || reason ORDER BY line, reason)
                     FILTER (WHERE k <= $examples AND copy = 1) AS examples
            FROM r GROUP BY load_id, column_name, kind
            ORDER BY load_id, rows DESC, column_name NULLS FIRST, reason""",
        {"load": load_id, "examples": examples},
    ).df()
    df["examples"] = df["examples"].map(lambda v: list(v) if v is not None else [])
    return df
