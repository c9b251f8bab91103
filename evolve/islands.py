"""Island policies: ring migration and FunSearch-style reset of the weaker half.

Both run between proposals at fixed sequence numbers and see the archive exactly as the
next proposal does (programs born at or before ``visible``), so they are deterministic
and a resumed campaign repeats them identically. Migrants and reset seeds are copies:
new rows on the destination island, with the source as parent and no new evaluation.
"""

from __future__ import annotations

import logging
import random

log = logging.getLogger(__name__)


def _copy(archive, campaign_id: int, program, island: int, born_at: int, operator: str) -> None:
    archive.add_program(
        campaign_id, code=program.code, island=island, status="ok", born_at=born_at,
        generation=program.generation, parent_ids=[program.id], operator=operator, model=program.model,
        metrics=program.metrics, objective=program.objective, fitness=program.fitness,
        descriptor=program.descriptor, feedback=program.feedback, thought=program.thought,
    )


def _view(visible: int, floor: int | None) -> dict:
    return {"max_born_at": visible, **({"min_born_at": floor} if floor is not None else {})}


def migrate(archive, campaign_id: int, islands: int, size: int, visible: int, floors: dict[int, int]) -> int:
    """Ring migration: each island sends its best ``size`` programs to the next one.
    Returns how many programs moved (a program the destination already holds stays)."""
    if islands < 2:
        return 0
    best = {i: archive.elites(campaign_id, i, size, **_view(visible, floors.get(i))) for i in range(islands)}
    moved = 0
    for src in range(islands):
        dest = (src + 1) % islands
        held = {p.code_hash for p in archive.elites(campaign_id, dest, 50, **_view(visible, floors.get(dest)))}
        for program in best[src]:
            if program.code_hash not in held:
                _copy(archive, campaign_id, program, dest, visible, "migration")
                moved += 1
    return moved


def reset_weaker_half(archive, campaign_id: int, islands: int, visible: int, floors: dict[int, int], rng: random.Random) -> list[int]:
    """FunSearch reset: the islands whose best is in the weaker half restart from the best
    program of a random surviving island. Returns the reset islands."""
    if islands < 2:
        return []
    best = {}
    for i in range(islands):
        top = archive.elites(campaign_id, i, 1, **_view(visible, floors.get(i)))
        best[i] = top[0] if top else None
    order = sorted(range(islands), key=lambda i: (best[i].fitness if best[i] and best[i].fitness is not None else float("-inf"), -i))
    weak, strong = order[: islands // 2], [i for i in order[islands // 2 :] if best[i] is not None]
    if not strong:
        return []
    for island in weak:
        founder = best[rng.choice(strong)]
        floors[island] = visible  # older programs of this island are no longer sampled
        _copy(archive, campaign_id, founder, island, visible, "reset")
    return weak
