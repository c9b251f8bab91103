"""SEARCH/REPLACE parsing and application: tolerant of how models actually write them."""

from __future__ import annotations

import pytest
from llm_helpers import SEED

from evolve.operators.llm.diff import DiffError, Edit, apply_diff, parse_diff


def diff(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_single_block_exact():
    text = "THOUGHT: prefer tight fits\n" + diff(
        "    return -abs(capacity - item)", "    return -(capacity - item) ** 2"
    )
    child = apply_diff(SEED, parse_diff(text))
    assert "return -(capacity - item) ** 2" in child
    assert child.replace("-(capacity - item) ** 2", "-abs(capacity - item)") == SEED


def test_several_blocks_apply_in_order():
    text = (
        diff("import math", "import math\nimport random")
        + "some prose\n"
        + diff('    """Higher is better."""', '    """Higher is better; tight fits win."""')
    )
    edits = parse_diff(text)
    assert len(edits) == 2
    child = apply_diff(SEED, edits)
    assert "import random" in child and "tight fits win" in child


def test_fences_around_and_inside_blocks():
    text = (
        "```diff\n<<<<<<< SEARCH\n```python\n    return -abs(capacity - item)\n```\n=======\n"
        "```python\n    return 0.0\n```\n>>>>>>> REPLACE\n```\n"
    )
    assert parse_diff(text) == [Edit("    return -abs(capacity - item)\n", "    return 0.0\n")]
    assert "return 0.0" in apply_diff(SEED, parse_diff(text))


def test_trailing_whitespace_and_blank_lines_tolerated():
    text = diff(
        '\ndef priority(item, capacity):   \n    """Higher is better."""\n',
        'def priority(item, capacity):\n    """New."""',
    )
    child = apply_diff(SEED, parse_diff(text))
    assert '    """New."""\n    return -abs' in child


def test_indentation_difference_is_reindented():
    # The model quoted the body without its 4-space indent; the replacement follows the file.
    text = diff("return -abs(capacity - item)", "gap = capacity - item\nif gap < 0:\n    return -1e9\nreturn -gap")
    child = apply_diff(SEED, parse_diff(text))
    assert "    gap = capacity - item\n    if gap < 0:\n        return -1e9\n    return -gap\n" in child
    compile(child, "child", "exec")


def test_unmatched_search_names_the_block():
    text = diff("import math", "import math") + diff("    return item * 2", "    return 0")
    with pytest.raises(DiffError, match=r"SEARCH block 2 does not match.*return item \* 2"):
        apply_diff(SEED, parse_diff(text))


def test_no_block_and_malformed_block():
    with pytest.raises(DiffError, match="no SEARCH/REPLACE block"):
        parse_diff("Here is my idea, but no code.")
    with pytest.raises(DiffError, match="malformed"):
        parse_diff("<<<<<<< SEARCH\nimport math\n>>>>>>> REPLACE\n")


def test_empty_search_rejected():
    with pytest.raises(DiffError, match="empty"):
        apply_diff(SEED, parse_diff("<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE"))


def test_deletion_with_empty_replace():
    child = apply_diff(SEED, parse_diff('<<<<<<< SEARCH\n    """Higher is better."""\n=======\n>>>>>>> REPLACE'))
    assert "Higher is better" not in child and "return -abs" in child


def test_match_inside_evolve_block_preferred():
    program = "x = 1\n# EVOLVE-BLOCK-START\nx = 1\n# EVOLVE-BLOCK-END\n"
    child = apply_diff(program, parse_diff(diff("x = 1", "x = 2")))
    assert child == "x = 1\n# EVOLVE-BLOCK-START\nx = 2\n# EVOLVE-BLOCK-END\n"


def test_longer_marker_runs_accepted():
    text = "<<<<<<<< SEARCH\nimport math\n========\nimport cmath\n>>>>>>>> REPLACE"
    assert "import cmath" in apply_diff(SEED, parse_diff(text))
