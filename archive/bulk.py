"""Bulk loading: many programs per transaction, for imports and benchmarks.

Positions among an island's ok programs and parents' child counts stay exactly as
``add_program`` would leave them; LLM calls and seq-conflict recovery are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.new_program import NewProgram, row_values


class BulkMixin(ArchiveBase):
    def add_programs_bulk(self, campaign_id: int, programs: Iterable[NewProgram], chunk: int = 5000) -> int:
        """Insert many programs fast (imports, benchmarks): one transaction per chunk,
        positions and child counts kept right; no LLM calls, no seq conflict recovery.
        Returns how many were stored."""
        total = 0
        batch: list[dict] = []

        def flush(batch: list[dict]) -> int:
            return self._write(lambda conn: self._insert_bulk(conn, campaign_id, batch))

        for program in programs:
            if not isinstance(program, NewProgram):
                raise TypeError(f"add_programs_bulk takes NewProgram records, not {type(program).__name__}")
            batch.append(row_values(campaign_id, program))
            if len(batch) >= chunk:
                total += flush(batch)
                batch = []
        if batch:
            total += flush(batch)
        if total >= 1000:
            self.analyze()
        return total

    def analyze(self) -> None:
        """Refresh the query planner's statistics (done after big bulk loads; on
        PostgreSQL autovacuum also does it eventually)."""
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            else:
                # Sampled statistics: a full ANALYZE reads every index (minutes at 1 M rows).
                conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
                conn.exec_driver_sql("ANALYZE")
                conn.commit()

    def _allocate_program_ids(self, conn: Connection, n: int) -> list[int]:
        """``n`` new program ids, inside a write transaction: from the sequence on
        PostgreSQL; on SQLite, after the largest id (the write lock is held, so no one
        else can take them), which is what SQLite itself would assign."""
        if conn.dialect.name == "postgresql":
            return list(conn.execute(S.NEXT_PROGRAM_IDS, {"n": n}).scalars())
        top = int(conn.execute(S.MAX_PROGRAM_ID).scalar() or 0)
        return list(range(top + 1, top + 1 + n))

    def _insert_bulk(self, conn: Connection, campaign_id: int, batch: list[dict]) -> int:
        per_island: dict[int, list[dict]] = {}
        for v in batch:
            if v["status"] == "ok":
                per_island.setdefault(v["island"], []).append(v)
        for island, vs in per_island.items():
            first = self._next_positions(conn, campaign_id, island, len(vs))
            for i, v in enumerate(vs):
                v["ok_pos"] = first + i
        ids = self._allocate_program_ids(conn, len(batch))
        for pid, v in zip(ids, batch):
            v["id"] = pid
        conn.execute(S.INSERT_PROGRAMS_PLAIN, batch)
        links = [
            {"child_id": pid, "rank": i, "parent_id": p}
            for pid, v in zip(ids, batch)
            for i, p in enumerate(v["parent_ids"])
        ]
        if links:
            conn.execute(S.INSERT_LINKS, links)
            counts: dict[int, int] = {}
            for v in batch:
                for p in set(v["parent_ids"]):
                    counts[p] = counts.get(p, 0) + 1
            conn.execute(S.BUMP_CHILDREN, [{"pid": p, "by": counts[p]} for p in sorted(counts)])
        return len(batch)
