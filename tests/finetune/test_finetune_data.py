"""Dataset builders on a hand-made campaign: exactly which examples and pairs they pick."""

from __future__ import annotations

import json

import pytest

from evolve.finetune import (
    DatasetTooSmall,
    FinetuneDataset,
    FinetuneError,
    build_dataset,
    build_dpo,
    build_grpo,
    build_sft,
    relabel,
)
from evolve.finetune.data import NearDuplicates, spread_order
from evolve.finetune.hindsight import find_target
from evolve.finetune.records import CampaignData
from tests.finetune.finetune_campaign import code, make_campaign, prompt


def ids(ds: FinetuneDataset, key: str = "program_id") -> list:
    return [m[key] for m in ds.meta]


# --- SFT ------------------------------------------------------------------------------


def test_sft_keeps_improving_ok_children_best_first_and_drops_duplicates(campaign):
    ds = build_sft(campaign)
    # 4 (worse than its parent) and failures are out; 11 is 2 reformatted, 2 is better.
    assert ids(ds) == [8, 2, 9, 3]
    assert [r["completion"] for r in ds.records][:2] == [
        [{"role": "assistant", "content": "RESPONSE 8"}],
        [{"role": "assistant", "content": "RESPONSE 2"}],
    ]
    assert ds.meta[0]["parent_fitness"] == 3.0 and ds.meta[0]["fitness"] == 4.0


def test_sft_without_improvement_filter_includes_non_improving(campaign):
    assert ids(build_sft(campaign, improving_only=False)) == [8, 2, 9, 3, 4]


def test_sft_ignores_reflection_calls(campaign):
    texts = [r["completion"][0]["content"] for r in build_sft(campaign).records]
    assert "REFLECTION" not in texts


def test_sft_hindsight_rewrites_target_to_achieved_objective(campaign):
    ds = build_sft(campaign)
    user = ds.records[0]["prompt"][1]["content"]  # child 8: fitness 4.0, objective 40
    assert "Target: score = 40\n" in user
    assert "Target: score = 1.5" not in user
    assert "Current: score = 1\n" in user  # the parent's own metrics stay as they were
    assert ds.records[0]["prompt"][0] == {"role": "system", "content": "You improve Python programs."}
    # The campaign's own records are untouched.
    call = next(c for c, p in campaign.proposals() if p.id == 8)
    assert "Target: score = 1.5" in call.prompt[1]["content"]


def test_sft_hindsight_appends_target_when_prompt_has_none():
    programs, calls = make_campaign()
    data = CampaignData.from_records(programs, calls)
    ds = build_sft(data, dedup_threshold=1.0, improving_only=False, objective_name="excess")
    # With exact-copy dedup only, 11 (a reformatted copy of 2) is still dropped.
    assert 11 not in ids(ds)
    programs = [p for p in programs if p["id"] != 2]
    calls = [c for c in calls if c["program_id"] != 2]
    ds = build_sft(CampaignData.from_records(programs, calls), objective_name="excess")
    rec = ds.records[ids(ds).index(11)]
    assert rec["prompt"] == [{"role": "user", "content": "Task D, no target line here.\n\nTarget: excess = 29"}]


def test_sft_without_hindsight_keeps_prompt(campaign):
    ds = build_sft(campaign, hindsight=False)
    assert "Target: score = 1.5" in ds.records[0]["prompt"][1]["content"]


def _ladder(n: int, near: bool = False) -> CampaignData:
    """Seed 0 (fitness 0) and n improving children with fitness 1..n, distinct code."""
    programs = [{"id": 0, "code": code(0), "status": "ok", "fitness": 0.0, "parent_ids": []}]
    calls = []
    for i in range(1, n + 1):
        src = ("def main():\n" + "    y = 0\n" * 40 + f"    return {i}\n") if near else code(i)
        programs.append(
            {"id": i, "code": src, "status": "ok", "fitness": float(i), "objective": float(i), "parent_ids": [0]}
        )
        calls.append({"program_id": i, "prompt": prompt(code(0), f"L{i}"), "response": f"R{i}"})
    return CampaignData.from_records(programs, calls)


