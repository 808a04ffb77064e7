"""The demo's on-site repair case, through engineer F's repair service (``proofdesk.repair``)."""

from __future__ import annotations

from typing import Any

from proofdesk.security import Principal, Role

__all__ = ["seed_repair"]

_DISPATCH = Principal(Role.DISPATCHER, None, None, "demo dispatcher")
_AGENT = Principal(Role.AGENT, None, None, "demo agent")


def seed_repair(services: Any, notes: list[str]) -> str | None:
    """A phone request for a washing machine in 黄石港区, a team covering it and one technician; the request id."""
    from proofdesk.repair.service import IntakeForm, RepairService

    with services.session() as session:
        repair = RepairService(session, services.cipher, services.store, services.settings)
        team = repair.create_team(_DISPATCH, name="黄石维修一队 Huangshi team 1", coverage=["420202", "420203"])
        repair.add_technician(_DISPATCH, team_id=team.id, name="张师傅", phone="13700001111", home_code="420202",
                              skills={"appliance": 3}, weekends=True)
        request = repair.intake(_AGENT, IntakeForm(
            channel="phone", customer_name="李小雨", customer_phone="13812345678",
            address="湖北省黄石市黄石港区湖滨大道 88 号", category="appliance", product="滚筒洗衣机 washing machine",
            fault="不脱水，运行时有异响 / does not spin, loud noise",
        ))
        request_id = str(request.id)
    notes.append(f"repair request {request_id} entered by phone and dispatched")
    return request_id
