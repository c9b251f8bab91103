"""LLM operators: model clients, prompts, diff parsing, reflection, ensembles, replay.

Public API::

    from evolve.operators.llm import LLMConfig, ModelSpec, build_operator, make_client

    operator = build_operator(LLMConfig(models=["openai:gpt-4o-mini"]))
    await operator.start()            # OperatorError if a key is missing or a model unreachable
    proposal = await operator.propose(request)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evolve.operators.llm.config import LLMConfig, ModelSpec
from evolve.operators.llm.factory import make_client
from evolve.operators.llm.operator import LLMOperator
from evolve.operators.llm.replay import ReplayClient
from evolve.operators.llm.specs import parse_spec

__all__ = ["LLMConfig", "LLMOperator", "ModelSpec", "ReplayClient", "build_operator", "make_client", "parse_spec"]


def build_operator(config: LLMConfig, replay: Mapping[int, Iterable[Any]] | None = None) -> LLMOperator:
    """The LLM operator for ``config``; with ``replay`` (recorded calls per proposal seq, in
    call order: objects or dicts with model, purpose, response[, error, cost, ...]) it
    answers from the records and never touches the network."""
    return LLMOperator(config, replay=ReplayClient(replay) if replay is not None else None)
