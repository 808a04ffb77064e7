"""Deterministic local edits with their true masks: what a fraudster adds to a listing photo.

Where this sits: benchmark set construction. ``bench/reference_bench.py`` (and the pixel-forensics benchmark)
take a real photo (``bench.datasets.photos``), apply one local edit from here, then a global transform
(``bench.datasets.transforms``) that moves the mask along with the pixels.

Every generator is a pure function of (image, area fraction, seed[, donor]) and returns an :class:`Edit`:
the edited RGB image and the true mask. The mask marks the pixels the edit *visibly changed* (the edit's
footprint where the per-pixel change is at least :data:`VISIBLE_DELTA` grey levels): painting white over a
white studio background changes nothing and so is not part of the truth. ``Edit.area`` is that realised
fraction, which may differ from the requested one; benchmarks must bucket by ``area``, not by the request.

Kinds (issue 2 "Measure"): drawn cracks (polylines), stains (blotchy alpha blends), tears, pasted patches from
another photo, OpenCV inpainting (Telea and Navier-Stokes) of a random region, colour blotches, copy-move.
Edits are placed on the object when the photo has a plain studio background (80% of the time), because an
edit on the empty background is not what a refund claim shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

RGB = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]
FloatMap = npt.NDArray[np.float32]

#: A pixel belongs to the true mask when the edit changed some channel by at least this much (of 255).
VISIBLE_DELTA: Final = 12
#: Requested sizes are drawn log-uniformly from this range of the image area (issue 2: 0.3%-30%).
MIN_AREA: Final = 0.003
MAX_AREA: Final = 0.30

EDIT_KINDS: Final = ("crack", "stain", "tear", "patch", "inpaint_telea", "inpaint_ns", "blotch", "copy_move")


@dataclass(frozen=True)
class Edit:
    """One edited image and its truth."""

    image: RGB
    #: uint8 (H, W), 255 where the edit visibly changed the pixel.
    mask: Mask
    kind: str
    #: Requested fraction of the image area.
    requested: float
    seed: int

    @property
    def area(self) -> float:
        """Realised fraction of the image area covered by the true mask."""
        return float(np.count_nonzero(self.mask)) / float(self.mask.size)


# --------------------------------------------------------------------------- shapes and placement


def content_mask(rgb: RGB) -> Mask:
    """255 where the photo is not plain near-white/near-uniform background (listing photos are studio shots)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    not_white = (rgb.min(axis=2) < 235) | (cv2.Laplacian(grey, cv2.CV_16S, ksize=3).astype(np.int32) ** 2 > 400)
    mask = not_white.astype(np.uint8) * 255
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel), dtype=np.uint8)


