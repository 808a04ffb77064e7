"""Worker side of the case service: check one buyer photo, store the versioned report, route the case.

A ``check_evidence`` job (:mod:`proofdesk.jobs`) runs :meth:`CheckRunner.handle_check`: it reads the photo and
every reference (the order's listing images, packing photos and video keyframes, the merchant's
counter-evidence; plus candidates from the merchant's catalogue and the reuse banks), runs
:func:`proofdesk.verify.verify` and stores a new :class:`~proofdesk.cases.models.CheckReport` version in the
same transaction that marks the job done. When the last check of a case in ``checking`` is done, the routing
policy decides (approve / request evidence / review), the decision is stored with the policy version, the
rule and the report ids, and the merchant window opens (or resumes with the time it had left).
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cases._core import CaseCore
from proofdesk.cases.models import (
    Case,
    CaseEvidence,
    CaseMessage,
    CheckReport,
    ListingImage,
    Order,
    RoutingDecision,
    ShipmentEvidence,
)
from proofdesk.cases.states import CaseStatus
from proofdesk.checks.base import Check, CheckContext, OrderTimeline
from proofdesk.checks.registry import build_checks
from proofdesk.db import utcnow
from proofdesk.errors import NotFound
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.jobs import Job, finish
from proofdesk.policy import RoutingInput
from proofdesk.verify import verify

_VERDICT_ORDER: Final = {"likely_genuine": 0, "needs_review": 1, "likely_forged": 2}



def _png(mask: npt.NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()

class CheckRunner(CaseCore):
    """Runs checks and routes cases (job handlers)."""

    def warm_up(self) -> None:
        """Build this thread's checks ahead of the first job (worker start-up)."""
        self._checks()

    def _checks(self) -> list[Check]:
        checks: list[Check] | None = getattr(self._local, "checks", None)
        if checks is None:
            checks = build_checks(config=self.deps.settings.checks)
            self._local.checks = checks
        return checks

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
        stored_report = report.to_json()
        edit_mask = report.edit_mask()
        if edit_mask.any():
            # The mask is part of the evidence a reviewer or court follows: stored write-once next to the photos,
            # named by its hash in the report so the console and the evidence report can draw it.
            stored_report["mask_sha256"] = self.deps.store.put(_png(edit_mask), "image/png")
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
                    report=stored_report,
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
