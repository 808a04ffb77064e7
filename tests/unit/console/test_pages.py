"""Console pages, evidence reports and ``proofdesk report`` over the real service stack (SQLite + blob store)."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from proofdesk.api import create_app
from proofdesk.cli.main import inner_main
from proofdesk.config import Settings
from proofdesk.console import COOKIE
from proofdesk.demo import seed
from proofdesk.dossier import read_manifest, verify_manifest
from proofdesk.dossier.i18n import catalogue
from proofdesk.services import build_services

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("console")
    settings = Settings(data_dir=data_dir, environment="test")
    services = build_services(settings)
    result = seed(settings, services)
    app = create_app(settings, services=services)
    try:
        yield {"settings": settings, "services": services, "app": app, "cases": result.cases, "users": result.users}
    finally:
        services.close()


def client(demo: dict[str, Any], user: str | None, lang: str = "en") -> TestClient:
    c = TestClient(demo["app"], follow_redirects=False)
    if user:
        c.cookies.set(COOKIE, demo["users"][user]["token"])
    c.cookies.set("pd_lang", lang)
    return c


def test_catalogues_have_the_same_keys() -> None:
    assert set(catalogue("en")) == set(catalogue("zh"))


def test_sign_in_with_a_token_sets_an_http_only_strict_cookie(demo: dict[str, Any]) -> None:
    c = client(demo, None)
    assert c.get("/console/queue").headers["location"].startswith("/console/signin")
    bad = c.post("/console/signin", data={"token": "pd_nope"})
    assert bad.status_code == 401 and "not valid" in bad.text
    ok = c.post("/console/signin", data={"token": demo["users"]["reviewer"]["token"]})
    assert ok.status_code == 303 and ok.headers["location"] == "/console/queue"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_roles_see_only_their_pages_and_cases(demo: dict[str, Any]) -> None:
    cases = demo["cases"]
    assert client(demo, "buyer").get("/console/queue").status_code == 403
    assert client(demo, "merchant").get("/console/buyer").status_code == 403
    # Wang (buyer2) filed the forged claim; Li (buyer) may not learn that it exists
    assert client(demo, "buyer").get(f"/console/cases/{cases['forged']}").status_code == 404
    assert client(demo, "buyer2").get(f"/console/cases/{cases['forged']}").status_code == 200
    sha = _first_photo(demo, cases["forged"])
    assert client(demo, "buyer").get(f"/console/cases/{cases['forged']}/photos/{sha}/claim.jpg").status_code == 404
    assert client(demo, "buyer2").get(f"/console/cases/{cases['forged']}/report.pdf").status_code == 403
    # the buyer sees their own photo and the case, but not the checks' verdict, overlays or the merchant's files
    own = client(demo, "buyer2").get(f"/console/cases/{cases['forged']}").text
    assert "likely forged" not in own and "threshold" not in own and "packing-backpack.mp4" not in own
    base = f"/console/cases/{cases['forged']}/photos/{sha}/"
    assert client(demo, "buyer2").get(base + "claim.jpg").status_code == 200
    assert client(demo, "buyer2").get(base + "outline.jpg").status_code == 404


def _first_photo(demo: dict[str, Any], case_id: str) -> str:
    from proofdesk.dossier.from_db import load_case_file
    from proofdesk.security import Principal, Role

    with demo["services"].session() as session:
        case = load_case_file(session, Principal(Role.ADMIN, None), case_id)
    return case.photos[0].photo.sha256


def test_queue_filters(demo: dict[str, Any]) -> None:
    c = client(demo, "reviewer")
    forged = demo["cases"]["forged"]
    assert forged in c.get("/console/queue").text
    assert forged in c.get("/console/queue?risk=high").text
    assert forged not in c.get("/console/queue?risk=low").text
    assert forged not in c.get("/console/queue?claim_type=exchange").text
    assert forged not in c.get("/console/queue?merchant=nobody").text


def test_forged_case_page_explains_the_verdict_in_both_languages(demo: dict[str, Any]) -> None:
    forged = demo["cases"]["forged"]
    en = client(demo, "reviewer").get(f"/console/cases/{forged}").text
    assert "likely forged" in en and "threshold" in en and "edited_fraction" in en
    assert 'data-testid="reference-image"' in en and "aligned with the transform" in en
    assert "decide-deny-evidence_altered" in en
    zh = client(demo, "reviewer", "zh").get(f"/console/cases/{forged}").text
    assert "很可能伪造" in zh and "阈值" in zh and 'lang="zh-CN"' in zh


def test_images_are_sized_derivatives(demo: dict[str, Any]) -> None:
    forged = demo["cases"]["forged"]
    sha = _first_photo(demo, forged)
    c = client(demo, "reviewer")
    original = c.get(f"/console/cases/{forged}/files/{sha}")
    assert original.status_code == 200 and "attachment" in original.headers["content-disposition"]
    for view in ("claim", "outline", "reference", "mask", "heat"):
        response = c.get(f"/console/cases/{forged}/photos/{sha}/{view}.jpg?side=640")
        assert response.status_code == 200, view
        image = Image.open(io.BytesIO(response.content))
        assert max(image.size) == 640, view
        assert len(response.content) < len(original.content), view
    assert c.get(f"/console/cases/{forged}/photos/{sha}/original.jpg").status_code == 404


def test_evidence_report_verifies_and_cli_detects_tampering(demo: dict[str, Any], tmp_path: Path) -> None:
    forged = demo["cases"]["forged"]
    c = client(demo, "merchant")
    html = c.get(f"/console/cases/{forged}/report.html")
    pdf = c.get(f"/console/cases/{forged}/report.pdf")
    assert html.status_code == pdf.status_code == 200
    manifest = read_manifest(pdf.content)
    from_html = read_manifest(html.content)
    assert {**manifest, "generated_at": ""} == {**from_html, "generated_at": ""}
    assert {f["role"] for f in manifest["files"]} >= {"claim_photo", "reference", "merchant_video"}
    assert verify_manifest(manifest, demo["services"].store).ok
    # the CLI on a copy of the data dir: ok, then one stored photo altered -> exit 1
    copy = tmp_path / "data"
    shutil.copytree(demo["settings"].data_dir, copy)
    out = tmp_path / "out"
    assert inner_main(["report", "build", forged, "--out", str(out), "--data-dir", str(copy)]) == 0
    report = out / f"case-{forged}.pdf"
    assert inner_main(["report", "verify", str(report), "--data-dir", str(copy)]) == 0
    assert inner_main(["report", "verify", str(out / f"case-{forged}.html"), "--data-dir", str(copy)]) == 0
    sha = _first_photo(demo, forged)
    stored = copy / "evidence" / sha[:2] / sha[2:4] / sha
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:-1] + b"\x00")
    assert inner_main(["report", "verify", str(report), "--data-dir", str(copy)]) == 1
    (tmp_path / "not-a-report.html").write_text("<html></html>")
    assert inner_main(["report", "verify", str(tmp_path / "not-a-report.html"), "--data-dir", str(copy)]) == 2


def test_demo_is_idempotent(demo: dict[str, Any]) -> None:
    again = seed(demo["settings"], demo["services"])
    assert not again.created and again.cases == demo["cases"]
    users = json.loads((demo["settings"].data_dir / "demo-users.json").read_text())
    assert (demo["settings"].data_dir / "demo-users.json").stat().st_mode & 0o077 == 0
    assert set(users) >= {"reviewer", "merchant", "buyer"}


def test_merchant_sees_own_listing_thumbnails(demo: dict[str, Any]) -> None:
    import re

    page = client(demo, "merchant").get("/console/merchant").text
    urls = re.findall(r'src="(/console/listings/[^"]+\.jpg)"', page)
    assert len(urls) == 5  # 2 + 2 + 1 listing photos of the demo merchant
    image = client(demo, "merchant").get(urls[0])
    assert image.status_code == 200 and max(Image.open(io.BytesIO(image.content)).size) == 320
    assert client(demo, "buyer").get(urls[0]).status_code == 403


def test_buyer_sees_status_and_reason_of_the_decision_in_their_language(demo: dict[str, Any]) -> None:
    zh = client(demo, "buyer", "zh").get("/console/buyer").text
    assert "已拒绝" in zh and "照片中不是本订单的商品" in zh
    page = client(demo, "buyer").get(f"/console/cases/{demo['cases']['appeal']}").text
    assert "The photos do not show the item from this order." in page and 'action="/console/cases/' in page
    assert "The photo is the shop's listing image." not in page  # the reviewer's internal note stays internal


def test_reviewer_asks_for_more_evidence_and_the_buyer_sends_it(demo: dict[str, Any], listings_dir: Path) -> None:
    genuine = demo["cases"]["genuine"]
    asked = client(demo, "reviewer").post(f"/console/cases/{genuine}/request-evidence",
                                          data={"items": ["another_angle", "label_in_frame"], "text": "Daylight."})
    assert asked.status_code == 303
    page = client(demo, "buyer", "zh").get(f"/console/cases/{genuine}").text
    assert "需要补充证据" in page and "快递面单或订单号" in page and "/evidence" in page
    photo = (listings_dir / "mh02-black_alt1.jpg").read_bytes()
    sent = client(demo, "buyer").post(f"/console/cases/{genuine}/evidence", data={"note": "two more"},
                                      files=[("files", ("IMG_9.jpg", photo, "image/jpeg"))])
    assert sent.status_code == 303 and "evidence.received" in sent.headers["location"]
    after = client(demo, "buyer").get(f"/console/cases/{genuine}").text
    assert "IMG_9.jpg" in after and "We need more evidence" not in after
