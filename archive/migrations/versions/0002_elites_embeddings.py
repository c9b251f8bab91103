"""MAP-Elites cells and code embeddings.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

import sqlalchemy as sa
from alembic import op

from evolve.archive.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "elite_cells",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("grid", sa.String(64), primary_key=True),
        sa.Column("island", sa.Integer(), primary_key=True),
        sa.Column("cell", sa.String(200), primary_key=True),
        sa.Column("program_id", BigId, sa.ForeignKey("programs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fitness", sa.Double(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "program_embeddings",
        sa.Column("program_id", BigId, sa.ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_program_embeddings_campaign", "program_embeddings", ["campaign_id", "model", "program_id"])


def downgrade() -> None:
    op.drop_table("program_embeddings")
    op.drop_table("elite_cells")
