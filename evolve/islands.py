"""Island policies: ring migration and FunSearch-style reset of the weaker half.

Both act on one island at its generation boundary and pull from the others, so they work
the same whether one process runs every island or several workers each lease some. They
see the archive as the next proposal does (programs born at or before ``visible``), so a
single-process campaign repeats them identically on resume. Migrants and reset founders
are copies: new rows on the destination island, with the source as parent and no new
evaluation.
"""

from __future__ import annotations

import logging
import random

from evolve.archive.campaign_store import CampaignStore
from evolve.archive.new_program import NewProgram
from evolve.archive.records import ProgramRecord

log = logging.getLogger(__name__)


def _elites(store: CampaignStore, island: int, k: int, visible: int, floor: int | None) -> list[ProgramRecord]:
    return store.elites(island, k, max_born_at=visible, min_born_at=floor)


def _copy(store: CampaignStore, program: ProgramRecord, island: int, born_at: int, operator: str) -> None:
    store.add_program(
        NewProgram(
            code=program.code,
            island=island,
            status="ok",
            born_at=born_at,
            generation=program.generation,
            parent_ids=[program.id],
            operator=operator,
            model=program.model,
            metrics=program.metrics,
            objective=program.objective,
            fitness=program.fitness,
            descriptor=program.descriptor,
            feedback=program.feedback,
            thought=program.thought,
        )
    )


def pull_migrants(
    store: CampaignStore, island: int, islands: int, size: int, visible: int, floors: dict[int, int]
) -> int:
    """Ring migration into ``island``: copy the best ``size`` programs of the previous
    island that this island does not hold yet. Returns how many moved."""
    if islands < 2:
        return 0
    src = (island - 1) % islands
    held = {p.code_hash for p in _elites(store, island, 50, visible, floors.get(island))}
    moved = 0
    for program in _elites(store, src, size, visible, floors.get(src)):
        if program.code_hash not in held:
            _copy(store, program, island, visible, "migration")
            moved += 1
    return moved


def reset_if_weak(
    store: CampaignStore, island: int, islands: int, visible: int, floors: dict[int, int], rng: random.Random
) -> bool:
    """FunSearch reset: if ``island``'s best is in the weaker half of all islands, restart
    it from the best program of a random island in the stronger half."""
    if islands < 2:
        return False

    def best_of(i: int) -> ProgramRecord | None:
        top = _elites(store, i, 1, visible, floors.get(i))
        return top[0] if top and top[0].fitness is not None else None

    def fitness_of(i: int) -> float:
        p = best[i]
        return p.fitness if p is not None and p.fitness is not None else float("-inf")

    best = {i: best_of(i) for i in range(islands)}
    order = sorted(range(islands), key=lambda i: (fitness_of(i), -i))
    weak = order[: islands // 2]
    strong = [i for i in order[islands // 2 :] if best[i] is not None]
    if island not in weak or not strong:
        return False
    founder = best[rng.choice(strong)]
    assert founder is not None  # strong islands have a best
    floors[island] = visible  # older programs of this island are no longer sampled
    _copy(store, founder, island, visible, "reset")
    return True
