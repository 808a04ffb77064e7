"""The whole after-sales flow against real servers: SQLite and PostgreSQL, local workers and Dramatiq on Redis.

Merchant lists a product (real photo) and ships the order with a packing video (keyframes become
references); the buyer claims with the listing photo with a crack drawn on it; the reference check flags it;
the policy sends it to the merchant (never denies); the merchant answers; a reviewer denies with a reason
code; the buyer appeals once with new evidence; a different reviewer decides; the audit chain verifies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from proofdesk.cases.media import encode_video
from tests.conftest import encode, photo_like
from tests.integration.case_harness import (
    Stack,
    jpeg,
    listing_photo,
    packing_frames,
    postgres_database,
    with_drawn_crack,
)

pytestmark = pytest.mark.slow

PARAMS = [
    pytest.param(("sqlite", "local"), id="sqlite-local"),
    pytest.param(("postgres", "local"), id="postgres-local", marks=pytest.mark.postgres),
    pytest.param(("postgres", "dramatiq"), id="postgres-dramatiq", marks=[pytest.mark.postgres, pytest.mark.redis]),
]


@pytest.fixture(params=PARAMS)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    database, backend = request.param
    if database == "sqlite":
        s = Stack(tmp_path, database_url=None, backend=backend)
        try:
            s.start()
            yield s
        finally:
            s.stop()
        return
    with postgres_database() as url:
        s = Stack(tmp_path, database_url=url, backend=backend)
        try:
            s.start()
            yield s
        finally:
            s.stop()


def _token(stack: Stack, role: str, subject: str | None = None) -> str:
    args = ["token", "issue", "--role", role] + (["--subject", subject] if subject else [])
    done = stack.cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_whole_flow(stack: Stack) -> None:
    api = stack.api()
    admin = _token(stack, "admin")
    merchant_id = api.call("POST", "/merchants", admin, json={"name": "Porcelain & Co"})["id"]
    buyer_id = api.call("POST", "/buyers", admin, json={"contact": {"phone": "13912345678", "name": "李四"}})["id"]
    merchant = _token(stack, "merchant", merchant_id)
    buyer = _token(stack, "buyer", buyer_id)
    reviewer_1, reviewer_2 = _token(stack, "reviewer", "rev-1"), _token(stack, "reviewer", "rev-2")

    # merchant lists a product with a real photo
    product = listing_photo()
    shop = api.call("POST", "/shops", merchant, json={"name": "Porcelain flagship"})
    listing = api.call(
        "POST",
        "/listings",
        merchant,
        data={"shop_id": shop["id"], "title": "Vase", "category": "home", "price_cents": "39900"},
        files=[("images", ("vase.jpg", jpeg(product), "image/jpeg"))],
    )
    order = api.call(
        "POST",
        "/orders",
        merchant,
        json={"shop_id": shop["id"], "listing_id": listing["id"], "buyer_id": buyer_id, "amount_cents": 39900},
    )
    # the order ships with a packing video; its keyframes become references
    video = encode_video(packing_frames(product), fps=8)
    api.call(
        "POST", f"/orders/{order['id']}/shipment", merchant, files=[("files", ("packing.mp4", video, "video/mp4"))]
    )
    api.call("POST", f"/orders/{order['id']}/delivered", merchant, json={})
    deadline = time.monotonic() + 120
    while not any(s["kind"] == "keyframe" for s in api.call("GET", f"/orders/{order['id']}", merchant)["shipment"]):
        assert time.monotonic() < deadline, "no keyframes extracted"
        time.sleep(0.3)

    # buyer claims with the listing photo with a crack drawn on it
    forged = jpeg(with_drawn_crack(product), quality=90)
    case = api.call(
        "POST",
        "/claims",
        buyer,
        headers={"Idempotency-Key": "claim-1"},
        data={
            "order_id": order["id"],
            "claim_type": "refund_only",
            "reason": "damaged",
            "description": "arrived cracked",
        },
        files=[("files", ("IMG_0412.jpg", forged, "image/jpeg"))],
        expect=201,
    )
    # the check flags it; the policy sends it to the merchant, it does not deny
    case = api.wait_case(case["id"], merchant, lambda c: c["pending_jobs"] == 0 and c["status"] != "checking")
    assert case["verdict"] == "likely_forged" and case["risk"] >= 0.85, case
    assert case["status"] == "awaiting_merchant" and case["deadline"], case["status"]
    finding = next(f for f in case["reports"][0]["report"]["findings"] if f["check"] == "reference")
    assert finding["label"] == "derived_and_edited" and finding["regions"], finding
    assert case["routing"][0]["rule"] == "review-everything-else"
    # the merchant answers within the window
    case = api.call(
        "POST",
        f"/cases/{case['id']}/response",
        merchant,
        data={"text": "This is our catalogue photo with a line drawn on it."},
    )
    assert case["status"] == "in_review"
    queue = api.call("GET", "/review/queue", reviewer_1)
    assert case["id"] in [c["id"] for c in queue]
    case = api.call(
        "POST",
        f"/cases/{case['id']}/decision",
        reviewer_1,
        json={"outcome": "deny", "reason_code": "evidence_altered", "note": "reference check"},
    )
    assert case["status"] == "denied"
    seen = api.call("GET", f"/cases/{case['id']}", buyer)
    assert seen["decisions"][0]["reason"].startswith("A photo you sent was changed") and seen["reports"] == []
    # the buyer appeals once with new evidence; the first reviewer may not decide it
    appeal_photo = encode(photo_like(360, 480, seed=77), "JPEG", quality=90)
    api.call(
        "POST",
        f"/cases/{case['id']}/appeal",
        buyer,
        data={"statement": "Here is another photo."},
        files=[("files", ("IMG_0500.jpg", appeal_photo, "image/jpeg"))],
    )
    api.call(
        "POST",
        f"/cases/{case['id']}/appeal",
        buyer,
        data={"statement": "again"},
        files=[("files", ("x.jpg", appeal_photo, "image/jpeg"))],
        expect=409,
    )
    case = api.wait_case(case["id"], reviewer_2, lambda c: c["pending_jobs"] == 0)
    assert case["status"] == "appealed" and len(case["reports"]) == 2
    body = {"outcome": "deny", "reason_code": "evidence_altered"}
    api.call("POST", f"/cases/{case['id']}/decision", reviewer_1, json=body, expect=403)
    case = api.call("POST", f"/cases/{case['id']}/decision", reviewer_2, json=body)
    assert case["status"] == "closed"
    trail = [e["action"] for e in api.call("GET", f"/cases/{case['id']}/audit", reviewer_2)]
    assert trail[0] == "case.filed" and "case.checked" in trail and "case.merchant_responded" in trail
    verified = stack.cli("audit", "verify")
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr


@pytest.mark.parametrize("backend", ["local"])
def test_server_killed_mid_check_finishes_after_restart(tmp_path: Path, backend: str) -> None:
    stack = Stack(tmp_path, database_url=None, backend=backend)
    try:
        stack.start()
        api = stack.api()
        admin = _token(stack, "admin")
        merchant_id = api.call("POST", "/merchants", admin, json={"name": "M"})["id"]
        buyer_id = api.call("POST", "/buyers", admin, json={})["id"]
        merchant, buyer = _token(stack, "merchant", merchant_id), _token(stack, "buyer", buyer_id)
        product = listing_photo(index=9)
        shop = api.call("POST", "/shops", merchant, json={"name": "S"})
        listing = api.call(
            "POST",
            "/listings",
            merchant,
            data={"shop_id": shop["id"], "title": "T", "category": "c", "price_cents": "1000"},
            files=[("images", ("l.jpg", jpeg(product), "image/jpeg"))],
        )
        order = api.call(
            "POST",
            "/orders",
            merchant,
            json={"shop_id": shop["id"], "listing_id": listing["id"], "buyer_id": buyer_id, "amount_cents": 1000},
        )
        case = api.call(
            "POST",
            "/claims",
            buyer,
            data={"order_id": order["id"], "claim_type": "refund_only", "reason": "damaged"},
            files=[("files", ("c.jpg", jpeg(with_drawn_crack(product)), "image/jpeg"))],
        )
        engine = create_engine(f"sqlite:///{tmp_path / 'proofdesk.sqlite3'}")
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline and state != "running":
            with engine.connect() as conn:
                state = conn.execute(text("SELECT status FROM jobs WHERE case_id = :c"), {"c": case["id"]}).scalar_one()
            time.sleep(0.05)
        assert state == "running", f"the check never started ({state})"
        stack.kill_server()  # the worker dies with it, mid-check
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT status FROM jobs WHERE case_id = :c"), {"c": case["id"]}).scalar_one()
                == "running"
            )
            assert conn.execute(text("SELECT count(*) FROM check_reports")).scalar_one() == 0
        engine.dispose()
        stack.start()
        case = stack.api().wait_case(case["id"], merchant, lambda c: c["pending_jobs"] == 0 and c["reports"])
        assert case["verdict"] == "likely_forged" and case["reports"][0]["version"] == 1
    finally:
        stack.stop()
