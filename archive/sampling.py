"""Parent sampling inside one island, in SQL-sized steps at any archive size.

Every strategy sees the island's ok programs visible at ``max_born_at`` (``born_at <=
max_born_at``; all of them when None), returns up to ``k`` distinct programs, and is
deterministic given the rng state and the archive contents (queries order by id,
randomness only comes from ``rng``). None of them reads the whole island into Python:

``uniform``
    Each ok program has a dense position on its island (``ok_pos``); a draw is one
    random integer and an index lookup. Positions that are invisible or already chosen
    are redrawn; after many misses the remaining visible programs are listed instead.
``tournament`` (option ``size``, default 4)
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
    mean the same on any objective. Candidates are the pool's fittest programs; far
    below the midpoint the sigmoid is ~0 anyway.
``best``
    The ``k`` fittest (no randomness).
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

Weighted picks of several parents are sequential draws without replacement.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.records import ProgramRecord, program_from_row

STRATEGIES = ("tournament", "fitness_proportional", "dgm", "uniform", "best", "novelty", "funsearch")
_OPTIONS: dict[str, dict[str, Any]] = {
    "tournament": {"size": 4},
    "fitness_proportional": {"pool": 256, "pressure": 1.5},
    "dgm": {"pool": 256, "top_m": 10, "lam": 10.0, "scale": None},
    "uniform": {},
    "best": {},
    "novelty": {"pool": 256, "k_nn": 10, "keys": None},
    "funsearch": {"pool": 2048, "t_init": 0.1, "period": 30_000, "signature": None},
}


@dataclass(frozen=True)
class Candidate:
    id: int
    fitness: float
    n_children: int
    born_at: int
    pos: int


def _candidate(row) -> Candidate:
    return Candidate(int(row[0]), float(row[1]), int(row[2]), int(row[3]), int(row[4]))


def resolve_options(strategy: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    if strategy not in _OPTIONS:
        raise ValueError(f"unknown sampling strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    opts = dict(_OPTIONS[strategy])
    for key, value in (options or {}).items():
        if key not in opts:
            known = ", ".join(opts) or "none"
            raise ValueError(f"sampling strategy {strategy!r} has no option {key!r} (known: {known})")
        opts[key] = value
    return opts


class IslandDraws:
    """Uniform draws of distinct visible ok programs of one island by position probes."""

    MAX_MISSES = 64

    def __init__(self, conn, campaign_id: int, island: int, max_born_at: int | None):
        self.conn, self.campaign_id, self.island, self.max_born_at = conn, campaign_id, island, max_born_at
        self.key = {"cid": campaign_id, "isl": island}
        self.n = int(conn.execute(S.ISLAND_SIZE, self.key).scalar() or 0)
        self._cache: dict[int, Candidate | None] = {}

    def _fetch(self, positions: list[int]) -> None:
        missing = [p for p in positions if p not in self._cache]
        if not missing:
            return
        for row in self.conn.execute(S.PROBE, {**self.key, "pos": missing}):
            self._cache[int(row.ok_pos)] = _candidate(row)
        for p in missing:
            self._cache.setdefault(p, None)

    def _usable(self, c: Candidate | None, exclude: set[int]) -> bool:
        return c is not None and c.id not in exclude and (self.max_born_at is None or c.born_at <= self.max_born_at)

    def draw(self, rng: random.Random, m: int, exclude: set[int]) -> list[Candidate]:
        """Up to ``m`` distinct usable programs, uniformly, in draw order."""
        out: list[Candidate] = []
        tried: set[int] = set()
        misses = 0
        while len(out) < m and len(tried) < self.n:
            batch: list[int] = []
            while len(batch) < m - len(out) and len(tried) < self.n:
                pos = rng.randrange(self.n)
                if pos not in tried:
                    tried.add(pos)
                    batch.append(pos)
            self._fetch(batch)
            for pos in batch:
                c = self._cache[pos]
                if c is not None and self._usable(c, exclude):
                    out.append(c)
                else:
                    misses += 1
            if misses > self.MAX_MISSES + 4 * m and len(out) < m:
                # Mostly invisible or taken: list what is left rather than keep probing.
                taken = exclude | {c.id for c in out}
                rest = self._usable_rest(tried, taken)
                out += rng.sample(rest, min(m - len(out), len(rest)))
                break
        return out

    def _usable_rest(self, tried: set[int], exclude: set[int]) -> list[Candidate]:
        if self.max_born_at is None:
            rows = (_candidate(r) for r in self.conn.execute(S.ALL_OK, self.key))
        else:
            rows = (_candidate(r) for r in self.conn.execute(S.ALL_VISIBLE, {**self.key, "mb": self.max_born_at}))
        return [c for c in rows if c.pos not in tried and c.id not in exclude]


def top_pool(conn, campaign_id: int, island: int, max_born_at: int | None, limit: int) -> list[Candidate]:
    """The island's ``limit`` fittest visible ok programs (ties: lowest id first)."""
    params = {"cid": campaign_id, "isl": island, "lim": int(limit)}
    if max_born_at is None:
        return [_candidate(r) for r in conn.execute(S.TOP, params)]
    return [_candidate(r) for r in conn.execute(S.TOP_VISIBLE, {**params, "mb": max_born_at})]


