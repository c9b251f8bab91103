"""The archive is out of a candidate's reach however the storage is written.

A bare path (``--storage /data/runs.db``) is SQLite just like ``sqlite:////data/runs.db``;
the sandbox built for the campaign (evolve/wiring.py) must hide its directory too. A
PostgreSQL archive is reached over the network, which no candidate has. Both sandbox
backends, as the campaign builds them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest
from hostile_problem import SECRET, job

from evolve.config import Config
from evolve.wiring import make_sandbox

LOOK = """
import json, socket
def main(weights, values, capacity):
    for path in json.loads('__PATHS__'):
        try:
            data = open(path, 'rb').read()
            print('READ', path, data[:80])
        except OSError as e:
            print('blocked', path, type(e).__name__)
    for directory in json.loads('__DIRS__'):
        try:
            found = _os.listdir(directory)
            print('LISTED' if found else 'empty', directory, found)
        except OSError as e:
            print('blocked', directory, type(e).__name__)
    host, port = json.loads('__SERVER__')
    if port:
        try:
            socket.create_connection((host, port), timeout=1).close()
            print('CONNECTED', host, port)
        except OSError as e:
            print('blocked', host, port, type(e).__name__)
    print('ATTACK-DONE')
    return _greedy(weights, values, capacity)
"""


@pytest.fixture
def archive_dir():
    """A directory the sandbox does not hide unless told to: not /tmp, not a home, not
    the working directory (where a user keeps --storage /data/runs.db)."""
    if os.geteuid() != 0:
        pytest.skip("needs a directory outside /tmp and $HOME: run as root (CI does)")
    path = tempfile.mkdtemp(prefix="evolve-archive-", dir="/var/lib")
    os.chmod(path, 0o755)
    db = os.path.join(path, "runs.db")
    with open(db, "w") as f:
        f.write(f"SQLite format 3 archive {SECRET}\n")
    os.chmod(db, 0o644)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _attack(paths, dirs, server=("", 0)) -> str:
    return (
        LOOK.replace("__PATHS__", json.dumps(paths))
        .replace("__DIRS__", json.dumps(dirs))
        .replace("__SERVER__", json.dumps(list(server)))
    )


def _run(config: Config, code: str, mark: str) -> str:
    with make_sandbox(config) as sb:
        result = sb.evaluate(job(code, mark))
    assert result.status == "ok", result.reason
    assert "ATTACK-DONE" in result.stdout, result.stdout
    return result.stdout


@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
@pytest.mark.parametrize("form", ["bare", "url"])
def test_sqlite_archive_is_hidden_however_the_storage_is_written(backend, form, archive_dir):
    db = os.path.join(archive_dir, "runs.db")
    storage = db if form == "bare" else f"sqlite:///{db}"
    out = _run(Config(storage=storage, sandbox=backend), _attack([db], [archive_dir]), "hxarchive")
    assert SECRET not in out and "READ" not in out and "LISTED" not in out, out


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["process", pytest.param("docker", marks=pytest.mark.docker)])
def test_postgres_archive_is_out_of_reach(backend, postgres_url):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    out = _run(
        Config(storage=postgres_url, sandbox=backend),
        _attack([], [], (url.host or "127.0.0.1", url.port or 5432)),
        "hxpg",
    )
    assert "CONNECTED" not in out, out
