"""The case API over HTTP (TestClient, jobs inline): access control across tenants and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proofdesk.api import create_app
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.jobs import InlineDispatcher
from proofdesk.security import Role, issue_token
from proofdesk.services import build_services
from tests.conftest import encode, photo_like


def _jpeg(seed: int) -> bytes:
    return encode(photo_like(120, 160, seed=seed), "JPEG", quality=90)


class World:
    """Two merchants, two buyers, a reviewer pair, and an order of buyer A at merchant A."""

    def __init__(self, client: TestClient, token: Any) -> None:
        self.client = client
        self.admin = token(Role.ADMIN, None)
        self.h = lambda t: {"Authorization": f"Bearer {t}"}
        ids: dict[str, str] = {}
        for key in ("a", "b"):
            ids[f"m{key}"] = self.post("/merchants", self.admin, json={"name": f"M{key}"}).json()["id"]
            ids[f"b{key}"] = self.post("/buyers", self.admin, json={"contact": {"phone": "13812345678"}}).json()["id"]
        self.merchant_a = token(Role.MERCHANT, ids["ma"])
        self.merchant_b = token(Role.MERCHANT, ids["mb"])
        self.buyer_a = token(Role.BUYER, ids["ba"])
        self.buyer_b = token(Role.BUYER, ids["bb"])
        self.reviewer = token(Role.REVIEWER, "r1")
        self.technician = token(Role.TECHNICIAN, "t1")
        self.ids = ids
        shop = self.post("/shops", self.merchant_a, json={"name": "A shop"}).json()
        listing = self.post(
            "/listings",
            self.merchant_a,
            data={"shop_id": shop["id"], "title": "Mug", "category": "kitchen", "price_cents": "50000"},
            files=[("images", ("l.jpg", _jpeg(1), "image/jpeg"))],
        )
        assert listing.status_code == 201, listing.text
        self.listing = listing.json()
        self.shop = shop
        order = self.post(
            "/orders",
            self.merchant_a,
            json={
                "shop_id": shop["id"],
                "listing_id": self.listing["id"],
                "buyer_id": ids["ba"],
                "amount_cents": 50000,
            },
        )
        assert order.status_code == 201, order.text
        self.order = order.json()

    def post(self, url: str, token: str | None, **kw: Any) -> Any:
        return self.client.post(url, headers=self.h(token) if token else {}, **kw)

    def get(self, url: str, token: str | None) -> Any:
        return self.client.get(url, headers=self.h(token) if token else {})

    def claim(self, token: str, key: str | None = None, files: Any = None, **form: str) -> Any:
        data = {"order_id": self.order["id"], "claim_type": "refund_only", "reason": "damaged", **form}
        headers = self.h(token) | ({"Idempotency-Key": key} if key else {})
        return self.client.post(
            "/claims", headers=headers, data=data, files=files or [("files", ("c.jpg", _jpeg(5), "image/jpeg"))]
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path, environment="test", checks={"provenance": {"ocr": "never"}})
    migrate(settings)
    services = build_services(settings)
    services.use_dispatcher(InlineDispatcher(services.run_job))

    def token(role: Role, subject: str | None) -> str:
        with services.session() as session:
            return issue_token(session, role, subject).token

    with TestClient(create_app(settings, services=services, console=False)) as client:
        yield World(client, token)
    services.close()


def _error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


def test_every_cross_tenant_access_is_refused(world: World) -> None:
    w = world
    created = w.claim(w.buyer_a)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    assert created.json()["status"] == "checking"  # the response comes before the checks run
    assert w.get(f"/cases/{case_id}", w.buyer_a).json()["status"] == "needs_evidence"  # damage, no video
    # reading: the other buyer, the other merchant, a technician: 404 (existence not revealed)
    for outsider in (w.buyer_b, w.merchant_b):
        _error(w.get(f"/cases/{case_id}", outsider), 404, "not_found")
        assert w.get("/cases", outsider).json() == []
        _error(w.get(f"/orders/{w.order['id']}", outsider), 404)
        sha = created.json()["evidence"][0]["sha256"]
        _error(w.get(f"/cases/{case_id}/files/{sha}", outsider), 404)
    _error(w.get(f"/cases/{case_id}", w.technician), 404)
    # the owners can
    assert w.get(f"/cases/{case_id}", w.buyer_a).status_code == 200
    assert w.get(f"/cases/{case_id}", w.merchant_a).json()["reports"], "merchant sees the check reports"
    assert w.get(f"/cases/{case_id}", w.buyer_a).json()["reports"] == [], "buyer does not"
    # acting on someone else's things
    _error(w.claim(w.buyer_b), 404)  # not their order
    _error(w.post(f"/cases/{case_id}/evidence", w.buyer_b, files=[("files", ("x.jpg", _jpeg(6), "image/jpeg"))]), 404)
    _error(w.post(f"/cases/{case_id}/response", w.merchant_b, data={"text": "no"}), 404)
    _error(
        w.post(f"/orders/{w.order['id']}/shipment", w.merchant_b, files=[("files", ("p.jpg", _jpeg(7), "image/jpeg"))]),
        404,
    )
    _error(
        w.post(
            "/listings",
            w.merchant_b,
            data={"shop_id": w.shop["id"], "title": "x", "category": "c", "price_cents": "1"},
            files=[("images", ("l.jpg", _jpeg(8), "image/jpeg"))],
        ),
        404,
    )
    _error(
        w.post(
            "/orders",
            w.merchant_b,
            json={"shop_id": w.shop["id"], "listing_id": w.listing["id"], "buyer_id": w.ids["bb"], "amount_cents": 1},
        ),
        404,
    )
    # roles that may never do it: 403
    decision = {"outcome": "approve", "reason_code": "goodwill"}
    for role_token in (w.buyer_a, w.merchant_a, w.technician):
        _error(w.post(f"/cases/{case_id}/decision", role_token, json=decision), 403, "permission_denied")
        _error(w.get("/review/queue", role_token), 403)
        _error(w.post("/merchants", role_token, json={"name": "x"}), 403)
        _error(w.post("/tokens", role_token, json={"role": "admin"}), 403)
    _error(w.claim(w.merchant_a), 403)
    _error(w.get(f"/buyers/{w.ids['ba']}", w.buyer_b), 404)
    assert w.get(f"/buyers/{w.ids['ba']}", w.buyer_a).json()["contact"] == {"phone": "138****5678"}
    # no token, bad token
    _error(w.get(f"/cases/{case_id}", None), 401, "not_authenticated")
    _error(w.get(f"/cases/{case_id}", "pd_" + "0" * 32 + "_nope"), 401)


def test_bad_input_is_a_clear_4xx_and_writes_nothing(world: World) -> None:
    w = world
    _error(w.claim(w.buyer_a, files=[("files", ("a.txt", b"just text", "text/plain"))]), 415, "unsupported_format")
    truncated = _jpeg(3)[:400]
    _error(w.claim(w.buyer_a, files=[("files", ("t.jpg", truncated, "image/jpeg"))]), 422, "corrupt_evidence")
    _error(w.claim(w.buyer_a, claim_type="refund_please"), 400, "invalid_claim_type")
    _error(w.client.post("/claims", headers=w.h(w.buyer_a), data={"order_id": w.order["id"]}), 422, "invalid_request")
    broken = w.client.post(
        "/claims",
        headers=w.h(w.buyer_a) | {"Content-Type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="order_id"\r\n\r\nabc',
    )
    assert broken.status_code in (400, 422), broken.text
    huge = w.client.post("/claims", headers=w.h(w.buyer_a) | {"Content-Length": str(10**12)}, content=b"")
    _error(huge, 413, "request_too_large")
    # a second good photo plus a bad file: the whole submission is refused, nothing is stored
    mixed = [("files", ("ok.jpg", _jpeg(4), "image/jpeg")), ("files", ("bad.bin", b"\x00" * 100, "image/jpeg"))]
    _error(w.claim(w.buyer_a, files=mixed), 415)
    assert w.get("/cases", w.buyer_a).json() == []
    # idempotency: the same submission twice is one case; the same key with another claim is a conflict
    first = w.claim(w.buyer_a, key="abc-1")
    again = w.claim(w.buyer_a, key="abc-1")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    _error(w.claim(w.buyer_a, key="abc-1", reason="wrong_item"), 409, "idempotency_conflict")
    assert len(w.get("/cases", w.buyer_a).json()) == 1
    # invalid transition: deciding a case that waits for the buyer
    case_id = first.json()["id"]
    _error(
        w.post(f"/cases/{case_id}/decision", w.reviewer, json={"outcome": "approve", "reason_code": "goodwill"}),
        409,
        "invalid_transition",
    )
    _error(
        w.post(f"/cases/{case_id}/decision", w.reviewer, json={"outcome": "deny", "reason_code": "nope"}),
        400,
        "invalid_reason_code",
    )
    _error(w.post(f"/cases/{case_id}/decision", w.reviewer, json={"outcome": "deny", "reason_code": 5}), 422)


def test_openapi_documents_every_route(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op.get("summary"), f"{method} {path} has no summary"
            codes = set(op["responses"])
            if path != "/healthz" and path != "/reason-codes" and not path.startswith("/repair"):
                assert "401" in codes, f"{method} {path} does not document 401"
    assert "/claims" in spec["paths"] and "/review/queue" in spec["paths"]
