"""The case service end to end, in-process (jobs inline): filing, checks, routing, window, review, appeal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from proofdesk import audit
from proofdesk.cases import CaseStatus, Upload
from proofdesk.cases.media import encode_video
from proofdesk.cases.models import ShipmentEvidence
from proofdesk.db import utcnow
from proofdesk.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, UnsupportedFormat
from proofdesk.security import Principal, Role
from proofdesk.services import Services
from tests.conftest import encode, photo_like

ADMIN = Principal(Role.ADMIN, None, None, "admin")
REVIEWER_1 = Principal(Role.REVIEWER, "rev-1")
REVIEWER_2 = Principal(Role.REVIEWER, "rev-2")


def _jpeg(seed: int) -> Upload:
    return Upload(f"p{seed}.jpg", encode(photo_like(240, 320, seed=seed), "JPEG", quality=90), "image/jpeg")


def _world(services: Services) -> dict[str, str]:
    merchant = services.catalog.create_merchant(ADMIN, name="Good Shop Ltd")
    m = Principal(Role.MERCHANT, merchant.id)
    shop = services.catalog.create_shop(m, name="Good Shop")
    listing = services.catalog.create_listing(
        m, shop_id=shop.id, title="Ceramic mug", category="kitchen", price_cents=15000, images=[_jpeg(1), _jpeg(2)]
    )
    buyer = services.catalog.create_buyer(ADMIN, contact={"phone": "13812345678", "name": "张三"})
    order = services.catalog.create_order(
        m, shop_id=shop.id, listing_id=listing.id, buyer_id=buyer.id, amount_cents=50000
    )
    return {"merchant": merchant.id, "shop": shop.id, "listing": listing.id, "buyer": buyer.id, "order": order.id}


def test_flow_with_window_review_and_appeal(services: Services) -> None:
    w = _world(services)
    merchant = Principal(Role.MERCHANT, w["merchant"])
    buyer = Principal(Role.BUYER, w["buyer"])
    frames = [photo_like(120, 160, seed=1) for _ in range(12)]
    order = services.catalog.add_shipment(
        merchant, w["order"], files=[Upload("packing.mp4", encode_video(frames), "video/mp4")]
    )
    assert order.shipment[0].kind == "packing_video"
    with services.session() as session:
        frames_stored = session.scalars(select(ShipmentEvidence).where(ShipmentEvidence.kind == "keyframe")).all()
        assert len(frames_stored) >= 1  # the keyframe job ran
    case, created = services.cases.file_claim(
        buyer,
        order_id=w["order"],
        claim_type="refund_only",
        reason="damaged",
        description="cracked",
        files=[_jpeg(7), _jpeg(8)],
        idempotency_key="k1",
    )
    assert created
    case = services.cases.get_case(merchant, case.id)
    assert case.pending_jobs == 0 and len(case.reports) == 2
    assert case.routing and case.routing[0].policy_version.startswith("default-")
    # nothing in these photos is forged and the buyer is new, but 500.00 is above the automatic limit
    assert case.status in (CaseStatus.AWAITING_MERCHANT, CaseStatus.NEEDS_EVIDENCE), case.routing
    if case.status == CaseStatus.NEEDS_EVIDENCE:
        case = services.cases.add_evidence(buyer, case.id, files=[_jpeg(9)])
    # same key, same request: the same case; same key, other request: 409
    again, created = services.cases.file_claim(
        buyer,
        order_id=w["order"],
        claim_type="refund_only",
        reason="damaged",
        description="cracked",
        files=[_jpeg(7), _jpeg(8)],
        idempotency_key="k1",
    )
    assert not created and again.id == case.id
    with pytest.raises(Conflict):
        services.cases.file_claim(
            buyer, order_id=w["order"], claim_type="exchange", reason="damaged", files=[_jpeg(7)], idempotency_key="k1"
        )
    case = services.cases.get_case(merchant, case.id)
    assert case.status == CaseStatus.AWAITING_MERCHANT and case.deadline is not None
    # a reviewer asks the buyer for a video: the window pauses, and resumes with the time left
    case = services.cases.request_evidence(REVIEWER_1, case.id, items=["video"])
    assert case.status == CaseStatus.NEEDS_EVIDENCE and case.deadline is None and case.window_paused_s
    paused = case.window_paused_s
    video = Upload("turn.mp4", encode_video([photo_like(120, 160, seed=3)] * 5), "video/mp4")
    case = services.cases.add_evidence(buyer, case.id, files=[video])
    case = services.cases.get_case(merchant, case.id)
    assert case.status == CaseStatus.AWAITING_MERCHANT
    assert case.deadline is not None and abs((case.deadline - utcnow()).total_seconds() - paused) < 60
    # the merchant answers: review
    case = services.cases.respond(merchant, case.id, text="The mug left intact, see packing video.")
    assert case.status == CaseStatus.IN_REVIEW
    queue = services.cases.review_queue(REVIEWER_1)
    assert [c.id for c in queue] == [case.id]
    with pytest.raises(PermissionDenied):
        services.cases.decide(merchant, case.id, outcome="deny", reason_code="shipped_intact")
    case = services.cases.decide(REVIEWER_1, case.id, outcome="deny", reason_code="shipped_intact")
    assert case.status == CaseStatus.DENIED
    seen = services.cases.get_case(buyer, case.id)
    assert seen.decisions[0].reason.startswith("The merchant's packing evidence") and seen.decisions[0].reviewer is None
    assert seen.reports == []  # buyers do not see the forensic details
    case = services.cases.appeal(buyer, case.id, statement="It was cracked on arrival", files=[_jpeg(11)])
    assert case.status == CaseStatus.APPEALED
    with pytest.raises(InvalidTransition):
        services.cases.appeal(buyer, case.id, statement="again", files=[_jpeg(12)])
    with pytest.raises(PermissionDenied):
        services.cases.decide(REVIEWER_1, case.id, outcome="approve", reason_code="appeal_new_evidence")
    case = services.cases.decide(REVIEWER_2, case.id, outcome="approve", reason_code="appeal_new_evidence")
    assert case.status == CaseStatus.APPROVED
    with services.session() as session:
        assert audit.verify_chain(session).ok
        actions = [e.data.get("to") for e in audit.events_for(session, "case", case.id) if e.action == "case.status"]
    assert actions[0] == "checking" and actions[-1] == "approved"


def test_window_expiry_escalates_never_decides(services: Services) -> None:
    w = _world(services)
    buyer = Principal(Role.BUYER, w["buyer"])
    case, _ = services.cases.file_claim(
        buyer, order_id=w["order"], claim_type="return_refund", reason="wrong_item", files=[_jpeg(20), _jpeg(21)]
    )
    case = services.cases.get_case(ADMIN, case.id)
    assert case.status == CaseStatus.AWAITING_MERCHANT and case.deadline is not None
    assert services.cases.expire_windows(now=case.deadline - timedelta(seconds=1)) == []
    assert services.cases.expire_windows(now=case.deadline + timedelta(seconds=1)) == [case.id]
    case = services.cases.get_case(ADMIN, case.id)
    assert case.status == CaseStatus.IN_REVIEW and case.escalated
    # re-check (e.g. after new references): new report versions, the status does not move
    assert services.cases.recheck(REVIEWER_1, case.id) == 2
    case = services.cases.get_case(ADMIN, case.id)
    assert sorted(r.version for r in case.reports) == [2, 2] and case.status == CaseStatus.IN_REVIEW


def test_scope_and_bad_input(services: Services) -> None:
    w = _world(services)
    other_merchant = services.catalog.create_merchant(ADMIN, name="Other")
    other_buyer = services.catalog.create_buyer(ADMIN, contact={})
    buyer = Principal(Role.BUYER, w["buyer"])
    case, _ = services.cases.file_claim(
        buyer, order_id=w["order"], claim_type="refund_only", reason="damaged", files=[_jpeg(30)]
    )
    for outsider in (Principal(Role.MERCHANT, other_merchant.id), Principal(Role.BUYER, other_buyer.id)):
        with pytest.raises(NotFound):
            services.cases.get_case(outsider, case.id)
        assert services.cases.list_cases(outsider) == []
    with pytest.raises(NotFound):
        services.cases.file_claim(
            Principal(Role.BUYER, other_buyer.id),
            order_id=w["order"],
            claim_type="refund_only",
            reason="damaged",
            files=[_jpeg(31)],
        )
    with pytest.raises(UnsupportedFormat):
        services.cases.file_claim(
            buyer,
            order_id=w["order"],
            claim_type="refund_only",
            reason="x",
            files=[Upload("a.txt", b"hello world, not a photo")],
        )
    assert services.cases.get_case(ADMIN, case.id).status == CaseStatus.NEEDS_EVIDENCE  # damage, no video
    with pytest.raises(InvalidTransition):
        services.cases.decide(REVIEWER_1, case.id, outcome="approve", reason_code="goodwill")
    with pytest.raises(PermissionDenied):
        services.cases.review_queue(buyer)


def test_transition_table_refuses_automatic_denial() -> None:
    from proofdesk.cases import TRANSITIONS, transition

    assert (CaseStatus.CHECKING, CaseStatus.DENIED) not in TRANSITIONS
    with pytest.raises(InvalidTransition, match="allowed"):
        transition("checking", "denied")
    assert transition("denied", "appealed") is CaseStatus.APPEALED
