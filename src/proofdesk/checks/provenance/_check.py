"""The ``provenance`` check: every AI label, content credential and tool trace the claim file carries.

Flow: raw metadata blocks from ``proofdesk.evidence`` -> readers (C2PA, China AIGC label, XMP/IPTC,
generator metadata, vendor EXIF, editing software) -> optional costly readers behind cheap gates (open
DWT-DCT watermark, visible-label OCR) -> the strongest signal decides label and score; all signals are kept
in ``details`` with the field and value each one read. Positive-only: finding nothing gives score 0 and
label ``none``; it never lowers risk.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Self

from PIL import Image

from proofdesk.checks.base import CheckContext, Finding, JSONScalar, Region
from proofdesk.checks.provenance import _aigc, _c2pa, _containers, _ocr, _stealth, _tools, _watermark, _xmp
from proofdesk.checks.provenance._signals import (
    SCORE_VISIBLE_LABEL,
    SCORE_WATERMARK,
    Signal,
    clip,
    strongest,
)
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence

_MODES: Final = ("auto", "always", "never")
_DEFAULTS: Final[dict[str, Any]] = {
    "trust_list": "bundled",  # "bundled" (package data) or "none"
    "ocr": "auto",  # visible-label OCR: auto = behind the gate, always, never
    "watermark": "auto",  # DWT-DCT decoding: auto = behind the gate, always, never
    "ocr_gate_min_glyphs": 4,  # glyph-like blobs in a row in an edge crop ("AI生成" is four glyphs)
    "watermark_min_jpeg_quality": 90,  # the mark does not survive q85 and below (reference §3.1)
    "ocr_min_confidence": 0.5,
}


def jpeg_quality(data: bytes) -> int | None:
    """Estimate the JPEG quality from the luminance table (libjpeg scaling), or None if not a JPEG."""
    standard = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
    try:
        with Image.open(io.BytesIO(data)) as image:
            tables = getattr(image, "quantization", None)
    except (OSError, ValueError, SyntaxError):
        return None
    if not tables or 0 not in tables:
        return None
    scale = 100.0 * sum(tables[0]) / sum(standard)
    quality = (200.0 - scale) / 2.0 if scale <= 100 else 5000.0 / scale
    return int(min(100.0, max(1.0, quality)) + 0.5)


class ProvenanceCheck:
    """Reads provenance; see README.md beside this module for the table of what is read and what it proves."""

    name: ClassVar[str] = "provenance"
    version: ClassVar[str] = "1"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        trust = _c2pa.TrustStore.bundled() if self.config["trust_list"] == "bundled" else _c2pa.TrustStore.empty()
        self._c2pa = _c2pa.C2paReader(trust)
        self._ocr = _ocr.LabelReader()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Validate overrides against the defaults above."""
        unknown = set(config) - set(_DEFAULTS)
        if unknown:
            raise InvalidSettings(f"provenance: unknown option(s) {', '.join(sorted(unknown))}")
        merged = {**_DEFAULTS, **config}
        if merged["trust_list"] not in ("bundled", "none"):
            raise InvalidSettings("provenance: trust_list must be 'bundled' or 'none'")
        for key in ("ocr", "watermark"):
            if merged[key] not in _MODES:
                raise InvalidSettings(f"provenance: {key} must be one of {', '.join(_MODES)}")
        value = merged["ocr_min_confidence"]
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise InvalidSettings("provenance: ocr_min_confidence must be a number in [0, 1]")
        glyphs = merged["ocr_gate_min_glyphs"]
        if not isinstance(glyphs, int) or isinstance(glyphs, bool) or glyphs < 1:
            raise InvalidSettings("provenance: ocr_gate_min_glyphs must be a positive integer")
        quality = merged["watermark_min_jpeg_quality"]
        if not isinstance(quality, int) or isinstance(quality, bool) or not 1 <= quality <= 100:
            raise InvalidSettings("provenance: watermark_min_jpeg_quality must be an integer in [1, 100]")
        return cls(merged)

    # -- the cheap part: every metadata signal --------------------------------------------------------------

    def metadata_signals(self, claim: Evidence) -> tuple[list[Signal], dict[str, Any]]:
        """All signals that come from metadata blocks and byte scans (no pixel work). Never raises."""
        meta = claim.metadata
        signals: list[Signal] = []
        facts: dict[str, Any] = {}
        for block, size in meta.oversized.items():
            signals.append(Signal("malformed", "none", 0.1, f"metadata block {block}", f"{size} bytes",
                                  f"metadata block {block} of {size} bytes exceeds the size limit; not parsed"))
        props = _xmp.parse_xmp(meta.xmp) if meta.xmp else _xmp.XmpProperties()
        if meta.xmp:
            signals += _xmp.xmp_signals(props)
        exif = _tools.exif_strings(meta.exif_tags)
        facts["exif"] = {_tools.EXIF_NAMES[k]: clip(v, 120) for k, v in exif.items()}
        # China AIGC label: XMP (parsed, or the raw packet if the XML was refused), text chunks, EXIF strings.
        xmp_values = [(f"XMP TC260:{name}", v) for (ns, name), vs in props.values.items()
                      if ns == _xmp.NS_TC260 and "AIGC" in name.upper() for v in vs]
        signals += _aigc.read_labels(
            xmp_values=xmp_values,
            text_chunks=meta.text,
            exif_strings=[(_tools.EXIF_NAMES[k], v) for k, v in exif.items()],
            data=claim.data,
            head_end=_containers.jpeg_header_end(claim.data) if claim.format == "JPEG" else None,
        )
        signals += _tools.generator_signals(meta.text, exif)
        if claim.format == "PNG":
            signals += _stealth.stealth_signals(claim.data, claim.mode)
        signals += _tools.vendor_signals(exif, claim.data)
        software = [(_tools.EXIF_NAMES[k], exif[k]) for k in (_tools.TAG_SOFTWARE, _tools.TAG_PROCESSING_SOFTWARE,
                                                              _tools.TAG_MAKE, _tools.TAG_ARTIST) if k in exif]
        software += _xmp.software_values(props)
        software += [(f"PNG text chunk {k}", v) for k, v in meta.text.items() if k.lower() in ("software", "source")]
        signals += _tools.software_signals(software)
        # C2PA: embedded store (byte gate first), or a remote pointer in XMP (reported, never fetched).
        remote = _xmp.remote_manifest_url(props)
        if _containers.has_c2pa(claim.data, claim.format):
            store, error = self._c2pa.read(claim.data, claim.format)
            if store is not None:
                signals += _c2pa.store_signals(store, self._c2pa.trust)
            elif error is not None:
                signals.append(_c2pa.error_signal(error))
        elif remote:
            signals.append(_c2pa.error_signal(f"Remote: manifest at url {remote}"))
        return signals, facts

    # -- the costly parts, each behind a cheap gate ----------------------------------------------------------

    def _camera_exif(self, claim: Evidence) -> bool:
        tags = claim.metadata.exif_tags
        return bool(tags.get(_tools.TAG_MAKE)) and bool(tags.get(_tools.TAG_MODEL)) and 0x9003 in tags

    def watermark_gate(self, claim: Evidence, current: float) -> tuple[bool, str]:
        """Whether decoding can matter: not already decided, a generator-like size, lossless or q >= 90."""
        mode = self.config["watermark"]
        if mode != "auto":
            return mode == "always", f"mode {mode}"
        if current >= SCORE_WATERMARK:
            return False, "a stronger signal already decides"
        if self._camera_exif(claim):
            return False, "camera capture EXIF present"
        w, h = claim.width, claim.height
        if min(w, h) < 256 or max(w, h) > 2048 or w % 8 or h % 8:
            return False, f"{w}x{h} is not a generator output size (256-2048, multiple of 8)"
        if claim.format == "JPEG":
            quality = jpeg_quality(claim.data)
            if quality is None or quality < self.config["watermark_min_jpeg_quality"]:
                return False, f"JPEG quality {quality} too low for the mark to survive"
        elif claim.format not in ("PNG", "WEBP"):
            return False, f"format {claim.format}"
        return True, "gate passed"

    def ocr_gate(self, claim: Evidence, current: float) -> tuple[bool, str, int | None]:
        """Whether OCR can matter: not already decided, no camera EXIF, text-like edges in a corner."""
        mode = self.config["ocr"]
        if mode != "auto":
            return mode == "always", f"mode {mode}", None
        if current >= SCORE_VISIBLE_LABEL:
            return False, "a stronger signal already decides", None
        if self._camera_exif(claim):
            return False, "camera capture EXIF present", None
        glyphs = _ocr.corner_text_line(claim.reduced(1024))
        if glyphs < self.config["ocr_gate_min_glyphs"]:
            why = f"longest glyph run in an edge crop is {glyphs}, below {self.config['ocr_gate_min_glyphs']}"
            return False, why, glyphs
        return True, "gate passed", glyphs

    def run(self, claim: Evidence, context: CheckContext) -> Finding:  # noqa: ARG002 - context unused by design
        """Read everything, then summarise; see module docstring."""
        cost: dict[str, float] = {}
        t0 = time.perf_counter()
        signals, facts = self.metadata_signals(claim)
        cost["metadata"] = (time.perf_counter() - t0) * 1000
        measurements: dict[str, JSONScalar] = {}
        thresholds: dict[str, JSONScalar] = {}
        regions: list[Region] = []
        top = strongest(signals)
        current = top.score if top else 0.0

        run_wm, why_wm = self.watermark_gate(claim, current)
        measurements["watermark_decoded"] = run_wm
        facts["watermark_gate"] = why_wm
        if run_wm:
            t0 = time.perf_counter()
            match = _watermark.best_match(claim.pixels())
            cost["watermark"] = (time.perf_counter() - t0) * 1000
            bits = len(match.payload.bits)
            measurements["watermark_payload"] = match.payload.name
            measurements["watermark_matching_bits"] = match.matching_bits
            measurements["watermark_bits"] = bits
            thresholds["watermark_matching_bits"] = match.payload.threshold
            if match.detected:
                signals.append(Signal("watermark", "ai_generated", SCORE_WATERMARK, "pixels: DWT-DCT U-channel LL band",
                                      f"{match.matching_bits}/{bits} bits", f"open invisible watermark of "
                                      f"{match.payload.name}: {match.matching_bits}/{bits} bits match "
                                      f"(threshold {match.payload.threshold})", {"payload": match.payload.name}))
            current = max(current, SCORE_WATERMARK if match.detected else 0.0)

        run_ocr, why_ocr, glyphs = self.ocr_gate(claim, current)
        measurements["ocr_ran"] = run_ocr
        facts["ocr_gate"] = why_ocr
        if glyphs is not None:
            measurements["ocr_gate_glyph_run"] = glyphs
            thresholds["ocr_gate_glyph_run"] = self.config["ocr_gate_min_glyphs"]
        if run_ocr:
            t0 = time.perf_counter()
            labels = self._ocr.read(claim.reduced(1024), claim.width)
            cost["ocr"] = (time.perf_counter() - t0) * 1000
            if self._ocr.unavailable_reason:
                facts["ocr_unavailable"] = self._ocr.unavailable_reason
            thresholds["ocr_min_confidence"] = self.config["ocr_min_confidence"]
            for label in labels:
                if label.confidence < self.config["ocr_min_confidence"]:
                    continue
                who = f" ({label.vendor})" if label.vendor else ""
                signals.append(Signal("visible_label", "ai_generated", SCORE_VISIBLE_LABEL, f"pixels: {label.region}",
                                      label.text, f"visible AI label {label.text!r}{who} in the {label.region} corner "
                                      f"(OCR confidence {label.confidence:.2f})",
                                      {"vendor": label.vendor, "confidence": round(label.confidence, 3)}))
                x, y, w, h = label.box
                regions.append(Region(x, y, w, h, SCORE_VISIBLE_LABEL, cue=f"visible label {label.text}"))
                measurements["visible_label_text"] = label.text
        if self._c2pa.available is False:
            facts["c2pa_unavailable"] = self._c2pa.unavailable_reason
        return self._finding(signals, measurements, thresholds, regions, facts, cost)

    def _finding(
        self,
        signals: list[Signal],
        measurements: dict[str, JSONScalar],
        thresholds: dict[str, JSONScalar],
        regions: list[Region],
        facts: dict[str, Any],
        cost: dict[str, float],
    ) -> Finding:
        top = strongest(signals)
        measurements["signals"] = len(signals)
        for signal in signals:
            prefix = signal.kind
            measurements.setdefault(f"{prefix}_source", signal.source)
            measurements.setdefault(f"{prefix}_value", clip(signal.value, 160))
            for key in ("validation_state", "trust", "signer", "claim_generator", "Label", "ContentProducer",
                        "producer_name", "ProduceID", "tool", "digital_source_type", "genAIType"):
                value = signal.detail.get(key)
                if isinstance(value, str | int | float | bool) and value != "":
                    shown = value if not isinstance(value, str) else clip(value, 120)
                    measurements.setdefault(f"{prefix}_{key}", shown)
        details: dict[str, Any] = {
            "signals": [s.to_json() for s in signals],
            "read": facts,
            "cost_ms": {k: round(v, 2) for k, v in cost.items()},
        }
        if top is None or (top.score == 0 and top.label == "none"):
            summary = "no provenance signal found (absence proves nothing: re-encoding strips labels)"
            if top is not None:
                summary = f"{top.summary}; no AI or credential signal"
            return Finding(self.name, self.version, "none", 0.0, summary, measurements=measurements,
                           thresholds=thresholds, regions=regions, details=details)
        others = len(signals) - 1
        summary = top.summary + (f" (+{others} more signal{'s' if others > 1 else ''})" if others else "")
        return Finding(self.name, self.version, top.label, top.score, summary, measurements=measurements,
                       thresholds=thresholds, regions=regions, details=details)