def _centre(rgb: RGB, rng: np.random.Generator, margin: int) -> tuple[int, int]:
    """A point (x, y) for the edit: on the object with probability 0.8 when the photo has a background."""
    h, w = rgb.shape[:2]
    margin = min(margin, h // 2 - 1, w // 2 - 1)
    content = content_mask(rgb)
    inner = content[margin : h - margin, margin : w - margin]
    ys, xs = np.nonzero(inner)
    if len(xs) > 0.02 * inner.size and (len(xs) < 0.9 * inner.size) and rng.random() < 0.8:
        i = int(rng.integers(len(xs)))
        return int(xs[i]) + margin, int(ys[i]) + margin
    x = int(rng.integers(margin, max(margin + 1, w - margin)))
    return x, int(rng.integers(margin, max(margin + 1, h - margin)))


def _blob(shape: tuple[int, int], centre: tuple[int, int], area_px: float, rng: np.random.Generator) -> Mask:
    """An irregular filled blob of about ``area_px`` pixels: a star-shaped polygon with a noisy radius."""
    h, w = shape
    radius = math.sqrt(area_px / math.pi)
    n = 24
    angles = np.sort(rng.uniform(0, 2 * math.pi, n))
    # Low-frequency radius noise so the blob is lumpy, not spiky.
    harmonics = sum(rng.uniform(0.05, 0.25) * np.cos(k * angles + rng.uniform(0, 2 * math.pi)) for k in range(1, 4))
    aspect = rng.uniform(0.6, 1.0)
    tilt = rng.uniform(0, math.pi)
    r = radius * (1 + harmonics)
    x = r * np.cos(angles)
    y = r * np.sin(angles) * aspect
    xr = x * math.cos(tilt) - y * math.sin(tilt) + centre[0]
    yr = x * math.sin(tilt) + y * math.cos(tilt) + centre[1]
    points = np.stack([xr, yr], axis=1).round().astype(np.int32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [points], 255, lineType=cv2.LINE_8)
    return mask


def _soft(mask: Mask, blur: float) -> FloatMap:
    """A float alpha in [0, 1] from a hard mask, with blurred edges."""
    alpha = mask.astype(np.float32) / 255.0
    if blur > 0.5:
        k = int(blur * 3) | 1
        alpha = np.asarray(cv2.GaussianBlur(alpha, (k, k), blur), dtype=np.float32)
    return np.asarray(alpha, dtype=np.float32)


def _noise_field(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> FloatMap:
    """Smooth value noise in [0, 1] with features of about ``scale`` pixels."""
    h, w = shape
    gh, gw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    grid = rng.random((gh, gw)).astype(np.float32)
    field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(field, 0, 1), dtype=np.float32)


def _blend(rgb: RGB, colour: npt.NDArray[np.float32], alpha: FloatMap) -> RGB:
    base = rgb.astype(np.float32)
    out = base * (1 - alpha[..., None]) + colour * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- generators


def _crack(rgb: RGB, area: float, rng: np.random.Generator, _donor: RGB | None) -> tuple[RGB, Mask]:
    """Dark branching polylines (a cracked screen/case), with a light edge highlight."""
    h, w = rgb.shape[:2]
    target = area * h * w
    thickness = int(np.clip(math.sqrt(target) / 25, 2, max(3, min(h, w) // 60)))
    region = np.zeros((h, w), np.uint8)
    highlight = np.zeros((h, w), np.uint8)
    start = _centre(rgb, rng, margin=thickness * 4)
    tips = [(float(start[0]), float(start[1]), rng.uniform(0, 2 * math.pi))]
    step = max(4.0, min(h, w) / 40)
    guard = 0
    while np.count_nonzero(region) < target and guard < 4000:
        guard += 1
        i = int(rng.integers(len(tips)))
        x, y, heading = tips[i]
        heading += rng.normal(0, 0.35)
        nx, ny = x + step * math.cos(heading), y + step * math.sin(heading)
        if not (0 <= nx < w and 0 <= ny < h):
            tips[i] = (float(start[0]), float(start[1]), rng.uniform(0, 2 * math.pi))
            continue
        t = max(1, int(thickness * rng.uniform(0.6, 1.2)))
        cv2.line(region, (int(x), int(y)), (int(nx), int(ny)), 255, t, cv2.LINE_AA)
        cv2.line(highlight, (int(x) + t, int(y) + t), (int(nx) + t, int(ny) + t), 255, max(1, t // 2), cv2.LINE_AA)
        tips[i] = (nx, ny, heading)
        if rng.random() < 0.12 and len(tips) < 12:
            tips.append((nx, ny, heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2)))
    dark = np.array([rng.uniform(15, 50)] * 3, np.float32)
    light = np.array([235, 235, 235], np.float32)
    out = _blend(rgb, light, _soft(highlight, 0.8) * 0.6)
    out = _blend(out, dark, _soft(region, 0.0) * 0.9)
    return out, np.maximum(region, highlight)


def _stain(rgb: RGB, area: float, rng: np.random.Generator, _donor: RGB | None) -> tuple[RGB, Mask]:
    """A blotchy translucent stain (coffee/oil/rust), multiplied into the photo with a darker rim."""
    h, w = rgb.shape[:2]
    region = _blob((h, w), _centre(rgb, rng, margin=8), area * h * w, rng)
    radius = math.sqrt(area * h * w / math.pi)
    noise = _noise_field((h, w), max(4.0, radius / 3), rng)
    alpha = _soft(region, max(1.0, radius / 15)) * (0.45 + 0.55 * noise)
    rim = np.asarray(cv2.morphologyEx(region, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)), dtype=np.uint8)
    alpha = np.maximum(alpha, _soft(rim, 1.5) * 0.9) * rng.uniform(0.55, 0.85)
    tint = np.array(
        [(0.55, 0.38, 0.22), (0.45, 0.42, 0.30), (0.60, 0.30, 0.20), (0.35, 0.33, 0.30)][int(rng.integers(4))],
        np.float32,
    )
    base = rgb.astype(np.float32)
    stained = base * tint * 1.2
    out = base * (1 - alpha[..., None]) + stained * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), region


def _tear(rgb: RGB, area: float, rng: np.random.Generator, _donor: RGB | None) -> tuple[RGB, Mask]:
    """A ripped strip: a jagged band of exposed lining (pale fibre or dark inside) with a shadowed edge."""
    h, w = rgb.shape[:2]
    cx, cy = _centre(rgb, rng, margin=10)
    length = math.sqrt(area * h * w) * rng.uniform(1.5, 3.0)
    width = area * h * w / length
    angle = rng.uniform(0, math.pi)
    n = 20
    t = np.linspace(-0.5, 0.5, n) * length
    jag_a = rng.normal(0, width * 0.25, n) + width / 2
    jag_b = -(rng.normal(0, width * 0.25, n) + width / 2)
    taper = np.cos(np.linspace(-1.3, 1.3, n)) ** 0.5
    side_a = np.stack([t, jag_a * taper], 1)
    side_b = np.stack([t[::-1], (jag_b * taper)[::-1]], 1)
    poly = np.concatenate([side_a, side_b])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = (poly @ rot.T + [cx, cy]).round().astype(np.int32)
    region = np.zeros((h, w), np.uint8)
    cv2.fillPoly(region, [points], 255)
    pale = rng.random() < 0.5
    fibre = _noise_field((h, w), 3.0, rng)
    colour = (np.array([232, 226, 214], np.float32) if pale else np.array([48, 42, 38], np.float32)) * (
        0.85 + 0.3 * fibre[..., None]
    )
    alpha = _soft(region, 0.7)
    base = rgb.astype(np.float32)
    out = base * (1 - alpha[..., None]) + colour * alpha[..., None]
    grown = np.asarray(cv2.dilate(region, np.ones((7, 7), np.uint8)), dtype=np.uint8)
    out[(grown > 0) & (region == 0)] *= 0.55
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), grown


def _patch(rgb: RGB, area: float, rng: np.random.Generator, donor: RGB | None) -> tuple[RGB, Mask]:
    """A piece of another photo pasted in (irregular shape, feathered by 1-2 px like a lasso paste)."""
    if donor is None:
        raise ValueError("patch edit needs a donor photo")
    h, w = rgb.shape[:2]
    region = _blob((h, w), _centre(rgb, rng, margin=8), area * h * w, rng)
    ys, xs = np.nonzero(region)
    if len(xs) == 0:
        return rgb.copy(), region
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    bh, bw = y1 - y0, x1 - x0
    dh, dw = donor.shape[:2]
    scale = max(bh / dh, bw / dw, 1e-6)
    if scale > 1:
        donor = np.asarray(cv2.resize(donor, (int(dw * scale) + 1, int(dh * scale) + 1)), dtype=np.uint8)
        dh, dw = donor.shape[:2]
    # Take the most textured of a few donor windows: a blank studio background pasted on white is no edit.
    offsets = [(int(rng.integers(0, dh - bh + 1)), int(rng.integers(0, dw - bw + 1))) for _ in range(6)]
    oy, ox = max(offsets, key=lambda o: float(donor[o[0] : o[0] + bh, o[1] : o[1] + bw].std()))
    source = rgb.astype(np.float32).copy()
    source[y0:y1, x0:x1] = donor[oy : oy + bh, ox : ox + bw]
    alpha = _soft(region, rng.uniform(0.6, 1.6))
    out = rgb.astype(np.float32) * (1 - alpha[..., None]) + source * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), region


def _inpaint(method: int) -> Callable[[RGB, float, np.random.Generator, RGB | None], tuple[RGB, Mask]]:
    def run(rgb: RGB, area: float, rng: np.random.Generator, _donor: RGB | None) -> tuple[RGB, Mask]:
        """Remove a region with OpenCV inpainting (what a basic 'erase object' tool does)."""
        h, w = rgb.shape[:2]
        region = _blob((h, w), _centre(rgb, rng, margin=8), area * h * w, rng)
        # Inpainting cost grows with the hole; work on a reduced copy for big holes and paste back inside the
        # hole only (the result there is smooth anyway), so generation stays fast on 2 cores.
        factor = max(1.0, math.sqrt(area * h * w / 40_000))
        if factor > 1.0:
            sw, sh = max(8, int(w / factor)), max(8, int(h / factor))
            small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
            small_mask = cv2.resize(region, (sw, sh), interpolation=cv2.INTER_NEAREST)
            small_mask = cv2.dilate(small_mask, np.ones((3, 3), np.uint8))
            filled = cv2.inpaint(small, small_mask, 3, method)
            filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
        else:
            filled = cv2.inpaint(rgb, region, 5, method)
        out = rgb.copy()
        out[region > 0] = filled[region > 0]
        return out, region

    return run


def _blotch(rgb: RGB, area: float, rng: np.random.Generator, _donor: RGB | None) -> tuple[RGB, Mask]:
    """A colour blotch (dye/bleach mark): hue shift and saturation change inside a soft blob."""
    h, w = rgb.shape[:2]
    region = _blob((h, w), _centre(rgb, rng, margin=8), area * h * w, rng)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(25, 155)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.4, 1.6) + rng.uniform(40, 120), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.6, 0.9), 0, 255)
    shifted = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    radius = math.sqrt(area * h * w / math.pi)
    alpha = _soft(region, max(1.0, radius / 12)) * rng.uniform(0.7, 1.0)
    out = rgb.astype(np.float32) * (1 - alpha[..., None]) + shifted * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), region


