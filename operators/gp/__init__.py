"""The offline genetic-programming operator (no LLM needed): AST mutations and crossover
inside the EVOLVE-BLOCK regions. ``GPOperator`` implements ``evolve.operators.base.Operator``."""

from evolve.operators.gp.mutate import DEFAULT_WEIGHTS, MUTATIONS
from evolve.operators.gp.operator import GPOperator

__all__ = ["GPOperator", "DEFAULT_WEIGHTS", "MUTATIONS"]
