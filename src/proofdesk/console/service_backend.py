"""The console's :class:`ConsoleBackend` over the application services (``proofdesk.services.Services``).

Reads go through :mod:`proofdesk.dossier.from_db` (one read model shared with ``proofdesk report``); every
change — filing a claim, a merchant's answer, a decision, an appeal — is a call to the case service, which
owns the state machine, the audit events and the check jobs. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.cases.models import Case, Listing, ListingImage, Merchant, Order, Shop
from proofdesk.cases.reasons import APPROVE_REASONS, DENY_REASONS
from proofdesk.console.backend import BuyerHistory, ListingRow, OrderRow, QueueFilters, QueueRow, Upload
from proofdesk.dossier import CaseFile, EvidenceItem, PhotoResult
from proofdesk.dossier.from_db import load_case, load_case_file, load_photo
from proofdesk.errors import NotFound, PermissionDenied
from proofdesk.policy import EVIDENCE_ITEMS
from proofdesk.security import Principal, Role

__all__ = ["ServiceBackend"]

_REVIEW_STATUSES = ("in_review", "appealed", "awaiting_merchant", "needs_evidence", "checking", "submitted")


def _row(case: Case, merchant: str, *, decision_reason: str = "", checks: bool = True) -> QueueRow:
    return QueueRow(
        case_id=case.id, status=case.status, claim_type=case.claim_type, reason=case.reason, merchant=merchant,
        buyer=f"buyer-{case.buyer_id[:6]}", created_at=case.created_at, deadline=case.window_deadline,
        risk=case.risk if checks else None, verdict=case.verdict if checks else None, decision_reason=decision_reason,
        can_appeal=case.status == "denied" and not case.appeal_used,
    )


class ServiceBackend:
    """:class:`~proofdesk.console.backend.ConsoleBackend` on a :class:`~proofdesk.services.Services` bundle."""

    def __init__(self, services: Any) -> None:
        self.services = services

    # ------------------------------------------------------------------ helpers

    def _merchant_names(self, session: Session) -> dict[str, str]:
        return {m.id: m.name for m in session.scalars(select(Merchant))}

    def _last_decision_reason(self, session: Session, case: Case) -> str:
        from proofdesk.cases.models import ReviewDecision

        decision = session.scalars(
            select(ReviewDecision).where(ReviewDecision.case_id == case.id).order_by(ReviewDecision.created_at.desc())
        ).first()
        return decision.reason_code if decision else ""

    # ------------------------------------------------------------------ reviewer

    def merchants(self, principal: Principal) -> Sequence[str]:  # noqa: ARG002 - staff-only page
        with self.services.session() as session:
            return sorted(self._merchant_names(session).values())

    def queue(self, principal: Principal, filters: QueueFilters) -> Sequence[QueueRow]:
        if not principal.is_staff:
            raise PermissionDenied("the review queue is for reviewers")
        with self.services.session() as session:
            names = self._merchant_names(session)
            stmt = select(Case).where(Case.status.in_(_REVIEW_STATUSES))
            if filters.claim_type:
                stmt = stmt.where(Case.claim_type == filters.claim_type)
            if filters.merchant:
                ids = [k for k, v in names.items() if v == filters.merchant]
                stmt = stmt.where(Case.merchant_id.in_(ids))
            forged, review = self.services.settings.verdict.forged_at, self.services.settings.verdict.review_at
            if filters.risk == "high":
                stmt = stmt.where(Case.risk >= forged)
            elif filters.risk == "review":
                stmt = stmt.where(Case.risk >= review, Case.risk < forged)
            elif filters.risk == "low":
                stmt = stmt.where((Case.risk < review) | Case.risk.is_(None))
            now = datetime.now(UTC)
            if filters.due == "overdue":
                stmt = stmt.where(Case.window_deadline < now)
            elif filters.due == "24":
                stmt = stmt.where(Case.window_deadline < now + timedelta(hours=24))
            cases = list(session.scalars(stmt))
            # Cases a reviewer can act on first, then soonest deadline, then highest risk.
            cases.sort(key=lambda c: (c.status not in ("in_review", "appealed"),
                                      c.window_deadline or datetime.max.replace(tzinfo=UTC), -(c.risk or 0.0)))
            return [_row(c, names.get(c.merchant_id, c.merchant_id)) for c in cases]

    def case_file(self, principal: Principal, case_id: str) -> CaseFile:
        with self.services.session() as session:
            return load_case_file(session, principal, case_id, store=self.services.store)

    def buyer_history(self, principal: Principal, case: CaseFile) -> BuyerHistory | None:
        if not principal.is_staff:
            return None
        with self.services.session() as session:
            row = load_case(session, principal, case.case_id)
            names = self._merchant_names(session)
            earlier = session.scalars(
                select(Case).where(Case.buyer_id == row.buyer_id, Case.id != row.id).order_by(Case.created_at)
            ).all()
            credit = self._credit(session, row)
            return BuyerHistory(credit, [_row(c, names.get(c.merchant_id, "")) for c in earlier], _reuse_hits(case))

    def _credit(self, session: Session, case: Case) -> str:
        standing = self.services.cases.deps.standing_for
        if standing is None:
            return "—"
        level, why = standing(session, case.buyer_id, case.merchant_id)
        return f"{level}: {why}"

    def photo(self, principal: Principal, case_id: str, sha256: str) -> tuple[PhotoResult, str]:
        with self.services.session() as session:
            return load_photo(session, principal, case_id, sha256)

    def reason_codes(self) -> Sequence[tuple[str, str]]:
        return [("approve", code) for code in APPROVE_REASONS] + [("deny", code) for code in DENY_REASONS]

    def decide(self, principal: Principal, case_id: str, outcome: str, reason_code: str, note: str) -> None:
        self.services.cases.decide(principal, case_id, outcome=outcome, reason_code=reason_code, note=note)

    def request_evidence(self, principal: Principal, case_id: str, items: Sequence[str], text: str) -> None:
        self.services.cases.request_evidence(principal, case_id, items=list(items), text=text)

    def evidence_items(self) -> Sequence[str]:
        return list(EVIDENCE_ITEMS)

    def add_evidence(self, principal: Principal, case_id: str, note: str, files: Sequence[Upload]) -> None:
        self.services.cases.add_evidence(principal, case_id, files=_uploads(files), note=note)

    # ------------------------------------------------------------------ merchant

    def merchant_cases(self, principal: Principal) -> Sequence[QueueRow]:
        if principal.role is not Role.MERCHANT:
            raise PermissionDenied("this page is for merchants")
        with self.services.session() as session:
            names = self._merchant_names(session)
            cases = session.scalars(select(Case).where(Case.merchant_id == principal.subject_id)).all()
            ordered = sorted(cases, key=lambda c: (c.window_deadline is None,
                                                   c.window_deadline or datetime.max.replace(tzinfo=UTC)))
            return [_row(c, names.get(c.merchant_id, "")) for c in ordered]

    def answer(self, principal: Principal, case_id: str, text: str, files: Sequence[Upload]) -> None:
        self.services.cases.respond(principal, case_id, text=text, files=_uploads(files))

    def listings(self, principal: Principal) -> Sequence[ListingRow]:
        with self.services.session() as session:
            shops = [s.id for s in session.scalars(select(Shop).where(Shop.merchant_id == principal.subject_id))]
            rows: list[ListingRow] = []
            for listing in session.scalars(select(Listing).where(Listing.shop_id.in_(shops)).order_by(Listing.title)):
                images = session.scalars(
                    select(ListingImage).where(ListingImage.listing_id == listing.id).order_by(ListingImage.position)
                )
                rows.append(ListingRow(listing.id, listing.title, [
                    EvidenceItem(i.sha256, i.name, "reference", i.content_type, 0, i.created_at, "merchant")
                    for i in images
                ]))
            return rows

    # ------------------------------------------------------------------ buyer

    def orders(self, principal: Principal) -> Sequence[OrderRow]:
        if principal.role is not Role.BUYER:
            raise PermissionDenied("this page is for buyers")
        with self.services.session() as session:
            names = self._merchant_names(session)
            out: list[OrderRow] = []
            for order in session.scalars(select(Order).where(Order.buyer_id == principal.subject_id)):
                listing = session.get(Listing, order.listing_id)
                shop = session.get(Shop, order.shop_id)
                open_case = session.scalars(
                    select(Case.id).where(Case.order_id == order.id).order_by(Case.created_at.desc())
                ).first()
                out.append(OrderRow(order.id, listing.title if listing else order.listing_id,
                                    names.get(shop.merchant_id, "") if shop else "", order.delivered_at, open_case))
            return out

    def buyer_cases(self, principal: Principal) -> Sequence[QueueRow]:
        if principal.role is not Role.BUYER:
            raise PermissionDenied("this page is for buyers")
        with self.services.session() as session:
            names = self._merchant_names(session)
            cases = session.scalars(
                select(Case).where(Case.buyer_id == principal.subject_id).order_by(Case.created_at.desc())
            ).all()
            return [_row(c, names.get(c.merchant_id, ""), decision_reason=self._last_decision_reason(session, c),
                         checks=False) for c in cases]

    def file_claim(
        self, principal: Principal, order_id: str, claim_type: str, reason: str, description: str,
        photos: Sequence[Upload],
    ) -> str:
        created, _ = self.services.cases.file_claim(
            principal, order_id=order_id, claim_type=claim_type, reason=reason, description=description,
            files=_uploads(photos),
        )
        return str(created.id)

    def appeal(self, principal: Principal, case_id: str, text: str, files: Sequence[Upload]) -> None:
        self.services.cases.appeal(principal, case_id, statement=text, files=_uploads(files))

    def evidence(self, principal: Principal, case_id: str, sha256: str) -> tuple[EvidenceItem, bytes]:
        case = self.case_file(principal, case_id)
        for item in case.all_files():
            if item.sha256 == sha256:
                return item, self.services.store.get(sha256)
        raise NotFound("no such file in this case")


def _reuse_hits(case: CaseFile) -> list[str]:
    """The reuse check's hits on this case's photos, one line each."""
    hits: list[str] = []
    for photo in case.photos:
        finding = photo.report.finding("reuse") if photo.report else None
        if finding is not None and finding.label not in ("none", "no_bank"):
            hits.append(f"{photo.photo.name}: {finding.summary}")
    return hits


def _uploads(files: Sequence[Upload]) -> list[Any]:
    from proofdesk.cases.media import Upload as CaseUpload

    return [CaseUpload(f.name, f.data, f.content_type) for f in files]
