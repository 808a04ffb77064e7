"""The repair service: intake → region → dispatch → visit → record → warranty → follow-up, persisted and audited.

Where this sits: the API routes (``proofdesk.api.routes.repair``) and the console pages call
:class:`RepairService`; it owns the rules and the transaction boundaries stay with the caller (one
``services.session()`` per request). It builds on the case-service foundation: the ``Base`` tables in
:mod:`proofdesk.repair.models`, :class:`~proofdesk.security.PersonalDataCipher` for customers' and technicians'
contact data, :mod:`proofdesk.audit` for every state change and every read of personal data in clear,
:mod:`proofdesk.store` for photos, videos and signatures, and :func:`proofdesk.verify.verify` so that a
technician's photos go through the same forgery checks as a buyer's claim photos (the before photos are the
references of the after photos: an "after" that is an edited "before" is exactly the fake to catch).

Who may do what (``require`` raises PermissionDenied): agents take phone/chat/e-mail requests, buyers use the web
form, merchants and apps the API; dispatchers assign, override, reveal contact data; a technician acts only on
requests assigned to them; the customer approves quotes and answers the survey (an agent may do both on the
customer's behalf, recorded as such).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.checks.base import CheckContext
from proofdesk.config import Settings
from proofdesk.db import utcnow
from proofdesk.errors import (
    Conflict,
    CorruptEvidence,
    EvidenceTooLarge,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    UnsupportedFormat,
    UserInputError,
)
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.repair.calendar import CHINA_TZ, WorkCalendar
from proofdesk.repair.dispatch import (
    Alert,
    AlertKind,
    Assignment,
    Dispatcher,
    Job,
    NoTechnicianAvailable,
    Priority,
    PromisePolicy,
    PromiseTerms,
    Technician,
    Visit,
    due_alerts,
)
from proofdesk.repair.lifecycle import OPEN_STATUSES, WITH_TECHNICIAN, VisitStatus, transition
from proofdesk.repair.models import (
    RepairAssignment,
    RepairDiagnosis,
    RepairFollowUp,
    RepairMaintenancePlan,
    RepairMedia,
    RepairRecord,
    RepairRequest,
    RepairTeam,
    RepairTechnician,
    RepairWarranty,
)
from proofdesk.repair.regions import Coverage, DivisionCatalog, OutsideCoverage, distance_km
from proofdesk.repair.warranty import (
    MaintenancePlan,
    PartLine,
    Warranty,
    WarrantyStatus,
    WarrantyTerms,
    add_months,
    callback_due,
    lookup,
)
from proofdesk.security import PersonalDataCipher, Principal, Role, mask_name, mask_phone, require
from proofdesk.store import BlobStore
from proofdesk.verify import verify

CHANNELS = frozenset({"web", "api", "phone", "chat", "email"})
AGENT_CHANNELS = frozenset({"phone", "chat", "email"})
STAGES = frozenset({"intake", "before", "during", "after"})
S = VisitStatus


@functools.cache
def default_catalog() -> DivisionCatalog:
    """The division table, loaded once per process on first use (~70 ms)."""
    return DivisionCatalog.load()


class PhotoRejected(UserInputError):
    """A required photo is missing or every candidate photo was judged likely forged."""

    code = "repair_photo_required"


@dataclass(frozen=True)
class IntakeForm:
    """What every channel collects (the agent screen types it in from a call, chat or e-mail)."""

    channel: str
    customer_name: str
    customer_phone: str
    address: str
    category: str
    product: str
    fault: str
    unit_serial: str | None = None
    priority: Priority = Priority.NORMAL
    min_level: int = 1
    duration_minutes: int = 90
    preferred_time: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class QuoteLine:
    item: str
    amount_fen: int


@dataclass(frozen=True)
class PartUsed:
    name: str
    serial: str


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass
class RepairService:
    """Operations on repair requests within one database session."""

    session: Session
    cipher: PersonalDataCipher
    store: BlobStore
    settings: Settings
    catalog: DivisionCatalog = field(default_factory=default_catalog)
    policy: PromisePolicy = field(default_factory=PromisePolicy)
    warranty_terms: WarrantyTerms = field(default_factory=WarrantyTerms)
    clock: Callable[[], dt.datetime] = utcnow
    checks: Sequence[Any] | None = None  # None: every registered check (tests may pass a subset)

    # -- teams and technicians ---------------------------------------------------------------------------

    def create_team(self, principal: Principal, *, name: str, coverage: Sequence[str]) -> RepairTeam:
        require(principal, Role.DISPATCHER)
        Coverage.of(self.catalog, coverage)  # validates every code
        team = RepairTeam(name=name, coverage=list(coverage))
        self.session.add(team)
        self.session.flush()
        self._audit(principal, "repair.team_created", "repair_team", team.id, {"coverage": list(coverage)})
        return team

    def add_technician(
        self,
        principal: Principal,
        *,
        team_id: str,
        name: str,
        phone: str | None,
        home_code: str,
        skills: dict[str, int],
        coverage: Sequence[str] | None = None,
        shift: tuple[str, str] = ("08:00", "20:00"),
        weekends: bool = False,
        daily_capacity: int = 6,
    ) -> RepairTechnician:
        require(principal, Role.DISPATCHER)
        team = self.session.get(RepairTeam, team_id)
        if team is None:
            raise NotFound(f"no team {team_id}")
        if not self.catalog.is_leaf(self.catalog.get(home_code).code):
            raise UserInputError("a technician's home must be a county-level division")
        if coverage is not None:
            Coverage.of(self.catalog, coverage)
        # Validate skills, shift and capacity through the domain object before storing anything.
        Technician(
            id="new",
            name=name,
            home=home_code,
            coverage=Coverage(frozenset()),
            skills=skills,
            calendar=_calendar(shift[0], shift[1], weekends, []),
            daily_capacity=daily_capacity,
        )
        tech = RepairTechnician(
            team_id=team_id,
            name_enc=self.cipher.encrypt(name),
            phone_enc=self.cipher.encrypt(phone) if phone else None,
            display_name=mask_name(name),
            home_code=home_code,
            coverage=list(coverage) if coverage is not None else None,
            skills=dict(skills),
            shift_start=shift[0],
            shift_end=shift[1],
            weekends=weekends,
            days_off=[],
            daily_capacity=daily_capacity,
        )
        self.session.add(tech)
        self.session.flush()
        self._audit(
            principal,
            "repair.technician_added",
            "repair_technician",
            tech.id,
            {"team": team_id, "home": home_code, "skills": dict(skills)},
        )
        return tech

    def set_days_off(self, principal: Principal, technician_id: str, days: Sequence[dt.date]) -> None:
        require(principal, Role.DISPATCHER, Role.TECHNICIAN)
        if principal.role is Role.TECHNICIAN and principal.subject_id != technician_id:
            raise PermissionDenied("technicians manage only their own days off")
        tech = self._tech(technician_id)
        tech.days_off = sorted({d.isoformat() for d in days})
        self._audit(principal, "repair.days_off", "repair_technician", tech.id, {"days": tech.days_off})

    # -- dispatcher state from the database ----------------------------------------------------------------

    def _dispatcher(self, now: dt.datetime) -> Dispatcher:
        teams = {t.id: t for t in self.session.scalars(select(RepairTeam).where(RepairTeam.active.is_(True)))}
        techs: dict[str, Technician] = {}
        for row in self.session.scalars(select(RepairTechnician).where(RepairTechnician.active.is_(True))):
            if row.team_id not in teams:
                continue
            codes = row.coverage if row.coverage is not None else teams[row.team_id].coverage
            techs[row.id] = Technician(
                id=row.id,
                name=row.display_name,
                home=row.home_code,
                coverage=Coverage.of(self.catalog, codes),
                skills=row.skills,
                calendar=_calendar(row.shift_start, row.shift_end, row.weekends, row.days_off),
                daily_capacity=row.daily_capacity,
                rating=row.rating if row.ratings else 4.5,
                ratings=row.ratings,
            )
        # Load: visits booked per day, and where/when each technician is after their last booked visit.
        since = now - dt.timedelta(days=1)
        booked = self.session.scalars(
            select(RepairRequest)
            .where(RepairRequest.technician_id.is_not(None), RepairRequest.eta >= since)
            .where(RepairRequest.status != S.CANCELLED.value)
            .order_by(RepairRequest.eta)
        )
        for req in booked:
            tech = techs.get(req.technician_id or "")
            if tech is None or req.eta is None:
                continue
            eta = req.eta.astimezone(CHINA_TZ)
            tech.booked[eta.date()] = tech.booked.get(eta.date(), 0) + 1
            if S(req.status) in OPEN_STATUSES:
                tech.schedule.append(
                    Visit(
                        req.id,
                        req.county_code,
                        eta,
                        req.duration_minutes,
                        req.on_site_by,
                        fixed=S(req.status) not in (S.ASSIGNED, S.CONTACTED),  # under way: never moved
                    )
                )
        return Dispatcher(self.catalog, techs.values(), policy=self.policy)

    # -- intake ----------------------------------------------------------------------------------------------

    def intake(self, principal: Principal, form: IntakeForm) -> RepairRequest:
        """Accept a request from any channel: resolve the address, check coverage, promise, and dispatch."""
        require(principal, Role.AGENT, Role.BUYER, Role.MERCHANT, Role.DISPATCHER)
        if form.channel not in CHANNELS:
            raise UserInputError(f"unknown channel {form.channel!r} (one of {', '.join(sorted(CHANNELS))})")
        if form.channel in AGENT_CHANNELS and principal.role not in (Role.AGENT, Role.DISPATCHER, Role.ADMIN):
            raise PermissionDenied("phone, chat and e-mail requests are entered by an agent")
        for label, value in (("name", form.customer_name), ("phone", form.customer_phone), ("fault", form.fault)):
            if not value.strip():
                raise UserInputError(f"the customer's {label} is required")
        if not 1 <= form.min_level <= 5:
            raise UserInputError("min_level must be 1..5")
        res, leaf = self.catalog.resolve_leaf(form.address)
        now = self.clock()
        dispatcher = self._dispatcher(now)
        if not dispatcher.covered(leaf.code):
            raise OutsideCoverage(self._outside_message(res.path(), leaf.code, dispatcher))
        customer_id = principal.subject_id if principal.role is Role.BUYER else form.customer_id
        terms = self.policy.terms(form.priority, leaf.code, now)
        warranty = [s.to_dict() for s in self._warranty_status(form.unit_serial, now.date())]
        req = RepairRequest(
            channel=form.channel,
            status=S.REQUESTED.value,
            customer_id=customer_id,
            customer_name_enc=self.cipher.encrypt(form.customer_name.strip()),
            customer_phone_enc=self.cipher.encrypt(form.customer_phone.strip()),
            address_enc=self.cipher.encrypt(form.address.strip()),
            address_masked=res.path().replace("/", "") + "****",  # the county is not personal; the rest is
            province_code=res.province.code,
            city_code=res.city.code if res.city else None,
            county_code=leaf.code,
            region_path=res.path(),
            category=form.category,
            product=form.product,
            unit_serial=(form.unit_serial or "").strip() or None,
            fault=form.fault,
            priority=form.priority.value,
            min_level=form.min_level,
            duration_minutes=form.duration_minutes,
            preferred_time=form.preferred_time,
            warranty=warranty,
            created_by=principal.actor,
            created_at=now,
            contact_by=terms.contact_by,
            on_site_by=terms.on_site_by,
            excluded=[],
            alerts_sent=[],
        )
        self.session.add(req)
        self.session.flush()
        self._audit(
            principal,
            "repair.requested",
            "repair_request",
            req.id,
            {
                "channel": form.channel,
                "region": leaf.code,
                "priority": form.priority.value,
                "promise": terms.to_dict(),
                "warranty_hits": len(warranty),
            },
        )
        self._auto_assign(req, dispatcher, now, principal)
        return req

    def _outside_message(self, path: str, code: str, dispatcher: Dispatcher) -> str:
        target = self.catalog.divisions[code]
        covered = {c for t in dispatcher.technicians.values() if t.active for c in t.coverage.leaves}
        if not covered:
            return f"{path} is outside every service area (no service team is set up yet)"
        nearest = min(covered, key=lambda c: distance_km(target, self.catalog.divisions[c]))
        km = distance_km(target, self.catalog.divisions[nearest])
        near_path = "/".join(d.name for d in self.catalog.chain(nearest))
        return f"{path} is outside our service areas; the nearest covered area is {near_path} (~{km:.0f} km)"

    def _auto_assign(self, req: RepairRequest, dispatcher: Dispatcher, now: dt.datetime, actor: Principal) -> None:
        try:
            result = dispatcher.assign(self._job(req), now)
        except NoTechnicianAvailable as exc:
            req.escalated = True
            req.dispatch_note = str(exc)
            self._audit(actor, "repair.unassigned", "repair_request", req.id, {"reason": exc.message})
            return
        self._record_assignment(req, result, actor, now)

    def _job(self, req: RepairRequest) -> Job:
        return Job(
            id=req.id,
            county=req.county_code,
            category=req.category,
            priority=Priority(req.priority),
            created_at=req.created_at,
            min_level=req.min_level,
            duration_minutes=req.duration_minutes,
            excluded=frozenset(req.excluded or []),
        )

    def _record_assignment(self, req: RepairRequest, result: Assignment, actor: Principal, now: dt.datetime) -> None:
        req.status = transition(S(req.status), S.ASSIGNED).value
        req.technician_id = result.technician_id
        req.eta = result.eta
        req.assigned_at = now
        req.escalated = not result.meets_promise
        req.dispatch_note = result.reason
        self.session.add(
            RepairAssignment(
                request_id=req.id,
                technician_id=result.technician_id,
                manual=result.manual,
                reason=result.reason,
                eta=result.eta,
                meets_promise=result.meets_promise,
                alternatives=[c.to_dict() for c in result.alternatives],
                created_at=now,
            )
        )
        for moved_id, new_eta in result.moved:  # an urgent job went first; these visits now arrive later
            other = self.get(moved_id)
            other.eta = new_eta
            self._audit(
                actor,
                "repair.eta_moved",
                "repair_request",
                moved_id,
                {"eta": new_eta.isoformat(), "because_of": req.id},
            )
        self._audit(
            actor,
            "repair.assigned",
            "repair_request",
            req.id,
            {
                "technician": result.technician_id,
                "manual": result.manual,
                "eta": result.eta.isoformat(),
                "meets_promise": result.meets_promise,
                "reason": result.reason,
            },
        )

    def _end_assignment(self, req: RepairRequest, reason: str, now: dt.datetime, *, exclude: bool = True) -> None:
        current = self.session.scalars(
            select(RepairAssignment).where(RepairAssignment.request_id == req.id, RepairAssignment.ended_at.is_(None))
        ).all()
        for a in current:
            a.ended_at, a.end_reason = now, reason
        if req.technician_id and exclude:  # a decline or lateness keeps that technician off this request
            req.excluded = [*(req.excluded or []), req.technician_id]
        req.technician_id, req.eta = None, None

    # -- dispatcher actions -------------------------------------------------------------------------------------

    def assign(self, principal: Principal, request_id: str) -> RepairRequest:
        """Run automatic assignment for a request still in the queue."""
        require(principal, Role.DISPATCHER)
        req = self.get(request_id)
        if S(req.status) is not S.REQUESTED:
            raise Conflict(f"request is {req.status}; use override or reassign")
        now = self.clock()
        self._auto_assign(req, self._dispatcher(now), now, principal)
        return req

    def override(self, principal: Principal, request_id: str, technician_id: str, *, reason: str) -> RepairRequest:
        """A dispatcher's manual choice (must cover the county and have the skill)."""
        require(principal, Role.DISPATCHER)
        if not reason.strip():
            raise UserInputError("a manual assignment needs a reason")
        req = self.get(request_id)
        if S(req.status) not in (S.REQUESTED, *WITH_TECHNICIAN):
            raise Conflict(f"a {req.status} request cannot be reassigned")
        now = self.clock()
        if req.technician_id:
            self._end_assignment(req, f"overridden: {reason}", now, exclude=False)
        result = self._dispatcher(now).override(self._job(req), technician_id, now, reason=reason)
        # A new technician starts over from "assigned" (they have not called or set off yet).
        req.status, req.contacted_at, req.en_route_at = S.REQUESTED.value, None, None
        self._record_assignment(req, result, principal, now)
        return req

    def decline(self, principal: Principal, request_id: str, *, reason: str) -> RepairRequest:
        """The technician declines: reassign at once to the next best, or queue with escalation."""
        req = self._for_technician(principal, request_id)
        if S(req.status) is not S.ASSIGNED:
            raise Conflict("only a newly assigned visit can be declined; call the dispatcher")
        now = self.clock()
        self._reassign(req, principal, now, f"declined: {reason}")
        return req

    def _reassign(self, req: RepairRequest, actor: Principal, now: dt.datetime, reason: str) -> None:
        previous = req.technician_id
        self._end_assignment(req, reason, now)
        req.status = transition(S(req.status), S.ASSIGNED).value if S(req.status) is not S.ASSIGNED else req.status
        req.status = transition(S.ASSIGNED, S.REQUESTED).value
        self._audit(actor, "repair.unassigned", "repair_request", req.id, {"previous": previous, "reason": reason})
        self._auto_assign(req, self._dispatcher(now), now, actor)

    def sweep(self, principal: Principal) -> list[tuple[str, Alert]]:
        """Timers: reminders and escalations now due; late visits not yet under way are reassigned."""
        require(principal, Role.DISPATCHER)
        now = self.clock()
        fired: list[tuple[str, Alert]] = []
        open_reqs = self.session.scalars(
            select(RepairRequest).where(RepairRequest.status.in_([s.value for s in (S.REQUESTED, *WITH_TECHNICIAN)]))
        ).all()
        for req in open_reqs:
            terms = PromiseTerms(Priority(req.priority), 0, 0.0, req.contact_by, req.on_site_by, True)
            for alert in due_alerts(
                terms,
                created_at=req.created_at,
                now=now,
                contacted_at=req.contacted_at,
                on_site_at=req.on_site_at,
                sent=req.alerts_sent or [],
            ):
                req.alerts_sent = [*(req.alerts_sent or []), alert.kind.value]
                fired.append((req.id, alert))
                if alert.kind in (AlertKind.ESCALATE_CONTACT, AlertKind.ESCALATE_ON_SITE):
                    req.escalated = True
                self._audit(
                    principal,
                    f"repair.{alert.kind.value}",
                    "repair_request",
                    req.id,
                    {"due_at": alert.due_at.isoformat(), "message": alert.message},
                )
                if alert.reassign and S(req.status) in (S.ASSIGNED, S.CONTACTED):
                    self._reassign(req, principal, now, "late: on-site promise missed")
        return fired

    # -- the visit ------------------------------------------------------------------------------------------------

    def advance(self, principal: Principal, request_id: str, target: VisitStatus) -> RepairRequest:
        """Technician milestones: contacted, en route, on site."""
        req = self._for_technician(principal, request_id)
        if target not in (S.CONTACTED, S.EN_ROUTE, S.ON_SITE):
            raise UserInputError(f"{target.value} is not a technician milestone")
        now = self.clock()
        req.status = transition(S(req.status), target).value
        stamp = {S.CONTACTED: "contacted_at", S.EN_ROUTE: "en_route_at", S.ON_SITE: "on_site_at"}[target]
        if getattr(req, stamp) is None:
            setattr(req, stamp, now)
        self._audit(principal, f"repair.{target.value}", "repair_request", req.id, {"at": now.isoformat()})
        return req

    def add_media(self, principal: Principal, request_id: str, stage: str, upload: Upload) -> RepairMedia:
        """Store a photo or video; photos are checked like claim photos (after photos against the before ones)."""
        if stage not in STAGES:
            raise UserInputError(f"stage must be one of {', '.join(sorted(STAGES))}")
        req = self.get(request_id)
        if stage == "intake":
            self._customer_or_staff(principal, req)
        else:
            req = self._for_technician(principal, request_id)
        kind, content_type, evidence = _accept(upload, self.settings)
        sha = self.store.put(upload.data, content_type)
        media = RepairMedia(
            request_id=req.id,
            stage=stage,
            kind=kind,
            name=upload.name[:300],
            sha256=sha,
            content_type=content_type,
            uploaded_by=principal.actor,
        )
        if evidence is not None:
            references = [self._evidence(m) for m in self._media(req.id, "before")] if stage == "after" else []
            report = verify(
                evidence,
                references,
                CheckContext(config=self.settings.checks),
                checks=self.checks,
                policy=self.settings.verdict,
            )
            media.report, media.verdict, media.risk = report.to_json(), report.verdict, report.risk
        self.session.add(media)
        self.session.flush()
        self._audit(
            principal,
            "repair.media_added",
            "repair_request",
            req.id,
            {"media": media.id, "stage": stage, "kind": kind, "sha256": sha, "verdict": media.verdict},
        )
        return media

    def _evidence(self, media: RepairMedia) -> Evidence:
        return read_evidence(self.store.get(media.sha256), name=media.name, limits=self.settings.evidence)

    def _media(self, request_id: str, stage: str | None = None) -> list[RepairMedia]:
        q = select(RepairMedia).where(RepairMedia.request_id == request_id)
        if stage:
            q = q.where(RepairMedia.stage == stage)
        return list(self.session.scalars(q.order_by(RepairMedia.created_at)))

    def diagnose(
        self, principal: Principal, request_id: str, *, report: str, quote: Sequence[QuoteLine]
    ) -> RepairDiagnosis:
        """Report and quote, shown to the customer before any work."""
        req = self._for_technician(principal, request_id)
        if not report.strip():
            raise UserInputError("the diagnosis report is empty")
        if any(line.amount_fen < 0 for line in quote):
            raise UserInputError("quote amounts cannot be negative")
        now = self.clock()
        req.status = transition(S(req.status), S.DIAGNOSED).value
        req.diagnosed_at = now
        covered = any(w.get("covered") for w in req.warranty or [])
        diag = RepairDiagnosis(
            request_id=req.id,
            report=report,
            quote_lines=[{"item": q.item, "amount_fen": q.amount_fen} for q in quote],
            quote_total_fen=0 if covered else sum(q.amount_fen for q in quote),
            covered_by_warranty=covered,
        )
        self.session.add(diag)
        self.session.flush()
        self._audit(
            principal,
            "repair.diagnosed",
            "repair_request",
            req.id,
            {"diagnosis": diag.id, "total_fen": diag.quote_total_fen, "warranty": covered},
        )
        return diag

    def decide_quote(self, principal: Principal, request_id: str, *, approve: bool) -> RepairRequest:
        """The customer (or an agent on the phone with them) approves or declines the quote."""
        req = self.get(request_id)
        self._customer_or_staff(principal, req, staff=(Role.AGENT,))
        diag = self._latest_diagnosis(req.id)
        if diag is None or diag.decision is not None:
            raise Conflict("there is no open quote to decide")
        now = self.clock()
        req.status = transition(S(req.status), S.APPROVED if approve else S.QUOTE_DECLINED).value
        diag.decision, diag.decided_by, diag.decided_at = ("approved" if approve else "declined"), principal.actor, now
        if approve:
            req.approved_at = now
        self._audit(principal, "repair.quote_" + diag.decision, "repair_request", req.id, {"diagnosis": diag.id})
        return req

    def order_parts(self, principal: Principal, request_id: str, *, parts: Sequence[str]) -> RepairRequest:
        req = self._for_technician(principal, request_id)
        req.status = transition(S(req.status), S.PARTS_ORDERED).value
        self._audit(principal, "repair.parts_ordered", "repair_request", req.id, {"parts": list(parts)})
        return req

    def mark_repaired(self, principal: Principal, request_id: str) -> RepairRequest:
        req = self._for_technician(principal, request_id)
        if S(req.status) is S.ON_SITE:  # the second visit after parts arrived: the quote must be approved
            diag = self._latest_diagnosis(req.id)
            if diag is None or diag.decision != "approved":
                raise InvalidTransition("no approved quote: diagnose and let the customer approve first")
        req.status = transition(S(req.status), S.REPAIRED).value
        self._audit(principal, "repair.repaired", "repair_request", req.id, {})
        return req

    def complete(
        self,
        principal: Principal,
        request_id: str,
        *,
        work_done: str,
        parts: Sequence[PartUsed],
        signature: Upload,
        labour_fen: int = 0,
    ) -> RepairRecord:
        """Close the visit with its record; issues the warranty and schedules the call-back."""
        req = self._for_technician(principal, request_id)
        repaired = S(req.status) is S.REPAIRED
        if not work_done.strip():
            raise UserInputError("the record must say what was done")
        for part in parts:
            if not part.serial.strip():
                raise UserInputError(f"part {part.name!r} needs its serial number")
        trusted = {
            stage: [m for m in self._media(req.id, stage) if m.verdict != "likely_forged"]
            for stage in ("before", "after")
        }
        needed = ("before", "after") if repaired else ("before",)
        for stage in needed:
            if not trusted[stage]:
                flagged = [m.name for m in self._media(req.id, stage)]
                detail = f" ({', '.join(flagged)} judged likely forged)" if flagged else ""
                raise PhotoRejected(f"the record needs at least one {stage} photo that passes the checks{detail}")
        kind, content_type, _ = _accept(signature, self.settings)
        if kind != "photo":
            raise UserInputError("the customer's signature must be an image")
        now = self.clock()
        req.status = transition(S(req.status), S.COMPLETED).value
        sig_sha = self.store.put(signature.data, content_type)
        self.session.add(
            RepairMedia(
                request_id=req.id,
                stage="signature",
                kind="photo",
                name=signature.name[:300],
                sha256=sig_sha,
                content_type=content_type,
                uploaded_by=principal.actor,
            )
        )
        record = RepairRecord(
            request_id=req.id,
            outcome="repaired" if repaired else "not_repaired",
            work_done=work_done,
            parts=[{"name": p.name, "serial": p.serial.strip()} for p in parts],
            labour_fen=labour_fen,
            signature_sha256=sig_sha,
            completed_by=principal.actor,
            completed_at=now,
        )
        self.session.add(record)
        req.completed_at = now
        warranty_id = None
        if repaired and req.unit_serial:
            w = Warranty.issue(
                unit_serial=req.unit_serial,
                repair_id=req.id,
                completed=now.astimezone(CHINA_TZ).date(),
                parts=[(p.name, p.serial.strip()) for p in parts],
                terms=self.warranty_terms,
            )
            row = _warranty_row(w)
            self.session.add(row)
            self.session.flush()
            warranty_id = row.id
        self.session.add(RepairFollowUp(request_id=req.id, callback_due=callback_due(now)))
        self.session.flush()
        self._audit(
            principal,
            "repair.completed",
            "repair_request",
            req.id,
            {
                "outcome": record.outcome,
                "parts": record.parts,
                "signature": sig_sha,
                "warranty": warranty_id,
                "photos": {k: [m.sha256 for m in v] for k, v in trusted.items()},
            },
        )
        return record

    # -- warranty, maintenance, follow-up -----------------------------------------------------------------------

    def _warranty_status(self, serial: str | None, on: dt.date) -> list[WarrantyStatus]:
        if not serial or not serial.strip():
            return []
        rows = self.session.scalars(select(RepairWarranty).where(RepairWarranty.unit_serial == serial.strip()))
        return lookup([_warranty_from_row(r) for r in rows], serial, on)

    def warranty_lookup(self, principal: Principal, serial: str) -> list[dict[str, object]]:
        require(principal, Role.AGENT, Role.DISPATCHER, Role.TECHNICIAN, Role.BUYER, Role.MERCHANT)
        return [s.to_dict() for s in self._warranty_status(serial, self.clock().astimezone(CHINA_TZ).date())]

    def extend_warranty(self, principal: Principal, request_id: str, *, months: int, price_fen: int) -> RepairWarranty:
        req = self.get(request_id)
        self._customer_or_staff(principal, req, staff=(Role.AGENT,))
        row = self.session.scalars(select(RepairWarranty).where(RepairWarranty.request_id == req.id)).first()
        if row is None:
            raise NotFound("this request has no warranty to extend")
        extended = _warranty_from_row(row).extend(months, price_fen=price_fen)
        row.extended_until = extended.extended_until
        row.extensions = [list(e) for e in extended.extensions]
        self._audit(
            principal,
            "repair.warranty_extended",
            "repair_request",
            req.id,
            {"months": months, "price_fen": price_fen, "until": str(row.extended_until)},
        )
        return row

    def create_plan(
        self, principal: Principal, request_id: str, *, interval_months: int, visits: int | None = None
    ) -> RepairMaintenancePlan:
        req = self.get(request_id)
        self._customer_or_staff(principal, req, staff=(Role.AGENT, Role.DISPATCHER))
        if not req.unit_serial:
            raise UserInputError("a maintenance plan needs the unit serial")
        start_from = (req.completed_at or self.clock()).astimezone(CHINA_TZ).date()
        plan = MaintenancePlan(req.unit_serial, add_months(start_from, interval_months), interval_months, visits)
        row = RepairMaintenancePlan(
            origin_request_id=req.id,
            unit_serial=plan.unit_serial,
            start=plan.start,
            interval_months=interval_months,
            visits=visits,
            scheduled=0,
        )
        self.session.add(row)
        self.session.flush()
        self._audit(
            principal,
            "repair.plan_created",
            "repair_request",
            req.id,
            {"plan": row.id, "every_months": interval_months, "first": plan.start.isoformat()},
        )
        return row

    def schedule_maintenance(self, principal: Principal, *, horizon_days: int = 7) -> list[RepairRequest]:
        """Turn plan visits due within the horizon into (auto-assigned) requests."""
        require(principal, Role.DISPATCHER)
        now = self.clock()
        today = now.astimezone(CHINA_TZ).date()
        created: list[RepairRequest] = []
        for row in self.session.scalars(select(RepairMaintenancePlan).where(RepairMaintenancePlan.active.is_(True))):
            plan = MaintenancePlan(row.unit_serial, row.start, row.interval_months, row.visits)
            dates = list(zip(range(row.scheduled + 1), plan.due_dates(), strict=False))
            if len(dates) <= row.scheduled:
                row.active = False
                continue
            due = dates[row.scheduled][1]
            if due > today + dt.timedelta(days=horizon_days):
                continue
            origin = self.get(row.origin_request_id)
            req = RepairRequest(
                **{
                    c: getattr(origin, c)
                    for c in (
                        "customer_id",
                        "customer_name_enc",
                        "customer_phone_enc",
                        "address_enc",
                        "address_masked",
                        "province_code",
                        "city_code",
                        "county_code",
                        "region_path",
                        "category",
                        "product",
                        "unit_serial",
                        "duration_minutes",
                        "min_level",
                    )
                }
            )
            terms = self.policy.terms(Priority.LOW, origin.county_code, now)
            req.channel, req.status, req.priority = "plan", S.REQUESTED.value, Priority.LOW.value
            req.fault = f"preventive maintenance (plan {row.id}, visit {row.scheduled + 1}, due {due.isoformat()})"
            req.preferred_time, req.created_by, req.created_at = due.isoformat(), principal.actor, now
            req.contact_by, req.on_site_by = terms.contact_by, terms.on_site_by
            req.warranty = [s.to_dict() for s in self._warranty_status(req.unit_serial, today)]
            req.excluded, req.alerts_sent, req.plan_id = [], [], row.id
            self.session.add(req)
            self.session.flush()
            row.scheduled += 1
            self._audit(
                principal,
                "repair.requested",
                "repair_request",
                req.id,
                {"channel": "plan", "plan": row.id, "due": due.isoformat(), "region": req.county_code},
            )
            self._auto_assign(req, self._dispatcher(now), now, principal)
            created.append(req)
        return created

    def callbacks_due(self, principal: Principal) -> list[RepairFollowUp]:
        require(principal, Role.AGENT, Role.DISPATCHER)
        return list(
            self.session.scalars(
                select(RepairFollowUp)
                .where(RepairFollowUp.called_at.is_(None), RepairFollowUp.callback_due <= self.clock())
                .order_by(RepairFollowUp.callback_due)
            )
        )

    def follow_up(
        self, principal: Principal, request_id: str, *, stars: int, comment: str = "", resolved: bool = True
    ) -> RepairFollowUp:
        """Survey answer (by the customer, or taken by an agent on the call-back); rates the technician."""
        req = self.get(request_id)
        self._customer_or_staff(principal, req, staff=(Role.AGENT,))
        if not 1 <= stars <= 5:
            raise UserInputError("a rating is 1 to 5 stars")
        fu = self.session.get(RepairFollowUp, req.id)
        if fu is None:
            raise Conflict("the visit is not completed yet")
        if fu.stars is not None:
            raise Conflict("the survey was already answered")
        now = self.clock()
        req.status = transition(S(req.status), S.FOLLOWED_UP).value
        req.followed_up_at = now
        fu.stars, fu.comment, fu.resolved = stars, comment, resolved
        if principal.role is not Role.BUYER:
            fu.called_at = now
        last = self.session.scalars(
            select(RepairAssignment)
            .where(RepairAssignment.request_id == req.id)
            .order_by(RepairAssignment.created_at.desc())
        ).first()
        if last is not None:
            tech = self._tech(last.technician_id)
            tech.rating = (tech.rating * tech.ratings + stars) / (tech.ratings + 1)
            tech.ratings += 1
        self._audit(
            principal,
            "repair.followed_up",
            "repair_request",
            req.id,
            {"stars": stars, "resolved": resolved, "technician": last.technician_id if last else None},
        )
        return fu

    # -- reading ----------------------------------------------------------------------------------------------------

    def get(self, request_id: str) -> RepairRequest:
        req = self.session.get(RepairRequest, request_id)
        if req is None:
            raise NotFound(f"no repair request {request_id}")
        return req

    def list_requests(
        self, principal: Principal, *, status: str | None = None, limit: int = 200
    ) -> list[RepairRequest]:
        q = select(RepairRequest).order_by(RepairRequest.created_at.desc()).limit(limit)
        if principal.role is Role.TECHNICIAN:
            q = q.where(RepairRequest.technician_id == principal.subject_id)
        elif principal.role is Role.BUYER:
            q = q.where(RepairRequest.customer_id == principal.subject_id)
        elif principal.role is Role.MERCHANT:  # a shop system sees the requests it filed
            q = q.where(RepairRequest.created_by == principal.actor)
        else:
            require(principal, Role.DISPATCHER, Role.AGENT)
        if status:
            q = q.where(RepairRequest.status == status)
        return list(self.session.scalars(q))

    def view(self, principal: Principal, request_id: str, *, reveal: bool = False) -> dict[str, object]:
        """The request as ``principal`` may see it; contact data in clear only where needed, and audited."""
        req = self.get(request_id)
        is_tech = principal.role is Role.TECHNICIAN and principal.subject_id == req.technician_id
        is_customer = principal.role is Role.BUYER and principal.subject_id == req.customer_id
        is_filer = principal.role is Role.MERCHANT and req.created_by == principal.actor
        if not (is_tech or is_customer or is_filer or principal.is_staff):
            raise NotFound(f"no repair request {request_id}")  # others may not learn that it exists
        if reveal and not principal.is_staff:
            raise PermissionDenied("only staff reveal contact data on request")
        clear = is_tech or is_customer or reveal
        name = self.cipher.decrypt(req.customer_name_enc)
        phone = self.cipher.decrypt(req.customer_phone_enc)
        address = self.cipher.decrypt(req.address_enc)
        if clear and not is_customer:
            self._audit(
                principal,
                "repair.personal_data_read",
                "repair_request",
                req.id,
                {"fields": ["name", "phone", "address"], "why": "assigned technician" if is_tech else "reveal"},
            )
        tech = self.session.get(RepairTechnician, req.technician_id) if req.technician_id else None
        diag = self._latest_diagnosis(req.id)
        record = self.session.get(RepairRecord, req.id)
        fu = self.session.get(RepairFollowUp, req.id)
        return {
            "id": req.id,
            "status": req.status,
            "channel": req.channel,
            "customer": {
                "name": name if clear else mask_name(name),
                "phone": phone if clear else mask_phone(phone),
                "address": address if clear else req.address_masked,
                "masked": not clear,
            },
            "region": {
                "path": req.region_path,
                "province": req.province_code,
                "city": req.city_code,
                "county": req.county_code,
            },
            "product": {"category": req.category, "product": req.product, "unit_serial": req.unit_serial},
            "fault": req.fault,
            "priority": req.priority,
            "preferred_time": req.preferred_time,
            "promise": {"contact_by": req.contact_by.isoformat(), "on_site_by": req.on_site_by.isoformat()},
            "technician": None
            if tech is None
            else {"id": tech.id, "name": tech.display_name, "rating": round(tech.rating, 2), "ratings": tech.ratings},
            "eta": req.eta.isoformat() if req.eta else None,
            "escalated": req.escalated,
            "dispatch_note": req.dispatch_note if principal.is_staff else None,
            "warranty": req.warranty,
            "timeline": {
                k: (getattr(req, k).isoformat() if getattr(req, k) else None)
                for k in (
                    "created_at",
                    "assigned_at",
                    "contacted_at",
                    "en_route_at",
                    "on_site_at",
                    "diagnosed_at",
                    "approved_at",
                    "completed_at",
                    "followed_up_at",
                )
            },
            "diagnosis": None
            if diag is None
            else {
                "id": diag.id,
                "report": diag.report,
                "quote": diag.quote_lines,
                "total_fen": diag.quote_total_fen,
                "covered_by_warranty": diag.covered_by_warranty,
                "decision": diag.decision,
            },
            "media": [
                {
                    "id": m.id,
                    "stage": m.stage,
                    "kind": m.kind,
                    "name": m.name,
                    "sha256": m.sha256,
                    "verdict": m.verdict,
                    "risk": m.risk,
                    "explanation": (m.report or {}).get("explanation"),
                }
                for m in self._media(req.id)
            ],
            "record": None
            if record is None
            else {
                "outcome": record.outcome,
                "work_done": record.work_done,
                "parts": record.parts,
                "labour_fen": record.labour_fen,
            },
            "follow_up": None
            if fu is None
            else {
                "callback_due": fu.callback_due.isoformat(),
                "stars": fu.stars,
                "comment": fu.comment,
                "resolved": fu.resolved,
            },
        }

    def assignments(self, request_id: str) -> list[RepairAssignment]:
        return list(
            self.session.scalars(
                select(RepairAssignment)
                .where(RepairAssignment.request_id == request_id)
                .order_by(RepairAssignment.created_at)
            )
        )

    def loads(self, principal: Principal, day: dt.date | None = None) -> dict[str, int]:
        """Visits booked per technician on ``day`` (China date; default today): their current load."""
        require(principal, Role.DISPATCHER, Role.AGENT)
        day = day or self.clock().astimezone(CHINA_TZ).date()
        start = dt.datetime.combine(day, dt.time(0, 0), CHINA_TZ)
        rows = self.session.execute(
            select(RepairRequest.technician_id, RepairRequest.eta).where(
                RepairRequest.technician_id.is_not(None),
                RepairRequest.eta >= start,
                RepairRequest.eta < start + dt.timedelta(days=1),
                RepairRequest.status != S.CANCELLED.value,
            )
        ).all()
        out: dict[str, int] = {}
        for tech_id, _eta in rows:
            if tech_id is not None:
                out[tech_id] = out.get(tech_id, 0) + 1
        return out

    def technicians(self, principal: Principal) -> list[RepairTechnician]:
        require(principal, Role.DISPATCHER, Role.AGENT)
        return list(self.session.scalars(select(RepairTechnician).order_by(RepairTechnician.created_at)))

    # -- helpers ----------------------------------------------------------------------------------------------------

    def _tech(self, technician_id: str) -> RepairTechnician:
        tech = self.session.get(RepairTechnician, technician_id)
        if tech is None:
            raise NotFound(f"no technician {technician_id}")
        return tech

    def _latest_diagnosis(self, request_id: str) -> RepairDiagnosis | None:
        return self.session.scalars(
            select(RepairDiagnosis)
            .where(RepairDiagnosis.request_id == request_id)
            .order_by(RepairDiagnosis.created_at.desc())
        ).first()

    def _for_technician(self, principal: Principal, request_id: str) -> RepairRequest:
        require(principal, Role.TECHNICIAN)
        req = self.get(request_id)
        if principal.role is Role.TECHNICIAN and principal.subject_id != req.technician_id:
            raise NotFound(f"no repair request {request_id} assigned to you")
        return req

    def _customer_or_staff(self, principal: Principal, req: RepairRequest, *, staff: Sequence[Role] = ()) -> None:
        if principal.role is Role.BUYER:
            if principal.subject_id != req.customer_id:
                raise NotFound(f"no repair request {req.id}")
            return
        require(principal, *(staff or (Role.AGENT, Role.DISPATCHER)))

    def _audit(
        self, principal: Principal, action: str, subject_type: str, subject_id: str, data: dict[str, Any]
    ) -> None:
        audit.append(self.session, principal.actor, action, subject_type, subject_id, data)


