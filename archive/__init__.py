"""Everything persistent: campaigns, programs, LLM calls, islands, events.

    from evolve.archive import Archive
    with Archive("sqlite:///runs.db") as arc:       # or postgresql://user@host/db
        c = arc.create_campaign("bp", "bin_packing", {"islands": 4})
        p = arc.add_program(c.id, code=seed, island=0, status="ok", objective=0.9, fitness=0.9)
        parents = arc.sample_parents(c.id, 0, 2, "tournament", random.Random(1))

Opening an archive creates or migrates its schema (alembic, shipped in
``archive/migrations``); ``archive.upgrade(url)`` does only that. Callers get plain
dataclasses (``ProgramRecord``, ``CampaignInfo``, ...), never ORM objects.

Quality-diversity policies (MAP-Elites grids, novelty, FunSearch clusters, embedding
near-duplicates) live in ``evolve.archive.policies``; island leases for several workers are
``Archive.acquire_island`` / ``renew_island`` / ``release_island``.

Many programs at once: ``Archive.add_programs`` (one transaction) and ``WriteBehind`` (a
group-commit queue; a program counts as stored only once its future resolved). Moving a
campaign between archives: ``evolve.archive.transfer`` (``evolve db export/import``).
"""

from evolve.archive.db import normalize_url, upgrade
from evolve.archive.dedup import code_hash
from evolve.archive.records import (
    STATUSES,
    CampaignInfo,
    EventRecord,
    IslandLease,
    LLMCallRecord,
    ProgramRecord,
)
from evolve.archive.sampling import STRATEGIES
from evolve.archive.store import Archive, SeqConflict
from evolve.archive.writebehind import WriteBehind

__all__ = [
    "Archive",
    "CampaignInfo",
    "EventRecord",
    "IslandLease",
    "LLMCallRecord",
    "ProgramRecord",
    "STATUSES",
    "STRATEGIES",
    "SeqConflict",
    "WriteBehind",
    "code_hash",
    "normalize_url",
    "upgrade",
]
