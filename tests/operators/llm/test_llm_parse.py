"""Reading rewrite replies into evolve blocks, and the EoH thought line."""

from __future__ import annotations

import pytest
from llm_helpers import SEED

from evolve.operators.llm.parse import ReplyError, blocks_from_reply, code_blocks, extract_thought
from evolve.problems.blocks import split

NEW_BODY = "def priority(item, capacity):\n    return item - capacity\n"


def program_with(body: str) -> str:
    return SEED.replace(
        'def priority(item, capacity):\n    """Higher is better."""\n    return -abs(capacity - item)\n', body
    )


def test_full_program_in_a_fence():
    reply = f"THOUGHT: linear\n```python\n{program_with(NEW_BODY)}```\n"
    t = split(SEED)
    assert t.rebuild(blocks_from_reply(t, reply)) == program_with(NEW_BODY)


def test_skeleton_whitespace_differences_tolerated_and_skeleton_kept():
    sloppy = program_with(NEW_BODY).replace("\n\n\ndef main", "\ndef main").replace("import math\n", "import math   \n")
    t = split(SEED)
    child = t.rebuild(blocks_from_reply(t, f"```python\n{sloppy}```"))
    assert child == program_with(NEW_BODY)  # the fixed code comes from the problem, not the reply


def test_rewriting_the_skeleton_is_rejected():
    evil = program_with(NEW_BODY).replace(
        "return [priority(i, capacity) for i in items]", "return [1e9 for i in items]"
    )
    t = split(SEED)
    with pytest.raises(ReplyError, match="outside the EVOLVE-BLOCK"):
        blocks_from_reply(t, f"```python\n{evil}```")


def test_block_only_reply_is_reindented():
    program = "class A:\n    # EVOLVE-BLOCK-START\n    def f(self):\n        return 1\n    # EVOLVE-BLOCK-END\n"
    t = split(program)
    blocks = blocks_from_reply(t, "```python\ndef f(self):\n    return 2\n```")
    assert t.rebuild(blocks) == program.replace("return 1", "return 2")


def test_program_without_markers_is_rejected():
    no_markers = program_with(NEW_BODY).replace("# EVOLVE-BLOCK-START\n", "").replace("# EVOLVE-BLOCK-END\n", "")
    with pytest.raises(ReplyError, match="drops the EVOLVE-BLOCK markers"):
        blocks_from_reply(split(SEED), f"```python\n{no_markers}```")


def test_no_code_is_rejected():
    with pytest.raises(ReplyError, match="no ```python code block"):
        blocks_from_reply(split(SEED), "I think we should use a heap here.")


def test_unmarked_program_takes_the_longest_python_block():
    t = split("def main():\n    return 1\n")
    reply = "```bash\npip install x\n```\n```python\nx = 1\n```\n```python\ndef main():\n    return 2\n```"
    assert blocks_from_reply(t, reply) == ["def main():\n    return 2\n"]
    assert code_blocks(reply) == ["x = 1\n", "def main():\n    return 2\n"]


def test_thought_extraction():
    assert (
        extract_thought("**THOUGHT:** use best fit with a penalty.\n```python\nx=1\n```")
        == "use best fit with a penalty."
    )
    assert extract_thought("Thought - try a heap\n") == "try a heap"
    # No THOUGHT line: nothing is stored rather than a guess (diff markers, tags...).
    assert extract_thought("We sort items first.\n<<<<<<< SEARCH\n") is None
    assert extract_thought("<NAME>\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n") is None
    assert extract_thought("```python\n# THOUGHT: not this\n```") is None
    assert len(extract_thought("THOUGHT: " + "x" * 1000)) == 300
