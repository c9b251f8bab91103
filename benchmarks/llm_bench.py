"""Campaign throughput with an LLM operator: completed proposals per second against C/L.

    python -m benchmarks.llm_bench                         # C = 32 and 256, archive 0 and 100k
    python -m benchmarks.llm_bench --concurrency 32 --sizes 0 --evaluator sandbox

A scripted OpenAI-compatible server on 127.0.0.1 answers every call after a fixed
latency L (1 s) with a SEARCH/REPLACE diff that makes a new, distinct child, and the
real campaign loop (evolve.campaign) runs with ``llm.concurrency = C`` through the real
openai SDK. The ideal is C/L proposals per second. Each run uses a fresh SQLite archive,
optionally pre-filled with N programs (``add_programs_bulk``) so parent sampling and
dedup run against a big archive.

``--evaluator stub`` (default) scores a child in-process from its code, so the figure
measures the loop, the operator and the archive; ``sandbox`` runs every child in the
process sandbox (then evaluation workers usually bound the rate). Besides the rate,
the JSON shows where the loop thread spends its time (archive reads and writes run
synchronously on the event loop) and how late the event loop wakes up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import platform
import re
import statistics
import tempfile
import time

import evolve
from evolve import campaign as campaign_module
from evolve.archive.new_program import NewProgram
from evolve.evaluate import Evaluator, Outcome
from evolve.problems.contract import Problem
from tests.llm_servers import ScriptedLLMServer

SEED_PROGRAM = "# EVOLVE-BLOCK-START\nK = 0\n# EVOLVE-BLOCK-END\n\n\ndef main():\n    return K\n"
HARNESS = "def run(program, case):\n    return program.main()\n"
_K = re.compile(r"^K = (-?\d+)$", re.MULTILINE)


def trivial_problem() -> Problem:
    return Problem(
        name="bench_trivial",
        description="Return a number; larger is better.",
        initial_program=SEED_PROGRAM,
        harness=HARNESS,
        cases=[0],
        score=lambda outputs, cases: {"score": float(outputs[0])},
        objective="score",
        direction="max",
        time_limit=5.0,
    )


def script(req) -> str:
    """A diff turning the current program's K into a number no other call uses."""
    prompt = req.messages[-1]["content"]
    current = prompt[prompt.rfind("# Current program") :]
    old = _K.search(current).group(1)
    return f"THOUGHT: try K={req.call + 1}\n<<<<<<< SEARCH\nK = {old}\n=======\nK = {req.call + 1}\n>>>>>>> REPLACE\n"


def stub_evaluate(self, code: str) -> Outcome:
    value = float(_K.search(code).group(1))
    return Outcome("ok", metrics={"score": value}, objective=value, fitness=value, eval_time=0.0)


class Timers:
    """Wall time of the archive calls the loop makes on its event-loop thread."""

    NAMES = (
        "add_program",
        "sample_parents",
        "elites",
        "best",
        "get_island_state",
        "set_island_state",
        "find_by_hash",
        "done_seqs",
    )

    def __init__(self) -> None:
        self.total: dict[str, float] = {n: 0.0 for n in self.NAMES}
        self.calls: dict[str, int] = {n: 0 for n in self.NAMES}

    def wrap(self, archive) -> None:
        for name in self.NAMES:
            fn = getattr(archive, name)

            def timed(*a, _fn=fn, _name=name, **kw):
                t = time.perf_counter()
                try:
                    return _fn(*a, **kw)
                finally:
                    self.total[_name] += time.perf_counter() - t
                    self.calls[_name] += 1

            setattr(archive, name, timed)


def prefill(campaign, size: int, islands: int) -> float:
    if size <= 0:
        return 0.0
    started = time.perf_counter()
    rows = (
        NewProgram(
            code=f"# EVOLVE-BLOCK-START\nK = {-i - 1}\n# EVOLVE-BLOCK-END\n\n\ndef main():\n    return K\n",
            island=i % islands,
            status="ok",
            objective=-float(i + 1),
            fitness=-float(i + 1),
            metrics={"score": -float(i + 1)},
            born_at=-(10**9),
            operator="prefill",
        )
        for i in range(size)
    )
    campaign.archive.add_programs_bulk(campaign.info.id, rows)
    return time.perf_counter() - started


async def loop_lag(stop: asyncio.Event, samples: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.05)
        samples.append(time.perf_counter() - t - 0.05)


