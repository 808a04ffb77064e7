"""Shared pieces of the pixel cues: luma, 8x8 block DCT, the cue result type, heat-map helpers.

Every cue of the ``pixels`` check (see ``_check.py``) returns a :class:`CueResult`: one raw image-level
statistic (calibrated to a score by the check), an optional heat map on its own grid, and the values it
measured. Keeping the shape common lets the check fuse cues without knowing how each one works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


@dataclass
class CueResult:
    """What one cue measured on one image."""

    name: str
    #: Image-level statistic, larger = more suspicious; ``None`` when the cue could not apply.
    raw: float | None
    #: Heat map in [0, 1] (any resolution, covers the whole image), larger = more likely edited.
    heatmap: F32 | None = None
    measurements: dict[str, float | int | str | bool | None] = field(default_factory=dict)
    #: Why the cue did not apply (``raw is None``), shown in the finding.
    skipped: str | None = None


def luma(rgb: npt.NDArray[np.uint8]) -> F32:
    """ITU-R BT.601 luma as JPEG computes it (float32, unrounded), so it re-derives the coded Y plane."""
    weights = np.array([[0.299, 0.587, 0.114]], dtype=np.float32)
    y = cv2.transform(np.ascontiguousarray(rgb).astype(np.float32), weights)
    return np.asarray(y, dtype=np.float32).reshape(rgb.shape[0], rgb.shape[1])


@lru_cache(maxsize=1)
def dct_matrix() -> F32:
    """Orthonormal 8-point DCT-II matrix; its 2-D use equals the JPEG forward DCT scaling."""
    k = np.arange(8)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16.0) * np.sqrt(2.0 / 8.0)
    m[0, :] = np.sqrt(1.0 / 8.0)
    out: F32 = m.astype(np.float32)
    return out


def block_dct(y: F32, offset: tuple[int, int] = (0, 0), *, keep: int = 8) -> F32:
    """DCT of every whole 8x8 block of ``y`` starting at ``offset`` (dy, dx): array (bh, bw, keep, keep).

    ``keep`` < 8 computes only the lowest ``keep`` x ``keep`` frequencies (all a cue may need, and cheaper).

    Level shift of 128 applied as the JPEG encoder does, so DC values sit on the same lattice.
    """
    dy, dx = offset
    h = (y.shape[0] - dy) // 8 * 8
    w = (y.shape[1] - dx) // 8 * 8
    bh, bw = h // 8, w // 8
    d = dct_matrix()[:keep]
    shifted = np.ascontiguousarray(y[dy : dy + h, dx : dx + w]) - np.float32(128.0)
    # Separable transform as two large matrix products (batched 8x8 products are far slower):
    # rows of every block first, then columns.
    a = (shifted.reshape(h * bw, 8) @ d.T).reshape(bh, 8, bw * keep)
    b = np.matmul(d, a)  # (bh, keep, bw * keep): b[by, u, bx * keep + v]
    out: F32 = np.ascontiguousarray(b.reshape(bh, keep, bw, keep).transpose(0, 2, 1, 3), dtype=np.float32)
    return out


#: JPEG zig-zag order as (row, col) positions of the 8x8 block.
ZIGZAG: tuple[tuple[int, int], ...] = tuple(
    sorted(
        ((i, j) for i in range(8) for j in range(8)),
        key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]),
    )
)


def upsample_to(heat: F32, shape: tuple[int, int]) -> F32:
    """Resize a heat map to (height, width) with bilinear interpolation."""
    out = cv2.resize(heat.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.float32)


def weighted_smooth(values: F32, weights: F32, sigma: float) -> tuple[F32, F32]:
    """Gaussian-weighted local mean of ``values`` (weights = confidence) and the local weight mass."""
    k = int(2 * round(3 * sigma) + 1)
    num = cv2.GaussianBlur((values * weights).astype(np.float32), (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weights.astype(np.float32), (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    mean: F32 = (num / np.maximum(den, 1e-6)).astype(np.float32)
    return mean, den.astype(np.float32)