def _copy_move(rgb: RGB, area: float, rng: np.random.Generator, _donor: RGB | None) -> tuple[RGB, Mask]:
    """A region of the same photo copied elsewhere (clone stamp)."""
    h, w = rgb.shape[:2]
    target = _blob((h, w), _centre(rgb, rng, margin=8), area * h * w, rng)
    ys, xs = np.nonzero(target)
    if len(xs) == 0:
        return rgb.copy(), target
    bh, bw = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    for _ in range(20):
        dx = int(rng.integers(-xs.min(), w - xs.max()))
        dy = int(rng.integers(-ys.min(), h - ys.max()))
        if abs(dx) > bw // 2 or abs(dy) > bh // 2:
            break
    shift = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    # source pixel at (x - dx, y - dy) lands on (x, y): move the image by (+dx, +dy) then take it inside target.
    moved = cv2.warpAffine(rgb, shift, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    alpha = _soft(target, 1.0)
    out = rgb.astype(np.float32) * (1 - alpha[..., None]) + moved.astype(np.float32) * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), target


_GENERATORS: Final[dict[str, Callable[[RGB, float, np.random.Generator, RGB | None], tuple[RGB, Mask]]]] = {
    "crack": _crack,
    "stain": _stain,
    "tear": _tear,
    "patch": _patch,
    "inpaint_telea": _inpaint(cv2.INPAINT_TELEA),
    "inpaint_ns": _inpaint(cv2.INPAINT_NS),
    "blotch": _blotch,
    "copy_move": _copy_move,
}


