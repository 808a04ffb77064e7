"""The costly readers (DWT-DCT watermark, visible-label OCR), their gates, and ``proofdesk check --json``."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from proofdesk.checks.base import CheckContext
from proofdesk.checks.provenance import ProvenanceCheck
from proofdesk.checks.provenance import _watermark as wm
from proofdesk.cli.main import inner_main
from proofdesk.evidence import read_evidence
from tests.conftest import PROVENANCE, encode, photo_like


@pytest.mark.parametrize("payload", wm.PAYLOADS, ids=lambda p: p.name.split()[0])
def test_watermark_roundtrip_and_jpeg95(payload: wm.Payload) -> None:
    marked = wm.encode(photo_like(512, 512, seed=7), payload.bits)
    match = wm.best_match(marked)
    assert match.payload == payload and match.detected
    q95 = np.asarray(Image.open(io.BytesIO(encode(marked, "JPEG", quality=95))).convert("RGB"))
    # The 136-bit SD1 payload has only ~7 repeats per bit on 512x512 and falls below its strict threshold after
    # a q95 re-save (measured 121/136; reference/provenance.md §3.1 reports 118/136): positive-only by design.
    assert wm.best_match(q95).detected == (len(payload.bits) <= 48)


def test_watermark_absent_on_unmarked_and_destroyed_by_q75() -> None:
    image = photo_like(512, 512, seed=8)
    assert not wm.best_match(image).detected
    marked = wm.encode(image, wm.PAYLOADS[0].bits)
    q75 = np.asarray(Image.open(io.BytesIO(encode(marked, "JPEG", quality=75))).convert("RGB"))
    assert not wm.best_match(q75).detected


def test_watermark_in_the_check_behind_its_gate() -> None:
    check = ProvenanceCheck.from_config({"ocr": "never"})
    marked = wm.encode(photo_like(512, 512, seed=9), wm.PAYLOADS[0].bits)
    finding = check.run(read_evidence(encode(marked, "PNG"), name="sdxl.png"), CheckContext())
    assert (finding.label, finding.score) == ("ai_generated", 0.8)
    assert finding.measurements["watermark_matching_bits"] == 48
    assert finding.thresholds["watermark_matching_bits"] == 44
    # A q70 JPEG fails the gate (the mark cannot survive it), so nothing is decoded.
    low = check.run(read_evidence(encode(marked, "JPEG", quality=70), name="low.jpg"), CheckContext())
    assert low.measurements["watermark_decoded"] is False
    assert "quality" in low.details["read"]["watermark_gate"]


def test_ocr_gate_closed_on_flat_corners() -> None:
    check = ProvenanceCheck.from_config({"watermark": "never"})
    flat = np.full((400, 600, 3), 240, dtype=np.uint8)
    finding = check.run(read_evidence(encode(flat, "PNG"), name="flat.png"), CheckContext())
    assert finding.measurements["ocr_ran"] is False
    assert finding.measurements["ocr_gate_glyph_run"] == 0


@pytest.mark.parametrize("name", ["aigc/doubao_black_1x1_1.png", "aigc/jimeng_cap_A.png"])
def test_ocr_gate_open_on_visible_labels(name: str) -> None:
    from proofdesk.checks.provenance import _ocr

    assert _ocr.corner_text_line(read_evidence(PROVENANCE / name).reduced(1024)) >= 4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "vendor", "region"),
    [("aigc/doubao_black_1x1_1.png", "Doubao", "bottom-right"), ("aigc/jimeng_cap_A.png", "Jimeng", "bottom-right")],
)
def test_visible_label_read_by_ocr(name: str, vendor: str, region: str) -> None:
    check = ProvenanceCheck.from_config({"ocr": "always", "watermark": "never"})
    finding = check.run(read_evidence(PROVENANCE / name), CheckContext())
    visible = [s for s in finding.details["signals"] if s["kind"] == "visible_label"]
    assert visible, finding.details["signals"]
    assert visible[0]["detail"]["vendor"] == vendor
    assert visible[0]["source"] == f"pixels: {region}"
    box = finding.regions[0]
    assert box.x > finding.regions[0].w and box.y > 1500  # lower right of a 2048x2048 image


@pytest.mark.slow
def test_no_visible_label_on_a_listing_photo(listings_dir: Path) -> None:
    check = ProvenanceCheck.from_config({"ocr": "always", "watermark": "never"})
    first = sorted(listings_dir.glob("*.jpg"))[0]
    finding = check.run(read_evidence(first), CheckContext())
    assert not [s for s in finding.details["signals"] if s["kind"] == "visible_label"]


def _cli_json(path: Path) -> dict[str, object]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = inner_main(["check", str(path), "--json"])
    assert code == 0
    text = out.getvalue()
    return json.loads(text[text.index("{") :])  # type: ignore[no-any-return]


FIXTURES = sorted(p for p in PROVENANCE.glob("*/*") if p.suffix.lower() in (".jpg", ".png", ".heic", ".webp"))


@pytest.mark.slow
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_cli_json_shows_provenance_and_metadata(path: Path) -> None:
    report = _cli_json(path)
    findings = {f["check"]: f for f in report["findings"]}  # type: ignore[attr-defined]
    assert {"provenance", "metadata"} <= set(findings)
    assert findings["provenance"]["details"]["signals"] is not None
