"""`evolve finetune` from the command line on a real campaign's archive, all three
methods, and the result used as the operator of a next campaign."""

import json

import pytest

import evolve
from tests.e2e.conftest import QUADRATIC, evolve_cli
from tests.llm_servers import ScriptedLLMServer
from tests.operators.llm.test_llm_campaign import toward_three


@pytest.mark.slow
def test_finetune_cli_all_methods_then_search_with_the_result(tmp_path, monkeypatch):
    from tests.tiny_model import cached_tiny_model

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    db = f"sqlite:///{tmp_path}/f.db"
    with ScriptedLLMServer(toward_three) as server:
        c = evolve.create_campaign(
            QUADRATIC,
            storage=db,
            name="src",
            budget=30,
            islands=2,
            sandbox="process",
            llm={"models": [{"spec": "openai:test-model", "base_url": server.openai_url}], "concurrency": 4},
        )
        c.run()
    base = cached_tiny_model()
    merged = {}
    for method in ("sft", "dpo", "grpo"):
        out = tmp_path / method
        proc = evolve_cli(
            "finetune",
            "src",
            "--storage",
            db,
            "--method",
            method,
            "--base",
            str(base),
            "--out",
            str(out),
            "--max-steps",
            "1",
            "--min-examples",
            "1",
            "--dump-dataset",
            str(tmp_path / f"{method}.jsonl"),
            *(["--num-generations", "2", "--max-completion-length", "32"] if method == "grpo" else []),
            cwd=tmp_path,
            timeout=600,
        )
        assert (out / "merged" / "config.json").exists(), proc.stdout
        rows = (tmp_path / f"{method}.jsonl").read_text().splitlines()
        assert rows and all(json.loads(r) for r in rows)
        merged[method] = out / "merged"

    # the fine-tuned model is the operator of the next campaign
    evolve_cli(
        "run",
        QUADRATIC,
        "--storage",
        db,
        "--name",
        "next",
        "--model",
        f"hf:{merged['sft']}",
        "--budget",
        "4",
        "--max-proposals",
        "4",
        "--no-progress",
        "--sandbox",
        "process",
        cwd=tmp_path,
        check=False,
        timeout=600,
    )
    nxt = evolve.load_campaign("next", db)
    children = [p for p in nxt.archive.programs(nxt.info.id) if p.seq is not None]
    assert children and {p.model for p in children} == {f"hf:{merged['sft']}"}
    assert all(nxt.archive.llm_calls(program_id=p.id) for p in children)
