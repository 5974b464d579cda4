"""The touchpoint -> stage map for a store's own touchpoints: which are unmapped, and a suggested map.

A store starts with the shipped map (the sample's vocabulary). A user's events use their own
names, so ``suggest_stages`` proposes a stage for every touchpoint the store has seen, from the
map where it already has one and from words in the name otherwise, for the user to edit and
load with ``cx ingest touchpoint_stages FILE``. Guessed stages are marked as guesses.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from cxlib.store.schema import STAGES

# Words that suggest a stage, checked in this order (the first stage with a matching word wins).
STAGE_WORDS = {
    "service": ("help", "support", "faq", "chat", "call", "phone", "ticket", "contact", "complain", "return",
                "refund", "cancel", "issue", "problem", "error", "delivery", "track", "store_visit"),
    "purchase": ("cart", "basket", "checkout", "pay", "payment", "paid", "purchase", "order", "buy", "subscribe",
                 "trial", "upgrade", "confirm", "transaction", "success", "thank"),
    "loyalty": ("login", "log_in", "sign_in", "signin", "referral", "refer", "share", "review_written", "rate",
                "newsletter", "reward", "loyalty", "renew", "account", "profile", "settings"),
    "awareness": ("ad", "ads", "campaign", "social", "email_open", "landing", "promo", "banner", "impression",
                  "utm", "acquisition", "install", "signup", "sign_up", "register", "onboard"),
    "consideration": ("home", "product", "item", "view", "catalog", "search", "browse", "category", "compare",
                      "review", "detail", "page", "list", "pricing", "plan", "feature", "main"),
}


def unmapped_touchpoints(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Touchpoints in the store's events with no stage in its map; columns touchpoint, events."""
    return con.execute(
        """SELECT e.touchpoint, count(*) AS events FROM events e
           WHERE e.touchpoint NOT IN (SELECT touchpoint FROM touchpoint_stages)
           GROUP BY 1 ORDER BY events DESC, touchpoint"""
    ).df()


def guess_stage(touchpoint: str) -> str | None:
    """A stage suggested by a word in the touchpoint's name ('add_to_cart' -> purchase), or None."""
    words = set(re.split(r"[^a-z0-9]+", touchpoint.lower())) | {touchpoint.lower()}
    for stage, cues in STAGE_WORDS.items():
        if any(cue in words or (len(cue) > 3 and cue in touchpoint.lower()) for cue in cues):
            return stage
    return None


def suggest_stages(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """A stage for every touchpoint the store has seen, most frequent first.

    Columns: touchpoint, stage, events, source ('map' when the store's map has it, 'guess' from
    words in the name, 'default' (consideration) when nothing fits: edit those first).
    """
    seen = con.execute(
        """SELECT e.touchpoint, m.stage, count(*) AS events FROM events e
           LEFT JOIN touchpoint_stages m USING (touchpoint) GROUP BY 1, 2 ORDER BY events DESC, touchpoint"""
    ).df()
    rows = []
    for r in seen.itertuples():
        if r.stage in STAGES:
            rows.append((r.touchpoint, r.stage, int(r.events), "map"))
        else:
            guess = guess_stage(r.touchpoint)
            rows.append((r.touchpoint, guess or "consideration", int(r.events), "guess" if guess else "default"))
    return pd.DataFrame(rows, columns=["touchpoint", "stage", "events", "source"])