def weighted_without_replacement(rng: random.Random, items: Sequence[Any], weights: Sequence[float], k: int) -> list:
    items, weights = list(items), [max(0.0, float(w)) for w in weights]
    out = []
    for _ in range(min(k, len(items))):
        total = math.fsum(weights)
        if total <= 0.0:
            i = rng.randrange(len(items))
        else:
            r, acc = rng.random() * total, 0.0
            # rounding at the top end: the last positive weight
            i = max(j for j, w in enumerate(weights) if w > 0.0)
            for j, w in enumerate(weights):
                acc += w
                if r < acc and w > 0.0:
                    i = j
                    break
        out.append(items.pop(i))
        weights.pop(i)
    return out


def linear_rank_weights(fitness: Sequence[float], pressure: float) -> list[float]:
    """Linear ranking weights for fitness sorted best first; ties share their mean."""
    if not 1.0 <= pressure <= 2.0:
        raise ValueError(f"fitness_proportional pressure must be in [1, 2], not {pressure}")
    m = len(fitness)
    if m == 1:
        return [1.0]
    raw = [(2.0 - pressure) + 2.0 * (pressure - 1.0) * (m - 1 - r) / (m - 1) for r in range(m)]
    out, start = list(raw), 0
    while start < m:
        end = start
        while end + 1 < m and fitness[end + 1] == fitness[start]:
            end += 1
        mean = math.fsum(raw[start : end + 1]) / (end + 1 - start)
        out[start : end + 1] = [mean] * (end + 1 - start)
        start = end + 1
    return out


def dgm_weights(pool: Sequence[Candidate], top_m: int, lam: float, scale: float | None) -> list[float]:
    """DGM parent weights for a pool sorted best first (see the module docstring)."""
    fit = [c.fitness for c in pool]
    mid = statistics.median(fit[: max(1, int(top_m))])
    if scale is None:
        scale = (max(fit) - min(fit)) or 1.0
    out = []
    for c in pool:
        z = max(-700.0, min(700.0, lam * (c.fitness - mid) / scale))
        out.append(1.0 / (1.0 + math.exp(-z)) / (1.0 + c.n_children))
    return out


class SamplingMixin(ArchiveBase):
    def sample_parents(
        self,
        campaign_id: int,
        island: int,
        k: int,
        strategy: str = "tournament",
        rng: random.Random | None = None,
        max_born_at: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ProgramRecord]:
        """Up to ``k`` distinct ok programs of ``island`` chosen by ``strategy`` (see
        ``evolve.archive.sampling``); deterministic given ``rng``'s state and the archive."""
        opts = resolve_options(strategy, options)
        rng = rng if rng is not None else random.Random()
        if k <= 0:
            return []
        with self._read() as conn, conn.begin():  # one snapshot for all the probes
            ids = _choose(self, conn, campaign_id, island, k, strategy, rng, max_born_at, opts)
            if not ids:
                return []
            found = {r.id: program_from_row(r) for r in conn.execute(S.PROGRAMS_BY_ID, {"ids": sorted(set(ids))})}
        return [found[i] for i in ids if i in found]


def _choose(archive, conn, campaign_id, island, k, strategy, rng, max_born_at, opts) -> list[int]:
    if strategy == "best":
        return [c.id for c in top_pool(conn, campaign_id, island, max_born_at, k)]
    if strategy == "uniform":
        return [c.id for c in IslandDraws(conn, campaign_id, island, max_born_at).draw(rng, k, set())]
    if strategy == "tournament":
        size = int(opts["size"])
        if size < 1:
            raise ValueError(f"tournament size must be at least 1, not {size}")
        draws = IslandDraws(conn, campaign_id, island, max_born_at)
        chosen: list[int] = []
        for _ in range(k):
            contestants = draws.draw(rng, size, set(chosen))
            if not contestants:
                break
            chosen.append(max(contestants, key=lambda c: (c.fitness, -c.id)).id)
        return chosen
    if strategy == "funsearch":
        from evolve.archive.policies.clusters import choose_funsearch

        size = IslandDraws(conn, campaign_id, island, max_born_at).n
        return choose_funsearch(archive, conn, campaign_id, island, k, rng, max_born_at, opts, size)
    pool = top_pool(conn, campaign_id, island, max_born_at, int(opts["pool"]))
    if not pool:
        return []
    if strategy == "novelty":
        weights = _novelty_weights(archive, conn, campaign_id, island, pool, max_born_at, opts)
    elif strategy == "fitness_proportional":
        weights = linear_rank_weights([c.fitness for c in pool], float(opts["pressure"]))
    else:
        weights = dgm_weights(pool, int(opts["top_m"]), float(opts["lam"]), opts["scale"])
    return [c.id for c in weighted_without_replacement(rng, pool, weights, k)]


def _novelty_weights(archive, conn, campaign_id, island, pool, max_born_at, opts) -> list[float]:
    from evolve.archive.policies.novelty_index import IslandNovelty
    from evolve.archive.policies.state import policy_state

    keys = None if opts["keys"] is None else tuple(opts["keys"])
    index = policy_state(archive, ("novelty", campaign_id, island, keys), lambda: IslandNovelty(keys))
    with index.lock:
        index.sync_from(conn, campaign_id, island)
        return [float(x) for x in index.novelty([c.id for c in pool], int(opts["k_nn"]), max_born_at)]
