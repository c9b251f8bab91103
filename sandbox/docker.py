"""The Docker backend: a warm pool of locked-down containers, one job at a time each.

Every container runs ``worker.py`` as PID 1 (network none, read-only root, size-limited
noexec tmpfs, memory = memory+swap, CPU and pids limits, uid 65534, no capabilities,
no-new-privileges, an environment with nothing inherited). The engine talks to it over
a unix socket of its own, bind-mounted read-only into the container, without dockerd in
the path (``docker_transport.py``; the attach socket is the fallback); the worker forks
a fresh child per candidate, so an evaluation costs a fork and a few socket round trips
instead of a ``docker run``.
A container that saw a timeout, a crash, a memory kill or an unclean sweep, or that has
served ``max_jobs`` jobs, is thrown away and replaced in the background.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import signal
import socket
import threading
import time
import uuid
import weakref
from pathlib import Path

from evolve.errors import SandboxError
from evolve.sandbox import docker_image, docker_transport
from evolve.sandbox.base import EvalJob, EvalResult, Sandbox
from evolve.sandbox.channel import MAX_LINE, ProtocolChannel, run_job
from evolve.sandbox.docker_cleanup import LABEL, remove_stale
from evolve.sandbox.docker_client import connect
from evolve.sandbox.docker_transport import AttachTransport, DirectTransport, HostSocket
from evolve.sandbox.process import CLEAN_ENV

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_OWNER = f"{socket.gethostname()}:{os.getpid()}"
HEADROOM_MB = 64  # the worker itself, on top of the candidate's memory limit
MASK = "ro,size=4k,mode=0755,noexec,nosuid,nodev"  # an empty tmpfs over what a candidate must not read
_BOOT = (
    "import sys,types\n"
    "r=types.ModuleType('runner');r.__file__='runner.py';sys.modules['runner']=r\n"
    "exec(compile({runner!r},'runner.py','exec'),r.__dict__)\n"
    "exec(compile({worker!r},'worker.py','exec'))\n"
)


def boot_command(python: str, config: dict) -> list[str]:
    """The container's command: the worker and runner sources travel in the arguments, so
    no host path needs to be mounted for them (works with a remote daemon too)."""
    code = _BOOT.format(runner=(_HERE / "runner.py").read_text(), worker=(_HERE / "worker.py").read_text())
    return [python, "-I", "-c", code, json.dumps(config)]


class _Container:
    """One warm container and its worker."""

    def __init__(self, container, transport: AttachTransport | DirectTransport, memory_mb: int):
        self.container, self.transport, self.memory_mb = container, transport, memory_mb
        self.jobs = 0

    def discard(self) -> None:
        self.transport.close()
        try:
            self.container.remove(force=True)
        except Exception as e:  # already gone (auto-remove) or the daemon went away
            log.debug("removing sandbox container: %s", e)


def _exit_reason(event: dict | None, memory_mb: int) -> str | None:
    if not event or event.get("w") != "exit":
        return None
    code = event.get("code", 0)
    if event.get("oom"):
        return f"the candidate exceeded the memory limit of {memory_mb} MB"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the candidate was killed by {name}" + (
            " (a crash)" if -code in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT) else ""
        )
    return f"the candidate exited with code {code} before finishing"


class DockerSandbox(Sandbox):
    """Candidates in a warm pool of locked-down containers. Thread-safe."""

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        pool_size: int = 2,
        *,
        python: str | None = None,
        memory_mb: int = 2048,
        cpus: float = 1.0,
        pids_limit: int = 128,
        tmpfs_mb: int = 256,
        max_jobs: int = 200,
        preload: tuple[str, ...] = ("numpy",),
        hide: list[str] | tuple[str, ...] = (),
        start_timeout: float = 60.0,
        direct: bool | None = None,
        client=None,
    ):
        if pool_size < 1:
            raise SandboxError("pool_size must be at least 1")
        self.client = client or connect()
        remove_stale(self.client)
        # Nothing of the host is mounted but the interpreter and system libraries; ``hide``
        # (the archive's directory, the engine's cwd) only makes that refusal explicit.
        self.runtime = docker_image.resolve(self.client, image, python, tuple(str(p) for p in hide))
        self.pool_size, self.memory_mb, self.cpus = pool_size, memory_mb, cpus
        self.pids_limit, self.tmpfs_mb, self.max_jobs = pids_limit, tmpfs_mb, max_jobs
        self.preload, self.start_timeout = tuple(preload), start_timeout
        # The direct socket needs the daemon to see this machine's files: a local daemon.
        self.direct = _local_daemon(self.client) if direct is None else direct
        self._idle: queue.Queue[_Container | None] = queue.Queue()
        self._live: set[_Container] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.pool_id = uuid.uuid4().hex[:12]
        self._threads: set[threading.Thread] = set()
        # Containers die with the engine anyway (their connection closes), this only makes it prompt.
        self._finalizer = weakref.finalize(self, _remove_all, self._live)
        starters = [threading.Thread(target=self._refill, daemon=True) for _ in range(pool_size)]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        if not self._live:
            self.close()
            raise SandboxError(
                f"no sandbox container could start from image {self.runtime.image!r}; "
                "run `evolve sandbox check` to see why"
            )

    def describe(self) -> str:
        what = "host runtime" if self.runtime.host_runtime else self.runtime.image
        return f"docker ({what}, pool of {self.pool_size}, {'direct socket' if self.direct else 'attach'})"

    # -- containers -------------------------------------------------------------------
    def _start(self, memory_mb: int) -> _Container:
        import docker.errors
        import docker.types

        rt = self.runtime
        env = dict(CLEAN_ENV, HOME="/tmp")
        config = {"preload": list(self.preload), "env": env, "max_line": MAX_LINE}
        mem = f"{memory_mb + HEADROOM_MB}m"
        host = None
        if self.direct:
            try:
                host = HostSocket()
            except OSError as e:
                log.warning("docker sandbox: no direct socket (%s); using the attach socket", e)
        try:
            mounts = []
            if host is not None:
                config["host_socket"] = docker_transport.CONTAINER_SOCKET
                mounts.append(docker.types.Mount(docker_transport.CONTAINER_DIR, host.dir, type="bind", read_only=True))
            try:
                container = self._create(rt, config, env, mem, mounts)
            except docker.errors.APIError as e:
                if host is None or "mount" not in str(e).lower():
                    raise
                # The daemon cannot see our directory (it runs elsewhere): attach from now on.
                log.warning(
                    "docker sandbox: the daemon cannot mount the direct socket (%s); using the attach socket",
                    str(e)[:200],
                )
                self.direct = False
                host.close()
                host = None
                del config["host_socket"]
                container = self._create(rt, config, env, mem, [])
            try:
                transport = self._connect(container, host)
            except BaseException:
                try:
                    container.remove(force=True)
                except Exception:
                    pass
                raise
        finally:
            if host is not None:
                host.close()  # connected or failed: the socket and its directory go now
        return _Container(container, transport, memory_mb)

    def _create(self, rt, config: dict, env: dict, mem: str, mounts: list):
        import docker.types

        return self.client.containers.create(
            rt.image,
            command=boot_command(rt.python, config),
            user="65534:65534",
            environment=env,
            working_dir="/tmp",
            network_mode="none",
            read_only=True,
            tmpfs={
                "/tmp": f"size={self.tmpfs_mb}m,mode=1777,noexec,nosuid,nodev",
                **dict.fromkeys(rt.hidden_dirs, MASK),
            },
            shm_size="16m",
            mem_limit=mem,
            memswap_limit=mem,
            nano_cpus=int(self.cpus * 1e9),
            pids_limit=self.pids_limit,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[
                docker.types.Ulimit(name="core", soft=0, hard=0),
                docker.types.Ulimit(name="nofile", soft=256, hard=256),
            ],
            volumes=rt.binds,
            mounts=[
                *mounts,
                *(docker.types.Mount(f, "/dev/null", type="bind", read_only=True) for f in rt.hidden_files),
            ],
            stdin_open=True,  # docker-py also sets StdinOnce: our socket closing ends the worker
            auto_remove=True,
            log_config=docker.types.LogConfig(type="json-file", config={"max-size": "1m"}),
            labels={LABEL: "1", f"{LABEL}.owner": _OWNER, f"{LABEL}.pool": self.pool_id},
            hostname="sandbox",
            init=False,  # the worker must be PID 1 (a daemon-wide --init would take that place)
        )

    def _connect(self, container, host: HostSocket | None):
        """Start the container and wait for its worker's hello, on the direct socket if the
        worker connected to it, else on the attach socket."""
        # Attach before start so not a byte of the worker's output is missed.
        sock = self.client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1})
        attach = AttachTransport(sock)
        container.start()
        deadline = time.monotonic() + self.start_timeout
        transport: DirectTransport | AttachTransport = attach
        if host is not None:
            while True:  # the worker connects first thing; it says hello on stdout only if it cannot
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxError(f"the sandbox worker did not start: {_logs(container)}")
                ready, _, _ = select.select([host.listener, attach.sock], [], [], min(left, 1.0))
                if host.listener in ready:
                    pid = self.client.api.inspect_container(container.id)["State"]["Pid"]
                    transport = DirectTransport(host.accept(pid))
                    attach.close()  # StdinOnce: the worker's stdin closes; it does not read it
                    break
                if attach.sock in ready:
                    log.warning("docker sandbox: the worker did not connect to the direct socket; using attach")
                    break
        hello = transport.next_line(deadline)
        if not hello or not hello.startswith(b'{"w":"hello"'):
            transport.close()
            raise SandboxError(f"the sandbox worker did not start: {_logs(container)}")
        return transport

    def _refill(self, memory_mb: int | None = None) -> None:
        try:
            c = self._start(memory_mb or self.memory_mb)
        except Exception as e:
            log.error("docker sandbox: a container failed to start: %s", str(e)[:300])
            self._idle.put(None)  # wake a waiter, who retries synchronously and sees the error
            return
        with self._lock:
            if self._closed:
                c.discard()
                return
            self._live.add(c)
        self._idle.put(c)

    def _background(self, target) -> None:
        def run() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _retire(self, c: _Container) -> None:
        with self._lock:
            self._live.discard(c)
            closed = self._closed
        self._background(c.discard)
        if not closed:
            self._background(self._refill)

    def _acquire(self, memory_mb: int) -> _Container:
        c = self._idle.get()
        if c is None:  # a background start failed: try once here so the caller sees why
            try:
                c = self._start(memory_mb)
            except Exception as e:
                self._idle.put(None)  # the slot stays owed; the next caller retries
                raise SandboxError(
                    f"a sandbox container could not start ({str(e)[:200]}); run `evolve sandbox check`"
                ) from None
            with self._lock:
                self._live.add(c)
        if c.memory_mb != memory_mb:
            mem = f"{memory_mb + HEADROOM_MB}m"
            c.container.update(mem_limit=mem, memswap_limit=mem)
            c.memory_mb = memory_mb
        return c

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, job: EvalJob) -> EvalResult:
        if self._closed:
            raise SandboxError("this Docker sandbox is closed")
        c = self._acquire(job.memory_mb)
        healthy = False
        try:
            t = c.transport
            t.exit, t.events = None, []
            t.write(json.dumps({"w": "job", "time_limit": job.time_limit}).encode() + b"\n")
            channel = ProtocolChannel(t, job.time_limit)
            result = run_job(job, channel, lambda: _exit_reason(t.exit, job.memory_mb))
            done = self._finish(t)
            result.stdout = done.get("stdout", "")
            result.backend = self.name
            if done.get("oom") and result.status != "ok":
                result.reason = f"the candidate exceeded the memory limit of {job.memory_mb} MB"
            c.jobs += 1
            crashed = t.exit is not None and (t.exit.get("code") != 0 or t.exit.get("oom"))
            healthy = (
                done.get("clean") is True
                and not done.get("oom")
                and not crashed
                and result.status != "timeout"
                and c.jobs < self.max_jobs
            )
            return result
        except (OSError, TimeoutError, ValueError, SandboxError) as e:
            log.warning("docker sandbox: lost a container mid-evaluation (%s); replacing it", e)
            return EvalResult("error", reason=f"the sandbox container failed: {e}", backend=self.name)
        finally:
            if healthy:
                self._idle.put(c)
            else:
                self._retire(c)

    def _finish(self, t: AttachTransport | DirectTransport) -> dict:
        """Tell the worker the job is over and wait for its sweep report."""
        t.write(b'{"w":"finish"}\n')
        deadline = time.monotonic() + 15.0
        while True:
            line = t.next_line(deadline)
            if line is None:
                raise SandboxError("the sandbox worker died")
            if line.startswith(b'{"w":'):
                event = json.loads(line)
                if event["w"] == "done":
                    return event  # an "exit" before it is the runner leaving after "end"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._threads)
        for thread in pending:  # replacements being started or removed right now
            thread.join(timeout=30)
        self._finalizer()


def _local_daemon(client) -> bool:
    """Whether the daemon is reached over a unix socket on this machine (so it can
    bind-mount a directory of ours)."""
    return str(getattr(client.api, "base_url", "")).startswith("http+docker://localhost")


def _remove_all(live: set) -> None:
    for c in list(live):
        c.discard()
    live.clear()


def _logs(container) -> str:
    try:
        return (
            container.logs(stdout=True, stderr=True, tail=20).decode("utf-8", "replace").strip()[-800:] or "(no output)"
        )
    except Exception:
        return "(no logs)"
