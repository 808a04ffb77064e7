"""The whole repair flow on SQLite and PostgreSQL: phone request → region → technician → visit → record →
warranty → follow-up, with the real forgery checks on the technician's photos and the audit chain verified."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from proofdesk import audit
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.errors import CorruptEvidence, InvalidTransition, NotFound, PermissionDenied
from proofdesk.repair.calendar import CHINA_TZ
from proofdesk.repair.dispatch import Priority
from proofdesk.repair.lifecycle import VisitStatus
from proofdesk.repair.models import RepairRequest, RepairWarranty
from proofdesk.repair.regions import AmbiguousAddress, OutsideCoverage
from proofdesk.repair.service import IntakeForm, PartUsed, PhotoRejected, QuoteLine, RepairService, Upload
from proofdesk.security import Principal, Role
from proofdesk.services import Services, build_services
from tests.conftest import PROVENANCE, encode, photo_like

PG_URL = os.environ.get("PROOFDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DISPATCHER = Principal(Role.DISPATCHER, None, "tok-d")
AGENT = Principal(Role.AGENT, None, "tok-a")
CUSTOMER = Principal(Role.BUYER, "buyer-1")


class Clock:
    """The service's notion of now, moved by the test (a real value, not a mock)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
        migrate(settings)
        bundle = build_services(settings)
        yield bundle
        bundle.close()
        return
    # A database of its own per test, so parallel runs by other engineers never meet our tables.
    name = f"pd_repair_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        settings = Settings(data_dir=tmp_path, environment="test", database_url=PG_URL.rsplit("/", 1)[0] + "/" + name)
        migrate(settings)
        bundle = build_services(settings)
        yield bundle
        bundle.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def jpeg(seed: int) -> bytes:
    return encode(photo_like(360, 480, seed), "JPEG", quality=90)


def signature_png() -> bytes:
    return encode(photo_like(120, 300, 99), "PNG")


