"""Fixtures for the LLM operator tests: a scripted server on 127.0.0.1 and a small problem."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for llm_servers

from llm_servers import ScriptedLLMServer  # noqa: E402

from operators.base import Parent, ProblemBrief, ProposalRequest  # noqa: E402

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


@pytest.fixture
def server():
    with ScriptedLLMServer(models=["test-model", "other-model"]) as s:
        yield s


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")
