"""The LLM operator end to end: prompts out, children (or reasoned rejections) back."""

from __future__ import annotations

import asyncio

import pytest
from llm_helpers import SEED, parent, request
from llm_scripts import CROSSED, DIFF, HINTS, INSIGHTS, NEW, OLD, REWRITTEN, smart, user

from evolve.errors import OperatorError
from evolve.operators.base import Operator
from evolve.operators.llm import LLMConfig, ModelSpec, build_operator
from tests.llm_servers import Reply


def run(coro):
    return asyncio.run(coro)


def config(server, mix=None, **kw) -> LLMConfig:
    model = {
        "spec": "openai:test-model",
        "base_url": server.openai_url,
        "price_in_per_mtok": 1.0,
        "price_out_per_mtok": 2.0,
        "timeout": 5.0,
        "max_retries": 2,
    }
    model.update(kw.pop("model", {}))
    return LLMConfig(models=[model], mix=mix or {"diff": 1.0}, **kw)


async def propose_all(op, requests):
    await op.start()
    try:
        return await asyncio.gather(*(op.propose(r) for r in requests))
    finally:
        await op.close()


def one(op, req):
    return run(propose_all(op, [req]))[0]


def test_diff_proposal(server, keys):
    server.script = smart
    op = build_operator(config(server))
    assert isinstance(op, Operator) and op.name == "llm" and op.crossover_arity == 2
    p = one(op, request(parent(pid=7)))
    assert p.code == SEED.replace(OLD, NEW)
    assert (p.operator, p.model, p.parent_ids, p.reason) == ("llm.diff", "openai:test-model", [7], None)
    assert p.thought == "square the gap to punish loose fits."
    [call] = p.calls
    assert call.purpose == "propose" and call.response == DIFF and call.error is None
    assert call.prompt[0]["role"] == "system" and "EVOLVE-BLOCK" in call.prompt[1]["content"]
    assert call.input_tokens > 100 and call.output_tokens == len(DIFF.split())
    assert call.cost == pytest.approx((call.input_tokens * 1.0 + call.output_tokens * 2.0) / 1e6)
    assert op.total_cost == pytest.approx(call.cost) and call.latency > 0


def test_rewrite_proposal(server, keys):
    server.script = smart
    p = one(build_operator(config(server, mix={"rewrite": 1.0})), request())
    assert (p.code, p.operator, p.thought) == (REWRITTEN, "llm.rewrite", "forbid overflowing bins.")


def test_anthropic_model(server, keys):
    server.script = smart
    cfg = config(server, model={"spec": "anthropic:test-model", "base_url": server.anthropic_url})
    p = one(build_operator(cfg), request())
    assert p.code == SEED.replace(OLD, NEW) and p.model == "anthropic:test-model"
    assert "system" in server.completion_bodies()[-1]


def test_prompt_carries_problem_parent_feedback_and_inspirations(server, keys):
    server.script = smart
    broken = parent(
        objective=None,
        status="error",
        reason="Traceback ...\nZeroDivisionError: division by zero",
        feedback="bins overflow in case 3",
        thought="divide by the gap",
    )
    inspiration = parent(
        SEED.replace("Higher is better", "An elite"), objective=9.5, pid=2, metrics={"score": 9.5, "time": 0.1}
    )
    one(build_operator(config(server)), request(broken, inspirations=[inspiration], reflection="- avoid division"))
    prompt = user(type("R", (), {"messages": server.completion_bodies()[-1]["messages"]}))
    for text in (
        "Rank bins for an item.",
        "`score`: higher is better",
        "ZeroDivisionError: division by zero",
        "bins overflow in case 3",
        "Idea: divide by the gap",
        "An elite",
        "score = 9.5",
        "time = 0.1",
        "# Insights from earlier attempts\n- avoid division",
        "Status: error",
    ):
        assert text in prompt, text


