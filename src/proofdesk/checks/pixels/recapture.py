"""Cue: recapture (a photo of a screen or of a printout) from periodic peaks in the high-frequency spectrum.

Why it works: a screen's pixel grid and a print's halftone screen are periodic. Photographed, they alias
with the camera's sampling into moiré, which shows as isolated strong peaks in the 2-D spectrum of the
high-pass luma, far above the smooth 1/f falloff of natural scenes. We take a full-resolution window (a
reduced copy would average the grid away), whiten the spectrum against its own local median and score
the strongest peak away from the centre, the axes and the JPEG 8x8 grid harmonics. Where it fails:
regular textures (woven fabric, mesh, grilles, knit) make the same peaks, so the threshold is calibrated
on product photos and the cue stays weak; a high-resolution screen shot from far away, out of focus, or
downscaled after capture leaves no grid; screen borders and glare are not examined.
"""

from __future__ import annotations

import cv2
import numpy as np

from proofdesk.checks.pixels._common import F32, CueResult

__all__ = ["analyze_recapture", "spectral_peak"]

_WINDOW = 1024


def spectral_peak(y: F32, *, window: int = _WINDOW, exclude_jpeg: bool = True) -> tuple[float, tuple[int, int]]:
    """log10 of the strongest whitened high-frequency peak in a centred window, and its (fy, fx) bin."""
    h, w = y.shape
    n = min(window, h, w) // 16 * 16
    y0, x0 = (h - n) // 2, (w - n) // 2
    win = y[y0 : y0 + n, x0 : x0 + n].astype(np.float32)
    hp = win - cv2.GaussianBlur(win, (0, 0), 2.0)
    taper = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    spec = np.abs(np.fft.fftshift(np.fft.fft2(hp * taper))).astype(np.float32)
    # Whiten: divide by a local median-like background (a wide blur of the log spectrum).
    logs = np.log(spec + 1e-3)
    background = cv2.blur(cv2.medianBlur(logs, 5), (15, 15))
    white = logs - background
    c = n // 2
    fy, fx = np.mgrid[0:n, 0:n] - c
    radius = np.hypot(fy, fx)
    band = (radius > n / 12) & (np.abs(fy) > 2) & (np.abs(fx) > 2)
    if exclude_jpeg:
        step = n // 8
        for axis in (fy, fx):
            near = np.abs(((axis + step // 2) % step) - step // 2) <= 2
            band &= ~near
    if not np.any(band):
        return 0.0, (0, 0)
    masked = np.where(band, white, -np.inf)
    k = int(np.argmax(masked))
    peak = float(masked.ravel()[k]) / np.log(10.0)
    return peak, (int(fy.ravel()[k]), int(fx.ravel()[k]))


def analyze_recapture(y: F32) -> CueResult:
    """Whole-image recapture statistic from the full-resolution luma."""
    if min(y.shape) < 128:
        return CueResult("recapture", None, skipped="image smaller than 128 px")
    peak, (fy, fx) = spectral_peak(y)
    return CueResult("recapture", peak, measurements={"moire_peak_log10": round(peak, 3), "moire_bin": f"{fy},{fx}"})
