"""repair: teams, technicians, requests and visits, assignments, diagnoses, media, records, warranties, plans

Revision ID: v0201_repair
Revises: v0001_foundation
Create Date: 2026-11-22

Tables of :mod:`proofdesk.repair.models`; they reference only each other, so the revision chains directly after
the foundation and runs beside the other services' branches (``migrate`` upgrades to all heads).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import proofdesk.db

revision: str = "v0201_repair"
down_revision: str | tuple[str, ...] | None = "v0001_foundation"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "repair_teams",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_teams")),
    )
    op.create_table(
        "repair_technicians",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("name_enc", sa.Text(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("home_code", sa.String(length=6), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("shift_start", sa.String(length=5), nullable=False),
        sa.Column("shift_end", sa.String(length=5), nullable=False),
        sa.Column("weekends", sa.Boolean(), nullable=False),
        sa.Column("days_off", sa.JSON(), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Float(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["repair_teams.id"], name=op.f("fk_repair_technicians_team_id_repair_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_technicians")),
    )
    op.create_index(op.f("ix_repair_technicians_team_id"), "repair_technicians", ["team_id"], unique=False)
    op.create_table(
        "repair_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("customer_name_enc", sa.Text(), nullable=False),
        sa.Column("customer_phone_enc", sa.Text(), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=False),
        sa.Column("address_masked", sa.String(length=200), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=True),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("region_path", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("unit_serial", sa.String(length=100), nullable=True),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("preferred_time", sa.String(length=100), nullable=True),
        sa.Column("warranty", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("contact_by", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("on_site_by", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("technician_id", sa.String(length=32), nullable=True),
        sa.Column("eta", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("alerts_sent", sa.JSON(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("dispatch_note", sa.Text(), nullable=True),
        sa.Column("assigned_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("contacted_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("en_route_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("on_site_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("diagnosed_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("approved_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("completed_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("followed_up_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("plan_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["repair_technicians.id"],
            name=op.f("fk_repair_requests_technician_id_repair_technicians"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_requests")),
    )
    op.create_index(op.f("ix_repair_requests_county_code"), "repair_requests", ["county_code"], unique=False)
    op.create_index(op.f("ix_repair_requests_customer_id"), "repair_requests", ["customer_id"], unique=False)
    op.create_index(op.f("ix_repair_requests_status"), "repair_requests", ["status"], unique=False)
    op.create_index(op.f("ix_repair_requests_technician_id"), "repair_requests", ["technician_id"], unique=False)
    op.create_index(op.f("ix_repair_requests_unit_serial"), "repair_requests", ["unit_serial"], unique=False)
    op.create_table(
        "repair_assignments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("technician_id", sa.String(length=32), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("eta", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("meets_promise", sa.Boolean(), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["repair_requests.id"], name=op.f("fk_repair_assignments_request_id_repair_requests")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["repair_technicians.id"],
            name=op.f("fk_repair_assignments_technician_id_repair_technicians"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_assignments")),
    )
    op.create_index(op.f("ix_repair_assignments_request_id"), "repair_assignments", ["request_id"], unique=False)
    op.create_table(
        "repair_diagnoses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("quote_lines", sa.JSON(), nullable=False),
        sa.Column("quote_total_fen", sa.Integer(), nullable=False),
        sa.Column("covered_by_warranty", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["repair_requests.id"], name=op.f("fk_repair_diagnoses_request_id_repair_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_diagnoses")),
    )
    op.create_index(op.f("ix_repair_diagnoses_request_id"), "repair_diagnoses", ["request_id"], unique=False)
    op.create_table(
        "repair_followups",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("callback_due", proofdesk.db.UTCDateTime(), nullable=False),
        sa.Column("called_at", proofdesk.db.UTCDateTime(), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["repair_requests.id"], name=op.f("fk_repair_followups_request_id_repair_requests")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_repair_followups")),
    )
    op.create_table(
        "repair_maintenance_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("origin_request_id", sa.String(length=32), nullable=False),
        sa.Column("unit_serial", sa.String(length=100), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("interval_months", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=True),
        sa.Column("scheduled", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin_request_id"],
            ["repair_requests.id"],
            name=op.f("fk_repair_maintenance_plans_origin_request_id_repair_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_maintenance_plans")),
    )
    op.create_index(
        op.f("ix_repair_maintenance_plans_unit_serial"), "repair_maintenance_plans", ["unit_serial"], unique=False
    )
    op.create_table(
        "repair_media",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=True),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["repair_requests.id"], name=op.f("fk_repair_media_request_id_repair_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_media")),
    )
    op.create_index(op.f("ix_repair_media_request_id"), "repair_media", ["request_id"], unique=False)
    op.create_table(
        "repair_records",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("work_done", sa.Text(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("labour_fen", sa.Integer(), nullable=False),
        sa.Column("signature_sha256", sa.String(length=64), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=False),
        sa.Column("completed_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["repair_requests.id"], name=op.f("fk_repair_records_request_id_repair_requests")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_repair_records")),
    )
    op.create_table(
        "repair_warranties",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("unit_serial", sa.String(length=100), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("labour_until", sa.Date(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("extended_until", sa.Date(), nullable=True),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("created_at", proofdesk.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"], ["repair_requests.id"], name=op.f("fk_repair_warranties_request_id_repair_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_warranties")),
    )
    op.create_index(op.f("ix_repair_warranties_request_id"), "repair_warranties", ["request_id"], unique=False)
    op.create_index(op.f("ix_repair_warranties_unit_serial"), "repair_warranties", ["unit_serial"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_repair_warranties_unit_serial"), table_name="repair_warranties")
    op.drop_index(op.f("ix_repair_warranties_request_id"), table_name="repair_warranties")
    op.drop_table("repair_warranties")
    op.drop_table("repair_records")
    op.drop_index(op.f("ix_repair_media_request_id"), table_name="repair_media")
    op.drop_table("repair_media")
    op.drop_index(op.f("ix_repair_maintenance_plans_unit_serial"), table_name="repair_maintenance_plans")
    op.drop_table("repair_maintenance_plans")
    op.drop_table("repair_followups")
    op.drop_index(op.f("ix_repair_diagnoses_request_id"), table_name="repair_diagnoses")
    op.drop_table("repair_diagnoses")
    op.drop_index(op.f("ix_repair_assignments_request_id"), table_name="repair_assignments")
    op.drop_table("repair_assignments")
    op.drop_index(op.f("ix_repair_requests_unit_serial"), table_name="repair_requests")
    op.drop_index(op.f("ix_repair_requests_technician_id"), table_name="repair_requests")
    op.drop_index(op.f("ix_repair_requests_status"), table_name="repair_requests")
    op.drop_index(op.f("ix_repair_requests_customer_id"), table_name="repair_requests")
    op.drop_index(op.f("ix_repair_requests_county_code"), table_name="repair_requests")
    op.drop_table("repair_requests")
    op.drop_index(op.f("ix_repair_technicians_team_id"), table_name="repair_technicians")
    op.drop_table("repair_technicians")
    op.drop_table("repair_teams")
