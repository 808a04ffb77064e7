"""The evidence report and overlays on a real listing photo with a drawn crack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proofdesk.dossier import (
    build_manifest,
    overlays,
    read_manifest,
    render_html,
    render_pdf,
    translator,
    verify_manifest,
)
from proofdesk.errors import UserInputError
from tests.unit.console.helpers import MemoryStore, cracked, forged_case, pixels


@pytest.fixture()
def listing(listings_dir: Path) -> Path:
    return sorted(listings_dir.glob("*.jpg"))[10]


def test_outline_is_drawn_around_the_region_only(listing: Path) -> None:
    claim, region, _ = cracked(listing)
    plain = pixels(overlays.derivative(claim, max_side=600))
    drawn = pixels(overlays.outlined(claim, [(region, True)], max_side=600))
    assert plain.shape == drawn.shape and max(plain.shape[:2]) == 600
    def red(rgb: np.ndarray) -> np.ndarray:
        r, g, b = (rgb[..., i].astype(int) for i in range(3))
        return (r > 150) & (g < 90) & (b < 90)

    outline = red(drawn) & ~red(plain)
    ys, xs = np.nonzero(outline)
    scale = plain.shape[1] / _width(claim)
    assert len(xs) > 2 * (region.w + region.h) * scale  # a closed box, several pixels thick
    # every new red pixel lies on the box around the region (within the pad + line width)
    assert xs.min() >= region.x * scale - 20 and xs.max() <= (region.x + region.w) * scale + 20
    assert ys.min() >= region.y * scale - 20 and ys.max() <= (region.y + region.h) * scale + 20


def _width(data: bytes) -> int:
    return pixels(data).shape[1]


def test_aligned_reference_lines_up_with_the_claim(listing: Path) -> None:
    claim, _, homography = cracked(listing)
    ref = listing.read_bytes()
    aligned, ok = overlays.aligned_reference(ref, claim, homography, max_side=512)
    unaligned, no = overlays.aligned_reference(ref, claim, [[1.3, 0, 40], [0, 1.3, 25], [0, 0, 1]], max_side=512)
    base = pixels(overlays.derivative(claim, max_side=512)).astype(float)
    assert ok and no
    good = np.abs(pixels(aligned).astype(float) - base).mean()
    bad = np.abs(pixels(unaligned).astype(float) - base).mean()
    assert good < 6 and bad > 2 * good


def test_heat_map_is_hottest_at_the_crack(listing: Path) -> None:
    claim, region, homography = cracked(listing)
    heat = pixels(overlays.heat_overlay(claim, reference=listing.read_bytes(), homography=homography, max_side=512))
    plain = pixels(overlays.derivative(claim, max_side=512))
    change = np.abs(heat.astype(int) - plain.astype(int)).sum(axis=2)
    scale = plain.shape[1] / _width(claim)
    x0, y0 = int(region.x * scale), int(region.y * scale)
    x1, y1 = int((region.x + region.w) * scale), int((region.y + region.h) * scale)
    inside = change[y0:y1, x0:x1].mean()
    assert inside > 3 * change.mean()


def test_report_html_and_pdf_verify_and_detect_tampering(listing: Path) -> None:
    store = MemoryStore()
    case = forged_case(store, listing)
    manifest = build_manifest(case)
    for lang in ("en", "zh"):
        html = render_html(case, store, translator(lang), manifest=manifest)
        assert b"data:image/jpeg;base64," in html and case.photos[0].photo.sha256.encode() in html
        assert read_manifest(html) == manifest
    assert "阈值".encode() in render_html(case, store, translator("zh"), manifest=manifest)
    pdf = render_pdf(case, store, translator("zh"), manifest=manifest)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    assert read_manifest(pdf) == manifest
    assert verify_manifest(manifest, store).ok
    reports = {"c-forged": [case.photos[0].report]}
    assert verify_manifest(manifest, store, current_reports=lambda c: reports[c]).checked_reports == 1
    # Change one stored byte of the claim photo: the report no longer verifies and names the file.
    sha = case.photos[0].photo.sha256
    store.blobs[sha] = store.blobs[sha][:-3] + b"\x00\x00\x00"
    result = verify_manifest(manifest, store)
    assert not result.ok and "claim.jpg" in result.problems[0]
    del store.blobs[sha]
    assert "not in the evidence store" in verify_manifest(manifest, store).problems[0]


def test_non_report_is_rejected() -> None:
    with pytest.raises(UserInputError):
        read_manifest(b"<html><body>hello</body></html>")
    with pytest.raises(UserInputError):
        verify_manifest({"schema": "other"}, MemoryStore())


def test_language_negotiation() -> None:
    from proofdesk.dossier import negotiate

    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.5") == "en"
    assert negotiate("fr-FR,zh-TW;q=0.7") == "zh"
    assert negotiate(None) == "en"
    assert negotiate("zh-CN", "en") == "en"


def test_finding_sentence_pairs_measurements_with_thresholds(listing: Path) -> None:
    store = MemoryStore()
    finding = forged_case(store, listing).photos[0].report.findings[0]  # type: ignore[union-attr]
    en = translator("en")
    from proofdesk.dossier import finding_sentence

    sentence = finding_sentence(finding, en)
    assert sentence.startswith("Reference match — copy of a reference, edited:")
    assert "edited_fraction 0.012 (threshold 0.002)" in sentence and "score 0.97" in sentence
    assert "阈值 0.002" in finding_sentence(finding, translator("zh"))


def test_case_template_shows_provenance_fields(listing: Path) -> None:
    from dataclasses import replace

    from proofdesk.checks.base import Finding
    from proofdesk.console.app import _photo_views, _templates
    from proofdesk.security import Principal, Role

    store = MemoryStore()
    case = forged_case(store, listing)
    photo = case.photos[0]
    label = Finding(check="provenance", version="1", label="ai_generated", score=0.95,
                    summary="China AIGC implicit label: Label=1 (AI-generated)",
                    details={"field": "XMP TC260:AIGC", "ContentProducer": "001191110108MA01KP2T5U00000"})
    report = replace(photo.report, findings=[*photo.report.findings, label])  # type: ignore[type-var]
    case = replace(case, photos=[replace(photo, report=report)])
    t = translator("en")
    html = _templates().get_template("pages/case.html").render(
        t=t, lang="en", me=Principal(Role.REVIEWER, None), hours_left=lambda _d: 10.0, path="/console/cases/x",
        sentence=lambda f: f.summary, notice="", case=case, history=None, reason_codes=[], can_decide=False,
        can_answer=False, can_appeal=False, can_add_evidence=False, can_request=False, evidence_items=[],
        views=_photo_views(case.photos), request=None,
    )
    assert "AI-generated" in html and "XMP TC260:AIGC" in html and "001191110108MA01KP2T5U00000" in html
