"""The ``arc`` fixture: a fresh Archive on SQLite (a temp file) and on a real
PostgreSQL server (a fresh schema); tests using it run against both."""

from __future__ import annotations

import pytest

from evolve.archive import Archive


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def archive_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.db'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def arc(archive_url):
    a = Archive(archive_url)
    yield a
    a.close()


@pytest.fixture
def campaign(arc):
    return arc.create_campaign("c1", "toy", {"islands": 2})
