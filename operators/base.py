"""The operator interface: parents + context in, one child program out.

Operators never choose parents and never store anything; the campaign loop hands them a
``ProposalRequest`` and stores the ``Proposal`` they return, including the exact LLM
calls that produced it (fine-tuning and replay read those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Parent:
    """What an operator may know about an archived program."""

    id: int
    code: str
    objective: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    reason: str | None = None
    """Why it failed (traceback, invalid output) when status is not ok."""
    feedback: str | None = None
    """Text feedback from the problem's evaluator."""
    thought: str | None = None
    """EoH-style one-line idea that produced this program."""
    generation: int = 0


@dataclass
class ProblemBrief:
    """The problem as operators see it (no trusted callables)."""

    name: str
    description: str
    initial_program: str
    objective: str
    direction: str  # "max" | "min"
    entry_point: str = "main"


@dataclass
class ProposalRequest:
    problem: ProblemBrief
    parents: list[Parent]
    """One parent for mutation, two or more for crossover; parents[0] is the primary."""
    inspirations: list[Parent] = field(default_factory=list)
    """Other archive programs worth showing (elites, diverse ones)."""
    island: int = 0
    seq: int = 0
    """The proposal's sequence number in the campaign (unique, deterministic)."""
    seed: int = 0
    """Seed for this proposal's randomness: same seed, same child."""
    reflection: str | None = None
    """Accumulated long-term reflection for the island, if any."""
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class LLMCall:
    """One model call, recorded verbatim (never with secrets)."""

    model: str
    prompt: str | list[dict[str, Any]]
    response: str | None
    purpose: str = "propose"  # propose | reflect
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency: float = 0.0
    error: str | None = None


@dataclass
class Proposal:
    code: str | None
    """The full child program, rebuilt from the problem's skeleton; None when rejected."""
    operator: str
    """Which operator made it, e.g. ``gp.mutate``, ``llm.diff``."""
    reason: str | None = None
    """Why the proposal was rejected (code is None), e.g. a SEARCH block that did not match."""
    thought: str | None = None
    model: str | None = None
    calls: list[LLMCall] = field(default_factory=list)
    parent_ids: list[int] = field(default_factory=list)
    reflection: str | None = None
    """Updated long-term reflection for the island (the campaign stores it)."""


@runtime_checkable
class Operator(Protocol):
    name: str
    crossover_arity: int
    """How many parents a crossover wants (0: this operator never crosses over)."""

    async def start(self) -> None:
        """Check that the operator can work (model reachable, key present); raise OperatorError."""

    async def propose(self, request: ProposalRequest) -> Proposal: ...

    async def close(self) -> None: ...


@runtime_checkable
class ChoosesCrossoverRate(Operator, Protocol):
    """Operators that decide how often a proposal is a crossover (the LLM operator's kind
    mix) declare it with ``crossover_rate``; for others the campaign's setting applies."""

    @property
    def crossover_rate(self) -> float: ...


@runtime_checkable
class LearningOperator(Operator, Protocol):
    """Operators that adapt (bandit ensembles) declare it by implementing ``report``: the
    loop then tells them how each evaluated proposal did."""

    def report(
        self, proposal: Proposal, parent_fitness: float | None, child_fitness: float | None, status: str
    ) -> None: ...
