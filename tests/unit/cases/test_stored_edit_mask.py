"""The edit mask a check localizes is stored with the report (write-once, by hash) for reviewers and courts."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from proofdesk.cases import Upload
from proofdesk.security import Principal, Role
from proofdesk.services import Services
from tests.conftest import LISTINGS, encode

ADMIN = Principal(Role.ADMIN, None, None, "admin")


def _listing_photo() -> np.ndarray:
    with Image.open(LISTINGS / "mh05-white_main.jpg") as image:
        image.thumbnail((640, 640))
        return np.asarray(image.convert("RGB")).copy()


def test_forged_photo_report_names_a_stored_mask_over_the_crack(services: Services) -> None:
    listing_rgb = _listing_photo()
    merchant = services.catalog.create_merchant(ADMIN, name="Mask Shop")
    m = Principal(Role.MERCHANT, merchant.id)
    shop = services.catalog.create_shop(m, name="Mask Shop")
    listing = services.catalog.create_listing(
        m, shop_id=shop.id, title="Hoodie", category="apparel", price_cents=9000,
        images=[Upload("listing.jpg", encode(listing_rgb, "JPEG", quality=92), "image/jpeg")],
    )
    buyer = services.catalog.create_buyer(ADMIN, contact={"phone": "13800000000"})
    order = services.catalog.create_order(m, shop_id=shop.id, listing_id=listing.id, buyer_id=buyer.id,
                                          amount_cents=9000)
    forged = listing_rgb.copy()
    h, w = forged.shape[:2]
    truth = np.zeros((h, w), np.uint8)
    points = np.array([[w * 0.35, h * 0.4], [w * 0.45, h * 0.5], [w * 0.42, h * 0.62], [w * 0.55, h * 0.7]], np.int32)
    cv2.polylines(forged, [points], False, (20, 20, 20), 5)
    cv2.polylines(truth, [points], False, 255, 5)
    case, _ = services.cases.file_claim(
        Principal(Role.BUYER, buyer.id), order_id=order.id, claim_type="refund_only", reason="damaged",
        description="cracked", files=[Upload("claim.jpg", encode(forged, "JPEG", quality=90), "image/jpeg")],
        idempotency_key="mask-1",
    )
    view = services.cases.get_case(m, case.id)
    (report,) = [r.report for r in view.reports]
    reference = next(f for f in report["findings"] if f["check"] == "reference")
    assert reference["label"] == "derived_and_edited"
    mask = np.asarray(Image.open(io.BytesIO(services.store.get(report["mask_sha256"]))))
    assert mask.shape == (h, w)
    edited = mask > 0
    overlap = np.logical_and(edited, truth > 0).sum() / max(int((truth > 0).sum()), 1)
    assert overlap > 0.5, f"stored mask covers only {overlap:.0%} of the drawn crack"
    assert edited.mean() < 0.1, "stored mask marks far more than the crack"
