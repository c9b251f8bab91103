"""Shared pytest fixtures. Each section belongs to one package's tests; keep them
self-contained. Whatever a test needs and may lack goes through ``tests.needs`` (skip
outside CI, fail under CI=true)."""

from __future__ import annotations

import os

import pytest

from tests.needs import need, unavailable

# --- PostgreSQL (archive) --------------------------------------------------------
# ``postgres_url``: a server for the whole session. EVOLVE_TEST_POSTGRES_URL wins;
# else a throwaway cluster is started (tests/pg_server.py). With neither the postgres
# tests skip, except under CI=true where they fail: CI provides a server, so a skip
# there would hide a broken setup.


def _pg_server():
    from tests import pg_server

    return pg_server


@pytest.fixture(scope="session")
def postgres_url():
    pg_server = _pg_server()

    url = os.environ.get(pg_server.ENV_URL)
    if url:
        yield url
        return
    try:
        server = pg_server.start()
    except pg_server.Unavailable as e:
        unavailable("PostgreSQL", f"set {pg_server.ENV_URL} ({e})")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_schema_url(postgres_url):
    """A URL on an empty schema of the session's server, dropped after the test."""
    pg_server = _pg_server()

    url, name = pg_server.fresh_schema(postgres_url)
    yield url
    pg_server.drop_schema(postgres_url, name)


# --- end PostgreSQL (archive) ----------------------------------------------------


# --- Docker -------------------------------------------------------------------------
# Every test marked ``docker`` needs a daemon: without one it skips, except under CI=true
# where it fails (CI provides a daemon, so a skip would hide a broken setup).

_DOCKER: dict[str, str | None] = {}


def docker_problem() -> str | None:
    """None when a Docker daemon answers, else why not (checked once per session)."""
    if "why" not in _DOCKER:
        try:
            import docker

            docker.from_env(timeout=5).ping()
            _DOCKER["why"] = None
        except Exception as e:  # noqa: BLE001 - any failure means no usable daemon
            _DOCKER["why"] = f"{e.__class__.__name__}: {e}"
    return _DOCKER["why"]


@pytest.fixture(autouse=True)
def _require_docker(request):
    if request.node.get_closest_marker("docker") is None:
        return
    need("a Docker daemon", docker_problem())


# --- end Docker ---------------------------------------------------------------------
