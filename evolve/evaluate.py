"""One candidate from code to verified metrics: sandbox run, then trusted scoring.

The sandbox returns raw outputs (or a failure); the problem's trusted ``score`` turns them
into metrics outside the sandbox. Nothing the candidate reports is taken on trust.

Concurrency follows the work: every evaluation, from any thread or the event loop, waits
for a slot of the evaluator's ``capacity`` (``evolve.sandbox.capacity``: the setting, the
memory and the CPU the candidates use bound it), so callers may issue as many as they
like; the loop simply awaits ``evaluate_async`` for each candidate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evolve.constants import EvalStatus
from evolve.errors import ProblemError
from evolve.problems.contract import InvalidOutput, Problem
from evolve.sandbox.base import EvalJob, Sandbox
from evolve.sandbox.capacity import Capacity

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
    cpu_time: float | None = None
    """CPU seconds the candidate used (None where the sandbox cannot tell)."""


class Evaluator:
    """Evaluates candidates of one problem in one sandbox.

    ``evaluate(code)`` blocks (any thread); ``await evaluate_async(code)`` never blocks
    the event loop. Both wait for a slot: at most ``capacity.limit()`` evaluations run at
    once (``max_concurrent``, the configuration's ``workers``, caps it; by default the
    sandbox's memory and the cores bound it, see ``evolve.sandbox.capacity``). Issue as
    many as you have candidates; the rest queue in arrival order. ``close()`` stops the
    evaluation threads (the sandbox belongs to the caller)."""

    def __init__(
        self,
        problem: Problem,
        sandbox: Sandbox,
        time_limit: float | None = None,
        memory_mb: int | None = None,
        parsimony: float = 0.0,
        max_concurrent: int | None = None,
    ):
        self.parsimony = parsimony  # fitness cost per character: among equal scores, shorter code wins
        self.strict = False  # True while checking the seed: a broken scorer is the problem's error
        self.problem = problem
        self.sandbox = sandbox
        self.time_limit = time_limit or problem.time_limit
        self.memory_mb = memory_mb or problem.memory_mb
        self.capacity = Capacity(sandbox.bounds(self.memory_mb), cap=max_concurrent)
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._threads_lock = threading.Lock()

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
        """Run and score one candidate, once a slot is free (blocks; thread-safe)."""
        with self.capacity.slot():
            return self._evaluate(code)

    async def evaluate_async(self, code: str) -> Outcome:
        """Run and score one candidate, once a slot is free, without blocking the event
        loop. Cancelling it while it waits gives up its turn; once running, the evaluation
        finishes in its thread (and frees its slot) whatever happens to the awaiter."""
        await self.capacity.acquire()
        try:
            job = self._pool().submit(self._evaluate, code)
        except BaseException:
            self.capacity.release()
            raise
        job.add_done_callback(lambda _: self.capacity.release())  # finished, failed or cancelled
        return await asyncio.wrap_future(job)

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._threads_lock:
            if self._threads is None:  # as many threads as evaluations may ever run: none queues here
                self._threads = concurrent.futures.ThreadPoolExecutor(
                    self.capacity.hard, thread_name_prefix="evolve-eval"
                )
            return self._threads

    def close(self, wait: bool = False) -> None:
        """Stop the evaluation threads (``wait``: once the running evaluations are done)."""
        with self._threads_lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=wait, cancel_futures=True)

    def _evaluate(self, code: str) -> Outcome:
        start, engine, waited = time.monotonic(), time.thread_time(), _thread_wait()
        result = self.sandbox.evaluate(self.job(code))
        # What one evaluation keeps busy: the candidate, the sandbox's own work and this
        # thread's (the trusted driver, the protocol); and what all of them waited for a CPU.
        spent, wait = None, result.wait_time
        if result.cpu_time is not None:
            spent = result.cpu_time + result.sandbox_cpu_time + (time.thread_time() - engine)
            wait = (wait or 0.0) + (_thread_wait() - waited)
        self.capacity.record(spent, result.wall_time, wait)
        out = Outcome(result.status, result.reason, stdout=result.stdout, cpu_time=result.cpu_time)
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


def _thread_wait() -> float:
    """Seconds this thread has waited for a CPU (0 where /proc does not say)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


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
