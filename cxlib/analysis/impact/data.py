"""The data of an impact analysis: the treated segment, and the metric's observations per period,
group and customer (cxlib/sql/impact_cells.sql).

Definitions: docs/metrics.md ("Impact of a dated change").
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.errors import CxInputError, unknown_name
from cxlib.store.connection import as_of as store_as_of

RESPONSE_COLUMNS = ("channel",)  # a treated attribute taken from the answer or ticket, not the customer

def customer_attributes(con) -> list[str]:
    return [c for c in sql.table_columns(con, "customers") if c not in ("customer_id", "signup_at")]


def parse_treated(con: duckdb.DuckDBPyConnection, treated) -> tuple[str, str] | None:
    """(column, value) of a treated segment given as 'column=value', 'column: value' or {column: value};
    None for None, '' or 'none'. The column is a customer attribute or the answer's or ticket's
    'channel'; the value must occur in it. A misspelt column or value is an error naming the choices."""
    if treated is None or (isinstance(treated, str) and treated.strip().lower() in ("", "none")):
        return None
    if isinstance(treated, dict) and len(treated) == 1:
        column, value = next(iter(treated.items()))
    elif isinstance(treated, str) and ("=" in treated or ":" in treated):
        cut = min(i for i in (treated.find("="), treated.find(":")) if i >= 0)
        column, value = treated[:cut], treated[cut + 1:]
    else:
        raise CxInputError(f"treated must name a segment as 'column: value', such as 'region: north', got {treated!r}")
    column, value = str(column).strip(), str(value).strip()
    columns = customer_attributes(con) + list(RESPONSE_COLUMNS)
    if column not in columns:
        raise unknown_name("column", column, "customers (or the answer's channel)", columns)
    if column in RESPONSE_COLUMNS:
        query = ("SELECT DISTINCT CAST(channel AS VARCHAR) FROM survey_responses WHERE channel IS NOT NULL "
                 "UNION SELECT DISTINCT CAST(channel AS VARCHAR) FROM tickets")
    else:
        query = f"SELECT DISTINCT CAST({sql.quote_ident(column)} AS VARCHAR) FROM customers WHERE " \
                f"{sql.quote_ident(column)} IS NOT NULL"
    values = [r[0] for r in con.execute(query).fetchall()]
    if value not in values:
        raise unknown_name(f"value of {column}", value, f"the store's {column} values", values)
    return column, value


def periods_since(first: pd.Timestamp, p: pd.Series, period: str) -> pd.Series:
    """Whole periods from `first` to each period start in `p`."""
    if period == "week":
        return (p - first).dt.days // 7
    months = (p.dt.year - first.year) * 12 + (p.dt.month - first.month)
    return months if period == "month" else months // 3


def period_end(p: pd.Series, period: str) -> pd.Series:
    """The (exclusive) end of each period starting at `p`."""
    return p + (pd.Timedelta(days=7) if period == "week" else pd.DateOffset(months=1 if period == "month" else 3))


def observations(con, metric, period, treated, change, start, end) -> pd.DataFrame:
    """Per period, group and customer: n, total, sumsq, with t (periods since the first) and post;
    a period holding the change date (it started before and ends after it) is left out, as it
    mixes before and after."""
    column, value = treated if treated else (None, None)
    if column is None:
        slot = sql.Ident("NULL")
    elif column in RESPONSE_COLUMNS:
        slot = sql.Ident("o." + sql.quote_ident(column))
    else:
        slot = sql.Ident("c." + sql.checked_column(con, "customers", column))
    params = {"metric": metric, "period": period, "start": to_timestamp(start, "start"),
              "end": to_timestamp(end, "end"), "horizon": store_as_of(con), "value": value}
    df = sql.run(con, "impact_cells", params, {"column": slot})
    df["period"] = pd.to_datetime(df["period"])
    df["post"] = (df["period"] >= change).astype(int)
    df = df[(df["post"] == 1) | (period_end(df["period"], period) <= change)].copy()
    first = df["period"].min() if len(df) else change
    df["t"] = periods_since(first, df["period"], period).astype(int)
    return df.reset_index(drop=True)


def per_period(cells: pd.DataFrame) -> pd.DataFrame:
    """Per period and group: n, mean, t, post (from the customer cells)."""
    s = cells.groupby(["period", "treated"], as_index=False).agg(n=("n", "sum"), total=("total", "sum"),
                                                                  t=("t", "first"), post=("post", "first"))
    s["mean"] = s["total"] / s["n"]
    return s.drop(columns="total")
