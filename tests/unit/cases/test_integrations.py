"""Reuse banks and buyer credit wired into the case service (engineer D2's modules, through the hooks)."""

from __future__ import annotations

from proofdesk.cases import Upload
from proofdesk.security import Principal, Role
from proofdesk.services import Services
from tests.conftest import encode, photo_like

ADMIN = Principal(Role.ADMIN, None, None, "admin")
REVIEWER_1 = Principal(Role.REVIEWER, "rev-1")
REVIEWER_2 = Principal(Role.REVIEWER, "rev-2")


def _jpeg(seed: int, quality: int = 90) -> Upload:
    return Upload(f"p{seed}.jpg", encode(photo_like(240, 320, seed=seed), "JPEG", quality=quality), "image/jpeg")


def _order(services: Services, merchant_id: str, buyer_id: str, amount: int = 50000) -> str:
    m = Principal(Role.MERCHANT, merchant_id)
    shop = services.catalog.create_shop(m, name="S")
    listing = services.catalog.create_listing(
        m, shop_id=shop.id, title="T", category="c", price_cents=amount, images=[_jpeg(100)]
    )
    return services.catalog.create_order(
        m, shop_id=shop.id, listing_id=listing.id, buyer_id=buyer_id, amount_cents=amount
    ).id


def _reuse_finding(services: Services, case_id: str) -> dict[str, object]:
    case = services.cases.get_case(ADMIN, case_id)
    return next(f for f in case.reports[0].report["findings"] if f["check"] == "reuse")


def test_same_photo_from_another_buyer_is_found_by_the_reuse_check(services: Services) -> None:
    merchant = services.catalog.create_merchant(ADMIN, name="M").id
    first, second = (services.catalog.create_buyer(ADMIN, contact={}).id for _ in range(2))
    photo = _jpeg(7)
    case_1, _ = services.cases.file_claim(
        Principal(Role.BUYER, first),
        order_id=_order(services, merchant, first),
        claim_type="refund_only",
        reason="damaged",
        files=[photo],
    )
    assert _reuse_finding(services, case_1.id)["label"] == "none"
    # the second buyer sends the same photo re-encoded
    again = Upload("mine.jpg", encode(photo_like(240, 320, seed=7), "JPEG", quality=70), "image/jpeg")
    case_2, _ = services.cases.file_claim(
        Principal(Role.BUYER, second),
        order_id=_order(services, merchant, second),
        claim_type="refund_only",
        reason="damaged",
        files=[again],
    )
    finding = _reuse_finding(services, case_2.id)
    assert finding["label"] == "reused_other_buyer", finding
    assert float(str(finding["score"])) > 0.5


def test_decisions_feed_buyer_credit_and_a_won_appeal_restores_it(services: Services) -> None:
    merchant = services.catalog.create_merchant(ADMIN, name="M").id
    buyer_id = services.catalog.create_buyer(ADMIN, contact={}).id
    buyer = Principal(Role.BUYER, buyer_id)

    def standing() -> tuple[str, str]:
        assert services.deps.standing_for is not None
        with services.session() as session:
            return services.deps.standing_for(session, buyer_id, merchant)

    assert standing()[0] == "new"
    case, _ = services.cases.file_claim(
        buyer,
        order_id=_order(services, merchant, buyer_id),
        claim_type="refund_only",
        reason="wrong_item",
        files=[_jpeg(1), _jpeg(2)],
    )
    case = services.cases.respond(Principal(Role.MERCHANT, merchant), case.id, text="no")
    services.cases.decide(REVIEWER_1, case.id, outcome="deny", reason_code="evidence_altered")
    band, why = standing()
    assert band in ("watch", "poor") and "1 confirmed forged claim" in why, why
    services.cases.appeal(buyer, case.id, statement="wrong call", files=[_jpeg(3)])
    services.cases.decide(REVIEWER_2, case.id, outcome="approve", reason_code="appeal_new_evidence")
    band, why = standing()
    assert band == "good", why
