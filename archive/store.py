"""The ``Archive`` facade: every read and write the engine makes, one short
transaction per call, plain dataclasses out.

Safe to share between threads (each call checks a connection out of the engine's pool)
and between processes on one SQLite file or PostgreSQL database. Sampling, lineage,
island state and events, island leases and bulk loading live in mixins next to this
module; this file holds campaigns and adding and querying programs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from evolve.archive import db
from evolve.archive import statements as S
from evolve.archive.admin import AdminMixin
from evolve.archive.base import ArchiveBase
from evolve.archive.batch import BatchMixin
from evolve.archive.bulk import BulkMixin
from evolve.archive.campaign_store import ArchiveCampaignStore
from evolve.archive.elite_cells import EliteCellsMixin
from evolve.archive.embedding_rows import EmbeddingRowsMixin
from evolve.archive.islands import IslandsMixin
from evolve.archive.leases import LeaseMixin
from evolve.archive.lineage import LineageMixin
from evolve.archive.models import Campaign, LLMCallRow, Program, utcnow
from evolve.archive.new_program import CallRecord, NewProgram, record_of, row_values
from evolve.archive.publish import PublishMixin
from evolve.archive.records import (
    CampaignInfo,
    LLMCallRecord,
    ProgramRecord,
    campaign_from_row,
    clean_json,
    llm_call_from_row,
    program_from_row,
)
from evolve.archive.sampling import SamplingMixin
from evolve.errors import ConfigError, StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")

_PROGRAM_ORDERS = {
    "id": (Program.id,),
    "-id": (Program.id.desc(),),
    "seq": (Program.seq.asc().nulls_last(), Program.id),
    "fitness": (Program.fitness.desc(), Program.born_at, Program.id),
}


class SeqConflict(StorageError):
    """A program with this proposal sequence number is already stored."""


def call_rows(campaign_id: int, program_id: int | None, seq: int | None, calls: list, now) -> list[dict]:
    """``llm_calls`` rows for the given calls (``LLMCall``-like objects)."""
    return [
        dict(
            campaign_id=campaign_id,
            program_id=program_id,
            seq=seq,
            model=str(c.model or ""),
            purpose=getattr(c, "purpose", None) or "propose",
            prompt=clean_json(c.prompt),
            response=c.response,
            input_tokens=int(c.input_tokens or 0),
            output_tokens=int(c.output_tokens or 0),
            cost=float(c.cost or 0.0),
            latency=float(getattr(c, "latency", 0.0) or 0.0),
            error=getattr(c, "error", None),
            created_at=now,
        )
        for c in calls
    ]


def add_spend(conn, campaign_id: int, rows: list[dict]) -> None:
    """Add recorded calls to the campaign's running spend totals."""
    conn.execute(
        S.ADD_SPEND,
        {
            "cid": campaign_id,
            "d_in": sum(r["input_tokens"] for r in rows),
            "d_out": sum(r["output_tokens"] for r in rows),
            "d_cost": math.fsum(r["cost"] for r in rows),
            "d_calls": len(rows),
        },
    )


def _statuses(statuses: str | Iterable[str] | None) -> list[str] | None:
    if statuses is None:
        return None
    return [statuses] if isinstance(statuses, str) else list(statuses)