def test_phone_request_to_follow_up(services: Services) -> None:
    clock = Clock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=CHINA_TZ))  # a Tuesday, a workday

    def svc(session: object) -> RepairService:
        return RepairService(session, services.cipher, services.store, services.settings, clock=clock)  # type: ignore[arg-type]

    # -- a team covering 黄石市 with three technicians -------------------------------------------------------
    with services.session() as s:
        r = svc(s)
        team = r.create_team(DISPATCHER, name="黄石网点", coverage=["420200"])
        near = r.add_technician(
            DISPATCHER, team_id=team.id, name="王建国", phone="13900001111", home_code="420202", skills={"safe": 3}
        )
        other = r.add_technician(
            DISPATCHER,
            team_id=team.id,
            name="李师傅",
            phone="13900002222",
            home_code="420203",
            skills={"safe": 3, "range_hood": 2},
        )
        r.add_technician(
            DISPATCHER, team_id=team.id, name="赵师傅", phone=None, home_code="420202", skills={"range_hood": 5}
        )
        near_id, other_id = near.id, other.id

    # -- the customer phones; the agent types it in --------------------------------------------------------------
    form = IntakeForm(
        channel="phone",
        customer_name="张三",
        customer_phone="13812345678",
        address="黄石市黄石港区湖滨大道8号3栋501",
        category="safe",
        product="得力 4078 保险柜",
        fault="电子锁无法开启，输入密码无反应",
        unit_serial="SAFE-0042",
        priority=Priority.HIGH,
        customer_id="buyer-1",
        preferred_time="今天下午",
    )
    with services.session() as s:
        req = svc(s).intake(AGENT, form)
        rid = req.id
        assert req.region_path == "湖北省/黄石市/黄石港区" and req.county_code == "420202"
        assert req.status == VisitStatus.ASSIGNED.value
        assert req.technician_id == near_id  # same county, skilled enough, idle
        assert req.contact_by == dt.datetime(2026, 11, 24, 10, 30, tzinfo=CHINA_TZ)
        assert req.on_site_by == dt.datetime(2026, 11, 24, 18, 0, tzinfo=CHINA_TZ)  # 8 field hours from 10:00
        assert req.eta is not None and req.eta <= req.on_site_by
        # personal data is ciphertext at rest
        raw = s.execute(text("SELECT customer_phone_enc, address_enc FROM repair_requests")).one()
        assert "13812345678" not in raw[0] and "湖滨大道" not in raw[1]

    # -- outside coverage and ambiguous addresses get clear answers, nothing is queued --------------------------
    with services.session() as s:
        with pytest.raises(OutsideCoverage, match="nearest covered area is 湖北省/黄石市"):
            svc(s).intake(AGENT, IntakeForm(**{**form.__dict__, "address": "湖北省武汉市武昌区中南路1号"}))
        with pytest.raises(AmbiguousAddress):
            svc(s).intake(AGENT, IntakeForm(**{**form.__dict__, "address": "朝阳区建国路88号"}))
    with services.session() as s:
        assert len(s.scalars(select(RepairRequest)).all()) == 1

    # -- the first technician declines; the other one gets it -------------------------------------------------
    tech_near = Principal(Role.TECHNICIAN, near_id)
    tech = Principal(Role.TECHNICIAN, other_id)
    clock.advance(minutes=3)
    with services.session() as s:
        r = svc(s)
        with pytest.raises(NotFound):
            r.advance(tech, rid, VisitStatus.CONTACTED)  # not theirs yet
        req = r.decline(tech_near, rid, reason="车坏了")
        assert req.technician_id == other_id and req.excluded == [near_id]
        history = r.assignments(rid)
        assert [a.technician_id for a in history] == [near_id, other_id] and history[0].end_reason == "declined: 车坏了"

    # -- the visit ------------------------------------------------------------------------------------------------
    with services.session() as s:
        r = svc(s)
        view = r.view(tech, rid)
        assert view["customer"] == {"name": "张三", "phone": "13812345678", "address": form.address, "masked": False}
        clock.advance(minutes=5)
        r.advance(tech, rid, VisitStatus.CONTACTED)
        clock.advance(minutes=30)
        r.advance(tech, rid, VisitStatus.EN_ROUTE)
        clock.advance(minutes=25)
        r.advance(tech, rid, VisitStatus.ON_SITE)
        before = r.add_media(tech, rid, "before", Upload("before.jpg", jpeg(1)))
        assert before.kind == "photo" and before.report is not None and before.report["schema"] == "proofdesk.report/1"
        assert before.verdict != "likely_forged"
        with pytest.raises(InvalidTransition):
            r.mark_repaired(tech, rid)  # no work before the customer approves the quote
        diag = r.diagnose(
            tech,
            rid,
            report="电子锁电机损坏，需更换锁电机",
            quote=[QuoteLine("锁电机", 12000), QuoteLine("人工", 5000)],
        )
        assert diag.quote_total_fen == 17000 and not diag.covered_by_warranty

    with services.session() as s:
        r = svc(s)
        with pytest.raises(PermissionDenied):
            r.decide_quote(tech, rid, approve=True)  # only the customer (or an agent on their behalf)
        r.decide_quote(CUSTOMER, rid, approve=True)

    with services.session() as s:
        r = svc(s)
        # An "after" photo that is an AI-generated image is caught by the same checks as claim photos ...
        fake = r.add_media(
            tech, rid, "after", Upload("after.png", (PROVENANCE / "aigc" / "firefly-1.png").read_bytes())
        )
        assert fake.verdict == "likely_forged" and fake.report is not None
        assert fake.report["decided_by"] == "provenance:ai_generated"  # the deciding finding, explained
        r.mark_repaired(tech, rid)
        # ... and does not count towards the record.
        with pytest.raises(PhotoRejected, match=r"after\.png judged likely forged"):
            r.complete(
                tech,
                rid,
                work_done="更换锁电机",
                parts=[PartUsed("锁电机", "LM-77031")],
                signature=Upload("sig.png", signature_png()),
            )

    with services.session() as s:
        r = svc(s)
        good = r.add_media(tech, rid, "after", Upload("after-2.jpg", jpeg(2)))
        assert good.verdict != "likely_forged"
        clock.advance(minutes=40)
        record = r.complete(
            tech,
            rid,
            work_done="更换锁电机，测试开关锁 20 次正常",
            parts=[PartUsed("锁电机", "LM-77031")],
            signature=Upload("sig.png", signature_png()),
            labour_fen=5000,
        )
        assert record.outcome == "repaired" and record.signature_sha256 is not None
        assert services.store.get(record.signature_sha256) == signature_png()

    # -- warranty: a new request for the same unit finds it and the quote is free -----------------------------
    with services.session() as s:
        r = svc(s)
        w = s.scalars(select(RepairWarranty)).one()
        assert w.unit_serial == "SAFE-0042" and w.parts[0]["serial"] == "LM-77031"
        assert w.labour_until == dt.date(2027, 2, 24)
        r.extend_warranty(CUSTOMER, rid, months=12, price_fen=9900)
        status = r.warranty_lookup(AGENT, "SAFE-0042")
        assert status[0]["covered"] and status[0]["extended"] is True and status[0]["expires"] == "2028-11-24"

    # -- follow-up: call-back scheduled, survey rates the technician ------------------------------------------
    with services.session() as s:
        r = svc(s)
        assert r.callbacks_due(AGENT) == []  # due in three days
    clock.advance(days=3)
    with services.session() as s:
        r = svc(s)
        due = r.callbacks_due(AGENT)
        assert [f.request_id for f in due] == [rid]
        r.follow_up(AGENT, rid, stars=5, comment="师傅很专业", resolved=True)
        view = r.view(CUSTOMER, rid)
        assert view["status"] == "followed_up" and view["technician"]["rating"] == 5.0  # type: ignore[index]
        staff_view = r.view(DISPATCHER, rid)
        assert staff_view["customer"] == {
            "name": "张*",
            "phone": "138****5678",
            "address": "湖北省黄石市黄石港区****",
            "masked": True,
        }
        assert r.view(DISPATCHER, rid, reveal=True)["customer"]["phone"] == "13812345678"  # type: ignore[index]
        with pytest.raises(NotFound):
            r.view(Principal(Role.BUYER, "someone-else"), rid)

    # -- the same unit again: warranty found at intake, quote covered ---------------------------------------
    clock.advance(days=30)
    with services.session() as s:
        r = svc(s)
        again = r.intake(CUSTOMER, IntakeForm(**{**form.__dict__, "channel": "web", "fault": "锁又打不开了"}))
        assert again.warranty and again.warranty[0]["covered"] and again.customer_id == "buyer-1"
        assert again.status == "assigned"
        rid2, tech2 = again.id, Principal(Role.TECHNICIAN, again.technician_id)
    with services.session() as s:
        r = svc(s)
        for step in (VisitStatus.CONTACTED, VisitStatus.EN_ROUTE, VisitStatus.ON_SITE):
            r.advance(tech2, rid2, step)
        d2 = r.diagnose(tech2, rid2, report="锁电机接线松动", quote=[QuoteLine("人工", 5000)])
        assert d2.covered_by_warranty and d2.quote_total_fen == 0
        r.decide_quote(CUSTOMER, rid2, approve=True)
        r.order_parts(tech2, rid2, parts=["锁电机接线端子"])  # a second visit once the part arrives
        r.add_media(tech2, rid2, "before", Upload("b2.jpg", jpeg(21)))
        for step in (VisitStatus.EN_ROUTE, VisitStatus.ON_SITE):
            r.advance(tech2, rid2, step)
        r.add_media(tech2, rid2, "after", Upload("a2.jpg", jpeg(22)))
        r.mark_repaired(tech2, rid2)
        r.complete(
            tech2,
            rid2,
            work_done="更换接线端子",
            parts=[PartUsed("接线端子", "TB-3")],
            signature=Upload("s2.png", signature_png()),
        )
        # the unit now carries two warranties; the newest (current) one is listed first
        assert [w["repair_id"] for w in r.warranty_lookup(AGENT, "SAFE-0042")] == [rid2, rid]

    # -- every step left an audit event, and the chain verifies ---------------------------------------------
    with services.session() as s:
        actions = [e.action for e in audit.events_for(s, "repair_request", rid)]
        for expected in (
            "repair.requested",
            "repair.assigned",
            "repair.unassigned",
            "repair.contacted",
            "repair.on_site",
            "repair.media_added",
            "repair.diagnosed",
            "repair.quote_approved",
            "repair.completed",
            "repair.warranty_extended",
            "repair.followed_up",
            "repair.personal_data_read",
        ):
            assert expected in actions, expected
        assert audit.verify_chain(s).ok


