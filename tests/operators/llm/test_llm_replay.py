"""Replay: a campaign's recorded calls reproduce its proposals exactly, with no server."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from llm_helpers import parent, request
from llm_scripts import REWRITTEN, smart

from evolve.operators.llm import LLMConfig, build_operator
from tests.llm_servers import Reply, ScriptedLLMServer


def requests():
    reqs = [request(seq=s, seed=1000 + s) for s in range(10)]
    reqs += [
        request(parent(), parent(REWRITTEN, pid=2, objective=3.0), seq=10 + s, seed=s, reflection="- r")
        for s in range(4)
    ]
    return reqs


def flaky(req):
    if req.call % 5 == 3:
        return Reply(text="```python\nbroken(\n```")  # a rejected proposal, replayed as rejected
    if req.call % 7 == 6:
        return Reply(status=400)
    return smart(req)


def test_replay_reproduces_proposals_without_network(keys):
    with ScriptedLLMServer(flaky, models=["test-model", "other-model"]) as server:
        cfg = LLMConfig(
            models=[
                {"spec": "openai:test-model", "base_url": server.openai_url, "price_in_per_mtok": 1.0},
                {"spec": "openai:other-model", "base_url": server.openai_url, "weight": 2.0},
            ],
            mix={"diff": 0.5, "rewrite": 0.5},
        )
        live = build_operator(cfg)

        async def go(op):
            await op.start()
            try:
                return await asyncio.gather(*(op.propose(r) for r in requests()))
            finally:
                await op.close()

        original = asyncio.run(go(live))
    # The server is gone: a live call would fail. Records look like archive rows (dicts).
    records = {r.seq: [{"index": i, **asdict(c)} for i, c in enumerate(p.calls)] for r, p in zip(requests(), original)}
    replayed = asyncio.run(go(build_operator(cfg, replay=records)))
    fields = lambda p: (
        p.code,
        p.operator,
        p.reason,
        p.thought,
        p.model,
        p.reflection,
        p.parent_ids,
        [(c.model, c.purpose, c.response, c.error) for c in p.calls],
    )
    assert [fields(p) for p in replayed] == [fields(p) for p in original]
    assert any(p.code for p in original) and any(p.code is None for p in original)
    assert any(p.reflection for p in original) and len({p.model for p in original}) == 2
    assert build_operator(cfg, replay=records).total_cost == 0.0


def test_replay_miss_is_a_rejection():
    cfg = LLMConfig(models=["openai:test-model"])
    op = build_operator(cfg, replay={})
    p = asyncio.run(op.propose(request(seq=5)))
    assert p.code is None and "no recorded call 0 for proposal seq 5" in p.reason