class ServerProcess:
    """The scripted server in its own process (forked), so its work does not share this
    process's GIL with the loop being measured."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def __enter__(self) -> ServerProcess:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(self.latency, child), daemon=True)
        self.proc.start()
        self.openai_url = parent.recv()
        self.pipe = parent
        return self

    def stats(self) -> dict:
        self.pipe.send("stats")
        return self.pipe.recv()

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.join(5)


def _serve(latency: float, pipe) -> None:
    with ScriptedLLMServer(script, latency=latency, models=["bench"]) as server:
        pipe.send(server.openai_url)
        while pipe.recv() == "stats":
            first = next((r.at for r in server.requests if r.method == "POST"), None)
            pipe.send({"max_in_flight": server.max_in_flight, "completions": server.completions, "first": first})


def operator_only(concurrency: int, latency: float, rounds: int) -> dict:
    """The operator's own ceiling: C proposals in flight, no campaign, no archive."""
    from evolve.operators.base import Parent, ProblemBrief, ProposalRequest
    from evolve.operators.llm import LLMConfig, build_operator

    p = trivial_problem()
    brief = ProblemBrief(p.name, p.description, p.initial_program, p.objective, p.direction, p.entry_point)
    with ServerProcess(latency) as server:
        os.environ["OPENAI_API_KEY"] = "sk-bench"
        op = build_operator(
            LLMConfig(
                models=[{"spec": "openai:bench", "base_url": server.openai_url, "timeout": 60, "max_retries": 0}],
                concurrency=concurrency,
                mix={"diff": 1.0},
            )
        )
        n = concurrency * rounds

        async def go():
            await op.start()
            gate = asyncio.Semaphore(concurrency)
            parents = [Parent(id=0, code=p.initial_program, objective=0.0)]

            async def one(i):
                async with gate:
                    return await op.propose(ProposalRequest(brief, parents, seq=i, seed=i))

            t = time.perf_counter()
            out = await asyncio.gather(*(one(i) for i in range(n)))
            elapsed = time.perf_counter() - t
            await op.close()
            return out, elapsed

        cpu = time.process_time()
        out, elapsed = asyncio.run(go())
        cpu = time.process_time() - cpu
    ok = sum(pr.code is not None for pr in out)
    return {
        "mode": "operator_only",
        "concurrency": concurrency,
        "latency_s": latency,
        "proposals": n,
        "ok": ok,
        "elapsed_s": round(elapsed, 3),
        "proposals_per_s": round(n / elapsed, 2),
        "ideal_per_s": concurrency / latency,
        "efficiency": round(n / elapsed / (concurrency / latency), 3),
        "cpu_ms_per_proposal": round(1000 * cpu / n, 2),
    }


def run_one(concurrency: int, size: int, latency: float, evaluator: str, rounds: int, islands: int) -> dict:
    budget = concurrency * rounds
    with tempfile.TemporaryDirectory() as tmp, ServerProcess(latency) as server:
        os.environ["OPENAI_API_KEY"] = "sk-bench"
        llm = {
            "models": [{"spec": "openai:bench", "base_url": server.openai_url, "timeout": 60, "max_retries": 0}],
            "concurrency": concurrency,
            "mix": {"diff": 1.0},
            "reflection": False,
        }
        campaign = evolve.create_campaign(
            trivial_problem(),
            storage=f"sqlite:///{tmp}/bench.db",
            budget=budget,
            islands=islands,
            workers=min(concurrency, 32),
            crossover_rate=0.0,
            inspirations=2,
            llm=llm,
            progress=False,
            sandbox="process",
        )
        fill_s = prefill(campaign, size, islands)
        timers = Timers()
        timers.wrap(campaign.archive)
        told: list[float] = []
        lag: list[float] = []
        began: list[float] = []
        original_run = campaign_module.CampaignLoop.run

        async def run_with_lag(self, n):
            began.append(time.monotonic())
            stop = asyncio.Event()
            watcher = asyncio.create_task(loop_lag(stop, lag))
            try:
                return await original_run(self, n)
            finally:
                stop.set()
                await watcher

        saved = Evaluator.evaluate
        campaign_module.CampaignLoop.run = run_with_lag
        if evaluator == "stub":
            Evaluator.evaluate = stub_evaluate
        cpu = time.process_time()
        try:
            stats = campaign.run(on_tell=lambda record, stats: told.append(time.monotonic()))
        finally:
            campaign_module.CampaignLoop.run = original_run
            Evaluator.evaluate = saved
        cpu = time.process_time() - cpu
        served = server.stats()
        stored = [t for t in told if t >= began[0]]
        elapsed = max(stored) - began[0]
        ideal_elapsed = math.ceil(len(stored) / concurrency) * latency
        archive_s = sum(timers.total.values())
        return {
            "mode": "campaign",
            "concurrency": concurrency,
            "latency_s": latency,
            "archive_programs": size,
            "evaluator": evaluator,
            "proposals": len(stored),
            "evaluations": stats.evaluations,
            "duplicates": stats.duplicates,
            "rejected": stats.rejected,
            "elapsed_s": round(elapsed, 3),
            "proposals_per_s": round(len(stored) / elapsed, 2),
            "ideal_per_s": concurrency / latency,
            "ideal_for_this_run_per_s": round(len(stored) / ideal_elapsed, 2),
            "efficiency": round(len(stored) / elapsed / (concurrency / latency), 3),
            "server_max_in_flight": served["max_in_flight"],
            "cpu_ms_per_proposal": round(1000 * cpu / max(len(stored), 1), 2),
            "prefill_s": round(fill_s, 2),
            "loop_thread": {
                "archive_s": round(archive_s, 3),
                "archive_share_of_elapsed": round(archive_s / elapsed, 3),
                "archive_ms_per_proposal": {
                    n: round(1000 * t / max(len(stored), 1), 3) for n, t in timers.total.items() if timers.calls[n]
                },
                "event_loop_lag_ms_p50": round(1000 * statistics.median(lag), 2) if lag else None,
                "event_loop_lag_ms_max": round(1000 * max(lag), 2) if lag else None,
            },
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[32, 256])
    ap.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000], help="programs pre-inserted in the archive")
    ap.add_argument("--latency", type=float, default=1.0, help="seconds per model call (L)")
    ap.add_argument("--evaluator", choices=["stub", "sandbox"], default="stub")
    ap.add_argument("--rounds", type=int, default=4, help="budget = rounds x concurrency")
    ap.add_argument("--islands", type=int, default=4)
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    results = [operator_only(c, args.latency, args.rounds) for c in args.concurrency]
    results += [
        run_one(c, n, args.latency, args.evaluator, args.rounds, args.islands)
        for n in args.sizes
        for c in args.concurrency
    ]
    print(
        json.dumps(
            {
                "benchmark": "llm_campaign_throughput",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
