"""The ``pixels`` check: no-reference forensics of one claim photo (DESIGN.md §3).

Runs after evidence reading, beside the reference/provenance checks, when there may be no merchant image to
compare with. Each cue (JPEG lattice, noise, copy-move, resampling, recapture, synthetic; one module each)
returns a raw statistic; this module turns each into a calibrated score with a logistic curve centred on
the cue's threshold (score 0.6 = the threshold, set by ``bench/pixels_bench.py --calibrate`` on the tuning
split so that about 2% of untouched photos reach it), picks the strongest cue as the finding's label and
score, and fuses the local cues' maps into one heat map and, for ``local_edit``, a full-size mask.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

import cv2
import numpy as np

from proofdesk.checks.base import CheckContext, Finding, Region
from proofdesk.checks.pixels._common import F32, CueResult, luma, upsample_to
from proofdesk.checks.pixels.copy_move import analyze_copy_move, reduce_gray
from proofdesk.checks.pixels.jpeg_traces import analyze_jpeg_traces
from proofdesk.checks.pixels.noise import analyze_noise
from proofdesk.checks.pixels.recapture import analyze_recapture
from proofdesk.checks.pixels.resampling import analyze_resampling
from proofdesk.checks.pixels.synthetic import analyze_synthetic
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence

__all__ = ["CUES", "FIRE_AT", "LOCAL_CUES", "CueAnalysis", "PixelsCheck", "analyze", "load_calibration"]

#: Cues that localize an edit (label ``local_edit``), and the whole-image ones with their labels.
LOCAL_CUES: tuple[str, ...] = ("jpeg", "noise", "copy_move", "resampling")
CUES: tuple[str, ...] = (*LOCAL_CUES, "recapture", "synthetic")
_GLOBAL_LABEL = {"recapture": "recaptured", "synthetic": "synthetic"}
_CUE_TEXT = {
    "jpeg": "off the photo's first JPEG lattice",
    "noise": "noise level differs from the rest of the photo",
    "copy_move": "region duplicated within the photo",
    "resampling": "region resampled (scaled/rotated) unlike the rest",
    "recapture": "periodic screen/print pattern (moire)",
    "synthetic": "generator-like up-sampling residual",
}
#: Longer side of the working copy for copy-move (keypoints need no full resolution).
_WORK_SIDE = 1024


def load_calibration() -> dict[str, dict[str, float]]:
    """The committed calibration (per cue: ``threshold`` and ``scale`` of the raw statistic)."""
    text = resources.files("proofdesk.checks.pixels").joinpath("calibration.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    cues: dict[str, dict[str, float]] = data["cues"]
    return cues


#: Score of a cue exactly at its threshold. With the pixels weight of 0.6 a fired cue gives risk 0.36, just
#: over the default ``review_at`` (0.35): a fired cue sends the claim to a person, and can never reach
#: ``forged_at`` (0.85) alone.
FIRE_AT = 0.6
_OFFSET = math.log(FIRE_AT / (1.0 - FIRE_AT))


def calibrated(raw: float | None, threshold: float, scale: float) -> float:
    """Logistic map of a raw statistic: :data:`FIRE_AT` exactly at ``threshold``; ``scale`` sets the steepness."""
    if raw is None or not math.isfinite(raw):
        return 0.0
    z = (raw - threshold) / max(scale, 1e-6) + _OFFSET
    return float(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))))


@dataclass
class CueAnalysis:
    """All cues' raw results on one image (what the benchmark calibrates and what the check explains)."""

    cues: dict[str, CueResult]
    shape: tuple[int, int]


def analyze(claim: Evidence) -> CueAnalysis:
    """Run every cue on the claim's pixels (full resolution where the cue needs it)."""
    rgb = claim.pixels()
    y = luma(rgb)
    table: list[int] | None = None
    if claim.format == "JPEG":
        table = _luma_table(claim)
    small_gray, _ = reduce_gray(claim.reduced(_WORK_SIDE))
    results = [
        analyze_jpeg_traces(rgb, y, last_table=table),
        # Above 4 MP the noise map is computed on a 2x-binned copy: the same relative comparison, a quarter of the work.
        analyze_noise(_binned(y) if y.size > 4_000_000 else y),
        analyze_copy_move(small_gray, y),
        analyze_resampling(y),
        analyze_recapture(y),
        analyze_synthetic(y),
    ]
    return CueAnalysis(cues={r.name: r for r in results}, shape=(rgb.shape[0], rgb.shape[1]))


