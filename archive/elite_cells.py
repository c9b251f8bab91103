"""MAP-Elites cells in SQL: which program is the elite of each (grid, island, cell).

The grid geometry (which cell a descriptor falls in) lives in
``evolve.archive.policies.map_elites``; this mixin only stores and reads the cells.
Offering is one atomic upsert that replaces a cell's elite only with a strictly fitter
program, so concurrent workers agree on every cell.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, delete, func, select

from evolve.archive.base import ArchiveBase
from evolve.archive.models import ELITE_CELLS, PROGRAMS, utcnow
from evolve.archive.records import ProgramRecord, program_from_row

_E = ELITE_CELLS
_P = PROGRAMS


class EliteStats(NamedTuple):
    filled: int
    """Cells holding an elite."""
    total_fitness: float
    """The QD score: the sum of the elites' fitness."""
    best: float | None


class EliteCellsMixin(ArchiveBase):
    def offer_elite(self, campaign_id: int, grid: str, island: int, cell: str, program_id: int, fitness: float) -> bool:
        """Make the program the elite of its cell if the cell is empty or holds a less fit
        one (ties keep the incumbent). Returns whether it became the elite."""
        now = utcnow()
        values = dict(
            campaign_id=campaign_id,
            grid=grid,
            island=island,
            cell=cell,
            program_id=program_id,
            fitness=fitness,
            updated_at=now,
        )
        set_ = {"program_id": program_id, "fitness": fitness, "updated_at": now}

        def tx(conn: Connection) -> bool:
            stmt = self._upsert(
                conn, _E, values, ["campaign_id", "grid", "island", "cell"], set_, where=_E.c.fitness < fitness
            )
            # A row comes back only when the program was inserted or replaced the elite.
            return conn.execute(stmt.returning(_E.c.program_id)).first() is not None

        return self._write(tx)

    def elite_programs(
        self, campaign_id: int, grid: str, island: int | None = None
    ) -> dict[tuple[int, str], ProgramRecord]:
        """(island, cell) -> elite program, in island and cell order."""
        q = (
            select(_E.c.island, _E.c.cell, _P)
            .join(_P, _P.c.id == _E.c.program_id)
            .where(_E.c.campaign_id == campaign_id, _E.c.grid == grid)
            .order_by(_E.c.island, _E.c.cell)
        )
        if island is not None:
            q = q.where(_E.c.island == island)
        with self._read() as conn:
            return {(r.island, r.cell): program_from_row(r) for r in conn.execute(q)}

    def elite_ids(self, campaign_id: int, grid: str, island: int, max_born_at: int | None = None) -> list[int]:
        """Ids of an island's elites visible at ``max_born_at``, in cell order."""
        q = (
            select(_E.c.program_id)
            .join(_P, _P.c.id == _E.c.program_id)
            .where(_E.c.campaign_id == campaign_id, _E.c.grid == grid, _E.c.island == island)
            .order_by(_E.c.cell)
        )
        if max_born_at is not None:
            q = q.where(_P.c.born_at <= max_born_at)
        with self._read() as conn:
            return [int(i) for i in conn.execute(q).scalars()]

    def elite_stats(self, campaign_id: int, grid: str, island: int | None = None) -> EliteStats:
        q = select(func.count(), func.sum(_E.c.fitness), func.max(_E.c.fitness)).where(
            _E.c.campaign_id == campaign_id, _E.c.grid == grid
        )
        if island is not None:
            q = q.where(_E.c.island == island)
        with self._read() as conn:
            n, total, best = conn.execute(q).one()
        return EliteStats(int(n), float(total or 0.0), None if best is None else float(best))

    def clear_elites(self, campaign_id: int, grid: str) -> None:
        """Empty every cell of a grid (before rebuilding it with another geometry)."""
        self._write(lambda conn: conn.execute(delete(_E).where(_E.c.campaign_id == campaign_id, _E.c.grid == grid)))
