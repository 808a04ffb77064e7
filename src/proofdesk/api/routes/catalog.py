"""Merchants, shops, listings, buyers, orders and shipment evidence (thin: the rules are in CatalogService)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from proofdesk.api.deps import PrincipalDep, ServicesDep
from proofdesk.api.error_handlers import error_responses
from proofdesk.api.uploads import read_uploads
from proofdesk.cases.schemas import BuyerOut, ListingOut, MerchantOut, OrderOut, ShopOut

router = APIRouter(tags=["catalogue"])
_READ = error_responses(401, 403, 404)
_WRITE = error_responses(400, 401, 403, 404, 422)
_UPLOAD = error_responses(400, 401, 403, 404, 413, 415, 422)


class MerchantIn(BaseModel):
    """A new merchant."""

    name: str = Field(min_length=1, max_length=200)


class ShopIn(BaseModel):
    """A new shop (``merchant_id`` only when an admin opens it for a merchant)."""

    name: str = Field(min_length=1, max_length=200)
    merchant_id: str | None = None


class BuyerIn(BaseModel):
    """A new buyer; contact fields are encrypted at rest and returned masked."""

    contact: dict[str, str] = Field(default_factory=dict, description="phone, name, address, email (all optional)")


class OrderIn(BaseModel):
    """A new order."""

    shop_id: str
    listing_id: str
    buyer_id: str
    amount_cents: int = Field(ge=0)
    ordered_at: datetime | None = None


class DeliveredIn(BaseModel):
    """Delivery time (default now)."""

    delivered_at: datetime | None = None


@router.post(
    "/merchants",
    summary="Register a merchant (admin)",
    status_code=status.HTTP_201_CREATED,
    response_model=MerchantOut,
    responses=_WRITE,
)
def create_merchant(body: MerchantIn, principal: PrincipalDep, services: ServicesDep) -> MerchantOut:
    """Admin only."""
    return services.catalog.create_merchant(principal, name=body.name)


@router.post(
    "/shops", summary="Open a shop", status_code=status.HTTP_201_CREATED, response_model=ShopOut, responses=_WRITE
)
def create_shop(body: ShopIn, principal: PrincipalDep, services: ServicesDep) -> ShopOut:
    """A merchant opens its own shop; an admin may open one for ``merchant_id``."""
    return services.catalog.create_shop(principal, name=body.name, merchant_id=body.merchant_id)


@router.get("/shops", summary="The caller's shops", response_model=list[ShopOut], responses=_READ)
def list_shops(principal: PrincipalDep, services: ServicesDep) -> list[ShopOut]:
    """Merchants see their own shops, staff all."""
    return services.catalog.list_shops(principal)


@router.post(
    "/listings",
    summary="List a product with its photos",
    status_code=status.HTTP_201_CREATED,
    response_model=ListingOut,
    responses=_UPLOAD,
)
async def create_listing(
    principal: PrincipalDep,
    services: ServicesDep,
    shop_id: Annotated[str, Form()],
    title: Annotated[str, Form(max_length=300)],
    category: Annotated[str, Form(max_length=100)],
    price_cents: Annotated[int, Form(ge=0)],
    images: Annotated[list[UploadFile], File(description="listing photos: the references for claims")],
) -> ListingOut:
    """Merchant (own shop). The photos become references for the ``reference`` check."""
    uploads = await read_uploads(images, max_bytes=services.settings.evidence.max_bytes)
    return await run_in_threadpool(
        services.catalog.create_listing,
        principal,
        shop_id=shop_id,
        title=title,
        category=category,
        price_cents=price_cents,
        images=uploads,
    )


@router.get("/listings/{listing_id}", summary="One listing", response_model=ListingOut, responses=_READ)
def get_listing(listing_id: str, principal: PrincipalDep, services: ServicesDep) -> ListingOut:
    """Any signed-in caller."""
    return services.catalog.get_listing(principal, listing_id)


@router.post(
    "/buyers",
    summary="Register a buyer (admin, agent)",
    status_code=status.HTTP_201_CREATED,
    response_model=BuyerOut,
    responses=_WRITE,
)
def create_buyer(body: BuyerIn, principal: PrincipalDep, services: ServicesDep) -> BuyerOut:
    """The contact is encrypted at rest; the response shows it masked."""
    return services.catalog.create_buyer(principal, contact=body.contact)


@router.get("/buyers/{buyer_id}", summary="A buyer, contact masked", response_model=BuyerOut, responses=_READ)
def get_buyer(buyer_id: str, principal: PrincipalDep, services: ServicesDep) -> BuyerOut:
    """The buyer themself or staff."""
    return services.catalog.get_buyer(principal, buyer_id)


@router.post(
    "/buyers/{buyer_id}/contact:reveal",
    summary="Reveal a buyer's contact (staff, audited)",
    response_model=dict[str, str],
    responses=_WRITE,
)
def reveal_contact(
    buyer_id: str,
    purpose: Annotated[str, Form(min_length=1, max_length=200)],
    principal: PrincipalDep,
    services: ServicesDep,
) -> dict[str, str]:
    """Clear contact data for a stated purpose; writes an audit event."""
    return services.catalog.reveal_contact(principal, buyer_id, purpose=purpose)


@router.post(
    "/orders", summary="Record an order", status_code=status.HTTP_201_CREATED, response_model=OrderOut, responses=_WRITE
)
def create_order(body: OrderIn, principal: PrincipalDep, services: ServicesDep) -> OrderOut:
    """Merchant (own shop) or admin."""
    return services.catalog.create_order(
        principal,
        shop_id=body.shop_id,
        listing_id=body.listing_id,
        buyer_id=body.buyer_id,
        amount_cents=body.amount_cents,
        ordered_at=body.ordered_at,
    )


@router.get("/orders", summary="The caller's orders", response_model=list[OrderOut], responses=_READ)
def list_orders(principal: PrincipalDep, services: ServicesDep, limit: int = 100) -> list[OrderOut]:
    """Buyer: own orders; merchant: its shops' orders; staff: all."""
    return services.catalog.list_orders(principal, limit=limit)


@router.get(
    "/orders/{order_id}", summary="One order with its shipment evidence", response_model=OrderOut, responses=_READ
)
def get_order(order_id: str, principal: PrincipalDep, services: ServicesDep) -> OrderOut:
    """Buyer (own), merchant (own shop) or staff."""
    return services.catalog.get_order(principal, order_id)


@router.post(
    "/orders/{order_id}/shipment", summary="Add packing video and photos", response_model=OrderOut, responses=_UPLOAD
)
async def add_shipment(
    order_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description="packing video (MP4/MOV/WebM/AVI) and/or photos")],
    shipped_at: Annotated[datetime | None, Form()] = None,
) -> OrderOut:
    """Merchant (own shop). Video keyframes are extracted by a background job and become references."""
    uploads = await read_uploads(files, max_bytes=services.settings.evidence.max_bytes)
    return await run_in_threadpool(
        services.catalog.add_shipment, principal, order_id, files=uploads, shipped_at=shipped_at
    )


@router.post(
    "/orders/{order_id}/delivered", summary="Mark an order delivered", response_model=OrderOut, responses=_WRITE
)
def mark_delivered(order_id: str, body: DeliveredIn, principal: PrincipalDep, services: ServicesDep) -> OrderOut:
    """Merchant (own shop) or admin."""
    return services.catalog.mark_delivered(principal, order_id, delivered_at=body.delivered_at)