def _calendar(start: str, end: str, weekends: bool, days_off: Sequence[str]) -> WorkCalendar:
    try:
        return WorkCalendar(
            dt.time.fromisoformat(start),
            dt.time.fromisoformat(end),
            weekends,
            frozenset(dt.date.fromisoformat(d) for d in days_off),
        )
    except ValueError as exc:
        raise UserInputError(f"bad shift or day off: {exc}") from exc


_VIDEO_SIGNATURES = ((4, b"ftyp", "video/mp4"), (0, b"\x1a\x45\xdf\xa3", "video/webm"), (8, b"AVI ", "video/x-msvideo"))


def _accept(upload: Upload, settings: Settings) -> tuple[str, str, Evidence | None]:
    """Photo (decoded with limits, so it can be checked) or video (container recognised); else a typed error."""
    if not upload.data:
        raise UnsupportedFormat(f"{upload.name}: empty file")
    try:
        evidence = read_evidence(upload.data, name=upload.name, limits=settings.evidence)
    except UnsupportedFormat:
        for offset, magic, ctype in _VIDEO_SIGNATURES:
            if upload.data[offset : offset + len(magic)] == magic:
                # HEIF/AVIF also use ftyp boxes; read_evidence accepted those above, so this is a video container.
                if len(upload.data) > settings.evidence.max_bytes * 4:
                    raise EvidenceTooLarge(f"{upload.name}: video larger than allowed") from None
                _probe_video(upload)
                return "video", ctype, None
        raise
    return "photo", f"image/{evidence.format.lower()}", evidence


