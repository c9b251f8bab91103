"""Evaluation concurrency follows the work, through real sandboxes: candidates that wait
on their driver run many at once, CPU-bound ones as many as there are cores, and the
Docker warm pool grows with the evaluations running and shrinks when they stop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from evolve.evaluate import Evaluator
from evolve.problems.contract import Problem
from evolve.sandbox.capacity import cores
from evolve.sandbox.process import ProcessSandbox

ECHO = "def run(program, case, channel):\n    return program.main(channel.recv())\n"


def slow_drive(case, channel):
    """Trusted side: think for a while before handing the case over (the candidate waits)."""
    channel.start(None)
    time.sleep(case["think"])
    channel.send(case["x"])
    return channel.result()


def problem(code: str, think: float = 0.0) -> Problem:
    return Problem(
        name="concurrency",
        description="",
        initial_program=code,
        harness=ECHO,
        cases=[{"x": 1, "think": think}],
        score=lambda outputs, cases: {"score": float(outputs[0])},
        objective="score",
        drive=slow_drive,
        time_limit=10.0,
        memory_mb=256,
    )


class Counting(ProcessSandbox):
    """The process sandbox, counting the evaluations in progress."""

    def __init__(self):
        super().__init__()
        self.running = self.peak = 0
        self.lock = threading.Lock()

    def evaluate(self, job):
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return super().evaluate(job)
        finally:
            with self.lock:
                self.running -= 1


def run_many(evaluator: Evaluator, n: int) -> list:
    async def main():
        return await asyncio.gather(*(evaluator.evaluate_async(evaluator.problem.initial_program) for _ in range(n)))

    try:
        return asyncio.run(main())
    finally:
        evaluator.close(wait=True)


def test_candidates_that_wait_on_their_driver_run_beyond_the_cores():
    sb = Counting()
    evaluator = Evaluator(problem("def main(x):\n    return x\n", think=0.4), sb)
    outcomes = run_many(evaluator, 4 * cores() + 4)
    assert all(o.status == "ok" and o.objective == 1.0 for o in outcomes)
    assert sb.peak > cores(), (sb.peak, evaluator.capacity.share())
    assert all(o.cpu_time is not None and o.cpu_time < o.eval_time for o in outcomes)


def test_cpu_bound_candidates_run_as_many_as_the_cores():
    burn = "import time\ndef main(x):\n    t = time.process_time()\n    while time.process_time() - t < 0.3:\n        pass\n    return x\n"
    sb = Counting()
    evaluator = Evaluator(problem(burn), sb)
    outcomes = run_many(evaluator, 3 * cores())
    assert all(o.status == "ok" for o in outcomes)
    assert sb.peak == cores()


def test_the_setting_caps_concurrency():
    sb = Counting()
    evaluator = Evaluator(problem("def main(x):\n    return x\n", think=0.2), sb, max_concurrent=1)
    assert [o.status for o in run_many(evaluator, 4)] == ["ok"] * 4
    assert sb.peak == 1


@pytest.mark.docker
def test_the_docker_pool_grows_with_demand_and_shrinks_when_idle():
    from evolve.problems.contract import default_drive
    from evolve.sandbox.base import EvalJob
    from evolve.sandbox.docker import DockerSandbox

    n = 4
    together = threading.Barrier(n, timeout=120)

    def drive(case, channel):  # every evaluation holds its container until all n run at once
        together.wait()
        return default_drive(case, channel)

    job = EvalJob(
        code="def main(x):\n    return x\n",
        harness="def run(program, case):\n    return program.main(case)\n",
        cases=[7],
        drive=drive,
        time_limit=10,
        memory_mb=128,
    )
    with DockerSandbox(pool_size=1, memory_mb=128, idle_timeout=0.5) as sb:
        assert len(sb.pool.items()) == 1
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(sb.evaluate(job))) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        assert [r.outputs for r in results] == [[7]] * n
        assert sb.pool.started >= n  # it had to hold n at once
        deadline = time.monotonic() + 60
        while len(sb.pool.items()) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(sb.pool.items()) == 1  # back to its warm size


@pytest.mark.docker
def test_the_docker_pool_respects_max_pool():
    from evolve.problems.contract import default_drive
    from evolve.sandbox.base import EvalJob
    from evolve.sandbox.docker import DockerSandbox

    with DockerSandbox(pool_size=1, max_pool=2, memory_mb=128) as sb:
        held = threading.Semaphore(0)
        running, peak, lock = [0], [0], threading.Lock()

        def drive(case, channel):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            held.acquire(timeout=0.3)
            try:
                return default_drive(case, channel)
            finally:
                with lock:
                    running[0] -= 1

        job = EvalJob(
            code="def main(x):\n    return x\n",
            harness="def run(program, case):\n    return program.main(case)\n",
            cases=[1],
            drive=drive,
            time_limit=10,
            memory_mb=128,
        )
        threads = [threading.Thread(target=sb.evaluate, args=(job,)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert peak[0] <= 2 and len(sb.pool.items()) <= 2 and sb.pool.started <= 2
