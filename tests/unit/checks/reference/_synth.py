"""Generated claims for the reference-check tests: what a phone, an app or a fraudster does to a photo.

Each *edit* draws on the reference and returns the true edit mask; each *transform* moves an image and its
mask together (geometry) or changes only the pixels (global photometric changes, which are not edits).
Deterministic given the seed.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from PIL import Image

RGB = np.ndarray
MaskArr = np.ndarray


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _product_box(img: RGB) -> tuple[int, int, int, int]:
    """Bounding box of the non-white content (the product on a studio background)."""
    nonwhite = (img.astype(np.int16).min(axis=2) < 235).astype(np.uint8)
    ys, xs = np.nonzero(nonwhite)
    h, w = img.shape[:2]
    if len(ys) < 100:
        return w // 4, h // 4, w // 2, h // 2
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min()), int(ys.max() - ys.min())


# ---------------------------------------------------------------- edits (return image, true mask)


def crack(img: RGB, *, seed: int = 0, length: float = 0.35, width: int = 3) -> tuple[RGB, MaskArr]:
    """A dark branching crack drawn across the product."""
    rng = _rng(seed)
    out = img.copy()
    mask = np.zeros(img.shape[:2], np.uint8)
    x0, y0, bw, bh = _product_box(img)
    # A crack shows dark on a light surface and light on a dark one.
    light = float(img[y0 : y0 + bh, x0 : x0 + bw].mean()) < 110
    tone = (235, 232, 225) if light else (25, 22, 20)
    start = np.array([x0 + bw * rng.uniform(0.3, 0.5), y0 + bh * rng.uniform(0.3, 0.5)])
    total = length * math.hypot(bw, bh)
    for branch in range(3):
        p = start.copy()
        angle = rng.uniform(0, 2 * math.pi)
        steps = 12
        seg = total / steps / (1 + branch)
        for _ in range(steps):
            angle += rng.normal(0, 0.35)
            q = p + seg * np.array([math.cos(angle), math.sin(angle)])
            a, b = (int(p[0]), int(p[1])), (int(q[0]), int(q[1]))
            cv2.line(out, a, b, tone, width, cv2.LINE_AA)
            cv2.line(mask, a, b, 255, width)
            p = q
    # The truth is what visibly changed (a line across an area of the same tone changes nothing there).
    changed = np.abs(out.astype(np.int16) - img.astype(np.int16)).max(axis=2) > 24
    return out, np.where(changed, mask, 0).astype(np.uint8)


def stain(
    img: RGB, *, seed: int = 0, area: float = 0.01, colour: tuple[int, int, int] = (120, 90, 40)
) -> tuple[RGB, MaskArr]:
    """A soft translucent stain covering about ``area`` of the image."""
    rng = _rng(seed)
    h, w = img.shape[:2]
    x0, y0, bw, bh = _product_box(img)
    cx, cy = x0 + bw * rng.uniform(0.3, 0.7), y0 + bh * rng.uniform(0.3, 0.7)
    r = math.sqrt(area * h * w / math.pi)
    blob = np.zeros((h, w), np.float32)
    cv2.ellipse(blob, (int(cx), int(cy)), (int(r * 1.2), int(r / 1.2)), rng.uniform(0, 180), 0, 360, 1.0, -1)
    mask = (blob > 0.5).astype(np.uint8) * 255
    alpha = cv2.GaussianBlur(blob, (0, 0), max(1.0, r / 8)) * 0.75
    out = img.astype(np.float32) * (1 - alpha[..., None]) + np.array(colour, np.float32) * alpha[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), mask


def patch(img: RGB, *, seed: int = 0, area: float = 0.02) -> tuple[RGB, MaskArr]:
    """A rectangle copied from elsewhere in the image (pasted patch)."""
    rng = _rng(seed)
    h, w = img.shape[:2]
    side = int(math.sqrt(area * h * w))
    x0, y0, bw, bh = _product_box(img)
    tx = int(np.clip(x0 + bw * rng.uniform(0.2, 0.6), 0, w - side))
    ty = int(np.clip(y0 + bh * rng.uniform(0.2, 0.6), 0, h - side))
    sx = (
        int(np.clip(tx + side * 1.5, 0, w - side))
        if tx + side * 2.5 < w
        else int(np.clip(tx - side * 1.5, 0, w - side))
    )
    sy = int(np.clip(ty + side * rng.uniform(-1, 1), 0, h - side))
    out = img.copy()
    out[ty : ty + side, tx : tx + side] = np.rot90(img[sy : sy + side, sx : sx + side], 2)
    mask = np.zeros((h, w), np.uint8)
    mask[ty : ty + side, tx : tx + side] = 255
    changed = np.abs(out.astype(np.int16) - img.astype(np.int16)).max(axis=2) > 12
    return out, np.where(changed, mask, 0).astype(np.uint8)


def inpaint_removal(img: RGB, *, seed: int = 0, area: float = 0.02) -> tuple[RGB, MaskArr]:
    """Remove a piece of the product with OpenCV inpainting (what "remove object" tools do, crudely)."""
    rng = _rng(seed)
    h, w = img.shape[:2]
    x0, y0, bw, bh = _product_box(img)
    r = int(math.sqrt(area * h * w / math.pi))
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (int(x0 + bw * rng.uniform(0.3, 0.7)), int(y0 + bh * rng.uniform(0.3, 0.7))), r, 255, -1)
    out = cv2.inpaint(img, mask, 5, cv2.INPAINT_TELEA)
    changed = np.abs(out.astype(np.int16) - img.astype(np.int16)).max(axis=2) > 12
    return out, np.where(changed, mask, 0).astype(np.uint8)


def text_sticker(img: RGB, *, seed: int = 0) -> tuple[RGB, MaskArr]:
    """A coloured sticker with text placed over the product."""
    rng = _rng(seed)
    h, w = img.shape[:2]
    x0, y0, bw, bh = _product_box(img)
    sw, sh = int(w * 0.22), int(h * 0.07)
    x = int(np.clip(x0 + bw * rng.uniform(0.1, 0.5), 0, w - sw))
    y = int(np.clip(y0 + bh * rng.uniform(0.1, 0.7), 0, h - sh))
    out = img.copy()
    cv2.rectangle(out, (x, y), (x + sw, y + sh), (250, 60, 90), -1)
    cv2.putText(out, "SALE 50%", (x + 6, y + int(sh * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, sh / 40, (255, 255, 255), 2)
    mask = np.zeros((h, w), np.uint8)
    mask[y : y + sh, x : x + sw] = 255
    return out, mask


# ---------------------------------------------------------------- geometry (image and mask together)


def crop(img: RGB, mask: MaskArr, *, area: float, seed: int = 0) -> tuple[RGB, MaskArr]:
    rng = _rng(seed)
    h, w = img.shape[:2]
    side = math.sqrt(area)
    ch, cw = int(h * side), int(w * side)
    x0, y0, bw, bh = _product_box(img)
    # Keep the crop on the product, as a fraudster would.
    cx = int(np.clip(x0 + bw / 2 - cw / 2 + rng.integers(-cw // 8, cw // 8 + 1), 0, w - cw))
    cy = int(np.clip(y0 + bh / 2 - ch / 2 + rng.integers(-ch // 8, ch // 8 + 1), 0, h - ch))
    return img[cy : cy + ch, cx : cx + cw].copy(), mask[cy : cy + ch, cx : cx + cw].copy()


def scale(img: RGB, mask: MaskArr, *, factor: float) -> tuple[RGB, MaskArr]:
    h, w = img.shape[:2]
    size = (max(8, round(w * factor)), max(8, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, size, interpolation=interp), cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)


def rotate(img: RGB, mask: MaskArr, *, degrees: float, fill: int = 255) -> tuple[RGB, MaskArr]:
    if degrees % 90 == 0:
        k = int(degrees // 90) % 4
        return np.ascontiguousarray(np.rot90(img, k)), np.ascontiguousarray(np.rot90(mask, k))
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(fill, fill, fill))
    return out, cv2.warpAffine(mask, m, (nw, nh), flags=cv2.INTER_NEAREST, borderValue=0)


def mirror(img: RGB, mask: MaskArr) -> tuple[RGB, MaskArr]:
    return np.ascontiguousarray(img[:, ::-1]), np.ascontiguousarray(mask[:, ::-1])


def screen_photo(img: RGB, mask: MaskArr, *, seed: int = 0) -> tuple[RGB, MaskArr]:
    """The image shown on a screen and photographed at an angle: keystone, dark frame, glare, blur."""
    rng = _rng(seed)
    h, w = img.shape[:2]
    out_w, out_h = int(w * 1.3), int(h * 1.3)
    j = 0.08
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32(
        [
            [out_w * (0.1 + rng.uniform(0, j)), out_h * (0.1 + rng.uniform(0, j))],
            [out_w * (0.9 - rng.uniform(0, j)), out_h * (0.1 + rng.uniform(0, j))],
            [out_w * (0.9 - rng.uniform(0, j)), out_h * (0.9 - rng.uniform(0, j))],
            [out_w * (0.1 + rng.uniform(0, j)), out_h * (0.9 - rng.uniform(0, j))],
        ]
    )
    m = cv2.getPerspectiveTransform(src, dst)
    screen = cv2.warpPerspective(img, m, (out_w, out_h), borderValue=(30, 30, 35))
    warped_mask = cv2.warpPerspective(mask, m, (out_w, out_h), flags=cv2.INTER_NEAREST)
    f = screen.astype(np.float32) * 0.85 + 15
    gx = np.linspace(0, 1, out_w, dtype=np.float32)[None, :, None]
    f += 25 * np.exp(-((gx - 0.7) ** 2) / 0.02)  # glare band
    f = cv2.GaussianBlur(f, (0, 0), 1.0)
    f += rng.normal(0, 3, f.shape).astype(np.float32)
    return np.clip(f, 0, 255).astype(np.uint8), warped_mask


def screenshot(img: RGB, mask: MaskArr) -> tuple[RGB, MaskArr]:
    """A phone screenshot of a chat app: status bar, title bar, input bar and a border around the photo."""
    h, w = img.shape[:2]
    pad = max(4, w // 30)
    top, bottom = max(20, h // 8), max(20, h // 7)
    out = np.full((h + top + bottom, w + 2 * pad, 3), 242, np.uint8)
    out[:top] = (40, 120, 90)
    out[-bottom:] = (250, 250, 250)
    cv2.putText(
        out, "12:41  Chat with seller", (pad, int(top * 0.65)), cv2.FONT_HERSHEY_SIMPLEX, top / 60, (255, 255, 255), 2
    )
    cv2.putText(
        out,
        "Type a message",
        (pad * 2, h + top + int(bottom * 0.6)),
        cv2.FONT_HERSHEY_SIMPLEX,
        bottom / 70,
        (150, 150, 150),
        2,
    )
    out[top : top + h, pad : pad + w] = img
    full_mask = np.zeros(out.shape[:2], np.uint8)
    full_mask[top : top + h, pad : pad + w] = mask
    return out, full_mask


def paste_into_scene(img: RGB, mask: MaskArr, *, seed: int = 0) -> tuple[RGB, MaskArr]:
    """The product cut out of the listing photo and pasted, smaller, into another scene.

    The true mask is everything in the claim that is not the product's own pixels (the new scene): inside
    the reference's footprint that is content the reference did not have.
    """
    rng = _rng(seed)
    x0, y0, bw, bh = _product_box(img)
    piece = img[y0 : y0 + bh, x0 : x0 + bw]
    cut = (piece.astype(np.int16).min(axis=2) < 235).astype(np.uint8)
    cut = cv2.morphologyEx(cut, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    scene = np.stack(
        [
            90 + 60 * np.sin(xx / 37.0 + rng.uniform(0, 6)) * np.cos(yy / 53.0),
            110 + 50 * np.cos(xx / 23.0) * np.sin(yy / 41.0 + rng.uniform(0, 6)),
            70 + 40 * np.sin((xx + yy) / 29.0),
        ],
        axis=2,
    )
    scene = np.clip(scene + rng.normal(0, 8, scene.shape), 0, 255).astype(np.uint8)
    f = 0.7
    small = cv2.resize(piece, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    small_cut = cv2.resize(cut, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    ph, pw = small.shape[:2]
    ox, oy = int(rng.uniform(0, max(1, w - pw))), int(rng.uniform(0, max(1, h - ph)))
    out = scene.copy()
    region = out[oy : oy + ph, ox : ox + pw]
    region[small_cut] = small[small_cut]
    truth = np.full((h, w), 255, np.uint8)
    truth[oy : oy + ph, ox : ox + pw][small_cut] = 0
    return out, truth


# ---------------------------------------------------------------- photometric (pixels only)


def encode(img: RGB, fmt: str, quality: int) -> RGB:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def colour(img: RGB, *, brightness: float = 20, contrast: float = 1.25, saturation: float = 1.5) -> RGB:
    f = img.astype(np.float32)
    gray = f.mean(axis=2, keepdims=True)
    f = gray + (f - gray) * saturation
    f = (f - 128) * contrast + 128 + brightness
    return np.clip(f, 0, 255).astype(np.uint8)


def warm_filter(img: RGB) -> RGB:
    """Instagram-style: warm tone curve, lifted blacks, vignette."""
    f = img.astype(np.float32) / 255
    f = np.stack([f[..., 0] ** 0.8, f[..., 1] ** 0.95, f[..., 2] ** 1.2], axis=2) * 0.9 + 0.08
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
    f *= (1 - 0.5 * r2)[..., None]
    return np.clip(f * 255, 0, 255).astype(np.uint8)


def blur(img: RGB, sigma: float = 1.5) -> RGB:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def sharpen(img: RGB) -> RGB:
    soft = cv2.GaussianBlur(img, (0, 0), 1.5)
    return cv2.addWeighted(img, 1.8, soft, -0.8, 0)


def noise(img: RGB, *, sigma: float = 8, seed: int = 0) -> RGB:
    rng = _rng(seed)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def regenerate(img: RGB, *, seed: int = 0) -> tuple[RGB, MaskArr]:
    """Honest stand-in for an AI editor's whole-image regeneration: every pixel redrawn, an object removed.

    Edge-preserving stylisation redraws all texture (as a diffusion decoder does), the colours drift, a
    piece of the product is removed by inpainting, and fresh noise replaces the original grain. The layout
    is kept. True mask: the removed object only (the rest is "redrawn", not "changed").
    """
    removed, mask = inpaint_removal(img, seed=seed, area=0.02)
    styl = cv2.stylization(removed, sigma_s=30, sigma_r=0.25)
    styl = colour(styl, brightness=-6, contrast=1.05, saturation=1.1)
    return noise(styl, sigma=4, seed=seed + 1), mask