def test_crossover_with_reflection(server, keys):
    server.script = smart
    worse, better = parent(objective=1.0, pid=1), parent(REWRITTEN, objective=5.0, pid=2)
    p = one(build_operator(config(server, reflection=True)), request(worse, better, reflection="- old insight"))
    assert p.operator in ("llm.crossover.e1", "llm.crossover.e2")
    assert p.code == CROSSED and p.parent_ids == [1, 2] and p.thought == "halve the gap."
    assert [c.purpose for c in p.calls] == ["reflect", "reflect", "propose"]
    short, long, cross = (c.prompt[-1]["content"] for c in p.calls)
    assert short.index("# Better program") < short.index(REWRITTEN.splitlines()[4]) < short.index("# Worse program")
    assert "- old insight" in long and HINTS in long
    assert HINTS in cross and "- old insight" in cross
    assert p.reflection == INSIGHTS


def test_crossover_without_reflection_and_variants(server, keys):
    server.script = smart
    op = build_operator(config(server, reflection=False))
    ps = run(propose_all(op, [request(parent(), parent(REWRITTEN, pid=2), seed=s) for s in range(12)]))
    assert all(len(p.calls) == 1 and p.code == CROSSED and p.reflection is None for p in ps)
    prompts = [p.calls[0].prompt[-1]["content"] for p in ps]
    assert {p.operator for p in ps} == {"llm.crossover.e1", "llm.crossover.e2"}
    for p, text in zip(ps, prompts):
        assert ("different" in text) == p.operator.endswith("e1") and ("backbone" in text) == p.operator.endswith("e2")


def test_failed_reflection_still_crosses_over(server, keys):
    server.script = smart
    server.fail_next(400, count=1)  # not retried by the SDK
    p = one(build_operator(config(server)), request(parent(), parent(REWRITTEN, pid=2)))
    assert p.code == CROSSED and [c.purpose for c in p.calls] == ["reflect", "propose"]
    assert p.calls[0].error.startswith("BadRequestError") and p.reflection is None


@pytest.mark.parametrize(
    "reply, reason",
    [
        (
            "<<<<<<< SEARCH\n    return item * 3\n=======\n    return 0\n>>>>>>> REPLACE",
            "SEARCH block 1 does not match",
        ),
        ("<<<<<<< SEARCH\nimport math\n=======\nimport os\n>>>>>>> REPLACE", "outside the EVOLVE-BLOCK"),
        (f"<<<<<<< SEARCH\n{OLD}\n=======\n    return (\n>>>>>>> REPLACE", "syntax error at line 6"),
        ("I would sort the items first.", "no SEARCH/REPLACE block"),
        (f"<<<<<<< SEARCH\n{OLD}\n=======\n{OLD}\n>>>>>>> REPLACE", "does not change the program"),
        (Reply(text=DIFF[:40], finish_reason="length"), "truncated: the reply hit max_tokens=4096"),
    ],
)
def test_malformed_replies_are_rejected_with_a_reason(server, keys, reply, reason):
    server.script = lambda req: reply
    p = one(build_operator(config(server)), request())
    assert p.code is None and reason in p.reason
    assert len(p.calls) == 1 and p.calls[0].response is not None and p.model == "openai:test-model"


def test_rewrite_of_the_skeleton_is_rejected(server, keys):
    evil = SEED.replace("for i in items]", "for i in items] + [1e9]")
    server.script = lambda req: f"```python\n{evil}```"
    p = one(build_operator(config(server, mix={"rewrite": 1.0})), request())
    assert p.code is None and "outside the EVOLVE-BLOCK" in p.reason


