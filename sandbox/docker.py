"""The Docker backend: a warm pool of locked-down containers, one job at a time each.

Every container runs ``worker.py`` as PID 1 (network none, read-only root, size-limited
noexec tmpfs, memory = memory+swap, CPU and pids limits, uid 65534, no capabilities,
no-new-privileges, an environment with nothing inherited). The engine talks to it over
a unix socket of its own, bind-mounted read-only into the container, without dockerd in
the path (``docker_transport.py``; the attach socket is the fallback); the worker forks
a fresh child per candidate, so an evaluation costs a fork and a few socket round trips
instead of a ``docker run``.
A container that saw a timeout, a crash, a memory kill or an unclean sweep, or that has
served ``max_jobs`` jobs, is thrown away (and replaced in the background while fewer than
``pool_size`` are warm). The pool follows demand (``docker_pool.py``): it starts another
container when every warm one is busy, up to ``max_pool`` (default: as many as the
memory holds, ``capacity.py``), and removes the extra ones after ``idle_timeout`` idle
seconds.
"""

from __future__ import annotations

import json
import logging
import os
import select
import socket
import time
import uuid
import weakref

from evolve.errors import SandboxError
from evolve.sandbox import docker_image, docker_transport
from evolve.sandbox.base import EvalJob, EvalResult, Sandbox
from evolve.sandbox.capacity import Bounds, cores, local_bounds
from evolve.sandbox.channel import MAX_LINE, CaseClock, ProtocolChannel, run_job
from evolve.sandbox.docker_cleanup import LABEL, remove_stale
from evolve.sandbox.docker_client import connect
from evolve.sandbox.docker_pool import WarmPool
from evolve.sandbox.docker_transport import AttachTransport, DirectTransport, HostSocket
from evolve.sandbox.process import CLEAN_ENV
from evolve.sandbox.worker_link import boot_command, exit_reason

log = logging.getLogger(__name__)

_OWNER = f"{socket.gethostname()}:{os.getpid()}"
HEADROOM_MB = 64  # the worker itself, on top of the candidate's memory limit
WORKER_GRACE = 2.0
SILENT_WORKER = 10.0
"""The engine gives up on a worker silent for this many times its own backstop, plus
``WORKER_GRACE`` seconds (the worker's backstop does not count time waiting for a CPU)."""
MASK = "ro,size=4k,mode=0755,noexec,nosuid,nodev"  # an empty tmpfs over what a candidate must not read


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
        max_pool: int | None = None,
        idle_timeout: float = 30.0,
        client=None,
    ):
        if pool_size < 1:
            raise SandboxError("pool_size must be at least 1")
        if max_pool is not None and max_pool < pool_size:
            raise SandboxError(f"max_pool ({max_pool}) must be at least pool_size ({pool_size})")
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
        self.max_pool = max_pool
        self._closed = False
        self.pool_id = uuid.uuid4().hex[:12]
        self.pool: WarmPool[_Container] = WarmPool(
            lambda: self._start(self.memory_mb),
            _Container.discard,
            warm=pool_size,
            idle_timeout=idle_timeout,
            max_starting=cores(),
        )
        # Containers die with the engine anyway (their connection closes), this only makes it prompt.
        self._finalizer = weakref.finalize(self, _remove_all, self.pool.live)
        try:
            self.pool.open()
        except SandboxError as e:
            self.close()
            raise SandboxError(
                f"no sandbox container could start from image {self.runtime.image!r} ({str(e)[:200]}); "
                "run `evolve sandbox check` to see why"
            ) from None

    def describe(self) -> str:
        what = "host runtime" if self.runtime.host_runtime else self.runtime.image
        most = self.max_pool or "memory-bound"
        return f"docker ({what}, warm pool {self.pool_size}..{most}, {'direct socket' if self.direct else 'attach'})"

    def bounds(self, memory_mb: int) -> Bounds:
        return local_bounds(memory_mb, HEADROOM_MB, self.max_pool)

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

    def _acquire(self, memory_mb: int) -> _Container:
        try:
            c = self.pool.acquire(self.bounds(memory_mb).hard)
        except SandboxError as e:
            if self._closed:
                raise SandboxError("this Docker sandbox is closed") from None
            raise SandboxError(f"a sandbox container could not start ({e}); run `evolve sandbox check`") from None
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
            order = {"w": "job", "time_limit": job.time_limit, "wall_factor": job.wall_factor}
            t.write(json.dumps(order).encode() + b"\n")
            # The worker enforces the CPU time and the backstop; this clock only catches a silent worker.
            clock = CaseClock(None, job.wall_factor * SILENT_WORKER, grace=WORKER_GRACE)
            channel = ProtocolChannel(t, job.time_limit, clock)
            result = run_job(job, channel, lambda: exit_reason(t.exit, job.memory_mb))
            done = t.finish()
            result.stdout = done.get("stdout", "")
            result.cpu_time, result.wait_time = done.get("cpu"), done.get("wait")
            result.sandbox_cpu_time = float(done.get("sandbox_cpu") or 0.0)
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
                self.pool.release(c)
            else:
                self.pool.retire(c)

    def close(self) -> None:
        self._closed = True
        self.pool.close()
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
