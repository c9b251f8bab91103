"""Offline campaign throughput on bin packing, and the process sandbox's overhead.

    python -m benchmarks.offline_loop [--budget 40] [--workers 2]

Prints JSON: evaluations per second of the GP campaign loop on bin packing (OR3, the
default case set, and or3_small), the per-evaluation overhead of the process sandbox on a
trivial program against a bare `python -c` of the same program (p50/p95, same run), and the
per-item cost of the interactive bin packing protocol.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

import evolve
from evolve.problems.contract import default_drive
from evolve.sandbox.base import EvalJob
from evolve.sandbox.process import ProcessSandbox

TRIVIAL = "def main():\n    return 1\n"
HARNESS = "def run(program, case):\n    return program.main()\n"


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def sandbox_overhead(n: int) -> dict:
    sb = ProcessSandbox()
    job = EvalJob(code=TRIVIAL, harness=HARNESS, cases=[None], drive=default_drive, time_limit=5)
    bare, boxed = [], []
    for _ in range(n):  # interleaved so load drifts hit both alike
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", TRIVIAL + "main()"], check=True)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert sb.evaluate(job).status == "ok"
        boxed.append(time.perf_counter() - t)
    return {
        "isolation": sb.describe(),
        "n": n,
        "bare_python_c_s": {"p50": pct(bare, 0.5), "p95": pct(bare, 0.95)},
        "process_sandbox_s": {"p50": pct(boxed, 0.5), "p95": pct(boxed, 0.95)},
        "ratio_p50": pct(boxed, 0.5) / pct(bare, 0.5),
    }


def campaign_rate(case_set: str, budget: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        c = evolve.create_campaign(
            "bin_packing",
            storage=f"sqlite:///{d}/b.db",
            name="bench",
            budget=budget,
            workers=workers,
            case_set=case_set,
            sandbox="process",
        )
        t = time.perf_counter()
        stats = c.run()
        wall = time.perf_counter() - t
        evals = [p.eval_time for p in c.archive.programs(c.info.id) if p.seq is not None and p.eval_time]
        return {
            "case_set": case_set,
            "budget": budget,
            "workers": workers,
            "wall_s": wall,
            "evaluations_per_s": stats.evaluations / wall,
            "eval_time_p50_s": statistics.median(evals),
            "best_excess": stats.best,
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overhead-n", type=int, default=30)
    a = ap.parse_args()
    out = {
        "sandbox_overhead": sandbox_overhead(a.overhead_n),
        "campaign": [campaign_rate(cs, a.budget, a.workers) for cs in ("or3", "or3_small")],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
