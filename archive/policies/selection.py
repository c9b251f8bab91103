"""The built-in selection policies (registered by name in ``evolve.archive.selection``).

``tournament`` (option ``size`` = 4)
    Per parent: draw ``min(size, available)`` distinct contestants uniformly among the
    programs not chosen yet, keep the fittest (ties: lowest id). The worst program of
    the island can never win against anyone, so it is never returned while there is a
    better one left.
``fitness_proportional`` (options ``pool`` = 256, ``pressure`` = 1.5)
    Rank-based, so it is blind to the scale and sign of the objective and to outliers:
    linear ranking (Baker 1985) over the island's ``pool`` fittest programs, the best
    weighted ``pressure``, the last ``2 - pressure``, linearly in between; programs with
    equal fitness share the mean of their weights. Beyond the pool weights are zero.
``dgm`` (options ``pool`` = 256, ``top_m`` = 10, ``lam`` = 10, ``scale`` = auto)
    Darwin-Gödel Machine: weight = sigmoid(lam * (fitness - mid) / scale) / (1 +
    n_children), ``mid`` = median fitness of the top ``top_m``, ``scale`` = fitness
    range of the pool (1 when flat), which makes DGM's lam = 10 (fitness in [0, 1])
    mean the same on any objective.
``novelty`` (options ``pool`` = 256, ``k_nn`` = 10, ``keys`` = all shared)
    Among the pool's fittest programs, weight = novelty of the program's descriptor:
    mean distance to its ``k_nn`` nearest visible programs of the whole island, through
    an in-process vector index kept in sync with the stored rows
    (``evolve.archive.policies.novelty_index``; programs without a descriptor use the
    built-in code descriptors): diverse elites get picked.
``funsearch`` (options ``pool`` = 2048, ``t_init`` = 0.1, ``period`` = 30000, ``signature``)
    FunSearch signature clusters with Boltzmann sampling and short programs preferred,
    among the ``pool`` best clusters, kept incrementally per island
    (``evolve.archive.policies.clusters``).
``map_elites`` (options: the grid, ``dims`` / ``cvt_cells``)
    Every stored ok program is offered to its cell once later proposals may see it;
    parents are elites of cells chosen uniformly (``evolve.archive.policies.map_elites``).
``uniform``
    Every visible program equally likely.
``best``
    The ``k`` fittest (no randomness).

Weighted picks of several parents are sequential draws without replacement.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evolve.archive.policies.clusters import case_signature, temperature
from evolve.archive.policies.map_elites import GridConfig, MapElites, make_grid
from evolve.archive.records import ProgramRecord
from evolve.archive.sampling import dgm_weights, linear_rank_weights, weighted_without_replacement
from evolve.archive.selection import IslandView, SelectionPolicy


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Best(SelectionPolicy):
    """The k fittest, no randomness."""

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        return [c.id for c in island.top(k)]


class Uniform(SelectionPolicy):
    """Every visible program equally likely."""

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        return [c.id for c in island.draw(rng, k, set())]


class Tournament(SelectionPolicy):
    """The best of ``size`` uniform contestants, per parent."""

    class Options(_Options):
        size: int = Field(4, ge=1, description="contestants per tournament")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        chosen: list[int] = []
        for _ in range(k):
            contestants = island.draw(rng, self.options.size, set(chosen))
            if not contestants:
                break
            chosen.append(max(contestants, key=lambda c: (c.fitness, -c.id)).id)
        return chosen


class FitnessProportional(SelectionPolicy):
    """Linear ranking over the island's fittest programs (blind to the objective's scale)."""

    class Options(_Options):
        pool: int = Field(256, ge=1, description="how many of the fittest programs can be chosen")
        pressure: float = Field(1.5, ge=1.0, le=2.0, description="weight of the best; the last gets 2 - pressure")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        pool = island.top(self.options.pool)
        weights = linear_rank_weights([c.fitness for c in pool], self.options.pressure)
        return [c.id for c in weighted_without_replacement(rng, pool, weights, k)]


class DGM(SelectionPolicy):
    """Darwin-Gödel Machine parent choice: fit programs with few children first."""

    class Options(_Options):
        pool: int = Field(256, ge=1)
        top_m: int = Field(10, ge=1, description="the midpoint is the median fitness of the top_m")
        lam: float = Field(10.0, gt=0, description="sigmoid steepness (DGM's lambda)")
        scale: float | None = Field(None, gt=0, description="fitness scale (default: the pool's range)")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        o = self.options
        pool = island.top(o.pool)
        if not pool:
            return []
        weights = dgm_weights(pool, o.top_m, o.lam, o.scale)
        return [c.id for c in weighted_without_replacement(rng, pool, weights, k)]


class Novelty(SelectionPolicy):
    """Diverse elites: weight = kNN novelty of the descriptor among the fittest."""

    class Options(_Options):
        pool: int = Field(256, ge=1)
        k_nn: int = Field(10, ge=1, description="neighbours the novelty averages over")
        keys: list[str] | None = Field(None, description="descriptor keys (default: those all programs share)")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        pool = island.top(self.options.pool)
        if not pool:
            return []
        weights = island.novelty([c.id for c in pool], self.options.k_nn, self.options.keys)
        return [c.id for c in weighted_without_replacement(rng, pool, weights, k)]


class FunSearch(SelectionPolicy):
    """FunSearch: a signature cluster by Boltzmann sampling, then shorter code first."""

    class Options(_Options):
        model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
        pool: int = Field(2048, ge=1)
        t_init: float = Field(0.1, gt=0, description="initial temperature")
        period: int = Field(30_000, ge=1, description="island size after which the temperature restarts")
        signature: Callable[[Mapping[str, Any], float], tuple] | None = Field(
            None, exclude=True, description="metrics, fitness -> cluster key (Python only; default: per-case scores)"
        )

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        o = self.options
        t = temperature(island.size(), o.t_init, o.period)
        with island.clusters(o.signature or case_signature) as clusters:
            return clusters.choose(k, rng, island.max_born_at, o.pool, t)


class MapElitesPolicy(SelectionPolicy):
    """MAP-Elites: elites of uniformly chosen filled cells of a behaviour grid.

    Each stored ok program is offered to its cell lazily, in proposal order, once the
    proposal being served may see it, so the grid a proposal sees does not depend on
    which evaluation happened to finish first."""

    Options = GridConfig

    def __init__(self, options: GridConfig | None = None, name: str = "default"):
        self.options = options or GridConfig()
        self.grid = make_grid(self.options)
        self.name = name
        self._pending: list[ProgramRecord] = []  # observed ok programs not yet offered

    def observe(self, program: ProgramRecord) -> None:
        if program.status == "ok":
            self._pending.append(program)

    def select(self, island: IslandView, k: int, rng: random.Random) -> list[int]:
        cells = MapElites(island.store, self.grid, self.name)
        horizon = island.max_born_at
        ready = [p for p in self._pending if horizon is None or p.born_at <= horizon]
        if ready:
            self._pending = [p for p in self._pending if horizon is not None and p.born_at > horizon]
            for program in sorted(ready, key=lambda p: (p.born_at, p.id)):
                cells.offer(program)
        ids = island.store.elite_ids(self.name, island.island, horizon)
        return rng.sample(ids, min(k, len(ids)))
