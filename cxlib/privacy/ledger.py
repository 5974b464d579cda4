"""The release ledger: what earlier report runs published from a store, so that no new table can
be subtracted from an old one to single out fewer than k people.

A report run (cxlib.report.runs) keeps one ledger per store, a JSON-lines file of *(group,
count)* pairs: every row a stakeholder page showed, with its count. The kernel that runs a
report notebook is told two paths through the environment:

- ``CX_RELEASE_LEDGER``: the store's ledger, read only. `suppress` hides every row whose count
  differs from a count published before for the same group by more than 0 and less than k (the
  difference would be a group of fewer than k people), then adds its complements as usual. Tables
  of the same page are not compared with each other: a page computes intermediate tables of the
  same shape over other periods (two months' funnels) that are not nested, and within a page the
  margins of each table are what protects it.
- ``CX_RELEASE_LOG``: where `suppress` writes the rows it leaves visible. The runner adds them to
  the ledger once the page is published (`merge`), so later targets of the same run are checked
  against it too.

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

_cache: dict[str, tuple[tuple[float, int], dict[str, set[int]]]] = {}


def active() -> bool:
    """Whether this process runs a report (a ledger to check or a log to write)."""
    return bool(os.environ.get(LEDGER_ENV) or os.environ.get(LOG_ENV))


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
    """Rows whose count is 1..k-1 away from a count published before for the same group."""
    path = os.environ.get(LEDGER_ENV)
    out = np.zeros(len(keys), dtype=bool)
    if not path or not keys:
        return out
    earlier = read(Path(path))
    for i, (key, count) in enumerate(zip(keys, counts)):
        out[i] = any(0 < abs(int(count) - before) < k for before in earlier.get(key, ()))
    return out
    for i, (key, count) in enumerate(zip(keys, counts)):
        out[i] = any(0 < abs(int(count) - before) < k for book in books for before in book.get(key, ()))
    return out


def record(keys: list[str], counts: np.ndarray, shown: np.ndarray) -> None:
    """Append the shown rows (key and count) to this run's log, when a run asked for one."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    lines = [json.dumps([key, int(c)]) + "\n" for key, c, s in zip(keys, counts, shown) if s]
    if lines:
        with open(path, "a", encoding="utf-8") as f:
            f.writelines(lines)


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
    out: dict[str, set[int]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, count = json.loads(line)
            out.setdefault(key, set()).add(int(count))
    _cache[str(path)] = (stamp, out)
    return out


def merge(log: Path, ledger: Path) -> int:
    """Add a published page's log to the store's ledger (pairs not there yet); returns how many."""
    if not log.exists():
        return 0
    known = read(ledger)
    new: list[str] = []
    with open(log, encoding="utf-8") as f:
        for line in f:
            key, count = json.loads(line)
            if count not in known.get(key, ()):
                known.setdefault(key, set()).add(count)
                new.append(json.dumps([key, count]) + "\n")
    if new:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        with open(ledger, "a", encoding="utf-8") as f:
            f.writelines(new)
    _cache.pop(str(ledger), None)
    return len(new)


def _plain(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):  # 3.0 and 3 are one label, whatever the column's dtype
        return int(value) if float(value).is_integer() else float(value)
    return str(value) if not isinstance(value, (int, str, bool, type(None))) else value
