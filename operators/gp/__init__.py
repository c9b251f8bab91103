"""The offline genetic-programming operator (no LLM needed): AST mutations and crossover
inside the EVOLVE-BLOCK regions. ``GPOperator`` implements ``operators.base.Operator``."""

from operators.gp.mutate import DEFAULT_WEIGHTS, MUTATIONS
from operators.gp.operator import GPOperator

__all__ = ["GPOperator", "DEFAULT_WEIGHTS", "MUTATIONS"]
