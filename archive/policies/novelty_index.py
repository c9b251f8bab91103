"""Novelty against an island's whole archive, through a vector index.

``IslandNovelty`` keeps, in memory, one island's published ok programs in sampling-position
order (``ok_pos``): program id, ``born_at`` and behaviour descriptor. A program's novelty
is the mean Euclidean distance to its ``k`` nearest visible neighbours on the island
(itself excluded), each descriptor dimension divided by its standard deviation.

It is exact and replayable: the first ``C`` rows (``C`` a multiple of ``STEP``) sit in an
HNSW graph (``VectorIndex``), the rows after them, fewer than ``STEP``, are scanned
exactly, and the two answers are merged. The graph is only ever grown in whole ``STEP``
chunks and rebuilt from the same rows in the same chunks, so it is the same graph whether
the island grew in this process or was rebuilt after a resume; a query's answer depends
only on the rows, never on when they were synced. The scaling (standard deviations, and
the descriptor keys every row shares) is fixed for an epoch and recomputed when the
graph's size reaches a power of two (from exactly that prefix), which rebuilds the graph:
amortised, each row is inserted at most twice. Below ``MIN_INDEXED`` rows everything is
scanned and scaled over all rows.

Neighbour lists of graph queries are cached per (row, graph size): the novelty strategy
asks about the same fittest programs sample after sample, so a sample costs one graph
query per program new to the pool plus a scan of the short tail.

Sync it from stored rows with ``sync_from`` (the archive does, per sample) or feed it
from in-memory island state with ``append``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import bindparam, select

from evolve.archive.models import Program
from evolve.archive.policies.descriptors import builtin_descriptors
from evolve.archive.policies.vectors import VectorIndex

STEP = 256
MIN_INDEXED = 1024
_SYNC_LIMIT = 50_000
_P = Program.__table__
_ROWS = (
    select(_P.c.ok_pos, _P.c.id, _P.c.born_at, _P.c.descriptor, _P.c.code)
    .where(
        _P.c.campaign_id == bindparam("cid"),
        _P.c.island == bindparam("isl"),
        _P.c.ok_pos >= bindparam("start"),
        _P.c.ok_pos < bindparam("stop"),
    )
    .order_by(_P.c.ok_pos)
)


def program_descriptor(descriptor: Mapping[str, float] | None, code: str) -> dict[str, float]:
    """A program's descriptor, falling back to the built-in code descriptors."""
    return dict(descriptor) if descriptor else builtin_descriptors(code)


