"""Overlay renderer: sized derivatives of stored photos, drawn from a report's findings.

Used by the console's case page (served as image URLs) and by the evidence report (embedded). Everything is
drawn at a *derivative* size (longest side ``max_side``, 1024 px by default), never from or as the original:
the original stays untouched in the blob store and is only linked for download.

What each view shows, and what it is computed from:

- ``claim``: the claim photo, scaled.
- ``outline``: the claim with every localized region of every finding outlined (red = edit, amber = other),
  from ``Finding.regions`` (claim full-resolution pixels, scaled here).
- ``reference``: the matched reference warped into the claim's frame with the transform the ``reference``
  check recorded (``details.homography``, reference -> claim pixels), so claim and reference line up under
  the slider; without a transform it is fitted into the frame and labelled "not aligned".
- ``mask``: the edit mask — the stored mask PNG when the case service kept one, else the regions filled.
- ``heat``: where claim and aligned reference differ (absolute difference in Lab colour, blurred), or, with
  no reference, the region scores spread as Gaussian blobs. It is a visual aid; the verdict never reads it.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from proofdesk.checks.base import Region
from proofdesk.evidence import read_evidence

__all__ = [
    "DEFAULT_SIDE",
    "VIEWS",
    "DerivativeCache",
    "aligned_reference",
    "derivative",
    "heat_overlay",
    "mask_overlay",
    "outlined",
]

RGB = npt.NDArray[np.uint8]
DEFAULT_SIDE: Final = 1024
VIEWS: Final = ("claim", "outline", "reference", "mask", "heat")
_RENDER_VERSION: Final = "2"  # bump when drawing changes so cached derivatives are redrawn
_EDIT: Final = (220, 30, 30)
_OTHER: Final = (240, 160, 0)


def _decode(data: bytes, max_side: int) -> tuple[RGB, int, int]:
    """Scaled RGB copy plus the full-resolution width and height (display orientation)."""
    evidence = read_evidence(data)
    return np.array(evidence.reduced(max_side)), evidence.width, evidence.height


def _encode(rgb: RGB, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(rgb)
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=82, optimize=True)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()


def derivative(data: bytes, *, max_side: int = DEFAULT_SIDE) -> bytes:
    """JPEG copy of an image whose longer side is at most ``max_side``."""
    rgb, _, _ = _decode(data, max_side)
    return _encode(rgb)


def _scaled_box(region: Region, scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    x0 = max(0, min(width - 1, round(region.x * scale)))
    y0 = max(0, min(height - 1, round(region.y * scale)))
    x1 = max(x0 + 1, min(width - 1, round((region.x + region.w) * scale)))
    y1 = max(y0 + 1, min(height - 1, round((region.y + region.h) * scale)))
    return x0, y0, x1, y1


def outlined(
    data: bytes, regions: Sequence[tuple[Region, bool]], *, max_side: int = DEFAULT_SIDE
) -> bytes:
    """The claim with each region outlined; ``regions`` pairs a region with "is an edit" (red) or not (amber)."""
    rgb, width, _ = _decode(data, max_side)
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    scale = rgb.shape[1] / width
    thickness = max(2, round(max(rgb.shape[:2]) / 250))
    for region, is_edit in regions:
        box = _scaled_box(region, scale, rgb.shape[1], rgb.shape[0])
        pad = thickness * 2  # outline just outside the region so the edit itself stays visible
        draw.rectangle(
            (max(0, box[0] - pad), max(0, box[1] - pad), min(rgb.shape[1] - 1, box[2] + pad),
             min(rgb.shape[0] - 1, box[3] + pad)),
            outline=_EDIT if is_edit else _OTHER,
            width=thickness,
        )
    return _encode(np.asarray(image))


def _warp_reference(
    reference: bytes, claim_size: tuple[int, int], frame: tuple[int, int], homography: list[list[float]] | None
) -> tuple[RGB, bool]:
    """The reference drawn in a frame of the claim derivative's size; True when truly aligned."""
    frame_w, frame_h = frame
    ref, ref_w, _ = _decode(reference, max(frame) * 2)
    if homography is not None:
        claim_scale = frame_w / claim_size[0]
        ref_scale = ref.shape[1] / ref_w
        full = np.asarray(homography, dtype=np.float64)
        scaled = np.diag([claim_scale, claim_scale, 1.0]) @ full @ np.diag([1 / ref_scale, 1 / ref_scale, 1.0])
        warped = cv2.warpPerspective(
            ref, scaled, (frame_w, frame_h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
            borderValue=(128, 128, 128),
        )
        return np.ascontiguousarray(warped), True
    # No transform recorded: fit the reference into the frame (letterboxed) so the slider still works.
    canvas = np.full((frame_h, frame_w, 3), 128, dtype=np.uint8)
    scale = min(frame_w / ref.shape[1], frame_h / ref.shape[0])
    size = (max(1, round(ref.shape[1] * scale)), max(1, round(ref.shape[0] * scale)))
    fitted = cv2.resize(ref, size, interpolation=cv2.INTER_AREA)
    x0, y0 = (frame_w - size[0]) // 2, (frame_h - size[1]) // 2
    canvas[y0 : y0 + size[1], x0 : x0 + size[0]] = fitted
    return canvas, False


def aligned_reference(
    reference: bytes, claim: bytes, homography: list[list[float]] | None, *, max_side: int = DEFAULT_SIDE
) -> tuple[bytes, bool]:
    """The reference in the claim derivative's frame (same pixel grid), and whether it is truly aligned."""
    rgb, width, height = _decode(claim, max_side)
    warped, aligned = _warp_reference(reference, (width, height), (rgb.shape[1], rgb.shape[0]), homography)
    return _encode(warped), aligned


def _blend(base: RGB, colour: RGB, alpha: npt.NDArray[np.float32]) -> RGB:
    a = alpha[..., None]
    return np.clip(base.astype(np.float32) * (1 - a) + colour.astype(np.float32) * a, 0, 255).astype(np.uint8)


def mask_overlay(
    claim: bytes,
    *,
    mask_png: bytes | None = None,
    regions: Sequence[Region] = (),
    max_side: int = DEFAULT_SIDE,
) -> bytes:
    """The claim with the edit mask tinted red and its contour drawn."""
    rgb, width, _ = _decode(claim, max_side)
    h, w = rgb.shape[:2]
    if mask_png is not None:
        stored = np.asarray(Image.open(io.BytesIO(mask_png)).convert("L"))
        mask = cv2.resize(stored, (w, h), interpolation=cv2.INTER_NEAREST)
    else:
        mask = np.zeros((h, w), dtype=np.uint8)
        scale = w / width
        for region in regions:
            x0, y0, x1, y1 = _scaled_box(region, scale, w, h)
            mask[y0:y1, x0:x1] = 255
    on = (mask > 127).astype(np.float32) * 0.45
    out = _blend(rgb, np.full_like(rgb, _EDIT), on)
    contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, _EDIT, max(2, round(max(h, w) / 300)))
    return _encode(out)


