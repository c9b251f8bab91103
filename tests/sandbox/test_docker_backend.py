"""The Docker backend against a real daemon: lockdown, the warm pool, replacement,
threads, the interactive channel, the direct socket and its attach fallback. Skips
without a daemon, except under CI=true."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import threading

import pytest

from evolve.errors import SandboxError
from evolve.problems.contract import default_drive
from evolve.sandbox.base import EvalJob
from tests.needs import unavailable

pytestmark = pytest.mark.docker

HARNESS = "def run(program, case):\n    return program.main(case)\n"
DOUBLE = "def main(x):\n    print('doubling', x)\n    return 2 * x\n"


@pytest.fixture(scope="module")
def client():
    from evolve.sandbox.docker_client import connect

    try:
        return connect()
    except SandboxError as e:
        unavailable("a Docker daemon", str(e))


@pytest.fixture(scope="module")
def sandbox(client):
    from evolve.sandbox.docker import DockerSandbox

    with DockerSandbox(pool_size=2, memory_mb=256, client=client) as sb:
        yield sb


def job(code=DOUBLE, cases=(1, 2, 3), time_limit=5.0, memory_mb=256, harness=HARNESS, drive=default_drive):
    return EvalJob(
        code=code, harness=harness, cases=list(cases), drive=drive, time_limit=time_limit, memory_mb=memory_mb
    )


def idle_ids(sb) -> set[str]:
    return {c.container.id for c in sb.pool.items()}


def test_container_is_locked_down(sandbox, client):
    cid = next(iter(idle_ids(sandbox)))
    info = client.api.inspect_container(cid)
    host, config = info["HostConfig"], info["Config"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] == host["MemorySwap"] > 0
    assert 0 < host["PidsLimit"] <= 1024
    assert host["NanoCpus"] > 0
    assert "noexec" in host["Tmpfs"]["/tmp"] and "size=" in host["Tmpfs"]["/tmp"]
    assert config["User"] == "65534:65534"
    assert not host["Privileged"]
    # Only read-only binds, and none of them exposes the engine's directory or home.
    for mount in info["Mounts"]:
        assert mount["RW"] is False, mount
        assert not os.getcwd().startswith(mount["Source"].rstrip("/") + "/"), mount
    # /dev/null over the files of Evolve's installation inside the runtime's binds (an
    # editable install's finder) and an empty tmpfs over its directories.
    masks = [m for m in info["Mounts"] if m["Destination"] in sandbox.runtime.hidden_files]
    assert sorted(m["Destination"] for m in masks) == sorted(sandbox.runtime.hidden_files)
    assert all(m["Source"] == "/dev/null" for m in masks), masks
    assert all(host["Tmpfs"][d].startswith("ro,") for d in sandbox.runtime.hidden_dirs), host["Tmpfs"]
    # The one mount that is not the runtime's: the direct socket's directory, already gone
    # from the host (removed once the worker connected).
    from evolve.sandbox.docker_transport import CONTAINER_DIR

    extra = [m for m in info["Mounts"] if m["Destination"] not in sandbox.runtime.binds and m not in masks]
    assert [m["Destination"] for m in extra] == [CONTAINER_DIR]
    assert not os.path.exists(extra[0]["Source"])
    names = {e.split("=", 1)[0] for e in config["Env"]}
    assert names <= {
        "PATH",
        "LANG",
        "HOME",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "HOSTNAME",
    }, names


def test_evaluates_and_keeps_stdout(sandbox):
    result = sandbox.evaluate(job())
    assert result.status == "ok", result.reason
    assert result.outputs == [2, 4, 6]
    assert "doubling 3" in result.stdout
    assert result.backend == "docker"


def test_warm_pool_reuses_containers(sandbox):
    sandbox.evaluate(job())
    before, started = idle_ids(sandbox), sandbox.pool.started
    for _ in range(10):
        assert sandbox.evaluate(job(cases=[1])).status == "ok"
    assert idle_ids(sandbox) == before  # no container was started per evaluation
    assert sandbox.pool.started == started


def test_a_fresh_process_per_candidate(sandbox):
    code = "import sys\nSEEN = getattr(sys, 'seen', 0)\nsys.seen = SEEN + 1\ndef main(x):\n    return sys.seen\n"
    outs = [sandbox.evaluate(job(code=code, cases=[0])).outputs for _ in range(3)]
    assert outs == [[1], [1], [1]]


def test_numpy_random_differs_between_candidates(sandbox):
    code = "import numpy as np\ndef main(x):\n    return float(np.random.random())\n"
    draws = {sandbox.evaluate(job(code=code, cases=[0])).outputs[0] for _ in range(4)}
    assert len(draws) == 4


def test_timeout_kills_and_replaces_the_container(sandbox):
    before = idle_ids(sandbox)
    result = sandbox.evaluate(job(code="def main(x):\n    while True:\n        pass\n", time_limit=1.0))
    assert result.status == "timeout"
    assert sandbox.evaluate(job()).outputs == [2, 4, 6]
    assert idle_ids(sandbox) != before


def test_crash_is_reported_and_the_pool_recovers(sandbox):
    result = sandbox.evaluate(job(code="import ctypes\ndef main(x):\n    ctypes.string_at(0)\n"))
    assert result.status == "error" and "SIGSEGV" in result.reason
    assert sandbox.evaluate(job()).status == "ok"


def test_memory_limit_is_enforced_and_named(sandbox):
    code = "def main(x):\n    hog = []\n    while len(hog) < 40:\n        hog.append(b'1' * (16 << 20))\n    return 0\n"
    result = sandbox.evaluate(job(code=code, cases=[0], time_limit=30, memory_mb=128))
    assert result.status == "error" and "memory limit of 128 MB" in result.reason, result


def test_interactive_drive(sandbox):
    harness = "def run(program, case, channel):\n    while True:\n        q = channel.recv()\n        if q is None:\n            return 'bye'\n        channel.send(program.main(q))\n"

    def drive(case, channel):
        channel.start(case)
        answers = [channel.exchange(q) for q in case]
        channel.send(None)
        assert channel.result() == "bye"
        return answers

    result = sandbox.evaluate(job(harness=harness, drive=drive, cases=[[1, 2], [5]]))
    assert result.status == "ok", result.reason
    assert result.outputs == [[2, 4], [10]]


def test_thread_safe_under_concurrent_evaluations(sandbox):
    results: dict[int, object] = {}

    def worker(i: int) -> None:
        results[i] = sandbox.evaluate(job(cases=[i, i + 1]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == list(range(8))
    for i, r in results.items():
        assert r.status == "ok" and r.outputs == [2 * i, 2 * i + 2], r


def test_containers_are_replaced_after_max_jobs(client):
    from evolve.sandbox.docker import DockerSandbox

    with DockerSandbox(pool_size=1, max_jobs=2, client=client) as sb:
        first = idle_ids(sb)
        for _ in range(2):
            assert sb.evaluate(job()).status == "ok"
        assert sb.evaluate(job()).status == "ok"
        assert idle_ids(sb) and idle_ids(sb) != first


def test_close_removes_every_container(client):
    from evolve.sandbox.docker import LABEL, DockerSandbox

    sb = DockerSandbox(pool_size=2, client=client)
    sb.evaluate(job(code="def main(x):\n    while True:\n        pass\n", time_limit=0.5))  # forces a replacement
    sb.close()
    left = client.containers.list(all=True, filters={"label": f"{LABEL}.pool={sb.pool_id}"})
    assert left == []
    with pytest.raises(SandboxError):
        sb.evaluate(job())


def test_host_runtime_refuses_to_mount_a_hidden_path():
    from evolve.sandbox.docker_image import host_binds

    with pytest.raises(SandboxError, match="contains"):
        host_binds(hide=(os.path.join(sys.base_prefix, "lib"),))


def test_missing_image_says_what_to_do(client):
    from evolve.sandbox.docker import DockerSandbox

    with pytest.raises(SandboxError, match="docker build"):
        DockerSandbox(image="evolve-no-such-image:0", client=client)


def test_check_reports_docker(client):
    from evolve.sandbox.check import check_docker

    name, ok, detail = check_docker()
    assert name == "docker" and ok, detail


# -- the direct socket ----------------------------------------------------------------
INTERACTIVE = (
    "def run(program, case, channel):\n"
    "    n = 0\n"
    "    while True:\n"
    "        q = channel.recv()\n"
    "        if q is None:\n"
    "            return n\n"
    "        n += 1\n"
    "        channel.send(q + 1)\n"
)


def _ping_drive(case, channel):
    channel.start(case)
    answers = [channel.exchange(i) for i in range(case)]
    channel.send(None)
    return [answers, channel.result()]


def _round_trips(sb, n=2000) -> None:
    """``n`` messages through ``sb``: every answer arrives, in order."""
    interactive = job(code="x = 1\n", harness=INTERACTIVE, drive=_ping_drive, cases=[n], time_limit=60)
    result = sb.evaluate(interactive)
    assert result.status == "ok", result.reason
    assert result.outputs == [[list(range(1, n + 1)), n]]


def transports(sb) -> set[str]:
    return {c.transport.kind for c in sb.pool.items()}


def test_the_protocol_takes_the_direct_socket(sandbox):
    assert sandbox.direct and "direct socket" in sandbox.describe()
    assert transports(sandbox) == {"direct"}
    assert sandbox.evaluate(job()).outputs == [2, 4, 6]


def test_a_candidate_cannot_use_or_write_the_socket_directory(sandbox):
    from evolve.sandbox.docker_transport import CONTAINER_DIR, CONTAINER_SOCKET

    code = f"""