def visible_mask(original: RGB, edited: RGB, footprint: Mask, delta: int = VISIBLE_DELTA) -> Mask:
    """The truth: pixels inside the edit's footprint whose value changed by at least ``delta``."""
    diff = np.abs(original.astype(np.int16) - edited.astype(np.int16)).max(axis=2)
    return np.asarray(((diff >= delta) & (footprint > 0)).astype(np.uint8) * 255, dtype=np.uint8)


def apply_edit(rgb: RGB, kind: str, area: float, seed: int, *, donor: RGB | None = None) -> Edit:
    """Apply one edit of ``kind`` covering about ``area`` of the image (fraction), deterministically."""
    if kind not in _GENERATORS:
        raise ValueError(f"unknown edit kind {kind!r}; known: {', '.join(EDIT_KINDS)}")
    if not 0.0 < area < 1.0:
        raise ValueError(f"edit area must be a fraction in (0, 1), got {area}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) array, got {rgb.dtype} {rgb.shape}")
    rng = np.random.default_rng([seed, EDIT_KINDS.index(kind)])
    edited, footprint = _GENERATORS[kind](np.ascontiguousarray(rgb), area, rng, donor)
    return Edit(image=edited, mask=visible_mask(rgb, edited, footprint), kind=kind, requested=area, seed=seed)


