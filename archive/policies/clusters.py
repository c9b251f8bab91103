"""FunSearch-style parent choice: signature clusters with Boltzmann sampling.

Programs whose per-case scores are identical form a cluster (they behave the same on
every case). A parent is chosen in two steps, as in FunSearch: a cluster with
probability softmax(score / T), where the temperature decays with the island's size,
``T = t_init * (1 - (n mod period) / period)``; then a program within the cluster,
preferring shorter code: softmax(-(len - min_len) / (max_len + 1e-6)).

The signature is read from a program's metrics, the keys ``case:<i>`` in numeric order
(problems put per-case scores there); a program without them is a cluster of its own
fitness. Pass ``signature=`` to use something else. A cluster's score is its members'
best fitness. Candidates are the ``pool`` best clusters by their best visible member,
with all their visible members.

The clusters are kept incrementally (``IslandClusters``): each newly published program
joins its cluster, and the clusters stay ranked by their best member, so a sample costs
the softmax over the candidate clusters, never a regrouping of the island. The
structure lives in memory, is rebuilt from the stored rows by a new process and topped
up from them on each sample (or fed with ``append`` from in-memory island state).
"""

from __future__ import annotations

import bisect
import math
import random
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, select

from evolve.archive.models import PROGRAMS
from evolve.archive.records import restore_floats

_P = PROGRAMS
_CASE = re.compile(r"^case:(\d+)$")
_SYNC_LIMIT = 50_000
_ROWS = (
    select(_P.c.ok_pos, _P.c.id, _P.c.fitness, _P.c.born_at, _P.c.metrics, func.length(_P.c.code).label("length"))
    .where(
        _P.c.campaign_id == bindparam("cid"),
        _P.c.island == bindparam("isl"),
        _P.c.ok_pos >= bindparam("start"),
        _P.c.ok_pos < bindparam("stop"),
    )
    .order_by(_P.c.ok_pos)
)


def case_signature(metrics: Mapping[str, Any], fitness: float) -> tuple:
    cases = sorted((int(m.group(1)), v) for key, v in metrics.items() if (m := _CASE.match(key)))
    if not cases:
        return ("fitness", fitness)
    return tuple(round(float(v), 9) for _, v in cases)


def softmax(values: list[float], temperature: float) -> list[float]:
    t = max(temperature, 1e-12)
    top = max(values)
    w = [math.exp((v - top) / t) for v in values]
    total = math.fsum(w)
    return [x / total for x in w]


def _pick(rng: random.Random, probs: list[float]) -> int:
    r, acc = rng.random(), 0.0
    for i, p in enumerate(probs):
        acc += p
        if r < acc:
            return i
    return len(probs) - 1


def temperature(n_programs: int, t_init: float = 0.1, period: int = 30_000) -> float:
    return t_init * (1.0 - (n_programs % period) / period)


class _Cluster:
    """One signature's members in sampling-position order (growable arrays)."""

    __slots__ = ("n", "ids", "fitness", "length", "born", "best", "max_born")

    def __init__(self) -> None:
        self.n = 0
        self.ids = np.zeros(4, np.int64)
        self.fitness = np.zeros(4)
        self.length = np.zeros(4)
        self.born = np.zeros(4, np.int64)
        self.best: tuple[float, int, int] | None = None  # rank key: (-fitness, born_at, id)
        self.max_born: int | None = None

    def add(self, pid: int, fitness: float, length: int, born: int) -> None:
        if self.n == len(self.ids):
            for name in ("ids", "fitness", "length", "born"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr, np.zeros_like(arr)]))
        self.ids[self.n], self.fitness[self.n], self.length[self.n], self.born[self.n] = pid, fitness, length, born
        self.n += 1
        self.max_born = born if self.max_born is None else max(self.max_born, born)
        key = (-fitness, born, pid)
        if self.best is None or key < self.best:
            self.best = key

    def visible(self, max_born_at: int | None) -> np.ndarray:
        """Indexes of the members visible at ``max_born_at``."""
        if max_born_at is None or (self.max_born is not None and self.max_born <= max_born_at):
            return np.arange(self.n)
        return np.flatnonzero(self.born[: self.n] <= max_born_at)


