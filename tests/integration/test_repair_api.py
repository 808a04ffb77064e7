"""The repair API end to end over HTTP with real tokens on SQLite: agent intake, technician's phone flow with
multipart photo uploads, customer approval, completion record, warranty lookup; errors as typed JSON bodies.

(The service-level flow runs on SQLite and PostgreSQL in ``test_repair_flow.py``; the HTTP layer is the same
on both, so it is exercised once here.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fastapi.testclient import TestClient

from proofdesk.api import create_app
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.repair.calendar import CHINA_TZ
from proofdesk.security import Role, issue_token
from proofdesk.services import build_services
from tests.conftest import encode, photo_like


def test_repair_over_http(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    services = build_services(settings)
    with services.session() as s:
        tokens = {
            "dispatcher": issue_token(s, Role.DISPATCHER, None).token,
            "agent": issue_token(s, Role.AGENT, None).token,
            "buyer": issue_token(s, Role.BUYER, "buyer-9").token,
            "merchant": issue_token(s, Role.MERCHANT, "m-1").token,
        }

    def h(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"}

    with TestClient(create_app(settings, services=services)) as client:
        team = client.post("/repair/teams", json={"name": "黄石网点", "coverage": ["420200"]}, headers=h("dispatcher"))
        assert team.status_code == 201, team.text
        tech = client.post(
            "/repair/technicians",
            json={
                "team_id": team.json()["id"],
                "name": "王建国",
                "phone": "13900001111",
                "home_code": "420202",
                "skills": {"disinfection_cabinet": 3},
                "weekends": True,
                "shift_start": "00:00",
                "shift_end": "23:59",
            },
            headers=h("dispatcher"),
        )
        assert tech.status_code == 201 and tech.json()["display_name"] == "王**"
        with services.session() as s:
            tokens["tech"] = issue_token(s, Role.TECHNICIAN, tech.json()["id"]).token

        # the agent screen previews the region, then files the phone request
        preview = client.post("/repair/resolve", json={"address": "湖北黄石黄石港区湖滨大道8号"}, headers=h("agent"))
        assert preview.json()["path"] == "湖北省/黄石市/黄石港区" and preview.json()["county"]["code"] == "420202"
        body = {
            "customer_name": "张三",
            "customer_phone": "13812345678",
            "address": "黄石市黄石港区湖滨大道8号",
            "category": "disinfection_cabinet",
            "product": "康宝 消毒柜",
            "fault": "不加热",
            "unit_serial": "KB-1",
            "customer_id": "buyer-9",
        }
        created = client.post("/repair/requests", json=body, headers=h("agent"))
        assert created.status_code == 201, created.text
        req = created.json()
        assert req["channel"] == "phone" and req["status"] == "assigned"
        assert req["customer"]["phone"] == "138****5678" and req["customer"]["masked"]
        rid = req["id"]

        # a shop system files through the API; it gets only the id back
        via_api = client.post(
            "/repair/requests", json={**body, "unit_serial": None, "customer_id": "shop-c1"}, headers=h("merchant")
        )
        assert via_api.status_code == 201 and set(via_api.json()) == {"id", "status"}
        filed = client.get("/repair/requests", headers=h("merchant")).json()
        assert [f["id"] for f in filed] == [via_api.json()["id"]]
        shop_view = client.get(f"/repair/requests/{via_api.json()['id']}", headers=h("merchant")).json()
        assert shop_view["customer"]["masked"] and shop_view["dispatch_note"] is None
        assert client.get(f"/repair/requests/{rid}", headers=h("merchant")).status_code == 404

        # clear errors
        outside = client.post("/repair/requests", json={**body, "address": "北京市朝阳区建国路1号"}, headers=h("agent"))
        assert outside.status_code == 400 and outside.json()["error"]["code"] == "outside_coverage"
        vague = client.post("/repair/requests", json={**body, "address": "湖北省黄石市"}, headers=h("agent"))
        assert vague.json()["error"]["code"] == "address_too_coarse"
        assert client.post("/repair/requests", json=body).status_code == 401
        assert client.post("/repair/sweep", headers=h("agent")).status_code == 403

        # the technician's phone
        assert client.get(f"/repair/requests/{rid}", headers=h("tech")).json()["customer"]["phone"] == "13812345678"
        for step in ("contacted", "en_route", "on_site"):
            r = client.post(f"/repair/requests/{rid}/status", json={"status": step}, headers=h("tech"))
            assert r.json()["status"] == step
        skipped = client.post(f"/repair/requests/{rid}/repaired", headers=h("tech"))
        assert skipped.status_code == 409 and skipped.json()["error"]["code"] == "invalid_transition"
        photo = encode(photo_like(300, 400, 5), "JPEG", quality=90)
        up = client.post(
            f"/repair/requests/{rid}/media",
            data={"stage": "before"},
            files={"file": ("before.jpg", photo, "image/jpeg")},
            headers=h("tech"),
        )
        assert up.status_code == 201 and up.json()["report"]["schema"] == "proofdesk.report/1"
        bad = client.post(
            f"/repair/requests/{rid}/media",
            data={"stage": "before"},
            files={"file": ("x.jpg", b"not an image at all", "image/jpeg")},
            headers=h("tech"),
        )
        assert bad.status_code == 415 and bad.json()["error"]["code"] == "unsupported_format"
        d = client.post(
            f"/repair/requests/{rid}/diagnosis",
            json={"report": "加热管断路", "quote": [{"item": "加热管", "amount_fen": 8000}]},
            headers=h("tech"),
        )
        assert d.json()["total_fen"] == 8000
        assert (
            client.post(f"/repair/requests/{rid}/quote", json={"approve": True}, headers=h("buyer")).json()["status"]
            == "approved"
        )
        client.post(
            f"/repair/requests/{rid}/media",
            data={"stage": "after"},
            files={"file": ("after.jpg", encode(photo_like(300, 400, 6), "JPEG", quality=90), "image/jpeg")},
            headers=h("tech"),
        )
        assert client.post(f"/repair/requests/{rid}/repaired", headers=h("tech")).json()["status"] == "repaired"
        done = client.post(
            f"/repair/requests/{rid}/complete",
            data={"work_done": "更换加热管", "parts": json.dumps([{"name": "加热管", "serial": "HT-5"}])},
            files={"signature": ("sig.png", encode(photo_like(100, 250, 7), "PNG"), "image/png")},
            headers=h("tech"),
        )
        assert done.status_code == 200, done.text
        assert done.json()["outcome"] == "repaired"

        # warranty lookup by serial; the customer sees their request; survey
        w = client.get("/repair/warranty/KB-1", headers=h("agent")).json()
        assert w[0]["covered"] and w[0]["parts_covered"] == ["HT-5"]
        mine = client.get("/repair/requests", headers=h("buyer")).json()
        assert [m["id"] for m in mine] == [rid]
        fu = client.post(f"/repair/requests/{rid}/follow-up", json={"stars": 4}, headers=h("buyer"))
        assert fu.json()["stars"] == 4
        # The load is counted on the visit's China date, which is tomorrow when the test runs late in the
        # China evening (the visit's ETA is after midnight there); ask for that day.
        eta = client.get(f"/repair/requests/{rid}", headers=h("agent")).json()["eta"]
        visit_day = dt.datetime.fromisoformat(eta).astimezone(CHINA_TZ).date()
        techs = client.get(
            "/repair/technicians", params={"day": visit_day.isoformat()}, headers=h("dispatcher")
        ).json()
        assert techs[0]["rating"] == 4.0 and techs[0]["ratings"] == 1
        assert techs[0]["booked_today"] >= 1  # today's load (the visits booked for the day, done ones included)
        off = client.put(
            f"/repair/technicians/{tech.json()['id']}/days-off", json={"days": ["2030-02-01"]}, headers=h("tech")
        )
        assert off.status_code == 200
        assert client.get("/repair/technicians", headers=h("dispatcher")).json()[0]["days_off"] == ["2030-02-01"]
        assert "/repair/requests" in client.get("/openapi.json").json()["paths"]
    services.close()