def test_sft_balances_top_and_spread_down_to_the_worst():
    ds = build_sft(_ladder(10), max_examples=4, top_fraction=0.5)
    assert [m["fitness"] for m in ds.meta] == [10.0, 9.0, 8.0, 1.0]
    ds = build_sft(_ladder(10), max_examples=5, top_fraction=0.4)
    assert [m["fitness"] for m in ds.meta] == [10.0, 9.0, 8.0, 4.0, 1.0]


def test_sft_near_duplicates_by_similarity():
    # 40 identical lines, only the return value differs: > 0.95 similar.
    assert len(build_sft(_ladder(5, near=True))) == 1
    assert len(build_sft(_ladder(5, near=True), dedup_threshold=1.0)) == 5


def test_near_duplicates_ignores_formatting_but_not_logic():
    nd = NearDuplicates(threshold=1.0)
    nd.add("def f(x):\n    return x + 1\n")
    assert nd.seen("def f(x):  # comment\n\n    return (x+1)\n")
    assert not nd.seen("def f(x):\n    return x + 2\n")


def test_similarity_matches_difflib_on_local_edits():
    import difflib

    from evolve.finetune.data import similarity

    a = "def f(x):\n" + "".join(f"    y{i} = x * {i}\n" for i in range(30)) + "    return y1\n"
    b = a.replace("y7 = x * 7", "y7 = x * 70").replace("return y1", "return y2 + 1")
    exact = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    assert abs(similarity(a, b) - exact) < 0.01 and 0.95 < exact < 1.0
    assert similarity(a, a) == 1.0 and similarity("", "") == 1.0
    assert similarity("x = 1\n", "completely different\n") < 0.5


def test_spread_order_covers_both_ends():
    assert spread_order(8, 2) == [0, 7, 1, 2, 3, 4, 5, 6]
    assert spread_order(5, 1) == [4, 0, 1, 2, 3]
    assert spread_order(3, 10) == [0, 1, 2]
    assert spread_order(0, 3) == []


# --- hindsight --------------------------------------------------------------------------


def test_relabel_rewrites_every_target_line_and_keeps_names():
    msgs = [{"role": "user", "content": "Target: excess % = 3.1\nmore\nTarget: excess % = 2"}]
    out = relabel(msgs, 1.23456789, "ignored")
    assert out[0]["content"] == "Target: excess % = 1.23457\nmore\nTarget: excess % = 1.23457"
    assert msgs[0]["content"].startswith("Target: excess % = 3.1")  # input not mutated
    assert find_target(out) == ("excess %", "1.23457")


def test_objective_name_comes_from_the_prompt():
    from evolve.finetune.hindsight import objective_name_of

    assert objective_name_of([{"role": "user", "content": "x\nTarget: excess = 3"}]) == "excess"
    assert objective_name_of([{"role": "system", "content": "The score is `excess`: lower is better."}]) == "excess"
    assert objective_name_of([{"role": "user", "content": "nothing"}], default="value") == "value"
    out = relabel(
        [{"role": "system", "content": "The score is `excess`: lower"}, {"role": "user", "content": "go"}],
        5.0,
        objective_name_of([{"role": "system", "content": "The score is `excess`: lower"}]),
    )
    assert out[1]["content"] == "go\n\nTarget: excess = 5"


def test_relabel_adds_user_turn_when_there_is_none():
    out = relabel([{"role": "system", "content": "sys"}], 2.0, "value")
    assert out[-1] == {"role": "user", "content": "Target: value = 2"}


# --- DPO --------------------------------------------------------------------------------


