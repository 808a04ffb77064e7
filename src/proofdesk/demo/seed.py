"""``proofdesk demo``: seed a data dir with a merchant, listings, buyers, orders and three kinds of case.

Everything goes through the application services exactly as the API would call them (catalogue, case service,
repair service), and the check jobs run here, in this process, so the console shows finished verdicts the
moment ``proofdesk serve`` starts. What is seeded:

- **forged**: a buyer's "damaged" claim whose photo is the merchant's own listing photo with a crack drawn on it;
  the merchant has answered with a packing video, so it waits in the reviewer queue.
- **genuine**: a claim with another photo of the same product (not one the merchant listed); it waits for the
  merchant's answer (the browser test answers it with a packing video).
- **appeal**: a claim a reviewer denied, which its buyer can appeal.
- **repair**: an on-site repair request (engineer F's repair service), when that service is installed.
- an order without a claim, so a buyer can file one.

Idempotent: a second run finds ``demo-cases.json`` and the cases it names, and does nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from proofdesk.cases.media import Upload, encode_video
from proofdesk.cases.models import Case
from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.demo.images import FORGED_SOURCE, GENUINE_SOURCE, LISTINGS, forged_claim, genuine_claim, photo
from proofdesk.jobs import recoverable
from proofdesk.security import Principal, Role, issue_token

__all__ = ["DEMO_CASES", "DEMO_USERS", "DemoResult", "drain_jobs", "packing_video", "seed"]

DEMO_USERS = "demo-users.json"
DEMO_CASES = "demo-cases.json"
_ADMIN = Principal(Role.ADMIN, None, None, "demo")


@dataclass
class DemoResult:
    """What ``seed`` made (or found)."""

    cases: dict[str, str]
    users: dict[str, dict[str, str]]
    created: bool
    notes: list[str] = field(default_factory=list)


def packing_video(source: bytes, *, seconds: int = 3, fps: int = 8) -> bytes:
    """A short MP4 "packing video": the product photo panned and zoomed, as a phone on a stand would film it."""
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(source)).convert("RGB")
    image.thumbnail((480, 480))
    base = np.asarray(image)
    h, w = base.shape[:2]
    h2, w2 = h - h % 2, w - w % 2
    frames = []
    for i in range(seconds * fps):
        zoom = 1.0 + 0.15 * i / (seconds * fps)
        crop_w, crop_h = int(w2 / zoom), int(h2 / zoom)
        x0, y0 = (w2 - crop_w) // 2, (h2 - crop_h) // 2
        crop = Image.fromarray(base[y0 : y0 + crop_h, x0 : x0 + crop_w]).resize((w2, h2))
        frames.append(np.asarray(crop))
    return encode_video(frames, fps=fps)


def drain_jobs(services: Any, *, rounds: int = 20) -> int:
    """Run every queued job in this process (checks, keyframes) until none is left; returns how many ran."""
    ran = 0
    for _ in range(rounds):
        with services.session() as session:
            pending = recoverable(session)
        if not pending:
            break
        for job_id in pending:
            services.run_job(job_id)
            ran += 1
    return ran


def _existing(data_dir: Path, services: Any) -> dict[str, str] | None:
    marker = data_dir / DEMO_CASES
    if not marker.is_file():
        return None
    cases: dict[str, str] = json.loads(marker.read_text(encoding="utf-8"))
    with services.session() as session:
        if all(session.get(Case, cid) is not None for key, cid in cases.items() if key in ("forged", "genuine")):
            return cases
    return None


def _token(services: Any, role: Role, subject: str | None, name: str) -> dict[str, str]:
    with services.session() as session:
        issued = issue_token(session, role, subject, name=name, issued_by="admin:demo")
    return {"role": role.value, "token": issued.token, "name": name, "subject_id": subject or ""}


def _write_private(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.chmod(path, 0o600)  # demo tokens sign anyone in: readable by the owner only


def seed(settings: Settings, services: Any) -> DemoResult:
    """Seed the demo data into the database and store of ``services`` (migrated first)."""
    migrate(settings)
    data_dir = settings.data_dir
    found = _existing(data_dir, services)
    if found is not None:
        users = json.loads((data_dir / DEMO_USERS).read_text(encoding="utf-8"))
        return DemoResult(found, users, created=False)
    catalog, cases = services.catalog, services.cases
    now = datetime.now(UTC)
    notes: list[str] = []

    merchant = catalog.create_merchant(_ADMIN, name="Demo Outdoor Co. 演示户外")
    users = {
        "reviewer": _token(services, Role.REVIEWER, None, "Demo reviewer"),
        "reviewer2": _token(services, Role.REVIEWER, None, "Second reviewer"),
        "merchant": _token(services, Role.MERCHANT, merchant.id, "Demo Outdoor Co."),
        "dispatcher": _token(services, Role.DISPATCHER, None, "Demo dispatcher"),
    }
    seller = Principal(Role.MERCHANT, merchant.id, None, "demo merchant")
    shop = catalog.create_shop(seller, name="Demo Outdoor flagship store")
    listings = {}
    for title, (category, price, names) in LISTINGS.items():
        images = [Upload(name, photo(name), "image/jpeg") for name in names]
        listings[title] = (catalog.create_listing(seller, shop_id=shop.id, title=title, category=category,
                                                  price_cents=price, images=images), price)
    li = catalog.create_buyer(_ADMIN, contact={"name": "李小雨", "phone": "13812345678", "address":
                                               "湖北省黄石市黄石港区湖滨大道 88 号"})
    wang = catalog.create_buyer(_ADMIN, contact={"name": "王强", "phone": "13987654321"})
    users["buyer"] = _token(services, Role.BUYER, li.id, "李小雨")
    users["buyer2"] = _token(services, Role.BUYER, wang.id, "王强")
    buyer_li = Principal(Role.BUYER, li.id, None, "demo buyer")
    buyer_wang = Principal(Role.BUYER, wang.id, None, "demo buyer 2")

    def order(title: str, buyer_id: str) -> str:
        listing, price = listings[title]
        made = catalog.create_order(seller, shop_id=shop.id, listing_id=listing.id, buyer_id=buyer_id,
                                    amount_cents=price, ordered_at=now - timedelta(days=6))
        catalog.mark_delivered(seller, made.id, delivered_at=now - timedelta(days=1))
        return str(made.id)

    backpack, backpack_li = order("Trail backpack 30 L", wang.id), order("Trail backpack 30 L", li.id)
    hoodie, brick = order("Hooded sweatshirt", li.id), order("Yoga brick", li.id)

    def claim(buyer: Principal, order_id: str, claim_type: str, reason: str, text: str, files: list[Upload]) -> str:
        created, _ = cases.file_claim(buyer, order_id=order_id, claim_type=claim_type, reason=reason,
                                      description=text, files=files)
        drain_jobs(services)
        _more_evidence(services, buyer, str(created.id))
        return str(created.id)

    forged = claim(buyer_wang, backpack, "refund_only", "damaged", "背包到货时有裂痕 / The backpack arrived cracked.",
                   [Upload("IMG_2041.jpg", forged_claim(photo(FORGED_SOURCE)), "image/jpeg")])
    genuine = claim(buyer_li, hoodie, "return_refund", "not_as_described",
                    "颜色比图片深 / The colour is darker than in the photos.",
                    [Upload("IMG_3310.jpg", genuine_claim(photo(GENUINE_SOURCE)), "image/jpeg"),
                     Upload("IMG_3311.jpg", genuine_claim(photo(GENUINE_SOURCE), angle=-3, crop=0.1, light=0.95),
                            "image/jpeg")])
    appeal = claim(buyer_li, brick, "refund_only", "wrong_item", "收到的不是这款 / Not the item I ordered.",
                   [Upload("IMG_3402.jpg", photo("luma-yoga-brick.jpg"), "image/jpeg"),
                    Upload("IMG_3403.jpg", genuine_claim(photo("luma-yoga-brick.jpg"), angle=2, crop=0.08),
                           "image/jpeg")])

    video = Upload("packing-backpack.mp4", packing_video(photo(FORGED_SOURCE)), "video/mp4")
    _answer(cases, seller, forged, "We filmed the packing: the backpack left intact. 打包视频显示发货时完好。", [video])
    _answer(cases, seller, appeal, "The buyer's photo is our own listing photo. 买家的照片是我们的商品图。", [])
    drain_jobs(services)
    reviewer = Principal(Role.REVIEWER, None, None, "Demo reviewer")
    try:
        cases.decide(reviewer, appeal, outcome="deny", reason_code="not_the_item",
                     note="The photo is the shop's listing image.")
    except Exception as exc:  # noqa: BLE001 - the demo still works without the denied case; say why
        notes.append(f"appeal case not denied ({type(exc).__name__}: {exc})")
    repair = _repair_case(services, notes)
    made = {"forged": forged, "genuine": genuine, "appeal": appeal, "claimable_order": backpack_li,
            "merchant_id": merchant.id, "buyer_id": li.id}
    if repair:
        made["repair"] = repair
    _write_private(data_dir / DEMO_USERS, users)
    _write_private(data_dir / DEMO_CASES, made)
    return DemoResult(made, users, created=True, notes=notes)


def _more_evidence(services: Any, buyer: Principal, case_id: str) -> None:
    """When the policy asks the buyer for more (another angle, a video), send it once, as a buyer would."""
    with services.session() as session:
        case = session.get(Case, case_id)
        status = case.status if case is not None else ""
    if status != "needs_evidence":
        return
    extra = [Upload("IMG_more.jpg", genuine_claim(photo(GENUINE_SOURCE), angle=-6, crop=0.12), "image/jpeg"),
             Upload("VID_more.mp4", packing_video(photo(GENUINE_SOURCE), seconds=2), "video/mp4")]
    services.cases.add_evidence(buyer, case_id, files=extra, note="more photos and a short video")
    drain_jobs(services)


def _answer(cases: Any, seller: Principal, case_id: str, text: str, files: list[Upload]) -> None:
    """The merchant's answer, when the case is waiting for one (checks may have routed it elsewhere)."""
    with cases.deps.session() as session:
        status = session.get(Case, case_id).status
    if status == "awaiting_merchant":
        cases.respond(seller, case_id, text=text, files=files)


def _repair_case(services: Any, notes: list[str]) -> str | None:
    """An on-site repair request through the repair service (engineer F), when it is installed."""
    try:
        from proofdesk.demo.repair import seed_repair

        return seed_repair(services, notes)
    except ImportError as exc:
        notes.append(f"repair service not available ({exc}): no repair case")
    except Exception as exc:  # noqa: BLE001 - the claim cases stand on their own; say what failed
        notes.append(f"repair case not created ({type(exc).__name__}: {exc})")
    return None
