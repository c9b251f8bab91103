"""Each method trains a few steps on the tiny model; its merged output loads with HFClient.

Small on purpose (a couple of optimizer steps each) so the whole file runs in well under
a minute on two CPU cores; these tests run everywhere, never skipped.
"""

from __future__ import annotations

import asyncio
import json
import math

import pytest

from evolve.errors import CampaignNotFound
from evolve.finetune import (
    DatasetTooSmall,
    FinetuneError,
    FinetuneSchedule,
    build_dpo,
    finetune,
    model_spec,
    run_finetune,
    sandbox_evaluator,
)
from evolve.operators.llm.hf import FALLBACK_CHAT_TEMPLATE, HFClient

pytestmark = pytest.mark.slow

SMALL = dict(max_steps=2, batch_size=2, max_length=512)


def generate(spec: str) -> str:
    async def go():
        client = HFClient(spec)
        await client.start()
        out = await client.complete([{"role": "user", "content": "improve"}], max_tokens=8, temperature=1.0, seed=0)
        await client.close()
        return out

    out = asyncio.run(go())
    assert out.output_tokens >= 1 and isinstance(out.text, str)
    return out.text


def changed_weights(base, merged) -> int:
    from safetensors.torch import load_file

    a, b = load_file(base / "model.safetensors"), load_file(merged / "model.safetensors")
    assert set(a) == set(b)
    return sum(not a[k].equal(b[k]) for k in a)


def test_sft_from_the_archive_to_a_loadable_merged_model(fake_archive, tiny_model, tmp_path):
    dump = tmp_path / "sft.jsonl"
    result = run_finetune(
        fake_archive, "demo", "sft", f"hf:{tiny_model}", tmp_path / "out", dump_dataset=dump, min_examples=4, **SMALL
    )
    assert len(dump.read_text().splitlines()) == result.num_examples == 4
    assert (result.adapter_dir / "adapter_config.json").is_file()
    assert (result.merged_dir / "config.json").is_file() and (result.merged_dir / "tokenizer.json").is_file()
    assert result.metrics["steps"] == 2 and math.isfinite(result.metrics["train_loss"])
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["method"] == "sft" and saved["examples"] == 4
    assert changed_weights(tiny_model, result.merged_dir) > 0  # the LoRA update is merged in
    assert result.model_spec == model_spec(result) == model_spec(result.merged_dir) == f"hf:{result.merged_dir}"
    generate(result.model_spec)


def test_full_sft_without_lora(fake_archive, tiny_model, tmp_path):
    result = run_finetune(
        fake_archive, "demo", "sft", tiny_model, tmp_path / "out", min_examples=2, lora=False, max_examples=2, **SMALL
    )
    assert result.adapter_dir is None and result.num_examples == 2
    assert changed_weights(tiny_model, result.merged_dir) > 0
    generate(result.model_spec)


def test_dpo_on_sibling_pairs_with_a_base_lacking_a_chat_template(campaign, tmp_path):
    from tests.tiny_model import build_tiny_model

    base = build_tiny_model(tmp_path / "plain", chat_template=False)
    dataset = build_dpo(campaign)
    result = finetune("dpo", dataset, base, tmp_path / "out", lr=1e-3, **SMALL)
    assert result.num_examples == 8 and result.metrics["steps"] == 2
    assert "rewards/margins" in result.metrics
    # Trained with the fallback template, saved with it, so inference renders the same text.
    from transformers import AutoTokenizer

    assert (
        AutoTokenizer.from_pretrained(result.merged_dir, local_files_only=True).chat_template == FALLBACK_CHAT_TEMPLATE
    )
    assert changed_weights(base, result.merged_dir) > 0
    generate(result.model_spec)


def test_grpo_rewards_children_in_the_real_sandbox(fake_archive, tiny_model, tmp_path):
    from evolve.problems.contract import Problem
    from evolve.sandbox.process import ProcessSandbox
    from tests.finetune.test_finetune_reward import HARNESS, _score

    problem = Problem(
        name="const",
        description="",
        initial_program="def main():\n    return 1.0\n",
        harness=HARNESS,
        cases=[None],
        score=_score,
        objective="value",
        time_limit=5.0,
        memory_mb=512,
    )
    seen = []
    with ProcessSandbox() as sandbox:
        evaluate = sandbox_evaluator(problem, sandbox)

        def counting(code):
            status, fitness = evaluate(code)
            seen.append(status)
            return status, fitness

        result = run_finetune(
            fake_archive,
            "demo",
            "grpo",
            tiny_model,
            tmp_path / "out",
            evaluate=counting,
            min_examples=4,
            max_steps=1,
            batch_size=2,
            num_generations=2,
            max_completion_length=12,
        )
    # A random model writes no valid program: every child failed in the sandbox.
    assert len(seen) >= 2 and "ok" not in seen
    assert result.metrics["reward"] == -1.0
    generate(result.model_spec)


def test_clear_errors_before_any_training(fake_archive, tiny_model, tmp_path):
    with pytest.raises(DatasetTooSmall, match="sft dataset has 4 examples, fewer than the minimum 8"):
        run_finetune(fake_archive, "demo", "sft", tiny_model, tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(CampaignNotFound, match="no campaign named 'nope'"):
        run_finetune(fake_archive, "nope", "sft", tiny_model, tmp_path / "b")
    with pytest.raises(FinetuneError, match="not a local model directory"):
        run_finetune(fake_archive, "demo", "sft", tmp_path / "missing", tmp_path / "c")
    with pytest.raises(FinetuneError, match="evaluate="):
        run_finetune(fake_archive, "demo", "grpo", tiny_model, tmp_path / "d")
    with pytest.raises(FinetuneError, match="choose one of"):
        run_finetune(fake_archive, "demo", "ppo", tiny_model, tmp_path / "e")
    # A dry run writes the dataset and stops.
    assert (
        run_finetune(
            fake_archive, "demo", "dpo", tiny_model, tmp_path / "f", dump_dataset=tmp_path / "d.jsonl", dry_run=True
        )
        is None
    )
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 8


def test_schedule_switches_model_every_n_proposals(fake_archive, tiny_model, tmp_path):
    with pytest.raises(FinetuneError, match="positive"):
        FinetuneSchedule(base=str(tiny_model), out_root=tmp_path, every=0)
    sched = FinetuneSchedule(
        base=f"hf:{tiny_model}",
        out_root=tmp_path / "rounds",
        every=5,
        min_examples=100,
        train_opts=dict(SMALL, max_steps=1),
    )
    assert sched.maybe_run(fake_archive, "demo", 3) is None  # not due
    assert sched.maybe_run(fake_archive, "demo", 5) is None  # due, but too little data yet: skipped
    assert sched.rounds == 0 and sched.last_at == 5
    sched.min_examples = 4
    assert sched.maybe_run(fake_archive, "demo", 7) is None  # next round is due at 10
    spec = sched.maybe_run(fake_archive, "demo", 10)
    merged = tmp_path / "rounds" / "round-1" / "merged"
    assert spec == f"hf:{merged.resolve()}" == sched.current_spec and sched.rounds == 1
    assert (tmp_path / "rounds" / "round-1" / "dataset.jsonl").is_file()
    generate(spec)
