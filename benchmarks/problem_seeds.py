"""Each built-in problem's seed, evaluated for real: objective and time per evaluation.

    python -m benchmarks.problem_seeds [--repeat 3] [--problems cap_set tsp ...]

Prints JSON: for every built-in (its default case set) the seed's objective, the
direction, the anchor line, and the median and minimum wall time of one full evaluation
(process sandbox, then the trusted scorer) over ``--repeat`` runs. This is the cost of
one evaluation that a campaign pays per child; ``benchmarks.suite`` measures what the
operators reach.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from evolve.evaluate import Evaluator
from evolve.problems import load_problem
from evolve.problems.loader import builtin_anchors
from evolve.problems.registry import PROBLEMS
from evolve.sandbox.process import ProcessSandbox


def measure(name: str, repeat: int, sandbox: ProcessSandbox) -> dict:
    problem = load_problem(name)
    evaluator = Evaluator(problem, sandbox)
    times, objective, status = [], None, None
    for _ in range(repeat):
        start = time.perf_counter()
        outcome = evaluator.evaluate(problem.initial_program)
        times.append(time.perf_counter() - start)
        objective, status = outcome.objective, outcome.status
    return {
        "objective": problem.objective,
        "direction": problem.direction,
        "seed": objective,
        "status": status,
        "cases": len(problem.cases),
        "eval_s_median": round(statistics.median(times), 3),
        "eval_s_min": round(min(times), 3),
        "anchor": builtin_anchors()[name],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS.names()))
    args = parser.parse_args()
    with ProcessSandbox() as sandbox:
        results = {name: measure(name, args.repeat, sandbox) for name in args.problems}
    print(json.dumps({"sandbox": sandbox.describe(), "load_avg": os.getloadavg(), "problems": results}, indent=2))


if __name__ == "__main__":
    main()