class IslandNovelty:
    def __init__(self, keys: Sequence[str] | None = None, *, exact: bool = False):
        self.fixed_keys = tuple(keys) if keys is not None else None
        self.exact = exact
        self.lock = threading.Lock()
        self.ids = np.zeros(0, np.int64)
        self.born = np.zeros(0, np.int64)
        self._keys: list[str] = list(self.fixed_keys or ())  # every key seen, first-seen order
        self._raw = np.zeros((0, len(self._keys)), np.float64)  # NaN: the row lacks the key
        self._pos_of: dict[int, int] = {}
        self._index: VectorIndex | None = None
        self._cols: np.ndarray = np.zeros(0, np.int64)  # columns in use (shared keys)
        self._scale: np.ndarray = np.zeros(0)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # row -> (dist, labels) at this graph
        self._fast: tuple[int, dict[int, int], np.ndarray, np.ndarray] | None = None  # width, row -> slot, matrices

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def indexed(self) -> int:
        return len(self._index) if self._index is not None else 0

    # -- feeding ----------------------------------------------------------------------

    def append(self, ids: Sequence[int], born: Sequence[int], descriptors: Sequence[Mapping[str, float]]) -> None:
        """Add the island's next rows, in sampling-position order."""
        if not len(ids):
            return
        for d in descriptors:
            for key in d:
                if key not in self._keys and self.fixed_keys is None:
                    self._keys.append(key)
        if self._raw.shape[1] < len(self._keys):
            pad = np.full((len(self._raw), len(self._keys) - self._raw.shape[1]), np.nan)
            self._raw = np.hstack([self._raw, pad])
        new = np.array(
            [[float(d[k]) if k in d else np.nan for k in self._keys] for d in descriptors], dtype=np.float64
        ).reshape(len(descriptors), len(self._keys))
        start = len(self.ids)
        self._raw = np.vstack([self._raw, new])
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        self.born = np.concatenate([self.born, np.asarray(born, np.int64)])
        self._pos_of.update((int(pid), start + i) for i, pid in enumerate(ids))
        self._grow()

    def sync_from(self, conn, campaign_id: int, island: int) -> None:
        """Read the island's rows published since the last sync (a contiguous run of
        positions: a position a concurrent writer has not committed yet waits)."""
        while True:
            start = len(self.ids)
            rows = conn.execute(
                _ROWS, {"cid": campaign_id, "isl": island, "start": start, "stop": start + _SYNC_LIMIT}
            ).all()
            run: list = []
            for r in rows:
                if int(r.ok_pos) != start + len(run):
                    break
                run.append(r)
            if not run:
                return
            self.append(
                [int(r.id) for r in run],
                [int(r.born_at) for r in run],
                [program_descriptor(r.descriptor, r.code) for r in run],
            )
            if len(run) < _SYNC_LIMIT:
                return

    def _grow(self) -> None:
        """Keep the graph at the largest whole number of STEPs, rescaling at powers of two."""
        n = len(self.ids)
        target = (n // STEP) * STEP if n >= MIN_INDEXED and not self.exact else 0
        if target == self.indexed:
            return
        epoch = 1 << (target.bit_length() - 1) if target else 0
        if self._index is None or len(self._index) < epoch:
            self._index = self._rescale(epoch)
        for lo in range(len(self._index), target, STEP):
            self._index.add(self._vectors(slice(lo, lo + STEP)))
        self._cache.clear()
        self._fast = None

    def _shared_cols(self, rows: slice) -> np.ndarray:
        if self.fixed_keys is not None:
            return np.arange(len(self._keys))
        return np.flatnonzero(~np.isnan(self._raw[rows]).any(axis=0))

    def _rescale(self, epoch: int) -> VectorIndex:
        self._cols = self._shared_cols(slice(0, epoch))
        ref = self._filled(slice(0, epoch))
        std = ref.std(axis=0) if len(ref) else np.ones(len(self._cols))
        self._scale = np.where(std > 0, std, 1.0)
        return VectorIndex(len(self._cols), "l2")

    def _filled(self, rows: slice | np.ndarray) -> np.ndarray:
        return np.nan_to_num(self._raw[rows][:, self._cols], nan=0.0)

    def _vectors(self, rows: slice | np.ndarray) -> np.ndarray:
        return (self._filled(rows) / self._scale).astype(np.float32)

    def recall(self, k: int = 10, queries: int = 200, seed: int = 0) -> float:
        """Recall at ``k`` of the graph against an exact scan of the same rows, for
        ``queries`` random rows (1.0 when nothing is in a graph yet): a health check."""
        if self._index is None or self.indexed <= k:
            return 1.0
        rows = np.random.default_rng(seed).choice(self.indexed, min(queries, self.indexed), replace=False)
        points = self._vectors(rows)
        exact = VectorIndex(points.shape[1], "l2", exact=True)
        exact.add(self._vectors(slice(0, self.indexed)))
        _, got = self._index.search(points, k)
        _, want = exact.search(points, k)
        return float(np.mean([len(set(g) & set(w)) / k for g, w in zip(got, want)]))

    # -- asking -----------------------------------------------------------------------

    def novelty(self, program_ids: Sequence[int], k: int = 10, max_born_at: int | None = None) -> np.ndarray:
        """Novelty of each stored program (0 where it is unknown or alone)."""
        pos = np.array([self._pos_of.get(int(p), -1) for p in program_ids], np.int64)
        out = np.zeros(len(pos))
        known = pos >= 0
        if known.any():
            out[known] = self._novelty_of_rows(pos[known], k, max_born_at)
        return out

    def score(self, descriptor: Mapping[str, float], k: int = 10, max_born_at: int | None = None) -> float:
        """Novelty of a new descriptor against the island (0 when it is empty)."""
        if not len(self.ids):
            return 0.0
        self._prepare_scan()
        point = np.array([[float(descriptor.get(self._keys[c], 0.0)) for c in self._cols]]) / self._scale
        return float(self._knn_mean(point.astype(np.float32), np.array([-1]), k, max_born_at)[0])

    def _prepare_scan(self) -> None:
        if self._index is None or self.indexed == 0:
            # Everything is scanned: scale over all rows (a small island).
            self._cols = self._shared_cols(slice(0, len(self.ids)))
            std = self._filled(slice(0, len(self.ids))).std(axis=0)
            self._scale = np.where(std > 0, std, 1.0)

    def _novelty_of_rows(self, rows: np.ndarray, k: int, max_born_at: int | None) -> np.ndarray:
        self._prepare_scan()
        return self._knn_mean(self._vectors(rows), rows, k, max_born_at)

    def _knn_mean(self, points: np.ndarray, self_rows: np.ndarray, k: int, max_born_at: int | None) -> np.ndarray:
        if points.shape[1] == 0 or k <= 0:
            return np.zeros(len(points))
        c = self.indexed
        visible = None if max_born_at is None else self.born <= max_born_at
        # The tail after the graph, exactly.
        tail = np.arange(c, len(self.ids))
        if visible is not None:
            tail = tail[visible[c:]]
        tail_vecs = self._vectors(tail)
        d = np.sqrt(np.maximum(((points[:, None, :] - tail_vecs[None, :, :]) ** 2).sum(-1), 0.0))
        d = np.where(tail[None, :] == self_rows[:, None], np.inf, d)
        if c:
            d = np.hstack([d, self._graph_block(points, self_rows, k, visible)])
        if d.shape[1] > k:
            d = np.partition(d, k - 1, axis=1)[:, :k]
        finite = np.isfinite(d)
        n = finite.sum(axis=1)
        total = np.where(finite, d, 0.0).sum(axis=1)
        return np.where(n > 0, total / np.maximum(n, 1), 0.0)

    def _graph_block(self, points: np.ndarray, rows: np.ndarray, k: int, visible: np.ndarray | None) -> np.ndarray:
        """Distances to graph neighbours, inf where a neighbour is the row itself or
        invisible; each row has at least ``k`` finite ones whenever the graph holds that
        many visible rows other than itself. The common case (``2k + 2`` neighbours
        suffice) is served from a matrix cache; rows whose neighbours are partly hidden
        look further (``_graph_block_deep``)."""
        assert self._index is not None
        m = min(2 * k + 2, self.indexed)
        if self._fast is None or self._fast[0] != m:
            self._fast = (m, {}, np.zeros((0, m)), np.zeros((0, m), np.int64))
        _, slot_of, cd, cl = self._fast
        slots = np.fromiter((slot_of.get(int(r), -1) for r in rows), np.int64, len(rows))
        dist, labels = np.empty((len(rows), m)), np.empty((len(rows), m), np.int64)
        hit = slots >= 0
        dist[hit], labels[hit] = cd[slots[hit]], cl[slots[hit]]
        new = np.flatnonzero(~hit)
        if len(new):
            dist[new], labels[new] = self._index.search(points[new], m)
            keep_rows = new[rows[new] >= 0]
            base = len(cd)
            for j, i in enumerate(keep_rows):
                slot_of[int(rows[i])] = base + j
            self._fast = (m, slot_of, np.vstack([cd, dist[keep_rows]]), np.vstack([cl, labels[keep_rows]]))
        keep = (labels >= 0) & (labels != rows[:, None])
        if visible is not None:
            keep &= visible[np.maximum(labels, 0)]
        if m >= self.indexed or not (keep.sum(axis=1) < k).any():
            return np.where(keep, dist, np.inf)
        return self._graph_block_deep(points, rows, k, visible)

    def _graph_block_deep(self, points: np.ndarray, rows: np.ndarray, k: int, visible: np.ndarray | None) -> np.ndarray:
        assert self._index is not None
        cached = [self._cache.get(int(r)) if r >= 0 else None for r in rows]
        empty = (np.zeros(0), np.zeros(0, np.int64))
        lists = [hit if hit is not None else empty for hit in cached]
        want = np.full(len(rows), min(2 * k + 2, self.indexed))
        while True:
            todo = [i for i, hit in enumerate(lists) if len(hit[1]) < want[i]]
            if todo:  # one batched graph query per round
                dist, labels = self._index.search(points[todo], int(want[todo].max()))
                for j, i in enumerate(todo):
                    lists[i] = (dist[j], labels[j])
                    if rows[i] >= 0:
                        self._cache[int(rows[i])] = lists[i]
            width = max(len(hit[1]) for hit in lists)
            dist = np.full((len(rows), width), np.inf)
            labels = np.full((len(rows), width), -1, np.int64)
            for i, (dd, ll) in enumerate(lists):
                dist[i, : len(dd)], labels[i, : len(ll)] = dd, ll
            keep = (labels >= 0) & (labels != rows[:, None])
            if visible is not None:
                keep &= visible[np.maximum(labels, 0)]
            short = (keep.sum(axis=1) < k) & (np.array([len(h[1]) for h in lists]) < self.indexed)
            if not short.any():
                return np.where(keep, dist, np.inf)
            want = np.where(short, np.minimum(4 * width, self.indexed), want)  # hidden neighbours: look further
