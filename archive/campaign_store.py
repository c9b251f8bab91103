"""``CampaignStore``: the archive as the campaign loop sees it, bound to one campaign.

The loop, the island policies and the workers never pass a campaign id around: they hold
a ``CampaignStore`` (``archive.campaign_store(campaign_id)``) whose methods are the
``Archive`` methods they need with the campaign filled in. ``ArchiveCampaignStore`` is
the implementation; each method is one line into ``Archive``, so "go to definition"
from the loop lands one hop away from the SQL.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from evolve.archive.elite_cells import EliteStats
from evolve.archive.embedding_rows import StoredEmbedding
from evolve.archive.new_program import CallRecord, NewProgram
from evolve.archive.records import EventRecord, ProgramRecord

if TYPE_CHECKING:
    from evolve.archive.selection import SelectionPolicy
    from evolve.archive.store import Archive


class CampaignStore(Protocol):
    """Reads and writes of one campaign (see ``evolve.archive.store.Archive`` for each)."""

    @property
    def campaign_id(self) -> int: ...

    # -- writing ----------------------------------------------------------------------
    def add_program(self, program: NewProgram) -> ProgramRecord: ...
    def add_programs(
        self, programs: Iterable[NewProgram], *, skip_stored_seqs: bool = False
    ) -> list[ProgramRecord | None]: ...
    def publish(self, programs: Iterable[ProgramRecord]) -> None: ...
    def add_llm_calls(
        self, calls: Iterable[CallRecord], *, program_id: int | None = None, seq: int | None = None
    ) -> list[int]: ...
    def set_island_state(self, island: int, state: Mapping[str, Any]) -> None: ...
    def log_event(self, kind: str, data: Mapping[str, Any] | None = None) -> int: ...

    # -- reading ----------------------------------------------------------------------
    def unpublished(self) -> list[ProgramRecord]: ...
    def get_programs(self, ids: Iterable[int]) -> list[ProgramRecord]: ...
    def find_by_hash(self, code_hash: str) -> ProgramRecord | None: ...
    def done_seqs(self) -> set[int]: ...
    def count(self, statuses: str | Iterable[str] | None = None, island: int | None = None) -> int: ...
    def best(self, k: int = 1, island: int | None = None) -> list[ProgramRecord]: ...
    def elites(
        self, island: int, k: int, max_born_at: int | None = None, min_born_at: int | None = None
    ) -> list[ProgramRecord]: ...
    def programs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        island: int | None = None,
        limit: int | None = None,
        order: str = "id",
        after_id: int | None = None,
    ) -> list[ProgramRecord]: ...
    def sample_parents(
        self,
        island: int,
        k: int,
        policy: str | SelectionPolicy = "tournament",
        rng: random.Random | None = None,
        max_born_at: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ProgramRecord]: ...
    def spend(self) -> dict[str, Any]: ...
    def get_island_state(self, island: int) -> dict[str, Any]: ...
    def island_sizes(self) -> dict[int, int]: ...
    def events(self, kind: str | None = None) -> list[EventRecord]: ...

    # -- quality-diversity state (MAP-Elites cells, code embeddings) ----------------------
    def offer_elite(self, grid: str, island: int, cell: str, program_id: int, fitness: float) -> bool: ...
    def elite_programs(self, grid: str, island: int | None = None) -> dict[tuple[int, str], ProgramRecord]: ...
    def elite_ids(self, grid: str, island: int, max_born_at: int | None = None) -> list[int]: ...
    def elite_stats(self, grid: str, island: int | None = None) -> EliteStats: ...
    def clear_elites(self, grid: str) -> None: ...
    def add_embedding(self, program_id: int, model: str, dim: int, vector: bytes) -> None: ...
    def embeddings_after(self, model: str, after_program_id: int = 0) -> list[StoredEmbedding]: ...


class ArchiveCampaignStore:
    """``CampaignStore`` over an ``Archive``: every call is the archive's, for one campaign."""

    def __init__(self, archive: Archive, campaign_id: int):
        self.archive = archive
        self._campaign_id = campaign_id

    def __repr__(self) -> str:
        return f"ArchiveCampaignStore({self.archive!r}, campaign_id={self._campaign_id})"

    @property
    def campaign_id(self) -> int:
        return self._campaign_id

    def add_program(self, program: NewProgram) -> ProgramRecord:
        return self.archive.add_program(self._campaign_id, program)

    def add_programs(
        self, programs: Iterable[NewProgram], *, skip_stored_seqs: bool = False
    ) -> list[ProgramRecord | None]:
        return self.archive.add_programs(self._campaign_id, programs, skip_stored_seqs=skip_stored_seqs)

    def publish(self, programs: Iterable[ProgramRecord]) -> None:
        self.archive.publish(programs)

    def add_llm_calls(
        self, calls: Iterable[CallRecord], *, program_id: int | None = None, seq: int | None = None
    ) -> list[int]:
        return self.archive.add_llm_calls(self._campaign_id, calls, program_id=program_id, seq=seq)

    def set_island_state(self, island: int, state: Mapping[str, Any]) -> None:
        self.archive.set_island_state(self._campaign_id, island, state)

    def log_event(self, kind: str, data: Mapping[str, Any] | None = None) -> int:
        return self.archive.log_event(self._campaign_id, kind, data)

    def unpublished(self) -> list[ProgramRecord]:
        return self.archive.unpublished(self._campaign_id)

    def get_programs(self, ids: Iterable[int]) -> list[ProgramRecord]:
        return self.archive.get_programs(ids)

    def find_by_hash(self, code_hash: str) -> ProgramRecord | None:
        return self.archive.find_by_hash(self._campaign_id, code_hash)

    def done_seqs(self) -> set[int]:
        return self.archive.done_seqs(self._campaign_id)

    def count(self, statuses: str | Iterable[str] | None = None, island: int | None = None) -> int:
        return self.archive.count(self._campaign_id, statuses, island)

    def best(self, k: int = 1, island: int | None = None) -> list[ProgramRecord]:
        return self.archive.best(self._campaign_id, k, island)

    def elites(
        self, island: int, k: int, max_born_at: int | None = None, min_born_at: int | None = None
    ) -> list[ProgramRecord]:
        return self.archive.elites(self._campaign_id, island, k, max_born_at=max_born_at, min_born_at=min_born_at)

    def programs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        island: int | None = None,
        limit: int | None = None,
        order: str = "id",
        after_id: int | None = None,
    ) -> list[ProgramRecord]:
        return self.archive.programs(
            self._campaign_id, status=status, island=island, limit=limit, order=order, after_id=after_id
        )

    def sample_parents(
        self,
        island: int,
        k: int,
        policy: str | SelectionPolicy = "tournament",
        rng: random.Random | None = None,
        max_born_at: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ProgramRecord]:
        return self.archive.sample_parents(self._campaign_id, island, k, policy, rng, max_born_at, options)

    def spend(self) -> dict[str, Any]:
        return self.archive.spend(self._campaign_id)

    def get_island_state(self, island: int) -> dict[str, Any]:
        return self.archive.get_island_state(self._campaign_id, island)

    def island_sizes(self) -> dict[int, int]:
        return self.archive.island_sizes(self._campaign_id)

    def events(self, kind: str | None = None) -> list[EventRecord]:
        return self.archive.events(self._campaign_id, kind)

    def offer_elite(self, grid: str, island: int, cell: str, program_id: int, fitness: float) -> bool:
        return self.archive.offer_elite(self._campaign_id, grid, island, cell, program_id, fitness)

    def elite_programs(self, grid: str, island: int | None = None) -> dict[tuple[int, str], ProgramRecord]:
        return self.archive.elite_programs(self._campaign_id, grid, island)

    def elite_ids(self, grid: str, island: int, max_born_at: int | None = None) -> list[int]:
        return self.archive.elite_ids(self._campaign_id, grid, island, max_born_at)

    def elite_stats(self, grid: str, island: int | None = None) -> EliteStats:
        return self.archive.elite_stats(self._campaign_id, grid, island)

    def clear_elites(self, grid: str) -> None:
        self.archive.clear_elites(self._campaign_id, grid)

    def add_embedding(self, program_id: int, model: str, dim: int, vector: bytes) -> None:
        self.archive.add_embedding(self._campaign_id, program_id, model, dim, vector)

    def embeddings_after(self, model: str, after_program_id: int = 0) -> list[StoredEmbedding]:
        return self.archive.embeddings_after(self._campaign_id, model, after_program_id)
