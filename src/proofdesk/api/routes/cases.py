"""Claims and cases: filing, evidence, merchant answers, review, decisions, appeals (thin over CaseService)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from proofdesk.api.deps import PrincipalDep, ServicesDep
from proofdesk.api.error_handlers import error_responses
from proofdesk.api.uploads import read_uploads
from proofdesk.audit import events_for
from proofdesk.cases.schemas import AuditEventOut, CaseOut, CaseSummary
from proofdesk.security import Role, require

router = APIRouter(tags=["cases"])
_READ = error_responses(401, 403, 404)
_ACT = error_responses(400, 401, 403, 404, 409, 422)
_UPLOAD = error_responses(400, 401, 403, 404, 409, 413, 415, 422)


class DecisionIn(BaseModel):
    """A reviewer's decision."""

    outcome: str = Field(pattern="^(approve|deny)$")
    reason_code: str = Field(min_length=1, max_length=50, description="see /reason-codes")
    note: str = Field(default="", max_length=5000, description="internal note (staff only)")


class EvidenceRequestIn(BaseModel):
    """What to ask the buyer for."""

    items: list[str] = Field(
        min_length=1, description="another_angle, video, label_in_frame, serial_number, packaging, original_file"
    )
    text: str = Field(default="", max_length=1000)


class RecheckOut(BaseModel):
    """Jobs queued by a re-check."""

    jobs: int


class ReasonCodes(BaseModel):
    """The reason codes a reviewer may use, with the sentence the buyer sees."""

    approve: dict[str, str]
    deny: dict[str, str]


