"""The closed loop: detractors to contact (analyst-only, customer-level) and what a stakeholder may see of it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.exports import write_csv
from cxlib.analysis.features import to_timestamp
from cxlib.errors import CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, suppress


def followup_list(
    con: duckdb.DuckDBPyConnection,
    *,
    days: int = 30,
    last_n: int = 5,
    as_of=None,
) -> pd.DataFrame:
    """Closed loop: detractors to contact, with their recent journey (customer-level: for the
    CSV export or an interactive session, never for a stakeholder report).

    *Definition*: customers whose latest relationship NPS answer (metric 'nps', blank
    touchpoint) is 0-6 and was given within the `days` days up to `as_of` (default: the store's
    as-of date); last_touchpoints = their last `last_n` events, oldest first, joined by ' > ';
    open_tickets = tickets unresolved at `as_of`. The comment has personal data masked by the
    store's masker (``cxlib.privacy.masking.Masker.from_store``: e-mails, phone numbers, IBANs,
    introduced names, and every customer id, agent id and personal column value of the store).
    Ordered by score (most unhappy first), then open tickets.

    Columns: customer_id, responded_at, nps_score, comment, last_touchpoints, last_channel,
    last_event_at, open_tickets, last_ticket_category, last_ticket_opened_at.
    """
    from cxlib.privacy.masking import Masker
    from cxlib.store.connection import as_of as store_as_of

    for name, value in (("days", days), ("last_n", last_n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CxInputError(f"{name} must be a whole number of at least 1, got {value!r}")
    cutoff = to_timestamp(as_of, "as_of") or store_as_of(con)
    df = sql.run(con, "voc_followup", {"since": cutoff - timedelta(days=days), "as_of": cutoff, "last_n": last_n})
    df["comment"] = df["comment"].map(Masker.from_store(con).mask)
    return df


def export_followup(df: pd.DataFrame, path) -> Path:
    """Write a follow-up list to CSV (UTF-8) with spreadsheet formula injection neutralised
    (`neutralise_formulas`); returns the path written. Parent folders are created."""
    if not isinstance(df, pd.DataFrame):
        raise CxInputError(f"export_followup takes the DataFrame from followup_list, got {type(df).__name__}")
    return write_csv(df, path)


def followup_summary(df: pd.DataFrame, *, min_group_size: int = MIN_GROUP_SIZE) -> pd.DataFrame:
    """What a stakeholder may see of a follow-up list: detractors per NPS score, how many still
    have an open ticket, no one named. Scores with fewer than `min_group_size` detractors are
    suppressed (with complementary suppression, as the total is shown alongside).
    Columns: nps_score, detractors, with_open_ticket, suppressed."""
    if not isinstance(df, pd.DataFrame) or not {"nps_score", "open_tickets"} <= set(df.columns):
        raise CxInputError("followup_summary takes the DataFrame from followup_list")
    out = (df.assign(open_=df["open_tickets"] > 0).groupby("nps_score")
           .agg(detractors=("open_", "size"), with_open_ticket=("open_", "sum")).reset_index())
    out = out.astype({"detractors": "int64", "with_open_ticket": "int64"})
    return suppress(out, n="detractors", values=["with_open_ticket"], min_group_size=min_group_size)


def followup_headline(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, *, days: int, written=None) -> str:
    """One sentence on a `followup_list`: how many detractors answered lately, how many still have
    an open ticket (only when the store holds tickets), and where the list was written."""
    if not isinstance(df, pd.DataFrame) or "open_tickets" not in df.columns:
        raise CxInputError("followup_headline takes the DataFrame from followup_list")
    n = len(df)
    said = f"{n} detractor{'' if n == 1 else 's'} answered in the last {days} days"
    if n and con.execute("SELECT count(*) FROM tickets").fetchone()[0]:
        said += f"; {int((df['open_tickets'] > 0).sum())} of them still have an open ticket"
    if written:
        return said + f". List written to {written}."
    return said + (". Set export_csv to write the list." if n else ".")