def test_dpo_pairs_only_siblings_of_the_same_prompt(campaign):
    ds = build_dpo(campaign)
    pairs = [(m["chosen_id"], m["rejected_id"], m["kind"]) for m in ds.meta]
    assert pairs == [
        # prompt A: better half [2] vs worse half [4]; then every passing vs every failing
        # (5 error, 6 rejected); 7 (duplicate) is neither.
        (2, 4, "ranked"),
        (2, 5, "failed"),
        (2, 6, "failed"),
        (3, 5, "failed"),
        (3, 6, "failed"),
        (4, 5, "failed"),
        (4, 6, "failed"),
        # prompt C: 9 vs timeout 10. Prompt B and D have one child each: no pairs.
        (9, 10, "failed"),
    ]
    first = ds.records[0]
    assert first["prompt"] == prompt(code(1), "A")
    assert first["chosen"] == [{"role": "assistant", "content": "RESPONSE 2"}]
    assert first["rejected"] == [{"role": "assistant", "content": "RESPONSE 4"}]


def test_dpo_same_text_with_different_parents_is_not_a_sibling():
    programs, calls = make_campaign()
    # Child 9 gets prompt A's text but parent 2: it must not pair with prompt A's children.
    for c in calls:
        if c["program_id"] == 9:
            c["prompt"] = prompt(code(1), "A")
    for p in programs:
        if p["id"] == 9:
            p["parent_ids"] = [2]
    pairs = [(m["chosen_id"], m["rejected_id"]) for m in build_dpo(CampaignData.from_records(programs, calls)).meta]
    assert all(9 not in pair for pair in pairs)


def test_dpo_caps_pairs_per_prompt_and_skips_identical_responses(campaign):
    ds = build_dpo(campaign, max_pairs_per_prompt=2)
    assert [(m["chosen_id"], m["rejected_id"]) for m in ds.meta] == [(2, 4), (2, 5), (9, 10)]
    programs, calls = make_campaign()
    for c in calls:
        if c["program_id"] == 4:
            c["response"] = "RESPONSE 2"
    pairs = [(m["chosen_id"], m["rejected_id"]) for m in build_dpo(CampaignData.from_records(programs, calls)).meta]
    assert (2, 4) not in pairs


def test_dpo_min_margin(campaign):
    ds = build_dpo(campaign, min_margin=5.0)
    assert all(m["kind"] == "failed" for m in ds.meta)


# --- GRPO -------------------------------------------------------------------------------


def test_grpo_prompts_carry_their_scored_parent(campaign):
    ds = build_grpo(campaign)
    assert [m["parent_id"] for m in ds.meta] == [2, 1, 1, 1]  # best parent first, distinct prompts
    assert ds.records[0] == {"prompt": prompt(code(2), "B"), "parent_code": code(2), "parent_fitness": 3.0}
    assert len(build_grpo(campaign, max_prompts=2)) == 2


# --- size, dump, dispatch -----------------------------------------------------------------


def test_too_small_dataset_is_a_clear_error(campaign):
    ds = build_sft(campaign)
    with pytest.raises(DatasetTooSmall, match="4 examples, fewer than the minimum 8"):
        ds.require(8)
    assert ds.require(4) is ds
    with pytest.raises(FinetuneError, match="0 examples"):
        build_dpo(CampaignData.from_records([], [])).require(1)


def test_dump_and_load_roundtrip(campaign, tmp_path):
    ds = build_dpo(campaign)
    path = ds.dump(tmp_path / "sub" / "dpo.jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == len(ds) == 8
    row = json.loads(lines[0])
    assert set(row) == {"prompt", "chosen", "rejected", "meta"}
    back = FinetuneDataset.load(path, "dpo")
    assert back.records == ds.records and back.meta == ds.meta


def test_build_dataset_dispatch(campaign):
    assert build_dataset("sft", campaign, max_examples=1).records == build_sft(campaign, max_examples=1).records
    with pytest.raises(FinetuneError, match="choose one of sft, dpo, grpo"):
        build_dataset("ppo", campaign)
