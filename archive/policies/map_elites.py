"""MAP-Elites: a grid over behaviour descriptors per island, each cell keeping the
fittest program seen there (quality-diversity, as in ELM).

A ``Grid`` maps a descriptor dict to a cell key, with fixed bins per dimension or with
CVT centroids (k-means over the descriptor box, for many dimensions). ``MapElites``
keeps the cells in the ``elite_cells`` table: ``offer`` is one atomic upsert that only
replaces a cell's elite with a strictly fitter program, so concurrent workers agree
(the SQL is ``evolve.archive.elite_cells``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evolve.archive.policies.descriptors import builtin_descriptors
from evolve.archive.policies.grid_config import GridConfig
from evolve.archive.records import ProgramRecord

if TYPE_CHECKING:
    from evolve.archive.campaign_store import CampaignStore


@dataclass(frozen=True)
class Dimension:
    name: str
    lo: float
    hi: float
    bins: int

    def index(self, value: float) -> int:
        if not self.hi > self.lo or self.bins < 1:
            raise ValueError(f"dimension {self.name}: need hi > lo and bins >= 1")
        i = int(np.floor((float(value) - self.lo) / (self.hi - self.lo) * self.bins))
        return min(max(i, 0), self.bins - 1)  # outside the box: the edge cells


class Grid:
    """Descriptor -> cell key. Build with ``Grid.fixed`` or ``Grid.cvt``."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        dims: Sequence[Dimension] | None = None,
        centroids: np.ndarray | None = None,
        lows: Sequence[float] | None = None,
        highs: Sequence[float] | None = None,
    ):
        self.names = tuple(names)
        self.dims = tuple(dims) if dims is not None else None
        self.centroids = centroids
        self.lows = np.asarray(lows, dtype=float) if lows is not None else None
        self.highs = np.asarray(highs, dtype=float) if highs is not None else None

    @classmethod
    def fixed(cls, dims: Sequence[Dimension | tuple]) -> Grid:
        built = [d if isinstance(d, Dimension) else Dimension(*d) for d in dims]
        for d in built:
            d.index(d.lo)  # validates
        return cls([d.name for d in built], dims=built)

    @classmethod
    def cvt(
        cls,
        names: Sequence[str],
        lows: Sequence[float],
        highs: Sequence[float],
        n_cells: int,
        samples: int = 20_000,
        iters: int = 25,
        seed: int = 0,
    ) -> Grid:
        """Centroidal Voronoi tessellation of the box: k-means on uniform samples
        (deterministic for a seed), in coordinates scaled to [0, 1]."""
        rng = np.random.default_rng(seed)
        d = len(names)
        points = rng.random((max(samples, n_cells * 10), d))
        centroids = points[rng.choice(len(points), n_cells, replace=False)]
        for _ in range(iters):
            assign = _nearest(points, centroids)
            for c in range(n_cells):
                members = points[assign == c]
                if len(members):
                    centroids[c] = members.mean(axis=0)
        return cls(names, centroids=centroids, lows=lows, highs=highs)

    @property
    def n_cells(self) -> int:
        if self.dims is not None:
            return int(np.prod([d.bins for d in self.dims]))
        return len(self._cvt()[0])

    def _cvt(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centroids and the descriptor box of a CVT grid."""
        if self.centroids is None or self.lows is None or self.highs is None:
            raise ValueError("a grid needs fixed dims, or CVT centroids with their box (lows, highs)")
        return self.centroids, self.lows, self.highs

    def cell(self, descriptor: Mapping[str, float]) -> str:
        missing = [n for n in self.names if n not in descriptor]
        if missing:
            raise ValueError(
                f"descriptor lacks {', '.join(missing)} (has {', '.join(sorted(descriptor)) or 'nothing'})"
            )
        if self.dims is not None:
            return ",".join(str(d.index(descriptor[d.name])) for d in self.dims)
        centroids, lows, highs = self._cvt()
        x = np.array([float(descriptor[n]) for n in self.names])
        span = np.where(highs > lows, highs - lows, 1.0)
        x = np.clip((x - lows) / span, 0.0, 1.0)
        return f"c{int(_nearest(x[None, :], centroids)[0])}"


def make_grid(cfg: GridConfig) -> Grid:
    if cfg.cvt_cells:
        return Grid.cvt([d[0] for d in cfg.dims], [d[1] for d in cfg.dims], [d[2] for d in cfg.dims], cfg.cvt_cells)
    return Grid.fixed(cfg.dims)


def _nearest(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    d2 = (points**2).sum(1)[:, None] - 2 * points @ centroids.T + (centroids**2).sum(1)[None, :]
    return d2.argmin(axis=1)


def default_descriptor(program: ProgramRecord) -> dict[str, float]:
    """The program's own descriptor, completed with the built-in code descriptors."""
    out = builtin_descriptors(program.code)
    out.update(program.descriptor or {})
    return out


class MapElites:
    """The elites of one grid, per island, for one campaign (stored in the archive)."""

    def __init__(
        self,
        store: CampaignStore,
        grid: Grid,
        name: str = "default",
        descriptor: Callable[[ProgramRecord], Mapping[str, float]] = default_descriptor,
    ):
        self.store, self.grid, self.name, self.descriptor = store, grid, name, descriptor

    def cell_of(self, program: ProgramRecord) -> str:
        return self.grid.cell(self.descriptor(program))

    def offer(self, program: ProgramRecord) -> bool:
        """Place an ok program in its cell if the cell is empty or holds a less fit one
        (ties keep the incumbent). Returns whether the program became an elite."""
        if program.status != "ok" or program.fitness is None:
            return False
        return self.store.offer_elite(self.name, program.island, self.cell_of(program), program.id, program.fitness)

    def elites(self, island: int | None = None) -> dict[tuple[int, str], ProgramRecord]:
        """(island, cell) -> elite program."""
        return self.store.elite_programs(self.name, island)

    def sample(self, island: int, k: int, rng: random.Random, max_born_at: int | None = None) -> list[ProgramRecord]:
        """``k`` distinct elites from cells chosen uniformly (the MAP-Elites parent
        choice); deterministic given ``rng`` (cells ordered by key)."""
        ids = self.store.elite_ids(self.name, island, max_born_at)
        return self.store.get_programs(rng.sample(ids, min(k, len(ids))))

    def stats(self, island: int | None = None) -> dict[str, Any]:
        """Filled cells, coverage of the grid, QD score (sum of elite fitness), best."""
        st = self.store.elite_stats(self.name, island)
        return {
            "filled": st.filled,
            "coverage": st.filled / self.grid.n_cells,
            "qd_score": st.total_fitness,
            "best": st.best,
        }

    def rebuild(self, batch: int = 5000) -> int:
        """Recompute every cell from the stored programs (after changing the grid);
        returns how many cells are filled."""
        self.store.clear_elites(self.name)
        after = None
        while page := self.store.programs(status="ok", limit=batch, after_id=after):
            for p in page:
                self.offer(p)
            after = page[-1].id
        return self.stats()["filled"]
