"""Cue: resampling traces (a region scaled or rotated before it was pasted), tile by tile.

Why it works: interpolation makes each pixel a fixed linear mix of its neighbours, periodically across the
resampled area (Popescu & Farid). The residual of a fixed neighbour predictor is then periodically small,
and the spectrum of its "probability map" has peaks. We compute that spectrum per 128-pixel tile at full
resolution, take the strongest whitened peak away from DC and from the JPEG 8x8 harmonics, and compare each
tile with the image's own typical tile. Where it fails: a JPEG re-save after the paste hides the peaks, a
whole image that was resized shows them everywhere (then no tile stands out, by design), strong regular
texture also peaks, and small pastes fill less than a tile.
"""

from __future__ import annotations

import cv2
import numpy as np

from proofdesk.checks.pixels._common import F32, CueResult

__all__ = ["analyze_resampling"]

_TILE = 128
_MAX_TILES = 160


def analyze_resampling(y: F32) -> CueResult:
    """Tile heat map (1 = resampling peak far above the image's typical tile) and the strongest tile's z."""
    h, w = y.shape
    ty, tx = h // _TILE, w // _TILE
    if ty * tx < 4:
        return CueResult("resampling", None, skipped="fewer than 4 tiles of 128 px")
    stride = max(1, int(np.ceil(np.sqrt(ty * tx / _MAX_TILES))))
    # Only the sampled tiles are processed (a 12-MP photo has ~700 tiles; we look at <= _MAX_TILES).
    rows, cols = np.arange(0, ty, stride), np.arange(0, tx, stride)
    gy, gx = rows.size, cols.size
    t = np.empty((gy * gx, _TILE, _TILE), np.float32)
    k = 0
    for r in rows:
        for c in cols:
            tile = y[r * _TILE : (r + 1) * _TILE, c * _TILE : (c + 1) * _TILE]
            # Residual of the 4-neighbour average predictor: ~0 where interpolation made pixels linear mixes.
            t[k] = tile - _cross_mean(tile)
            k += 1
    sd = t.std(axis=(1, 2), keepdims=True) + 0.5
    pmap = np.exp(-(t**2) / (2.0 * sd**2))
    pmap -= pmap.mean(axis=(1, 2), keepdims=True)
    spec = np.log(np.abs(np.fft.rfft2(pmap)) + 1e-3)
    fy, fx = np.meshgrid(np.fft.fftfreq(_TILE) * _TILE, np.fft.rfftfreq(_TILE) * _TILE, indexing="ij")
    band = np.hypot(fy, fx) > 6
    step = _TILE // 8
    for axis in (fy, fx):
        band &= np.abs(((axis + step // 2) % step) - step // 2) > 1
    background = np.median(spec[:, band], axis=1)
    peak = (spec[:, band].max(axis=1) - background).reshape(gy, gx)
    textured = (t.std(axis=(1, 2)) > 1.0).reshape(gy, gx)
    if int(textured.sum()) < 4:
        return CueResult("resampling", None, skipped="too few textured tiles")
    med = float(np.median(peak[textured]))
    mad = float(np.median(np.abs(peak[textured] - med))) + 0.05
    z = np.where(textured, (peak - med) / mad, 0.0)
    heat = np.clip((z - 3.0) / 6.0, 0.0, 1.0).astype(np.float32)
    # Back to one cell per tile over the whole image (tiles skipped by the stride repeat their neighbour).
    full: F32 = np.kron(heat, np.ones((stride, stride), np.float32))[:ty, :tx]
    pad = np.zeros((int(np.ceil(h / _TILE)), int(np.ceil(w / _TILE))), np.float32)
    pad[: full.shape[0], : full.shape[1]] = full
    return CueResult(
        "resampling",
        float(z.max()),
        heatmap=pad,
        measurements={"resampling_peak_median": round(med, 3), "resampling_tiles": int(textured.sum())},
    )


_CROSS = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)


def _cross_mean(tile: F32) -> F32:
    return np.asarray(cv2.filter2D(tile, cv2.CV_32F, _CROSS, borderType=cv2.BORDER_REFLECT), dtype=np.float32)
