"""What an evidence report and a case page show about one case, independent of how the case is stored.

The case service (``proofdesk.cases``) is turned into a :class:`CaseFile` by an adapter at the edge (the
console's backend or the ``proofdesk report`` command); everything downstream — overlays, the HTML and PDF
reports, ``report verify`` — reads only these frozen records and a :class:`BlobReader`, so it can be tested
with real images and real :class:`~proofdesk.report.Report` objects without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from proofdesk.report import Report

__all__ = ["AuditLine", "BlobReader", "CaseFile", "EvidenceItem", "PhotoResult"]


@runtime_checkable
class BlobReader(Protocol):
    """Read stored evidence by content address; implementations verify the hash on read."""

    def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256`` (raises ``IntegrityError`` if they no longer hash to it)."""
        ...


@dataclass(frozen=True)
class EvidenceItem:
    """One stored file: a claim photo, a reference image, a packing video, a merchant photo."""

    sha256: str
    name: str
    role: str  # claim_photo | reference | packing_video | merchant_photo | technician_photo
    content_type: str
    size: int
    stored_at: datetime | None = None
    #: Who submitted it ("buyer", "merchant", "technician", "system").
    submitted_by: str = ""

    @property
    def is_image(self) -> bool:
        """Whether overlays and derivatives can be drawn from it."""
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class PhotoResult:
    """A claim photo with its stored check report and the reference image the report matched, if any."""

    photo: EvidenceItem
    report: Report | None
    reference: EvidenceItem | None = None
    #: Stored edit mask (PNG at claim size, 255 = edited) if the case service kept one.
    mask_sha256: str | None = None

    def homography(self) -> list[list[float]] | None:
        """Reference -> claim 3x3 transform found by the ``reference`` check, if it recorded one."""
        if self.report is None:
            return None
        finding = self.report.finding("reference")
        if finding is None:
            return None
        for key in ("homography", "H", "transform"):
            value: Any = finding.details.get(key)
            if isinstance(value, dict):
                value = value.get("homography") or value.get("matrix")
            if (
                isinstance(value, list)
                and len(value) == 3
                and all(isinstance(row, list) and len(row) == 3 for row in value)
            ):
                return [[float(v) for v in row] for row in value]
        return None


@dataclass(frozen=True)
class AuditLine:
    """One audit event as excerpted in a report (the chain's own hash included, so it can be checked)."""

    at: datetime
    actor: str
    action: str
    summary: str
    event_hash: str = ""


@dataclass(frozen=True)
class CaseFile:
    """Everything a reviewer, a merchant or an arbitrator is shown about one case."""

    case_id: str
    status: str
    claim_type: str
    reason: str
    merchant: str
    buyer: str  # pseudonym or masked name, never contact data
    order_ref: str
    created_at: datetime
    photos: Sequence[PhotoResult]
    deadline: datetime | None = None
    description: str = ""
    other_evidence: Sequence[EvidenceItem] = ()
    merchant_answer: str = ""
    decisions: Sequence[dict[str, Any]] = ()
    audit: Sequence[AuditLine] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def all_files(self) -> list[EvidenceItem]:
        """Every stored file the case refers to, each once, in display order."""
        seen: set[str] = set()
        out: list[EvidenceItem] = []
        for item in [
            *(p.photo for p in self.photos),
            *(p.reference for p in self.photos if p.reference is not None),
            *self.other_evidence,
        ]:
            if item.sha256 not in seen:
                seen.add(item.sha256)
                out.append(item)
        return out
