"""Model choice: weights, and a bandit that learns which model improves more per dollar."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from llm_helpers import request
from llm_scripts import smart

from evolve.operators.base import Proposal
from evolve.operators.llm import LLMConfig, build_operator
from evolve.operators.llm.ensemble import BanditEnsemble, WeightedEnsemble


def test_weighted_choice_follows_weights_and_seed():
    ens = WeightedEnsemble([3.0, 1.0, 0.0])
    picks = Counter(ens.choose(random.Random(s)) for s in range(2000))
    assert picks[2] == 0 and 0.7 < picks[0] / 2000 < 0.8
    assert [WeightedEnsemble([1, 1]).choose(random.Random(s)) for s in range(20)] == [
        WeightedEnsemble([1, 1]).choose(random.Random(s)) for s in range(20)
    ]


def simulate(bandit: BanditEnsemble, gains: list[float], costs: list[float], rounds: int = 300) -> Counter:
    rng = random.Random(0)
    picks = Counter()
    for _ in range(rounds):
        arm = bandit.choose(rng)
        picks[arm] += 1
        improved = rng.random() < 0.5  # half the children improve, by the model's typical gain
        bandit.update(arm, gains[arm] if improved else -0.3, costs[arm])
    return picks


def test_bandit_prefers_the_model_that_improves_more():
    picks = simulate(BanditEnsemble([1.0, 1.0]), gains=[1.0, 0.2], costs=[0.01, 0.01])
    assert picks[0] > 2 * picks[1] and picks[1] >= 5  # still explores


def test_bandit_prefers_more_improvement_per_cost():
    # Model 0 improves twice as much but costs ten times more: model 1 is the better buy.
    picks = simulate(BanditEnsemble([1.0, 1.0]), gains=[1.0, 0.5], costs=[0.10, 0.01])
    assert picks[1] > 2 * picks[0]


def test_bandit_spreads_concurrent_choices_before_any_report():
    bandit = BanditEnsemble([1.0, 1.0, 0.0])
    picks = Counter(bandit.choose(random.Random(s)) for s in range(100))
    assert picks[2] == 0 and abs(picks[0] - picks[1]) <= 2


def test_operator_weights_and_bandit_reports(server, keys):
    server.script = smart
    models = [
        {"spec": "openai:test-model", "base_url": server.openai_url, "weight": 3.0},
        {"spec": "openai:other-model", "base_url": server.openai_url, "weight": 1.0, "price_in_per_mtok": 5.0},
    ]
    op = build_operator(LLMConfig(models=models, mix={"diff": 1.0}))

    async def go():
        await op.start()
        try:
            return await asyncio.gather(*(op.propose(request(seq=s, seed=s)) for s in range(80)))
        finally:
            await op.close()

    ps = asyncio.run(go())
    share = sum(p.model == "openai:test-model" for p in ps) / len(ps)
    assert 0.6 < share < 0.9
    served = Counter(b["model"] for b in server.completion_bodies())
    assert served["test-model"] == sum(p.model == "openai:test-model" for p in ps)

    bandit = build_operator(LLMConfig(models=models, ensemble="bandit"))
    for s in range(200):
        good = Proposal(code="x", operator="llm.diff", model="openai:other-model")
        bad = Proposal(code="x", operator="llm.diff", model="openai:test-model")
        bandit.report(good, 1.0, 2.0, "ok")
        bandit.report(bad, 1.0, 1.0, "ok")
    bandit.report(Proposal(code=None, operator="gp.mutate", model=None), 1.0, None, "rejected")  # ignored
    picks = Counter(bandit.ensemble.choose(random.Random(s)) for s in range(50))
    assert picks[1] > picks[0]