@router.post(
    "/claims",
    summary="File a claim with evidence (buyer)",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
    responses={
        200: {"model": CaseOut, "description": "Replay of an earlier submission with the same Idempotency-Key"},
        **_UPLOAD,
    },
)
async def file_claim(
    response: Response,
    principal: PrincipalDep,
    services: ServicesDep,
    order_id: Annotated[str, Form()],
    claim_type: Annotated[str, Form(description="refund_only | return_refund | exchange | repair")],
    reason: Annotated[str, Form(max_length=50, description="e.g. damaged, defective, wrong_item, missing_part")],
    files: Annotated[list[UploadFile], File(description="photos (at least one) and videos")],
    description: Annotated[str, Form(max_length=5000)] = "",
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> CaseOut:
    """Stores the evidence, opens the case and queues one check per photo. With an ``Idempotency-Key``, a
    repeated submission returns the first case (200); the same key with a different claim is a 409."""
    uploads = await read_uploads(files, max_bytes=services.settings.evidence.max_bytes)
    case, created = await run_in_threadpool(
        services.cases.file_claim,
        principal,
        order_id=order_id,
        claim_type=claim_type,
        reason=reason,
        description=description,
        files=uploads,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return case


@router.get("/cases", summary="The caller's cases", response_model=list[CaseSummary], responses=_READ)
def list_cases(
    principal: PrincipalDep,
    services: ServicesDep,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CaseSummary]:
    """Buyer: own; merchant: its shops'; staff: all. Newest first."""
    return services.cases.list_cases(principal, status=status_filter, limit=limit, offset=offset)


@router.get("/cases/{case_id}", summary="One case", response_model=CaseOut, responses=_READ)
def get_case(case_id: str, principal: PrincipalDep, services: ServicesDep) -> CaseOut:
    """Reports and routing are hidden from buyers; reviewer identities from buyers and merchants."""
    return services.cases.get_case(principal, case_id)


@router.get(
    "/cases/{case_id}/files/{sha256}",
    summary="Download a case file (verified)",
    responses={200: {"content": {"application/octet-stream": {}}}, **_READ},
)
def get_file(case_id: str, sha256: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    """A file of the case or one of its references, re-hashed on read."""
    data, content_type = services.cases.evidence_bytes(principal, case_id, sha256)
    return Response(content=data, media_type=content_type)


@router.get(
    "/cases/{case_id}/audit",
    summary="The case's audit trail (staff)",
    response_model=list[AuditEventOut],
    responses=_READ,
)
def case_audit(case_id: str, principal: PrincipalDep, services: ServicesDep) -> list[AuditEventOut]:
    """Every event about this case, oldest first."""
    require(principal, Role.REVIEWER)
    services.cases.get_case(principal, case_id)
    with services.session() as session:
        return [
            AuditEventOut(
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                subject_type=e.subject_type,
                subject_id=e.subject_id,
                data=e.data,
                hash=e.hash,
            )
            for e in events_for(session, "case", case_id)
        ]


@router.post(
    "/cases/{case_id}/evidence",
    summary="Send the evidence asked for (buyer)",
    response_model=CaseOut,
    responses=_UPLOAD,
)
async def add_evidence(
    case_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File()],
    note: Annotated[str, Form(max_length=5000)] = "",
) -> CaseOut:
    """Only while the case is ``needs_evidence``; the case is checked again and re-routed."""
    uploads = await read_uploads(files, max_bytes=services.settings.evidence.max_bytes)
    return await run_in_threadpool(services.cases.add_evidence, principal, case_id, files=uploads, note=note)


@router.post(
    "/cases/{case_id}/response", summary="Answer a claim (merchant)", response_model=CaseOut, responses=_UPLOAD
)
async def respond(
    case_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    text: Annotated[str, Form(min_length=1, max_length=5000)],
    files: Annotated[list[UploadFile] | None, File(description="counter-evidence (optional)")] = None,
) -> CaseOut:
    """Within the response window; photos become references and the buyer's photos are checked again."""
    uploads = await read_uploads(files, max_bytes=services.settings.evidence.max_bytes)
    return await run_in_threadpool(services.cases.respond, principal, case_id, text=text, files=uploads)


@router.post(
    "/cases/{case_id}/appeal",
    summary="Appeal a denial once, with new evidence (buyer)",
    response_model=CaseOut,
    responses=_UPLOAD,
)
async def appeal(
    case_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    statement: Annotated[str, Form(min_length=1, max_length=5000)],
    files: Annotated[list[UploadFile], File(description="new evidence (at least one file)")],
) -> CaseOut:
    """A different reviewer decides the appeal."""
    uploads = await read_uploads(files, max_bytes=services.settings.evidence.max_bytes)
    return await run_in_threadpool(services.cases.appeal, principal, case_id, statement=statement, files=uploads)


@router.post(
    "/cases/{case_id}/withdraw", summary="Withdraw an open claim (buyer)", response_model=CaseOut, responses=_ACT
)
def withdraw(case_id: str, principal: PrincipalDep, services: ServicesDep) -> CaseOut:
    """Only open cases."""
    return services.cases.withdraw(principal, case_id)


@router.get(
    "/review/queue",
    summary="Cases to decide (reviewer)",
    response_model=list[CaseSummary],
    responses=_READ,
    tags=["review"],
)
def review_queue(
    principal: PrincipalDep,
    services: ServicesDep,
    claim_type: str | None = None,
    merchant_id: str | None = None,
    min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
    include_waiting: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseSummary]:
    """Earliest deadline first, then highest risk. ``include_waiting`` adds cases still awaiting the merchant."""
    return services.cases.review_queue(
        principal,
        claim_type=claim_type,
        merchant_id=merchant_id,
        min_risk=min_risk,
        include_waiting=include_waiting,
        limit=limit,
    )


@router.get("/reason-codes", summary="Decision reason codes", response_model=ReasonCodes, tags=["review"])
def reason_codes() -> ReasonCodes:
    """Codes and the sentence the buyer sees for each."""
    from proofdesk.cases.reasons import APPROVE_REASONS, DENY_REASONS

    return ReasonCodes(approve=APPROVE_REASONS, deny=DENY_REASONS)


@router.post(
    "/cases/{case_id}/decision",
    summary="Decide a case (reviewer)",
    response_model=CaseOut,
    responses=_ACT,
    tags=["review"],
)
def decide(case_id: str, body: DecisionIn, principal: PrincipalDep, services: ServicesDep) -> CaseOut:
    """``in_review`` -> approved/denied; ``appealed`` -> approved/closed by a different reviewer."""
    return services.cases.decide(principal, case_id, outcome=body.outcome, reason_code=body.reason_code, note=body.note)


@router.post(
    "/cases/{case_id}/evidence-request",
    summary="Ask the buyer for more (reviewer)",
    response_model=CaseOut,
    responses=_ACT,
    tags=["review"],
)
def request_evidence(case_id: str, body: EvidenceRequestIn, principal: PrincipalDep, services: ServicesDep) -> CaseOut:
    """Pauses a running merchant window until the buyer answers."""
    return services.cases.request_evidence(principal, case_id, items=body.items, text=body.text)


@router.post(
    "/cases/{case_id}/recheck",
    summary="Check the photos again (reviewer)",
    response_model=RecheckOut,
    responses=_ACT,
    tags=["review"],
)
def recheck(case_id: str, principal: PrincipalDep, services: ServicesDep) -> RecheckOut:
    """New report versions (e.g. after new references); no status change."""
    return RecheckOut(jobs=services.cases.recheck(principal, case_id))
