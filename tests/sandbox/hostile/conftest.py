"""Fixtures for the hostile suite: both backends, planted secrets, a host service.

Every attack runs against the process backend and the Docker backend. Docker tests skip
when no daemon answers, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest
from hostile_problem import SECRET

from tests.needs import unavailable


def _docker_sandbox(hide):
    from evolve.errors import SandboxError

    try:
        from evolve.sandbox.docker import DockerSandbox
        from evolve.sandbox.docker_client import connect

        connect()
    except (SandboxError, ImportError) as e:
        unavailable("the Docker backend", str(e))
    return DockerSandbox(pool_size=1, memory_mb=512, tmpfs_mb=64, pids_limit=64, hide=hide)


@pytest.fixture(scope="session")
def planted():
    """Secrets where an engine keeps them: an archive database and an SSH key in a
    world-readable directory under the engine's working directory and under /tmp."""
    made = [tempfile.mkdtemp(prefix=".hostile-", dir=os.getcwd()), tempfile.mkdtemp(prefix="hostile-")]
    files = {}
    for base in made:
        os.chmod(base, 0o755)
        for name in ("runs.db", "id_ed25519"):
            path = os.path.join(base, name)
            with open(path, "w") as f:
                f.write(f"SQLite format 3 archive {SECRET}\n")
            os.chmod(path, 0o644)
            files[f"{name}@{base}"] = path
        drop = os.path.join(base, "drop")
        os.mkdir(drop)
        os.chmod(drop, 0o777)  # writable by anyone: the sandbox must still keep candidates out
        files[f"drop@{base}"] = drop
    try:
        yield files
    finally:
        for base in made:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def secret_process():
    """A host process whose environment holds the secret (candidates may scan /proc)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENAI_API_KEY": SECRET}
    proc = subprocess.Popen(["sleep", "600"], env=env)
    os.environ["OPENAI_API_KEY"] = SECRET  # and the engine's own environment
    try:
        yield proc
    finally:
        os.environ.pop("OPENAI_API_KEY", None)
        proc.kill()
        proc.wait()


class HostService:
    """A TCP server on the host's 127.0.0.1 that records whatever reaches it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    self.received.append(conn.recv(4096) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="session")
def host_service():
    service = HostService()
    try:
        yield service
    finally:
        service.close()


# Every isolation level the CLI accepts, the fallbacks included:
# - process: ``--isolation auto`` as the machine offers it (bubblewrap where installed);
# - process-nobwrap: auto on a machine without bubblewrap (PATH without bwrap), which
#   must fall back to the namespaces level with the same guarantees;
# - process-namespaces: ``--isolation namespaces`` asked for by name;
# - docker.
# tests/sandbox/hostile/test_unprivileged_engine.py runs the same suite with the engine
# as an ordinary user (user namespaces). ``--isolation none`` is not attacked here: it is
# the explicit opt-in to no isolation (tests/sandbox/test_isolation_levels.py checks that
# it is refused without the opt-in and never runs a candidate as root).
VARIANTS = ["process", "process-nobwrap", "process-namespaces"]


def _process_sandbox(variant: str, hide):
    from evolve.sandbox.process import ProcessSandbox

    if variant == "process":
        return ProcessSandbox(hide=hide)
    if variant == "process-nobwrap":
        empty = tempfile.mkdtemp(prefix="no-bwrap-")
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = empty  # what a machine without bubblewrap looks like to the engine
        try:
            sb = ProcessSandbox(hide=hide)
        finally:
            os.environ["PATH"] = path
            os.rmdir(empty)
        assert sb.level == "namespaces", sb.describe()
        return sb
    assert variant == "process-namespaces", variant
    return ProcessSandbox(isolation_level="namespaces", hide=hide)


@pytest.fixture(scope="module", params=[*VARIANTS, pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request, planted):
    # What the engine hides (evolve/wiring.py): its working directory and the archive's
    # directory; here the planted directory under the current one plays both. The copies
    # under /tmp test what is protected without being asked, and so does Evolve's own
    # installation (the repository, the current directory here): every sandbox hides it
    # by itself, so it is not named.
    hide = sorted({os.path.dirname(p) for p in planted.values() if p.startswith(os.getcwd() + os.sep)})
    sb = _docker_sandbox(hide) if request.param == "docker" else _process_sandbox(request.param, hide)
    sb.variant = request.param
    # A candidate running as root could kill every process on the machine: never attack that.
    assert request.param == "docker" or os.geteuid() != 0 or sb.drop_uid, sb.describe()
    with sb:
        yield sb
