"""The engine's side of the runner protocol, over any byte transport.

Backends provide a ``Transport`` (the runner's stdin/stdout pipes, a container's attach
socket, ...); ``ProtocolChannel`` speaks the protocol documented in ``runner.py`` over it
and enforces the time limit of each load and case through a ``CaseClock``; ``run_job``
drives a whole job through the problem's trusted ``drive`` and turns every outcome into
an ``EvalResult``.

Time limits count the candidate's CPU time, so whether a candidate times out does not
depend on how loaded the machine is; a wall-clock backstop (``WALL_FACTOR`` times the
limit) stops a candidate that sleeps or waits instead of computing.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

from evolve.problems.contract import InvalidOutput
from evolve.sandbox.base import WALL_FACTOR, CandidateFailed, EvalJob, EvalResult
from evolve.sandbox.usage import Usage

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024 * 1024  # one protocol message; bigger output is rejected, not buffered
LOAD_ALLOWANCE = 5.0
"""Loading a candidate (imports, module-level code) may take at least this much CPU time."""
_MIN_POLL = 0.02  # seconds between CPU-time checks, at least


def load_allowance(time_limit: float) -> float:
    return max(time_limit, LOAD_ALLOWANCE)


class CandidateTimeout(TimeoutError):
    """Raised by a transport whose far end enforced the limit itself (the Docker worker);
    ``clock`` says which limit: ``cpu`` or ``wall``."""

    def __init__(self, clock: str):
        super().__init__(clock)
        self.clock = clock


class CaseClock:
    """The time limit of one load or case.

    With ``measure`` (the candidate's ``Usage`` so far: CPU seconds of its processes and
    seconds their threads waited for a CPU), the limit is CPU time, and a backstop stops
    a candidate whose wall-clock time, *not counting the time it waited for a CPU*,
    reaches ``wall_factor`` times the allowance: one that sleeps or blocks is stopped,
    one that a loaded machine starves is not. Neither depends on machine load.
    Without ``measure`` (the far end measures, as the Docker worker does) it is a plain
    wall-clock deadline of ``wall_factor`` times the allowance plus ``grace``.

    ``check_by`` says when to look again: CPU time cannot be spent faster than the
    candidate's processes can run in parallel, nor the backstop reached faster than
    the wall clock, so /proc is read only as often as the remaining allowance requires."""

    def __init__(
        self,
        measure: Callable[[], Usage] | None = None,
        wall_factor: float = WALL_FACTOR,
        grace: float = 0.0,
        parallelism: int | None = None,
    ):
        self.measure = measure
        self.wall_factor = wall_factor
        self.grace = grace
        self.parallelism = max(1, parallelism or len(os.sched_getaffinity(0)))
        self.allowance = math.inf
        self.started = 0.0
        self.usage_start = Usage()
        self.next_check = math.inf

    def start(self, allowance: float) -> None:
        self.started = time.monotonic()
        self.allowance = allowance
        if self.measure is not None:
            self.usage_start = self.measure()
            self.next_check = self.started + max(_MIN_POLL, allowance / self.parallelism)
        else:
            self.next_check = self.started + self.wall_factor * allowance + self.grace

    def check_by(self) -> float:
        return self.next_check

    def expired(self) -> str | None:
        """Why the case is over (its CPU allowance or the backstop is spent), or None."""
        now = time.monotonic()
        if now < self.next_check:
            return None
        if self.measure is None:
            return self.reason("wall")
        used = self.measure() - self.usage_start
        if used.cpu >= self.allowance:
            return self.reason("cpu")
        elapsed = now - self.started
        active = elapsed - min(elapsed, max(0.0, used.wait))
        backstop = self.wall_factor * self.allowance
        if active >= backstop:
            return self.reason("wall")
        self.next_check = now + max(_MIN_POLL, min((self.allowance - used.cpu) / self.parallelism, backstop - active))
        return None

    def reason(self, clock: str) -> str:
        if clock == "cpu":
            return f"exceeded the time limit of {self.allowance:g} s of CPU time per case"
        return (
            f"was not done after {self.wall_factor * self.allowance:g} s of wall-clock time, not counting "
            f"time spent waiting for a CPU (the backstop: {self.wall_factor:g} x its CPU time limit "
            f"of {self.allowance:g} s per case)"
        )


class Transport(Protocol):
    def write(self, data: bytes) -> None:
        """Send bytes to the runner; raise OSError if it is gone."""

    def read_line(self, deadline: float) -> bytes | None:
        """One line (with its newline) before ``deadline`` (time.monotonic());
        None at end of stream; raise TimeoutError when the deadline passes (and
        ``CandidateTimeout`` when the far end stopped the candidate itself)."""


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not allowed in the output")


_DECODE = json.JSONDecoder(parse_constant=_reject_constant).decode  # built once, not per message
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def decode(line: bytes) -> dict:
    data = _DECODE(line.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("message is not an object")
    return data


class ProtocolChannel:
    """Implements problems.contract.Channel on a transport, one case at a time."""

    def __init__(self, transport: Transport, time_limit: float, clock: CaseClock | None = None):
        self.transport = transport
        self.time_limit = time_limit
        self.clock = clock or CaseClock()

    # -- plumbing ---------------------------------------------------------------------
    def _send(self, obj: dict) -> None:
        try:
            self.transport.write(_ENCODE(obj).encode() + b"\n")
        except OSError as e:
            raise CandidateFailed("error", f"the candidate's process is gone ({e.__class__.__name__})") from None

    def _read(self) -> dict:
        while True:
            try:
                line = self.transport.read_line(self.clock.check_by())
                break
            except CandidateTimeout as e:
                raise CandidateFailed("timeout", self.clock.reason(e.clock)) from None
            except TimeoutError:
                reason = self.clock.expired()
                if reason is not None:
                    raise CandidateFailed("timeout", reason) from None
        if line is None:
            raise CandidateFailed("error", "the candidate's process ended unexpectedly")
        try:
            return decode(line)
        except ValueError as e:
            raise CandidateFailed("invalid", f"the candidate broke the output protocol: {str(e)[:200]}") from None

    def _fail_on_error(self, data: dict) -> None:
        if "error" in data:
            kind = data.get("kind")
            raise CandidateFailed("invalid" if kind == "invalid" else "error", str(data["error"]))

    # -- protocol ---------------------------------------------------------------------
    def load(self, code: str, harness: str) -> None:
        self.clock.start(load_allowance(self.time_limit))
        self._send({"op": "load", "code": code, "harness": harness})
        data = self._read()
        self._fail_on_error(data)
        if data.get("ready") is not True:
            raise CandidateFailed("invalid", "the candidate broke the output protocol while loading")

    def start(self, case: Any) -> None:
        self.clock.start(self.time_limit)
        self._send({"op": "case", "case": case})

    def send(self, message: Any) -> None:
        self._send({"msg": message})

    def recv(self) -> Any:
        return self._reply(self._read())

    def exchange(self, message: Any) -> Any:
        self.send(message)
        return self.recv()

    def feed(self, messages: list[Any]) -> list[Any]:
        """Exchange each message in turn. A transport whose far end can hand them over
        (``feeds``: the sandbox worker, a process the candidate cannot read) gets them all
        at once and answers with every reply; otherwise one round trip per message."""
        if not getattr(self.transport, "feeds", False):
            return [self.exchange(m) for m in messages]
        self._send({"w": "feed", "msgs": messages})
        data = self._read()
        if data.get("w") != "fed" or type(data.get("n")) is not int or not 0 <= data["n"] <= len(messages):
            raise CandidateFailed("invalid", "the candidate broke the output protocol while being fed")
        replies = [self._reply(self._read()) for _ in range(data["n"])]
        if len(replies) < len(messages):  # the harness stopped answering: say why
            self._reply(self._read())
            raise InvalidOutput("the harness stopped answering before the last message")
        return replies

    def _reply(self, data: dict) -> Any:
        self._fail_on_error(data)
        if "msg" not in data:
            raise InvalidOutput("the harness finished the case before answering")
        return data["msg"]

    def result(self) -> Any:
        data = self._read()
        self._fail_on_error(data)
        if "result" not in data:
            raise InvalidOutput("the harness sent a message where a result was expected")
        return data["result"]

    def end(self) -> None:
        try:
            self.transport.write(b'{"op":"end"}\n')
        except OSError:
            pass


def run_job(job: EvalJob, channel: ProtocolChannel, describe_exit: Callable[[], str | None]) -> EvalResult:
    """Load the candidate, drive every case, and classify what happened.

    ``describe_exit`` is asked, after a failure, why the process ended (a signal, an exit
    code, a limit) so the reason shown to operators is specific.
    """
    start = time.monotonic()
    outputs: list[Any] = []
    try:
        channel.load(job.code, job.harness)
        for case in job.cases:
            outputs.append(job.drive(case, channel))
        channel.end()
        return EvalResult("ok", outputs=outputs, wall_time=time.monotonic() - start)
    except CandidateFailed as e:
        reason = e.reason
        if e.status == "error" and "ended unexpectedly" in reason:
            reason = describe_exit() or reason
        return EvalResult(e.status, reason=reason, wall_time=time.monotonic() - start)
    except InvalidOutput as e:
        return EvalResult("invalid", reason=str(e), wall_time=time.monotonic() - start)
    except (ValueError, TypeError, KeyError, IndexError) as e:
        # The trusted driver choked on something the candidate sent: invalid output.
        log.debug("driver rejected candidate output", exc_info=True)
        return EvalResult(
            "invalid",
            reason=f"output rejected by the driver: {e.__class__.__name__}: {e}",
            wall_time=time.monotonic() - start,
        )
