"""Problems: the contract, the loader and the built-in problems.

from evolve.problems import load_problem
problem = load_problem("bin_packing", case_set="or3_small")
"""

from evolve.problems.blocks import Template, split
from evolve.problems.contract import Channel, InvalidOutput, Metrics, Problem, default_drive
from evolve.problems.loader import builtin_problems, load_problem

__all__ = [
    "Channel",
    "InvalidOutput",
    "Metrics",
    "Problem",
    "Template",
    "builtin_problems",
    "default_drive",
    "load_problem",
    "split",
]
