"""Omnichannel: channel switches, service hand-offs between channels and the repeat contacts after them,
and outcomes of customers who switched.

Definitions: docs/metrics.md (omnichannel).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from cxlib import sql
from cxlib.analysis.intervals import wilson_bounds
from cxlib.analysis.journey.common import (
    _contacts,
    _date_bounds,
    _horizon,
    _ratio,
    _seconds_to_timedelta,
    parse_window,
)
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size, suppress
from cxlib.privacy.suppression import order_published


def channel_switches(
    con: duckdb.DuckDBPyConnection,
    *,
    within: str | timedelta = "1 day",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Channel switches within a journey.

    *Definition*: a switch is a pair of consecutive events of a customer on different channels at
    most `within` apart (exactly at the limit counts), both in `start`..`end`. A pair of channels
    switched by fewer than `min_group_size` customers is suppressed; a customer may switch several
    ways, so the pairs add up to nothing published and there is no complementary suppression.
    Shown pairs by switches (most first), then suppressed pairs by channel names.
    Returns ``from_channel, to_channel, switches, customers, median_gap, suppressed``.
    """
    seconds = parse_window(within, name="within", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "omnichannel_switches", {"start": lo, "end": hi, "within_seconds": seconds})
    out["median_gap"] = _seconds_to_timedelta(out.pop("median_seconds"))
    out = suppress(out, n="customers", values=["switches", "median_gap"], min_group_size=min_group_size, margins=[])
    return order_published(out, by=["switches"], ascending=False, keys=["from_channel", "to_channel"])


