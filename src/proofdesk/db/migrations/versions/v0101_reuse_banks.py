"""reuse banks: positive (claim and listing photos) and negative PDQ banks

Revision ID: v0101_reuse_banks
Revises: v0001_foundation
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "v0101_reuse_banks"
down_revision: str | tuple[str, ...] | None = "v0001_foundation"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reuse_bank_entries",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("pdq", sa.LargeBinary(length=32), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("buyer", sa.String(length=64), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("added_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reuse_bank_entries")),
    )
    op.create_index(op.f("ix_reuse_bank_entries_ref"), "reuse_bank_entries", ["ref"])
    op.create_table(
        "reuse_bank_negatives",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("pdq", sa.LargeBinary(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("max_distance", sa.SmallInteger(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reuse_bank_negatives")),
    )


def downgrade() -> None:
    op.drop_table("reuse_bank_negatives")
    op.drop_index(op.f("ix_reuse_bank_entries_ref"), table_name="reuse_bank_entries")
    op.drop_table("reuse_bank_entries")
