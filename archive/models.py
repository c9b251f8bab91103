"""The archive's tables as SQLAlchemy 2.x ORM models.

These classes describe the schema; the migrations under ``archive/migrations`` create
it (a test checks that the two agree). The facade in ``evolve.archive.store`` runs Core
statements against these tables and hands callers plain dataclasses, never ORM objects.

The indexes exist for the hot paths at a million programs: adding (unique seq), dedup
(code hash), best per island and weighted sampling (fitness order within an island),
uniform probes (``ok_pos``: a dense position among an island's ok programs), children
and lineage (``program_parents``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
BigId = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC, returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(String(500))
    config: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="created")
    state: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Running totals of recorded LLM calls, so a budget check never sums a big table.
    spent_input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    spent_cost: Mapped[float] = mapped_column(Double, default=0.0)
    n_calls: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("name", name="uq_campaigns_name"),)


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    born_at: Mapped[int] = mapped_column(BigInteger, default=0)
    island: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64))
    parent_ids: Mapped[list[int]] = mapped_column(Json, default=list)
    operator: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    objective: Mapped[float | None] = mapped_column(Double)
    fitness: Mapped[float | None] = mapped_column(Double)
    descriptor: Mapped[dict[str, Any] | None] = mapped_column(Json)
    feedback: Mapped[str | None] = mapped_column(Text)
    thought: Mapped[str | None] = mapped_column(Text)
    stdout: Mapped[str | None] = mapped_column(Text)
    eval_time: Mapped[float | None] = mapped_column(Double)
    proposal_time: Mapped[float | None] = mapped_column(Double)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Double, default=0.0)
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger)
    n_children: Mapped[int] = mapped_column(Integer, default=0)
    # Dense 0-based position among the island's ok programs, in insertion order: a
    # uniform draw is one random integer and one index lookup, at any archive size.
    ok_pos: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("campaign_id", "seq", name="uq_programs_campaign_seq"),
        UniqueConstraint("campaign_id", "island", "ok_pos", name="uq_programs_island_pos"),
        Index("ix_programs_hash", "campaign_id", "code_hash"),
        Index("ix_programs_island_fitness", "campaign_id", "island", "status", fitness.desc(), "id", "born_at"),
        Index("ix_programs_fitness", "campaign_id", "status", fitness.desc(), "id"),
    )


class ProgramParent(Base):
    """One row per (child, parent): children and ancestry without parsing JSON."""

    __tablename__ = "program_parents"

    child_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_program_parents_parent", "parent_id", "child_id"),)


class LLMCallRow(Base):
    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="SET NULL"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32), default="propose")
    prompt: Mapped[Any] = mapped_column(Json, nullable=True)
    response: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Double, default=0.0)
    latency: Mapped[float] = mapped_column(Double, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_llm_calls_campaign", "campaign_id", "id"),
        Index("ix_llm_calls_program", "program_id"),
    )


class Island(Base):
    __tablename__ = "islands"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    n_ok: Mapped[int] = mapped_column(BigInteger, default=0)
    # Leasing for several worker processes on one campaign (unix seconds).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires: Mapped[float | None] = mapped_column(Double)
    heartbeat_at: Mapped[float | None] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_events_campaign_kind", "campaign_id", "kind", "id"),)


class EliteCell(Base):
    """One MAP-Elites cell: the fittest program seen with a descriptor in that cell.
    ``grid`` names the grid (a campaign may keep several)."""

    __tablename__ = "elite_cells"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    grid: Mapped[str] = mapped_column(String(64), primary_key=True)
    island: Mapped[int] = mapped_column(Integer, primary_key=True)
    cell: Mapped[str] = mapped_column(String(200), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    fitness: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProgramEmbedding(Base):
    """A code embedding (float32 bytes) for near-duplicate checks."""

    __tablename__ = "program_embeddings"

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_program_embeddings_campaign", "campaign_id", "model", "program_id"),)


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, typed as one (``Model.__table__`` is declared as a
    plain FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


CAMPAIGNS = table_of(Campaign)
PROGRAMS = table_of(Program)
PROGRAM_PARENTS = table_of(ProgramParent)
LLM_CALLS = table_of(LLMCallRow)
ISLANDS = table_of(Island)
EVENTS = table_of(Event)
ELITE_CELLS = table_of(EliteCell)
PROGRAM_EMBEDDINGS = table_of(ProgramEmbedding)