def handoffs(
    con: duckdb.DuckDBPyConnection,
    *,
    contacts: Sequence[str] | None = None,
    within: str | timedelta = "1 day",
    repeat_window: str | timedelta = "7 days",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """Service hand-offs between channels and the repeat contacts, effort and tickets that follow.

    *Definition*: a service contact is an event whose touchpoint is in `contacts` (default: those of
    chat, phone_call, email_support, store_visit, help_center the store has). A hand-off is a
    contact whose customer's next contact is on a different channel at most `within` later
    (exactly at the limit counts); it is one case ``from_touchpoint -> to_touchpoint``. A contact
    that neither starts nor ends a hand-off is a case with ``to_touchpoint='(none)'`` (the
    baseline). After a case's last contact: ``repeat_rate`` = share of cases with another service
    contact within `repeat_window` (the same need coming back, on any channel), ``repeat_contacts``
    = mean number of them; ``ces`` = mean CES of the customer's answers from the case's start to the
    end of the repeat window (``ces_n`` cases with an answer); ``ticket_contacts`` = mean contacts
    of tickets opened in that span (over the ``tickets`` cases that had one). Cases whose repeat
    window runs past the end of the data are censored (left out).

    ``repeat_rate_lower``, ``repeat_rate_upper``: 95% interval of the repeat rate, clustered by
    customer (a customer can have many cases of a row, and their cases are alike), see
    :func:`clustered_wilson`; blank with the row when it is suppressed.

    Returns ``from_touchpoint, to_touchpoint, handoff, cases, customers, repeat_rate,
    repeat_rate_lower, repeat_rate_upper, repeat_contacts, ces_n, ces, tickets, ticket_contacts,
    suppressed``: hand-offs first, then the baselines; within each, shown rows by worst repeat rate
    first, suppressed rows last.
    """
    contacts = _contacts(con, contacts)
    within_s = parse_window(within, name="within", allow_none=False)
    repeat_s = parse_window(repeat_window, name="repeat_window", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    out = sql.run(con, "omnichannel_handoffs", {
        "contacts": contacts, "within_seconds": within_s, "repeat_seconds": repeat_s,
        "start": lo, "end": hi, "horizon": _horizon(con, hi)})
    out["repeat_rate_lower"], out["repeat_rate_upper"] = clustered_wilson(
        out["repeated"], out["cases"], out["customers"], out["repeat_rr"], out["repeat_rc"], out["repeat_cc"])
    out["ces"] = out["ces"].astype(float).where(out["ces_n"] >= min_group_size)
    out["ticket_contacts"] = out["ticket_contacts"].astype(float).where(out["tickets"] >= min_group_size)
    out = out[["from_touchpoint", "to_touchpoint", "handoff", "cases", "customers", "repeat_rate",
               "repeat_rate_lower", "repeat_rate_upper", "repeat_contacts", "ces_n", "ces", "tickets",
               "ticket_contacts"]]
    out = suppress(out, n="cases", values=["customers", "repeat_rate", "repeat_rate_lower", "repeat_rate_upper",
                                           "repeat_contacts", "ces_n", "ces", "tickets", "ticket_contacts"],
                   min_group_size=min_group_size, within=["handoff"])
    out = out.sort_values(["handoff", "suppressed", "repeat_rate", "from_touchpoint", "to_touchpoint"],
                          ascending=[False, True, False, True, True], na_position="last", kind="stable")
    return out.reset_index(drop=True)


def clustered_wilson(x, n, clusters, s_rr, s_rc, s_cc) -> tuple[pd.Series, pd.Series]:
    """95% Wilson interval (0..1) of a share x / n of cases that come in clusters (a customer's cases).

    *Method*: the Wilson score interval on the effective sample size n / deff (Kish's design effect,
    as Korn & Graubard 1998 use it for proportions from clustered samples). With c_i cases of
    cluster i of which r_i are successes, p = x / n, the variance of p clustered by customer is the
    linearisation (sandwich) estimate V = sum_i (r_i - p c_i)^2 / n^2 = (s_rr - 2p s_rc + p^2 s_cc) / n^2
    (statsmodels' cluster-robust variance of a mean without small-sample correction);
    deff = V / (p(1-p)/n), at least 1. With one case per cluster deff = 1 and this is the plain Wilson
    interval on the cases. Where deff cannot be estimated (p = 0 or 1, or a single cluster) the
    effective size is the number of clusters (the cautious end: every customer counted once).
    NaN where n = 0.
    """
    x, n, g = (pd.Series(v, dtype=float) for v in (x, n, clusters))
    s_rr, s_rc, s_cc = (pd.Series(v, dtype=float).set_axis(n.index) for v in (s_rr, s_rc, s_cc))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        var = (s_rr - 2 * p * s_rc + p**2 * s_cc) / n**2
        deff = (var / (p * (1 - p) / n)).clip(lower=1.0)
    known = (p > 0) & (p < 1) & (g > 1)
    n_eff = (n / deff).where(known, g)
    return wilson_bounds(p * n_eff, n_eff)


def switch_outcomes(
    con: duckdb.DuckDBPyConnection,
    *,
    contacts: Sequence[str] | None = None,
    within: str | timedelta = "1 day",
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> pd.DataFrame:
    """How CSAT, CES and conversion differ for customers who had to switch channel in service.

    *Definition*: among customers with a service contact (touchpoint in `contacts`, default as in
    :func:`handoffs`) in
    `start`..`end`, ``switched`` customers had a contact followed by their next contact on a
    different channel at most `within` later. Per group: ``csat`` = share of CSAT answers 4-5 with
    a 95% Wilson interval (``csat_lower, csat_upper``); ``ces`` = mean CES (1-7, higher = easier)
    with a 95% t interval (``ces_lower, ces_upper``) and ``ces_high`` = share of 5-7;
    ``conversion`` = share of the group's customers with an order in the range (blank when the store
    holds no orders at all). Answers and orders in the same date range count. Rates of fewer than
    `min_group_size` answers are blank.

    Returns ``group, customers, csat_n, csat, csat_lower, csat_upper, ces_n, ces, ces_lower,
    ces_upper, ces_high, conversion, suppressed``.
    """
    from scipy import stats

    contacts = _contacts(con, contacts)
    within_s = parse_window(within, name="within", allow_none=False)
    check_min_group_size(min_group_size)
    lo, hi = _date_bounds(start, end)
    raw = sql.run(con, "omnichannel_switch_outcomes",
                  {"contacts": contacts, "within_seconds": within_s, "start": lo, "end": hi})
    out = pd.DataFrame({"group": raw["group"], "customers": raw["customers"].astype("int64"),
                        "csat_n": raw["csat_n"].astype("int64")})
    out["csat"] = _ratio(raw["csat_top2"], raw["csat_n"])
    out["csat_lower"], out["csat_upper"] = wilson_bounds(raw["csat_top2"], raw["csat_n"])
    n = raw["ces_n"].astype(float)
    out["ces_n"] = raw["ces_n"].astype("int64")
    mean = raw["ces_sum"].astype(float) / n.where(n > 0)
    var = (raw["ces_sumsq"].astype(float) - n * mean**2) / (n - 1).where(n > 1)
    se = np.sqrt(var.clip(lower=0) / n)
    tq = pd.Series(stats.t.ppf(0.975, (n - 1).where(n > 1)), index=n.index)
    out["ces"] = mean
    out["ces_lower"], out["ces_upper"] = mean - tq * se, mean + tq * se
    out["ces_high"] = _ratio(raw["ces_high"], raw["ces_n"])
    out["conversion"] = _ratio(raw["converted"], raw["customers"])
    if not con.execute("SELECT count(*) FROM orders").fetchone()[0]:
        out["conversion"] = np.nan  # a store without orders cannot tell who bought: blank, not 0
    few_csat = out["csat_n"] < min_group_size
    out.loc[few_csat, ["csat", "csat_lower", "csat_upper"]] = np.nan
    few_ces = out["ces_n"] < min_group_size
    out.loc[few_ces, ["ces", "ces_lower", "ces_upper", "ces_high"]] = np.nan
    return suppress(out, n="customers", values=["csat_n", "csat", "csat_lower", "csat_upper", "ces_n", "ces",
                                                "ces_lower", "ces_upper", "ces_high", "conversion"],
                    min_group_size=min_group_size)
