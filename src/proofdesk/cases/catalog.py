"""Merchants, shops, listings (reference images), buyers, orders and shipment evidence.

The marketplace side the cases refer to. Listing images and packing-video keyframes are the merchant's
references for the ``reference`` check; a new packing video schedules a keyframe job, and keyframes arriving
for an order with open cases schedule a re-check of those cases (new references, new report versions).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.cases._deps import CaseDeps
from proofdesk.cases.media import Upload, accept_upload, keyframes
from proofdesk.cases.models import (
    Buyer,
    Case,
    CaseEvidence,
    Listing,
    ListingImage,
    Merchant,
    Order,
    ShipmentEvidence,
    Shop,
)
from proofdesk.cases.schemas import BuyerOut, ImageOut, ListingOut, MerchantOut, OrderOut, ShipmentItemOut, ShopOut
from proofdesk.cases.states import TERMINAL, CaseStatus
from proofdesk.db import utcnow
from proofdesk.errors import NotFound, PermissionDenied, UserInputError
from proofdesk.evidence import read_evidence
from proofdesk.jobs import Job, enqueue, finish
from proofdesk.security import Principal, Role, mask_address, mask_email, mask_name, mask_phone, require

CONTACT_FIELDS = ("phone", "name", "address", "email")
_MASKS = {"phone": mask_phone, "name": mask_name, "address": mask_address, "email": mask_email}
MAX_FILES = 10


def _text(value: str, field: str, *, max_len: int = 300, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise UserInputError(f"{field} is required", code="missing_field")
    if len(value) > max_len:
        raise UserInputError(f"{field} is longer than {max_len} characters", code="field_too_long")
    return value


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise UserInputError(f"{field} needs a time zone (e.g. 2026-11-20T10:00:00Z)", code="naive_datetime")
    return value


class CatalogService:
    """Marketplace objects. Every method takes the calling principal and enforces scope."""

    def __init__(self, deps: CaseDeps) -> None:
        self.deps = deps

    # -- scope helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _own_shop(session: Session, principal: Principal, shop_id: str) -> Shop:
        shop = session.get(Shop, shop_id)
        if shop is None or (principal.role is Role.MERCHANT and shop.merchant_id != principal.subject_id):
            raise NotFound("no such shop")
        if principal.role not in (Role.MERCHANT, Role.ADMIN):
            raise PermissionDenied("only the shop's merchant or an admin may change it")
        return shop

    @staticmethod
    def _visible_order(session: Session, principal: Principal, order_id: str) -> Order:
        order = session.get(Order, order_id)
        if order is None:
            raise NotFound("no such order")
        if principal.is_staff:
            return order
        if principal.role is Role.BUYER and order.buyer_id == principal.subject_id:
            return order
        if principal.role is Role.MERCHANT:
            shop = session.get(Shop, order.shop_id)
            if shop is not None and shop.merchant_id == principal.subject_id:
                return order
        raise NotFound("no such order")

    # -- merchants and shops ---------------------------------------------------------------------------
    def create_merchant(self, principal: Principal, *, name: str) -> MerchantOut:
        """Admin: register a merchant."""
        require(principal, Role.ADMIN)
        with self.deps.session() as session:
            merchant = Merchant(name=_text(name, "name", max_len=200), created_at=utcnow())
            session.add(merchant)
            session.flush()
            audit.append(session, principal.actor, "merchant.created", "merchant", merchant.id, {"name": merchant.name})
            return MerchantOut(id=merchant.id, name=merchant.name)

    def create_shop(self, principal: Principal, *, name: str, merchant_id: str | None = None) -> ShopOut:
        """Merchant (for itself) or admin (for ``merchant_id``): open a shop."""
        require(principal, Role.MERCHANT)
        owner = principal.subject_id if principal.role is Role.MERCHANT else merchant_id
        with self.deps.session() as session:
            if owner is None or session.get(Merchant, owner) is None:
                raise NotFound("no such merchant")
            shop = Shop(merchant_id=owner, name=_text(name, "name", max_len=200), created_at=utcnow())
            session.add(shop)
            session.flush()
            audit.append(session, principal.actor, "shop.created", "shop", shop.id, {"merchant_id": owner})
            return ShopOut(id=shop.id, merchant_id=owner, name=shop.name)

    def list_shops(self, principal: Principal) -> list[ShopOut]:
        """A merchant's own shops; staff see all."""
        with self.deps.session() as session:
            stmt = select(Shop).order_by(Shop.created_at)
            if not principal.is_staff:
                if principal.role is not Role.MERCHANT:
                    raise PermissionDenied("only merchants and staff list shops")
                stmt = stmt.where(Shop.merchant_id == principal.subject_id)
            return [ShopOut(id=s.id, merchant_id=s.merchant_id, name=s.name) for s in session.scalars(stmt)]

    # -- listings --------------------------------------------------------------------------------------
    def create_listing(
        self,
        principal: Principal,
        *,
        shop_id: str,
        title: str,
        category: str,
        price_cents: int,
        images: Sequence[Upload],
    ) -> ListingOut:
        """Merchant: list a product with its photos (the references for claims on it)."""
        if not images:
            raise UserInputError("a listing needs at least one image", code="missing_images")
        if len(images) > MAX_FILES * 3:
            raise UserInputError(f"at most {MAX_FILES * 3} images per listing", code="too_many_files")
        if price_cents < 0:
            raise UserInputError("price_cents must not be negative", code="invalid_price")
        accepted = [accept_upload(u, self.deps.settings.evidence, allow_video=False) for u in images]
        job_ids: list[str] = []
        with self.deps.session() as session:
            listing_shop_merchant = self._own_shop(session, principal, shop_id).merchant_id
            listing = Listing(
                shop_id=shop_id,
                title=_text(title, "title"),
                category=_text(category, "category", max_len=100),
                price_cents=price_cents,
                created_at=utcnow(),
            )
            session.add(listing)
            session.flush()
            for position, item in enumerate(accepted, start=1):
                sha = self.deps.store.put(item.data, item.content_type)
                image = ListingImage(
                    listing_id=listing.id,
                    position=position,
                    name=item.name,
                    sha256=sha,
                    content_type=item.content_type,
                    created_at=utcnow(),
                )
                session.add(image)
                session.flush()
                for hook in self.deps.listing_hooks:
                    hook(session, image.id, listing_shop_merchant, item.evidence)
            if self.deps.catalogues is not None:
                job_ids.append(enqueue(session, "index_listing", {"listing_id": listing.id}).id)
            audit.append(
                session,
                principal.actor,
                "listing.created",
                "listing",
                listing.id,
                {"shop_id": shop_id, "images": len(accepted)},
            )
            session.flush()
            out = self._listing_out(session, listing)
        self.deps.dispatch(job_ids)
        return out

    @staticmethod
    def _listing_out(session: Session, listing: Listing) -> ListingOut:
        images = session.scalars(
            select(ListingImage).where(ListingImage.listing_id == listing.id).order_by(ListingImage.position)
        )
        return ListingOut(
            id=listing.id,
            shop_id=listing.shop_id,
            title=listing.title,
            category=listing.category,
            price_cents=listing.price_cents,
            images=[ImageOut(id=i.id, name=i.name, sha256=i.sha256, content_type=i.content_type) for i in images],
        )

    def get_listing(self, principal: Principal, listing_id: str) -> ListingOut:  # noqa: ARG002 - listings are public
        """Any signed-in caller: a listing is public."""
        with self.deps.session() as session:
            listing = session.get(Listing, listing_id)
            if listing is None:
                raise NotFound("no such listing")
            return self._listing_out(session, listing)

    # -- buyers ----------------------------------------------------------------------------------------
    def create_buyer(self, principal: Principal, *, contact: dict[str, str]) -> BuyerOut:
        """Admin or agent: register a buyer; contact is encrypted at rest and only shown masked."""
        require(principal, Role.AGENT)
        unknown = set(contact) - set(CONTACT_FIELDS)
        if unknown:
            raise UserInputError(f"unknown contact fields: {', '.join(sorted(unknown))}", code="invalid_contact")
        clean = {k: _text(v, k, max_len=300) for k, v in contact.items() if v}
        with self.deps.session() as session:
            buyer = Buyer(
                contact_enc=self.deps.cipher.encrypt(json.dumps(clean, ensure_ascii=False)) if clean else None,
                created_at=utcnow(),
            )
            session.add(buyer)
            session.flush()
            audit.append(session, principal.actor, "buyer.created", "buyer", buyer.id, {"fields": sorted(clean)})
            return BuyerOut(id=buyer.id, contact=self._masked(clean))

    @staticmethod
    def _masked(contact: dict[str, str]) -> dict[str, str]:
        return {k: _MASKS[k](v) for k, v in contact.items() if k in _MASKS}

    def _contact(self, buyer: Buyer) -> dict[str, str]:
        if not buyer.contact_enc:
            return {}
        data: dict[str, str] = json.loads(self.deps.cipher.decrypt(buyer.contact_enc))
        return data

    def get_buyer(self, principal: Principal, buyer_id: str) -> BuyerOut:
        """The buyer themself or staff: masked contact."""
        if not (principal.is_staff or (principal.role is Role.BUYER and principal.subject_id == buyer_id)):
            raise NotFound("no such buyer")
        with self.deps.session() as session:
            buyer = session.get(Buyer, buyer_id)
            if buyer is None:
                raise NotFound("no such buyer")
            return BuyerOut(id=buyer.id, contact=self._masked(self._contact(buyer)))

    def reveal_contact(self, principal: Principal, buyer_id: str, *, purpose: str) -> dict[str, str]:
        """Staff only: the clear contact, for a stated purpose; every reveal is an audit event."""
        require(principal, Role.REVIEWER, Role.AGENT, Role.DISPATCHER)
        purpose = _text(purpose, "purpose", max_len=200)
        with self.deps.session() as session:
            buyer = session.get(Buyer, buyer_id)
            if buyer is None:
                raise NotFound("no such buyer")
            audit.append(session, principal.actor, "buyer.contact_revealed", "buyer", buyer_id, {"purpose": purpose})
            return self._contact(buyer)

    # -- orders and shipment ---------------------------------------------------------------------------
    def create_order(
        self,
        principal: Principal,
        *,
        shop_id: str,
        listing_id: str,
        buyer_id: str,
        amount_cents: int,
        ordered_at: datetime | None = None,
    ) -> OrderOut:
        """Merchant (own shop) or admin: record an order."""
        if amount_cents < 0:
            raise UserInputError("amount_cents must not be negative", code="invalid_amount")
        with self.deps.session() as session:
            self._own_shop(session, principal, shop_id)
            listing = session.get(Listing, listing_id)
            if listing is None or listing.shop_id != shop_id:
                raise NotFound("no such listing in this shop")
            if session.get(Buyer, buyer_id) is None:
                raise NotFound("no such buyer")
            order = Order(
                shop_id=shop_id,
                listing_id=listing_id,
                buyer_id=buyer_id,
                amount_cents=amount_cents,
                ordered_at=_aware(ordered_at, "ordered_at") or utcnow(),
            )
            session.add(order)
            session.flush()
            audit.append(
                session,
                principal.actor,
                "order.created",
                "order",
                order.id,
                {"shop_id": shop_id, "buyer_id": buyer_id, "amount_cents": amount_cents},
            )
            return self._order_out(session, order)

    @staticmethod
    def _order_out(session: Session, order: Order) -> OrderOut:
        items = session.scalars(
            select(ShipmentEvidence).where(ShipmentEvidence.order_id == order.id).order_by(ShipmentEvidence.created_at)
        )
        return OrderOut(
            id=order.id,
            shop_id=order.shop_id,
            listing_id=order.listing_id,
            buyer_id=order.buyer_id,
            amount_cents=order.amount_cents,
            ordered_at=order.ordered_at,
            shipped_at=order.shipped_at,
            delivered_at=order.delivered_at,
            shipment=[
                ShipmentItemOut(
                    id=i.id,
                    kind=i.kind,
                    name=i.name,
                    sha256=i.sha256,
                    content_type=i.content_type,
                    frame_time_s=i.frame_time_s,
                )
                for i in items
            ],
        )

    def get_order(self, principal: Principal, order_id: str) -> OrderOut:
        """Buyer (own), merchant (own shop) or staff."""
        with self.deps.session() as session:
            return self._order_out(session, self._visible_order(session, principal, order_id))

    def list_orders(self, principal: Principal, *, limit: int = 100) -> list[OrderOut]:
        """A buyer's orders, a merchant's shops' orders, or all for staff."""
        with self.deps.session() as session:
            stmt = select(Order).order_by(Order.ordered_at.desc()).limit(min(max(limit, 1), 500))
            if principal.role is Role.BUYER:
                stmt = stmt.where(Order.buyer_id == principal.subject_id)
            elif principal.role is Role.MERCHANT:
                stmt = stmt.join(Shop, Shop.id == Order.shop_id).where(Shop.merchant_id == principal.subject_id)
            elif not principal.is_staff:
                raise PermissionDenied("no orders for this role")
            return [self._order_out(session, o) for o in session.scalars(stmt)]

    def add_shipment(
        self,
        principal: Principal,
        order_id: str,
        *,
        files: Sequence[Upload],
        shipped_at: datetime | None = None,
    ) -> OrderOut:
        """Merchant: packing video(s) and photos for an order; keyframes are extracted by a job."""
        require(principal, Role.MERCHANT)
        if not files:
            raise UserInputError("send a packing video or packing photos", code="missing_files")
        if len(files) > MAX_FILES:
            raise UserInputError(f"at most {MAX_FILES} files", code="too_many_files")
        accepted = [accept_upload(u, self.deps.settings.evidence) for u in files]
        job_ids: list[str] = []
        with self.deps.session() as session:
            order = self._visible_order(session, principal, order_id)
            if principal.role is Role.MERCHANT:
                self._own_shop(session, principal, order.shop_id)
            order.shipped_at = _aware(shipped_at, "shipped_at") or order.shipped_at or utcnow()
            for item in accepted:
                sha = self.deps.store.put(item.data, item.content_type)
                row = ShipmentEvidence(
                    order_id=order.id,
                    kind="packing_video" if item.kind == "video" else "packing_photo",
                    name=item.name,
                    sha256=sha,
                    content_type=item.content_type,
                    created_at=utcnow(),
                )
                session.add(row)
                session.flush()
                if item.kind == "video":
                    job_ids.append(enqueue(session, "extract_keyframes", {"shipment_id": row.id}).id)
            if any(a.kind == "photo" for a in accepted):
                job_ids += _recheck_open_cases(session, order.id)
            audit.append(
                session,
                principal.actor,
                "order.shipment_added",
                "order",
                order.id,
                {"files": [a.kind for a in accepted]},
            )
            out = self._order_out(session, order)
        self.deps.dispatch(job_ids)
        return out

    def mark_delivered(self, principal: Principal, order_id: str, *, delivered_at: datetime | None = None) -> OrderOut:
        """Merchant (own shop) or admin: the carrier delivered the order."""
        require(principal, Role.MERCHANT)
        with self.deps.session() as session:
            order = self._visible_order(session, principal, order_id)
            order.delivered_at = _aware(delivered_at, "delivered_at") or utcnow()
            audit.append(
                session,
                principal.actor,
                "order.delivered",
                "order",
                order.id,
                {"delivered_at": order.delivered_at.isoformat()},
            )
            return self._order_out(session, order)

    # -- jobs ------------------------------------------------------------------------------------------
    def handle_index_listing(self, job: Job) -> None:
        """Job handler: add a listing's images to the merchant's reference catalogue."""
        listing_id = str(job.payload["listing_id"])
        with self.deps.session() as session:
            listing = session.get(Listing, listing_id)
            shop = session.get(Shop, listing.shop_id) if listing else None
            if listing is None or shop is None:
                raise NotFound(f"listing {listing_id} vanished")
            images = [
                (f"listing-image:{i.id}:{i.name}", i.sha256)
                for i in session.scalars(
                    select(ListingImage).where(ListingImage.listing_id == listing_id).order_by(ListingImage.position)
                )
            ]
            merchant_id = shop.merchant_id
        if self.deps.catalogues is not None:
            refs = [
                (ref_id, read_evidence(self.deps.store.get(sha), name=ref_id, limits=self.deps.settings.evidence))
                for ref_id, sha in images
            ]
            self.deps.catalogues.add(merchant_id, refs)
        with self.deps.session() as session:
            audit.append(session, "system:worker", "listing.indexed", "listing", listing_id, {"images": len(images)})
            finish(session, job)

    def handle_extract_keyframes(self, job: Job) -> None:
        """Job handler: keyframes of a packing video become references; open cases are re-checked."""
        shipment_id = str(job.payload["shipment_id"])
        with self.deps.session() as session:
            video = session.get(ShipmentEvidence, shipment_id)
            if video is None:
                raise NotFound(f"shipment evidence {shipment_id} vanished")
            sha, order_id = video.sha256, video.order_id
        frames = keyframes(self.deps.store.get(sha))
        stored = [(f.time_s, self.deps.store.put(f.jpeg, "image/jpeg")) for f in frames]
        job_ids: list[str] = []
        with self.deps.session() as session:
            # A re-run after a crash must not duplicate frames: replace whatever an earlier attempt left.
            for old in session.scalars(select(ShipmentEvidence).where(ShipmentEvidence.video_id == shipment_id)):
                session.delete(old)
            for time_s, frame_sha in stored:
                session.add(
                    ShipmentEvidence(
                        order_id=order_id,
                        kind="keyframe",
                        name=f"keyframe-{time_s:.1f}s.jpg",
                        sha256=frame_sha,
                        content_type="image/jpeg",
                        video_id=shipment_id,
                        frame_time_s=time_s,
                        created_at=utcnow(),
                    )
                )
            job_ids = _recheck_open_cases(session, order_id)
            audit.append(
                session,
                "system:worker",
                "order.keyframes_extracted",
                "order",
                order_id,
                {"video": shipment_id, "frames": len(stored)},
            )
            finish(session, job)
        self.deps.dispatch(job_ids)


def _recheck_open_cases(session: Session, order_id: str) -> list[str]:
    """Queue a check of every buyer photo of the order's open cases (new references arrived)."""
    open_statuses = [s.value for s in CaseStatus if s not in TERMINAL]
    ids: list[str] = []
    cases = session.scalars(select(Case).where(Case.order_id == order_id, Case.status.in_(open_statuses)))
    for case in cases:
        photos = session.scalars(
            select(CaseEvidence.id).where(
                CaseEvidence.case_id == case.id, CaseEvidence.party == "buyer", CaseEvidence.kind == "photo"
            )
        )
        ids += [
            enqueue(session, "check_evidence", {"evidence_id": e, "recheck": True}, case_id=case.id).id for e in photos
        ]
    return ids
