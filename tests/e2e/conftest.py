"""Fixtures for the report end-to-end tests: a private copy of the sample store."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def report_store(sample_db, tmp_path_factory):
    """A private copy of the sample store: the lock tests must not block other tests' store."""
    path = tmp_path_factory.mktemp("report_store") / "store.duckdb"
    shutil.copyfile(sample_db, path)
    return path
