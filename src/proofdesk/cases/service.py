"""The case service: claims, checks, routing, the merchant response window, review and appeal.

Flow (DESIGN.md §1): :meth:`CaseService.file_claim` validates every upload before writing anything, stores
the files (content-addressed), creates the case and one ``check_evidence`` job per photo in one transaction,
then dispatches the jobs. :meth:`handle_check` (run by a worker) stores a versioned report; when the last
check of a case in ``checking`` finishes, the routing policy decides: approve, ask the buyer for exactly
named evidence, or open the merchant response window for review. The window pauses while the buyer is asked
for more and resumes with the time that was left; :meth:`expire_windows` escalates expired windows to
review (it never decides). Reviewers take cases from :meth:`review_queue` (deadline, then risk), decide with
reason codes; the buyer may appeal a denial once with new evidence, and a different reviewer decides.

Every status change goes through :func:`~proofdesk.cases.states.transition` and writes an audit event in the
same transaction. Scope: a buyer sees only their cases, a merchant only its shops' cases (others: 404); a
role that may never do something gets 403.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cases._deps import CaseDeps
from proofdesk.cases.catalog import MAX_FILES, _text
from proofdesk.cases.media import AcceptedFile, Upload, accept_upload
from proofdesk.cases.models import (
    Case,
    CaseEvidence,
    CaseMessage,
    CheckReport,
    Listing,
    ListingImage,
    Order,
    ReviewDecision,
    RoutingDecision,
    ShipmentEvidence,
    Shop,
)
from proofdesk.cases.reasons import APPROVE_REASONS, DENY_REASONS, reason_text
from proofdesk.cases.schemas import (
    CaseOut,
    CaseSummary,
    DecisionOut,
    EvidenceOut,
    MessageOut,
    ReportOut,
    RequestedItem,
    RoutingOut,
)
from proofdesk.cases.states import CaseStatus, ClaimType, allowed_next, transition
from proofdesk.checks.base import Check, CheckContext, OrderTimeline
from proofdesk.checks.registry import build_checks
from proofdesk.db import utcnow
from proofdesk.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, UserInputError
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.jobs import Job, enqueue, finish
from proofdesk.policy import EVIDENCE_ITEMS, RoutingInput
from proofdesk.security import Principal, Role, require
from proofdesk.verify import verify

_VERDICT_ORDER: Final = {"likely_genuine": 0, "needs_review": 1, "likely_forged": 2}
_REVIEWABLE: Final = (CaseStatus.IN_REVIEW.value, CaseStatus.APPEALED.value)


def _request_hash(order_id: str, claim_type: str, reason: str, description: str, files: Sequence[AcceptedFile]) -> str:
    body = json.dumps(
        [order_id, claim_type, reason, description, sorted(hashlib.sha256(f.data).hexdigest() for f in files)]
    )
    return hashlib.sha256(body.encode()).hexdigest()


class CaseService:
    """Claims and cases. Every public method takes the calling principal and enforces scope."""

    def __init__(self, deps: CaseDeps) -> None:
        self.deps = deps
        # Checks are built once per thread (models such as the OCR load once); instances are not shared
        # between threads because a check may keep per-call state.
        self._local = threading.local()

    def warm_up(self) -> None:
        """Build this thread's checks ahead of the first job (worker start-up)."""
        self._checks()

    def _checks(self) -> list[Check]:
        checks: list[Check] | None = getattr(self._local, "checks", None)
        if checks is None:
            checks = build_checks(config=self.deps.settings.checks)
            self._local.checks = checks
        return checks

    # -- scope ----------------------------------------------------------------------------------------
    @staticmethod
    def can_see(principal: Principal, case: Case) -> bool:
        """Whether ``principal`` may know this case exists."""
        if principal.is_staff:
            return True
        if principal.role is Role.BUYER:
            return case.buyer_id == principal.subject_id
        if principal.role is Role.MERCHANT:
            return case.merchant_id == principal.subject_id
        return False

    def _case(self, session: Session, principal: Principal, case_id: str, *, lock: bool = False) -> Case:
        case = session.get(Case, case_id, with_for_update=lock)
        if case is None or not self.can_see(principal, case):
            raise NotFound("no such case")
        return case

    def _set_status(self, session: Session, case: Case, target: CaseStatus, actor: str, **data: Any) -> None:
        new = transition(case.status, target)
        audit.append(session, actor, "case.status", "case", case.id, {"from": case.status, "to": new.value, **data})
        case.status = new.value
        case.updated_at = utcnow()

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

    # -- filing ---------------------------------------------------------------------------------------
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

    # -- checks (worker side) -------------------------------------------------------------------------
    def _references(self, session: Session, case: Case) -> list[tuple[str, str]]:
        """(name, sha256) of every reference: listing images, shipment photos and keyframes, merchant photos."""
        order = session.get(Order, case.order_id)
        assert order is not None
        refs: list[tuple[str, str]] = []
        for img in session.scalars(
            select(ListingImage).where(ListingImage.listing_id == order.listing_id).order_by(ListingImage.position)
        ):
            refs.append((f"listing-{img.position}:{img.name}", img.sha256))
        for item in session.scalars(
            select(ShipmentEvidence)
            .where(ShipmentEvidence.order_id == order.id, ShipmentEvidence.kind != "packing_video")
            .order_by(ShipmentEvidence.created_at)
        ):
            refs.append((f"{item.kind}:{item.name}", item.sha256))
        for ev in session.scalars(
            select(CaseEvidence).where(
                CaseEvidence.case_id == case.id, CaseEvidence.party == "merchant", CaseEvidence.kind == "photo"
            )
        ):
            refs.append((f"merchant:{ev.name}", ev.sha256))
        return refs

    def _read(self, name: str, sha: str) -> Evidence:
        return read_evidence(self.deps.store.get(sha), name=name, limits=self.deps.settings.evidence)

    def handle_check(self, job: Job) -> None:
        """Job handler: check one buyer photo against the case's references and store a new report version."""
        evidence_id = str(job.payload["evidence_id"])
        with self.deps.session() as session:
            ev = session.get(CaseEvidence, evidence_id)
            if ev is None:
                raise NotFound(f"evidence {evidence_id} vanished")
            case = session.get(Case, ev.case_id)
            order = session.get(Order, case.order_id) if case else None
            assert case is not None and order is not None
            refs = self._references(session, case)
            siblings = [
                (s.name, s.sha256)
                for s in session.scalars(
                    select(CaseEvidence).where(
                        CaseEvidence.case_id == case.id,
                        CaseEvidence.party == "buyer",
                        CaseEvidence.kind == "photo",
                        CaseEvidence.id != ev.id,
                    )
                )
            ]
            timeline = OrderTimeline(
                ordered_at=order.ordered_at,
                shipped_at=order.shipped_at,
                delivered_at=order.delivered_at,
                filed_at=case.created_at,
            )
            bank = self.deps.hash_bank_for(session, case.id) if self.deps.hash_bank_for else None
            merchant_id = case.merchant_id
            claim_name, claim_sha, case_id = ev.name, ev.sha256, case.id
        claim = self._read(claim_name, claim_sha)
        catalogue = self.deps.catalogues.open(merchant_id) if self.deps.catalogues is not None else None
        context = CheckContext(
            references=[self._read(n, s) for n, s in refs],
            catalogue=catalogue,
            timeline=timeline,
            siblings=[self._read(n, s) for n, s in siblings],
            hash_bank=bank,
            config=self.deps.settings.checks,
        )
        report = verify(
            claim,
            context=context,
            checks=self._checks(),
            policy=self.deps.settings.verdict,
        )
        with self.deps.session() as session:
            case = session.get(Case, case_id, with_for_update=True)  # serialises the "last check done?" question
            assert case is not None
            version = (
                session.scalar(select(func.max(CheckReport.version)).where(CheckReport.evidence_id == evidence_id)) or 0
            ) + 1
            session.add(
                CheckReport(
                    case_id=case_id,
                    evidence_id=evidence_id,
                    version=version,
                    verdict=report.verdict,
                    risk=float(report.risk),
                    report=report.to_json(),
                    references=[n for n, _ in refs],
                    job_id=job.id,
                    created_at=utcnow(),
                )
            )
            finish(session, job)
            session.flush()
            audit.append(
                session,
                "system:worker",
                "case.checked",
                "case",
                case_id,
                {
                    "evidence_id": evidence_id,
                    "version": version,
                    "verdict": report.verdict,
                    "risk": round(float(report.risk), 4),
                    "decided_by": report.decided_by,
                },
            )
            self._after_checks(session, case)

    def on_job_failed(self, job: Job, message: str) -> None:
        """A check failed for good: record it and let a person look (never wave the photo through)."""
        if job.case_id is None:
            return
        with self.deps.session() as session:
            case = session.get(Case, job.case_id, with_for_update=True)
            if case is None:
                return
            audit.append(
                session,
                "system:worker",
                "case.check_failed",
                "case",
                case.id,
                {"job_id": job.id, "error": message[:500]},
            )
            self._after_checks(session, case, failed=True)

    def _pending_checks(self, session: Session, case_id: str) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.case_id == case_id, Job.kind == "check_evidence", Job.status.in_(["queued", "running"]))
            )
            or 0
        )

    def _latest_reports(self, session: Session, case_id: str) -> list[CheckReport]:
        newest = (
            select(CheckReport.evidence_id, func.max(CheckReport.version).label("v"))
            .where(CheckReport.case_id == case_id)
            .group_by(CheckReport.evidence_id)
            .subquery()
        )
        stmt = (
            select(CheckReport)
            .join(newest, (CheckReport.evidence_id == newest.c.evidence_id) & (CheckReport.version == newest.c.v))
            .order_by(CheckReport.created_at)
        )
        return list(session.scalars(stmt))

    def _after_checks(self, session: Session, case: Case, *, failed: bool = False) -> None:
        if self._pending_checks(session, case.id):
            return
        reports = self._latest_reports(session, case.id)
        review_at = self.deps.settings.verdict.review_at
        if reports:
            case.risk = max(r.risk for r in reports)
            case.verdict = max((r.verdict for r in reports), key=lambda v: _VERDICT_ORDER.get(v, 1))
        if failed or not reports:
            case.verdict = "needs_review" if _VERDICT_ORDER.get(case.verdict or "", 0) < 1 else case.verdict
            case.risk = case.risk or 0.0
        case.updated_at = utcnow()
        if case.status != CaseStatus.CHECKING.value:
            return  # a re-check: new report versions, no re-routing
        labels = frozenset(
            f"{f['check']}:{f['label']}"
            for r in reports
            for f in r.report.get("findings", [])
            if float(f.get("score", 0)) >= review_at
        )
        counts: dict[str, int] = {
            str(kind): int(n)
            for kind, n in session.execute(
                select(CaseEvidence.kind, func.count())
                .where(CaseEvidence.case_id == case.id, CaseEvidence.party == "buyer")
                .group_by(CaseEvidence.kind)
            )
        }
        standing, standing_why = (
            self.deps.standing_for(session, case.buyer_id, case.merchant_id)
            if self.deps.standing_for
            else _simple_standing(session, case)
        )
        facts = RoutingInput(
            verdict=case.verdict or "needs_review",
            risk=float(case.risk or 0.0),
            amount_cents=case.amount_cents,
            claim_type=case.claim_type,
            category=case.category,
            reason=case.reason,
            buyer_standing=standing,
            photos=counts.get("photo", 0),
            videos=counts.get("video", 0),
            labels=labels,
        )
        fired = set(
            session.scalars(
                select(RoutingDecision.rule).where(
                    RoutingDecision.case_id == case.id, RoutingDecision.action == "request_evidence"
                )
            )
        )
        outcome = self.deps.policy.route(facts, skip_rules=fired)
        inputs = {
            "verdict": facts.verdict,
            "risk": round(facts.risk, 4),
            "amount_cents": facts.amount_cents,
            "claim_type": facts.claim_type,
            "category": facts.category,
            "reason": facts.reason,
            "buyer_standing": standing,
            "buyer_standing_why": standing_why,
            "photos": facts.photos,
            "videos": facts.videos,
            "labels": sorted(labels),
        }
        session.add(
            RoutingDecision(
                case_id=case.id,
                action=outcome.action,
                policy_version=outcome.policy_version,
                rule=outcome.rule,
                explanation=outcome.explanation,
                inputs=inputs,
                report_ids=[r.id for r in reports],
                created_at=utcnow(),
            )
        )
        if case.verdict_at is None:
            case.verdict_at = utcnow()
        data = {"policy_version": outcome.policy_version, "rule": outcome.rule}
        if outcome.action == "approve":
            self._set_status(session, case, CaseStatus.APPROVED, "system:policy", **data)
            self._outcome(session, case, "auto_approved", None, "system:policy")
        elif outcome.action == "request_evidence":
            case.requested_evidence = [{"item": r.item, "text": r.instruction} for r in outcome.requests]
            self._set_status(
                session,
                case,
                CaseStatus.NEEDS_EVIDENCE,
                "system:policy",
                **data,
                requested=[r.item for r in outcome.requests],
            )
        else:
            answered = (
                session.scalar(
                    select(func.count())
                    .select_from(CaseMessage)
                    .where(CaseMessage.case_id == case.id, CaseMessage.kind == "response")
                )
                or 0
            )
            if answered:
                self._set_status(session, case, CaseStatus.IN_REVIEW, "system:policy", **data)
            else:
                self._open_window(case)
                self._set_status(
                    session,
                    case,
                    CaseStatus.AWAITING_MERCHANT,
                    "system:policy",
                    **data,
                    deadline=case.window_deadline.isoformat() if case.window_deadline else None,
                )

    def _open_window(self, case: Case) -> None:
        now = utcnow()
        if case.window_remaining_s is not None:  # resume a paused window with the time that was left
            case.window_deadline = now + timedelta(seconds=case.window_remaining_s)
            case.window_remaining_s = None
        elif case.window_deadline is None:
            case.window_deadline = now + timedelta(hours=self.deps.settings.merchant_response_hours)

    def _outcome(self, session: Session, case: Case, outcome: str, reason_code: str | None, actor: str) -> None:
        for hook in self.deps.outcome_hooks:
            hook(session, case.id, outcome, reason_code, actor)

    # -- buyer actions --------------------------------------------------------------------------------
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

    # -- merchant actions -----------------------------------------------------------------------------
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

    @staticmethod
    def _buyer_photo_ids(session: Session, case_id: str) -> list[str]:
        return list(
            session.scalars(
                select(CaseEvidence.id).where(
                    CaseEvidence.case_id == case_id, CaseEvidence.party == "buyer", CaseEvidence.kind == "photo"
                )
            )
        )

    # -- reviewer actions -----------------------------------------------------------------------------
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

    # -- reading --------------------------------------------------------------------------------------
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

    @staticmethod
    def _summary(case: Case) -> CaseSummary:
        return CaseSummary(
            id=case.id,
            order_id=case.order_id,
            shop_id=case.shop_id,
            merchant_id=case.merchant_id,
            buyer_id=case.buyer_id,
            claim_type=case.claim_type,
            reason=case.reason,
            status=case.status,
            amount_cents=case.amount_cents,
            category=case.category,
            risk=case.risk,
            verdict=case.verdict,
            deadline=case.window_deadline,
            window_paused_s=case.window_remaining_s,
            escalated=case.escalated,
            created_at=case.created_at,
            updated_at=case.updated_at,
            verdict_at=case.verdict_at,
        )

    def _out(self, session: Session, principal: Principal, case: Case) -> CaseOut:
        session.flush()
        staff = principal.is_staff
        evidence = session.scalars(
            select(CaseEvidence)
            .where(CaseEvidence.case_id == case.id)
            .order_by(CaseEvidence.created_at, CaseEvidence.id)
        ).all()
        reports = [] if principal.role is Role.BUYER else self._latest_reports(session, case.id)
        routing = session.scalars(
            select(RoutingDecision).where(RoutingDecision.case_id == case.id).order_by(RoutingDecision.created_at)
        ).all()
        decisions = session.scalars(
            select(ReviewDecision).where(ReviewDecision.case_id == case.id).order_by(ReviewDecision.created_at)
        ).all()
        messages = session.scalars(
            select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.created_at)
        ).all()
        summary = self._summary(case)
        return CaseOut(
            **summary.model_dump(),
            description=case.description,
            appeal_used=case.appeal_used,
            requested_evidence=[RequestedItem(**r) for r in case.requested_evidence or []],
            evidence=[
                EvidenceOut(
                    id=e.id,
                    party=e.party,
                    stage=e.stage,
                    kind=e.kind,
                    name=e.name,
                    sha256=e.sha256,
                    content_type=e.content_type,
                    created_at=e.created_at,
                )
                for e in evidence
                if principal.role is not Role.BUYER or e.party == "buyer"
            ],
            reports=[
                ReportOut(
                    id=r.id,
                    evidence_id=r.evidence_id,
                    version=r.version,
                    verdict=r.verdict,
                    risk=r.risk,
                    references=list(r.references),
                    created_at=r.created_at,
                    report=r.report,
                )
                for r in reports
            ],
            routing=[
                RoutingOut(
                    action=r.action,
                    policy_version=r.policy_version,
                    rule=r.rule,
                    explanation=r.explanation,
                    report_ids=list(r.report_ids),
                    created_at=r.created_at,
                )
                for r in routing
            ]
            if principal.role is not Role.BUYER
            else [],
            decisions=[
                DecisionOut(
                    outcome=d.outcome,
                    reason_code=d.reason_code,
                    reason=reason_text(d.outcome, d.reason_code),
                    appeal=d.appeal,
                    note=d.note if staff else "",
                    reviewer=d.reviewer if staff else None,
                    created_at=d.created_at,
                )
                for d in decisions
            ],
            messages=[MessageOut(party=m.party, kind=m.kind, text=m.text, created_at=m.created_at) for m in messages],
            allowed_next=sorted(s.value for s in allowed_next(CaseStatus(case.status))),
            pending_jobs=self._pending_checks(session, case.id),
        )


def _simple_standing(session: Session, case: Case) -> tuple[str, str]:
    """Fallback buyer standing from this platform's own outcomes (used when no credit service is wired)."""
    rows = session.execute(
        select(Case.status, func.count())
        .where(Case.buyer_id == case.buyer_id, Case.id != case.id)
        .group_by(Case.status)
    ).all()
    counts: dict[str, int] = {str(status): int(n) for status, n in rows}
    denied = counts.get(CaseStatus.DENIED.value, 0) + counts.get(CaseStatus.CLOSED.value, 0)
    if denied:
        return "poor", f"{denied} earlier claim(s) denied"
    if counts.get(CaseStatus.APPROVED.value, 0):
        return "good", f"{counts[CaseStatus.APPROVED.value]} earlier claim(s) approved, none denied"
    if sum(counts.values()) == 0:
        return "new", "no earlier claims"
    return "unknown", "earlier claims still open"
