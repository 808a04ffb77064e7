"""Repair console pages over HTTP with real sign-in cookies: agent intake form → dispatcher board → technician's
phone page with photo upload, diagnosis and completion → customer approval and survey."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from proofdesk.api import create_app
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.security import Role, issue_token
from proofdesk.services import build_services
from tests.conftest import encode, photo_like

pytest.importorskip("proofdesk.console.app", reason="the console (base layout) is not installed")


def test_console_repair_pages(tmp_path: Path) -> None:
    from proofdesk.console import repair_routes

    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    services = build_services(settings)
    with services.session() as s:
        tokens = {
            r: issue_token(s, role, sub).token
            for r, role, sub in (
                ("dispatcher", Role.DISPATCHER, None),
                ("agent", Role.AGENT, None),
                ("buyer", Role.BUYER, "buyer-3"),
            )
        }
    app = create_app(settings, services=services)
    if not any(getattr(r, "path", "").startswith("/console/repair") for r in app.routes):
        app.include_router(repair_routes.build_router(services))  # until the console registers it itself

    with TestClient(app) as client:

        def as_(who: str) -> TestClient:
            client.cookies.set(repair_routes.COOKIE, tokens[who])
            return client

        c = as_("dispatcher")
        team = c.post(
            "/repair/teams",
            json={"name": "黄石", "coverage": ["420200"]},
            headers={"Authorization": f"Bearer {tokens['dispatcher']}"},
        ).json()
        tech = c.post(
            "/repair/technicians",
            json={
                "team_id": team["id"],
                "name": "王建国",
                "home_code": "420202",
                "skills": {"safe": 3},
                "weekends": True,
                "shift_start": "00:00",
                "shift_end": "23:59",
            },
            headers={"Authorization": f"Bearer {tokens['dispatcher']}"},
        ).json()
        with services.session() as s:
            tokens["tech"] = issue_token(s, Role.TECHNICIAN, tech["id"]).token

        # agent intake form (phone channel)
        c = as_("agent")
        form = c.get("/console/repair/new")
        assert form.status_code == 200 and 'data-testid="repair-intake"' in form.text
        created = c.post(
            "/console/repair/new",
            data={
                "channel": "phone",
                "customer_id": "buyer-3",
                "customer_name": "张三",
                "customer_phone": "13812345678",
                "address": "湖北省黄石市黄石港区湖滨大道8号",
                "category": "safe",
                "product": "保险柜",
                "fault": "打不开",
                "priority": "high",
            },
            follow_redirects=False,
        )
        assert created.status_code == 303
        url = created.headers["location"].split("?")[0]
        page = c.get(url)
        assert "湖北省/黄石市/黄石港区" in page.text and "138****5678" in page.text and "王**" in page.text
        bad = c.post(
            "/console/repair/new",
            data={"customer_name": "x", "customer_phone": "1", "address": "火星", "category": "safe", "fault": "x"},
        )
        assert bad.status_code == 400 and "no province, city or county" in bad.text

        # dispatcher board lists it
        board = as_("dispatcher").get("/console/repair/board")
        assert board.text.count('data-testid="repair-row"') == 1 and "黄石港区" in board.text

        # technician's phone page: clear contact data, milestones, photos, diagnosis
        c = as_("tech")
        assert 'data-testid="job"' in c.get("/console/repair/jobs").text
        page = c.get(url)
        assert "13812345678" in page.text and "repair-phone" in page.text
        for step in ("contacted", "en_route", "on_site"):
            assert c.post(url + "/step", data={"to": step}).status_code == 200
        photo = encode(photo_like(300, 400, 3), "JPEG", quality=90)
        c.post(url + "/media", data={"stage": "before"}, files={"file": ("b.jpg", photo, "image/jpeg")})
        c.post(url + "/diagnosis", data={"report": "锁电机坏", "quote_lines": "锁电机 = 120\n人工 = 50"})
        page = c.get(url)
        assert "¥170.00" in page.text and 'data-testid="media"' in page.text

        # customer approves on their page
        c = as_("buyer")
        assert 'data-testid="approve"' in c.get(url).text
        c.post(url + "/quote", data={"approve": "yes"})

        c = as_("tech")
        after = encode(photo_like(300, 400, 4), "JPEG", quality=90)
        c.post(url + "/media", data={"stage": "after"}, files={"file": ("a.jpg", after, "image/jpeg")})
        c.post(url + "/step", data={"to": "repaired"})
        done = c.post(
            url + "/complete",
            data={"work_done": "换锁电机", "parts": "锁电机 = LM-1"},
            files={"signature": ("sig.png", encode(photo_like(80, 200, 5), "PNG"), "image/png")},
        )
        assert done.status_code == 200 and 'data-testid="record"' in done.text and "LM-1" in done.text

        c = as_("buyer")
        assert c.post(url + "/survey", data={"stars": "5"}).status_code == 200
        assert "followed_up" in c.get(url).text
        img = c.get(url + "/media/" + page.text.split("/media/")[1].split('"')[0])
        assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"
    services.close()
