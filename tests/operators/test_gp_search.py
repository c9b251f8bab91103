"""The GP operator's bar: a small campaign beats best fit on online bin packing.

Runs in process (exec, no sandbox) on the first OR3 instances: islands, tournament
selection, some crossover, FunSearch's packing loop. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from evolve.operators.base import Parent, ProblemBrief, ProposalRequest
from evolve.operators.gp import GPOperator
from evolve.operators.gp.source import normalise

DATA = Path(__file__).resolve().parents[2] / "problems" / "bin_packing" / "binpacking_or3_weibull5k.json"

SEED = '''\
import numpy as np


# EVOLVE-BLOCK-START
def priority(item: float, bins: np.ndarray) -> np.ndarray:
    """Returns priority with which we want to add item to each bin."""
    return -(bins - item)
# EVOLVE-BLOCK-END
'''


def excess(code: str, instances: list[dict]) -> float | None:
    """% bins above the L1 bound (ratio of means), or None when the candidate fails."""
    space: dict = {}
    try:
        exec(compile(code, "<candidate>", "exec"), space)
        used, bound = [], []
        with np.errstate(all="ignore"):
            for inst in instances:
                cap, items = inst["capacity"], inst["items"]
                bins = np.array([cap] * len(items))
                for item in items:
                    valid = np.nonzero((bins - item) >= 0)[0]
                    bins[valid[np.argmax(space["priority"](item, bins[valid]))]] -= item
                used.append(int((bins != cap).sum()))
                bound.append(math.ceil(sum(items) / cap))
    except Exception:
        return None
    return 100.0 * (np.mean(used) - np.mean(bound)) / np.mean(bound)


def campaign(seed: int, budget: int, instances: list[dict]) -> tuple[float, int | None]:
    """(best excess, evaluations until best fit was first beaten)."""
    op, rng = GPOperator(), random.Random(seed)
    brief = ProblemBrief("bin_packing", "", SEED, "excess", "min", "priority")
    baseline = excess(SEED, instances)
    islands = [[Parent(0, SEED, baseline)] for _ in range(4)]
    seen, best, first, evals, n = {normalise(SEED)}, baseline, None, 0, 0
    rank = lambda p: (p.objective, len(p.code), -p.id)  # noqa: E731  ties: shorter, then newer
    while evals < budget and n < 2 * budget:
        pop = islands[n % 4]
        pick = lambda: min(rng.sample(pop, min(3, len(pop))), key=rank)  # noqa: E731
        parents = [pick(), pick()] if len(pop) > 1 and rng.random() < 0.2 else [pick()]
        out = op.propose_now(ProposalRequest(brief, parents, seq=n, seed=seed * 100_003 + n))
        n += 1
        if out.code is None or normalise(out.code) in seen:
            continue
        seen.add(normalise(out.code))
        evals += 1
        score = excess(out.code, instances)
        if score is None:
            continue
        pop.append(Parent(n, out.code, score))
        pop.sort(key=rank)
        del pop[12:]
        if score < best:
            best = score
            first = first or evals
    return best, first


@pytest.mark.slow
def test_gp_campaigns_beat_best_fit_on_or3():
    data = json.loads(DATA.read_text())["OR3"]
    instances = [data[k] for k in sorted(data)][:5]
    best_fit = excess(SEED, instances)
    assert best_fit == pytest.approx(5.7369, abs=1e-3)  # best fit on these 5 instances
    results = [campaign(seed, 300, instances) for seed in range(4)]
    beaten = [best for best, first in results if first is not None and best < best_fit - 1e-9]
    # Most short campaigns must beat best fit (no problem text, so no constant hints),
    # and the best of them by a clear margin (a bin per instance is 0.5 %).
    assert len(beaten) >= 3, results
    assert min(beaten) < best_fit - 0.5, results
