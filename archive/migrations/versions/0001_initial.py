"""Initial archive schema: campaigns, programs, parents, LLM calls, islands, events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from evolve.archive.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("problem", sa.String(500), nullable=False),
        sa.Column("config", Json, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("state", Json, nullable=False),
        sa.Column("spent_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("spent_output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("spent_cost", sa.Double(), nullable=False),
        sa.Column("n_calls", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_campaigns_name"),
    )
    op.create_table(
        "programs",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("born_at", sa.BigInteger(), nullable=False),
        sa.Column("island", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("parent_ids", Json, nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("metrics", Json, nullable=False),
        sa.Column("objective", sa.Double(), nullable=True),
        sa.Column("fitness", sa.Double(), nullable=True),
        sa.Column("descriptor", Json, nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("thought", sa.Text(), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=True),
        sa.Column("eval_time", sa.Double(), nullable=True),
        sa.Column("proposal_time", sa.Double(), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Double(), nullable=False),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column("n_children", sa.Integer(), nullable=False),
        sa.Column("ok_pos", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("campaign_id", "seq", name="uq_programs_campaign_seq"),
        sa.UniqueConstraint("campaign_id", "island", "ok_pos", name="uq_programs_island_pos"),
    )
    op.create_index("ix_programs_hash", "programs", ["campaign_id", "code_hash"])
    op.create_index(
        "ix_programs_island_fitness",
        "programs",
        ["campaign_id", "island", "status", sa.text("fitness DESC"), "id", "born_at"],
    )
    op.create_index("ix_programs_fitness", "programs", ["campaign_id", "status", sa.text("fitness DESC"), "id"])
    op.create_table(
        "program_parents",
        sa.Column("child_id", BigId, sa.ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("rank", sa.Integer(), primary_key=True),
        sa.Column("parent_id", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_program_parents_parent", "program_parents", ["parent_id", "child_id"])
    op.create_table(
        "llm_calls",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("program_id", BigId, sa.ForeignKey("programs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("prompt", Json, nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Double(), nullable=False),
        sa.Column("latency", sa.Double(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_llm_calls_campaign", "llm_calls", ["campaign_id", "id"])
    op.create_index("ix_llm_calls_program", "llm_calls", ["program_id"])
    op.create_table(
        "islands",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("island", sa.Integer(), primary_key=True),
        sa.Column("state", Json, nullable=False),
        sa.Column("n_ok", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires", sa.Double(), nullable=True),
        sa.Column("heartbeat_at", sa.Double(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_events_campaign_kind", "events", ["campaign_id", "kind", "id"])


def downgrade() -> None:
    for table in ("events", "islands", "llm_calls", "program_parents", "programs", "campaigns"):
        op.drop_table(table)
