"""Merchant catalogues: listing images are indexed by a job and a claim is matched against every listing."""

from __future__ import annotations

from PIL import ImageDraw

from proofdesk.cases import Upload
from proofdesk.security import Principal, Role
from proofdesk.services import Services
from tests.integration.case_harness import jpeg, listing_photo

ADMIN = Principal(Role.ADMIN, None, None, "admin")


def test_a_photo_from_another_listing_of_the_shop_is_found(services: Services) -> None:
    merchant_id = services.catalog.create_merchant(ADMIN, name="M").id
    merchant = Principal(Role.MERCHANT, merchant_id)
    shop = services.catalog.create_shop(merchant, name="S")
    vase, bowl = listing_photo(index=5, side=480), listing_photo(index=9, side=480)
    vase_listing = services.catalog.create_listing(
        merchant,
        shop_id=shop.id,
        title="Vase",
        category="home",
        price_cents=50000,
        images=[Upload("vase.jpg", jpeg(vase))],
    )
    services.catalog.create_listing(
        merchant,
        shop_id=shop.id,
        title="Bowl",
        category="home",
        price_cents=50000,
        images=[Upload("bowl.jpg", jpeg(bowl))],
    )
    catalogue = services.deps.catalogues.open(merchant_id) if services.deps.catalogues else None
    assert catalogue is not None and len(catalogue) == 2  # the index jobs ran (inline)
    buyer_id = services.catalog.create_buyer(ADMIN, contact={}).id
    order = services.catalog.create_order(
        merchant, shop_id=shop.id, listing_id=vase_listing.id, buyer_id=buyer_id, amount_cents=50000
    )
    # the buyer ordered the vase but sends the shop's bowl photo with a mark drawn on it
    forged = bowl.copy()
    ImageDraw.Draw(forged).line([(100, 100), (160, 190), (140, 260)], fill=(10, 10, 10), width=4)
    case, _ = services.cases.file_claim(
        Principal(Role.BUYER, buyer_id),
        order_id=order.id,
        claim_type="refund_only",
        reason="damaged",
        files=[Upload("claim.jpg", jpeg(forged, quality=90))],
    )
    report = services.cases.get_case(ADMIN, case.id).reports[0].report
    finding = next(f for f in report["findings"] if f["check"] == "reference")
    assert finding["label"] == "derived_and_edited", finding["summary"]
    assert finding["reference"].startswith("listing-image:") and finding["reference"].endswith("bowl.jpg")
