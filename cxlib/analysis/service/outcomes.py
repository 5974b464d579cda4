"""What slow service costs: CSAT and CES after tickets by resolution-time band, and churn of customers
by the band of their slowest ticket.

Definitions: docs/metrics.md ("Service responsiveness").
"""

from __future__ import annotations

import duckdb
import pandas as pd

from cxlib import sql
from cxlib.analysis.features import to_timestamp
from cxlib.analysis.service.common import (
    ANSWER_WINDOW_HOURS,
    DEFAULT_BANDS,
    as_counts,
    band_labels,
    check_bands,
    check_window_hours,
    group_slot,
    suppress_answered,
    window,
    with_mean,
    with_wilson,
)
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size
from cxlib.store.connection import as_of as store_as_of

NO_TICKET = "no ticket"
CSAT_COLUMNS = ["csat_answers", "csat", "csat_lower", "csat_upper"]
CES_COLUMNS = ["ces_answers", "ces", "ces_lower", "ces_upper"]


def ticket_answers(con: duckdb.DuckDBPyConnection, slot: sql.Ident, params: dict, limits: list[float],
                   window_hours: float) -> pd.DataFrame:
    """grp, band (label), csat_answers, satisfied, ces_answers, ces_sum, ces_sumsq: every band of every
    group that has answers, zeros included (see service_ticket_answers.sql for the link rule)."""
    df = sql.run(con, "service_ticket_answers", {**params, "limits": limits, "window_hours": window_hours},
                 {"grp": slot})
    labels = band_labels(limits)
    df["band"] = [labels[int(b)] for b in df["band"]]
    full = pd.MultiIndex.from_product([sorted(df["grp"].unique()), labels], names=["grp", "band"])
    sums = ["csat_answers", "satisfied", "ces_answers", "ces_sum", "ces_sumsq"]
    return df.groupby(["grp", "band"])[sums].sum().reindex(full, fill_value=0).reset_index()


def rated(df: pd.DataFrame, *, min_group_size: int, within: list[str] | None) -> pd.DataFrame:
    """CSAT (% 4-5, Wilson) and CES (mean, t) from answer sums, each suppressed on its own answers;
    ``suppressed`` is true when either is hidden."""
    df = with_wilson(df, "satisfied", "csat_answers", "csat")
    for col in ("csat", "csat_lower", "csat_upper"):
        df[col] = df[col] * 100  # CSAT in percent, as cxlib.csat
    df = with_mean(df, "ces_sum", "ces_sumsq", "ces_answers", "ces")
    a = suppress_answered(df, n="csat_answers", values=CSAT_COLUMNS[1:], min_group_size=min_group_size, within=within)
    b = suppress_answered(df, n="ces_answers", values=CES_COLUMNS[1:], min_group_size=min_group_size, within=within)
    out = df.drop(columns=CSAT_COLUMNS + CES_COLUMNS)
    out[CSAT_COLUMNS] = a[CSAT_COLUMNS]
    out[CES_COLUMNS] = b[CES_COLUMNS]
    out["suppressed"] = a["suppressed"].to_numpy() | b["suppressed"].to_numpy()
    return as_counts(out, ["csat_answers", "ces_answers"])


