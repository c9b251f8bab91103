"""Datasets and training figures from a real campaign's archive.

    python -m benchmarks.finetune_cycle [--budget 120] [--steps 4]

Runs a real LLM campaign (the scripted OpenAI-compatible server from the tests, whose
replies are SEARCH/REPLACE diffs and rewrites moving the program's number toward the
optimum, some malformed) on the quadratic test problem through the process sandbox,
then builds the SFT, DPO and GRPO datasets from its archive and trains each method for
a few steps on a tiny locally built Qwen2-style model (CPU unless a GPU is present).
Prints JSON: campaign size, dataset sizes, seconds per training step, and the merged
model's generation speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENAI_API_KEY", "sk-bench")

import evolve
from evolve.finetune import run_finetune, sandbox_evaluator
from evolve.finetune.data import build_dataset
from evolve.finetune.records import load_campaign
from evolve.operators.llm.hf import HFClient
from tests.llm_servers import ScriptedLLMServer
from tests.operators.llm.test_llm_campaign import toward_three
from tests.tiny_model import build_tiny_model

QUADRATIC = str(Path(__file__).resolve().parents[1] / "tests" / "e2e" / "quadratic")


async def tokens_per_second(spec: str) -> float:
    client = HFClient(spec)
    await client.start()
    t = time.perf_counter()
    out = await client.complete([{"role": "user", "content": "def solve():"}], max_tokens=64, temperature=1.0, seed=0)
    await client.close()
    return out.output_tokens / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=120)
    ap.add_argument("--steps", type=int, default=4)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{tmp}/ft.db"
        with ScriptedLLMServer(toward_three) as server:
            c = evolve.create_campaign(
                QUADRATIC,
                storage=storage,
                name="ft",
                budget=a.budget,
                islands=2,
                sandbox="process",
                progress=False,
                llm={"models": [{"spec": "openai:test-model", "base_url": server.openai_url}], "concurrency": 8},
            )
            t = time.perf_counter()
            c.run()
            campaign_s = time.perf_counter() - t
        data = load_campaign(c.archive, "ft")
        sizes = {m: len(build_dataset(m, data)) for m in ("sft", "dpo", "grpo")}
        base = build_tiny_model(Path(tmp) / "base")
        training = {}
        from evolve.sandbox.process import ProcessSandbox

        with ProcessSandbox() as sb:
            for method in ("sft", "dpo", "grpo"):
                t = time.perf_counter()
                result = run_finetune(
                    c.archive,
                    "ft",
                    method,
                    base,
                    Path(tmp) / method,
                    max_steps=a.steps,
                    evaluate=sandbox_evaluator(c.problem, sb) if method == "grpo" else None,
                    **({"num_generations": 2, "max_completion_length": 32} if method == "grpo" else {}),
                )
                wall = time.perf_counter() - t
                training[method] = {
                    "examples": result.num_examples,
                    "steps": a.steps,
                    "wall_s": round(wall, 2),
                    "train_s_per_step": round(result.metrics.get("train_runtime", wall) / a.steps, 3),
                    "merged_tokens_per_s": round(asyncio.run(tokens_per_second(result.model_spec)), 1),
                }
        status = c.archive.status_counts(c.info.id)
        print(
            json.dumps(
                {
                    "campaign": {
                        "budget": a.budget,
                        "wall_s": round(campaign_s, 1),
                        "by_status": status,
                        "llm_calls": c.archive.spend(c.info.id)["calls"],
                    },
                    "datasets": sizes,
                    "training": training,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