def _probe_video(upload: Upload) -> None:
    """A video must open and hold a video stream; a renamed or truncated file is refused, not stored."""
    try:
        with av.open(io.BytesIO(upload.data)) as container:
            if not container.streams.video:
                raise CorruptEvidence(f"{upload.name}: no video stream")
    except av.FFmpegError as exc:
        raise CorruptEvidence(f"{upload.name}: video does not open: {exc}") from exc


def _warranty_row(w: Warranty) -> RepairWarranty:
    return RepairWarranty(
        request_id=w.repair_id,
        unit_serial=w.unit_serial,
        start=w.start,
        labour_until=w.labour_until,
        parts=[
            {"name": p.name, "serial": p.serial, "months": p.months, "until": until.isoformat()} for p, until in w.parts
        ],
        extended_until=w.extended_until,
        extensions=[list(e) for e in w.extensions],
    )


def _warranty_from_row(row: RepairWarranty) -> Warranty:
    return Warranty(
        unit_serial=row.unit_serial,
        repair_id=row.request_id,
        start=row.start,
        labour_until=row.labour_until,
        parts=tuple(
            (PartLine(p["name"], p["serial"], int(p["months"])), dt.date.fromisoformat(p["until"])) for p in row.parts
        ),
        extended_until=row.extended_until,
        extensions=tuple((int(a), int(b)) for a, b in row.extensions or []),
    )