class IslandClusters:
    """One island's signature clusters, kept up to date row by row (no recomputation per
    sample): signature -> members, and the clusters ranked by their best member."""

    def __init__(self, signature: Callable[[Mapping[str, Any], float], tuple] = case_signature):
        self.signature = signature
        self.lock = threading.Lock()
        self.n = 0  # rows seen (the next sampling position to read)
        self.max_born: int | None = None
        self._row_born = np.zeros(1024, np.int64)  # per row (sampling position): born_at, cluster number
        self._row_cluster = np.zeros(1024, np.int64)
        self._clusters: dict[tuple, _Cluster] = {}
        self._ranked: list[tuple[tuple[float, int, int], int]] = []  # (best key, cluster number), best first
        self._by_number: list[_Cluster] = []
        self._number: dict[tuple, int] = {}
        self._version = 0  # bumped whenever the ranking changes
        self._top: tuple | None = None

    def __len__(self) -> int:
        return self.n

    @property
    def n_clusters(self) -> int:
        return len(self._by_number)

    def append(self, pid: int, fitness: float, metrics: Mapping[str, Any], length: int, born: int) -> None:
        """Add the island's next ok program (in sampling-position order)."""
        sig = self.signature(metrics, fitness)
        number = self._number.get(sig)
        if number is None:
            number = self._number[sig] = len(self._by_number)
            self._by_number.append(_Cluster())
        cluster = self._by_number[number]
        old = cluster.best
        cluster.add(int(pid), float(fitness), int(length), int(born))
        self.max_born = born if self.max_born is None else max(self.max_born, born)
        if self.n == len(self._row_born):
            self._row_born = np.concatenate([self._row_born, np.zeros_like(self._row_born)])
            self._row_cluster = np.concatenate([self._row_cluster, np.zeros_like(self._row_cluster)])
        self._row_born[self.n], self._row_cluster[self.n] = born, number
        best = cluster.best
        if best is not None and best != old:
            if old is not None:
                del self._ranked[bisect.bisect_left(self._ranked, (old, number))]
            bisect.insort(self._ranked, (best, number))
            self._version += 1
        self.n += 1

    def sync_from(self, conn, campaign_id: int, island: int) -> None:
        """Read the island's ok programs published since the last sync (a contiguous run
        of positions)."""
        while True:
            rows = conn.execute(
                _ROWS, {"cid": campaign_id, "isl": island, "start": self.n, "stop": self.n + _SYNC_LIMIT}
            ).all()
            read = 0
            for r in rows:
                if int(r.ok_pos) != self.n:
                    return  # a position not committed yet: wait for it
                self.append(int(r.id), float(r.fitness), restore_floats(r.metrics), int(r.length or 0), int(r.born_at))
                read += 1
            if read < _SYNC_LIMIT:
                return

    def candidates(self, pool: int, max_born_at: int | None) -> tuple[np.ndarray, list[_Cluster]]:
        """The ``pool`` best clusters by their best visible member, best first, and those
        members' fitness (the clusters' scores)."""
        if max_born_at is None or (self.max_born is not None and self.max_born <= max_born_at):
            # Nothing hidden: the ranking is the answer (kept until the ranking changes).
            if self._top is None or self._top[0] != (self._version, pool):
                top = self._ranked[:pool]
                self._top = (
                    (self._version, pool),
                    np.array([-key[0] for key, _ in top]),
                    [self._by_number[n] for _, n in top],
                )
            return self._top[1], self._top[2]
        # Only clusters holding hidden programs can rank differently, and at most that
        # many of the first pool + |hidden clusters| can drop out: the rest keep their place.
        hidden = set(np.unique(self._row_cluster[: self.n][self._row_born[: self.n] > max_born_at]).tolist())
        found: list[tuple[tuple[float, int, int], int]] = []
        for key, number in self._ranked[: pool + len(hidden)]:
            if number in hidden:
                cluster = self._by_number[number]
                members = cluster.visible(max_born_at)
                if not len(members):
                    continue
                best = members[np.lexsort((cluster.ids[members], cluster.born[members], -cluster.fitness[members]))[0]]
                key = (-float(cluster.fitness[best]), int(cluster.born[best]), int(cluster.ids[best]))
            found.append((key, number))
        found.sort()
        del found[pool:]
        return np.array([-key[0] for key, _ in found]), [self._by_number[n] for _, n in found]

    def choose(self, k: int, rng: random.Random, max_born_at: int | None, pool: int, temp: float) -> list[int]:
        """FunSearch's two-step draw, ``k`` distinct programs: a cluster by
        softmax(score / T), then a member preferring short code. One program per cluster
        first; a second round starts only when every cluster gave one."""
        scores, clusters = self.candidates(pool, max_born_at)
        left: list[list[int] | None] = [None] * len(clusters)  # members not chosen yet, listed when first picked
        chosen: list[int] = []
        while len(chosen) < k and any(m is None or m for m in left):
            round_ = [i for i, m in enumerate(left) if m is None or m]
            while round_ and len(chosen) < k:
                i = round_.pop(_pick_array(rng, _softmax_array(scores[round_] / max(temp, 1e-12))))
                cluster, members = clusters[i], left[i]
                if members is None:
                    members = left[i] = cluster.visible(max_born_at).tolist()
                lengths = cluster.length[members]
                lo, hi = float(lengths.min()), float(lengths.max())
                j = _pick_array(rng, _softmax_array(-(lengths - lo) / (hi + 1e-6)))
                chosen.append(int(cluster.ids[members.pop(j)]))
        return chosen


def _softmax_array(values: np.ndarray) -> np.ndarray:
    w = np.exp(values - values.max())
    return w / w.sum()


def _pick_array(rng: random.Random, probs: np.ndarray) -> int:
    """``_pick`` for an array: the first index whose running sum exceeds one draw."""
    i = int(np.searchsorted(np.cumsum(probs), rng.random(), side="right"))
    return min(i, len(probs) - 1)
