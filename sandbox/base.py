"""What every sandbox backend takes and gives back.

A backend runs untrusted candidate code with limits and speaks the runner protocol
(``sandbox/runner.py``) to it; the problem's trusted ``drive`` function talks to the
harness through a ``Channel`` and ``Sandbox.evaluate`` turns whatever happens into an
``EvalResult``. Backends never score and never decide what is good.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evolve.constants import EvalStatus as Status


@dataclass
class EvalJob:
    code: str
    """The full candidate program (untrusted)."""
    harness: str
    """Harness source defining ``run(program, case[, channel])`` (runs inside the sandbox)."""
    cases: list[Any]
    drive: Callable[[Any, Any], Any]
    """Trusted: ``drive(case, channel) -> output`` for one case (runs in the engine)."""
    time_limit: float = 10.0
    """Seconds of wall time per case (loading the program gets the same allowance)."""
    memory_mb: int = 2048


@dataclass
class EvalResult:
    status: Status
    reason: str | None = None
    outputs: list[Any] | None = None
    """One driver output per case when status is ok."""
    stdout: str = ""
    """The tail of what the candidate printed (capped)."""
    wall_time: float = 0.0
    backend: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class CandidateFailed(Exception):
    """Raised inside a Channel when the candidate failed; carries the status and reason."""

    def __init__(self, status: Status, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Sandbox(ABC):
    """A backend. ``evaluate`` blocks, and is safe to call from several threads at once."""

    name: str = "?"

    @abstractmethod
    def evaluate(self, job: EvalJob) -> EvalResult: ...

    def close(self) -> None:  # noqa: B027 - a default no-op, not abstract
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
