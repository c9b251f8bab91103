"""Scripted model behaviour for the operator tests: replies that depend on the prompt."""

from __future__ import annotations

from llm_helpers import SEED

from tests.llm_servers import Reply, ScriptRequest

OLD = "    return -abs(capacity - item)"
NEW = "    return -abs(capacity - item) ** 2"
DIFF = f"THOUGHT: square the gap to punish loose fits.\n<<<<<<< SEARCH\n{OLD}\n=======\n{NEW}\n>>>>>>> REPLACE\n"
REWRITTEN = SEED.replace(OLD, "    gap = capacity - item\n    return -gap if gap >= 0 else -1e9")
REWRITE = f"THOUGHT: forbid overflowing bins.\n```python\n{REWRITTEN}```\n"
CROSSED = SEED.replace(OLD, "    return -(capacity - item) * 0.5")
CROSSOVER = f"THOUGHT: halve the gap.\n```python\n{CROSSED}```\n"
HINTS = "- the better parent punishes overflow\n- try scaling the gap"
INSIGHTS = "- punishing overflow helps\n- scaling the gap is promising"


def user(req: ScriptRequest) -> str:
    return req.messages[-1]["content"]


def kind_of(req: ScriptRequest) -> str:
    text = user(req)
    if "Merge the new hints" in text:
        return "reflect_long"
    if "Compare the two programs" in text:
        return "reflect_short"
    if "# Parent programs" in text:
        return "crossover"
    if "SEARCH/REPLACE" in text:
        return "diff"
    return "rewrite"


def smart(req: ScriptRequest) -> str | Reply:
    return {"diff": DIFF, "rewrite": REWRITE, "crossover": CROSSOVER, "reflect_short": HINTS, "reflect_long": INSIGHTS}[
        kind_of(req)
    ]
