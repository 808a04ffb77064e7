"""Cue: blockwise noise-level inconsistency.

Why it works: the sensor and the camera pipeline leave a noise level that depends on brightness but is the
same across the frame. Inpainting, smoothing brushes and most generators fill a region with pixels that are
cleaner (or, for a patch from a noisier photo, dirtier) than their surroundings at the same brightness.
We estimate each 16x16 block's noise from a median-filter residual, predict it from the block's
brightness with a per-image curve, and score the log ratio. Where it fails: texture and edges look like
noise (mitigated by the local median and by taking the lower of two residual estimates), flat or clipped
studio backgrounds carry no noise at all (excluded), and a strong JPEG re-save or denoising flattens the
noise of the whole frame so the difference disappears.
"""

from __future__ import annotations

import cv2
import numpy as np

from proofdesk.checks.pixels._common import F32, CueResult, weighted_smooth

__all__ = ["analyze_noise"]

_BLOCK = 16
_BINS = 12


def analyze_noise(y: F32) -> CueResult:
    """Block noise map of luma ``y`` and its deviation from the image's own brightness/noise curve."""
    h, w = y.shape
    if min(h, w) < 4 * _BLOCK:
        return CueResult("noise", None, skipped="image smaller than 64 px")
    hb, wb = h // _BLOCK, w // _BLOCK
    y = y[: hb * _BLOCK, : wb * _BLOCK]
    # Two residuals: horizontal and vertical second differences; the smaller one is less hurt by edges.
    d2x = np.abs(cv2.filter2D(y, cv2.CV_32F, np.array([[1.0, -2.0, 1.0]], np.float32)))
    d2y = np.abs(cv2.filter2D(y, cv2.CV_32F, np.array([[1.0], [-2.0], [1.0]], np.float32)))

    def blocks(a: F32) -> F32:
        # INTER_AREA at an integer factor is the exact block mean, and much faster than a reshape mean.
        return np.asarray(cv2.resize(a, (wb, hb), interpolation=cv2.INTER_AREA), dtype=np.float32)

    sx, sy = blocks(d2x), blocks(d2y)
    sigma = np.minimum(sx, sy)
    mu = blocks(y)
    kernel = np.ones((_BLOCK, _BLOCK), np.uint8)
    ymax = cv2.dilate(y, kernel)[_BLOCK // 2 :: _BLOCK, _BLOCK // 2 :: _BLOCK][:hb, :wb]
    ymin = cv2.erode(y, kernel)[_BLOCK // 2 :: _BLOCK, _BLOCK // 2 :: _BLOCK][:hb, :wb]
    valid = (ymax < 250) & (ymin > 5)
    if int(valid.sum()) < 16:
        return CueResult("noise", None, skipped="too few unclipped blocks")
    # Expected noise at each brightness: a low quantile per brightness bin (texture only raises sigma).
    edges = np.quantile(mu[valid], np.linspace(0, 1, _BINS + 1))
    which = np.clip(np.searchsorted(edges, mu, side="right") - 1, 0, _BINS - 1)
    expected = np.zeros(_BINS, dtype=np.float32)
    for b in range(_BINS):
        sel = valid & (which == b)
        expected[b] = float(np.quantile(sigma[sel], 0.3)) if np.any(sel) else float(np.median(sigma[valid]))
    exp_map = expected[which]
    ratio = np.log((sigma + 0.15) / (exp_map + 0.15)).astype(np.float32)
    # Too clean is the common edit signature; too noisy also counts but texture makes it less specific.
    dev = np.where(ratio < 0, -ratio, 0.5 * ratio).astype(np.float32)
    weights = valid.astype(np.float32)
    sm, mass = weighted_smooth(dev, weights, sigma=1.5)
    base = float(np.median(sm[valid]))
    spread = float(np.quantile(sm[valid], 0.9) - base) + 0.05
    heat = np.clip((sm - base) / (4.0 * spread), 0.0, 1.0).astype(np.float32)
    heat[mass < 0.3] = 0.0
    coarse, cmass = weighted_smooth(dev, weights, sigma=3.0)
    z = np.where(cmass > 0.3, (coarse - base) / spread, 0.0)
    raw = float(z.max())
    full = np.zeros((int(np.ceil(h / _BLOCK)), int(np.ceil(w / _BLOCK))), dtype=np.float32)
    full[:hb, :wb] = heat
    return CueResult(
        "noise",
        raw,
        heatmap=full,
        measurements={"noise_median": round(float(np.median(sigma[valid])), 3), "noise_valid_blocks": int(valid.sum())},
    )