class Archive(
    AdminMixin,
    BatchMixin,
    SamplingMixin,
    LineageMixin,
    LeaseMixin,
    BulkMixin,
    IslandsMixin,
    PublishMixin,
    EliteCellsMixin,
    EmbeddingRowsMixin,
    ArchiveBase,
):
    """Everything persistent about campaigns; see the package docstring for the model."""

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Archive({db.safe_url(self.url)!r})"

    # -- campaigns ----------------------------------------------------------------

    def create_campaign(self, name: str, problem: str, config: dict) -> CampaignInfo:
        now = utcnow()
        values = dict(
            name=name,
            problem=problem,
            config=clean_json(dict(config)),
            status="created",
            state={},
            spent_input_tokens=0,
            spent_output_tokens=0,
            spent_cost=0.0,
            n_calls=0,
            created_at=now,
            updated_at=now,
        )
        try:
            cid = self._write(
                lambda c: c.execute(insert(Campaign).values(**values).returning(Campaign.id)).scalar_one()
            )
        except IntegrityError:
            raise ConfigError(
                f"a campaign named {name!r} already exists in this archive: resume it or pick another name"
            ) from None
        return self._campaign_by_id(cid)

    def get_campaign(self, name: str) -> CampaignInfo | None:
        with self._read() as conn:
            row = conn.execute(select(Campaign).where(Campaign.name == name)).first()
        return campaign_from_row(row) if row else None

    def get_campaign_by_id(self, campaign_id: int) -> CampaignInfo | None:
        with self._read() as conn:
            row = conn.execute(select(Campaign).where(Campaign.id == campaign_id)).first()
        return campaign_from_row(row) if row else None

    def _campaign_by_id(self, campaign_id: int) -> CampaignInfo:
        info = self.get_campaign_by_id(campaign_id)
        if info is None:  # deleted by another process between our write and this read
            raise ValueError(f"no campaign with id {campaign_id}")
        return info

    def list_campaigns(self) -> list[CampaignInfo]:
        with self._read() as conn:
            return [campaign_from_row(r) for r in conn.execute(select(Campaign).order_by(Campaign.id))]

    def update_campaign(
        self, campaign_id: int, *, status: str | None = None, state: dict | None = None, config: dict | None = None
    ) -> CampaignInfo:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if status is not None:
            values["status"] = status
        if state is not None:
            values["state"] = clean_json(dict(state))
        if config is not None:
            values["config"] = clean_json(dict(config))
        n = self._write(
            lambda c: c.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values)).rowcount
        )
        if n != 1:
            raise ValueError(f"no campaign with id {campaign_id}")
        return self._campaign_by_id(campaign_id)

    # -- adding programs ----------------------------------------------------------

    def add_program(self, campaign_id: int, program: NewProgram) -> ProgramRecord:
        """Store one program, its LLM calls and its parents' child counts atomically.

        Raises ``SeqConflict`` (and stores nothing) when ``program.seq`` is already used
        in this campaign. A program with ``publish=False`` is stored durably but kept out
        of parent sampling until ``publish`` (see ``NewProgram.publish``).
        """
        values = row_values(campaign_id, program)
        calls = list(program.llm_calls)
        publish = program.publish

        def tx(conn: Connection) -> int:
            return self._insert_program(conn, values, calls, publish)

        try:
            pid = self._write(tx)
        except IntegrityError:
            self._explain_integrity(campaign_id, program.seq)
            raise
        return record_of(values, pid)

    def campaign_store(self, campaign_id: int) -> ArchiveCampaignStore:
        """This archive as one campaign sees it (what the campaign loop holds)."""
        return ArchiveCampaignStore(self, campaign_id)

    def _insert_program(
        self, conn: Connection, values: dict[str, Any], calls: list[CallRecord], publish: bool = True
    ) -> int:
        if values["status"] == "ok" and publish:
            values["ok_pos"] = self._next_positions(conn, values["campaign_id"], values["island"], 1)
        pid = conn.execute(S.INSERT_PROGRAM, values).scalar_one()
        parents = values["parent_ids"]
        if parents:
            links = [{"child_id": pid, "rank": i, "parent_id": p} for i, p in enumerate(parents)]
            conn.execute(S.INSERT_LINKS, links if len(links) > 1 else links[0])
            if publish:
                # Sorted, so concurrent writers lock parent rows in one order (no deadlock).
                conn.execute(S.BUMP_PARENTS, {"ids": sorted(set(parents))})
        if calls:
            self._insert_calls(conn, values["campaign_id"], pid, values["seq"], calls, want_ids=False)
        return pid

    def _insert_calls(
        self, conn, campaign_id: int, program_id: int | None, seq: int | None, calls: list, want_ids: bool = True
    ) -> list[int]:
        rows = call_rows(campaign_id, program_id, seq, calls, utcnow())
        if want_ids:
            ids = list(conn.execute(S.INSERT_CALLS, rows).scalars())
        else:  # the cheaper plain INSERT (a single row needs no executemany either)
            ids = []
            conn.execute(S.INSERT_CALLS_PLAIN, rows if len(rows) > 1 else rows[0])
        add_spend(conn, campaign_id, rows)
        return ids

    def _explain_integrity(self, campaign_id: int, seq: int | None) -> None:
        with self._read() as conn:
            if (
                seq is not None
                and conn.execute(
                    select(Program.id).where(Program.campaign_id == campaign_id, Program.seq == seq)
                ).first()
            ):
                raise SeqConflict(
                    f"campaign {campaign_id} already has a program with seq {seq}; nothing was stored"
                ) from None
            if not conn.execute(select(Campaign.id).where(Campaign.id == campaign_id)).first():
                raise ValueError(f"no campaign with id {campaign_id}") from None

    def add_llm_calls(
        self, campaign_id: int, calls: Iterable[CallRecord], *, program_id: int | None = None, seq: int | None = None
    ) -> list[int]:
        """Record calls that produced no program (reflection, failed proposals)."""
        calls = list(calls)
        if not calls:
            return []
        return self._write(lambda c: self._insert_calls(c, campaign_id, program_id, seq, calls))

    # -- reading programs ---------------------------------------------------------

    def get_program(self, program_id: int) -> ProgramRecord | None:
        with self._read() as conn:
            row = conn.execute(S.PROGRAM_BY_ID, {"id": program_id}).first()
        return program_from_row(row) if row else None

    def get_programs(self, ids: Iterable[int]) -> list[ProgramRecord]:
        """Programs by id, in the order asked (missing ids are skipped)."""
        ids = list(ids)
        if not ids:
            return []
        with self._read() as conn:
            found = {r.id: program_from_row(r) for r in conn.execute(S.PROGRAMS_BY_ID, {"ids": sorted(set(ids))})}
        return [found[i] for i in ids if i in found]

    def find_by_hash(self, campaign_id: int, code_hash: str) -> ProgramRecord | None:
        """The earliest evaluated program (not rejected/duplicate) with this code hash."""
        with self._read() as conn:
            row = conn.execute(S.BY_HASH, {"cid": campaign_id, "h": code_hash}).first()
        return program_from_row(row) if row else None

    def done_seqs(self, campaign_id: int) -> set[int]:
        with self._read() as conn:
            seqs = conn.execute(
                select(Program.seq).where(Program.campaign_id == campaign_id, Program.seq.is_not(None))
            ).scalars()
            return {int(s) for s in seqs if s is not None}

    def count(
        self,
        campaign_id: int,
        statuses: str | Iterable[str] | None = None,
        island: int | None = None,
        operator: str | None = None,
    ) -> int:
        q = select(func.count()).select_from(Program).where(Program.campaign_id == campaign_id)
        if operator is not None:
            q = q.where(Program.operator == operator)
        if (st := _statuses(statuses)) is not None:
            q = q.where(Program.status.in_(st))
        if island is not None:
            q = q.where(Program.island == island)
        with self._read() as conn:
            return int(conn.execute(q).scalar_one())

    def status_counts(self, campaign_id: int, proposals_only: bool = False) -> dict[str, int]:
        """Programs by status; ``proposals_only``: only the operators' proposals (not the
        seed's copies on every island, nor migrants)."""
        q = select(Program.status, func.count()).where(Program.campaign_id == campaign_id)
        if proposals_only:
            q = q.where(Program.seq.is_not(None))
        with self._read() as conn:
            rows = conn.execute(q.group_by(Program.status))
            return {status: int(n) for status, n in rows}

    def spend(self, campaign_id: int) -> dict[str, Any]:
        """Totals over every recorded LLM call of the campaign (kept as running sums)."""
        with self._read() as conn:
            row = conn.execute(
                select(
                    Campaign.spent_input_tokens, Campaign.spent_output_tokens, Campaign.spent_cost, Campaign.n_calls
                ).where(Campaign.id == campaign_id)
            ).first()
        if row is None:
            raise ValueError(f"no campaign with id {campaign_id}")
        return {"input_tokens": int(row[0]), "output_tokens": int(row[1]), "cost": float(row[2]), "calls": int(row[3])}

    def best(self, campaign_id: int, k: int = 1, island: int | None = None) -> list[ProgramRecord]:
        """The ``k`` fittest ok programs (ties: lowest id first)."""
        q = select(Program).where(Program.campaign_id == campaign_id, Program.status == "ok")
        if island is not None:
            q = q.where(Program.island == island)
        with self._read() as conn:
            return [
                program_from_row(r)
                for r in conn.execute(q.order_by(Program.fitness.desc(), Program.born_at, Program.id).limit(k))
            ]

    def elites(
        self, campaign_id: int, island: int, k: int, max_born_at: int | None = None, min_born_at: int | None = None
    ) -> list[ProgramRecord]:
        """The ``k`` fittest ok programs of an island visible at ``max_born_at`` (and, after
        an island reset, born at or after ``min_born_at``)."""
        q = select(Program).where(Program.campaign_id == campaign_id, Program.island == island, Program.status == "ok")
        if min_born_at is not None:
            q = q.where(Program.born_at >= min_born_at)
        if max_born_at is not None:
            q = q.where(Program.born_at <= max_born_at)
        with self._read() as conn:
            return [
                program_from_row(r)
                for r in conn.execute(q.order_by(Program.fitness.desc(), Program.born_at, Program.id).limit(k))
            ]

    def programs(
        self,
        campaign_id: int,
        *,
        status: str | Iterable[str] | None = None,
        island: int | None = None,
        limit: int | None = None,
        order: str = "id",
        after_id: int | None = None,
    ) -> list[ProgramRecord]:
        """Programs of a campaign; ``order`` is id, -id, seq or fitness (best first).
        ``after_id`` pages through a big campaign in id order."""
        if order not in _PROGRAM_ORDERS:
            raise ValueError(f"order must be one of {', '.join(_PROGRAM_ORDERS)}, not {order!r}")
        q = select(Program).where(Program.campaign_id == campaign_id)
        if (st := _statuses(status)) is not None:
            q = q.where(Program.status.in_(st))
        if island is not None:
            q = q.where(Program.island == island)
        if after_id is not None:
            q = q.where(Program.id > after_id)
        q = q.order_by(*_PROGRAM_ORDERS[order])
        if limit is not None:
            q = q.limit(limit)
        with self._read() as conn:
            return [program_from_row(r) for r in conn.execute(q)]

    def llm_calls(self, campaign_id: int | None = None, program_id: int | None = None) -> list[LLMCallRecord]:
        q = select(LLMCallRow).order_by(LLMCallRow.id)
        if campaign_id is not None:
            q = q.where(LLMCallRow.campaign_id == campaign_id)
        if program_id is not None:
            q = q.where(LLMCallRow.program_id == program_id)
        with self._read() as conn:
            return [llm_call_from_row(r) for r in conn.execute(q)]
