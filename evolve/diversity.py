"""Quality-diversity in the loop: a MAP-Elites grid and embedding near-duplicates.

The other archive policies (tournament, fitness-proportional, DGM, novelty, FunSearch
clusters) are parent-selection strategies the archive applies by name. MAP-Elites needs
the loop to place each stored program in its cell; it does so lazily, in proposal order,
when a program becomes visible to later proposals, so the grid a proposal sees does not
depend on which evaluation happened to finish first.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)


class GridConfig(BaseModel):
    """Fixed bins ``dims = [[name, low, high, bins], ...]`` or CVT centroids over ``names``."""

    model_config = ConfigDict(extra="forbid")
    dims: list[tuple[str, float, float, int]] = Field(
        default_factory=lambda: [("code_length", 0.0, 2000.0, 10), ("ast_depth", 0.0, 20.0, 10)],
        description="descriptor name, low, high, bins (from the problem's descriptors or the built-in code ones)",
    )
    cvt_cells: int | None = Field(None, ge=2, description="use CVT with this many cells over the dims' boxes")


def make_grid(cfg: GridConfig):
    from evolve.archive.policies.map_elites import Grid

    if cfg.cvt_cells:
        return Grid.cvt([d[0] for d in cfg.dims], [d[1] for d in cfg.dims], [d[2] for d in cfg.dims], cfg.cvt_cells)
    return Grid.fixed(cfg.dims)


class Diversity:
    def __init__(self, archive, campaign_id: int, config, window: int):
        self.archive, self.cid, self.window = archive, campaign_id, window
        self.grid = None
        self.deduper = None
        self._pending: list[Any] = []  # stored ok programs not yet offered to the grid
        if config.selection == "map_elites":
            from evolve.archive.policies.map_elites import MapElites

            self.grid = MapElites(archive, make_grid(config.map_elites))
            # a resumed campaign re-offers its newest programs (offering is idempotent)
            recent = archive.programs(campaign_id, status="ok", order="-id", limit=2 * window)
            self._pending = sorted(recent, key=lambda p: p.born_at)
        if config.near_duplicate_threshold is not None:
            from evolve.archive.policies.embeddings import DEFAULT_MODEL, EmbeddingDeduper

            self.deduper = EmbeddingDeduper(
                archive, config.near_duplicate_threshold, model=config.embedding_model or DEFAULT_MODEL
            )

    def stored(self, record) -> None:
        """After a program is stored (archive thread)."""
        if self.grid is not None and record.status == "ok":
            self._pending.append(record)
        if self.deduper is not None and record.status == "ok":
            self.deduper.add(self.cid, record.id, record.code)

    def sample(self, island: int, k: int, rng: random.Random, max_born_at: int) -> list:
        """MAP-Elites parents: offer what became visible, then uniform over filled cells."""
        grid = self.grid
        if grid is None:
            raise ValueError("MAP-Elites parents need selection = 'map_elites'")
        ready = [p for p in self._pending if p.born_at <= max_born_at]
        if ready:
            self._pending = [p for p in self._pending if p.born_at > max_born_at]
            for program in sorted(ready, key=lambda p: (p.born_at, p.id)):
                grid.offer(program)
        return grid.sample(self.cid, island, k, rng, max_born_at=max_born_at)

    def near_duplicate(self, code: str):
        """The most similar stored program at or above the threshold (``NearDuplicate``:
        program_id, similarity), or None."""
        if self.deduper is None:
            return None
        return self.deduper.check(self.cid, code)
