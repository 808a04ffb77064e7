"""Console routes (delivery layer): server-rendered pages over a :class:`ConsoleBackend`.

``mount_console(app, services)`` is called by ``proofdesk.api.create_app``: it mounts the static files and
the page routes under ``/console``. Requests flow: cookie -> :func:`_principal` (the same API tokens and roles
as the HTTP API) -> backend call -> Jinja2 template in the request's language. Pages are plain HTML forms
that work without JavaScript; ``static/console.js`` adds the queue's keyboard shortcuts and the comparison
slider on top. Errors from :mod:`proofdesk.errors` become an error page with the matching status here.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from proofdesk.console import repair_routes
from proofdesk.console.backend import ConsoleBackend, QueueFilters, Upload
from proofdesk.dossier import (
    Translator,
    build_manifest,
    finding_sentence,
    negotiate,
    overlays,
    render_html,
    render_pdf,
    translator,
)
from proofdesk.dossier.model import BlobReader, PhotoResult
from proofdesk.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ProofdeskError,
    UserInputError,
)
from proofdesk.security import Principal, Role, authenticate

__all__ = ["COOKIE", "ConsoleConfig", "build_router", "demo_tokens_path"]

COOKIE: Final = "pd_console"
LANG_COOKIE: Final = "pd_lang"
_SIDES: Final = (320, 640, 1024)
_MAX_UPLOAD: Final = 60 * 1024 * 1024


def demo_tokens_path(data_dir: Path) -> Path:
    """Where ``proofdesk demo`` leaves the demo users' tokens (read by the sign-in page's demo buttons)."""
    return data_dir / "demo-users.json"


class ConsoleConfig:
    """What the routes need besides the backend: authentication, the store and the derivative cache."""

    def __init__(
        self,
        *,
        backend: ConsoleBackend,
        authenticate_token: Any,
        store: BlobReader,
        cache_dir: Path,
        demo_tokens: Path | None,
    ) -> None:
        self.backend = backend
        self.authenticate_token = authenticate_token  # Callable[[str], Principal]
        self.store = store
        self.cache = overlays.DerivativeCache(cache_dir)
        self.demo_tokens = demo_tokens


def _templates() -> Jinja2Templates:
    folder = Path(str(resources.files("proofdesk.console").joinpath("templates")))
    templates = Jinja2Templates(directory=folder)
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    return templates


def _lang(request: Request) -> Translator:
    return translator(negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE)))


def _hours_left(deadline: datetime | None) -> float | None:
    if deadline is None:
        return None
    when = deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds() / 3600.0


async def _uploads(files: Sequence[UploadFile] | None) -> list[Upload]:
    out: list[Upload] = []
    for item in files or []:
        if not item.filename:
            continue  # an empty file input still sends one nameless part
        data = await item.read(_MAX_UPLOAD + 1)
        if len(data) > _MAX_UPLOAD:
            raise UserInputError(f"{item.filename}: larger than {_MAX_UPLOAD // (1024 * 1024)} MB", code="too_large")
        out.append(Upload(item.filename, item.content_type or "application/octet-stream", data))
    return out


def build_router(config: ConsoleConfig) -> APIRouter:
    """The console's page routes (mounted under ``/console``)."""
    router = APIRouter(prefix="/console", include_in_schema=False)
    templates = _templates()
    backend = config.backend

    def page(
        request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
    ) -> HTMLResponse:
        t = _lang(request)
        return templates.TemplateResponse(
            request,
            name,
            {"t": t, "lang": t.lang, "me": principal, "hours_left": _hours_left, "path": request.url.path,
             "sentence": lambda f: finding_sentence(f, t), "notice": request.query_params.get("notice", ""),
             **context},
            status_code=status,
        )

    def principal_of(request: Request) -> Principal:
        token = request.cookies.get(COOKIE)
        if not token:
            raise NotAuthenticated("not signed in")
        principal: Principal = config.authenticate_token(token)
        return principal

    def guard(request: Request, *roles: Role) -> Principal:
        principal = principal_of(request)
        if roles and principal.role is not Role.ADMIN and principal.role not in roles:
            raise PermissionDenied(f"this page is not for the role {principal.role.value}")
        return principal

    def home_for(principal: Principal) -> str:
        return {
            Role.MERCHANT: "/console/merchant",
            Role.BUYER: "/console/buyer",
            Role.TECHNICIAN: "/console/repair/jobs",
            Role.DISPATCHER: "/console/repair/board",
            Role.AGENT: "/console/repair/board",
        }.get(principal.role, "/console/queue")

    def back(url: str, notice: str = "") -> RedirectResponse:
        sep = "&" if "?" in url else "?"
        return RedirectResponse(url + (f"{sep}notice={quote(notice)}" if notice else ""), status_code=303)

    # ------------------------------------------------------------------ sign in / out, language

    def demo_users() -> Mapping[str, Any]:
        if config.demo_tokens is None or not config.demo_tokens.is_file():
            return {}
        data: Mapping[str, Any] = json.loads(config.demo_tokens.read_text(encoding="utf-8"))
        return data

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        try:
            return RedirectResponse(home_for(principal_of(request)), status_code=303)
        except NotAuthenticated:
            return RedirectResponse("/console/signin", status_code=303)

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request, error: str = "") -> Response:
        return page(request, "pages/signin.html", None, demo=demo_users(), error=error)

    def signed_in(token: str) -> Response:
        principal: Principal = config.authenticate_token(token)
        response = RedirectResponse(home_for(principal), status_code=303)
        # SameSite=Strict: the browser never sends the session cookie with a request started on another site,
        # which is what stops cross-site form posts (CSRF) without a token in every form.
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    @router.post("/signin")
    def signin(request: Request, token: Annotated[str, Form()] = "", demo: Annotated[str, Form()] = "") -> Response:
        if demo:
            entry = demo_users().get(demo)
            if not entry:
                raise NotFound("no such demo user")
            token = str(entry["token"])
        try:
            return signed_in(token.strip())
        except NotAuthenticated:
            return page(request, "pages/signin.html", None, status=401, demo=demo_users(), error="signin.bad")

    @router.post("/signout")
    def signout() -> Response:
        response = RedirectResponse("/console/signin", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/lang/{lang}")
    def set_language(lang: str, next: str = "/console/") -> Response:
        target = next if next.startswith("/console") else "/console/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(LANG_COOKIE, "zh" if lang.startswith("zh") else "en", max_age=365 * 24 * 3600,
                            samesite="lax")
        return response

    # ------------------------------------------------------------------ reviewer

    @router.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, risk: str = "", due: str = "", merchant: str = "", claim_type: str = "") -> Response:
        me = guard(request, Role.REVIEWER)
        filters = QueueFilters(risk=risk, due=due, merchant=merchant, claim_type=claim_type)
        rows = backend.queue(me, filters)
        return page(request, "pages/queue.html", me, rows=rows, filters=filters, merchants=backend.merchants(me))

    @router.get("/cases/{case_id}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str) -> Response:
        me = principal_of(request)
        case = backend.case_file(me, case_id)
        history = backend.buyer_history(me, case) if me.role in (Role.REVIEWER, Role.ADMIN) else None
        return page(
            request, "pages/case.html", me, case=case, history=history,
            reason_codes=backend.reason_codes() if me.role in (Role.REVIEWER, Role.ADMIN) else (),
            can_decide=me.role in (Role.REVIEWER, Role.ADMIN) and case.status in ("in_review", "appealed", "escalated"),
            can_answer=me.role is Role.MERCHANT and case.status in ("awaiting_merchant", "in_review"),
            can_appeal=me.role is Role.BUYER and case.extra.get("can_appeal", False),
            can_add_evidence=me.role is Role.BUYER and case.status == "needs_evidence",
            can_request=me.role in (Role.REVIEWER, Role.ADMIN)
            and case.status in ("in_review", "awaiting_merchant", "appealed"),
            evidence_items=backend.evidence_items(),
            views=_photo_views(case.photos),
        )

    @router.post("/cases/{case_id}/decision")
    def decide(
        request: Request, case_id: str, decision: Annotated[str, Form()], note: Annotated[str, Form()] = ""
    ) -> Response:
        me = guard(request, Role.REVIEWER)
        outcome, _, reason_code = decision.partition(":")
        backend.decide(me, case_id, outcome, reason_code, note)
        return back(f"/console/cases/{case_id}", "case.decided")

    @router.post("/cases/{case_id}/request-evidence")
    def request_evidence(
        request: Request, case_id: str, items: Annotated[list[str], Form()], text: Annotated[str, Form()] = ""
    ) -> Response:
        me = guard(request, Role.REVIEWER)
        backend.request_evidence(me, case_id, items, text)
        return back(f"/console/cases/{case_id}", "evidence.asked")

    @router.post("/cases/{case_id}/evidence")
    async def add_evidence(
        request: Request, case_id: str, note: Annotated[str, Form()] = "",
        files: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        me = guard(request, Role.BUYER)
        backend.add_evidence(me, case_id, note, await _uploads(files))
        return back(f"/console/cases/{case_id}", "evidence.received")

    @router.get("/cases/{case_id}/photos/{sha256}/{view}.jpg")
    def photo(request: Request, case_id: str, sha256: str, view: str, side: int = 1024) -> Response:
        me = principal_of(request)
        if view not in overlays.VIEWS or (me.role is Role.BUYER and view != "claim"):
            raise NotFound(f"no view {view!r}")  # buyers see their photo, not the checks' overlays
        side = min(_SIDES, key=lambda s: abs(s - side))  # a few fixed sizes keep the cache small
        result, version = backend.photo(me, case_id, sha256)
        data = config.cache.get_or_render(
            config.cache.key(view, side, sha256, version, result.reference and result.reference.sha256),
            lambda: _render(config.store, result, view, side),
        )
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @router.get("/cases/{case_id}/files/{sha256}")
    def original(request: Request, case_id: str, sha256: str) -> Response:
        me = principal_of(request)
        item, data = backend.evidence(me, case_id, sha256)
        safe = quote(item.name)
        return Response(data, media_type=item.content_type,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{safe}"})

    @router.get("/cases/{case_id}/report.{fmt}")
    def evidence_report(request: Request, case_id: str, fmt: str) -> Response:
        me = principal_of(request)
        if me.role is Role.BUYER:
            raise PermissionDenied("evidence reports are for merchants and reviewers")
        case = backend.case_file(me, case_id)
        t = _lang(request)
        manifest = build_manifest(case)
        if fmt == "html":
            return Response(render_html(case, config.store, t, manifest=manifest), media_type="text/html")
        if fmt == "pdf":
            return Response(
                render_pdf(case, config.store, t, manifest=manifest), media_type="application/pdf",
                headers={"Content-Disposition": f'attachment; filename="proofdesk-case-{case_id}.pdf"'},
            )
        raise NotFound("reports come as .html or .pdf")

    # ------------------------------------------------------------------ merchant

    @router.get("/merchant", response_class=HTMLResponse)
    def merchant_home(request: Request) -> Response:
        me = guard(request, Role.MERCHANT)
        return page(request, "pages/merchant.html", me, rows=backend.merchant_cases(me), listings=backend.listings(me))

    @router.get("/listings/{listing_id}/images/{sha256}.jpg")
    def listing_image(request: Request, listing_id: str, sha256: str) -> Response:
        me = guard(request, Role.MERCHANT, Role.REVIEWER)
        rows = backend.listings(me) if me.role is Role.MERCHANT else ()
        if me.role is Role.MERCHANT and not any(
            r.listing_id == listing_id and any(i.sha256 == sha256 for i in r.images) for r in rows
        ):
            raise NotFound("no such listing image")
        data = config.cache.get_or_render(
            config.cache.key("listing", 320, sha256),
            lambda: overlays.derivative(config.store.get(sha256), max_side=320),
        )
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @router.post("/cases/{case_id}/answer")
    async def answer(
        request: Request, case_id: str, text: Annotated[str, Form()] = "",
        files: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        me = guard(request, Role.MERCHANT)
        backend.answer(me, case_id, text, await _uploads(files))
        return back(f"/console/cases/{case_id}", "merchant.sent")

    # ------------------------------------------------------------------ buyer

    @router.get("/buyer", response_class=HTMLResponse)
    def buyer_home(request: Request) -> Response:
        me = guard(request, Role.BUYER)
        return page(request, "pages/buyer.html", me, orders=backend.orders(me), rows=backend.buyer_cases(me))

    @router.get("/buyer/orders/{order_id}/claim", response_class=HTMLResponse)
    def claim_form(request: Request, order_id: str, reason: str = "damaged") -> Response:
        me = guard(request, Role.BUYER)
        order = next((o for o in backend.orders(me) if o.order_id == order_id), None)
        if order is None:
            raise NotFound("no such order")
        return page(request, "pages/claim_form.html", me, order=order, reason=reason, reasons=_REASONS)

    @router.post("/buyer/orders/{order_id}/claim")
    async def file_claim(
        request: Request, order_id: str, claim_type: Annotated[str, Form()], reason: Annotated[str, Form()],
        description: Annotated[str, Form()] = "", photos: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        me = guard(request, Role.BUYER)
        case_id = backend.file_claim(me, order_id, claim_type, reason, description, await _uploads(photos))
        return back(f"/console/cases/{case_id}", "buyer.filed")

    @router.post("/cases/{case_id}/appeal")
    async def appeal(
        request: Request, case_id: str, text: Annotated[str, Form()],
        files: Annotated[list[UploadFile] | None, File()] = None,
    ) -> Response:
        me = guard(request, Role.BUYER)
        backend.appeal(me, case_id, text, await _uploads(files))
        return back(f"/console/cases/{case_id}", "buyer.appealed")

    return router


_REASONS: Final = ("damaged", "defective", "wrong_item", "missing_parts", "not_as_described")


def _photo_views(photos: Sequence[PhotoResult]) -> list[dict[str, Any]]:
    """Per photo: which overlay views exist (a mask only with an edit, a reference only when matched)."""
    out = []
    for result in photos:
        report = result.report
        edits = [r for f in (report.findings if report else []) if f.score > 0 and f.check in ("reference", "pixels")
                 for r in f.regions]
        views = ["claim", "outline"] if report and any(f.regions for f in report.findings) else ["claim"]
        if result.reference is not None:
            views.append("reference")
        if edits or result.mask_sha256:
            views.append("mask")
        if edits or result.reference is not None:
            views.append("heat")
        provenance = report.finding("provenance") if report else None
        out.append({"result": result, "views": views, "aligned": result.homography() is not None,
                    "provenance": provenance})
    return out


def _render(store: BlobReader, result: PhotoResult, view: str, side: int) -> bytes:
    claim = store.get(result.photo.sha256)
    report = result.report
    regions = [(r, f.check in ("reference", "pixels")) for f in (report.findings if report else []) if f.score > 0
               for r in f.regions]
    edits = [r for r, is_edit in regions if is_edit]
    if view == "claim":
        return overlays.derivative(claim, max_side=side)
    if view == "outline":
        return overlays.outlined(claim, regions, max_side=side)
    if view == "mask":
        mask = store.get(result.mask_sha256) if result.mask_sha256 else None
        return overlays.mask_overlay(claim, mask_png=mask, regions=edits, max_side=side)
    reference = store.get(result.reference.sha256) if result.reference else None
    if view == "reference":
        if reference is None:
            raise NotFound("this photo has no matched reference")
        return overlays.aligned_reference(reference, claim, result.homography(), max_side=side)[0]
    return overlays.heat_overlay(claim, reference=reference, homography=result.homography(), regions=edits,
                                 max_side=side)


def _error_page(templates: Jinja2Templates, request: Request, status: int, message: str) -> Response:
    t = _lang(request)
    return templates.TemplateResponse(
        request, "pages/error.html", {"t": t, "lang": t.lang, "me": None, "message": message, "path": request.url.path,
                                      "notice": ""},
        status_code=status,
    )


def mount_console(app: FastAPI, services: Any) -> None:
    """Mount the console on the API app (called by ``proofdesk.api.create_app``)."""
    from proofdesk.console.service_backend import ServiceBackend

    def authenticate_token(token: str) -> Principal:
        with services.session() as session:
            principal: Principal = authenticate(session, token)
            return principal

    settings = services.settings
    config = ConsoleConfig(
        backend=ServiceBackend(services),
        authenticate_token=authenticate_token,
        store=services.store,
        cache_dir=settings.data_dir / "derivatives",
        demo_tokens=None if settings.environment == "production" else demo_tokens_path(settings.data_dir),
    )
    install(app, config)
    app.include_router(repair_routes.build_router(services))  # on-site repair pages (issue 7)


def install(app: FastAPI, config: ConsoleConfig) -> None:
    """Add the console (static files, pages, error pages, ``/`` redirect) to ``app`` with ``config``."""
    templates = _templates()
    static = Path(str(resources.files("proofdesk.console").joinpath("static")))
    app.mount("/console/static", StaticFiles(directory=static), name="console-static")
    app.include_router(build_router(config))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    previous = app.exception_handlers.get(ProofdeskError)

    async def console_errors(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console") and previous is not None:
            result = previous(request, exc)
            if inspect.isawaitable(result):
                result = await result
            assert isinstance(result, Response)
            return result
        if isinstance(exc, NotAuthenticated):
            return RedirectResponse(f"/console/signin?next={quote(request.url.path)}", status_code=303)
        status = 500
        if isinstance(exc, PermissionDenied):
            status = 403
        elif isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, UserInputError):
            status = 400
        message = str(exc) if isinstance(exc, ProofdeskError) else "internal error"
        return _error_page(templates, request, status, message)

    app.add_exception_handler(ProofdeskError, console_errors)
