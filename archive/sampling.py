"""Parent sampling inside one island, in SQL-sized steps at any archive size.

``Archive.sample_parents`` hands a selection policy (``evolve.archive.selection``) an
``ArchiveIslandView``: the island's ok programs visible at ``max_born_at`` (``born_at <=
max_born_at``; all of them when None), inside one read snapshot. None of the view's
methods reads the whole island into Python:

``top(n)``
    The ``n`` fittest visible programs (an index scan; ties: the older, then lower id).
``draw(rng, m, exclude)``
    Each ok program has a dense position on its island (``ok_pos``); a draw is one
    random integer and an index lookup. Positions that are invisible or excluded are
    redrawn; after many misses the remaining visible programs are listed instead.
``details(ids)``
    Metrics, descriptor and code length of a few programs.
``novelty(ids, k_nn, keys)``
    Each program's mean distance to its ``k_nn`` nearest visible programs of the whole
    island, through an in-process vector index kept in sync with the stored rows
    (``evolve.archive.policies.novelty_index``).
``clusters(signature)``
    The island's FunSearch signature clusters, kept incrementally
    (``evolve.archive.policies.clusters``).

The built-in policies (``evolve.archive.policies.selection``) are deterministic given the
rng state and the archive contents; the weight functions they share are here.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.campaign_store import CampaignStore
from evolve.archive.policies.state import policy_state
from evolve.archive.records import ProgramRecord, program_from_row, restore_floats
from evolve.archive.selection import Candidate, Details, SelectionPolicy, Signature, make_policy

if TYPE_CHECKING:
    from evolve.archive.policies.clusters import IslandClusters


def _candidate(row: Any) -> Candidate:
    return Candidate(int(row[0]), float(row[1]), int(row[2]), int(row[3]), int(row[4]))


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


class ArchiveIslandView:
    """``evolve.archive.selection.IslandView`` over one read connection (one snapshot)."""

    def __init__(
        self,
        archive: object,
        conn: Connection,
        store: CampaignStore,
        campaign_id: int,
        island: int,
        max_born_at: int | None,
    ):
        # ``archive`` keys the in-process indexes (novelty, clusters) kept between samples.
        self._archive, self._conn, self._store = archive, conn, store
        self._campaign_id, self._island, self._max_born_at = campaign_id, island, max_born_at
        self._draws: IslandDraws | None = None

    @property
    def campaign_id(self) -> int:
        return self._campaign_id

    @property
    def island(self) -> int:
        return self._island

    @property
    def max_born_at(self) -> int | None:
        return self._max_born_at

    @property
    def store(self) -> CampaignStore:
        return self._store

    def _island_draws(self) -> IslandDraws:
        if self._draws is None:  # one per view: its probe cache serves every draw
            self._draws = IslandDraws(self._conn, self._campaign_id, self._island, self._max_born_at)
        return self._draws

    def size(self) -> int:
        return self._island_draws().n

    def top(self, n: int) -> list[Candidate]:
        return top_pool(self._conn, self._campaign_id, self._island, self._max_born_at, n)

    def draw(self, rng: random.Random, m: int, exclude: set[int]) -> list[Candidate]:
        return self._island_draws().draw(rng, m, exclude)

    def novelty(self, ids: Sequence[int], k_nn: int, keys: Sequence[str] | None = None) -> list[float]:
        from evolve.archive.policies.novelty_index import IslandNovelty

        key_tuple = None if keys is None else tuple(keys)
        index = policy_state(
            self._archive, ("novelty", self._campaign_id, self._island, key_tuple), lambda: IslandNovelty(key_tuple)
        )
        with index.lock:
            index.sync_from(self._conn, self._campaign_id, self._island)
            return [float(x) for x in index.novelty(list(ids), k_nn, self._max_born_at)]

    @contextmanager
    def clusters(self, signature: Signature) -> Iterator[IslandClusters]:
        from evolve.archive.policies.clusters import IslandClusters

        key = ("funsearch", self._campaign_id, self._island, signature)
        index = policy_state(self._archive, key, lambda: IslandClusters(signature))
        with index.lock:
            index.sync_from(self._conn, self._campaign_id, self._island)
            yield index

    def details(self, ids: Sequence[int], *, code: bool = False) -> dict[int, Details]:
        if not ids:
            return {}
        stmt = S.DETAILS_WITH_CODE_BY_ID if code else S.DETAILS_BY_ID
        out = {}
        for r in self._conn.execute(stmt, {"ids": sorted(set(ids))}):
            m = r._mapping
            out[int(m["id"])] = Details(
                id=int(m["id"]),
                metrics=restore_floats(m["metrics"]),
                descriptor=dict(m["descriptor"]) if m["descriptor"] is not None else None,
                code_length=int(m["code_length"] or 0),
                code=m["code"] if code else None,
            )
        return out


class SamplingMixin(ArchiveBase):
    def campaign_store(self, campaign_id: int) -> CampaignStore:
        raise NotImplementedError  # Archive binds itself (evolve.archive.store)

    def sample_parents(
        self,
        campaign_id: int,
        island: int,
        k: int,
        policy: str | SelectionPolicy = "tournament",
        rng: random.Random | None = None,
        max_born_at: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ProgramRecord]:
        """Up to ``k`` distinct ok programs of ``island`` chosen by ``policy`` (a registered
        name, built with ``options``, or a policy object); deterministic given ``rng``'s
        state and the archive."""
        if isinstance(policy, str):
            chosen_policy = make_policy(policy, options)
        elif options:
            raise ValueError("options go with a policy name; a policy object carries its own")
        else:
            chosen_policy = policy
        rng = rng if rng is not None else random.Random()
        if k <= 0:
            return []
        store = self.campaign_store(campaign_id)
        with self._read() as conn, conn.begin():  # one snapshot for all the probes
            view = ArchiveIslandView(self, conn, store, campaign_id, island, max_born_at)
            ids = list(dict.fromkeys(int(i) for i in chosen_policy.select(view, k, rng)))[:k]
            if not ids:
                return []
            found = {
                r.id: program_from_row(r)
                for r in conn.execute(S.PROGRAMS_BY_ID, {"ids": sorted(set(ids))})
                if r.campaign_id == campaign_id and r.status == "ok"
            }
        return [found[i] for i in ids if i in found]
