"""What the case service returns (pydantic models, also the API's response models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Created(BaseModel):
    """An id of something just created."""

    id: str


class MerchantOut(BaseModel):
    """A merchant."""

    id: str
    name: str


class ShopOut(BaseModel):
    """A shop."""

    id: str
    merchant_id: str
    name: str


class ImageOut(BaseModel):
    """A stored image reference."""

    id: str
    name: str
    sha256: str
    content_type: str


class ListingOut(BaseModel):
    """A listing with its reference images."""

    id: str
    shop_id: str
    title: str
    category: str
    price_cents: int
    images: list[ImageOut]


class BuyerOut(BaseModel):
    """A buyer as shown by default: pseudonymous id, contact masked."""

    id: str
    contact: dict[str, str] = Field(description="masked contact fields (phone, name, address, email)")


class ShipmentItemOut(BaseModel):
    """Packing video, keyframe or packing photo."""

    id: str
    kind: str
    name: str
    sha256: str
    content_type: str
    frame_time_s: float | None = None


class OrderOut(BaseModel):
    """An order and its shipment evidence."""

    id: str
    shop_id: str
    listing_id: str
    buyer_id: str
    amount_cents: int
    ordered_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    shipment: list[ShipmentItemOut]


class EvidenceOut(BaseModel):
    """A file attached to a case."""

    id: str
    party: str
    stage: str
    kind: str
    name: str
    sha256: str
    content_type: str
    created_at: datetime


class ReportOut(BaseModel):
    """One stored check report (``report`` is the ``proofdesk.report/1`` document)."""

    id: str
    evidence_id: str
    version: int
    verdict: str
    risk: float
    references: list[str]
    created_at: datetime
    report: dict[str, Any]


class RoutingOut(BaseModel):
    """What the routing policy did."""

    action: str
    policy_version: str
    rule: str
    explanation: str
    report_ids: list[str]
    created_at: datetime


class DecisionOut(BaseModel):
    """A reviewer decision, with the sentence shown to the buyer."""

    outcome: str
    reason_code: str
    reason: str
    appeal: bool
    note: str
    reviewer: str | None = Field(default=None, description="hidden from buyers and merchants")
    created_at: datetime


class MessageOut(BaseModel):
    """A party's statement (merchant answer, appeal)."""

    party: str
    kind: str
    text: str
    created_at: datetime


class RequestedItem(BaseModel):
    """Something the buyer is asked to provide."""

    item: str
    text: str


class CaseSummary(BaseModel):
    """A case in a list."""

    id: str
    order_id: str
    shop_id: str
    merchant_id: str
    buyer_id: str
    claim_type: str
    reason: str
    status: str
    amount_cents: int
    category: str
    risk: float | None
    verdict: str | None
    deadline: datetime | None = Field(description="merchant response / review due time")
    window_paused_s: float | None = Field(description="remaining window seconds while paused for the buyer")
    escalated: bool
    created_at: datetime
    updated_at: datetime
    verdict_at: datetime | None


class CaseOut(CaseSummary):
    """A case with everything the caller may see."""

    description: str
    appeal_used: bool
    requested_evidence: list[RequestedItem]
    evidence: list[EvidenceOut]
    reports: list[ReportOut] = Field(description="latest report per photo (hidden from buyers)")
    routing: list[RoutingOut]
    decisions: list[DecisionOut]
    messages: list[MessageOut]
    allowed_next: list[str]
    pending_jobs: int


class AuditEventOut(BaseModel):
    """An audit event."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    hash: str
