"""The technician's phone page in a real browser (Debian Chromium via Playwright) at a phone width, against a real
uvicorn server: open the job, tap through the milestones, photograph the unit (file input), send the diagnosis;
the page must fit a 390 px screen without sideways scrolling. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proofdesk.api import create_app
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.security import Role, issue_token
from proofdesk.services import Services, build_services
from tests.conftest import encode, photo_like

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("proofdesk.console.app", reason="the console (base layout) is not installed")
    from proofdesk.console import repair_routes

    settings = Settings(data_dir=tmp_path, environment="test")
    migrate(settings)
    services = build_services(settings)
    app = create_app(settings, services=services)
    if not any(getattr(r, "path", "").startswith("/console/repair") for r in app.routes):
        app.include_router(repair_routes.build_router(services))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("server did not start")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", services
    finally:
        srv.should_exit = True
        thread.join(timeout=15)
        services.close()


def test_technician_phone_page(server: tuple[str, Services], tmp_path: Path, browser: Any) -> None:
    from proofdesk.console.repair_routes import COOKIE
    from proofdesk.repair.service import IntakeForm, RepairService
    from proofdesk.security import Principal

    base, services = server
    with services.session() as s:
        svc = RepairService(s, services.cipher, services.store, services.settings)
        dispatcher = Principal(Role.DISPATCHER, None)
        team = svc.create_team(dispatcher, name="黄石", coverage=["420200"])
        tech = svc.add_technician(
            dispatcher,
            team_id=team.id,
            name="王建国",
            phone=None,
            home_code="420202",
            skills={"safe": 3},
            weekends=True,
            shift=("00:00", "23:59"),
        )
        req = svc.intake(
            Principal(Role.AGENT, None),
            IntakeForm(
                channel="phone",
                customer_name="张三",
                customer_phone="13812345678",
                address="湖北省黄石市黄石港区湖滨大道8号",
                category="safe",
                product="保险柜",
                fault="电子锁打不开",
            ),
        )
        rid = req.id
        token = issue_token(s, Role.TECHNICIAN, tech.id).token
    photo = tmp_path / "before.jpg"
    photo.write_bytes(encode(photo_like(480, 640, 8), "JPEG", quality=90))
    SHOTS.mkdir(parents=True, exist_ok=True)

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    ctx.add_cookies([{"name": COOKIE, "value": token, "url": base}])
    page: Any = ctx.new_page()
    page.goto(base + "/console/repair/jobs")
    page.get_by_test_id("job").first.click()
    page.wait_for_url(f"**/console/repair/requests/{rid}")
    assert "13812345678" in page.content()  # the assigned technician sees the number to call
    for step in ("contacted", "en_route", "on_site"):
        page.get_by_test_id(f"step-{step}").click()
        page.wait_for_load_state("networkidle")
        assert page.get_by_test_id("repair-status").get_attribute("data-status") == step
    page.get_by_test_id("media-file").set_input_files(str(photo))
    page.get_by_test_id("media-upload").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("media").count() == 1
    page.fill("textarea[name=report]", "电子锁电机损坏")
    page.fill("textarea[name=quote_lines]", "锁电机 = 120")
    page.get_by_test_id("diagnose").click()
    page.wait_for_load_state("networkidle")
    assert "¥120.00" in page.get_by_test_id("diagnosis").inner_text()
    # phone-sized: nothing wider than the screen, buttons full width
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"page is {width}px wide on a {PHONE['width']}px phone"
    page.screenshot(path=str(SHOTS / "repair-technician-phone.png"), full_page=True)
    ctx.close()
