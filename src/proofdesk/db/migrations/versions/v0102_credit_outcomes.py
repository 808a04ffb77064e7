"""buyer credit: decided outcomes per claim, superseded on appeal

Revision ID: v0102_credit_outcomes
Revises: v0101_reuse_banks
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "v0102_credit_outcomes"
down_revision: str | tuple[str, ...] | None = "v0101_reuse_banks"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_outcomes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("buyer", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("decided_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("supersedes", sa.String(length=32), nullable=True),
        sa.Column("superseded_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_outcomes")),
    )
    op.create_index(op.f("ix_credit_outcomes_claim_id"), "credit_outcomes", ["claim_id"])
    op.create_index(op.f("ix_credit_outcomes_buyer"), "credit_outcomes", ["buyer"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_outcomes_buyer"), table_name="credit_outcomes")
    op.drop_index(op.f("ix_credit_outcomes_claim_id"), table_name="credit_outcomes")
    op.drop_table("credit_outcomes")
