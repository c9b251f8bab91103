"""An LLM campaign end to end (scripted server, real sandbox, SQLite), then its replay."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import evolve
from tests.llm_servers import Reply, ScriptedLLMServer

QUADRATIC = str(Path(__file__).resolve().parents[2] / "e2e" / "quadratic")  # maximise -(x - 3)^2 + 10
_RETURN = re.compile(r"return (-?[\d.]+)")


def toward_three(req) -> str | Reply:
    """Replies of every kind, each moving solve()'s number about halfway to 3; some broken."""
    text = req.messages[-1]["content"]
    if "Compare the two programs" in text or "Merge the new hints" in text:
        return "- numbers nearer 3 score higher"
    if req.call % 6 == 5:
        return "I am not sure."  # a rejected proposal
    shown = text[max(text.find("# Current program"), text.find("# Parent programs")) :]
    old = _RETURN.search(shown).group(1)
    new = f"{(float(old) + 3) / 2 + req.call * 1e-6:.6f}"  # distinct children: no dedup races
    if "SEARCH/REPLACE" in text:
        return (
            f"THOUGHT: move to {new}.\n<<<<<<< SEARCH\n    return {old}\n=======\n    return {new}\n>>>>>>> REPLACE\n"
        )
    program = f"\n# EVOLVE-BLOCK-START\ndef solve():\n    return {new}\n# EVOLVE-BLOCK-END\n"
    return f"THOUGHT: rewrite to {new}.\n```python\n{program}```\n"


def settings(server_url: str) -> dict:
    return dict(
        budget=10,
        islands=2,
        workers=2,
        sandbox="process",
        seed=3,
        crossover_rate=0.3,
        llm={
            "models": [
                {
                    "spec": "openai:test-model",
                    "base_url": server_url,
                    "price_in_per_mtok": 2.0,
                    "price_out_per_mtok": 8.0,
                }
            ],
            "concurrency": 4,
            "mix": {"diff": 0.5, "rewrite": 0.4, "crossover": 0.1},
        },
    )


def trace(c):
    programs = c.archive.programs(c.info.id, order="seq")
    where = {p.id: (p.seq, p.island) for p in programs}  # ids differ between campaigns; positions do not
    return [
        (p.seq, p.code, p.status, p.operator, p.model, p.reason, p.thought, [where[i] for i in p.parent_ids])
        for p in programs
        if p.seq is not None
    ]


@pytest.mark.slow
def test_llm_campaign_and_replay(tmp_path, keys):
    storage = f"sqlite:///{tmp_path}/llm.db"
    with ScriptedLLMServer(toward_three) as server:
        original = evolve.create_campaign(QUADRATIC, storage=storage, name="live", **settings(server.openai_url))
        stats = original.run()
    assert stats.evaluations == 10
    seed_value = -((0.5 - 3) ** 2) + 10
    assert original.best().objective > seed_value
    statuses = {p.status for p in original.archive.programs(original.info.id)}
    assert "ok" in statuses and "rejected" in statuses
    operators = {p.operator for p in original.archive.programs(original.info.id) if p.seq is not None}
    assert {"llm.diff", "llm.rewrite"} <= operators
    calls = original.archive.llm_calls(campaign_id=original.info.id)
    assert (
        calls and all(c.cost > 0 for c in calls if c.response) and original.archive.spend(original.info.id)["cost"] > 0
    )
    assert not any("sk-test" in str(c.prompt) + str(c.response) for c in calls)

    # Replay with no server at all: the recorded responses reproduce every proposal.
    recorded: dict[int, list] = {}
    for call in calls:
        recorded.setdefault(call.seq, []).append(call)
    replayed = evolve.create_campaign(QUADRATIC, storage=storage, name="replayed", **settings(server.openai_url))
    replayed.run(replay=recorded)
    assert trace(replayed) == trace(original)
