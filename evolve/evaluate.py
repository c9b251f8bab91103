"""One candidate from code to verified metrics: sandbox run, then trusted scoring.

The sandbox returns raw outputs (or a failure); the problem's trusted ``score`` turns them
into metrics outside the sandbox. Nothing the candidate reports is taken on trust.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evolve.constants import EvalStatus
from evolve.errors import ProblemError
from evolve.problems.contract import InvalidOutput, Problem
from evolve.sandbox.base import EvalJob, Sandbox

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Outcome:
    status: EvalStatus
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    objective: float | None = None
    fitness: float | None = None
    descriptor: dict[str, float] | None = None
    feedback: str | None = None
    stdout: str = ""
    eval_time: float = 0.0


class Evaluator:
    def __init__(
        self,
        problem: Problem,
        sandbox: Sandbox,
        time_limit: float | None = None,
        memory_mb: int | None = None,
        parsimony: float = 0.0,
    ):
        self.parsimony = parsimony  # fitness cost per character: among equal scores, shorter code wins
        self.strict = False  # True while checking the seed: a broken scorer is the problem's error
        self.problem = problem
        self.sandbox = sandbox
        self.time_limit = time_limit or problem.time_limit
        self.memory_mb = memory_mb or problem.memory_mb

    def job(self, code: str) -> EvalJob:
        p = self.problem
        return EvalJob(
            code=code,
            harness=p.harness,
            cases=p.cases,
            drive=p.drive,
            time_limit=self.time_limit,
            memory_mb=self.memory_mb,
        )

    def evaluate(self, code: str) -> Outcome:
        """Thread-safe: runs in the evaluation pool."""
        start = time.monotonic()
        result = self.sandbox.evaluate(self.job(code))
        out = Outcome(result.status, result.reason, stdout=result.stdout)
        if result.status == "ok":
            self._score(out, result.outputs or [])
            if out.fitness is not None:
                out.fitness -= self.parsimony * len(code)
        out.eval_time = time.monotonic() - start
        return out

    def _score(self, out: Outcome, outputs: list[Any]) -> None:
        p = self.problem
        try:
            out.metrics = p.checked_score(outputs, p.cases)
        except InvalidOutput as e:
            out.status, out.reason = "invalid", str(e)
            return
        except ProblemError as e:
            if self.strict:
                raise
            log.warning("%s", e)
            out.status, out.reason = "invalid", f"the scorer broke its contract on this output: {e}"
            return
        except Exception as e:  # noqa: BLE001 - a scorer crash on odd output rejects that output
            log.debug("score() raised on candidate output", exc_info=True)
            out.status, out.reason = "invalid", f"the scorer rejected the output: {e.__class__.__name__}: {e}"
            return
        out.objective = out.metrics[p.objective]
        out.fitness = p.fitness(out.objective)
        describe, feedback = p.descriptors, p.feedback
        if describe is not None:
            out.descriptor = _optional_hook(p.name, "descriptor", lambda: describe(out.metrics, outputs))
        if feedback is not None:
            out.feedback = _optional_hook(p.name, "feedback", lambda: feedback(out.metrics, outputs, p.cases))


def _optional_hook(problem: str, name: str, hook: Callable[[], T]) -> T | None:
    """Run a problem's optional extra (descriptors, feedback); a failure only loses it."""
    try:
        return hook()
    except Exception:  # noqa: BLE001 - optional extras never fail an evaluation
        log.warning("problem %s: %s hook failed", problem, name, exc_info=True)
        return None


def check_seed(evaluator: Evaluator) -> Outcome:
    """Evaluate the initial program; a seed that fails its own evaluation stops the
    campaign before it starts, with the reason."""
    evaluator.strict = True
    try:
        outcome = evaluator.evaluate(evaluator.problem.initial_program)
    finally:
        evaluator.strict = False
    if outcome.status != "ok":
        reason = (outcome.reason or "").strip().splitlines()
        last = reason[-1] if reason else "no reason given"
        raise ProblemError(
            f"the initial program of {evaluator.problem.name!r} fails its own evaluation "
            f"({outcome.status}: {last}); fix the seed or the harness"
        )
    return outcome
