"""Choosing which model answers a proposal: weighted random, or a bandit on gain per cost.

The bandit follows ShinkaEvolve's idea: credit each model with the fitness improvement
its children achieve over their parents, divide by what its calls cost, and pick by UCB
so that a model which improves more per dollar is asked more while the others still
get explored. Gains are normalised by the largest gain seen, so the scale of the
objective does not matter. Models with weight 0 are never chosen.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass
class ArmStats:
    chosen: int = 0
    """Times picked (counted at choice, so concurrent in-flight proposals spread out)."""
    reports: int = 0
    gain: float = 0.0
    """Sum of positive fitness improvements (0 for failures and regressions)."""
    cost: float = 0.0
    improved: int = 0


class WeightedEnsemble:
    def __init__(self, weights: list[float]) -> None:
        self.weights = list(weights)
        self.stats = [ArmStats() for _ in weights]

    def choose(self, rng: random.Random) -> int:
        index = rng.choices(range(len(self.weights)), weights=self.weights)[0]
        self.stats[index].chosen += 1
        return index

    def update(self, index: int, gain: float, cost: float) -> None:
        s = self.stats[index]
        s.reports += 1
        s.gain += max(gain, 0.0)
        s.cost += cost
        s.improved += gain > 0


class BanditEnsemble(WeightedEnsemble):
    """UCB over (mean gain / relative mean cost)."""

    def __init__(self, weights: list[float], exploration: float = 0.5) -> None:
        super().__init__(weights)
        self.exploration = exploration
        self.max_gain = 0.0

    def update(self, index: int, gain: float, cost: float) -> None:
        super().update(index, gain, cost)
        self.max_gain = max(self.max_gain, gain)

    def values(self) -> list[float]:
        """Each model's current UCB score (inf: not yet tried)."""
        live = [i for i, w in enumerate(self.weights) if w > 0]
        mean_cost = {i: self.stats[i].cost / self.stats[i].reports for i in live if self.stats[i].reports}
        typical = sum(mean_cost.values()) / len(mean_cost) if mean_cost else 0.0
        total = sum(self.stats[i].chosen for i in live) or 1
        scale = self.max_gain or 1.0
        out = [-math.inf] * len(self.weights)
        for i in live:
            s = self.stats[i]
            if s.chosen == 0:
                out[i] = math.inf
                continue
            mean = (s.gain / s.reports / scale) if s.reports else 1.0  # optimistic until heard from
            relative = (mean_cost[i] / typical) if typical > 0 and i in mean_cost else 1.0
            value = mean / max(relative, 1e-3)
            out[i] = value + self.exploration * math.sqrt(2 * math.log(total + 1) / s.chosen)
        return out

    def choose(self, rng: random.Random) -> int:
        values = self.values()
        best = max(values)
        ties = [i for i, v in enumerate(values) if v == best]
        index = ties[0] if len(ties) == 1 else rng.choices(ties, weights=[self.weights[i] for i in ties])[0]
        self.stats[index].chosen += 1
        return index
