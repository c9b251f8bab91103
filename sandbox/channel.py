"""The engine's side of the runner protocol, over any byte transport.

Backends provide a ``Transport`` (the runner's stdin/stdout pipes, a container's attach
socket, ...); ``ProtocolChannel`` speaks the protocol documented in ``runner.py`` over it
and enforces the per-case deadline; ``run_job`` drives a whole job through the problem's
trusted ``drive`` and turns every outcome into an ``EvalResult``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from evolve.problems.contract import InvalidOutput
from evolve.sandbox.base import CandidateFailed, EvalJob, EvalResult

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024 * 1024  # one protocol message; bigger output is rejected, not buffered


class Transport(Protocol):
    def write(self, data: bytes) -> None:
        """Send bytes to the runner; raise OSError if it is gone."""

    def read_line(self, deadline: float) -> bytes | None:
        """One line (with its newline) before ``deadline`` (time.monotonic());
        None at end of stream; raise TimeoutError when the deadline passes."""


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not allowed in the output")


def decode(line: bytes) -> dict:
    data = json.loads(line, parse_constant=_reject_constant)
    if not isinstance(data, dict):
        raise ValueError("message is not an object")
    return data


class ProtocolChannel:
    """Implements problems.contract.Channel on a transport, one case at a time."""

    def __init__(self, transport: Transport, time_limit: float):
        self.transport = transport
        self.time_limit = time_limit
        self.deadline = math.inf

    # -- plumbing ---------------------------------------------------------------------
    def _send(self, obj: dict) -> None:
        try:
            self.transport.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        except OSError as e:
            raise CandidateFailed("error", f"the candidate's process is gone ({e.__class__.__name__})") from None

    def _read(self) -> dict:
        try:
            line = self.transport.read_line(self.deadline)
        except TimeoutError:
            raise CandidateFailed("timeout", f"exceeded the time limit of {self.time_limit:g} s per case") from None
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
        self.deadline = time.monotonic() + max(self.time_limit, 5.0)
        self._send({"op": "load", "code": code, "harness": harness})
        data = self._read()
        self._fail_on_error(data)
        if data.get("ready") is not True:
            raise CandidateFailed("invalid", "the candidate broke the output protocol while loading")

    def start(self, case: Any) -> None:
        self.deadline = time.monotonic() + self.time_limit
        self._send({"op": "case", "case": case})

    def send(self, message: Any) -> None:
        self._send({"msg": message})

    def recv(self) -> Any:
        data = self._read()
        self._fail_on_error(data)
        if "msg" not in data:
            raise InvalidOutput("the harness finished the case before answering")
        return data["msg"]

    def exchange(self, message: Any) -> Any:
        self.send(message)
        return self.recv()

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
