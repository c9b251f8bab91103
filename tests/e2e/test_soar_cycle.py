"""The SOAR cycle end to end: search with a (scripted) LLM, fine-tune a real local model
on what was found, switch the operator to it, and search on with it."""

import json
from pathlib import Path

import pytest

import evolve
from tests.e2e.conftest import QUADRATIC
from tests.llm_servers import ScriptedLLMServer
from tests.operators.llm.test_llm_campaign import toward_three


@pytest.mark.slow
def test_search_finetune_search(tmp_path, monkeypatch):
    from tests.tiny_model import cached_tiny_model

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = cached_tiny_model()
    with ScriptedLLMServer(toward_three) as server:
        c = evolve.create_campaign(
            QUADRATIC,
            storage=f"sqlite:///{tmp_path}/soar.db",
            name="soar",
            budget=40,
            max_proposals=16,
            islands=1,
            workers=2,
            sandbox="process",
            seed=1,
            crossover_rate=0.0,
            finetune_every=12,
            finetune_method="sft",
            finetune_base=str(base),
            finetune_steps=2,
            finetune_out=str(tmp_path / "ft"),
            llm={
                "models": [{"spec": "openai:test-model", "base_url": server.openai_url, "max_tokens": 24}],
                "concurrency": 2,
                "reflection": False,
                "mix": {"diff": 1.0},
            },
        )
        stats = c.run()
    assert stats.stopped_by == "max_proposals reached"
    rounds = c.archive.events(c.info.id, kind="finetune")
    assert len(rounds) == 1 and rounds[0].data["at"] == 12
    merged = Path(rounds[0].data["model"].removeprefix("hf:"))
    assert (merged / "config.json").exists()
    dataset = [json.loads(line) for line in (tmp_path / "ft" / "round-1" / "dataset.jsonl").read_text().splitlines()]
    assert len(dataset) >= 8 and all("Target: value = " in json.dumps(row) for row in dataset)

    children = [p for p in c.archive.programs(c.info.id, order="seq") if p.seq is not None]
    assert len(children) == 16
    before, after = children[:12], children[12:]
    assert {p.model for p in before} == {"openai:test-model"}
    assert {p.model for p in after} == {rounds[0].data["model"]}
    # the fine-tuned model really generated: its calls are recorded with their responses
    calls = [call for p in after for call in c.archive.llm_calls(program_id=p.id)]
    assert calls and all(call.model == rounds[0].data["model"] for call in calls)
    assert any(call.response for call in calls)
