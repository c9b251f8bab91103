"""Group commits: many programs, with their LLM calls, stored in one transaction.

``Archive.add_programs`` is ``add_program`` for a list of ``NewProgram`` records: every
program, its parent links, its LLM calls and the spend totals go in one transaction, so a
batch costs one commit (one WAL sync on PostgreSQL, one write-lock round on SQLite)
instead of one per program. Either the whole batch is stored or none of it.
``evolve.archive.writebehind`` builds a background group-commit queue on top of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from evolve.archive.base import ArchiveBase
from evolve.archive.models import Program
from evolve.archive.new_program import NewProgram, record_of, row_values
from evolve.archive.records import ProgramRecord


class BatchMixin(ArchiveBase):
    def add_programs(
        self, campaign_id: int, programs: Iterable[NewProgram], *, skip_stored_seqs: bool = False
    ) -> list[ProgramRecord | None]:
        """Store several programs in ONE transaction: all or nothing, one commit.

        They are stored, positioned and published (each as its ``publish`` says) in the
        order given; returns their records in that order. When a ``seq`` is already
        stored in the campaign, raises ``SeqConflict`` and stores nothing; with
        ``skip_stored_seqs=True`` such programs are left out instead (their slot in the
        result is None: another worker stored that proposal first) and the rest is stored.
        """
        items = list(programs)
        for p in items:
            if not isinstance(p, NewProgram):
                raise TypeError(f"add_programs takes NewProgram records, not {type(p).__name__}")
        prepared = [(row_values(campaign_id, p), list(p.llm_calls), p.publish) for p in items]
        if not prepared:
            return []
        seqs = [v["seq"] for v, _, _ in prepared if v["seq"] is not None]
        if len(seqs) != len(set(seqs)):
            raise ValueError("a batch holds the same seq twice")

        def tx(conn: Connection) -> list[int | None]:
            taken = self._stored_seqs(conn, campaign_id, seqs) if skip_stored_seqs and seqs else set()
            ids: list[int | None] = []
            for values, calls, publish in prepared:
                if values["seq"] in taken:
                    ids.append(None)
                    continue
                ids.append(self._insert_program(conn, values, calls, publish))
            return ids

        for attempt in range(2):
            try:
                ids = self._write(tx)
                break
            except IntegrityError:
                # PostgreSQL: another worker may have stored one of these seqs between the
                # check and the insert; the check runs again on retry.
                if skip_stored_seqs and attempt == 0:
                    continue
                self._explain_batch_conflict(campaign_id, seqs)
                raise
        return [None if pid is None else record_of(values, pid) for (values, _, _), pid in zip(prepared, ids)]

    def _insert_program(self, conn: Connection, values: dict, calls: list, publish: bool = True) -> int:
        raise NotImplementedError  # Archive's (evolve.archive.store)

    def _explain_integrity(self, campaign_id: int, seq: int | None) -> None:
        raise NotImplementedError  # Archive's (evolve.archive.store)

    def _stored_seqs(self, conn: Connection, campaign_id: int, seqs: Sequence[int]) -> set[int]:
        q = select(Program.seq).where(Program.campaign_id == campaign_id, Program.seq.in_(list(seqs)))
        return {int(s) for s in conn.execute(q).scalars() if s is not None}

    def _explain_batch_conflict(self, campaign_id: int, seqs: Sequence[int]) -> None:
        from evolve.archive.store import SeqConflict

        with self._read() as conn:
            taken = sorted(self._stored_seqs(conn, campaign_id, seqs)) if seqs else []
        if taken:
            raise SeqConflict(
                f"campaign {campaign_id} already has programs with seq {', '.join(map(str, taken[:10]))}; "
                "nothing of this batch was stored"
            ) from None
        self._explain_integrity(campaign_id, None)
