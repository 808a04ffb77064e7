"""The maintenance thread watches repair promises without a dispatcher pressing "run timers"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from proofdesk import audit
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.repair.calendar import CHINA_TZ
from proofdesk.repair.dispatch import Priority
from proofdesk.repair.service import IntakeForm, RepairService
from proofdesk.security import Principal, Role
from proofdesk.services import Services, build_services
from proofdesk.workers import LocalJobBackend, Maintenance

DISPATCHER = Principal(Role.DISPATCHER, None, "tok-d")
AGENT = Principal(Role.AGENT, None, "tok-a")
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=CHINA_TZ)  # a Tuesday, inside working hours


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    bundle = build_services(settings)
    yield bundle
    bundle.close()


def test_maintenance_round_escalates_an_unanswered_urgent_request(services: Services) -> None:
    with services.session() as s:
        r = RepairService(s, services.cipher, services.store, services.settings, clock=lambda: START)
        team = r.create_team(DISPATCHER, name="黄石网点", coverage=["420202", "420203"])
        r.add_technician(DISPATCHER, team_id=team.id, name="甲", phone=None, home_code="420202", skills={"safe": 3})
        rid = r.intake(
            AGENT,
            IntakeForm(channel="phone", customer_name="李四", customer_phone="13700001111",
                       address="湖北省黄石市西塞山区临江大道1号", category="safe", product="保险柜", fault="打不开",
                       priority=Priority.URGENT),
        ).id
    now = START
    maintenance = Maintenance(services, LocalJobBackend(services.settings), repair_clock=lambda: now)
    assert maintenance.run_repair_round() == (0, 0)  # nothing due yet
    now = START + dt.timedelta(minutes=16)  # urgent: contact within 15 minutes, nobody called
    fired, created = maintenance.run_repair_round()
    assert fired >= 1 and created == 0
    with services.session() as s:
        assert RepairService(s, services.cipher, services.store, services.settings).get(rid).escalated
        assert audit.verify_chain(s).ok
    assert maintenance.run_repair_round() == (0, 0)  # each alert fires once