def test_timers_escalate_and_reassign_late_visits(services: Services) -> None:
    clock = Clock(dt.datetime(2026, 11, 24, 9, 0, tzinfo=CHINA_TZ))

    def svc(session: object) -> RepairService:
        return RepairService(session, services.cipher, services.store, services.settings, clock=clock)  # type: ignore[arg-type]

    with services.session() as s:
        r = svc(s)
        team = r.create_team(DISPATCHER, name="黄石网点", coverage=["420202", "420203"])
        a = r.add_technician(DISPATCHER, team_id=team.id, name="甲", phone=None, home_code="420202", skills={"safe": 3})
        b = r.add_technician(DISPATCHER, team_id=team.id, name="乙", phone=None, home_code="420203", skills={"safe": 3})
        req = r.intake(
            AGENT,
            IntakeForm(
                channel="chat",
                customer_name="李四",
                customer_phone="13700001111",
                address="湖北省黄石市西塞山区临江大道1号",
                category="safe",
                product="保险柜",
                fault="打不开",
                priority=Priority.URGENT,
            ),
        )
        rid, first = req.id, req.technician_id
        assert first == b.id  # home county
        # a dispatcher may override to another covering technician, with a reason
        req = r.override(DISPATCHER, rid, a.id, reason="客户指定")
        assert req.technician_id == a.id and r.assignments(rid)[-1].manual
    clock.advance(minutes=11)  # urgent: contact within 15 min, reminder at 10
    with services.session() as s:
        fired = svc(s).sweep(DISPATCHER)
        assert [(i, al.kind.value) for i, al in fired] == [(rid, "remind_contact")]
    clock.advance(minutes=5)
    with services.session() as s:
        fired = svc(s).sweep(DISPATCHER)
        assert [al.kind.value for _, al in fired] == ["escalate_contact"]
        assert svc(s).get(rid).escalated
    clock.advance(hours=5)  # urgent on-site promise (4 field hours) missed and nobody set off: reassign
    with services.session() as s:
        r = svc(s)
        fired = r.sweep(DISPATCHER)
        assert "escalate_on_site" in [al.kind.value for _, al in fired]
        req = r.get(rid)
        assert req.technician_id == b.id and a.id in req.excluded
        assert svc(s).sweep(DISPATCHER) == []  # each alert fires once


