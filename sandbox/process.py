"""The process backend: every candidate in a fresh, walled-off Python process.

One evaluation = one ``python -I runner.py`` process in its own session, in its own
temporary directory, with an empty environment, rlimits (address space, CPU, file size,
processes, open files), and the isolation level from ``isolation.py``. The engine kills
the whole process group on timeout and after every evaluation, so nothing it started
survives (bwrap and confine.py also put it in a PID namespace that dies with it). As
root, every level runs the candidate under an unprivileged uid claimed machine-wide.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evolve.errors import SandboxError
from evolve.sandbox import isolation, seccomp
from evolve.sandbox.base import EvalJob, EvalResult, Sandbox
from evolve.sandbox.channel import MAX_LINE, ProtocolChannel, run_job
from evolve.sandbox.confine import EXIT_SETUP_FAILED

log = logging.getLogger(__name__)

RUNNER = Path(__file__).with_name("runner.py")
OUTPUT_CAP = 64 * 1024 * 1024  # bytes any one file the candidate writes may reach
STDOUT_TAIL = 4000
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


class PipeTransport:
    """The runner's stdin/stdout as a line transport with deadlines."""

    def __init__(self, proc: subprocess.Popen):
        if proc.stdin is None or proc.stdout is None:
            raise ValueError("the runner needs pipes on stdin and stdout")
        self.proc = proc
        self.stdin = proc.stdin
        self.fd = proc.stdout.fileno()
        self.buf = bytearray()

    def write(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def read_line(self, deadline: float) -> bytes | None:
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[: nl + 1])
                del self.buf[: nl + 1]
                return line
            if len(self.buf) > MAX_LINE:
                raise ValueError("message too large")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    return None
                self.buf += chunk


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
        runner = [sys.executable, "-I", os.path.join(workdir, "_runner.py")]
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
            shutil.copy(RUNNER, os.path.join(workdir, "_runner.py"))
            if uid is not None:
                os.chown(workdir, uid, uid)
            cpu = int(job.time_limit * (len(job.cases) + 1)) + 5
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
            channel = ProtocolChannel(PipeTransport(proc), job.time_limit)
            result = run_job(job, channel, lambda: self._exit_reason(proc, workdir))
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

    def _exit_reason(self, proc: subprocess.Popen, workdir: str) -> str | None:
        try:
            code = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None
        if code < 0:
            reason = "the candidate " + _signal_reason(-code)
        elif code == EXIT_SETUP_FAILED and self.level != "bwrap":
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
