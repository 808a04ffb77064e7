"""Read side: one stored case (``proofdesk.cases`` models) -> :class:`CaseFile`, with the caller's access checked.

Used by the console (every case page and image) and by ``proofdesk report``. It only reads; every change goes
through the case service. Access follows the API's rule: staff see every case, a merchant only its own
merchant's cases, a buyer only their own; anyone else gets ``NotFound`` (not 403), so case ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cases.models import (
    Case,
    CaseEvidence,
    CaseMessage,
    CheckReport,
    ListingImage,
    Merchant,
    Order,
    ReviewDecision,
    ShipmentEvidence,
)
from proofdesk.dossier.model import AuditLine, CaseFile, EvidenceItem, PhotoResult
from proofdesk.errors import NotFound
from proofdesk.report import Report
from proofdesk.security import Principal, Role

__all__ = ["can_see", "latest_reports", "load_case", "load_case_file", "load_photo", "reference_candidates"]


def can_see(principal: Principal, case: Case) -> bool:
    """Whether ``principal`` may see ``case``."""
    if principal.is_staff:
        return True
    if principal.role is Role.MERCHANT:
        return case.merchant_id == principal.subject_id
    if principal.role is Role.BUYER:
        return case.buyer_id == principal.subject_id
    return False


def load_case(session: Session, principal: Principal, case_id: str) -> Case:
    """The case row, or NotFound when it does not exist or the caller may not see it."""
    case = session.get(Case, case_id)
    if case is None or not can_see(principal, case):
        raise NotFound(f"no case {case_id}")
    return case


def latest_reports(session: Session, case_id: str) -> dict[str, CheckReport]:
    """The newest stored report of each evidence item of a case, by evidence id."""
    rows = session.scalars(
        select(CheckReport).where(CheckReport.case_id == case_id).order_by(CheckReport.version)
    ).all()
    return {row.evidence_id: row for row in rows}  # later versions overwrite earlier ones


def reference_candidates(session: Session, case: Case) -> list[EvidenceItem]:
    """The references a claim of this case can have been matched against: listing images and packing frames."""
    order = session.get(Order, case.order_id)
    items: list[EvidenceItem] = []
    if order is not None:
        for image in session.scalars(
            select(ListingImage).where(ListingImage.listing_id == order.listing_id).order_by(ListingImage.position)
        ):
            items.append(EvidenceItem(image.sha256, image.name, "reference", image.content_type, 0,
                                      image.created_at, "merchant"))
        for shipped in session.scalars(select(ShipmentEvidence).where(ShipmentEvidence.order_id == order.id)):
            role = {"keyframe": "reference", "packing_video": "packing_video"}.get(shipped.kind, "packing_photo")
            items.append(EvidenceItem(shipped.sha256, shipped.name, role, shipped.content_type, 0,
                                      shipped.created_at, "merchant"))
    for row in session.scalars(
        select(CaseEvidence).where(CaseEvidence.case_id == case.id, CaseEvidence.party == "merchant",
                                   CaseEvidence.kind == "photo")
    ):
        items.append(EvidenceItem(row.sha256, row.name, "reference", row.content_type, 0, row.created_at, "merchant"))
    return items


def _matched(report: Report, candidates: Sequence[EvidenceItem]) -> EvidenceItem | None:
    """The stored reference the ``reference`` finding names (the case service names them ``kind:file name``)."""
    finding = report.finding("reference")
    if finding is None or finding.reference is None or finding.label in ("unrelated", "no_reference"):
        return None
    wanted = str(finding.details.get("reference_sha256") or "")
    name = finding.reference.split(":", 1)[-1]
    for item in candidates:
        if item.sha256 == wanted or item.sha256 == finding.reference:
            return item
    for item in candidates:
        if item.role == "reference" and item.name == name:
            return item
    return None


def _sized(store: Any, item: EvidenceItem) -> EvidenceItem:
    """The item with its stored size filled in (listing rows do not keep sizes)."""
    if item.size or store is None:
        return item
    try:
        size = store.open(item.sha256).stat().st_size
    except (NotFound, OSError, AttributeError):
        return item
    return EvidenceItem(item.sha256, item.name, item.role, item.content_type, size, item.stored_at, item.submitted_by)


def load_case_file(session: Session, principal: Principal, case_id: str, *, store: Any = None) -> CaseFile:
    """Everything about one case for a page or a report (NotFound if the caller may not see it)."""
    case = load_case(session, principal, case_id)
    merchant = session.get(Merchant, case.merchant_id)
    reports = latest_reports(session, case.id)
    candidates = reference_candidates(session, case)
    photos: list[PhotoResult] = []
    other: list[EvidenceItem] = []
    evidence = session.scalars(
        select(CaseEvidence).where(CaseEvidence.case_id == case.id).order_by(CaseEvidence.created_at)
    ).all()
    buyer_view = principal.role is Role.BUYER
    for row in evidence:
        if buyer_view and row.party != "buyer":
            continue  # as in the API: a buyer sees their own evidence, not the merchant's
        item = _sized(store, EvidenceItem(
            row.sha256, row.name, f"{row.party}_{row.kind}" if row.party != "buyer" or row.kind != "photo"
            else "claim_photo", row.content_type, 0, row.created_at, row.party,
        ))
        stored = reports.get(row.id)
        if row.party == "buyer" and row.kind == "photo":
            # Buyers do not see check reports (as in the API): scores and cues would teach a forger what passes.
            report = Report.from_json(stored.report) if stored is not None and not buyer_view else None
            reference = _matched(report, candidates) if report is not None else None
            mask = stored.report.get("mask_sha256") if stored is not None else None
            photos.append(PhotoResult(item, report, _sized(store, reference) if reference else None,
                                      mask if isinstance(mask, str) else None))
        else:
            other.append(item)
    messages = session.scalars(
        select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.created_at)
    ).all()
    answer = "\n".join(m.text for m in messages if m.party == "merchant" and m.kind == "response")
    appeal = "\n".join(m.text for m in messages if m.kind == "appeal")
    decisions = [
        {"at": d.created_at.strftime("%Y-%m-%d %H:%M"), "outcome": d.outcome, "reason_code": d.reason_code,
         "note": d.note if principal.is_staff else "", "appeal": d.appeal}
        for d in session.scalars(
            select(ReviewDecision).where(ReviewDecision.case_id == case.id).order_by(ReviewDecision.created_at)
        )
    ]
    trail = [
        AuditLine(e.at, e.actor, e.action, ", ".join(f"{k}={v}" for k, v in sorted(e.data.items())
                                                     if not isinstance(v, dict | list))[:200], e.hash)
        for e in audit.events_for(session, "case", case.id)
    ] if not buyer_view else []
    return CaseFile(
        case_id=case.id,
        status=case.status,
        claim_type=case.claim_type,
        reason=case.reason,
        merchant=merchant.name if merchant else case.merchant_id,
        buyer=f"buyer-{case.buyer_id[:6]}",
        order_ref=case.order_id,
        created_at=case.created_at,
        deadline=case.window_deadline,
        description=case.description,
        photos=photos,
        other_evidence=other,
        merchant_answer=answer,
        decisions=decisions,
        audit=trail,
        extra={"appeal": appeal, "appeal_used": case.appeal_used, "risk": case.risk, "verdict": case.verdict,
               "can_appeal": case.status == "denied" and not case.appeal_used,
               "requested": [dict(item) for item in case.requested_evidence or []]
               if case.status == "needs_evidence" else []},
    )


def load_photo(session: Session, principal: Principal, case_id: str, sha256: str) -> tuple[PhotoResult, str]:
    """One claim photo of a case with its newest report, and a version key for caches (cheaper than the file).

    Image requests come ten at a time per page, so this reads one evidence row and one report, not the case.
    """
    case = load_case(session, principal, case_id)
    row = session.scalars(
        select(CaseEvidence).where(CaseEvidence.case_id == case.id, CaseEvidence.sha256 == sha256,
                                   CaseEvidence.party == "buyer", CaseEvidence.kind == "photo")
    ).first()
    if row is None:
        raise NotFound("no such photo in this case")
    stored = session.scalars(
        select(CheckReport).where(CheckReport.evidence_id == row.id).order_by(CheckReport.version.desc())
    ).first()
    item = EvidenceItem(row.sha256, row.name, "claim_photo", row.content_type, 0, row.created_at, row.party)
    if stored is None:
        return PhotoResult(item, None), "unchecked"
    report = Report.from_json(stored.report)
    reference = _matched(report, reference_candidates(session, case))
    mask = stored.report.get("mask_sha256")
    return PhotoResult(item, report, reference, mask if isinstance(mask, str) else None), f"{stored.id}"
