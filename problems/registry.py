"""Problems by name: the built-ins, and any you register from Python.

``evolve run NAME`` and ``load_problem(NAME)`` look names up here (a directory or a
problem.py path needs no registration). An entry is a ``Problem``, a function that
returns one, or a module with ``make_problem()`` (how the built-ins are stored, so
listing them imports nothing until one is used)::

    from evolve.problems.registry import register_problem

    register_problem("tiny", make_tiny_problem, "maximise f(x) on [0, 1]")
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from evolve.errors import ProblemError
from evolve.problems.contract import Problem
from evolve.registry import Registry

PROBLEMS: Registry[Any] = Registry("problem")
"""Named problems: ``Problem`` objects, factories, or modules with ``make_problem()``."""

PROBLEMS.add("bin_packing", "evolve.problems.bin_packing.problem")
PROBLEMS.add("circle_packing", "evolve.problems.circle_packing.problem")
PROBLEMS.add("circle_packing_32", "evolve.problems.circle_packing_32.problem")
PROBLEMS.add("cap_set", "evolve.problems.cap_set.problem")
PROBLEMS.add("autocorrelation_c1", "evolve.problems.autocorrelation_c1.problem")
PROBLEMS.add("tsp", "evolve.problems.tsp.problem")
PROBLEMS.add("symbolic_regression", "evolve.problems.symbolic_regression.problem")


def register_problem(
    name: str, problem: Problem | Callable[[], Problem], summary: str | None = None, *, replace: bool = False
) -> None:
    """Make ``problem`` (or a function building it) loadable as ``name``."""
    if summary is None and isinstance(problem, Problem) and problem.description.strip():
        summary = problem.description.strip().splitlines()[0]
    PROBLEMS.add(name, problem, summary, replace=replace)


def build_problem(name: str) -> Problem:
    """The registered problem ``name`` (a fresh one when the entry builds it)."""
    entry = PROBLEMS.get(name)
    if isinstance(entry, Problem):
        return entry
    maker = entry.make_problem if isinstance(entry, ModuleType) else entry
    problem = maker()
    if not isinstance(problem, Problem):
        raise ProblemError(f"problem {name!r} did not build an evolve.Problem (got {type(problem).__name__})")
    return problem
