"""EVOLVE-BLOCK templates: split, rebuild, and refuse edits outside the blocks."""

from __future__ import annotations

import pytest

from evolve.errors import ProblemError
from evolve.problems import load_problem, split
from evolve.problems.registry import PROBLEMS

PROGRAM = """\
import numpy as np

# EVOLVE-BLOCK-START
def f(x):
    return x
# EVOLVE-BLOCK-END

CONST = 3

    # EVOLVE-BLOCK-START (indented marker with a comment)
def g(x):
    return 2 * x
    # EVOLVE-BLOCK-END
"""


def test_split_and_rebuild_round_trip():
    t = split(PROGRAM)
    assert t.marked and len(t.blocks) == 2
    assert t.blocks[0] == "def f(x):\n    return x\n"
    assert t.rebuild(t.blocks) == PROGRAM
    child = t.rebuild(["def f(x):\n    return x + 1", t.blocks[1]])  # missing newline is added
    assert "return x + 1\n# EVOLVE-BLOCK-END" in child
    assert t.blocks_of(child)[0] == "def f(x):\n    return x + 1\n"
    assert split(child).skeleton == t.skeleton


def test_skeleton_changes_are_detected():
    t = split(PROGRAM)
    with pytest.raises(ValueError, match="outside its EVOLVE-BLOCK regions"):
        t.blocks_of(PROGRAM.replace("CONST = 3", "CONST = 4"))
    with pytest.raises(ValueError, match="outside its EVOLVE-BLOCK regions"):
        t.blocks_of(PROGRAM.replace("import numpy as np", "import os"))
    with pytest.raises(ValueError, match="expected 2 blocks, got 1"):
        t.rebuild(["x = 1"])


def test_unmarked_program_is_one_block():
    t = split("x = 1\n")
    assert not t.marked and t.blocks == ("x = 1\n",)
    assert t.rebuild(["y = 2\n"]) == "y = 2\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("# EVOLVE-BLOCK-START\nx = 1\n", "has no matching EVOLVE-BLOCK-END"),
        ("x = 1\n# EVOLVE-BLOCK-END\n", "line 2: expected EVOLVE-BLOCK-START"),
        ("# EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\n", "line 2: expected EVOLVE-BLOCK-END"),
    ],
)
def test_unbalanced_markers(text, message):
    with pytest.raises(ProblemError, match=message):
        split(text)


@pytest.mark.parametrize("name", PROBLEMS.names())
def test_builtin_seeds_have_one_block_holding_the_entry_point(name):
    problem = load_problem(name)
    t = problem.template
    assert len(t.blocks) == 1 and f"def {problem.entry_point}(" in t.blocks[0]
    assert t.rebuild(t.blocks) == problem.initial_program
