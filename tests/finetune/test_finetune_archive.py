"""The builders read a real archive.Archive (SQLite) exactly like the hand-made records."""

from __future__ import annotations

from evolve.archive import Archive
from evolve.archive.new_program import NewProgram
from evolve.finetune import build_dpo, build_grpo, build_sft, load_campaign
from evolve.finetune.records import CampaignData
from evolve.operators.base import LLMCall
from tests.finetune.finetune_campaign import make_campaign


def store(url: str) -> dict[int, int]:
    """Write the hand-made campaign into an archive; returns hand-made id -> stored id."""
    programs, calls = make_campaign()
    ids: dict[int, int] = {}
    with Archive(url) as arc:
        c = arc.create_campaign("demo", "const", {})
        for p in programs:
            mine = [
                LLMCall(model=k["model"], prompt=k["prompt"], response=k["response"], purpose=k["purpose"])
                for k in calls
                if k["program_id"] == p["id"] and k["purpose"] == "propose"
            ]
            rec = arc.add_program(
                c.id,
                NewProgram(
                    code=p["code"],
                    island=0,
                    status=p["status"],
                    seq=p["seq"],
                    parent_ids=[ids[q] for q in p["parent_ids"]],
                    fitness=p["fitness"],
                    objective=p["objective"],
                    model=p["model"],
                    operator=p["operator"],
                    llm_calls=mine,
                ),
            )
            ids[p["id"]] = rec.id
        reflect = [k for k in calls if k["purpose"] == "reflect"]
        arc.add_llm_calls(
            c.id,
            [LLMCall(model=k["model"], prompt=k["prompt"], response=k["response"], purpose="reflect") for k in reflect],
            program_id=ids[2],
        )
    return ids


def test_same_datasets_from_the_sql_archive(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    ids = store(url)
    back = {v: k for k, v in ids.items()}
    from_db = load_campaign(url, "demo")  # a URL works as well as an Archive
    by_hand = CampaignData.from_records(*make_campaign())

    for build in (build_sft, build_dpo, build_grpo):
        a, b = build(from_db), build(by_hand)
        assert a.records == b.records
        assert len(a) > 0
    pairs = [(back[m["chosen_id"]], back[m["rejected_id"]]) for m in build_dpo(from_db).meta]
    assert pairs == [(m["chosen_id"], m["rejected_id"]) for m in build_dpo(by_hand).meta]
    with Archive(url) as arc:
        assert [back[m["program_id"]] for m in build_sft(load_campaign(arc, "demo")).meta] == [8, 2, 9, 3]
