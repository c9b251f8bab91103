"""Shared helpers for the LLM operator tests: a small problem with an EVOLVE-BLOCK."""

from __future__ import annotations

from evolve.operators.base import Parent, ProblemBrief, ProposalRequest

SEED = '''import math

# EVOLVE-BLOCK-START
def priority(item, capacity):
    """Higher is better."""
    return -abs(capacity - item)
# EVOLVE-BLOCK-END


def main(items, capacity):
    return [priority(i, capacity) for i in items]
'''

BRIEF = ProblemBrief(
    name="toy",
    description="Rank bins for an item.",
    initial_program=SEED,
    objective="score",
    direction="max",
    entry_point="main",
)


def parent(code: str = SEED, objective: float | None = 1.0, pid: int = 1, **kw) -> Parent:
    return Parent(id=pid, code=code, objective=objective, **kw)


def request(*parents: Parent, seq: int = 0, seed: int = 0, **kw) -> ProposalRequest:
    return ProposalRequest(problem=BRIEF, parents=list(parents) or [parent()], seq=seq, seed=seed, **kw)
