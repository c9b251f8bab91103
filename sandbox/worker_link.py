"""The engine's end of the worker protocol (``sandbox/worker.py``), over a socket or pipes.

A worker relays the runner protocol between the engine and the candidate's process and
adds reports of its own (``{"w": ...}`` lines): a timeout, the candidate's exit, an
oversized message, the replies of a fed conversation, and at the end of each job its
sweep report. ``WorkerLink`` turns those reports into what
``evolve.sandbox.channel.ProtocolChannel`` expects of a transport. The Docker backend
reaches its containers' workers over a socket (``docker_transport.py``), the process
backend its worker over the process's stdin/stdout.
"""

from __future__ import annotations

import functools
import json
import marshal
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from evolve.errors import SandboxError
from evolve.sandbox.channel import MAX_LINE, CandidateTimeout

_WRITE_TIMEOUT = 30.0  # a worker that takes no input for this long is broken
_READ_AHEAD = MAX_LINE + (1 << 20)  # what a write may buffer of the worker's output meanwhile
_FINISH_TIMEOUT = 15.0
_HERE = Path(__file__).parent
_BOOT = (
    "import sys,types\n"
    "r=types.ModuleType('runner');r.__file__='runner.py';sys.modules['runner']=r\n"
    "exec(compile({runner!r},'runner.py','exec'),r.__dict__)\n"
    "exec(compile({worker!r},'worker.py','exec'))\n"
)


def boot_command(python: str, config: dict) -> list[str]:
    """The worker's command line: the worker and runner sources travel in the arguments,
    so no host path needs to be mounted for them (works with a remote daemon too)."""
    code = _BOOT.format(runner=(_HERE / "runner.py").read_text(), worker=(_HERE / "worker.py").read_text())
    return [python, "-I", "-c", code, json.dumps(config)]


_COMPILED = "_worker.bin"
_BOOT_COMPILED = (
    "import marshal,sys,types\n"
    f"r,w=marshal.loads(open({_COMPILED!r},'rb').read())\n"
    "m=types.ModuleType('runner');m.__file__='runner.py';sys.modules['runner']=m\n"
    "exec(r,m.__dict__)\n"
    "exec(w)\n"
)


@functools.cache
def _compiled() -> bytes:
    runner = compile((_HERE / "runner.py").read_text(), "runner.py", "exec")
    worker = compile((_HERE / "worker.py").read_text(), "worker.py", "exec")
    return marshal.dumps((runner, worker))


def local_boot_command(workdir: str, config: dict) -> list[str]:
    """The worker's command line for this machine's own interpreter: the runner and the
    worker compiled once per engine and left in ``workdir`` (read before any candidate
    code runs), so a fresh process does not compile them again."""
    with open(os.path.join(workdir, _COMPILED), "wb") as f:
        f.write(_compiled())
    return [sys.executable, "-I", "-c", _BOOT_COMPILED, json.dumps(config)]


class WorkerLink:
    """The engine's end of a worker's line protocol: lines with deadlines from a
    non-blocking descriptor, writes that never deadlock. ``rfd``/``wfd`` may be one socket
    or a pipe pair; ``closer`` releases them."""

    feeds = True
    """The worker hands a fed conversation to the candidate itself (``ProtocolChannel.feed``)."""

    kind = "pipe"

    def __init__(self, rfd: int, wfd: int, closer: Callable[[], None]):
        self.rfd, self.wfd, self.closer = rfd, wfd, closer
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        self.out = bytearray()
        self.eof = False
        self.exit: dict | None = None
        self.events: list[dict] = []

    def _feed(self, chunk: bytes) -> None:
        self.out += chunk

    def _pull(self) -> None:
        try:
            chunk = os.read(self.rfd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:  # reset by a dying peer: the same as an end of stream
            chunk = b""
        if not chunk:
            self.eof = True
        else:
            self._feed(chunk)

    def write(self, data: bytes) -> None:
        """Send everything; keep reading meanwhile so a worker busy writing to us cannot
        block the exchange. OSError (TimeoutError included) if the worker is gone or stuck."""
        view = memoryview(data)
        deadline = time.monotonic() + _WRITE_TIMEOUT
        while view:
            try:
                view = view[os.write(self.wfd, view) :]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the sandbox worker stopped reading")
            rlist = [self.rfd] if not self.eof and len(self.out) < _READ_AHEAD else []
            r, _, _ = select.select(rlist, [self.wfd], [], min(left, 1.0))
            if r:
                self._pull()

    def next_line(self, deadline: float) -> bytes | None:
        """The worker's next line, whatever it is; None at end of stream."""
        while True:
            nl = self.out.find(b"\n")
            if nl >= 0:
                line = bytes(self.out[: nl + 1])
                del self.out[: nl + 1]
                return line
            if len(self.out) > MAX_LINE:
                raise ValueError("message too large")
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.rfd], [], [], min(left, 1.0))
            if ready:
                self._pull()

    def read_line(self, deadline: float) -> bytes | None:
        """The runner's next line; the worker's own reports end the stream or raise."""
        if self.exit is not None:
            return None
        line = self.next_line(deadline)
        if line is None or not line.startswith(b'{"w":'):
            return line
        if line.startswith(b'{"w":"fed"'):
            return line  # the worker's answer to a feed: the channel reads the replies that follow
        event = json.loads(line)
        self.events.append(event)
        if event["w"] == "timeout":
            raise CandidateTimeout(event.get("clock", "wall"))
        if event["w"] == "overflow":
            raise ValueError("message too large")
        self.exit = event
        return None

    def finish(self) -> dict:
        """Tell the worker the job is over and wait for its report (``{"w": "done"}``)."""
        self.write(b'{"w":"finish"}\n')
        deadline = time.monotonic() + _FINISH_TIMEOUT
        while True:
            line = self.next_line(deadline)
            if line is None:
                raise SandboxError("the sandbox worker died")
            if line.startswith(b'{"w":'):
                event = json.loads(line)
                if event["w"] == "done":
                    return event  # an "exit" before it is the runner leaving after "end"

    def close(self) -> None:
        try:
            self.closer()
        except OSError:
            pass


def signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def exit_reason(event: dict | None, memory_mb: int) -> str | None:
    """Why the candidate's process ended, from the worker's ``exit`` report."""
    if not event or event.get("w") != "exit":
        return None
    code = event.get("code", 0)
    if event.get("oom"):
        return f"the candidate exceeded the memory limit of {memory_mb} MB"
    if code < 0:
        return f"the candidate was killed by {signal_name(-code)}" + (
            " (a crash)" if -code in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT) else ""
        )
    return f"the candidate exited with code {code} before finishing"
