"""Real images and a real in-memory content-addressed store for the console and dossier tests."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from proofdesk.checks.base import Finding, Region
from proofdesk.dossier import AuditLine, CaseFile, EvidenceItem, PhotoResult
from proofdesk.errors import IntegrityError, NotFound
from proofdesk.report import ClaimInfo, Report


class MemoryStore:
    """Content-addressed and verified on read, like the real blob stores (tests tamper with ``blobs``)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def get(self, sha256: str) -> bytes:
        if sha256 not in self.blobs:
            raise NotFound(f"no stored object {sha256}")
        data = self.blobs[sha256]
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"stored object {sha256} was altered")
        return data


def cracked(listing: Path, *, scale: float = 0.8) -> tuple[bytes, Region, list[list[float]]]:
    """A claim made from a listing photo: scaled, with a crack drawn; the crack's box and the true transform."""
    image = Image.open(listing).convert("RGB")
    w, h = image.size
    image = image.resize((round(w * scale), round(h * scale)))
    draw = ImageDraw.Draw(image)
    cw, ch = image.size
    points = [(cw * 0.30, ch * 0.35), (cw * 0.38, ch * 0.45), (cw * 0.34, ch * 0.55), (cw * 0.42, ch * 0.62)]
    draw.line(points, fill=(20, 20, 20), width=max(3, cw // 150))
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    region = Region(int(min(xs)) - 4, int(min(ys)) - 4, int(max(xs) - min(xs)) + 8, int(max(ys) - min(ys)) + 8, 0.97)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    homography = [[scale, 0.0, 0.0], [0.0, scale, 0.0], [0.0, 0.0, 1.0]]
    return buffer.getvalue(), region, homography


def forged_case(store: MemoryStore, listing: Path) -> CaseFile:
    """A case with one forged claim photo and its reference, as the case service would describe it."""
    reference_bytes = listing.read_bytes()
    claim_bytes, region, homography = cracked(listing)
    claim_sha = store.put(claim_bytes)
    ref_sha = store.put(reference_bytes)
    with Image.open(io.BytesIO(claim_bytes)) as im:
        width, height = im.size
    finding = Finding(
        check="reference", version="1", label="derived_and_edited", score=0.97,
        summary="Claim photo is listing image 1 (scaled, re-saved); 1.2% of it was changed",
        reference=listing.name, measurements={"edited_fraction": 0.012, "coverage": 1.0},
        thresholds={"edited_fraction": 0.002}, regions=[region], details={"homography": homography},
    )
    report = Report(ClaimInfo("claim.jpg", claim_sha, width, height, "JPEG"), "likely_forged", 0.97, [finding],
                    decided_by="reference:derived_and_edited", explanation="reference scored 0.97")
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    return CaseFile(
        case_id="c-forged", status="in_review", claim_type="refund_only", reason="damaged", merchant="Demo Shop",
        buyer="buyer-7f3a", order_ref="o-1001", created_at=now, deadline=now + timedelta(hours=48),
        photos=[PhotoResult(
            EvidenceItem(claim_sha, "claim.jpg", "claim_photo", "image/jpeg", len(claim_bytes), now, "buyer"),
            report,
            EvidenceItem(ref_sha, listing.name, "reference", "image/jpeg", len(reference_bytes), now, "merchant"),
        )],
        audit=[AuditLine(now, "buyer:b1", "claim.filed", "claim filed with 1 photo", "ab" * 32)],
    )


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
