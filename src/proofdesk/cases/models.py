"""ORM tables of the case service (all on :class:`proofdesk.db.Base`; migration ``v0002_cases``).

Marketplace side: ``merchants`` own ``shops``; shops have ``listings`` with ``listing_images`` (references for
the checks); ``orders`` of a listing by a ``buyer`` carry ``shipment_evidence`` (packing video, its keyframes,
packing photos). Case side: one ``cases`` row per claim with its ``case_evidence`` (buyer photos/videos,
merchant counter-evidence, appeal evidence), ``check_reports`` (versioned ``proofdesk.report/1`` documents),
``routing_decisions`` (policy version + rule + reports) and ``review_decisions`` (reviewer, reason code).
Blobs are referenced by SHA-256 (``proofdesk.store``); personal data is only in ``buyers.contact_enc``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from proofdesk.db import Base, UTCDateTime, new_id, utcnow


class Merchant(Base):
    """A seller; owns shops."""

    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Shop(Base):
    """A storefront of a merchant; the unit merchant access is scoped to."""

    __tablename__ = "shops"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Listing(Base):
    """A product listed in a shop."""

    __tablename__ = "listings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ListingImage(Base):
    """A listing photo: a reference image for the ``reference`` check."""

    __tablename__ = "listing_images"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    listing_id: Mapped[str] = mapped_column(ForeignKey("listings.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Buyer(Base):
    """A buyer under a pseudonymous id; contact details only encrypted (``PersonalDataCipher``)."""

    __tablename__ = "buyers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    contact_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Order(Base):
    """One purchase of a listing by a buyer, with its shipping timeline."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    listing_id: Mapped[str] = mapped_column(ForeignKey("listings.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShipmentEvidence(Base):
    """Merchant evidence of what was shipped: packing video, a keyframe of it, or a packing photo."""

    __tablename__ = "shipment_evidence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # packing_video | keyframe | packing_photo
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    video_id: Mapped[str | None] = mapped_column(ForeignKey("shipment_evidence.id"))
    frame_time_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Case(Base):
    """One claim and the case around it."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("buyer_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shops.id"), index=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    claim_type: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_cents: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(30), index=True)
    risk: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(30))
    # Merchant response window: deadline while running; remaining seconds while paused (waiting for buyer).
    window_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    window_remaining_s: Mapped[float | None] = mapped_column(Float)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    appeal_used: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseEvidence(Base):
    """A file attached to a case by the buyer (claim, more evidence, appeal) or the merchant (response)."""

    __tablename__ = "case_evidence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    party: Mapped[str] = mapped_column(String(20))  # buyer | merchant
    stage: Mapped[str] = mapped_column(String(20))  # claim | more | response | appeal
    kind: Mapped[str] = mapped_column(String(10))  # photo | video
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckReport(Base):
    """One ``proofdesk.report/1`` document for one buyer photo; ``version`` counts re-checks (1, 2, ...)."""

    __tablename__ = "check_reports"
    __table_args__ = (UniqueConstraint("evidence_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    evidence_id: Mapped[str] = mapped_column(ForeignKey("case_evidence.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(30))
    risk: Mapped[float] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    job_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoutingDecision(Base):
    """What the routing policy did with a checked case, and why."""

    __tablename__ = "routing_decisions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))  # approve | request_evidence | review
    policy_version: Mapped[str] = mapped_column(String(50))
    rule: Mapped[str] = mapped_column(String(100))
    explanation: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewDecision(Base):
    """A reviewer's decision (``appeal`` marks the second reviewer's decision on an appeal)."""

    __tablename__ = "review_decisions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))  # approve | deny
    reason_code: Mapped[str] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(Text, default="")
    appeal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseMessage(Base):
    """Text from a party: the merchant's answer, the buyer's appeal statement."""

    __tablename__ = "case_messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    party: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # response | appeal | note
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
