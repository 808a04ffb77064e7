"""What the console needs from the case service, as one narrow protocol, and the view records it returns.

The console's routes talk only to a :class:`ConsoleBackend`; :mod:`proofdesk.console.service_backend` is the
implementation over the application services (``proofdesk.cases`` and friends). Keeping the seam here means
the pages never reach into ORM rows, and a change in the case service's API is absorbed in one module.
Every method takes the signed-in :class:`~proofdesk.security.Principal` and is expected to enforce the same
access rules as the HTTP API (a merchant sees only its shops' cases, a buyer only their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from proofdesk.dossier import CaseFile, EvidenceItem, PhotoResult
from proofdesk.security import Principal

__all__ = [
    "BuyerHistory",
    "ConsoleBackend",
    "ListingRow",
    "OrderRow",
    "QueueFilters",
    "QueueRow",
    "Upload",
]


@dataclass(frozen=True)
class QueueFilters:
    """Reviewer queue filters (all optional)."""

    risk: str = ""  # "" | high | review | low
    due: str = ""  # "" | 24 | overdue
    merchant: str = ""
    claim_type: str = ""


@dataclass(frozen=True)
class QueueRow:
    """One case in a list (reviewer queue, merchant inbox, buyer's claims)."""

    case_id: str
    status: str
    claim_type: str
    reason: str
    merchant: str
    buyer: str
    created_at: datetime
    deadline: datetime | None
    risk: float | None
    verdict: str | None
    photo_count: int = 0
    decision_reason: str = ""  # the last decision's reason code (shown to the buyer as a sentence)
    can_appeal: bool = False


@dataclass(frozen=True)
class BuyerHistory:
    """What the reviewer is told about the buyer: credit, earlier claims, reuse hits."""

    credit: str  # a score with its explanation, e.g. "0.92 — no confirmed forged claims"
    earlier_claims: Sequence[QueueRow] = ()
    reuse_hits: Sequence[str] = ()


@dataclass(frozen=True)
class OrderRow:
    """A buyer's order that a claim can be filed from."""

    order_id: str
    title: str
    merchant: str
    delivered_at: datetime | None
    open_case: str | None = None


@dataclass(frozen=True)
class ListingRow:
    """A merchant's listing with its reference images."""

    listing_id: str
    title: str
    images: Sequence[EvidenceItem] = ()


@dataclass(frozen=True)
class Upload:
    """One uploaded file as received from a form."""

    name: str
    content_type: str
    data: bytes = field(repr=False)


class ConsoleBackend(Protocol):
    """The case service operations the console uses."""

    def merchants(self, principal: Principal) -> Sequence[str]:
        """Merchant names for the queue filter."""
        ...

    def queue(self, principal: Principal, filters: QueueFilters) -> Sequence[QueueRow]:
        """Cases waiting for a reviewer, by deadline then risk."""
        ...

    def case_file(self, principal: Principal, case_id: str) -> CaseFile:
        """Everything about one case the principal may see (NotFound/PermissionDenied otherwise)."""
        ...

    def buyer_history(self, principal: Principal, case: CaseFile) -> BuyerHistory | None:
        """The buyer's history, for reviewers only (None for other roles)."""
        ...

    def photo(self, principal: Principal, case_id: str, sha256: str) -> tuple[PhotoResult, str]:
        """One claim photo with its newest report, and a key that changes when the report does."""
        ...

    def reason_codes(self) -> Sequence[tuple[str, str]]:
        """(outcome, reason code) pairs a reviewer can pick."""
        ...

    def decide(self, principal: Principal, case_id: str, outcome: str, reason_code: str, note: str) -> None:
        """Record a reviewer's decision."""
        ...

    def request_evidence(self, principal: Principal, case_id: str, items: Sequence[str], text: str) -> None:
        """A reviewer asks the buyer for named items (keys of the service's evidence items)."""
        ...

    def evidence_items(self) -> Sequence[str]:
        """The item keys a reviewer can ask for."""
        ...

    def add_evidence(self, principal: Principal, case_id: str, note: str, files: Sequence[Upload]) -> None:
        """The buyer's answer to a request for more evidence."""
        ...

    def merchant_cases(self, principal: Principal) -> Sequence[QueueRow]:
        """The merchant's incoming claims, soonest deadline first."""
        ...

    def answer(self, principal: Principal, case_id: str, text: str, files: Sequence[Upload]) -> None:
        """The merchant's answer with counter-evidence (packing video, photos)."""
        ...

    def listings(self, principal: Principal) -> Sequence[ListingRow]:
        """The merchant's listings and their reference images."""
        ...

    def orders(self, principal: Principal) -> Sequence[OrderRow]:
        """The buyer's orders."""
        ...

    def buyer_cases(self, principal: Principal) -> Sequence[QueueRow]:
        """The buyer's claims with status and the reason of each decision."""
        ...

    def file_claim(
        self, principal: Principal, order_id: str, claim_type: str, reason: str, description: str,
        photos: Sequence[Upload],
    ) -> str:
        """File a claim from an order; returns the case id."""
        ...

    def appeal(self, principal: Principal, case_id: str, text: str, files: Sequence[Upload]) -> None:
        """The buyer's one appeal with new evidence."""
        ...

    def evidence(self, principal: Principal, case_id: str, sha256: str) -> tuple[EvidenceItem, bytes]:
        """One stored file of a case the principal may see."""
        ...
