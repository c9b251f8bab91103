"""Novelty: how far a program's behaviour is from its neighbours' (novelty search).

The score is the mean Euclidean distance to the ``k`` nearest other descriptors, after
scaling each dimension by its standard deviation over the set (so code length in
characters does not drown a count of loops). ``knn_novelty`` and ``novelty_of`` are the exact
scans over a small set; the ``novelty`` sampling strategy and ``Novelty.score`` (a new
candidate against an island) go through ``novelty_index``'s vector index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from evolve.archive.policies.novelty_index import program_descriptor as program_descriptor  # re-exported

if TYPE_CHECKING:
    from evolve.archive.store import Archive


def descriptor_matrix(
    descriptors: Sequence[Mapping[str, float]], keys: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Rows of the given descriptors over ``keys`` (default: keys all of them share)."""
    if keys is None:
        common = set(descriptors[0]) if descriptors else set()
        for d in descriptors[1:]:
            common &= set(d)
        keys = sorted(common)
    keys = list(keys)
    m = np.array([[float(d.get(k, 0.0)) for k in keys] for d in descriptors], dtype=float).reshape(
        len(descriptors), len(keys)
    )
    return m, keys


def _scaled(m: np.ndarray, ref: np.ndarray) -> np.ndarray:
    std = ref.std(axis=0) if len(ref) else np.ones(m.shape[1])
    return m / np.where(std > 0, std, 1.0)


def knn_novelty(points: np.ndarray, k: int = 10) -> np.ndarray:
    """Leave-one-out novelty of each row among the rows (0 for a lone row)."""
    n = len(points)
    if n <= 1 or points.shape[1] == 0:
        return np.zeros(n)
    x = _scaled(points, points)
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0.0))
    np.fill_diagonal(d, np.inf)
    kk = min(k, n - 1)
    return np.sort(d, axis=1)[:, :kk].mean(axis=1)


def novelty_of(
    point: Mapping[str, float], others: Sequence[Mapping[str, float]], k: int = 10, keys: Sequence[str] | None = None
) -> float:
    """Novelty of one descriptor against a set (0 when the set is empty)."""
    if not others:
        return 0.0
    m, keys = descriptor_matrix(list(others), keys)
    if not keys:
        return 0.0
    p = np.array([[float(point.get(k_, 0.0)) for k_ in keys]])
    std = m.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    d = np.sqrt((((m - p) / std) ** 2).sum(axis=1))
    return float(np.sort(d)[: min(k, len(d))].mean())


class Novelty:
    """Novelty of candidates against an island's stored programs (all of them visible
    at ``max_born_at``, through the island's vector index)."""

    def __init__(self, archive: Archive, k: int = 10, keys: Sequence[str] | None = None):
        self.archive, self.k, self.keys = archive, k, None if keys is None else tuple(keys)

    def score(
        self, campaign_id: int, island: int, descriptor: Mapping[str, float], max_born_at: int | None = None
    ) -> float:
        """Novelty of ``descriptor``: mean scaled distance to its ``k`` nearest programs."""
        from evolve.archive.policies.novelty_index import IslandNovelty
        from evolve.archive.policies.state import policy_state

        index = policy_state(
            self.archive, ("novelty", campaign_id, island, self.keys), lambda: IslandNovelty(self.keys)
        )
        with index.lock, self.archive._read() as conn:
            index.sync_from(conn, campaign_id, island)
            return index.score(descriptor, self.k, max_born_at)
