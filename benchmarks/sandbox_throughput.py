"""Evaluations per second through the evaluator: the default sizing against a fixed two.

    python -m benchmarks.sandbox_throughput [--seconds 20] [--backends process,docker]

For each backend (process, Docker) and problem (``trivial``: a candidate returning a
number, one case; ``waits``: the same behind a trusted step of 50 ms, so the candidate
mostly waits; ``or3``: online bin packing, 20 x 500 items), candidates are issued
as fast as the evaluator takes them (``Evaluator.evaluate_async``, far more than can
run) for about ``--seconds``, once with the default sizing (``workers`` unset: the
capacity follows the memory, the cores and the CPU the candidates use) and once with
exactly two at once (the old fixed two evaluation threads), in one run. Prints
JSON: evaluations per second, the peak number running at once, the admission limit at
the end and the CPU share of one evaluation it learnt, and ``speedup`` = default / two.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import threading
import time

from evolve.evaluate import Evaluator
from evolve.problems import load_problem
from evolve.problems.contract import Problem


def _slow_drive(case, channel):
    """A trusted step that takes a while (a simulator, a remote check): the candidate waits."""
    channel.start(case)
    time.sleep(0.05)
    return channel.result()


TRIVIAL = Problem(
    name="trivial",
    description="Return a number.",
    initial_program="def main(x):\n    return x + 1\n",
    harness="def run(program, case):\n    return program.main(case)\n",
    cases=[41],
    score=lambda outputs, cases: {"score": float(outputs[0])},
    objective="score",
    time_limit=10.0,
    memory_mb=512,
)


class Counting:
    """Wraps a sandbox to count the evaluations in progress."""

    def __init__(self, sandbox):
        self.sandbox, self.running, self.peak = sandbox, 0, 0
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.sandbox, name)

    def evaluate(self, job):
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            return self.sandbox.evaluate(job)
        finally:
            with self.lock:
                self.running -= 1


async def _flood(evaluator: Evaluator, seconds: float) -> int:
    """Keep the evaluator saturated for ``seconds``; the number of evaluations completed."""
    done, end = 0, time.monotonic() + seconds
    code = evaluator.problem.initial_program

    async def one() -> None:
        nonlocal done
        outcome = await evaluator.evaluate_async(code)
        if outcome.status != "ok":
            raise RuntimeError(f"evaluation failed: {outcome.status}: {outcome.reason}")
        done += 1

    pending: set[asyncio.Task] = set()
    while time.monotonic() < end:
        while len(pending) < evaluator.capacity.hard + 4:
            pending.add(asyncio.create_task(one()))
        finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            task.result()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return done


def measure(sandbox, problem: Problem, workers: int | None, seconds: float) -> dict:
    counting = Counting(sandbox)
    evaluator = Evaluator(problem, counting, max_concurrent=workers)
    if workers is not None:  # the old fixed pool: exactly ``workers`` at once, whatever they use
        evaluator.capacity._limit = lambda: evaluator.capacity.hard  # type: ignore[method-assign]
    evaluator.evaluate(problem.initial_program)  # warm-up: containers, caches, a first share
    start = time.perf_counter()
    done = asyncio.run(_flood(evaluator, seconds))
    elapsed = time.perf_counter() - start
    evaluator.close(wait=True)
    return {
        "evals_per_s": round(done / elapsed, 2),
        "evaluations": done,
        "peak_running": counting.peak,
        "limit_at_end": evaluator.capacity.limit(),
        "share_of_a_core": round(evaluator.capacity.share(), 3),
    }


def make(backend: str):
    if backend == "process":
        from evolve.sandbox.process import ProcessSandbox

        return ProcessSandbox(hide=[os.getcwd()])
    from evolve.sandbox.docker import DockerSandbox

    return DockerSandbox(hide=[os.getcwd()])  # the campaign's default: 2 warm, grows with demand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--backends", default="process,docker")
    args = parser.parse_args()
    waits = dataclasses.replace(TRIVIAL, name="waits", drive=_slow_drive)
    problems = {"trivial": TRIVIAL, "waits": waits, "or3": load_problem("bin_packing")}
    report: dict = {
        "what": "evaluations per second, default sizing vs workers=2, saturated evaluator",
        "cpus": os.cpu_count(),
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }
    for backend in args.backends.split(","):
        for name, problem in problems.items():
            key = f"{backend}_{name}"
            try:
                with make(backend) as sandbox:
                    two = measure(sandbox, problem, 2, args.seconds)
                    default = measure(sandbox, problem, None, args.seconds)
                report[key] = {
                    "default": default,
                    "workers_2": two,
                    "speedup": round(default["evals_per_s"] / two["evals_per_s"], 2),
                }
            except Exception as e:  # a backend that cannot run here is reported, not fatal
                report[key] = {"skipped": f"{e.__class__.__name__}: {str(e)[:200]}"}
            print(json.dumps({key: report[key]}), file=sys.stderr)
    report["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
