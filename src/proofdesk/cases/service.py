"""The case service: claims, checks, routing, the merchant response window, review and appeal.

Flow (DESIGN.md §1): :meth:`CaseService.file_claim` validates every upload before writing anything, stores
the files (content-addressed), creates the case and one ``check_evidence`` job per photo in one transaction,
then dispatches the jobs. :meth:`handle_check` (run by a worker) stores a versioned report; when the last
check of a case in ``checking`` finishes, the routing policy decides: approve, ask the buyer for exactly
named evidence, or open the merchant response window for review. The window pauses while the buyer is asked
for more and resumes with the time that was left; :meth:`expire_windows` escalates expired windows to
review (it never decides). Reviewers take cases from :meth:`review_queue` (deadline, then risk), decide with
reason codes; the buyer may appeal a denial once with new evidence, and a different reviewer decides.

This module is the request side; the worker side (running checks, routing) is
:class:`~proofdesk.cases.checking.CheckRunner`, and scope, transitions and views are in ``_core.py``.

Every status change goes through :func:`~proofdesk.cases.states.transition` and writes an audit event in the
same transaction. Scope: a buyer sees only their cases, a merchant only its shops' cases (others: 404); a
role that may never do something gets 403.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cases.catalog import MAX_FILES, _text
from proofdesk.cases.checking import CheckRunner
from proofdesk.cases.media import AcceptedFile, Upload, accept_upload
from proofdesk.cases.models import (
    Case,
    CaseEvidence,
    CaseMessage,
    Listing,
    Order,
    ReviewDecision,
    Shop,
)
from proofdesk.cases.reasons import APPROVE_REASONS, DENY_REASONS
from proofdesk.cases.schemas import (
    CaseOut,
    CaseSummary,
)
from proofdesk.cases.states import CaseStatus, ClaimType
from proofdesk.db import utcnow
from proofdesk.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, UserInputError
from proofdesk.jobs import enqueue
from proofdesk.policy import EVIDENCE_ITEMS
from proofdesk.security import Principal, Role, require

_REVIEWABLE: Final = (CaseStatus.IN_REVIEW.value, CaseStatus.APPEALED.value)


def _request_hash(order_id: str, claim_type: str, reason: str, description: str, files: Sequence[AcceptedFile]) -> str:
    body = json.dumps(
        [order_id, claim_type, reason, description, sorted(hashlib.sha256(f.data).hexdigest() for f in files)]
    )
    return hashlib.sha256(body.encode()).hexdigest()


class CaseService(CheckRunner):
    """Claims and cases. Every public method takes the calling principal and enforces scope."""

    def _store(
        self, session: Session, case: Case, files: Sequence[AcceptedFile], *, party: str, stage: str
    ) -> list[str]:
        """Store files as case evidence; queue checks for buyer photos. Returns the job ids."""
        job_ids: list[str] = []
        for item in files:
            sha = self.deps.store.put(item.data, item.content_type)
            row = CaseEvidence(
                case_id=case.id,
                party=party,
                stage=stage,
                kind=item.kind,
                name=item.name,
                sha256=sha,
                content_type=item.content_type,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            if party == "buyer" and item.kind == "photo":
                job_ids.append(enqueue(session, "check_evidence", {"evidence_id": row.id}, case_id=case.id).id)
                for hook in self.deps.photo_hooks:
                    hook(session, case.id, item.evidence)
        return job_ids

    def _accept(self, uploads: Sequence[Upload], *, need_photo: bool) -> list[AcceptedFile]:
        if len(uploads) > MAX_FILES:
            raise UserInputError(f"at most {MAX_FILES} files per submission", code="too_many_files")
        files = [accept_upload(u, self.deps.settings.evidence) for u in uploads]
        if need_photo and not any(f.kind == "photo" for f in files):
            raise UserInputError("send at least one photo", code="missing_photo")
        # Write the blobs (fsync) before the database transaction opens, so the transaction - which on SQLite
        # holds the one write lock - stays short; the put inside _store is then a cheap existence check. If
        # the transaction fails, the blobs stay unreferenced: content-addressed and harmless.
        for f in files:
            self.deps.store.put(f.data, f.content_type)
        return files

    def file_claim(
        self,
        principal: Principal,
        *,
        order_id: str,
        claim_type: str,
        reason: str,
        description: str = "",
        files: Sequence[Upload],
        idempotency_key: str | None = None,
    ) -> tuple[CaseOut, bool]:
        """Buyer: open a claim with evidence. Returns the case and whether it was created (False: a replay)."""
        require(principal, Role.BUYER)
        try:
            kind = ClaimType(claim_type)
        except ValueError as exc:
            allowed = ", ".join(t.value for t in ClaimType)
            raise UserInputError(f"claim_type must be one of {allowed}", code="invalid_claim_type") from exc
        reason = _text(reason, "reason", max_len=50)
        description = _text(description, "description", max_len=5000, required=False)
        if idempotency_key is not None:
            idempotency_key = _text(idempotency_key, "Idempotency-Key", max_len=200)
        accepted = self._accept(files, need_photo=True)
        digest = _request_hash(order_id, kind.value, reason, description, accepted)
        if idempotency_key:
            replay = self._replay(principal, idempotency_key, digest)
            if replay is not None:
                return replay, False
        try:
            with self.deps.session() as session:
                order = session.get(Order, order_id)
                if order is None or (principal.role is Role.BUYER and order.buyer_id != principal.subject_id):
                    raise NotFound("no such order")
                open_case = session.scalar(
                    select(Case.id).where(
                        Case.order_id == order.id,
                        Case.status.notin_(
                            [
                                CaseStatus.APPROVED.value,
                                CaseStatus.CLOSED.value,
                                CaseStatus.WITHDRAWN.value,
                                CaseStatus.DENIED.value,
                            ]
                        ),
                    )
                )
                if open_case is not None:
                    raise Conflict(f"order already has an open case {open_case}", code="case_exists")
                shop = session.get(Shop, order.shop_id)
                listing = session.get(Listing, order.listing_id)
                assert shop is not None and listing is not None
                now = utcnow()
                case = Case(
                    order_id=order.id,
                    buyer_id=order.buyer_id,
                    shop_id=order.shop_id,
                    merchant_id=shop.merchant_id,
                    claim_type=kind.value,
                    reason=reason,
                    description=description,
                    amount_cents=order.amount_cents,
                    category=listing.category,
                    status=CaseStatus.SUBMITTED.value,
                    escalated=False,
                    requested_evidence=[],
                    appeal_used=False,
                    idempotency_key=idempotency_key or None,
                    request_hash=digest,
                    created_at=now,
                    updated_at=now,
                )
                session.add(case)
                session.flush()
                audit.append(
                    session,
                    principal.actor,
                    "case.filed",
                    "case",
                    case.id,
                    {"order_id": order.id, "claim_type": kind.value, "reason": reason, "files": len(accepted)},
                )
                job_ids = self._store(session, case, accepted, party="buyer", stage="claim")
                self._set_status(session, case, CaseStatus.CHECKING, principal.actor)
                out = self._out(session, principal, case)
        except DBIntegrityError:
            # Two concurrent submissions with the same key: the unique constraint let one through.
            if idempotency_key:
                replay = self._replay(principal, idempotency_key, digest)
                if replay is not None:
                    return replay, False
            raise
        self.deps.dispatch(job_ids)
        return out, True

    def _replay(self, principal: Principal, key: str, digest: str) -> CaseOut | None:
        with self.deps.session() as session:
            case = session.scalar(
                select(Case).where(Case.buyer_id == principal.subject_id, Case.idempotency_key == key)
            )
            if case is None:
                return None
            if case.request_hash != digest:
                raise Conflict("this Idempotency-Key was used for a different claim", code="idempotency_conflict")
            return self._out(session, principal, case)

    def add_evidence(self, principal: Principal, case_id: str, *, files: Sequence[Upload], note: str = "") -> CaseOut:
        """Buyer: answer a request for more evidence; the case is checked again and re-routed."""
        require(principal, Role.BUYER)
        accepted = self._accept(files, need_photo=False)
        if not accepted:
            raise UserInputError("send at least one file", code="missing_files")
        with self.deps.session() as session:
            case = self._case(session, principal, case_id, lock=True)
            if case.status != CaseStatus.NEEDS_EVIDENCE.value:
                raise InvalidTransition(f"the case is {case.status}; evidence is only requested in needs_evidence")
            job_ids = self._store(session, case, accepted, party="buyer", stage="more")
            if note:
                session.add(
                    CaseMessage(
                        case_id=case.id,
                        party="buyer",
                        kind="note",
                        text=_text(note, "note", max_len=5000),
                        created_at=utcnow(),
                    )
                )
            case.requested_evidence = []
            self._set_status(session, case, CaseStatus.CHECKING, principal.actor, files=len(accepted))
            if not job_ids:
                self._after_checks(session, case)  # videos only: nothing to check, route now
            out = self._out(session, principal, case)
        self.deps.dispatch(job_ids)
        return out

    def appeal(self, principal: Principal, case_id: str, *, statement: str, files: Sequence[Upload]) -> CaseOut:
        """Buyer: appeal a denial once, with new evidence; a different reviewer decides."""
        require(principal, Role.BUYER)
        statement = _text(statement, "statement", max_len=5000)
        accepted = self._accept(files, need_photo=False)
        if not accepted:
            raise UserInputError("an appeal needs new evidence (at least one file)", code="missing_files")
        with self.deps.session() as session:
            case = self._case(session, principal, case_id, lock=True)
            if case.appeal_used:
                raise InvalidTransition("this case was already appealed once", code="appeal_used")
            self._set_status(session, case, CaseStatus.APPEALED, principal.actor, files=len(accepted))
            case.appeal_used = True
            case.window_deadline = utcnow() + timedelta(hours=self.deps.settings.merchant_response_hours)
            session.add(CaseMessage(case_id=case.id, party="buyer", kind="appeal", text=statement, created_at=utcnow()))
            job_ids = self._store(session, case, accepted, party="buyer", stage="appeal")
            out = self._out(session, principal, case)
        self.deps.dispatch(job_ids)
        return out

    def withdraw(self, principal: Principal, case_id: str) -> CaseOut:
        """Buyer: withdraw an open claim."""
        require(principal, Role.BUYER)
        with self.deps.session() as session:
            case = self._case(session, principal, case_id, lock=True)
            self._set_status(session, case, CaseStatus.WITHDRAWN, principal.actor)
            return self._out(session, principal, case)

    def respond(self, principal: Principal, case_id: str, *, text: str, files: Sequence[Upload] = ()) -> CaseOut:
        """Merchant: answer within the window, with counter-evidence; the case goes to review."""
        require(principal, Role.MERCHANT)
        text = _text(text, "text", max_len=5000)
        accepted = self._accept(files, need_photo=False)
        with self.deps.session() as session:
            case = self._case(session, principal, case_id, lock=True)
            if case.status not in (CaseStatus.AWAITING_MERCHANT.value, CaseStatus.IN_REVIEW.value):
                raise InvalidTransition(
                    f"the case is {case.status}; the merchant answers while it awaits review",
                    code="not_awaiting_merchant",
                )
            late = case.window_deadline is not None and utcnow() > case.window_deadline
            session.add(CaseMessage(case_id=case.id, party="merchant", kind="response", text=text, created_at=utcnow()))
            self._store(session, case, accepted, party="merchant", stage="response")
            job_ids: list[str] = []
            if any(f.kind == "photo" for f in accepted):  # new references: check the buyer's photos again
                job_ids = [
                    enqueue(session, "check_evidence", {"evidence_id": e, "recheck": True}, case_id=case.id).id
                    for e in self._buyer_photo_ids(session, case.id)
                ]
            audit.append(
                session,
                principal.actor,
                "case.merchant_responded",
                "case",
                case.id,
                {"files": len(accepted), "late": late},
            )
            if case.status == CaseStatus.AWAITING_MERCHANT.value:
                self._set_status(session, case, CaseStatus.IN_REVIEW, principal.actor, reason="merchant_responded")
            out = self._out(session, principal, case)
        self.deps.dispatch(job_ids)
        return out

    def review_queue(
        self,
        principal: Principal,
        *,
        claim_type: str | None = None,
        merchant_id: str | None = None,
        min_risk: float | None = None,
        include_waiting: bool = False,
        limit: int = 100,
    ) -> list[CaseSummary]:
        """Reviewer: cases to decide, earliest deadline first, then highest risk."""
        require(principal, Role.REVIEWER)
        statuses = list(_REVIEWABLE) + ([CaseStatus.AWAITING_MERCHANT.value] if include_waiting else [])
        stmt = select(Case).where(Case.status.in_(statuses))
        if claim_type:
            stmt = stmt.where(Case.claim_type == claim_type)
        if merchant_id:
            stmt = stmt.where(Case.merchant_id == merchant_id)
        if min_risk is not None:
            stmt = stmt.where(Case.risk >= min_risk)
        stmt = stmt.order_by(
            Case.window_deadline.is_(None), Case.window_deadline, Case.risk.desc().nulls_last(), Case.created_at
        ).limit(min(max(limit, 1), 500))
        with self.deps.session() as session:
            return [self._summary(c) for c in session.scalars(stmt)]

    def decide(self, principal: Principal, case_id: str, *, outcome: str, reason_code: str, note: str = "") -> CaseOut:
        """Reviewer: approve or deny with a reason code. On an appeal the reviewer must be a different one."""
        require(principal, Role.REVIEWER)
        if outcome not in ("approve", "deny"):
            raise UserInputError("outcome must be approve or deny", code="invalid_outcome")
        table = APPROVE_REASONS if outcome == "approve" else DENY_REASONS
        if reason_code not in table:
            raise UserInputError(
                f"reason_code for {outcome} must be one of {', '.join(table)}", code="invalid_reason_code"
            )
        note = _text(note, "note", max_len=5000, required=False)
        with self.deps.session() as session:
            case = self._case(session, principal, case_id, lock=True)
            appeal = case.status == CaseStatus.APPEALED.value
            if appeal:
                first = session.scalars(
                    select(ReviewDecision.reviewer).where(
                        ReviewDecision.case_id == case.id, ReviewDecision.appeal.is_(False)
                    )
                ).all()
                if principal.actor in first:
                    raise PermissionDenied("an appeal must be decided by a different reviewer", code="same_reviewer")
                target = CaseStatus.APPROVED if outcome == "approve" else CaseStatus.CLOSED
            else:
                target = CaseStatus.APPROVED if outcome == "approve" else CaseStatus.DENIED
            if self._pending_checks(session, case.id):
                raise Conflict(
                    "checks of this case are still running; decide when they are done", code="checks_pending"
                )
            self._set_status(
                session, case, target, principal.actor, outcome=outcome, reason_code=reason_code, appeal=appeal
            )
            session.add(
                ReviewDecision(
                    case_id=case.id,
                    reviewer=principal.actor,
                    outcome=outcome,
                    reason_code=reason_code,
                    note=note,
                    appeal=appeal,
                    created_at=utcnow(),
                )
            )
            case.window_deadline = None if target != CaseStatus.DENIED else case.window_deadline
            final = {CaseStatus.APPROVED: "approved", CaseStatus.CLOSED: "denied_upheld", CaseStatus.DENIED: "denied"}
            self._outcome(session, case, ("appeal_" if appeal else "") + final[target], reason_code, principal.actor)
            return self._out(session, principal, case)

    def request_evidence(self, principal: Principal, case_id: str, *, items: Sequence[str], text: str = "") -> CaseOut:
        """Reviewer: ask the buyer for named items; a running merchant window pauses."""
        require(principal, Role.REVIEWER)
        unknown = [i for i in items if i not in EVIDENCE_ITEMS]
        if not items or unknown:
            raise UserInputError(f"items must be among {', '.join(EVIDENCE_ITEMS)}", code="invalid_items")
        extra = _text(text, "text", max_len=1000, required=False)
        with self.deps.session() as session:
            case = self._case(session, principal, case_id, lock=True)
            if case.status == CaseStatus.AWAITING_MERCHANT.value and case.window_deadline is not None:
                case.window_remaining_s = max(0.0, (case.window_deadline - utcnow()).total_seconds())
                case.window_deadline = None
            self._set_status(session, case, CaseStatus.NEEDS_EVIDENCE, principal.actor, requested=list(items))
            case.requested_evidence = [
                {"item": i, "text": EVIDENCE_ITEMS[i] + (f" {extra}" if extra else "")} for i in items
            ]
            return self._out(session, principal, case)

    def recheck(self, principal: Principal, case_id: str) -> int:
        """Reviewer/admin: check every buyer photo again (e.g. after new references); returns jobs queued."""
        require(principal, Role.REVIEWER)
        with self.deps.session() as session:
            case = self._case(session, principal, case_id)
            job_ids = [
                enqueue(session, "check_evidence", {"evidence_id": e, "recheck": True}, case_id=case.id).id
                for e in self._buyer_photo_ids(session, case.id)
            ]
            audit.append(session, principal.actor, "case.recheck_requested", "case", case.id, {"jobs": len(job_ids)})
        self.deps.dispatch(job_ids)
        return len(job_ids)

    def expire_windows(self, *, now: datetime | None = None) -> list[str]:
        """Escalate every case whose merchant window ran out to review (never decides). Returns their ids."""
        now = now or utcnow()
        escalated: list[str] = []
        with self.deps.session() as session:
            due = session.scalars(
                select(Case)
                .where(Case.status == CaseStatus.AWAITING_MERCHANT.value, Case.window_deadline < now)
                .with_for_update()
            )
            for case in due:
                case.escalated = True
                self._set_status(
                    session,
                    case,
                    CaseStatus.IN_REVIEW,
                    "system:window",
                    reason="window_expired",
                    deadline=case.window_deadline.isoformat() if case.window_deadline else None,
                )
                escalated.append(case.id)
        return escalated

    def get_case(self, principal: Principal, case_id: str) -> CaseOut:
        """One case as the caller may see it."""
        with self.deps.session() as session:
            return self._out(session, principal, self._case(session, principal, case_id))

    def list_cases(
        self, principal: Principal, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[CaseSummary]:
        """The caller's cases (buyer: own; merchant: its shops'; staff: all), newest first."""
        stmt = select(Case)
        if principal.role is Role.BUYER:
            stmt = stmt.where(Case.buyer_id == principal.subject_id)
        elif principal.role is Role.MERCHANT:
            stmt = stmt.where(Case.merchant_id == principal.subject_id)
        elif not principal.is_staff:
            raise PermissionDenied("no cases for this role")
        if status:
            stmt = stmt.where(Case.status == status)
        stmt = stmt.order_by(Case.created_at.desc(), Case.id).limit(min(max(limit, 1), 500)).offset(max(offset, 0))
        with self.deps.session() as session:
            return [self._summary(c) for c in session.scalars(stmt)]

    def evidence_bytes(self, principal: Principal, case_id: str, sha256: str) -> tuple[bytes, str]:
        """A case file or one of its references, verified, if the caller may see the case."""
        with self.deps.session() as session:
            case = self._case(session, principal, case_id)
            found = session.scalar(
                select(CaseEvidence.content_type)
                .where(CaseEvidence.case_id == case.id, CaseEvidence.sha256 == sha256)
                .limit(1)
            )
            if found is None and principal.role is not Role.BUYER:
                shas = {s for _n, s in self._references(session, case)}
                found = "image/jpeg" if sha256 in shas else None
            if found is None:
                raise NotFound("no such file in this case")
            audit.append(session, principal.actor, "case.evidence_read", "case", case.id, {"sha256": sha256})
        return self.deps.store.get(sha256), found
