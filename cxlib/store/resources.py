"""Memory, temporary files and threads for every store connection, so DuckDB spills instead of growing.

`apply_resources(con, path)` is called by `cxlib.store.connection.connect` on every connection,
read-only or read-write:

- ``memory_limit``: ``CX_MEMORY_LIMIT`` if set (a DuckDB size such as ``'3GB'`` or ``'512MB'``),
  else ``DEFAULT_LIMIT`` capped at half of the machine's memory. Past the limit DuckDB writes
  intermediate results to the temporary directory instead of growing; the limit covers DuckDB's
  buffer pool, so the process's peak is the limit plus Python's own objects (small: ingestion keeps
  rows in DuckDB).
- ``temp_directory``: a private folder under the system temporary directory (``cx-duckdb-<user>``),
  one per store file and process, so spilling works when the store's folder or the connection is
  read-only. DuckDB creates it on first spill and removes it when the database closes; whatever is
  left when the process exits is removed then, and what a killed process left by the next process.
- ``threads``: ``CX_THREADS`` if set, else DuckDB's default (one per core).
"""

from __future__ import annotations

import atexit
import functools
import getpass
import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from cxlib.errors import CxInputError

DEFAULT_LIMIT_BYTES = 4 * 1024**3  # 4 GiB; capped at half of the machine's memory
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
MIN_LIMIT_BYTES = 16 * 1000**2  # below this DuckDB cannot run even simple loads
_made: set[Path] = set()


def parse_size(text: str, *, what: str = "CX_MEMORY_LIMIT") -> int:
    """Bytes in a size such as '4GB', '512MB', '1.5GiB' or '3000000000'; CxInputError when it is not one."""
    m = _SIZE.match(str(text))
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _UNITS:
        raise CxInputError(
            f"{what}={text!r} is not a memory size: use a number with a unit, such as '4GB', '512MB' or '1.5GiB'"
        )
    size = int(float(m.group(1)) * _UNITS[unit])
    if size < MIN_LIMIT_BYTES:
        raise CxInputError(f"{what}={text!r} is too small: DuckDB needs at least 16MB (try '1GB' or more)")
    return size


def machine_memory() -> int | None:
    """Physical memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def memory_limit() -> int:
    """The memory limit in bytes: CX_MEMORY_LIMIT, else min(DEFAULT_LIMIT_BYTES, half the machine's memory)."""
    env = os.environ.get("CX_MEMORY_LIMIT", "").strip()
    if env:
        return parse_size(env)
    ram = machine_memory()
    return min(DEFAULT_LIMIT_BYTES, ram // 2) if ram else DEFAULT_LIMIT_BYTES


def threads() -> int | None:
    """CX_THREADS as a positive whole number, or None for DuckDB's default."""
    env = os.environ.get("CX_THREADS", "").strip()
    if not env:
        return None
    if not env.isdigit() or int(env) < 1:
        raise CxInputError(f"CX_THREADS={env!r} is not a positive whole number of threads (such as 2)")
    return int(env)


@functools.cache
def spill_root() -> Path:
    """cx-duckdb-<user> under the system temporary directory, readable by the user only (a fresh
    private folder instead if another user owns that name or it is open to others). Folders that
    processes no longer running left there (a killed load) are removed after an hour."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (a container): the uid is as good
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    root = Path(tempfile.gettempdir()) / f"cx-duckdb-{re.sub(r'[^A-Za-z0-9_.-]', '_', user)}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        st = root.lstat()
        private = not root.is_symlink() and (not hasattr(os, "getuid") or (st.st_uid == os.getuid()
                                                                          and not st.st_mode & 0o077))
    except OSError:
        private = False
    if not private:
        return Path(tempfile.mkdtemp(prefix="cx-duckdb-"))
    hour_ago = time.time() - 3600  # and untouched for an hour (a process of another PID namespace)
    for old in root.iterdir():
        pid = old.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)) and old.stat().st_mtime < hour_ago:
            shutil.rmtree(old, ignore_errors=True)
    return root


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def temp_directory(path: str | os.PathLike | None) -> Path:
    """The private spill folder for the store at `path` in this process, under spill_root() (not
    created here: DuckDB creates it on first spill)."""
    key = hashlib.sha1(str(Path(path).resolve() if path else ":memory:").encode()).hexdigest()[:12]
    folder = spill_root() / f"{os.getpid()}-{key}"
    if not _made:
        atexit.register(_clean_up)
    _made.add(folder)
    return folder


def _clean_up() -> None:
    """Remove the spill folders this process used (DuckDB removes them itself when a database closes)."""
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)


def apply_resources(con, path: str | os.PathLike | None = None) -> None:
    """Set the memory limit, the spill folder and the threads on a new connection (see the module's doc)."""
    con.execute("SET memory_limit = ?", [f"{memory_limit()}B"])
    folder = str(temp_directory(path))
    current = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    if current != folder:  # a second connection to the same database in this process shares the first's folder
        con.execute("SET temp_directory = ?", [folder])
    n = threads()
    if n is not None:
        con.execute("SET threads = ?", [n])
