"""How fast does the GP operator beat best fit on online bin packing (OR3)?

A mini campaign in one process, without the sandbox: islands, tournament selection,
some crossover, and the FunSearch packing loop run on exec'd candidate code. Prints one
JSON object per seed and a summary. Scratch tooling for tuning the operator; the real
engine evaluates candidates in the sandbox.

    nice -n 10 python -m benchmarks.gp_experiment --seeds 5 --budget 300
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from evolve.operators.base import Parent, ProblemBrief, ProposalRequest
from evolve.operators.gp import GPOperator
from evolve.operators.gp.source import normalise

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("/work/shared/data/binpacking_or3_weibull5k.json")
if not DATA.exists():
    DATA = ROOT / "problems" / "bin_packing" / "binpacking_or3_weibull5k.json"
SEED_PROGRAM = (ROOT / "problems" / "bin_packing" / "initial_program.py").read_text()
BEST_FIT = 5.367793240556666  # best fit on all 20 OR3 instances


def description() -> str:
    """The built-in problem's description (the GP takes constant hints from it)."""
    from evolve.problems.bin_packing.problem import DESCRIPTION

    return DESCRIPTION


def load_instances(group: str = "OR3") -> list[dict]:
    data = json.loads(DATA.read_text())[group]
    return [data[k] for k in sorted(data)]


def excess(code: str, instances: list[dict], time_limit: float = 5.0) -> float | None:
    """FunSearch's online packing with ``priority`` from ``code``: % bins over the L1
    bound (ratio of the means), or None when the candidate fails."""
    space: dict = {}
    start = time.perf_counter()
    try:
        exec(compile(code, "<candidate>", "exec"), space)
        priority = space["priority"]
        used, bound = [], []
        with np.errstate(all="ignore"):
            for inst in instances:
                cap, items = inst["capacity"], inst["items"]
                bins = np.array([cap] * len(items))
                for item in items:
                    valid = np.nonzero((bins - item) >= 0)[0]
                    bins[valid[np.argmax(priority(item, bins[valid]))]] -= item
                if time.perf_counter() - start > time_limit:
                    return None
                used.append(int((bins != cap).sum()))
                bound.append(math.ceil(sum(items) / cap))
    except Exception:
        return None
    return 100.0 * (np.mean(used) - np.mean(bound)) / np.mean(bound)


def campaign(
    seed: int,
    budget: int,
    instances: list[dict],
    islands: int = 4,
    crossover: float = 0.2,
    tournament: int = 3,
    island_size: int = 12,
    operator: GPOperator | None = None,
    describe: bool = True,
    parsimony: bool = True,
) -> dict:
    """Evolve from best fit; returns the best program and when best fit was first beaten."""
    op = operator or GPOperator()
    rng = random.Random(seed)
    brief = ProblemBrief("bin_packing", description() if describe else "", SEED_PROGRAM, "excess", "min", "priority")
    seed_score = excess(SEED_PROGRAM, instances)
    programs = [Parent(0, SEED_PROGRAM, seed_score)]
    pops = [[programs[0]] for _ in range(islands)]
    seen = {normalise(SEED_PROGRAM): seed_score}
    evals, proposals, first_beat, failed = 0, 0, None, 0
    baseline = seed_score
    kinds: dict[str, list[int]] = {}

    def rank(p: Parent) -> tuple:
        # Among equals prefer the shorter program (parsimony), then the newer (drift).
        return (p.objective, len(normalise(p.code)) if parsimony else 0, -p.id)

    while evals < budget and proposals < 3 * budget:
        island = proposals % islands
        pop = pops[island]

        def pick(pop: list[Parent] = pop) -> Parent:
            entrants = rng.sample(pop, min(tournament, len(pop)))
            return min(entrants, key=rank)

        parents = [pick()]
        if len(pop) > 1 and rng.random() < crossover:
            parents.append(pick())
        proposal = op.propose_now(
            ProposalRequest(brief, parents, island=island, seq=proposals, seed=seed * 100_003 + proposals)
        )
        proposals += 1
        if proposal.code is None:
            continue
        key = normalise(proposal.code)
        if key in seen:
            continue
        score = excess(proposal.code, instances)
        evals += 1
        seen[key] = score
        stats = kinds.setdefault(proposal.operator.split("+")[0], [0, 0, 0])
        stats[0] += 1
        if score is None:
            failed += 1
            stats[1] += 1
            continue
        if score < parents[0].objective - 1e-9:
            stats[2] += 1
        child = Parent(len(programs), proposal.code, score, thought=proposal.thought)
        programs.append(child)
        pop.append(child)
        if len(pop) > island_size:  # keep the island's best (newest among equals)
            pop.sort(key=rank)
            del pop[island_size:]
        if first_beat is None and score < baseline - 1e-9:
            first_beat = evals
    best = min(programs, key=lambda p: (p.objective, p.id))
    return {
        "seed": seed,
        "evaluations": evals,
        "proposals": proposals,
        "failed": failed,
        "best": best.objective,
        "first_beat_best_fit": first_beat,
        "best_code": best.code,
        "operators": kinds,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--instances", type=int, default=20, help="OR3 instances used during evolution")
    ap.add_argument("--islands", type=int, default=4)
    ap.add_argument("--crossover", type=float, default=0.2)
    ap.add_argument("--tournament", type=int, default=3)
    ap.add_argument("--island-size", type=int, default=12)
    ap.add_argument("--show-code", action="store_true")
    ap.add_argument("--no-description", action="store_true", help="hide the problem text (no constant hints)")
    ap.add_argument("--no-parsimony", action="store_true", help="break ties by age only, not by length")
    args = ap.parse_args(argv)
    full = load_instances()
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t0 = time.perf_counter()
        out = campaign(
            seed,
            args.budget,
            full[: args.instances],
            args.islands,
            args.crossover,
            args.tournament,
            args.island_size,
            describe=not args.no_description,
            parsimony=not args.no_parsimony,
        )
        out["best_all20"] = excess(out["best_code"], full)
        out["seconds"] = round(time.perf_counter() - t0, 1)
        code = out.pop("best_code")
        if args.show_code:
            out["best_block"] = code.split("# EVOLVE-BLOCK-START\n")[-1].split("# EVOLVE-BLOCK-END")[0]
        runs.append(out)
        print(json.dumps(out), flush=True)
    beats = [r for r in runs if r["best_all20"] is not None and r["best_all20"] < BEST_FIT - 1e-9]
    print(
        json.dumps(
            {
                "summary": True,
                "budget": args.budget,
                "seeds": len(runs),
                "beat_best_fit": len(beats),
                "best_all20": [round(r["best_all20"], 3) for r in runs],
                "first_beat": [r["first_beat_best_fit"] for r in runs],
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
