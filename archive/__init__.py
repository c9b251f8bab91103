"""Everything persistent: campaigns, programs, LLM calls, islands, events.

    from evolve.archive import Archive
    with Archive("sqlite:///runs.db") as arc:       # or postgresql://user@host/db
        c = arc.create_campaign("bp", "bin_packing", {"islands": 4})
        p = arc.add_program(c.id, NewProgram(code=seed, island=0, status="ok", objective=0.9, fitness=0.9))
        parents = arc.sample_parents(c.id, 0, 2, "tournament", random.Random(1))
        store = arc.campaign_store(c.id)               # the same, bound to one campaign

The campaign loop holds a ``CampaignStore`` (``evolve.archive.campaign_store``): the
archive's methods for one campaign, so no campaign id travels through the loop.

Many programs at once: ``Archive.add_programs`` (one transaction) and ``WriteBehind`` (a
group-commit queue; a program counts as stored only once its future resolved). Moving a
campaign between archives: ``evolve.archive.transfer`` (``evolve db export/import``).

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

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names load on first use, so importing a light submodule (the selection registry, the
# records) does not pull SQLAlchemy in: ``evolve --help`` and config validation stay fast.
_EXPORTS = {
    "Archive": "evolve.archive.store",
    "SeqConflict": "evolve.archive.store",
    "ArchiveCampaignStore": "evolve.archive.campaign_store",
    "CampaignStore": "evolve.archive.campaign_store",
    "normalize_url": "evolve.archive.db",
    "upgrade": "evolve.archive.db",
    "code_hash": "evolve.archive.dedup",
    "NewProgram": "evolve.archive.new_program",
    "CampaignInfo": "evolve.archive.records",
    "EventRecord": "evolve.archive.records",
    "IslandLease": "evolve.archive.records",
    "LLMCallRecord": "evolve.archive.records",
    "ProgramRecord": "evolve.archive.records",
    "SELECTION_POLICIES": "evolve.archive.selection",
    "SelectionPolicy": "evolve.archive.selection",
    "register_policy": "evolve.archive.selection",
    "STATUSES": "evolve.constants",
    "WriteBehind": "evolve.archive.writebehind",
}

if TYPE_CHECKING:
    from evolve.archive.campaign_store import ArchiveCampaignStore, CampaignStore
    from evolve.archive.db import normalize_url, upgrade
    from evolve.archive.dedup import code_hash
    from evolve.archive.new_program import NewProgram
    from evolve.archive.records import CampaignInfo, EventRecord, IslandLease, LLMCallRecord, ProgramRecord
    from evolve.archive.selection import SELECTION_POLICIES, SelectionPolicy, register_policy
    from evolve.archive.store import Archive, SeqConflict
    from evolve.archive.writebehind import WriteBehind
    from evolve.constants import STATUSES

__all__ = [
    "Archive",
    "ArchiveCampaignStore",
    "CampaignInfo",
    "CampaignStore",
    "EventRecord",
    "IslandLease",
    "LLMCallRecord",
    "NewProgram",
    "ProgramRecord",
    "SELECTION_POLICIES",
    "STATUSES",
    "SelectionPolicy",
    "SeqConflict",
    "WriteBehind",
    "WriteBehind",
    "code_hash",
    "normalize_url",
    "register_policy",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evolve.archive' has no attribute {name!r}")
