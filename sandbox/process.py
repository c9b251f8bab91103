"""The process backend: every candidate in a fresh, walled-off Python process.

One evaluation = one fresh interpreter in its own session, in its own temporary
directory, with an empty environment, rlimits (address space, CPU, file size, processes,
open files), and the isolation level from ``isolation.py``. It runs ``worker.py`` for a
single job: the worker forks the candidate's process and relays the runner protocol,
handing fed conversations (``Channel.feed``) to the candidate on its side, out of the
candidate's reach. The engine measures the candidate's CPU time in /proc, and kills the
whole process group on timeout and after every evaluation, so nothing it started
survives (bwrap and confine.py also put it in a PID namespace that dies with it). As
root, every level runs the candidate under an unprivileged uid claimed machine-wide.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from evolve.errors import SandboxError
from evolve.sandbox import isolation, seccomp
from evolve.sandbox.base import EvalJob, EvalResult, Sandbox
from evolve.sandbox.channel import MAX_LINE, CaseClock, ProtocolChannel, load_allowance, run_job
from evolve.sandbox.confine import EXIT_SETUP_FAILED
from evolve.sandbox.usage import tree_usage
from evolve.sandbox.worker_link import WorkerLink, local_boot_command

log = logging.getLogger(__name__)

OUTPUT_CAP = 64 * 1024 * 1024  # bytes any one file the candidate writes may reach
STDOUT_TAIL = 4000
START_TIMEOUT = 60.0  # seconds for the interpreter to start (and import) under load
NPROC = 64  # processes + threads per candidate (enforced when running under its own uid)
BASE_UID = 61000  # unprivileged uids for candidates when the engine runs as root
UID_RANGE = 1000
UID_LOCKS = (
    "/run/evolve-sandbox-uids" if os.path.isdir("/run") else os.path.join(tempfile.gettempdir(), "evolve-sandbox-uids")
)

# The only environment a candidate sees: nothing inherited, no secrets.
CLEAN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/nonexistent",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


def _limits(memory_mb: int, cpu_seconds: int, own_uid: bool):
    def apply() -> None:
        mem = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_CAP, OUTPUT_CAP))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if own_uid:
            resource.setrlimit(resource.RLIMIT_NPROC, (NPROC, NPROC))

    return apply


def _signal_reason(sig: int) -> str:
    reasons: dict[int, str] = {
        signal.SIGXFSZ: f"wrote more than {OUTPUT_CAP // 2**20} MB to one file (output limit)",
        signal.SIGXCPU: "exceeded its CPU time limit",
        signal.SIGKILL: "was killed (memory, process or time limit)",
        signal.SIGSEGV: "crashed with a segmentation fault",
    }
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    return reasons.get(sig, f"was killed by {name}")


class ProcessSandbox(Sandbox):
    """Run each candidate in its own isolated process. Thread-safe."""

    name = "process"

    def __init__(
        self, isolation_level: str = "auto", hide: list[str] | tuple[str, ...] = (), unsafe_no_isolation: bool = False
    ):
        self.level = isolation.detect(isolation_level, allow_unsafe=unsafe_no_isolation)
        self.hide = [str(p) for p in hide]
        self.drop_uid = os.geteuid() == 0  # never root, at every level, opt-in or not
        if self.drop_uid and self.level == "none" and not isolation.uid_can_run_python():
            raise SandboxError(
                f"isolation 'none' cannot drop root here: other users cannot run {sys.executable} "
                "(install bubblewrap, or use --sandbox docker)"
            )

    def describe(self) -> str:
        return f"process ({self.level} isolation{', own uid' if self.drop_uid else ''})"

    def _command(self, workdir: str, uid: int | None, fd: int | None) -> list[str]:
        runner = local_boot_command(workdir, {"single": True, "env": CLEAN_ENV, "max_line": MAX_LINE})
        if self.level == "bwrap":
            return isolation.bwrap_prefix(self.hide, workdir, uid, fd) + runner
        assert fd is not None
        return isolation.confine_prefix(fd) + runner

    def _setup_fd(self, workdir: str, uid: int | None) -> int | None:
        """The descriptor the isolation reads: bwrap's seccomp filter, or confine.py's spec."""
        if self.level == "bwrap":
            return seccomp.filter_fd()
        spec = isolation.confine_spec(self.level, workdir, self.hide, uid, seccomp.program())
        return isolation.spec_fd(spec)

    def evaluate(self, job: EvalJob) -> EvalResult:
        uid, uid_lock = _claim_uid() if self.drop_uid else (None, None)
        workdir = tempfile.mkdtemp(prefix="evolve-sb-")
        proc = None
        seccomp_fd = None
        try:
            seccomp_fd = self._setup_fd(workdir, uid)
            if uid is not None:
                os.chown(workdir, uid, uid)
            # The kernel's own cap on the runner's CPU time, a safety net under the per-case clock.
            cpu = int(load_allowance(job.time_limit) + job.time_limit * len(job.cases)) + 5
            proc = subprocess.Popen(
                self._command(workdir, uid, seccomp_fd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                env=dict(CLEAN_ENV),
                start_new_session=True,
                preexec_fn=_limits(job.memory_mb, cpu, uid is not None),
                close_fds=True,
                pass_fds=() if seccomp_fd is None else (seccomp_fd,),
            )
            root, began = proc.pid, time.monotonic()
            assert proc.stdout is not None and proc.stdin is not None
            link = WorkerLink(proc.stdout.fileno(), proc.stdin.fileno(), lambda: None)  # _kill closes them
            try:
                hello = link.next_line(time.monotonic() + START_TIMEOUT)
            except (TimeoutError, ValueError):
                hello = None
            if not hello or not hello.startswith(b'{"w":"hello"'):
                reason = self._exit_reason(proc, workdir, None) or "the sandbox process did not start"
                return EvalResult("error", reason=reason, backend=self.name)
            link.write(json.dumps({"w": "job", "time_limit": job.time_limit}).encode() + b"\n")
            clock = CaseClock(lambda: tree_usage(root), job.wall_factor)
            channel = ProtocolChannel(link, job.time_limit, clock)
            result = run_job(job, channel, lambda: self._exit_reason(proc, workdir, link.exit))
            usage = tree_usage(root)
            # The whole process tree's CPU and waits, over its whole life (interpreter start included).
            result.cpu_time, result.wait_time = usage.cpu, usage.wait
            result.wall_time = time.monotonic() - began
            result.stdout = _tail(workdir)
            result.backend = self.name
            return result
        finally:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
            if proc is not None:
                _kill(proc)
            shutil.rmtree(workdir, ignore_errors=True)
            if uid is not None and uid_lock is not None:
                _kill_uid(uid)
            if uid_lock is not None:
                os.close(uid_lock)  # releases the flock: the uid is free again

    def _exit_reason(self, proc: subprocess.Popen, workdir: str, event: dict | None) -> str | None:
        """Why the candidate's process ended: the worker's report of it, or else how the
        sandbox process itself ended."""
        reported = event is not None and event.get("w") == "exit"
        if event is not None and reported:
            code = event.get("code", 0)
        else:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                return None
        if code < 0:
            reason = "the candidate " + _signal_reason(-code)
        elif code == EXIT_SETUP_FAILED and self.level != "bwrap" and not reported:
            reason = f"the sandbox could not be set up ({self.level} isolation)"
        elif code > 128:  # bwrap and confine.py report a signal as 128 + signum
            reason = "the candidate " + _signal_reason(code - 128)
        else:
            reason = f"the candidate exited with code {code} before finishing"
        tail = _tail(workdir, 600).strip()
        return f"{reason}; last output:\n{tail}" if tail else reason


def _tail(workdir: str, limit: int = STDOUT_TAIL) -> str:
    path = os.path.join(workdir, "output.log")
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log.warning("sandbox process %s did not die after SIGKILL", proc.pid)


def _claim_uid() -> tuple[int, int]:
    """An unprivileged uid no other evaluation on this machine is using (any process:
    two campaigns must never share a uid, or one's cleanup would kill the other's
    candidate). Held by an flock until the returned descriptor is closed."""
    os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
    while True:
        for offset in range(UID_RANGE):
            uid = BASE_UID + (offset + random.randrange(UID_RANGE)) % UID_RANGE
            fd = os.open(os.path.join(UID_LOCKS, str(uid)), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return uid, fd
            except BlockingIOError:
                os.close(fd)
        time.sleep(0.05)  # every uid busy: wait for one


def _kill_uid(uid: int) -> None:
    """Kill anything still running under a candidate uid (a daemon that escaped its session)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                os.kill(int(entry), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
