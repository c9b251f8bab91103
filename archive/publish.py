"""Late publication: programs stored durably but sampleable only when the loop says so.

The campaign loop stores every result the moment it is known (the database is the
checkpoint) but makes it sampleable, in proposal order, only once later proposals may
see it. Sampling positions and parents' child counts then follow proposal order, not
the order in which evaluations happened to finish, so a campaign is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.models import Program
from evolve.archive.records import ProgramRecord, program_from_row


class PublishMixin(ArchiveBase):
    def publish(self, programs: Iterable[ProgramRecord]) -> None:
        """Make programs stored with ``publish=False`` count for sampling, in the given
        order: ok ones get their island position, every one bumps its parents' child
        counts. One transaction."""
        programs = list(programs)
        if not programs:
            return

        def tx(conn) -> None:
            for p in programs:
                if p.status == "ok":
                    pos = self._next_positions(conn, p.campaign_id, p.island, 1)
                    conn.execute(update(Program).where(Program.id == p.id, Program.ok_pos.is_(None)).values(ok_pos=pos))
                if p.parent_ids:
                    conn.execute(S.BUMP_PARENTS, {"ids": sorted(set(p.parent_ids))})

        self._write(tx)

    def unpublished(self, campaign_id: int) -> list[ProgramRecord]:
        """Ok programs stored with ``publish=False`` and not published yet (resume)."""
        q = (
            select(Program)
            .where(Program.campaign_id == campaign_id, Program.status == "ok", Program.ok_pos.is_(None))
            .order_by(Program.born_at, Program.id)
        )
        with self._read() as conn:
            return [program_from_row(r) for r in conn.execute(q)]
