"""Shared core of the case service: scope, status changes through the state machine, outcomes, and the
views (what a case looks like to each role). :class:`~proofdesk.cases.checking.CheckRunner` (worker side) and
:class:`~proofdesk.cases.service.CaseService` (request side) build on it.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cases._deps import CaseDeps
from proofdesk.cases.models import (
    Case,
    CaseEvidence,
    CaseMessage,
    CheckReport,
    ReviewDecision,
    RoutingDecision,
)
from proofdesk.cases.reasons import reason_text
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
from proofdesk.cases.states import CaseStatus, allowed_next, transition
from proofdesk.db import utcnow
from proofdesk.errors import NotFound
from proofdesk.jobs import Job
from proofdesk.security import Principal, Role


class CaseCore:
    """Scope, transitions and views shared by the worker and request sides."""

    def __init__(self, deps: CaseDeps) -> None:
        self.deps = deps
        # Checks are built once per thread (models such as the OCR load once); instances are not shared
        # between threads because a check may keep per-call state.
        self._local = threading.local()

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

    def _outcome(self, session: Session, case: Case, outcome: str, reason_code: str | None, actor: str) -> None:
        for hook in self.deps.outcome_hooks:
            hook(session, case.id, outcome, reason_code, actor)

    @staticmethod
    def _buyer_photo_ids(session: Session, case_id: str) -> list[str]:
        return list(
            session.scalars(
                select(CaseEvidence.id).where(
                    CaseEvidence.case_id == case_id, CaseEvidence.party == "buyer", CaseEvidence.kind == "photo"
                )
            )
        )

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