import os, socket
def main(x):
    tried = {{}}
    def attempt(name, fn):
        try:
            fn()
            tried[name] = "ALLOWED"
        except OSError as e:
            tried[name] = e.__class__.__name__
    def connect():
        with socket.socket(socket.AF_UNIX) as s:
            s.connect({CONTAINER_SOCKET!r})
    attempt("connect", connect)
    attempt("create", lambda: open({CONTAINER_DIR!r} + "/x", "w"))
    attempt("bind", lambda: socket.socket(socket.AF_UNIX).bind({CONTAINER_DIR!r} + "/y"))
    attempt("mkdir", lambda: os.mkdir({CONTAINER_DIR!r} + "/z"))
    attempt("list", lambda: os.listdir({CONTAINER_DIR!r}))
    attempt("worker fd", lambda: os.open("/proc/1/fd/10", os.O_RDWR))  # the worker's connection
    own = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            own.append(os.readlink("/proc/self/fd/" + fd))
        except OSError:
            pass  # the listing's own descriptor, closed by now
    tried["own sockets"] = "ALLOWED" if any(link.startswith("socket:") for link in own) else "none"
    return tried
"""
    result = sandbox.evaluate(job(code=code, cases=[0]))
    assert result.status == "ok", result.reason
    tried = result.outputs[0]
    assert set(tried) == {"connect", "create", "bind", "mkdir", "list", "worker fd", "own sockets"}
    assert "ALLOWED" not in tried.values(), tried


def test_many_messages_arrive_in_order_on_both_transports(sandbox, client):
    # How fast each transport is belongs to benchmarks/sandbox_bench.py.
    from evolve.sandbox.docker import DockerSandbox

    assert transports(sandbox) == {"direct"}
    _round_trips(sandbox)
    with DockerSandbox(pool_size=1, memory_mb=256, direct=False, client=client) as attach:
        assert transports(attach) == {"attach"} and "attach" in attach.describe()
        _round_trips(attach)


def test_falls_back_to_attach_when_the_worker_finds_no_socket(client, monkeypatch):
    import evolve.sandbox.docker as docker_backend
    from evolve.sandbox.docker_transport import HostSocket

    made = []

    class Unreachable(HostSocket):
        def __init__(self):
            super().__init__()
            os.unlink(os.path.join(self.dir, "sock"))  # mounted, but nothing to connect to
            made.append(self.parent)

    monkeypatch.setattr(docker_backend, "HostSocket", Unreachable)
    with docker_backend.DockerSandbox(pool_size=1, memory_mb=256, client=client) as sb:
        assert transports(sb) == {"attach"}
        assert sb.evaluate(job()).outputs == [2, 4, 6]
    assert made and not any(os.path.exists(p) for p in made)


def test_host_socket_is_private_and_admits_only_the_worker():
    from evolve.sandbox.docker_transport import HostSocket

    host = HostSocket()
    try:
        assert stat.S_IMODE(os.stat(host.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(host.dir).st_mode) == 0o711
        path = os.path.join(host.dir, "sock")
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        with socket.socket(socket.AF_UNIX) as stranger:
            stranger.connect(path)
            with pytest.raises(ConnectionError):
                host.accept(worker_pid=os.getpid() + 1)  # the peer is this process, not the worker
        with socket.socket(socket.AF_UNIX) as worker:
            worker.connect(path)
            host.accept(worker_pid=os.getpid()).close()
    finally:
        host.close()
    assert not os.path.exists(host.parent)


def test_stale_socket_directories_are_removed():
    from evolve.sandbox.docker_transport import _PREFIX, remove_stale_sockets, socket_root

    dead = os.path.join(socket_root(), f"{_PREFIX}999999999-test")
    os.makedirs(os.path.join(dead, "s"))
    ours = os.path.join(socket_root(), f"{_PREFIX}{os.getpid()}-test")
    os.makedirs(ours)
    try:
        remove_stale_sockets(lambda pid: pid == os.getpid())
        assert not os.path.exists(dead) and os.path.exists(ours)
    finally:
        for path in (dead, ours):
            shutil.rmtree(path, ignore_errors=True)


def test_falls_back_to_attach_when_the_daemon_cannot_mount_the_socket(client, monkeypatch):
    import evolve.sandbox.docker as docker_backend
    from evolve.sandbox.docker_transport import HostSocket

    class Elsewhere(HostSocket):  # as if the daemon ran on another machine
        def __init__(self):
            super().__init__()
            self.dir = self.dir + "-not-on-the-daemon-host"

    monkeypatch.setattr(docker_backend, "HostSocket", Elsewhere)
    with docker_backend.DockerSandbox(pool_size=1, memory_mb=256, client=client) as sb:
        assert not sb.direct and transports(sb) == {"attach"}
        assert sb.evaluate(job()).outputs == [2, 4, 6]