def _binned(y: F32) -> F32:
    h, w = y.shape[0] // 2 * 2, y.shape[1] // 2 * 2
    return np.asarray(cv2.resize(y[:h, :w], (w // 2, h // 2), interpolation=cv2.INTER_AREA), dtype=np.float32)


def _luma_table(claim: Evidence) -> list[int] | None:
    """The file's luma quantization table in natural (row-major) order, via Pillow."""
    import io

    from PIL import Image, JpegImagePlugin

    try:
        with Image.open(io.BytesIO(claim.data)) as image:
            if not isinstance(image, JpegImagePlugin.JpegImageFile):
                return None
            tables = image.quantization
    except (OSError, ValueError):
        return None
    if not tables or 0 not in tables:
        return None
    # Pillow gives natural (row-major) order, e.g. quality 50 starts 16, 11, 10, 16 (the Annex K table).
    return [int(v) for v in tables[0]]


@dataclass(frozen=True)
class PixelsCheck:
    """No-reference pixel forensics: local edits, recapture, synthetic images."""

    name: ClassVar[str] = "pixels"
    version: ClassVar[str] = "0.1.0"

    calibration: Mapping[str, Mapping[str, float]]
    #: Heat at or above which a pixel belongs to the edit mask (0.6 chosen over 0.4-0.8 on the tuning split).
    mask_threshold: float = 0.6
    #: Smallest mask component kept, as a fraction of the image area.
    min_region: float = 0.0005

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PixelsCheck:
        """Build from overrides: ``{"thresholds": {cue: raw}, "mask_threshold": x, "min_region": f}``."""
        known = {"thresholds", "mask_threshold", "min_region"}
        unknown = set(config) - known
        if unknown:
            raise InvalidSettings(f"pixels: unknown setting(s) {', '.join(sorted(unknown))}")
        calibration = {k: dict(v) for k, v in load_calibration().items()}
        for cue, value in dict(config.get("thresholds", {})).items():
            if cue not in calibration:
                raise InvalidSettings(f"pixels: no cue named {cue!r}; known: {', '.join(calibration)}")
            if not isinstance(value, int | float):
                raise InvalidSettings(f"pixels: threshold of {cue!r} must be a number")
            calibration[cue]["threshold"] = float(value)
        mask_threshold = float(config.get("mask_threshold", 0.6))
        min_region = float(config.get("min_region", 0.0005))
        if not 0.0 < mask_threshold < 1.0 or not 0.0 <= min_region < 1.0:
            raise InvalidSettings("pixels: mask_threshold must be in (0, 1) and min_region in [0, 1)")
        return cls(calibration=calibration, mask_threshold=mask_threshold, min_region=min_region)

    def scores(self, analysis: CueAnalysis) -> dict[str, float]:
        """Calibrated score of every cue."""
        out: dict[str, float] = {}
        for cue in CUES:
            result = analysis.cues.get(cue)
            key = self.calibration_key(result) if result is not None else cue
            cal = self.calibration.get(key) or self.calibration.get(cue)
            out[cue] = 0.0 if result is None or cal is None else calibrated(result.raw, cal["threshold"], cal["scale"])
        return out

    @staticmethod
    def calibration_key(result: CueResult) -> str:
        """The calibration entry for a cue result: the JPEG cue has one per mode (lattice fit, DQ gaps)."""
        if result.name == "jpeg" and result.measurements.get("mode") == "dq":
            return "jpeg_dq"
        return result.name

    def run(self, claim: Evidence, context: CheckContext) -> Finding:  # noqa: ARG002 - no context needed
        """Analyse the claim and explain the strongest cue."""
        return self.finding(analyze(claim))

    def finding(self, analysis: CueAnalysis) -> Finding:
        """Turn cue results into the finding (split from :meth:`run` so the benchmark can reuse analyses)."""
        scores = self.scores(analysis)
        h, w = analysis.shape
        heat = self.fused_heatmap(analysis, scores)
        best = max(CUES, key=lambda c: scores[c])
        score = scores[best]
        fired = score >= FIRE_AT
        label = "none"
        if fired:
            label = "local_edit" if best in LOCAL_CUES else _GLOBAL_LABEL[best]
        mask = None
        regions: list[Region] = []
        if label == "local_edit":
            # The mask comes from the cues that fired only: a quiet cue's map is shown in the heat map as a
            # hint but does not draw regions (on the tuning split this raised the mask's precision).
            fired_heat = self.fused_heatmap(analysis, scores, fired_only=True)
            mask, regions = self._mask_and_regions(fired_heat, (h, w), best, scores)
            if not regions:  # the statistic fired but nothing is big enough to show: say so, do not guess
                label, mask = "none", None
        measurements: dict[str, float | int | str | bool | None] = {}
        for cue, result in analysis.cues.items():
            measurements[f"{cue}.raw"] = None if result.raw is None else round(result.raw, 4)
            measurements[f"{cue}.score"] = round(scores[cue], 4)
            for key, value in result.measurements.items():
                measurements[f"{cue}.{key}"] = value
        thresholds = {
            f"{cue}.raw": round(
                (self.calibration.get(self.calibration_key(analysis.cues[cue])) or self.calibration[cue])["threshold"],
                4,
            )
            for cue in CUES
            if cue in analysis.cues
        }
        thresholds["score"] = FIRE_AT
        thresholds["mask_heat"] = self.mask_threshold
        skipped = {cue: r.skipped for cue, r in analysis.cues.items() if r.skipped}
        if label == "none":
            summary = f"no pixel cue reached its threshold (strongest: {best} {score:.2f})"
        elif label == "local_edit":
            area = float(np.count_nonzero(mask)) / float(h * w) if mask is not None else 0.0
            summary = f"{_CUE_TEXT[best]}: {len(regions)} region(s), {100 * area:.1f}% of the photo (score {score:.2f})"
        else:
            summary = f"{_CUE_TEXT[best]} (score {score:.2f}); a hint only, not proof"
        return Finding(
            check=self.name,
            version=self.version,
            label=label,
            score=float(score),
            summary=summary,
            measurements=measurements,
            thresholds=thresholds,
            regions=regions,
            details={"cue": best, "skipped": skipped} if skipped else {"cue": best},
            mask=mask,
            heatmap=heat,
        )

    def fused_heatmap(self, analysis: CueAnalysis, scores: Mapping[str, float], *, fired_only: bool = False) -> F32:
        """Per-pixel max of the local cues' maps, each scaled by how strongly its cue fired (capped at 1);
        with ``fired_only`` only the cues at or above :data:`FIRE_AT` count.

        Working grid: one cell per 8x8 block of the claim (the JPEG cue's native grid).
        """
        h, w = analysis.shape
        grid = (max(1, math.ceil(h / 8)), max(1, math.ceil(w / 8)))
        fused = np.zeros(grid, np.float32)
        for cue in LOCAL_CUES:
            result = analysis.cues.get(cue)
            if result is None or result.heatmap is None or (fired_only and scores[cue] < FIRE_AT):
                continue
            gain = min(1.0, 2.0 * scores[cue])
            fused = np.maximum(fused, upsample_to(result.heatmap, grid) * gain)
        clipped: F32 = np.clip(fused, 0.0, 1.0).astype(np.float32)
        return clipped

    def _mask_and_regions(
        self, heat: F32, shape: tuple[int, int], best: str, scores: Mapping[str, float]
    ) -> tuple[np.ndarray[Any, np.dtype[np.uint8]], list[Region]]:
        h, w = shape
        binary = (heat >= self.mask_threshold).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        cell_area = 64.0
        min_cells = self.min_region * h * w / cell_area
        keep = np.zeros(count, dtype=bool)
        regions: list[Region] = []
        for i in range(1, count):
            if stats[i, cv2.CC_STAT_AREA] < max(2.0, min_cells):
                continue
            keep[i] = True
            x, y, bw, bh = (int(v) * 8 for v in stats[i, :4])
            region_heat = float(heat[labels == i].mean())
            regions.append(
                Region(
                    x=x,
                    y=y,
                    w=min(bw, w - x),
                    h=min(bh, h - y),
                    score=round(min(1.0, region_heat * scores[best] * 2.0), 4),
                    cue=best,
                )
            )
        cells = keep[labels].astype(np.uint8) * 255
        mask = cv2.resize(cells, (math.ceil(w / 8) * 8, math.ceil(h / 8) * 8), interpolation=cv2.INTER_NEAREST)
        full = np.ascontiguousarray(mask[:h, :w], dtype=np.uint8)
        regions.sort(key=lambda r: r.score, reverse=True)
        return full, regions[:10]
