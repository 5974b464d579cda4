"""The Spark engine's tests: one local Spark session and the session's sample store on it.

`spark_con` is the sample store (tests/conftest.py's `sample_db`) exported to Parquet and opened
with ``cxlib.connect(config, engine="spark")``; `same` compares what an analysis returns on the
two engines (frames, numbers, text, and lists, tuples and dicts of them)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def spark_config(sample_db, tmp_path_factory):
    import cxlib
    from cxlib.store.spark import export_parquet

    con = cxlib.connect(sample_db)
    try:
        return export_parquet(con, tmp_path_factory.mktemp("lake"))
    finally:
        con.close()


@pytest.fixture(scope="session")
def spark_con(spark_config):
    import cxlib

    return cxlib.connect(spark_config, engine="spark")


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index(drop=isinstance(df.index, pd.RangeIndex))
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.astype("datetime64[ns]")
        elif s.dtype == object and s.map(lambda v: isinstance(v, pd.Timestamp | np.datetime64)).any():
            out[c] = pd.to_datetime(s).astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype("float64")
    return out


def same(a, b, *, rtol: float = 1e-9, path: str = "result") -> None:
    """Assert that `a` (DuckDB) and `b` (Spark) are the same result: exact for text and counts,
    within `rtol` for floats."""
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), f"{path}: {type(b).__name__}, not a DataFrame"
        assert list(a.columns) == list(b.columns), f"{path}: columns {list(a.columns)} vs {list(b.columns)}"
        pd.testing.assert_frame_equal(_frame(a), _frame(b), check_dtype=False, check_exact=False, rtol=rtol,
                                      atol=1e-12, obj=path)
    elif isinstance(a, pd.Series):
        same(a.to_frame(), b.to_frame(), rtol=rtol, path=path)
    elif isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"
        for k in a:
            same(a[k], b[k], rtol=rtol, path=f"{path}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, rtol=rtol, path=f"{path}[{i}]")
    elif isinstance(a, float | np.floating) and not isinstance(a, bool):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12), f"{path}: {a} vs {b}"
    elif hasattr(a, "__dataclass_fields__"):
        same(vars(a), vars(b), rtol=rtol, path=path)
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"
