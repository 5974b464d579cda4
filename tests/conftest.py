"""Shared fixtures: one seeded sample store per test session, opened read-only by tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory):
    """Path of a 3,000-customer sample store (seed 7). Tests must open it read-only."""
    from cxlib.store.sample import generate

    path = tmp_path_factory.mktemp("store") / "sample.duckdb"
    generate(path, customers=3000, seed=7)
    return path


@pytest.fixture()
def sample_con(sample_db):
    """A read-only connection to the session's sample store."""
    import cxlib

    con = cxlib.connect(sample_db)
    yield con
    con.close()
