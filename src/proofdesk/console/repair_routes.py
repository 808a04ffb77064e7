"""Console pages for on-site repair (delivery layer): dispatcher board, agent intake, technician phone, customer.

Registered by ``proofdesk.console.mount_console`` with one line (``app.include_router(repair_routes.build_router
(services))``). Same sign-in cookie, roles and language as the rest of the console; pages extend
``base.html`` and are plain HTML forms (no JavaScript needed). Every action calls
:class:`~proofdesk.repair.service.RepairService` in one unit of work and redirects back (POST → 303 → GET), so a
reload never repeats an action. The technician's page is laid out for a phone (one column, large buttons).

Repair texts are kept here in both languages (:data:`TEXTS`) so the repair part can change without touching
the shared catalogue; the navigation and layout strings come from the console's own translator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from proofdesk.dossier import negotiate, translator
from proofdesk.errors import NotAuthenticated, NotFound, PermissionDenied, UserInputError
from proofdesk.repair.calendar import CHINA_TZ
from proofdesk.repair.dispatch import Priority
from proofdesk.repair.lifecycle import VisitStatus, allowed
from proofdesk.repair.service import IntakeForm, PartUsed, QuoteLine, RepairService, Upload
from proofdesk.security import Principal, Role, authenticate
from proofdesk.services import Services

COOKIE: Final = "pd_console"  # the console's session cookie (same sign-in as the other pages)
LANG_COOKIE: Final = "pd_lang"
_MAX_UPLOAD: Final = 60 * 1024 * 1024

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "board": "Repair dispatch",
        "new": "New repair request",
        "mine": "My repairs",
        "jobs": "My jobs",
        "status": "Status",
        "region": "Region",
        "priority": "Priority",
        "technician": "Technician",
        "eta": "ETA",
        "promise": "On site by",
        "contact_by": "Contact by",
        "escalated": "Escalated",
        "sweep": "Run timers now",
        "channel": "Channel",
        "name": "Customer name",
        "phone": "Phone",
        "address": "Address",
        "category": "Product category",
        "product": "Product",
        "serial": "Unit serial",
        "fault": "Fault",
        "preferred": "Preferred time",
        "submit": "Submit",
        "override": "Assign manually",
        "reason": "Reason",
        "history": "Assignment history",
        "alternatives": "Alternatives",
        "decline": "Decline this job",
        "contacted": "Customer contacted",
        "en_route": "On my way",
        "on_site": "Arrived on site",
        "upload": "Upload photo or video",
        "stage": "Stage",
        "diagnose": "Diagnosis and quote",
        "report": "Report",
        "quote": "Quote lines (item = amount in yuan, one per line)",
        "approve": "Approve quote",
        "reject": "Decline quote",
        "repaired": "Repair done",
        "parts_ordered": "Parts ordered",
        "complete": "Complete with record",
        "work_done": "Work done",
        "parts": "Parts (name = serial, one per line)",
        "signature": "Customer signature (image)",
        "survey": "How did we do?",
        "stars": "Stars",
        "comment": "Comment",
        "send": "Send",
        "warranty": "Warranty",
        "record": "Repair record",
        "photos": "Photos and videos",
        "timeline": "Timeline",
        "none": "None",
        "reveal": "Show contact data (audited)",
        "verdict": "Check verdict",
        "masked": "masked",
        "total": "Total",
        "covered": "covered by warranty",
        "done": "Saved.",
        "outside": "Outside coverage",
        "open": "Open",
        "unassigned": "not assigned",
        **{f"s.{s.value}": s.value.replace("_", " ") for s in VisitStatus},
    },
    "zh": {
        "board": "派单台",
        "new": "新建报修",
        "mine": "我的报修",
        "jobs": "我的工单",
        "status": "状态",
        "region": "区域",
        "priority": "优先级",
        "technician": "师傅",
        "eta": "预计到达",
        "promise": "承诺上门",
        "contact_by": "承诺联系",
        "escalated": "已升级",
        "sweep": "立即检查时限",
        "channel": "渠道",
        "name": "客户姓名",
        "phone": "电话",
        "address": "地址",
        "category": "产品类别",
        "product": "产品",
        "serial": "机身序列号",
        "fault": "故障描述",
        "preferred": "期望时间",
        "submit": "提交",
        "override": "人工派单",
        "reason": "原因",
        "history": "派单记录",
        "alternatives": "备选师傅",
        "decline": "拒接此单",
        "contacted": "已联系客户",
        "en_route": "出发",
        "on_site": "已到达",
        "upload": "上传照片或视频",
        "stage": "阶段",
        "diagnose": "检测报告与报价",
        "report": "检测报告",
        "quote": "报价明细（项目 = 金额（元），每行一项）",
        "approve": "同意报价",
        "reject": "不同意报价",
        "repaired": "维修完成",
        "parts_ordered": "已订配件",
        "complete": "完工并提交记录",
        "work_done": "维修内容",
        "parts": "更换配件（名称 = 序列号，每行一项）",
        "signature": "客户签名（图片）",
        "survey": "服务评价",
        "stars": "星级",
        "comment": "留言",
        "send": "发送",
        "warranty": "保修",
        "record": "维修记录",
        "photos": "照片与视频",
        "timeline": "进度",
        "none": "无",
        "reveal": "显示联系方式（留痕）",
        "verdict": "检测结论",
        "masked": "已脱敏",
        "total": "合计",
        "covered": "保修范围内",
        "done": "已保存。",
        "outside": "不在服务范围",
        "open": "处理中",
        "unassigned": "未派单",
        "s.requested": "待派单",
        "s.assigned": "已派单",
        "s.contacted": "已联系",
        "s.en_route": "师傅在路上",
        "s.on_site": "师傅已上门",
        "s.diagnosed": "待确认报价",
        "s.approved": "已同意报价",
        "s.quote_declined": "未同意报价",
        "s.parts_ordered": "等待配件",
        "s.repaired": "已修好",
        "s.completed": "已完工",
        "s.followed_up": "已回访",
        "s.cancelled": "已取消",
    },
}


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        left, sep, right = line.partition("=")
        if not sep:
            raise UserInputError(f"expected 'name = value' in {line!r}")
        out.append((left.strip(), right.strip()))
    return out


def _yuan_to_fen(value: str) -> int:
    try:
        return round(float(value) * 100)
    except ValueError:
        raise UserInputError(f"not an amount: {value!r}") from None


def build_router(services: Services) -> APIRouter:
    """The repair pages under ``/console/repair``."""
    router = APIRouter(prefix="/console/repair", include_in_schema=False)
    folder = Path(str(resources.files("proofdesk.console").joinpath("templates")))
    templates = Jinja2Templates(directory=folder)
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    # Times are stored and served in UTC; people in the flow read China time.
    templates.env.filters["local"] = lambda value: (
        "—" if not value else datetime.fromisoformat(str(value)).astimezone(CHINA_TZ).strftime("%m-%d %H:%M")
    )

    def principal_of(request: Request) -> Principal:
        token = request.cookies.get(COOKIE)
        if not token:
            raise NotAuthenticated("not signed in")
        with services.session() as session:
            return authenticate(session, token)

    @contextmanager
    def repair() -> Iterator[RepairService]:
        with services.session() as session:
            yield RepairService(session, services.cipher, services.store, services.settings)

    def page(request: Request, name: str, me: Principal, **context: Any) -> HTMLResponse:
        t = translator(negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE)))
        texts = TEXTS.get(t.lang, TEXTS["en"])
        return templates.TemplateResponse(
            request,
            f"repair/{name}",
            {
                "t": t,
                "lang": t.lang,
                "me": me,
                "path": request.url.path,
                "notice": "",
                "rt": lambda key: texts.get(key, TEXTS["en"].get(key, key)),
                "done": request.query_params.get("done") == "1",
                "cst": CHINA_TZ,
                **context,
            },
        )

    def back(url: str) -> RedirectResponse:
        return RedirectResponse(url + ("&" if "?" in url else "?") + "done=1", status_code=303)

    def home(me: Principal) -> str:
        return {Role.TECHNICIAN: "/console/repair/jobs", Role.BUYER: "/console/repair/mine"}.get(
            me.role, "/console/repair/board"
        )

    @router.get("", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return RedirectResponse(home(principal_of(request)), status_code=303)

    # -- dispatcher and agent ------------------------------------------------------------------------------------

    @router.get("/board", response_class=HTMLResponse)
    def board(request: Request, status: str = "") -> Response:
        me = principal_of(request)
        with repair() as svc:
            rows = svc.list_requests(me, status=status or None)
            techs = {t.id: t.display_name for t in svc.technicians(me)}
        return page(
            request, "board.html", me, rows=rows, techs=techs, status=status, statuses=[s.value for s in VisitStatus]
        )

    @router.post("/sweep")
    def sweep(request: Request) -> Response:
        me = principal_of(request)
        with repair() as svc:
            svc.sweep(me)
        return back("/console/repair/board")

    @router.get("/new", response_class=HTMLResponse)
    def new_form(request: Request) -> Response:
        me = principal_of(request)
        if me.role not in (Role.AGENT, Role.DISPATCHER, Role.ADMIN, Role.BUYER):
            raise PermissionDenied("repair intake is for agents, dispatchers and customers")
        return page(request, "new.html", me, priorities=[p.value for p in Priority])

    @router.post("/new")
    def create(
        request: Request,
        customer_name: Annotated[str, Form()],
        customer_phone: Annotated[str, Form()],
        address: Annotated[str, Form()],
        category: Annotated[str, Form()],
        fault: Annotated[str, Form()],
        channel: Annotated[str, Form()] = "phone",
        product: Annotated[str, Form()] = "",
        unit_serial: Annotated[str, Form()] = "",
        priority: Annotated[str, Form()] = "normal",
        preferred_time: Annotated[str, Form()] = "",
        customer_id: Annotated[str, Form()] = "",
    ) -> Response:
        me = principal_of(request)
        form = IntakeForm(
            channel="web" if me.role is Role.BUYER else channel,
            customer_name=customer_name,
            customer_phone=customer_phone,
            address=address,
            category=category,
            product=product,
            fault=fault,
            unit_serial=unit_serial or None,
            priority=Priority(priority),
            preferred_time=preferred_time or None,
            customer_id=customer_id or None,
        )
        with repair() as svc:
            req = svc.intake(me, form)
        return back(f"/console/repair/requests/{req.id}")

    @router.post("/requests/{request_id}/override")
    def override(
        request: Request, request_id: str, technician_id: Annotated[str, Form()], reason: Annotated[str, Form()]
    ) -> Response:
        me = principal_of(request)
        with repair() as svc:
            svc.override(me, request_id, technician_id, reason=reason)
        return back(f"/console/repair/requests/{request_id}")

    # -- one request: every role sees its own view of it ----------------------------------------------------------

    @router.get("/requests/{request_id}", response_class=HTMLResponse)
    def request_page(request: Request, request_id: str, reveal: bool = False) -> Response:
        me = principal_of(request)
        with repair() as svc:
            view = svc.view(me, request_id, reveal=reveal)
            history = svc.assignments(request_id) if me.is_staff else []
            techs = svc.technicians(me) if me.role in (Role.DISPATCHER, Role.ADMIN) else []
        status = VisitStatus(str(view["status"]))
        return page(
            request,
            "request.html",
            me,
            r=view,
            history=history,
            techs=techs,
            next_steps=[s.value for s in allowed(status)],
            is_tech=me.role is Role.TECHNICIAN,
            is_customer=me.role is Role.BUYER,
            is_dispatcher=me.role in (Role.DISPATCHER, Role.ADMIN),
        )

    @router.get("/requests/{request_id}/media/{sha256}")
    def media(request: Request, request_id: str, sha256: str) -> Response:
        me = principal_of(request)
        with repair() as svc:
            view = svc.view(me, request_id)
        item = next((m for m in view["media"] if m["sha256"] == sha256), None)  # type: ignore[attr-defined]
        if item is None:
            raise NotFound("no such file in this request")
        ctype = "image/jpeg" if item["kind"] == "photo" else "application/octet-stream"
        return Response(
            services.store.get(sha256),
            media_type=ctype,
            headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(item['name'])}"},
        )

    # -- technician ------------------------------------------------------------------------------------------------

    @router.get("/jobs", response_class=HTMLResponse)
    def jobs(request: Request) -> Response:
        me = principal_of(request)
        with repair() as svc:
            rows = svc.list_requests(me)
        return page(request, "jobs.html", me, rows=rows)

    @router.post("/requests/{request_id}/step")
    def step(request: Request, request_id: str, to: Annotated[str, Form()]) -> Response:
        me = principal_of(request)
        with repair() as svc:
            if to == "repaired":
                svc.mark_repaired(me, request_id)
            else:
                svc.advance(me, request_id, VisitStatus(to))
        return back(f"/console/repair/requests/{request_id}")

    @router.post("/requests/{request_id}/decline")
    def decline(request: Request, request_id: str, reason: Annotated[str, Form()]) -> Response:
        me = principal_of(request)
        with repair() as svc:
            svc.decline(me, request_id, reason=reason)
        return back("/console/repair/jobs")

    @router.post("/requests/{request_id}/media")
    async def upload(
        request: Request, request_id: str, stage: Annotated[str, Form()], file: Annotated[UploadFile, File()]
    ) -> Response:
        me = principal_of(request)
        data = await file.read(_MAX_UPLOAD + 1)
        if len(data) > _MAX_UPLOAD:
            raise UserInputError("file too large")
        with repair() as svc:
            svc.add_media(me, request_id, stage, Upload(file.filename or "upload", data, file.content_type or ""))
        return back(f"/console/repair/requests/{request_id}")

    @router.post("/requests/{request_id}/diagnosis")
    def diagnosis(
        request: Request, request_id: str, report: Annotated[str, Form()], quote_lines: Annotated[str, Form()] = ""
    ) -> Response:
        me = principal_of(request)
        lines = [QuoteLine(item, _yuan_to_fen(amount)) for item, amount in _pairs(quote_lines)]
        with repair() as svc:
            svc.diagnose(me, request_id, report=report, quote=lines)
        return back(f"/console/repair/requests/{request_id}")

    @router.post("/requests/{request_id}/parts")
    def parts_ordered(request: Request, request_id: str, parts: Annotated[str, Form()]) -> Response:
        me = principal_of(request)
        with repair() as svc:
            svc.order_parts(me, request_id, parts=[p.strip() for p in parts.splitlines() if p.strip()])
        return back(f"/console/repair/requests/{request_id}")

    @router.post("/requests/{request_id}/complete")
    async def complete(
        request: Request,
        request_id: str,
        work_done: Annotated[str, Form()],
        signature: Annotated[UploadFile, File()],
        parts: Annotated[str, Form()] = "",
    ) -> Response:
        me = principal_of(request)
        sig = Upload(signature.filename or "signature", await signature.read(_MAX_UPLOAD), signature.content_type or "")
        with repair() as svc:
            svc.complete(
                me, request_id, work_done=work_done, parts=[PartUsed(n, s) for n, s in _pairs(parts)], signature=sig
            )
        return back(f"/console/repair/requests/{request_id}")

    # -- customer ---------------------------------------------------------------------------------------------------

    @router.get("/mine", response_class=HTMLResponse)
    def mine(request: Request) -> Response:
        me = principal_of(request)
        with repair() as svc:
            rows = svc.list_requests(me)
        return page(request, "mine.html", me, rows=rows)

    @router.post("/requests/{request_id}/quote")
    def quote_decision(request: Request, request_id: str, approve: Annotated[str, Form()]) -> Response:
        me = principal_of(request)
        with repair() as svc:
            svc.decide_quote(me, request_id, approve=approve == "yes")
        return back(f"/console/repair/requests/{request_id}")

    @router.post("/requests/{request_id}/survey")
    def survey(
        request: Request, request_id: str, stars: Annotated[int, Form()], comment: Annotated[str, Form()] = ""
    ) -> Response:
        me = principal_of(request)
        with repair() as svc:
            svc.follow_up(me, request_id, stars=stars, comment=comment)
        return back(f"/console/repair/requests/{request_id}")

    return router


__all__ = ["TEXTS", "build_router"]
