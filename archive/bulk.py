"""Bulk loading: many programs per transaction, for imports and benchmarks.

Positions among an island's ok programs and parents' child counts stay exactly as
``add_program`` would leave them; LLM calls and seq-conflict recovery are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evolve.archive import statements as S
from evolve.archive.base import ArchiveBase
from evolve.archive.dedup import code_hash
from evolve.archive.models import utcnow
from evolve.archive.records import STATUSES, clean_json


class BulkMixin(ArchiveBase):
    def add_programs_bulk(self, campaign_id: int, rows: Iterable[Mapping[str, Any]], chunk: int = 5000) -> int:
        """Insert many programs fast (imports, benchmarks): one transaction per chunk,
        positions and child counts kept right; no LLM calls, no seq conflict recovery.
        Each row takes add_program's keyword names. Returns how many were stored."""
        total = 0
        batch: list[dict] = []

        def flush(batch: list[dict]) -> int:
            return self._write(lambda conn: self._insert_bulk(conn, campaign_id, batch))

        for row in rows:
            batch.append(self._bulk_values(campaign_id, row))
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

    def _allocate_program_ids(self, conn, n: int) -> list[int]:
        """``n`` new program ids, inside a write transaction: from the sequence on
        PostgreSQL; on SQLite, after the largest id (the write lock is held, so no one
        else can take them), which is what SQLite itself would assign."""
        if conn.dialect.name == "postgresql":
            return list(conn.execute(S.NEXT_PROGRAM_IDS, {"n": n}).scalars())
        top = int(conn.execute(S.MAX_PROGRAM_ID).scalar() or 0)
        return list(range(top + 1, top + 1 + n))

    def _bulk_values(self, campaign_id: int, row: Mapping[str, Any]) -> dict:
        if row.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {row.get('status')!r}")
        v = {
            k: row.get(k)
            for k in (
                "seq",
                "model",
                "reason",
                "objective",
                "fitness",
                "feedback",
                "thought",
                "stdout",
                "eval_time",
                "proposal_time",
                "duplicate_of",
            )
        }
        v.update(
            campaign_id=campaign_id,
            island=int(row["island"]),
            status=row["status"],
            code=row["code"],
            code_hash=row.get("code_hash") or code_hash(row["code"]),
            born_at=int(row.get("born_at") or 0),
            generation=int(row.get("generation", 0)),
            parent_ids=[int(p) for p in row.get("parent_ids", ())],
            operator=row.get("operator", ""),
            metrics=clean_json(dict(row.get("metrics") or {})),
            descriptor=None if row.get("descriptor") is None else clean_json(dict(row["descriptor"])),
            input_tokens=int(row.get("input_tokens", 0)),
            output_tokens=int(row.get("output_tokens", 0)),
            cost=float(row.get("cost", 0.0)),
            n_children=0,
            ok_pos=None,
            created_at=utcnow(),
        )
        if v["status"] == "ok" and v["fitness"] is None:
            raise ValueError("a program with status 'ok' needs a fitness")
        return v

    def _insert_bulk(self, conn, campaign_id: int, batch: list[dict]) -> int:
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
