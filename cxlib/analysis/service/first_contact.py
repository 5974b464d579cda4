"""First-contact resolution, reopens and contacts per ticket, overall or by channel or category.

Definitions: docs/metrics.md ("Service responsiveness").
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.service.common import as_counts, group_slot, window, with_mean, with_wilson
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress


def first_contact_resolution(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Share of resolved tickets solved at the first contact, overall or by `by` ('channel', 'category').

    *Definition* (Zendesk's "one-touch" tickets): over tickets opened in `start`..`end` and
    resolved by the store's as-of date,
    ``first_contact_rate = one_touch / judged``, where one_touch = resolved tickets with ``contacts = 1``
    that were not reopened, and judged = resolved tickets with a contact count (tickets without
    one are counted in ``not_judged``, never guessed). Open tickets are left out: whether they
    will need one contact is not known yet. ``reopen_rate = reopened / resolved`` (a blank
    reopened counts as not reopened); ``contacts_per_ticket`` = mean contacts of the judged
    tickets with its 95% t interval. Rates carry 95% Wilson intervals (0..1).
    Suppression: groups with fewer than `min_group_size` resolved tickets (complementary).

    Columns: [by,] resolved, not_judged, first_contact_rate (+ _lower, _upper), reopen_rate (+ _lower,
    _upper), contacts_per_ticket (+ _lower, _upper), suppressed.
    """
    check_min_group_size(min_group_size)
    slot, params = group_slot(con, by), window(con, start, end)
    df = sql.run(con, "service_first_contact", params, {"grp": slot})
    df["not_judged"] = df["resolved"] - df["judged"]
    df = with_wilson(df, "one_touch", "judged", "first_contact_rate")
    df = with_wilson(df, "reopened", "resolved", "reopen_rate")
    df = with_mean(df, "contacts_sum", "contacts_sumsq", "judged", "contacts_per_ticket")
    cols = ["grp", "resolved", "not_judged", "first_contact_rate", "first_contact_rate_lower",
            "first_contact_rate_upper", "reopen_rate",
            "reopen_rate_lower", "reopen_rate_upper", "contacts_per_ticket", "contacts_per_ticket_lower",
            "contacts_per_ticket_upper"]
    out = as_counts(suppress(df[cols], n="resolved", values=cols[2:], min_group_size=min_group_size),
                    ["resolved", "not_judged"])
    out = out.drop(columns="grp") if by is None else out.rename(columns={"grp": by})
    return out.reset_index(drop=True)


def first_contact_headline(fcr: pd.DataFrame, *, by: str | None = None) -> str:
    """One sentence on a `first_contact_resolution` result: overall (one row) or the lowest and
    highest groups shown when it has a breakdown."""
    if fcr is None or len(fcr) == 0:
        return "No resolved tickets in the period selected"
    shown = fcr[~fcr["suppressed"].astype(bool) & fcr["first_contact_rate"].notna()]
    if shown.empty:
        return "Too few resolved tickets to show first-contact resolution"
    if by is None or by not in fcr.columns:
        r = shown.iloc[0]
        return (f"{r['first_contact_rate']:.0%} of resolved tickets were solved at the first contact (95% interval "
                f"{r['first_contact_rate_lower']:.0%} to {r['first_contact_rate_upper']:.0%}); "
                f"{r['reopen_rate']:.1%} were reopened")
    low, high = shown.loc[shown["first_contact_rate"].idxmin()], shown.loc[shown["first_contact_rate"].idxmax()]
    if low[by] == high[by]:
        return f"First-contact resolution: {low['first_contact_rate']:.0%} on {low[by]}"
    apart = "the intervals do not overlap" if low["first_contact_rate_upper"] < high["first_contact_rate_lower"] else \
        "the intervals overlap, so the gap may be chance"
    return (f"First-contact resolution is lowest on {low[by]} ({low['first_contact_rate']:.0%}, 95% interval "
            f"{low['first_contact_rate_lower']:.0%} to {low['first_contact_rate_upper']:.0%}) and highest on "
            f"{high[by]} "
            f"({high['first_contact_rate']:.0%}); {apart}")