def random_edit(
    rgb: RGB,
    seed: int,
    *,
    kinds: Sequence[str] = EDIT_KINDS,
    min_area: float = MIN_AREA,
    max_area: float = MAX_AREA,
    donor: RGB | None = None,
    min_realised: float = 0.5,
    attempts: int = 4,
) -> Edit:
    """A random edit (kind uniform, size log-uniform in [min_area, max_area]).

    Retries with a derived seed when the realised visible area is below ``min_realised`` times the request
    (an edit that fell on empty background), and returns the largest attempt.
    """
    usable = [k for k in kinds if k != "patch" or donor is not None]
    if not usable:
        raise ValueError("no usable edit kind (patch needs a donor)")
    rng = np.random.default_rng(seed)
    kind = usable[int(rng.integers(len(usable)))]
    area = float(math.exp(rng.uniform(math.log(min_area), math.log(max_area))))
    best: Edit | None = None
    for attempt in range(attempts):
        edit = apply_edit(rgb, kind, area, seed * 31 + attempt, donor=donor)
        if best is None or edit.area > best.area:
            best = edit
        if edit.area >= min_realised * area:
            break
    assert best is not None
    return best


def main() -> int:
    """Write a contact sheet of every edit kind on a few photos to ``bench/.data/edits-preview``."""
    from PIL import Image

    from bench.datasets.photos import DATA, listing_photos

    out = DATA / "edits-preview"
    out.mkdir(parents=True, exist_ok=True)
    photos = listing_photos()
    for i, photo in enumerate(photos[40:43]):
        rgb = np.asarray(Image.open(photo.path).convert("RGB"))
        donor = np.asarray(Image.open(photos[200 + i].path).convert("RGB"))
        for kind in EDIT_KINDS:
            for area in (0.005, 0.05):
                edit = apply_edit(rgb, kind, area, seed=i, donor=donor)
                overlay = edit.image.copy()
                overlay[edit.mask > 0] = (overlay[edit.mask > 0] * 0.5 + np.array([255, 0, 0]) * 0.5).astype(np.uint8)
                tile = np.concatenate([edit.image, overlay], axis=1)
                Image.fromarray(tile).save(out / f"{photo.path.stem}-{kind}-{area}.jpg", quality=85)
                print(f"{photo.path.stem:24s} {kind:14s} requested {area:.3f} realised {edit.area:.4f}")
    print(f"preview written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
