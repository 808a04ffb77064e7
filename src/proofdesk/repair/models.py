"""ORM tables of the repair service (on :class:`proofdesk.db.Base`; migration ``repair_0001``).

Where this sits in the repair flow: :mod:`proofdesk.repair.service` reads and writes these rows; the pure
modules (regions, dispatch, lifecycle, warranty) never see them. Personal data of customers and technicians
(name, phone, address) is stored only as ``*_enc`` ciphertext from :class:`~proofdesk.security.PersonalDataCipher`;
the row keeps the resolved division codes (not personal) and a masked address for lists. Photos, videos and
signatures are blobs addressed by SHA-256 in :mod:`proofdesk.store`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.db import Base, UTCDateTime, new_id, utcnow


class RepairTeam(Base):
    """A service team (网点) and the divisions it covers (any level; expanded to counties when used)."""

    __tablename__ = "repair_teams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    coverage: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairTechnician(Base):
    """A technician (师傅) of a team; coverage defaults to the team's."""

    __tablename__ = "repair_technicians"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("repair_teams.id"), index=True)
    name_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(50))  # masked (王**), what customers see
    home_code: Mapped[str] = mapped_column(String(6))
    coverage: Mapped[list[str] | None] = mapped_column(JSON)
    skills: Mapped[dict[str, int]] = mapped_column(JSON)
    shift_start: Mapped[str] = mapped_column(String(5), default="08:00")
    shift_end: Mapped[str] = mapped_column(String(5), default="20:00")
    weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    days_off: Mapped[list[str]] = mapped_column(JSON, default=list)
    daily_capacity: Mapped[int] = mapped_column(Integer, default=6)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairRequest(Base):
    """One repair request (报修) and its visit; ``status`` is a :class:`~proofdesk.repair.lifecycle.VisitStatus`."""

    __tablename__ = "repair_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(10))  # web | api | phone | chat | email | plan
    status: Mapped[str] = mapped_column(String(20), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_name_enc: Mapped[str] = mapped_column(Text)
    customer_phone_enc: Mapped[str] = mapped_column(Text)
    address_enc: Mapped[str] = mapped_column(Text)
    address_masked: Mapped[str] = mapped_column(String(200))
    province_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6))
    county_code: Mapped[str] = mapped_column(String(6), index=True)
    region_path: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50))
    product: Mapped[str] = mapped_column(String(200))
    unit_serial: Mapped[str | None] = mapped_column(String(100), index=True)
    fault: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10))
    min_level: Mapped[int] = mapped_column(Integer, default=1)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=90)
    preferred_time: Mapped[str | None] = mapped_column(String(100))
    warranty: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # lookup result at intake
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    contact_by: Mapped[datetime] = mapped_column(UTCDateTime())
    on_site_by: Mapped[datetime] = mapped_column(UTCDateTime())
    technician_id: Mapped[str | None] = mapped_column(ForeignKey("repair_technicians.id"), index=True)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime())
    excluded: Mapped[list[str]] = mapped_column(JSON, default=list)
    alerts_sent: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    dispatch_note: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    diagnosed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    plan_id: Mapped[str | None] = mapped_column(String(32))


class RepairAssignment(Base):
    """History of who held a request and why (automatic, manual, reassigned after decline or lateness)."""

    __tablename__ = "repair_assignments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"), index=True)
    technician_id: Mapped[str] = mapped_column(ForeignKey("repair_technicians.id"))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    eta: Mapped[datetime] = mapped_column(UTCDateTime())
    meets_promise: Mapped[bool] = mapped_column(Boolean)
    alternatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))


class RepairDiagnosis(Base):
    """The technician's report and quote; the customer approves or declines it before any work."""

    __tablename__ = "repair_diagnoses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"), index=True)
    report: Mapped[str] = mapped_column(Text)
    quote_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    quote_total_fen: Mapped[int] = mapped_column(Integer)
    covered_by_warranty: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(10))  # approved | declined
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairMedia(Base):
    """A photo, video or signature of a request; photos carry their forgery-check report."""

    __tablename__ = "repair_media"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))  # intake | before | during | after | signature
    kind: Mapped[str] = mapped_column(String(10))  # photo | video
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str | None] = mapped_column(String(20))
    risk: Mapped[float | None] = mapped_column(Float)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairRecord(Base):
    """The completion record: work done, parts with serials, customer signature (photos are RepairMedia)."""

    __tablename__ = "repair_records"

    request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))  # repaired | not_repaired
    work_done: Mapped[str] = mapped_column(Text)
    parts: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    labour_fen: Mapped[int] = mapped_column(Integer, default=0)
    signature_sha256: Mapped[str | None] = mapped_column(String(64))
    completed_by: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairWarranty(Base):
    """Parts-and-labour warranty of one repair, looked up by unit serial on later requests."""

    __tablename__ = "repair_warranties"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"), index=True)
    unit_serial: Mapped[str] = mapped_column(String(100), index=True)
    start: Mapped[date] = mapped_column(Date)
    labour_until: Mapped[date] = mapped_column(Date)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # {name, serial, months, until}
    extended_until: Mapped[date | None] = mapped_column(Date)
    extensions: Mapped[list[list[int]]] = mapped_column(JSON, default=list)  # [months, price_fen]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairMaintenancePlan(Base):
    """Preventive visits for a unit every N months; due visits become ``channel='plan'`` requests."""

    __tablename__ = "repair_maintenance_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    origin_request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"))
    unit_serial: Mapped[str] = mapped_column(String(100), index=True)
    start: Mapped[date] = mapped_column(Date)
    interval_months: Mapped[int] = mapped_column(Integer)
    visits: Mapped[int | None] = mapped_column(Integer)
    scheduled: Mapped[int] = mapped_column(Integer, default=0)  # visits already turned into requests
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepairFollowUp(Base):
    """The scheduled call-back and the customer's survey after completion."""

    __tablename__ = "repair_followups"

    request_id: Mapped[str] = mapped_column(ForeignKey("repair_requests.id"), primary_key=True)
    callback_due: Mapped[datetime] = mapped_column(UTCDateTime())
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stars: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
