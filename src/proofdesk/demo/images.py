"""Demo photos: the merchant's listing images and the buyers' claim photos made from them.

Sources are real product photos (see ``data/README.md``): the full-size originals in ``../shared/data/listings``
when that folder is next to the repository, else the small copies packaged in ``data/``. The forged claim is a
listing photo, scaled and re-saved as a phone would, with a crack drawn across the product — the fraud the
``reference`` check is built to catch. The genuine claim is a *different* photo of the same product (another
view the merchant did not list), turned slightly and re-lit, as a buyer's own photo would be.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

__all__ = ["FORGED_SOURCE", "GENUINE_SOURCE", "LISTINGS", "forged_claim", "genuine_claim", "photo", "shared_listings"]

#: listing title -> (category, price in cents, the images the merchant lists)
LISTINGS: Final = {
    "Trail backpack 30 L": ("bags", 45900, ("mb03-black-0.jpg", "mb03-black-0_alt1.jpg")),
    "Hooded sweatshirt": ("clothing", 25900, ("mh02-black_main.jpg", "mh02-black_back.jpg")),
    "Yoga brick": ("sports", 3900, ("luma-yoga-brick.jpg",)),
}
FORGED_SOURCE: Final = "mb03-black-0.jpg"
GENUINE_SOURCE: Final = "mh02-black_alt1.jpg"  # not listed by the merchant: the buyer's "own" photo


def shared_listings() -> Path | None:
    """``../shared/data/listings`` beside the source tree, if present (full-size originals)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "data" / "listings"
        if candidate.is_dir():
            return candidate
    return None


def photo(name: str) -> bytes:
    """The bytes of one demo source photo (full size from shared data when available)."""
    shared = shared_listings()
    if shared is not None and (shared / name).is_file():
        return (shared / name).read_bytes()
    return resources.files("proofdesk.demo").joinpath("data", name).read_bytes()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def forged_claim(source: bytes, *, seed: int = 7) -> bytes:
    """The listing photo, scaled to 85% and re-saved, with a dark jagged crack drawn across the product."""
    rng = np.random.default_rng(seed)
    image = Image.open(io.BytesIO(source)).convert("RGB")
    image = image.resize((round(image.width * 0.85), round(image.height * 0.85)), Image.Resampling.LANCZOS)
    w, h = image.size
    draw = ImageDraw.Draw(image)
    x, y = w * 0.42, h * 0.30
    points = [(x, y)]
    for _ in range(9):
        x += w * rng.uniform(-0.035, 0.035)
        y += h * rng.uniform(0.025, 0.04)
        points.append((x, y))
    draw.line(points, fill=(18, 16, 14), width=max(3, w // 160), joint="curve")
    # a hairline branch, so the edit is not a single stroke
    mid = points[4]
    draw.line([mid, (mid[0] + w * 0.06, mid[1] + h * 0.03), (mid[0] + w * 0.09, mid[1] + h * 0.07)],
              fill=(30, 28, 25), width=max(2, w // 320))
    return _jpeg(image, 88)


def genuine_claim(source: bytes, *, angle: float = 4.0, crop: float = 0.04, light: float = 0.9) -> bytes:
    """Another photo of the product, turned, cropped and re-lit: a buyer's own picture."""
    image = Image.open(io.BytesIO(source)).convert("RGB")
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(236, 236, 232))
    w, h = image.size
    image = image.crop((int(w * crop), int(h * crop * 0.75), int(w * (1 - crop * 0.75)), int(h * (1 - crop * 0.5))))
    image = ImageEnhance.Brightness(image).enhance(light)
    return _jpeg(image, 84)
