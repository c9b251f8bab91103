"""Group commits: many programs, with their LLM calls, stored in one transaction.

``Archive.add_programs`` is ``add_program`` for a list of ``NewProgram`` records: every program, its parent links,
its LLM calls and the spend totals go in one transaction, so a batch costs one commit
(one WAL sync on PostgreSQL, one write-lock round on SQLite) instead of one per program.
Either the whole batch is stored or none of it. ``evolve.archive.writebehind`` builds a
background group-commit queue on top of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.models import Program, utcnow
from evolve.archive.new_program import CallRecord, NewProgram, record_of, row_values
from evolve.archive.records import ProgramRecord


class BatchMixin(ArchiveBase):
    if TYPE_CHECKING:  # provided by Archive (store.py) and BulkMixin
        _insert_program: Callable[..., int]
        _allocate_program_ids: Callable[..., list[int]]
        _explain_integrity: Callable[[int, int | None], None]

    def add_programs(
        self, campaign_id: int, programs: Iterable[NewProgram], *, skip_stored_seqs: bool = False
    ) -> list[ProgramRecord | None]:
        """Store several ``NewProgram`` records in ONE transaction: all or nothing, one commit.

        They are stored, positioned and published (each as its ``publish`` says) in the
        order given. Returns their records in that order. When a ``seq`` is already stored in the campaign, raises
        ``SeqConflict`` and stores nothing; with ``skip_stored_seqs=True`` such programs
        are left out instead (their slot in the result is None: another worker stored
        that proposal first) and the rest is stored.
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
            todo = [(v, calls, pub) for v, calls, pub in prepared if v["seq"] not in taken]
            self._insert_many(conn, campaign_id, todo)
            return [None if v["seq"] in taken else v["id"] for v, _, _ in prepared]

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

    def _insert_many(self, conn: Connection, campaign_id: int, todo: list[tuple[dict, list[CallRecord], bool]]) -> None:
        """Insert programs with a handful of statements whatever their number: positions
        reserved per island (islands in order, so concurrent writers lock alike), ids
        drawn up front, then one executemany each for programs, parent links, child
        counts and LLM calls, and one spend update."""
        from evolve.archive.store import add_spend, call_rows

        per_island: dict[int, list[dict]] = {}
        for v, _, publish in todo:
            v["ok_pos"] = None
            if v["status"] == "ok" and publish:
                per_island.setdefault(v["island"], []).append(v)
        for island in sorted(per_island):
            first = self._next_positions(conn, campaign_id, island, len(per_island[island]))
            for i, v in enumerate(per_island[island]):
                v["ok_pos"] = first + i
        for pid, (v, _, _) in zip(self._allocate_program_ids(conn, len(todo)), todo):
            v["id"] = pid
        conn.execute(S.INSERT_PROGRAMS_PLAIN, [v for v, _, _ in todo])
        links = [
            {"child_id": v["id"], "rank": i, "parent_id": p} for v, _, _ in todo for i, p in enumerate(v["parent_ids"])
        ]
        if links:
            conn.execute(S.INSERT_LINKS, links)
        bumps: dict[int, int] = {}
        for v, _, publish in todo:
            for p in set(v["parent_ids"]) if publish else ():
                bumps[p] = bumps.get(p, 0) + 1
        if bumps:  # sorted: concurrent writers lock parent rows in one order
            conn.execute(S.BUMP_CHILDREN, [{"pid": p, "by": n} for p, n in sorted(bumps.items())])
        now = utcnow()
        calls = [row for v, c, _ in todo if c for row in call_rows(campaign_id, v["id"], v["seq"], c, now)]
        if calls:
            conn.execute(S.INSERT_CALLS_PLAIN, calls)
            add_spend(conn, campaign_id, calls)

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
