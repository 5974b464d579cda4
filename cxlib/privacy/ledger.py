"""The release ledger: what earlier report runs published from a store, so that no new table can
be subtracted from an old one to single out fewer than k people.

A report run (cxlib.report.runs) keeps one ledger per store, a JSON-lines file of *(group,
count)* pairs: every row a stakeholder page showed, with its count. The kernel that runs a
report notebook is told three paths through the environment:

- ``CX_RELEASE_LEDGER``: the store's ledger, read only. `suppress` hides every row whose count
  differs from a count published before for the same group by more than 0 and less than k (the
  difference would be a group of fewer than k people), then adds its complements as usual. Tables
  of the same page are not compared with each other: a page computes intermediate tables of the
  same shape over other periods (two months' funnels) that are not nested, and within a page the
  margins of each table are what protects it.
- ``CX_RELEASE_LOG``: where `suppress` writes the rows it leaves visible. The runner adds them to
  the ledger once the page is published (`merge`), so later targets of the same run are checked
  against it too.
- ``CX_RELEASE_CHECKED``: where `suppress` writes every row it checked against the ledger, with its
  k. A run whose notebooks run in parallel (``cx report run --jobs N``) checks each page against
  the ledger as it was when the run started; before publishing a page in its place in the run, the
  runner asks `stale`: would the pages published before it in this run have forced any of those
  rows hidden? If so the page is run again, so every page sees what it would in a serial run.

A *group* is a row's labels within its kind of table: the table's column names (the count, the
blanked values and the labels) and the row's label values (every column that is neither the
count nor a blanked value), hashed; rows with the same labels (a table whose labels are blanked
with its values, such as agent pseudonyms) are told apart by their place among them. The date range and filters are not part of it on purpose:
NPS for region 'east' up to one day and up to the next day are the same group, and that pair is
the attack. Two unrelated tables that share columns and labels are compared too, which can only
hide more. Outside a report run (no environment variables) nothing is read or written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

LEDGER_ENV = "CX_RELEASE_LEDGER"
LOG_ENV = "CX_RELEASE_LOG"
CHECKED_ENV = "CX_RELEASE_CHECKED"

_cache: dict[str, tuple[tuple[float, int], dict[str, set[int]]]] = {}


def active() -> bool:
    """Whether this process runs a report (a ledger to check or a log to write)."""
    return bool(os.environ.get(LEDGER_ENV) or os.environ.get(LOG_ENV) or os.environ.get(CHECKED_ENV))


def group_keys(df: pd.DataFrame, n: str, values: list[str]) -> list[str]:
    """One key per row: its table's column names and its label values, hashed."""
    columns = sorted(map(str, df.columns))
    labels = [c for c in df.columns if c != n and c not in values and c != "suppressed"]
    rows = df[labels].astype(object).where(df[labels].notna(), None).to_numpy().tolist() if labels else [[]] * len(df)
    seen: dict[str, int] = {}
    keys = []
    for row in rows:  # rows with the same labels (or none) are told apart by their place among them
        text = json.dumps([columns, [_plain(v) for v in row]], default=str)
        seen[text] = seen.get(text, -1) + 1
        keys.append(hashlib.sha256(f"{text}#{seen[text]}".encode()).hexdigest()[:32])
    return keys


def differencing(keys: list[str], counts: np.ndarray, k: int) -> np.ndarray:
    """Rows whose count is 1..k-1 away from a count published before for the same group (each
    row checked is listed, with k, when the run asked for that list)."""
    _append(os.environ.get(CHECKED_ENV), [[key, int(c), k] for key, c in zip(keys, counts)])
    path = os.environ.get(LEDGER_ENV)
    out = np.zeros(len(keys), dtype=bool)
    if not path or not keys:
        return out
    earlier = read(Path(path))
    for i, (key, count) in enumerate(zip(keys, counts)):
        out[i] = _differs(int(count), earlier.get(key, ()), k)
    return out


def _differs(count: int, published, k: int) -> bool:
    return any(0 < abs(count - before) < k for before in published)


def record(keys: list[str], counts: np.ndarray, shown: np.ndarray) -> None:
    """Append the shown rows (key and count) to this page's log, when a run asked for one."""
    _append(os.environ.get(LOG_ENV), [[key, int(c)] for key, c, s in zip(keys, counts, shown) if s])


def _append(path: str | None, rows: list) -> None:
    if path and rows:
        with open(path, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)


def stale(checked: Path, before: dict[str, set[int]], ledger: Path) -> bool:
    """Whether a page whose rows were checked against `before` (the ledger as it was) would hide
    more against the ledger now: a checked row 1..k-1 away from a count published since, and
    from none published before."""
    if not checked.exists():
        return False
    now = read(ledger)
    with open(checked, encoding="utf-8") as f:
        for line in f:
            key, count, k = json.loads(line)
            if _differs(count, now.get(key, ()), k) and not _differs(count, before.get(key, ()), k):
                return True
    return False


def read(path: Path) -> dict[str, set[int]]:
    """The ledger as {group key: counts published}; empty when there is none yet."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (stat.st_mtime, stat.st_size)
    cached = _cache.get(str(path))
    if cached and cached[0] == stamp:
        return cached[1]
    with open(path, encoding="utf-8") as f:
        out = _pairs(f)
    _cache[str(path)] = (stamp, out)
    return out


def _pairs(lines) -> dict[str, set[int]]:
    """JSON lines of [group key, count] as {group key: counts}."""
    out: dict[str, set[int]] = {}
    for line in lines:
        key, count = json.loads(line)
        out.setdefault(key, set()).add(int(count))
    return out


def merge(log: Path, ledger: Path) -> int:
    """Add a published page's log to the store's ledger (pairs not there yet); returns how many.

    The ledger is locked while it is read and appended to, so pages merged at the same time (two
    runs on one store) neither lose nor interleave entries."""
    if not log.exists():
        return 0
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with open(ledger, "a+", encoding="utf-8") as book:
        _lock(book)
        book.seek(0)
        known = _pairs(book)
        new: list[str] = []
        with open(log, encoding="utf-8") as f:
            for line in f:
                key, count = json.loads(line)
                if count not in known.get(key, ()):
                    known.setdefault(key, set()).add(count)
                    new.append(json.dumps([key, count]) + "\n")
        book.writelines(new)
    _cache.pop(str(ledger), None)
    return len(new)


def _lock(f) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: runs there are not concurrent
        return
    fcntl.flock(f, fcntl.LOCK_EX)


def _plain(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):  # 3.0 and 3 are one label, whatever the column's dtype
        return int(value) if float(value).is_integer() else float(value)
    return str(value) if not isinstance(value, (int, str, bool, type(None))) else value
