"""Operators by name: ``operator = "gp"`` or ``"llm"`` in a campaign config, or your own.

An operator turns parents into a child (``evolve.operators.base.Operator``). Register a
class (or factory) under a name; when it has settings, give it an ``Options`` pydantic
model and take an instance in its constructor, and the campaign's ``operator_options``
are validated against it::

    from evolve.operators.registry import register_operator

    @register_operator("swap")
    class Swap:
        '''Swaps two lines of the evolve block.'''

        name, crossover_arity = "swap", 0
        async def start(self): ...
        async def propose(self, request): ...
        async def close(self): ...

An operator that adapts to results implements ``report`` and so is a
``LearningOperator``: the loop then reports each evaluated proposal to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from evolve.errors import ConfigError
from evolve.operators.base import Operator
from evolve.registry import Registry

OPERATORS: Registry[Callable[..., Operator]] = Registry("operator")
"""Operators by name (``evolve --help`` and the docs list them from here)."""

C = TypeVar("C")


def register_operator(name: str, summary: str | None = None, *, replace: bool = False) -> Callable[[C], C]:
    """Class decorator: make an operator available as ``operator = "name"``."""
    return OPERATORS.register(name, summary, replace=replace)


def make_operator(name: str, options: Mapping[str, Any] | BaseModel | None = None) -> Operator:
    """A ready (not yet started) operator: the registered class built with its options."""
    operator = OPERATORS.build(name, options)
    if not isinstance(operator, Operator):
        raise ConfigError(
            f"operator {name!r} must have name, crossover_arity and async start(), propose(request), close()"
        )
    return operator


class GPOptions(BaseModel):
    """Settings of the offline GP operator (see ``evolve.operators.gp.GPOperator``)."""

    model_config = ConfigDict(extra="forbid")
    weights: dict[str, float] | None = Field(None, description="relative frequency of each mutation kind")
    crossover_mutation: float = Field(0.3, ge=0, le=1)
    extra_mutation: float = Field(0.2, ge=0, lt=1)
    max_nodes: int | None = Field(None, ge=1)
    max_depth: int = Field(10, ge=1)
    attempts: int = Field(24, ge=1)
    salt: int = 0


def gp_operator(options: GPOptions) -> Operator:
    from evolve.operators.gp import GPOperator

    return GPOperator(**options.model_dump())


def llm_operator(options: Any) -> Operator:
    """The LLM operator for an ``LLMConfig`` (the campaign's ``[llm]`` section)."""
    from evolve.operators.llm import build_operator

    return build_operator(options)


OPERATORS.add(
    "gp",
    gp_operator,
    "offline genetic programming on the evolve blocks' ASTs (no model needed)",
    options=GPOptions,
)
OPERATORS.add(
    "llm",
    llm_operator,
    "language models: diffs, rewrites, crossover, reflection (the [llm] section)",
    options="evolve.operators.llm.config:LLMConfig",
)
