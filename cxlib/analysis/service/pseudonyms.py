"""Stable pseudonyms for the agents behind tickets: reports name an agent 'Agent 3fa2c1d0', never by id.

Agents are people. A stakeholder report may compare their work but must not say who is who, so an
agent is shown by a keyed hash of the id: the same agent gets the same pseudonym in every report on
the same store, and the pseudonym cannot be turned back into the id by hashing the known ids
without the key. Analysts in an interactive session may see the ids (``interactive=True``).
A pseudonym is written in lower-case consonants only ('Agent kzbt-qwrm'): without digits it can
never look like an id, phone number or account that the report's personal-data scan would mask,
and without vowels it spells no word.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import duckdb

from cxlib.sql import has_table

KEY_VARIABLE = "CX_PSEUDONYM_KEY"
NO_AGENT = "no agent recorded"
LETTERS = "bcdfghjklmnpqrstvwxz"  # 20 consonants


def pseudonym_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The key of the pseudonyms: the environment variable CX_PSEUDONYM_KEY when set (the same
    pseudonyms across stores), else a digest of the store's first load (its id, table, source and
    start time to the microsecond: fixed for the store's life, never shown in a report)."""
    given = os.environ.get(KEY_VARIABLE)
    if given:
        return given.encode("utf-8")
    first = None
    if has_table(con, "load_log"):
        first = con.execute("SELECT load_id, table_name, source, started_at FROM load_log "
                            "ORDER BY load_id LIMIT 1").fetchone()
    return hashlib.sha256(("cx-agent-pseudonym|" + repr(first)).encode("utf-8")).digest()


def _letters(digest: bytes, width: int) -> str:
    """`width` consonants read off a digest (its bytes modulo 20), grouped by four: 'kzbt-qwrm'."""
    text = "".join(LETTERS[b % len(LETTERS)] for b in digest[:width])
    return "-".join(text[i:i + 4] for i in range(0, width, 4))


def agent_pseudonyms(con: duckdb.DuckDBPyConnection, ids) -> dict[str, str]:
    """{agent id: 'Agent kzbt-qwrm'} for `ids`: 8 consonants read off HMAC-SHA256 of the id under
    `pseudonym_key` (20^8, about 2.6e10, pseudonyms); the blank id '(none)' becomes 'no agent
    recorded'. Should two ids share 8 letters, every pseudonym gets 12 so that they stay distinct."""
    key = pseudonym_key(con)
    ids = [str(i) for i in ids]
    digests = {i: hmac.new(key, i.encode("utf-8"), hashlib.sha256).digest() for i in ids if i != "(none)"}
    width = 8 if len({_letters(d, 8) for d in digests.values()}) == len(digests) else 12
    names = {i: f"Agent {_letters(d, width)}" for i, d in digests.items()}
    if "(none)" in ids:
        names["(none)"] = NO_AGENT
    return names