def ratings_by_resolution(
    con: duckdb.DuckDBPyConnection,
    *,
    by: str | None = None,
    bands=DEFAULT_BANDS,
    answer_window_hours: float = ANSWER_WINDOW_HOURS,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """CSAT and CES after a ticket, by the ticket's resolution-time band (and `by`: 'channel', 'category').

    *Definition*: an answer belongs to a resolved ticket when the same customer gave it (metric
    csat or ces) after the ticket's resolved_at and within `answer_window_hours` (default 48), on
    the ticket's channel (or either channel blank); when several tickets qualify, the one resolved
    last before the answer (each answer counts once). The band is the ticket's resolution time
    (as `resolution_bands`; open tickets have no answers yet). CSAT = % of answers 4-5 (95% Wilson
    interval, in percent, as `cxlib.csat`); CES = mean 1-7, higher = easier (95% t interval).
    Suppression: CSAT and CES each on their own answers (fewer than `min_group_size`; complementary
    within each `by` group); ``suppressed`` is true when either is hidden.

    Columns: [by,] band, csat_answers, csat, csat_lower, csat_upper, ces_answers, ces, ces_lower,
    ces_upper, suppressed.
    """
    check_min_group_size(min_group_size)
    limits, hours = check_bands(bands), check_window_hours(answer_window_hours)
    slot, params = group_slot(con, by), window(con, start, end)
    df = ticket_answers(con, slot, params, limits, hours)
    out = rated(df, min_group_size=min_group_size, within=["grp"])
    out = out[["grp", "band", *CSAT_COLUMNS, *CES_COLUMNS, "suppressed"]]
    out = out.drop(columns="grp") if by is None else out.rename(columns={"grp": by})
    return out.reset_index(drop=True)


def churn_by_resolution(
    con: duckdb.DuckDBPyConnection,
    *,
    definition: str = "contractual",
    inactivity_days: int = 90,
    bands=DEFAULT_BANDS,
    as_of=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Churn rate of customers by the resolution-time band of their slowest ticket (and of customers
    without a ticket).

    *Definition*: customers and churn as `cxlib.churn_rate` (`definition`, `inactivity_days`,
    judged customers only; the rest counted in ``not_judged``). A customer's band is that of the
    slowest ticket opened by the as-of date: resolved_at - opened_at, or for a ticket still open
    the time it has been open so far (a lower bound); ``'no ticket'`` for customers without one.
    churn_rate = churned / customers with a 95% Wilson interval (0..1). An association: slow
    tickets and churn may share causes, and a customer must stay long enough to have tickets.
    Suppression: rows with fewer than `min_group_size` judged customers (complementary).

    Columns: band, customers, churned, churn_rate, churn_rate_lower, churn_rate_upper,
    not_judged, suppressed, definition.
    """
    from cxlib.analysis.churn.status import churn_status

    check_min_group_size(min_group_size)
    limits = check_bands(bands)
    status = churn_status(con, definition=definition, inactivity_days=inactivity_days, as_of=as_of)
    horizon = to_timestamp(as_of, "as_of") or store_as_of(con)
    slowest = sql.run(con, "service_customer_bands", {"horizon": horizon, "limits": limits})
    labels = band_labels(limits)
    df = status.merge(slowest, on="customer_id", how="left")
    df["band"] = [labels[int(b)] if pd.notna(b) else NO_TICKET for b in df["band"]]
    df["judged"] = df["judged"].astype(bool)
    df["churned"] = df["churned"].astype(bool) & df["judged"]
    grouped = df.groupby("band").agg(customers=("judged", "sum"), churned=("churned", "sum"),
                                     everyone=("customer_id", "size"))
    grouped = grouped.reindex([NO_TICKET, *labels], fill_value=0).reset_index()
    grouped["not_judged"] = grouped["everyone"] - grouped["customers"]
    grouped = with_wilson(grouped, "churned", "customers", "churn_rate")
    cols = ["band", "customers", "churned", "churn_rate", "churn_rate_lower", "churn_rate_upper", "not_judged"]
    out = suppress_answered(grouped[cols], n="customers", values=cols[2:], min_group_size=min_group_size)
    out = as_counts(out, ["customers", "churned", "not_judged"])
    out["definition"] = status["definition"].iloc[0] if len(status) else ""
    return out.reset_index(drop=True)


def _band_words(band: str) -> str:
    return f"in {band}" if not band.startswith(">") else f"after more than {band[1:].strip()}"


def ratings_headline(ratings: pd.DataFrame) -> str:
    """One sentence on an overall `ratings_by_resolution` result: CSAT (and CES) in each band shown."""
    if ratings is None or len(ratings) == 0 or ratings["csat_answers"].fillna(0).sum() + \
            ratings["ces_answers"].fillna(0).sum() == 0:
        return "No CSAT or CES answers follow a resolved ticket closely enough to link them"
    parts = []
    for metric, fmt, what in (("csat", "{:.0f}%", "CSAT"), ("ces", "{:.1f}", "CES (1-7, higher = easier)")):
        shown = ratings[ratings[metric].notna()]
        if shown.empty:
            continue
        said = "; ".join(f"{fmt.format(r[metric])} ({fmt.format(r[metric + '_lower'])} to "
                         f"{fmt.format(r[metric + '_upper'])}) for tickets resolved {_band_words(r['band'])}"
                         for _, r in shown.iterrows())
        parts.append(f"{what} after a ticket: {said}")
    return ". ".join(parts) if parts else "Too few answers after tickets to show CSAT or CES by resolution time"


def churn_resolution_headline(churned: pd.DataFrame) -> str:
    """One sentence on a `churn_by_resolution` result: the churn rate of each band shown."""
    if churned is None or len(churned) == 0 or churned["customers"].fillna(0).sum() == 0:
        return "No customers whose churn can be judged yet"
    shown = churned[churned["churn_rate"].notna()]
    if shown.empty:
        return "Too few customers in each group to show churn by resolution time"
    said = "; ".join(
        f"{r['churn_rate']:.0%} ({r['churn_rate_lower']:.0%} to {r['churn_rate_upper']:.0%}) of customers "
        + ("without a ticket" if r["band"] == NO_TICKET else f"whose slowest ticket took {r['band']}")
        for _, r in shown.iterrows())
    return f"Churned: {said} ({churned['definition'].iloc[0]})"
