"""Campaigns the dashboard tests (and the screenshots) look at, stored for real:

- ``gp``: the offline GP operator on the quadratic problem, with a MAP-Elites grid;
- ``llm``: LLM operators (diff, rewrite, crossover with reflection) through the scripted
  OpenAI-compatible server, so prompts, replies, tokens and costs exist;
- ``hostile``: programs whose code, stdout, reason, thought and model reply carry HTML
  and script, to check the pages show them as text and nothing runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import evolve
from evolve.archive import Archive
from evolve.archive.new_program import NewProgram
from evolve.operators.base import LLMCall
from tests.llm_servers import Reply, ScriptedLLMServer

QUADRATIC = str(Path(__file__).resolve().parents[1] / "e2e" / "quadratic")
_RETURN = re.compile(r"return (-?[\d.]+)")

GP_SETTINGS = dict(
    budget=40,
    islands=2,
    workers=2,
    sandbox="process",
    seed=1,
    selection="map_elites",
    map_elites={"dims": [["code_length", 0.0, 240.0, 8], ["ast_depth", 0.0, 12.0, 6]]},
)


def store_gp(url: str, name: str = "gp", **overrides) -> None:
    evolve.create_campaign(QUADRATIC, storage=url, name=name, **{**GP_SETTINGS, **overrides}).run()


def toward_three(req) -> str | Reply:
    """Replies that move solve()'s number halfway to 3, of every kind; some broken."""
    text = req.messages[-1]["content"]
    if "Compare the two programs" in text or "Merge the new hints" in text:
        return "- numbers nearer 3 score higher"
    if req.call % 6 == 5:
        return "I am not sure."  # a rejected proposal
    shown = text[max(text.find("# Current program"), text.find("# Parent programs")) :]
    old = _RETURN.search(shown).group(1)
    new = f"{(float(old) + 3) / 2 + req.call * 1e-6:.6f}"
    if "SEARCH/REPLACE" in text:
        return (
            f"THOUGHT: move to {new}.\n<<<<<<< SEARCH\n    return {old}\n=======\n    return {new}\n>>>>>>> REPLACE\n"
        )
    program = f"\n# EVOLVE-BLOCK-START\ndef solve():\n    return {new}\n# EVOLVE-BLOCK-END\n"
    return f"THOUGHT: rewrite to {new}.\n```python\n{program}```\n"


def llm_settings(base_url: str, budget: int = 10) -> dict:
    return dict(
        budget=budget,
        islands=2,
        workers=2,
        sandbox="process",
        seed=3,
        crossover_rate=0.3,
        llm={
            "models": [
                {"spec": "openai:test-model", "base_url": base_url, "price_in_per_mtok": 2.0, "price_out_per_mtok": 8.0}
            ],
            "concurrency": 4,
            "mix": {"diff": 0.5, "rewrite": 0.4, "crossover": 0.1},
        },
    )


def store_llm(url: str, name: str = "llm", budget: int = 10) -> None:
    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = "sk-test-openai"
    try:
        with ScriptedLLMServer(toward_three) as server:
            evolve.create_campaign(QUADRATIC, storage=url, name=name, **llm_settings(server.openai_url, budget)).run()
    finally:
        if saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = saved


# Markup that would run script or load something if any page treated it as HTML.
HOSTILE = (
    '<script>window.__pwned = "script"; alert(1)</script>'
    '<img src="http://127.0.0.9:9/x.png" onerror="window.__pwned = \'img\'; alert(2)">'
    "<a href=\"javascript:window.__pwned='link'\">click me</a>"
    '<iframe src="http://127.0.0.9:9/frame"></iframe><style>body{background:url(http://127.0.0.9:9/bg)}</style>'
    "**markdown** [link](javascript:alert(3))"
)


def store_hostile(url: str, name: str = "hostile") -> dict[str, int]:
    """A seed and children whose every free-text field holds ``HOSTILE``; returns ids."""
    with Archive(url) as arc:
        c = arc.create_campaign(name, "quadratic", {"islands": 1, "budget": 3, "selection": "tournament"})
        seed = arc.add_program(
            c.id,
            NewProgram(
                code="def solve():\n    return 0.5\n",
                island=0,
                status="ok",
                operator="seed",
                metrics={"value": 3.75},
                objective=3.75,
                fitness=3.75,
                born_at=-(10**9),
            ),
        )
        code = f"def solve():\n    # {HOSTILE}\n    return 2.5  # {HOSTILE}\n"
        call = LLMCall(
            model=f"openai:{HOSTILE}"[:190],
            prompt=[{"role": "system", "content": HOSTILE}, {"role": "user", "content": "improve " + HOSTILE}],
            response=f"THOUGHT: {HOSTILE}\n```python\n{code}```",
            input_tokens=120,
            output_tokens=80,
            cost=0.001,
            latency=0.5,
        )
        reflect = LLMCall(model="openai:test-model", prompt=HOSTILE, response=HOSTILE, purpose="reflect")
        child = arc.add_program(
            c.id,
            NewProgram(
                code=code,
                island=0,
                status="ok",
                seq=0,
                born_at=0,
                generation=1,
                parent_ids=[seed.id],
                operator="llm.rewrite",
                model="openai:test-model",
                metrics={"value": 9.75, "case:0": 9.75},
                objective=9.75,
                fitness=9.75,
                thought=HOSTILE,
                stdout=HOSTILE * 3,
                feedback=HOSTILE,
                llm_calls=[reflect, call],
            ),
        )
        failed = arc.add_program(
            c.id,
            NewProgram(
                code=code + HOSTILE,
                island=0,
                status="error",
                seq=1,
                born_at=1,
                generation=1,
                parent_ids=[seed.id],
                operator=f"llm.diff{HOSTILE}"[:95],
                model="openai:test-model",
                reason=HOSTILE,
                stdout=HOSTILE,
            ),
        )
    return {"seed": seed.id, "child": child.id, "failed": failed.id}
