"""The journey report on a store whose touchpoints the stage map does not know.

A store starts with the shipped stage map, which knows the sample's touchpoints. A user's events
use their own names (``page_view``, ``web_checkout``, ...), so their touchpoints have no stage and
every event lands in ``'unmapped'``. :func:`stage_coverage` says which touchpoints have no stage
and how to give them one; :func:`fit_flow_level` draws the flow between touchpoints instead of
stages when too few events have a stage, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from cxlib.analysis.defaults import Note
from cxlib.store.stages import suggest_stages, unmapped_touchpoints

NAMED = 5  # touchpoints named in the sentence; the rest are counted
MIN_MAPPED_SHARE = 0.5  # below this share of events with a stage, the flow is drawn by touchpoint
FIX = ("To map them: `cx stages suggest` writes touchpoint_stages.csv with a stage guessed for each touchpoint "
       "(awareness, consideration, purchase, service or loyalty); correct the stages in it, then load it with "
       "`cx ingest touchpoint_stages touchpoint_stages.csv`.")


@dataclass(frozen=True)
class StageCoverage:
    """Touchpoints of the store's events without a journey stage.

    ``unmapped``: touchpoint, events, suggested (the stage ``cx stages suggest`` would propose),
    most frequent first; ``touchpoints`` and ``events``: all of the store's.
    """

    unmapped: pd.DataFrame
    touchpoints: int
    events: int

    @property
    def unmapped_events(self) -> int:
        return int(self.unmapped["events"].sum()) if len(self.unmapped) else 0

    @property
    def mapped_share(self) -> float | None:
        """Share of events whose touchpoint has a stage (None without events)."""
        return None if not self.events else 1 - self.unmapped_events / self.events

    @property
    def sentence(self) -> str:
        """Which touchpoints have no stage (the most frequent named, with their events) and how to map them."""
        if not len(self.unmapped):
            return ""
        top = self.unmapped.head(NAMED)
        named = ", ".join(f"{r.touchpoint} ({r.events:,}; {r.suggested})" for r in top.itertuples())
        rest = len(self.unmapped) - len(top)
        named += f" and {rest} more" if rest else ""
        if self.mapped_share == 0:
            return (f"None of this store's {self.touchpoints} touchpoints has a journey stage yet. The most frequent "
                    f"(events; the stage `cx stages suggest` guesses): {named}.")
        share = self.unmapped_events / self.events
        return (f"{len(self.unmapped)} of this store's {self.touchpoints} touchpoints ({share:.0%} of events) have no "
                f"journey stage and are left out of the map by stage (events; the stage `cx stages suggest` "
                f"guesses): {named}. {FIX}")

    def _repr_markdown_(self) -> str | None:
        return f"*{self.sentence}*" if self.sentence else None

    def _ipython_display_(self) -> None:
        """In a notebook: the sentence, or nothing at all when every touchpoint has a stage."""
        if self.sentence:
            from IPython.display import display

            display({"text/markdown": self._repr_markdown_(), "text/plain": self.sentence}, raw=True)


def stage_coverage(con: duckdb.DuckDBPyConnection) -> StageCoverage:
    """Which of the store's touchpoints have no journey stage; shown in a notebook, one sentence (or nothing).

    *Definition*: a touchpoint of the store's events is unmapped when the store's stage map
    (``touchpoint_stages``) has no row for it; its events then have the stage ``'unmapped'`` and
    are left out of the journey map by stage. Touchpoints are counted from the events, never from
    the map. The sentence names the five most frequent unmapped touchpoints with their events and
    the stage ``cx stages suggest`` would propose, and says how to map them (``cx stages
    suggest``, edit, ``cx ingest touchpoint_stages FILE``).
    """
    unmapped = unmapped_touchpoints(con)
    if len(unmapped):
        guesses = suggest_stages(con).set_index("touchpoint")["stage"]
        unmapped = unmapped.assign(suggested=unmapped["touchpoint"].map(guesses))
    else:
        unmapped = unmapped.assign(suggested=pd.Series(dtype=object))
    touchpoints, events = con.execute("SELECT count(DISTINCT touchpoint), count(*) FROM events").fetchone()
    return StageCoverage(unmapped, int(touchpoints), int(events))


def fit_flow_level(con: duckdb.DuckDBPyConnection, wanted: str) -> str:
    """The level of the flow chart: `wanted`, except 'stage' becomes 'touchpoint' (and a sentence says
    so) when fewer than half of the store's events have a touchpoint with a journey stage."""
    if wanted != "stage":
        return wanted
    coverage = stage_coverage(con)
    share = coverage.mapped_share
    if share is None or share >= MIN_MAPPED_SHARE:
        return wanted
    why = ("none of this store's touchpoints has a journey stage" if share == 0
           else f"only {share:.0%} of this store's events have a touchpoint with a journey stage")
    _say(f"The flow is drawn between touchpoints instead of stages, because {why} (see the journey map).")
    return "touchpoint"


def _say(text: str) -> None:
    from IPython.display import display

    display(Note(text))
