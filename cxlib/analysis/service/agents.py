"""The agents behind service: per agent, how fast their tickets are resolved, first-contact resolution
and CSAT after their tickets, shown by pseudonym, with small-group suppression; which agents stand
out from the rest beyond chance.

Definitions: docs/metrics.md ("Service responsiveness", agents).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from cxlib import sql
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
    with_wilson,
)
from cxlib.analysis.service.outcomes import rated, ticket_answers
from cxlib.analysis.service.pseudonyms import agent_pseudonyms
from cxlib.analysis.service.resolution import median_bounds
from cxlib.errors import CxInputError
from cxlib.privacy import MIN_GROUP_SIZE, check_min_group_size

TICKET_VALUES = ["resolved", "median_hours", "median_hours_lower", "median_hours_upper", "slow", "slow_share",
                 "slow_share_lower", "slow_share_upper", "first_contact_rate", "first_contact_rate_lower",
                 "first_contact_rate_upper"]


def _per_agent(con, slot, params, limits, hours) -> pd.DataFrame:
    """grp (agent id) with tickets, resolution, slow tickets, first-contact and answer sums."""
    times = sql.run(con, "service_resolution", params, {"grp": slot})
    times = times.merge(median_bounds(con, times, slot, params), on="grp", how="left")
    bands = sql.run(con, "service_bands", {**params, "limits": limits}, {"grp": slot})
    slow = bands[bands["band"] == len(limits)].groupby("grp")["tickets"].sum().rename("slow")
    fcr = sql.run(con, "service_first_contact", params, {"grp": slot})[["grp", "judged", "one_touch"]]
    answers = ticket_answers(con, slot, params, limits, hours).drop(columns="band").groupby("grp").sum()
    df = times.merge(slow, on="grp", how="left").merge(fcr, on="grp", how="left").merge(answers, on="grp", how="left")
    return df.fillna({c: 0 for c in ["slow", "judged", "one_touch", "csat_answers", "satisfied", "ces_answers",
                                     "ces_sum", "ces_sumsq"]})


def _stands_out(df: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Each shown agent's slow share against the other shown agents pooled: two-proportion z-test,
    Benjamini-Hochberg over the agents."""
    from statsmodels.stats.multitest import multipletests

    shown = (~df["suppressed"] & (df["grp"] != "(none)")).to_numpy()  # tickets without an agent: no agent to test
    slow = pd.to_numeric(df["slow"], errors="coerce").astype(float).to_numpy()
    tickets = pd.to_numeric(df["tickets"], errors="coerce").astype(float).to_numpy()
    slow_all, n_all = slow[shown].sum(), tickets[shown].sum()
    p = np.full(len(df), np.nan)
    for i, (is_shown, x, n) in enumerate(zip(shown, slow, tickets)):
        rest_x, rest_n = slow_all - x, n_all - n
        if not is_shown or rest_n <= 0 or n <= 0:
            continue
        pooled = (x + rest_x) / (n + rest_n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
        p[i] = 1.0 if se == 0 else 2 * stats.norm.sf(abs(x / n - rest_x / rest_n) / se)
    out = df.copy()
    out["p_adjusted"] = np.nan
    ok = ~np.isnan(p)
    if ok.any():
        out.loc[ok, "p_adjusted"] = multipletests(p[ok], method="fdr_bh")[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rest_share = (slow_all - slow) / (n_all - tickets)
    out["stands_out"] = np.where(out["p_adjusted"] < alpha,
                                 np.where(out["slow_share"].astype(float) > rest_share, "slower", "faster"), "")
    return out


def agent_performance(
    con: duckdb.DuckDBPyConnection,
    *,
    bands=DEFAULT_BANDS,
    answer_window_hours: float = ANSWER_WINDOW_HOURS,
    start=None,
    end=None,
    min_group_size: int = MIN_GROUP_SIZE,
    alpha: float = 0.05,
    interactive: bool = False,
) -> pd.DataFrame:
    """Per agent (tickets.agent_id): tickets, median resolution, slow share, first-contact resolution
    and CSAT after their tickets; which agents are slower or faster than the rest beyond chance.

    *Definition*: the measures of `resolution_times`, `first_contact_resolution` and
    `ratings_by_resolution` per agent (tickets opened in `start`..`end`; slow = known to take
    longer than the last band limit, 72 h by default). ``stands_out`` is 'slower' or 'faster'
    when the agent's slow share differs from that of all other shown agents pooled (two-proportion
    z-test) with a Benjamini-Hochberg adjusted p (``p_adjusted``) below `alpha`; agents differ in
    the tickets they get (channel, category, customer), so this flags where to look, not blame.
    Agents are people: ``agent`` is a stable pseudonym ('Agent 3fa2c1d0', see
    `agent_pseudonyms`); the id itself is added as ``agent_id`` only with ``interactive=True``
    (analyst sessions, never stakeholder reports). Tickets without an agent are one row.
    Suppression: agents with fewer than `min_group_size` tickets are hidden (complementary, and
    neither tested nor pooled); CSAT is hidden for agents with fewer than `min_group_size` linked
    answers. ``suppressed`` is true when anything on the row is hidden. Sorted by slow share,
    highest first (hidden rows last).

    Columns: agent, [agent_id,] tickets, resolved, median_hours (+ _lower, _upper), slow_share
    (+ _lower, _upper), first_contact_rate (+ _lower, _upper), csat_answers, csat (+ _lower, _upper),
    stands_out, p_adjusted, suppressed.
    """
    check_min_group_size(min_group_size)
    limits, hours = check_bands(bands), check_window_hours(answer_window_hours)
    if not isinstance(interactive, bool):
        raise CxInputError(f"interactive must be True or False, got {interactive!r}")
    slot, params = group_slot(con, "agent", agents=True), window(con, start, end)
    df = _per_agent(con, slot, params, limits, hours)
    df = with_wilson(df, "slow", "tickets", "slow_share")
    df = with_wilson(df, "one_touch", "judged", "first_contact_rate")
    df = rated(df, min_group_size=min_group_size, within=None)
    csat_hidden = df["csat_answers"].isna()  # blanked: too few answers (or their complement)
    hidden = suppress_answered(df[["tickets", *TICKET_VALUES]], n="tickets", values=TICKET_VALUES,
                               min_group_size=min_group_size)
    df[["tickets", *TICKET_VALUES]] = hidden[["tickets", *TICKET_VALUES]]
    df["suppressed"] = hidden["suppressed"]
    df = _stands_out(df, alpha)
    for col in ("csat_answers", "csat", "csat_lower", "csat_upper"):
        df[col] = df[col].astype(float).where(~df["suppressed"])
    df["suppressed"] = df["suppressed"] | csat_hidden
    df["agent"] = df["grp"].map(agent_pseudonyms(con, df["grp"]))
    df = df.sort_values(["suppressed", "slow_share", "agent"], ascending=[True, False, True], na_position="last")
    cols = ["agent", *(["agent_id"] if interactive else []), "tickets", "resolved", "median_hours",
            "median_hours_lower", "median_hours_upper", "slow_share", "slow_share_lower", "slow_share_upper",
            "first_contact_rate", "first_contact_rate_lower", "first_contact_rate_upper", "csat_answers", "csat",
            "csat_lower", "csat_upper",
            "stands_out", "p_adjusted", "suppressed"]
    out = df.rename(columns={"grp": "agent_id"})[cols].reset_index(drop=True)
    return as_counts(out, ["tickets", "resolved", "csat_answers"])


def agent_headline(agents: pd.DataFrame, *, bands=DEFAULT_BANDS) -> str:
    """One sentence on an `agent_performance` result: how many agents are shown, the range of their
    median resolution times, and how many stand out as slower or faster."""
    if agents is None or len(agents) == 0:
        return "No tickets with an agent in the period selected"
    shown = agents[agents["median_hours"].notna() & (agents["agent"] != "no agent recorded")]
    if shown.empty:
        return ("Every agent is hidden: too few tickets each, or counts that would give a small group away "
                "against an earlier report")
    slow, fast = (agents["stands_out"] == "slower").sum(), (agents["stands_out"] == "faster").sum()
    limit = band_labels(check_bands(bands))[-1]
    verdict = (f"{slow} slower and {fast} faster than the rest beyond chance (share of tickets taking {limit}, "
               "Benjamini-Hochberg at 5%)") if slow + fast else \
        f"none differs from the rest beyond chance in the share of tickets taking {limit}"
    return (f"{len(shown):,} agents shown by pseudonym; their median resolution times run from "
            f"{shown['median_hours'].min():.0f} to {shown['median_hours'].max():.0f} hours; {verdict}")