def mp4() -> bytes:
    import io

    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 20, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def test_video_quote_declined_and_maintenance_plan(services: Services) -> None:
    clock = Clock(dt.datetime(2026, 11, 24, 9, 0, tzinfo=CHINA_TZ))

    def svc(session: object) -> RepairService:
        return RepairService(session, services.cipher, services.store, services.settings, clock=clock)  # type: ignore[arg-type]

    with services.session() as s:
        r = svc(s)
        team = r.create_team(DISPATCHER, name="东莞", coverage=["441900"])  # a city without counties
        t = r.add_technician(
            DISPATCHER, team_id=team.id, name="陈", phone=None, home_code="441900", skills={"water_heater": 2}
        )
        req = r.intake(
            CUSTOMER,
            IntakeForm(
                channel="web",
                customer_name="周",
                customer_phone="13500000000",
                address="广东省东莞市南城街道宏图路1号",
                category="water_heater",
                product="燃气热水器",
                fault="点不着火",
                unit_serial="WH-9",
            ),
        )
        assert req.region_path == "广东省/东莞市" and req.technician_id == t.id
        rid, tech = req.id, Principal(Role.TECHNICIAN, t.id)
        for step in (VisitStatus.CONTACTED, VisitStatus.EN_ROUTE, VisitStatus.ON_SITE):
            r.advance(tech, rid, step)
        video = r.add_media(tech, rid, "before", Upload("walkthrough.mp4", mp4()))
        assert video.kind == "video" and video.content_type == "video/mp4" and video.verdict is None
        with pytest.raises(CorruptEvidence):
            r.add_media(tech, rid, "before", Upload("broken.mp4", mp4()[:200]))
        r.add_media(tech, rid, "before", Upload("before.jpg", jpeg(11)))
        r.diagnose(tech, rid, report="点火器老化", quote=[QuoteLine("点火器", 9000)])
    with services.session() as s:
        r = svc(s)
        r.decide_quote(CUSTOMER, rid, approve=False)
        record = r.complete(tech, rid, work_done="检测后客户不修", parts=[], signature=Upload("s.png", signature_png()))
        assert record.outcome == "not_repaired"
        assert s.scalars(select(RepairWarranty)).first() is None  # nothing repaired, no warranty
        plan = r.create_plan(CUSTOMER, rid, interval_months=6, visits=2)
        assert plan.start == dt.date(2027, 5, 24)
        assert r.schedule_maintenance(DISPATCHER) == []  # not due yet
    clock.now = dt.datetime(2027, 5, 20, 9, 0, tzinfo=CHINA_TZ)
    with services.session() as s:
        r = svc(s)
        created = r.schedule_maintenance(DISPATCHER)
        assert len(created) == 1 and created[0].channel == "plan" and created[0].technician_id == t.id
        assert created[0].unit_serial == "WH-9" and "preventive maintenance" in created[0].fault
        assert r.view(CUSTOMER, created[0].id)["customer"]["address"] == "广东省东莞市南城街道宏图路1号"  # type: ignore[index]
        assert r.schedule_maintenance(DISPATCHER) == []  # the visit is scheduled once
