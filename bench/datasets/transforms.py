"""The global transforms of issue 2 §4, applied to an (edited) photo with its true mask carried along.

Where this sits: benchmark set construction, after ``bench.datasets.edits``. A claim photo in the benchmark is
``transform(edit(reference))``: the transform is what a phone, an app or a fraudster does to the whole picture
(crop, resize, rotate, re-save, photograph a screen, screenshot with app chrome, filters...). Geometric
transforms move the mask with the same warp (nearest-neighbour); photometric ones leave it in place.

Every transform returns a :class:`Transformed` with the final file bytes (JPEG/WebP/PNG as a phone or app
would save them), the decoded pixels, the moved mask, the 3x3 matrix mapping source pixels to claim pixels
(``None`` when not a plain homography, e.g. the cut-out paste keeps a piece only), and ``overlay``: pixels
*around* the source that were never in it (app chrome, borders, a new background). Benchmarks score mask F1
outside ``overlay``. Stickers and captions drawn *on* the picture are local content changes, as the
``reference`` check's README defines them (they hide part of the product a damage claim must show): the
``overlay`` family adds them to the edit mask, so they count towards "edited" and the mask F1.

Families (``FAMILIES``): none, crop (keep 30-90% of the area), scale (0.2x-3x), rot90, rotate (±2-20°),
mirror, perspective (screen photo with moiré), jpeg (q 40-95), webp (q 40-95), screenshot (app chrome and
borders), overlay (stickers and text on the picture), colour, filter, blur, sharpen, noise, cutout (a piece
of the source pasted into another photo: derived_and_edited by definition).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

RGB = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]
Matrix = npt.NDArray[np.float64]

FAMILIES: Final = (
    "none",
    "crop",
    "scale",
    "rot90",
    "rotate",
    "mirror",
    "perspective",
    "jpeg",
    "webp",
    "screenshot",
    "overlay",
    "colour",
    "filter",
    "blur",
    "sharpen",
    "noise",
    "cutout",
)
#: Quality a phone gallery/app re-saves with when the family itself is not about encoding.
DEFAULT_JPEG_QUALITY: Final = 92


@dataclass(frozen=True)
class Transformed:
    """A claim made from a source photo."""

    data: bytes
    format: str
    #: The decoded claim pixels (what a reader of ``data`` sees).
    image: RGB
    #: The true edit mask moved into claim pixels (255 = edited).
    mask: Mask
    #: Pixels around the source that never came from it (chrome, borders, new background): 255.
    overlay: Mask
    family: str
    #: Source pixel (x, y, 1) -> claim pixel, when the geometry is one homography.
    matrix: Matrix | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def mask_area(self) -> float:
        """Fraction of the claim covered by the (visible) edit."""
        return float(np.count_nonzero(self.mask)) / float(self.mask.size)


# --------------------------------------------------------------------------- helpers


def _u8(array: Any) -> RGB:
    return np.asarray(np.clip(np.asarray(array, dtype=np.float32) + 0.5, 0, 255), dtype=np.uint8)


def _encode(rgb: RGB, fmt: str, quality: int) -> tuple[bytes, RGB]:
    buffer = io.BytesIO()
    image = Image.fromarray(rgb)
    if fmt == "JPEG":
        image.save(buffer, format="JPEG", quality=quality, subsampling=2 if quality < 90 else 0)
    elif fmt == "WEBP":
        image.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    data = buffer.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)
    return data, decoded


def _warp(
    rgb: RGB, mask: Mask, matrix: Matrix, size: tuple[int, int], border: tuple[int, ...]
) -> tuple[RGB, Mask, Mask]:
    """Warp pixels (bicubic), mask (nearest) and a validity map with one homography."""
    w, h = size
    flags = cv2.INTER_AREA if abs(np.linalg.det(matrix[:2, :2])) < 0.7 else cv2.INTER_CUBIC
    if flags == cv2.INTER_AREA:
        flags = cv2.INTER_LINEAR  # warpPerspective has no INTER_AREA: pre-blur instead
        scale = math.sqrt(abs(np.linalg.det(matrix[:2, :2])))
        sigma = max(0.0, 0.5 / max(scale, 1e-3) - 0.5)
        if sigma > 0.3:
            rgb = np.asarray(cv2.GaussianBlur(rgb, (0, 0), sigma), dtype=np.uint8)
    out = cv2.warpPerspective(rgb, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    moved = cv2.warpPerspective(mask, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    valid = cv2.warpPerspective(np.full(mask.shape, 255, np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST)
    return np.asarray(out, np.uint8), np.asarray(moved, np.uint8), np.asarray(valid, np.uint8)


def _resize(rgb: RGB, size: tuple[int, int]) -> RGB:
    interp = cv2.INTER_AREA if size[0] < rgb.shape[1] else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(rgb, size, interpolation=interp), np.uint8)


def _text(canvas: RGB, text: str, origin: tuple[int, int], scale: float, colour: tuple[int, int, int]) -> None:
    thickness = max(1, int(scale * 2))
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


_WORDS: Final = ("broken!!", "arrived like this", "REFUND", "damaged", "look at this", "order 4711", "not ok")

Step = Callable[[RGB, Mask, np.random.Generator, RGB | None], tuple[RGB, Mask, Mask, Matrix | None, dict[str, Any]]]


def _identity(rgb: RGB, mask: Mask) -> tuple[RGB, Mask, Mask, Matrix, dict[str, Any]]:
    return rgb, mask, np.zeros(mask.shape, np.uint8), np.eye(3), {}


# --------------------------------------------------------------------------- families


def _none(rgb: RGB, mask: Mask, _rng: np.random.Generator, _donor: RGB | None) -> Any:
    return _identity(rgb, mask)


def _crop(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    h, w = rgb.shape[:2]
    keep = float(rng.uniform(0.30, 0.90))
    aspect = float(np.exp(rng.uniform(-0.4, 0.4)))
    cw = int(np.clip(math.sqrt(keep * w * h * aspect), 16, w))
    ch = int(np.clip(keep * w * h / cw, 16, h))
    # Keep the edit in frame half of the time (a fraudster crops around the damage), else anywhere.
    ys, xs = np.nonzero(mask)
    if len(xs) and rng.random() < 0.5:
        cx, cy = int(np.median(xs)), int(np.median(ys))
        x0 = int(np.clip(cx - cw // 2 + rng.integers(-cw // 4, cw // 4 + 1), 0, w - cw))
        y0 = int(np.clip(cy - ch // 2 + rng.integers(-ch // 4, ch // 4 + 1), 0, h - ch))
    else:
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    matrix = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    out, moved = rgb[y0 : y0 + ch, x0 : x0 + cw].copy(), mask[y0 : y0 + ch, x0 : x0 + cw].copy()
    return out, moved, np.zeros(moved.shape, np.uint8), matrix, {"keep_area": round(cw * ch / (w * h), 3)}


def _scale(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    h, w = rgb.shape[:2]
    factor = float(np.exp(rng.uniform(math.log(0.2), math.log(3.0))))
    size = (max(16, round(w * factor)), max(16, round(h * factor)))
    out = _resize(rgb, size)
    moved = np.asarray(cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    matrix = np.diag([size[0] / w, size[1] / h, 1.0])
    return out, moved, np.zeros(moved.shape, np.uint8), matrix, {"factor": round(factor, 3)}


def _rot90(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    h, w = rgb.shape[:2]
    k = int(rng.integers(1, 4))
    out, moved = np.ascontiguousarray(np.rot90(rgb, k)), np.ascontiguousarray(np.rot90(mask, k))
    # np.rot90 turns counter-clockwise: (x, y) -> (y, width-1-x) per quarter turn.
    matrix = np.eye(3)
    size_w = w
    for _ in range(k):
        step = np.array([[0, 1, 0], [-1, 0, size_w - 1], [0, 0, 1]], np.float64)
        matrix = step @ matrix
        size_w = h if size_w == w else w
    return out, moved, np.zeros(moved.shape, np.uint8), matrix, {"k": k}


def _rotate(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    h, w = rgb.shape[:2]
    angle = float(rng.uniform(2, 20) * rng.choice([-1, 1]))
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    rot[0, 2] += nw / 2 - w / 2
    rot[1, 2] += nh / 2 - h / 2
    matrix = np.vstack([rot, [0, 0, 1]])
    border = tuple(int(v) for v in rng.integers(0, 256, 3)) if rng.random() < 0.5 else (255, 255, 255)
    out, moved, valid = _warp(rgb, mask, matrix, (nw, nh), border)
    return out, moved, 255 - valid, matrix, {"angle": round(angle, 2)}


def _mirror(rgb: RGB, mask: Mask, _rng: np.random.Generator, _donor: RGB | None) -> Any:
    w = rgb.shape[1]
    matrix = np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], np.float64)
    return (
        np.ascontiguousarray(rgb[:, ::-1]),
        np.ascontiguousarray(mask[:, ::-1]),
        np.zeros(mask.shape, np.uint8),
        matrix,
        {},
    )


def _perspective(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    """The listing shown on a screen and photographed: keystone, bezel, screen gamma, moiré, sensor noise."""
    h, w = rgb.shape[:2]
    out_w = int(w * rng.uniform(0.8, 1.2))
    out_h = int(out_w * h / w * rng.uniform(0.95, 1.05)) + int(0.15 * h)
    jitter = rng.uniform(0.03, 0.12, size=(4, 2)) * [out_w, out_h]
    margin = np.array([0.08 * out_w, 0.08 * out_h])
    dst = np.array(
        [
            margin + jitter[0],
            [out_w - margin[0] - jitter[1, 0], margin[1] + jitter[1, 1]],
            [out_w - margin[0] - jitter[2, 0], out_h - margin[1] - jitter[2, 1]],
            [margin[0] + jitter[3, 0], out_h - margin[1] - jitter[3, 1]],
        ],
        np.float32,
    )
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    bezel = tuple(int(v) for v in rng.integers(10, 60, 3))
    out, moved, valid = _warp(rgb, mask, matrix, (out_w, out_h), bezel)
    f = out.astype(np.float32) / 255.0
    f = f ** rng.uniform(0.8, 1.25) * rng.uniform(0.8, 1.0) + rng.uniform(0.0, 0.06)
    # Moiré: interference of the screen's pixel grid with the sensor grid -> low-contrast slanted bands.
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    theta = rng.uniform(0, math.pi)
    period = rng.uniform(3.0, 9.0)
    bands = np.sin((xx * math.cos(theta) + yy * math.sin(theta)) * 2 * math.pi / period)
    f *= 1 + rng.uniform(0.02, 0.06) * bands[..., None]
    f += rng.normal(0, rng.uniform(0.005, 0.02), f.shape).astype(np.float32)
    out = _u8(cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.2)) * 255)
    return out, moved, 255 - valid, matrix, {"period": round(period, 2)}


def _screenshot(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    """A phone screenshot of a chat/gallery app: status bar, title bar, bottom bar, letterbox borders."""
    h, w = rgb.shape[:2]
    screen_w = int(rng.choice([720, 1080, 1170, 1284]))
    screen_h = int(screen_w * rng.uniform(1.9, 2.2))
    dark = rng.random() < 0.5
    bg = (18, 18, 18) if dark else (245, 245, 245)
    fg = (235, 235, 235) if dark else (20, 20, 20)
    canvas = np.full((screen_h, screen_w, 3), bg, np.uint8)
    status, title, bottom = int(screen_h * 0.03), int(screen_h * 0.06), int(screen_h * 0.08)
    inner_w = screen_w - 2 * int(rng.integers(0, screen_w // 12))
    fit = min(inner_w / w, (screen_h - status - title - bottom) / h)
    nw, nh = max(16, int(w * fit)), max(16, int(h * fit))
    x0 = (screen_w - nw) // 2
    y0 = status + title + (screen_h - status - title - bottom - nh) // 2
    canvas[y0 : y0 + nh, x0 : x0 + nw] = _resize(rgb, (nw, nh))
    moved = np.zeros((screen_h, screen_w), np.uint8)
    moved[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
    _text(canvas, "9:41", (20, int(status * 0.8)), status / 40, fg)
    cv2.rectangle(canvas, (screen_w - 90, status // 4), (screen_w - 30, status * 3 // 4), fg, -1)
    _text(canvas, "< Photo 3 of 5", (20, status + int(title * 0.7)), title / 45, fg)
    for i in range(4):
        cx = int(screen_w * (i + 0.5) / 4)
        cv2.circle(canvas, (cx, screen_h - bottom // 2), bottom // 5, fg, 2, cv2.LINE_AA)
    overlay = np.full((screen_h, screen_w), 255, np.uint8)
    overlay[y0 : y0 + nh, x0 : x0 + nw] = 0
    matrix = np.array([[nw / w, 0, x0], [0, nh / h, y0], [0, 0, 1]], np.float64)
    return canvas, moved, overlay, matrix, {"screen": f"{screen_w}x{screen_h}"}


def _overlay(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    """Stickers (filled shapes) and a caption drawn over the picture, as messaging apps allow.

    They cover part of the picture, so they are part of the edit mask (see the module docstring)."""
    h, w = rgb.shape[:2]
    out = rgb.copy()
    cover = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        r = int(min(h, w) * rng.uniform(0.04, 0.09))
        cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(out, (cx, cy), r, colour, -1, cv2.LINE_AA)
        cv2.circle(out, (cx - r // 3, cy - r // 4), r // 6, (20, 20, 20), -1, cv2.LINE_AA)
        cv2.circle(out, (cx + r // 3, cy - r // 4), r // 6, (20, 20, 20), -1, cv2.LINE_AA)
        cv2.ellipse(out, (cx, cy + r // 6), (r // 2, r // 3), 0, 0, 180, (20, 20, 20), max(2, r // 10))
        cv2.circle(cover, (cx, cy), r + 2, 255, -1)
    word = str(rng.choice(_WORDS))
    scale = min(h, w) / 400 * rng.uniform(0.8, 1.6)
    (tw, th), base = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(scale * 2)))
    tx = int(rng.integers(0, max(1, w - tw)))
    ty = int(rng.integers(th + 2, max(th + 3, h - base)))
    colour = (255, 255, 255) if rng.random() < 0.5 else (230, 20, 20)
    _text(out, word, (tx, ty), scale, colour)
    cv2.rectangle(cover, (tx - 2, ty - th - 4), (tx + tw + 2, ty + base + 4), 255, -1)
    changed = np.abs(out.astype(np.int16) - rgb.astype(np.int16)).max(axis=2) > 0
    cover = ((cover > 0) & changed).astype(np.uint8) * 255
    moved = np.maximum(mask, cover)
    return out, moved, np.zeros(mask.shape, np.uint8), np.eye(3), {"text": word}


def _colour(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    f = rgb.astype(np.float32)
    brightness, contrast, saturation = rng.uniform(-40, 40), rng.uniform(0.7, 1.35), rng.uniform(0.5, 1.6)
    grey = f.mean(axis=2, keepdims=True)
    f = grey + (f - grey) * saturation
    f = (f - 128) * contrast + 128 + brightness
    gamma = rng.uniform(0.75, 1.3)
    f = 255 * (np.clip(f, 0, 255) / 255) ** gamma
    params = {"brightness": round(brightness, 1), "contrast": round(contrast, 2), "saturation": round(saturation, 2)}
    return _u8(f), mask, np.zeros(mask.shape, np.uint8), np.eye(3), params


def _filter(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    kind = str(rng.choice(["sepia", "mono", "warm", "cool", "vintage", "fade"]))
    f = rgb.astype(np.float32)
    if kind == "sepia":
        f = f @ np.array([[0.393, 0.349, 0.272], [0.769, 0.686, 0.534], [0.189, 0.168, 0.131]], np.float32)
    elif kind == "mono":
        f = np.repeat(f @ np.array([[0.299], [0.587], [0.114]], np.float32), 3, axis=2)
    elif kind == "warm":
        f = f * np.array([1.12, 1.0, 0.85], np.float32)
    elif kind == "cool":
        f = f * np.array([0.88, 1.0, 1.12], np.float32)
    elif kind == "fade":
        f = 40 + f * 0.78
    else:  # vintage: S-curve, yellow cast, vignette
        f = (255 * (0.5 - 0.5 * np.cos(np.clip(f, 0, 255) / 255 * math.pi))).astype(np.float32)
        f = f * np.array([1.05, 1.0, 0.8], np.float32) + 10
        h, w = rgb.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
        f = f * (1 - 0.35 * np.clip(r - 0.4, 0, 1))[..., None].astype(np.float32)
    return _u8(f), mask, np.zeros(mask.shape, np.uint8), np.eye(3), {"filter": kind}


def _blur(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    sigma = float(rng.uniform(0.6, 3.0))
    out = np.asarray(cv2.GaussianBlur(rgb, (0, 0), sigma), np.uint8)
    return out, mask, np.zeros(mask.shape, np.uint8), np.eye(3), {"sigma": round(sigma, 2)}


def _sharpen(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    amount, sigma = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.8, 2.5))
    f = rgb.astype(np.float32)
    out = _u8(f + amount * (f - cv2.GaussianBlur(f, (0, 0), sigma)))
    return out, mask, np.zeros(mask.shape, np.uint8), np.eye(3), {"amount": round(amount, 2)}


def _noise(rgb: RGB, mask: Mask, rng: np.random.Generator, _donor: RGB | None) -> Any:
    sigma = float(rng.uniform(2, 12))
    out = _u8(rgb.astype(np.float32) + rng.normal(0, sigma, rgb.shape).astype(np.float32))
    return out, mask, np.zeros(mask.shape, np.uint8), np.eye(3), {"sigma": round(sigma, 1)}


def _cutout(rgb: RGB, mask: Mask, rng: np.random.Generator, donor: RGB | None) -> Any:
    """The product cut out of the source (its non-background region) and pasted, scaled, into another photo."""
    if donor is None:
        raise ValueError("cutout needs a donor (background) photo")
    from bench.datasets.edits import content_mask

    h, w = rgb.shape[:2]
    piece = content_mask(rgb)
    if np.count_nonzero(piece) < 0.05 * piece.size or np.count_nonzero(piece) > 0.9 * piece.size:
        piece = np.zeros((h, w), np.uint8)
        cv2.ellipse(piece, (w // 2, h // 2), (int(w * 0.35), int(h * 0.4)), 0, 0, 360, 255, -1)
    piece = np.asarray(cv2.morphologyEx(piece, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8)), np.uint8)
    dh, dw = donor.shape[:2]
    scale = min(dw / w, dh / h) * rng.uniform(0.5, 0.85)
    tx, ty = rng.uniform(0, dw - w * scale), rng.uniform(0, dh - h * scale)
    matrix = np.array([[scale, 0, tx], [0, scale, ty], [0, 0, 1]], np.float64)
    warped, moved, _ = _warp(rgb, mask, matrix, (dw, dh), (0, 0, 0))
    alpha_map = np.asarray(cv2.warpPerspective(piece, matrix, (dw, dh), flags=cv2.INTER_LINEAR), np.uint8)
    alpha = cv2.GaussianBlur(alpha_map.astype(np.float32) / 255, (0, 0), 1.0)[..., None]
    out = _u8(donor.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha)
    moved[alpha_map < 128] = 0
    overlay = (alpha_map < 128).astype(np.uint8) * 255
    return out, moved, overlay, matrix, {"scale": round(scale, 3)}


_FAMILY_STEPS: Final[dict[str, Callable[..., Any]]] = {
    "none": _none,
    "crop": _crop,
    "scale": _scale,
    "rot90": _rot90,
    "rotate": _rotate,
    "mirror": _mirror,
    "perspective": _perspective,
    "jpeg": _none,
    "webp": _none,
    "screenshot": _screenshot,
    "overlay": _overlay,
    "colour": _colour,
    "filter": _filter,
    "blur": _blur,
    "sharpen": _sharpen,
    "noise": _noise,
    "cutout": _cutout,
}


def apply_transform(rgb: RGB, mask: Mask, family: str, seed: int, *, donor: RGB | None = None) -> Transformed:
    """Apply one transform family to ``rgb`` and its mask (deterministic in ``seed``); encode the result.

    JPEG and WebP families encode at a random quality 40-95; screenshots are PNG; everything else is saved
    as JPEG q92 like a phone gallery would.
    """
    if family not in _FAMILY_STEPS:
        raise ValueError(f"unknown transform family {family!r}; known: {', '.join(FAMILIES)}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {rgb.shape[:2]}")
    rng = np.random.default_rng([seed, FAMILIES.index(family)])
    out, moved, overlay, matrix, params = _FAMILY_STEPS[family](np.ascontiguousarray(rgb), mask, rng, donor)
    if family == "jpeg":
        quality, fmt = int(rng.integers(40, 96)), "JPEG"
    elif family == "webp":
        quality, fmt = int(rng.integers(40, 96)), "WEBP"
    elif family == "screenshot":
        quality, fmt = 0, "PNG"
    else:
        quality, fmt = DEFAULT_JPEG_QUALITY, "JPEG"
    if quality:
        params["quality"] = quality
    data, decoded = _encode(np.ascontiguousarray(out), fmt, quality)
    return Transformed(
        data=data,
        format=fmt,
        image=decoded,
        mask=np.ascontiguousarray(moved),
        overlay=np.ascontiguousarray(overlay),
        family=family,
        matrix=None if family == "cutout" else matrix,
        params=params,
    )
