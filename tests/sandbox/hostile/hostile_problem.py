"""A small knapsack problem for the hostile suite, with a trusted scorer that recomputes
everything from the raw selection, so a candidate that fakes its claims gains nothing."""

from __future__ import annotations

import itertools
import random
import uuid
from dataclasses import dataclass
from typing import Any

from evolve.problems.contract import InvalidOutput, default_drive
from evolve.sandbox.base import EvalJob, EvalResult

SECRET = "sk-hostile-" + uuid.uuid4().hex  # planted around the engine; must never reach a candidate

HARNESS = """
def run(program, case):
    chosen = program.main(case["weights"], case["values"], case["capacity"])
    # A claim the trusted scorer ignores: the candidate may have patched sum() or json.
    try:
        claimed = sum(case["values"][i] for i in chosen)
    except Exception:
        claimed = None
    return {"chosen": chosen, "claimed_value": claimed}
"""

# Runs before every attack: tags the candidate's processes (forks inherit the name) so the
# test can look for survivors in the host's process table, and gives an honest answer.
PRELUDE = """
import os as _os
try:
    with open("/proc/self/comm", "w") as _f:
        _f.write("__MARK__")
except OSError:
    pass


def _greedy(weights, values, capacity):
    order = sorted(range(len(weights)), key=lambda i: -values[i] / weights[i])
    chosen, load = [], 0
    for i in order:
        if load + weights[i] <= capacity:
            chosen.append(i)
            load += weights[i]
    return chosen
"""


def make_cases(n_cases: int = 3, n_items: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(7)
    cases = []
    for _ in range(n_cases):
        weights = [rng.randint(5, 40) for _ in range(n_items)]
        values = [rng.randint(1, 60) for _ in range(n_items)]
        cases.append({"weights": weights, "values": values, "capacity": sum(weights) // 3})
    return cases


CASES = make_cases()


def score(outputs: list[Any], cases: list[Any]) -> float:
    """Trusted: the total value of valid selections; InvalidOutput for anything else."""
    total = 0
    for out, case in zip(outputs, cases, strict=True):
        if not isinstance(out, dict) or not isinstance(out.get("chosen"), list):
            raise InvalidOutput("output is not {'chosen': [...]}")
        chosen = out["chosen"]
        n = len(case["weights"])
        if any(type(i) is not int or not 0 <= i < n for i in chosen) or len(set(chosen)) != len(chosen):
            raise InvalidOutput("chosen holds something that is not a distinct item index")
        if sum(case["weights"][i] for i in chosen) > case["capacity"]:
            raise InvalidOutput("the selection exceeds the capacity")
        total += sum(case["values"][i] for i in chosen)
    return float(total)


def optimum(cases: list[Any] = CASES) -> float:
    best_total = 0
    for case in cases:
        n, best = len(case["weights"]), 0
        for mask in itertools.product((0, 1), repeat=n):
            if sum(w for w, m in zip(case["weights"], mask) if m) <= case["capacity"]:
                best = max(best, sum(v for v, m in zip(case["values"], mask) if m))
        best_total += best
    return float(best_total)


def greedy_value(cases: list[Any] = CASES) -> float:
    ns: dict[str, Any] = {}
    exec(PRELUDE.replace("__MARK__", "x"), ns)
    return score([{"chosen": ns["_greedy"](c["weights"], c["values"], c["capacity"])} for c in cases], cases)


def job(code: str, mark: str, time_limit: float = 2.0, memory_mb: int = 512) -> EvalJob:
    return EvalJob(
        code=PRELUDE.replace("__MARK__", mark) + code,
        harness=HARNESS,
        cases=CASES,
        drive=default_drive,
        time_limit=time_limit,
        memory_mb=memory_mb,
    )


@dataclass
class Outcome:
    kind: str  # "failed" | "invalid" | "scored"
    status: str
    value: float | None
    result: EvalResult


def judge(result: EvalResult) -> Outcome:
    if result.status != "ok":
        return Outcome("failed", result.status, None, result)
    try:
        return Outcome("scored", "ok", score(result.outputs, CASES), result)
    except InvalidOutput:
        return Outcome("invalid", "ok", None, result)