def heat_overlay(
    claim: bytes,
    *,
    reference: bytes | None = None,
    homography: list[list[float]] | None = None,
    heatmap: npt.NDArray[np.float32] | None = None,
    regions: Sequence[Region] = (),
    max_side: int = DEFAULT_SIDE,
) -> bytes:
    """The claim under a heat map (stored one, else the difference to the aligned reference, else regions)."""
    rgb, width, height = _decode(claim, max_side)
    h, w = rgb.shape[:2]
    heat: npt.NDArray[np.float32]
    if heatmap is not None:
        heat = np.asarray(cv2.resize(heatmap.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    elif reference is not None and homography is not None:
        warped, _ = _warp_reference(reference, (width, height), (w, h), homography)
        lab_a = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
        lab_b = cv2.cvtColor(warped, cv2.COLOR_RGB2LAB).astype(np.float32)
        diff = np.linalg.norm(lab_a - lab_b, axis=2)
        diff = cv2.GaussianBlur(diff, (0, 0), sigmaX=max(1.0, w / 400))
        top = float(np.percentile(diff, 99.5)) or 1.0
        heat = np.clip(diff / top, 0, 1).astype(np.float32)
    else:
        heat = np.zeros((h, w), dtype=np.float32)
        scale = w / width
        for region in regions:
            x0, y0, x1, y1 = _scaled_box(region, scale, w, h)
            heat[y0:y1, x0:x1] = np.maximum(heat[y0:y1, x0:x1], float(region.score))
        if regions:
            blurred = np.asarray(cv2.GaussianBlur(heat, (0, 0), sigmaX=max(2.0, w / 80)), np.float32)
            heat = (blurred / max(float(blurred.max()), 1e-6)).astype(np.float32)
    coloured = np.asarray(
        cv2.cvtColor(cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB),
        np.uint8,
    )
    alpha = np.clip(heat * 0.75, 0, 0.75).astype(np.float32)
    return _encode(_blend(rgb, coloured, alpha))


class DerivativeCache:
    """Rendered derivatives on disk, keyed by what they were drawn from (so a new report redraws them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def key(*parts: object) -> str:
        """A stable file name for the inputs of one rendering."""
        text = "|".join([_RENDER_VERSION, *(str(p) for p in parts)])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_or_render(self, key: str, render: Callable[[], bytes]) -> bytes:
        """Cached bytes for ``key``, rendering and storing them (atomically) on a miss."""
        path = self.folder / key[:2] / f"{key}.jpg"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = render()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return data
