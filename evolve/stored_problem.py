"""What the archive keeps of a campaign's problem, for commands that only inspect it.

A campaign records its problem's name, objective, direction and source at creation.
``evolve status``, ``best`` and ``export`` need nothing more, so they work from the
archive alone, also for campaigns created from an in-memory ``evolve.Problem`` (whose
code exists only in the program that made it). Evaluating needs the real problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


def problem_summary(problem) -> dict[str, Any]:
    return {
        "name": problem.name,
        "objective": problem.objective,
        "direction": problem.direction,
        "source": problem.source,
        "description": (problem.description or "").strip().split("\n")[0][:300],
        "untrusted_scores": getattr(problem, "untrusted_scores", None),
    }


@dataclass
class StoredProblem:
    name: str
    objective: str
    direction: Literal["max", "min"]
    source: str | None
    description: str
    why: str
    """Why the real problem is not available (said when someone tries to evaluate)."""
    untrusted_scores: str | None = None
    """Set when a peer engine's evaluator reported the scores (see problems/peers)."""

    @classmethod
    def from_archive(cls, info, why: str) -> StoredProblem:
        summary = info.state.get("problem") or {}
        return cls(
            name=summary.get("name", info.problem),
            objective=summary.get("objective", "objective"),
            direction=summary.get("direction", "max"),
            source=summary.get("source"),
            description=summary.get("description", ""),
            why=why,
            untrusted_scores=summary.get("untrusted_scores"),
        )

    def unavailable(self) -> str:
        return (
            f"campaign problem {self.name!r} is not available here: {self.why}; "
            "pass the problem (evolve.load_campaign(name, storage, problem=...), or --problem for workers)"
        )

    def better(self, a: float | None, b: float | None) -> bool:
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.direction == "max" else a < b

    def fitness(self, objective: float | None) -> float | None:
        if objective is None:
            return None
        return objective if self.direction == "max" else -objective
