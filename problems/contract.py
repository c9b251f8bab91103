"""The Problem contract: what a user (or a built-in) gives the engine.

Trust boundary: ``initial_program`` and every child of it are untrusted and run only in
the sandbox, together with ``harness`` (source text defining ``run(program, case)`` or
``run(program, case, channel)``). Everything else here is trusted and runs in the
engine's process: ``drive`` talks to the harness case by case, ``score`` recomputes every
number from the raw outputs and verifies them strictly.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from evolve.errors import ProblemError
from evolve.problems.blocks import Template, split


class InvalidOutput(Exception):
    """Raised by trusted code (a driver or ``score``) when a candidate's output breaks the
    problem's rules. The candidate is stored with status ``invalid`` and this reason."""


class Channel(Protocol):
    """The trusted side of a conversation with one candidate, one case at a time."""

    def start(self, case: Any) -> None:
        """Call the harness's ``run(program, case[, channel])`` inside the sandbox."""

    def send(self, message: Any) -> None:
        """Send a message the harness reads with ``channel.recv()``."""

    def recv(self) -> Any:
        """The next message the harness sent with ``channel.send(...)``."""

    def exchange(self, message: Any) -> Any:
        """``send`` then ``recv``."""

    def feed(self, messages: list[Any]) -> list[Any]:
        """``exchange`` each message in turn and return the replies, for a conversation
        whose messages do not depend on the replies (online bin packing's items). The
        harness still gets each message only after it answered the one before; the
        sandbox hands them over on its side of the boundary, so a long conversation
        costs one round trip instead of one per message. Check the replies as if they had
        come one by one."""

    def result(self) -> Any:
        """Wait for the harness's ``run`` to return and give its (JSON) return value."""


def default_drive(case: Any, channel: Channel) -> Any:
    """Non-interactive problems: hand the whole case over, take back the output."""
    channel.start(case)
    return channel.result()


Metrics = dict[str, float]


@dataclass
class Problem:
    name: str
    description: str
    initial_program: str
    harness: str
    cases: list[Any]
    score: Callable[[list[Any], list[Any]], Metrics]
    objective: str
    direction: Literal["max", "min"] = "max"
    entry_point: str = "main"
    time_limit: float = 10.0
    """Seconds of the candidate's CPU time per case (a wall-clock backstop of 5x stops a
    candidate that sleeps; see docs/sandbox.md)."""
    memory_mb: int = 2048
    drive: Callable[[Any, Channel], Any] = default_drive
    """Trusted: runs one case against the candidate and returns its raw output."""
    descriptors: Callable[[Metrics, list[Any]], dict[str, float]] | None = None
    """Optional behaviour descriptors (for diversity) from metrics and outputs."""
    feedback: Callable[[Metrics, list[Any], list[Any]], str] | None = None
    """Optional text feedback for operators from metrics, outputs and cases."""
    case_sets: dict[str, list[Any]] = field(default_factory=dict)
    """Named alternative case sets (``cases`` is the default one)."""
    source: str | None = None
    """Where the problem was loaded from (a path or ``builtin:NAME``)."""
    untrusted_scores: str | None = None
    """Set when the metrics are reported by code running inside the sandbox (a peer
    engine's evaluator, which imports the candidate) instead of being recomputed by a
    trusted ``score``: the label that status and export show."""

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise ProblemError(f"problem {self.name!r}: direction must be 'max' or 'min', not {self.direction!r}")
        if not self.cases:
            raise ProblemError(f"problem {self.name!r} has no cases: give at least one case to evaluate on")
        if self.time_limit <= 0:
            raise ProblemError(f"problem {self.name!r}: time_limit must be positive")
        for what in ("initial_program", "harness"):
            text = getattr(self, what)
            if not isinstance(text, str) or not text.strip():
                raise ProblemError(f"problem {self.name!r}: {what} must be non-empty Python source")
            try:
                compile(text, f"<{self.name}:{what}>", "exec")
            except SyntaxError as e:
                raise ProblemError(
                    f"problem {self.name!r}: {what} has a syntax error at line {e.lineno}: {e.msg}"
                ) from None
        _ = self.template  # validates the markers

    @property
    def template(self) -> Template:
        return split(self.initial_program)

    def with_cases(self, case_set: str | None) -> Problem:
        """A copy evaluating on a named case set (None keeps the default)."""
        if case_set is None:
            return self
        if case_set not in self.case_sets:
            known = ", ".join(sorted(self.case_sets)) or "none"
            raise ProblemError(f"problem {self.name!r} has no case set {case_set!r} (known: {known})")
        from dataclasses import replace

        return replace(self, cases=list(self.case_sets[case_set]))

    def better(self, a: float | None, b: float | None) -> bool:
        """Is objective value ``a`` strictly better than ``b`` (None is worst)?"""
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.direction == "max" else a < b

    def fitness(self, objective: float | None) -> float | None:
        """The objective oriented so that larger is better (for selection)."""
        if objective is None:
            return None
        return objective if self.direction == "max" else -objective

    def checked_score(self, outputs: list[Any], cases: list[Any]) -> Metrics:
        """Run the trusted scorer and insist on a dict of finite floats with the objective.

        Raises InvalidOutput when the scorer rejects the candidate's output and ProblemError
        when the scorer itself breaks the contract.
        """
        metrics = self.score(outputs, cases)
        if not isinstance(metrics, dict):
            raise ProblemError(
                f"problem {self.name!r}: score() returned {type(metrics).__name__}, expected a dict of floats"
            )
        clean: Metrics = {}
        for key, value in metrics.items():
            # Any real number: int, float, numpy's float32/int64/... (registered as numbers.Real).
            if isinstance(value, (bool, numpy_bool())) or not isinstance(value, numbers.Real):
                raise ProblemError(
                    f"problem {self.name!r}: score() returned {key}={value!r}; every metric must be a real number"
                )
            clean[str(key)] = float(value)
        if self.objective not in clean:
            raise ProblemError(f"problem {self.name!r}: score() did not return the objective {self.objective!r}")
        for key, value in clean.items():
            if not math.isfinite(value):
                raise InvalidOutput(f"{'objective' if key == self.objective else 'metric'} {key} is {value}")
        return clean


def numpy_bool() -> tuple[type, ...]:
    """numpy's bool type, if numpy is installed (a truth value is not a metric)."""
    try:
        import numpy as np
    except ImportError:
        return ()
    return (np.bool_,)