def test_api_failures_become_rejections(server, keys):
    server.script = smart
    op = build_operator(config(server, model={"timeout": 0.5, "max_retries": 1}))

    async def scenario():
        await op.start()
        try:
            server.hang_next(2)
            timed_out = await op.propose(request(seq=1))
            server.garbage_next(1)  # a 200 is not retried
            garbage = await op.propose(request(seq=2))
            server.fail_next(500, count=2)
            failed = await op.propose(request(seq=3))
            server.fail_next(429, count=1, retry_after=0.01)
            recovered = await op.propose(request(seq=4))
            return timed_out, garbage, failed, recovered
        finally:
            await op.close()

    timed_out, garbage, failed, recovered = run(scenario())
    assert timed_out.code is None and "APITimeoutError" in timed_out.reason
    assert timed_out.calls[0].error and timed_out.calls[0].response is None and timed_out.calls[0].latency >= 0.5
    assert garbage.code is None and "malformed reply" in garbage.reason
    assert failed.code is None and "InternalServerError" in failed.reason and "500" in failed.reason
    assert recovered.code == SEED.replace(OLD, NEW)


def test_start_errors_are_fatal(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(OperatorError, match="OPENAI_API_KEY is not set"):
        run(build_operator(config(server)).start())


def test_kind_is_deterministic_from_seed_and_follows_the_mix(server, keys):
    server.script = smart
    cfg = config(server, mix={"diff": 0.6, "rewrite": 0.3, "crossover": 0.1})
    reqs = [request(seed=s, seq=s) for s in range(80)]
    first = [p.operator for p in run(propose_all(build_operator(cfg), reqs))]
    again = [p.operator for p in run(propose_all(build_operator(cfg), reqs))]
    assert first == again
    assert set(first) == {"llm.diff", "llm.rewrite"}  # one parent: never a crossover
    assert 0.45 < first.count("llm.diff") / len(first) < 0.85
    assert build_operator(cfg).crossover_rate == pytest.approx(0.1)


def test_concurrency_is_bounded_and_calls_overlap(server, keys):
    server.script, server.latency = smart, 0.3
    op = build_operator(config(server, concurrency=4))
    run(propose_all(op, [request(seq=i, seed=i) for i in range(12)]))
    assert server.max_in_flight == 4
    server.max_in_flight = 0
    op = build_operator(config(server, concurrency=64))
    ps = run(propose_all(op, [request(seq=i, seed=i) for i in range(64)]))
    assert server.max_in_flight >= 32 and all(p.code for p in ps)  # the calls overlapped


def test_cost_cap(server, keys):
    server.script = smart
    op = build_operator(config(server, max_cost=1e-6))
    first, second = run(propose_all(op, [request(seq=1)]))[0], None

    async def again():
        return await op.propose(request(seq=2))

    second = run(again())
    assert first.code and op.total_cost > 1e-6 and op.budget_exhausted
    assert second.code is None and "max_cost" in second.reason and second.calls == []
    assert server.completions == 1


def test_templates_dir_overrides(server, keys, tmp_path):
    server.script = smart
    (tmp_path / "diff.txt").write_text("CUSTOM $objective\n$program\nUse SEARCH/REPLACE blocks.\n")
    p = one(build_operator(config(server, templates_dir=str(tmp_path))), request())
    assert p.calls[0].prompt[-1]["content"].startswith("CUSTOM score\n## Program")
    (tmp_path / "diff.txt").write_text("$nonsense")
    with pytest.raises(OperatorError, match="unknown placeholders.*nonsense"):
        build_operator(config(server, templates_dir=str(tmp_path)))
    with pytest.raises(OperatorError, match="not a directory"):
        build_operator(config(server, templates_dir=str(tmp_path / "missing")))


def test_config_validation():
    assert LLMConfig(models=["openai:gpt-4o-mini"]).models[0] == ModelSpec(spec="openai:gpt-4o-mini")
    for bad in (
        {"models": ["gpt4"]},
        {"models": []},
        {"models": ["openai:x"], "mix": {"mutate": 1}},
        {"models": ["openai:x"], "mix": {"crossover": 1}},
        {"models": [{"spec": "openai:x", "weight": 0}]},
    ):
        with pytest.raises(ValueError):
            LLMConfig(**bad)
