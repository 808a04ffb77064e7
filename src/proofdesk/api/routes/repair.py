"""``/repair/...``: on-site repair over HTTP (thin adapter over :class:`~proofdesk.repair.service.RepairService`).

Who calls what: a shop system or app (merchant token) and the web form (buyer token) ``POST /repair/requests``;
the agent screen posts phone/chat/e-mail requests there too and previews the region with
``POST /repair/resolve``; dispatchers assign, override and run the timer sweep; the technician's phone
moves the visit along (``/status``, ``/media``, ``/diagnosis``, ``/complete``); the customer approves the quote
and answers the survey. Every rule lives in the service; errors become HTTP status codes in
``api.error_handlers`` only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from proofdesk.api.deps import PrincipalDep, ServicesDep
from proofdesk.api.error_handlers import error_responses
from proofdesk.errors import UserInputError
from proofdesk.repair.dispatch import Priority
from proofdesk.repair.lifecycle import VisitStatus
from proofdesk.repair.service import IntakeForm, PartUsed, QuoteLine, RepairService, Upload, default_catalog
from proofdesk.security import Principal, Role
from proofdesk.services import Services

router = APIRouter(prefix="/repair", tags=["repair"])
ERRORS = error_responses(400, 401, 403, 404, 409)


@contextmanager
def _service(services: Services) -> Iterator[RepairService]:
    with services.session() as session:
        yield RepairService(session, services.cipher, services.store, services.settings)


class IntakeIn(BaseModel):
    """A repair request. ``channel`` defaults by caller: buyer → web, merchant → api, agent → phone."""

    channel: Literal["web", "api", "phone", "chat", "email"] | None = None
    customer_name: str = Field(min_length=1, max_length=100)
    customer_phone: str = Field(min_length=3, max_length=40)
    address: str = Field(min_length=2, max_length=300)
    category: str = Field(min_length=1, max_length=50)
    product: str = Field(default="", max_length=200)
    fault: str = Field(min_length=1, max_length=4000)
    unit_serial: str | None = Field(default=None, max_length=100)
    priority: Priority = Priority.NORMAL
    min_level: int = Field(default=1, ge=1, le=5)
    duration_minutes: int = Field(default=90, ge=15, le=600)
    preferred_time: str | None = Field(default=None, max_length=100)
    customer_id: str | None = Field(default=None, max_length=64)


def _default_channel(principal: Principal) -> str:
    return {Role.BUYER: "web", Role.MERCHANT: "api"}.get(principal.role, "phone")


@router.post("/requests", status_code=201, summary="Create a repair request (any channel)", responses=ERRORS)
def create_request(body: IntakeIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    form = IntakeForm(**{**body.model_dump(), "channel": body.channel or _default_channel(principal)})
    with _service(services) as svc:
        req = svc.intake(principal, form)
        return (
            svc.view(principal, req.id) if principal.role is not Role.MERCHANT else {"id": req.id, "status": req.status}
        )


class ResolveIn(BaseModel):
    address: str = Field(min_length=1, max_length=300)


@router.post("/resolve", summary="Resolve address text to province/city/county", responses=ERRORS)
def resolve(body: ResolveIn, _principal: PrincipalDep) -> dict[str, object]:
    res, _leaf = default_catalog().resolve_leaf(body.address)
    return res.to_dict()


@router.get("/requests", summary="Requests visible to the caller (masked)", responses=ERRORS)
def list_requests(principal: PrincipalDep, services: ServicesDep, status: str | None = None) -> list[dict[str, Any]]:
    with _service(services) as svc:
        return [
            {
                "id": r.id,
                "status": r.status,
                "region": r.region_path,
                "category": r.category,
                "priority": r.priority,
                "technician_id": r.technician_id,
                "eta": r.eta.isoformat() if r.eta else None,
                "on_site_by": r.on_site_by.isoformat(),
                "escalated": r.escalated,
                "created_at": r.created_at.isoformat(),
            }
            for r in svc.list_requests(principal, status=status)
        ]


@router.get("/requests/{request_id}", summary="One request as the caller may see it", responses=ERRORS)
def get_request(
    request_id: str, principal: PrincipalDep, services: ServicesDep, reveal: bool = False
) -> dict[str, Any]:
    with _service(services) as svc:
        return svc.view(principal, request_id, reveal=reveal)


@router.post("/requests/{request_id}/assign", summary="Automatic assignment (dispatcher)", responses=ERRORS)
def assign(request_id: str, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        svc.assign(principal, request_id)
        return svc.view(principal, request_id)


class OverrideIn(BaseModel):
    technician_id: str
    reason: str = Field(min_length=1, max_length=500)


@router.post("/requests/{request_id}/override", summary="Manual assignment (dispatcher)", responses=ERRORS)
def override(request_id: str, body: OverrideIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        svc.override(principal, request_id, body.technician_id, reason=body.reason)
        return svc.view(principal, request_id)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


@router.post("/requests/{request_id}/decline", summary="Technician declines; reassigned", responses=ERRORS)
def decline(request_id: str, body: ReasonIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        req = svc.decline(principal, request_id, reason=body.reason)
        return {"id": req.id, "status": req.status}


class StatusIn(BaseModel):
    status: Literal["contacted", "en_route", "on_site"]


@router.post("/requests/{request_id}/status", summary="Technician milestone", responses=ERRORS)
def advance(request_id: str, body: StatusIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        req = svc.advance(principal, request_id, VisitStatus(body.status))
        return {"id": req.id, "status": req.status}


@router.post("/requests/{request_id}/media", status_code=201, summary="Photo or video, checked", responses=ERRORS)
async def add_media(
    request_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    stage: Annotated[Literal["intake", "before", "during", "after"], Form()],
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    upload = Upload(file.filename or "upload", await file.read(), file.content_type or "application/octet-stream")
    with _service(services) as svc:
        m = svc.add_media(principal, request_id, stage, upload)
        return {
            "id": m.id,
            "stage": m.stage,
            "kind": m.kind,
            "sha256": m.sha256,
            "verdict": m.verdict,
            "risk": m.risk,
            "report": m.report,
        }


class QuoteLineIn(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    amount_fen: int = Field(ge=0)


class DiagnosisIn(BaseModel):
    report: str = Field(min_length=1, max_length=8000)
    quote: list[QuoteLineIn]


@router.post("/requests/{request_id}/diagnosis", summary="Report and quote (technician)", responses=ERRORS)
def diagnose(request_id: str, body: DiagnosisIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        d = svc.diagnose(
            principal, request_id, report=body.report, quote=[QuoteLine(q.item, q.amount_fen) for q in body.quote]
        )
        return {"id": d.id, "total_fen": d.quote_total_fen, "covered_by_warranty": d.covered_by_warranty}


class DecisionIn(BaseModel):
    approve: bool


@router.post("/requests/{request_id}/quote", summary="Customer approves or declines the quote", responses=ERRORS)
def decide(request_id: str, body: DecisionIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        req = svc.decide_quote(principal, request_id, approve=body.approve)
        return {"id": req.id, "status": req.status}


class PartsIn(BaseModel):
    parts: list[str] = Field(min_length=1)


@router.post("/requests/{request_id}/parts-ordered", summary="Parts ordered; a second visit follows", responses=ERRORS)
def parts_ordered(request_id: str, body: PartsIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        req = svc.order_parts(principal, request_id, parts=body.parts)
        return {"id": req.id, "status": req.status}


@router.post("/requests/{request_id}/repaired", summary="Repair done (technician)", responses=ERRORS)
def repaired(request_id: str, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        req = svc.mark_repaired(principal, request_id)
        return {"id": req.id, "status": req.status}


@router.post("/requests/{request_id}/complete", summary="Completion record with signature", responses=ERRORS)
async def complete(
    request_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    work_done: Annotated[str, Form(min_length=1, max_length=8000)],
    signature: Annotated[UploadFile, File()],
    parts: Annotated[str, Form(description='JSON list of {"name", "serial"}')] = "[]",
    labour_fen: Annotated[int, Form(ge=0)] = 0,
) -> dict[str, Any]:
    try:
        parsed = [PartUsed(str(p["name"]), str(p["serial"])) for p in json.loads(parts)]
    except (ValueError, TypeError, KeyError) as exc:
        raise UserInputError(f'parts must be a JSON list of {{"name", "serial"}}: {exc}') from exc
    sig = Upload(signature.filename or "signature", await signature.read(), signature.content_type or "")
    with _service(services) as svc:
        rec = svc.complete(
            principal, request_id, work_done=work_done, parts=parsed, signature=sig, labour_fen=labour_fen
        )
        return {
            "request_id": rec.request_id,
            "outcome": rec.outcome,
            "parts": rec.parts,
            "signature_sha256": rec.signature_sha256,
        }


class ExtendIn(BaseModel):
    months: int = Field(ge=1, le=60)
    price_fen: int = Field(ge=0)


@router.post("/requests/{request_id}/warranty/extend", summary="Buy an extended warranty", responses=ERRORS)
def extend(request_id: str, body: ExtendIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        w = svc.extend_warranty(principal, request_id, months=body.months, price_fen=body.price_fen)
        return {"id": w.id, "extended_until": w.extended_until.isoformat() if w.extended_until else None}


class PlanIn(BaseModel):
    interval_months: int = Field(ge=1, le=60)
    visits: int | None = Field(default=None, ge=1)


@router.post("/requests/{request_id}/plan", status_code=201, summary="Preventive maintenance plan", responses=ERRORS)
def plan(request_id: str, body: PlanIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        p = svc.create_plan(principal, request_id, interval_months=body.interval_months, visits=body.visits)
        return {"id": p.id, "first_visit": p.start.isoformat(), "interval_months": p.interval_months}


class FollowUpIn(BaseModel):
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    resolved: bool = True


@router.post("/requests/{request_id}/follow-up", summary="Survey answer / call-back result", responses=ERRORS)
def follow_up(request_id: str, body: FollowUpIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        fu = svc.follow_up(principal, request_id, stars=body.stars, comment=body.comment, resolved=body.resolved)
        return {"request_id": fu.request_id, "stars": fu.stars}


@router.get("/warranty/{serial}", summary="Warranty lookup by unit serial", responses=ERRORS)
def warranty(serial: str, principal: PrincipalDep, services: ServicesDep) -> list[dict[str, object]]:
    with _service(services) as svc:
        return svc.warranty_lookup(principal, serial)


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    coverage: list[str] = Field(min_length=1, description="official division codes, any level")


@router.post("/teams", status_code=201, summary="Create a service team with its coverage", responses=ERRORS)
def create_team(body: TeamIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        t = svc.create_team(principal, name=body.name, coverage=body.coverage)
        return {"id": t.id, "name": t.name, "coverage": t.coverage}


class TechnicianIn(BaseModel):
    team_id: str
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    home_code: str = Field(min_length=6, max_length=6)
    skills: dict[str, int]
    coverage: list[str] | None = None
    shift_start: str = "08:00"
    shift_end: str = "20:00"
    weekends: bool = False
    daily_capacity: int = Field(default=6, ge=1, le=30)


@router.post("/technicians", status_code=201, summary="Add a technician", responses=ERRORS)
def add_technician(body: TechnicianIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        t = svc.add_technician(
            principal,
            team_id=body.team_id,
            name=body.name,
            phone=body.phone,
            home_code=body.home_code,
            skills=body.skills,
            coverage=body.coverage,
            shift=(body.shift_start, body.shift_end),
            weekends=body.weekends,
            daily_capacity=body.daily_capacity,
        )
        return {"id": t.id, "display_name": t.display_name}


class DaysOffIn(BaseModel):
    days: list[date]


@router.put("/technicians/{technician_id}/days-off", summary="Personal days off (leave)", responses=ERRORS)
def days_off(technician_id: str, body: DaysOffIn, principal: PrincipalDep, services: ServicesDep) -> dict[str, Any]:
    with _service(services) as svc:
        svc.set_days_off(principal, technician_id, body.days)
        return {"id": technician_id, "days_off": [d.isoformat() for d in sorted(set(body.days))]}


@router.get("/technicians", summary="Technicians with a day's load and rating (dispatcher)", responses=ERRORS)
def technicians(principal: PrincipalDep, services: ServicesDep, day: date | None = None) -> list[dict[str, Any]]:
    """``booked_today`` is the load on ``day`` (China date), today when not given."""
    with _service(services) as svc:
        loads = svc.loads(principal, day)
        return [
            {
                "id": t.id,
                "name": t.display_name,
                "team_id": t.team_id,
                "home": t.home_code,
                "skills": t.skills,
                "daily_capacity": t.daily_capacity,
                "booked_today": loads.get(t.id, 0),
                "days_off": t.days_off,
                "rating": round(t.rating, 2),
                "ratings": t.ratings,
                "active": t.active,
            }
            for t in svc.technicians(principal)
        ]


@router.post("/sweep", summary="Run the promise timers now (dispatcher or scheduler)", responses=ERRORS)
def sweep(principal: PrincipalDep, services: ServicesDep) -> list[dict[str, Any]]:
    with _service(services) as svc:
        return [
            {"request_id": rid, "alert": a.kind.value, "due_at": a.due_at.isoformat(), "message": a.message}
            for rid, a in svc.sweep(principal)
        ]


@router.post("/maintenance/schedule", summary="Create requests for due maintenance visits", responses=ERRORS)
def schedule(principal: PrincipalDep, services: ServicesDep, horizon_days: int = 7) -> list[dict[str, Any]]:
    with _service(services) as svc:
        return [
            {"id": r.id, "status": r.status, "technician_id": r.technician_id}
            for r in svc.schedule_maintenance(principal, horizon_days=horizon_days)
        ]


@router.get("/callbacks", summary="Follow-up calls due", responses=ERRORS)
def callbacks(principal: PrincipalDep, services: ServicesDep) -> list[dict[str, Any]]:
    with _service(services) as svc:
        return [
            {"request_id": f.request_id, "callback_due": f.callback_due.isoformat()}
            for f in svc.callbacks_due(principal)
        ]
