"""Ancestry queries over ``program_parents`` (recursive CTEs, one round trip each)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, literal, select

from evolve.archive.base import ArchiveBase
from evolve.archive.models import PROGRAM_PARENTS, Program
from evolve.archive.records import ProgramRecord, program_from_row

_MAX_DEPTH = 1_000_000  # guards a malformed (cyclic) parent chain
_pp = PROGRAM_PARENTS


class LineageMixin(ArchiveBase):
    def lineage(self, program_id: int) -> list[ProgramRecord]:
        """The primary line (first parent each step) from the seed down to the program
        itself: ``[seed, ..., parent, program]``. Empty if the program is unknown."""
        chain = select(literal(program_id, BigInteger).label("id"), literal(0, Integer).label("depth")).cte(
            "chain", recursive=True
        )
        chain = chain.union_all(
            select(_pp.c.parent_id, chain.c.depth + 1).where(
                _pp.c.child_id == chain.c.id, _pp.c.rank == 0, chain.c.depth < _MAX_DEPTH
            )
        )
        q = select(Program).join(chain, Program.id == chain.c.id).order_by(chain.c.depth.desc())
        with self._read() as conn:
            return [program_from_row(r) for r in conn.execute(q)]

    def ancestors(self, program_id: int) -> list[ProgramRecord]:
        """Every ancestor through all parents (the whole DAG above it), by id."""
        return self._closure(program_id, up=True)

    def descendants(self, program_id: int) -> list[ProgramRecord]:
        """Every program that has this one as an ancestor, by id."""
        return self._closure(program_id, up=False)

    def children(self, program_id: int) -> list[ProgramRecord]:
        """Programs that list this one among their parents, by id."""
        q = (
            select(Program)
            .where(Program.id.in_(select(_pp.c.child_id).where(_pp.c.parent_id == program_id)))
            .order_by(Program.id)
        )
        with self._read() as conn:
            return [program_from_row(r) for r in conn.execute(q)]

    def _closure(self, program_id: int, up: bool) -> list[ProgramRecord]:
        near, far = (_pp.c.child_id, _pp.c.parent_id) if up else (_pp.c.parent_id, _pp.c.child_id)
        cte = select(far.label("id")).where(near == program_id).cte("related", recursive=True)
        # UNION (not ALL) drops repeats, so diamonds and bad cycles terminate.
        cte = cte.union(select(far).where(near == cte.c.id))
        q = select(Program).where(Program.id.in_(select(cte.c.id))).order_by(Program.id)
        with self._read() as conn:
            return [program_from_row(r) for r in conn.execute(q)]
