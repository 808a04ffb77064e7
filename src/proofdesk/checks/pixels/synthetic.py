"""Cue: whole-image synthetic score from up-sampling residual periodicity and noise-residual statistics.

Why it works (when it does): generators build images by up-sampling (transposed convolutions, the
latent-diffusion decoder's 2x stages), which leaves a faint periodic pattern in the fine residual that a
camera pipeline does not, and their noise residual is cleaner and less heavy-tailed than a sensor's. We
average the spectrum of a median-filter residual over full-resolution tiles and measure the energy at the
periods 2 and 4 (not 8, which every JPEG has) against its neighbours, plus the residual's level.
Where it cannot be trusted: JPEG re-saves and resizing erase the periodic trace (most claim photos are
both), modern generators and editors often leave none, heavily processed real photos (studio product
shots on white, beautified phone photos) look "clean" too. Calibrated so that it rarely fires on real
photos; its detection rate on real AI files is low and measured in BENCHMARKS.md. Treat it as a hint.
"""

from __future__ import annotations

import cv2
import numpy as np

from proofdesk.checks.pixels._common import F32, CueResult

__all__ = ["analyze_synthetic"]

_TILE = 64
_MAX_TILES = 96


def analyze_synthetic(y: F32) -> CueResult:
    """Whole-image statistic (larger = more generator-like) from the full-resolution luma."""
    h, w = y.shape
    if min(h, w) < 2 * _TILE:
        return CueResult("synthetic", None, skipped="image smaller than 128 px")
    # A centred window of at most 1536 px is plenty for the averaged spectrum and bounds the time.
    n = 1536
    y0, x0 = max(0, (h - n) // 2), max(0, (w - n) // 2)
    win = np.ascontiguousarray(y[y0 : y0 + n, x0 : x0 + n], dtype=np.float32)
    h, w = win.shape
    res = win - cv2.medianBlur(win, 3)
    ty, tx = h // _TILE, w // _TILE
    grid = res[: ty * _TILE, : tx * _TILE].reshape(ty, _TILE, tx, _TILE)
    tiles = grid.transpose(0, 2, 1, 3).reshape(-1, _TILE, _TILE)
    # Skip flat tiles (clipped background): they carry no residual and would dilute the spectrum.
    energy = tiles.std(axis=(1, 2))
    keep = np.argsort(energy)[::-1][: min(_MAX_TILES, max(1, int((energy > 0.5).sum())))]
    tiles = tiles[keep]
    if tiles.shape[0] < 4:
        return CueResult("synthetic", None, skipped="too few textured tiles")
    spec = np.abs(np.fft.fft2(tiles - tiles.mean(axis=(1, 2), keepdims=True))).mean(axis=0)
    logs = np.log(spec + 1e-6)

    def peak(fy: int, fx: int) -> float:
        ys = [(fy + d) % _TILE for d in (-2, -1, 1, 2)]
        xs = [(fx + d) % _TILE for d in (-2, -1, 1, 2)]
        around = np.concatenate([logs[ys, fx], logs[fy, xs]])
        return float(logs[fy, fx] - np.median(around))

    half, quarter = _TILE // 2, _TILE // 4
    peaks = {
        "p2": max(peak(half, 0), peak(0, half), peak(half, half)),
        "p4": max(
            peak(quarter, 0), peak(0, quarter), peak(quarter, quarter), peak(3 * quarter, 0), peak(0, 3 * quarter)
        ),
    }
    flat = tiles.reshape(tiles.shape[0], -1)
    kurt = float(np.mean(((flat - flat.mean(1, keepdims=True)) ** 4).mean(1) / (flat.var(1) ** 2 + 1e-6)))
    raw = max(peaks["p2"], peaks["p4"])
    return CueResult(
        "synthetic",
        raw,
        measurements={
            "upsampling_peak_p2": round(peaks["p2"], 3),
            "upsampling_peak_p4": round(peaks["p4"], 3),
            "residual_kurtosis": round(kurt, 2),
            "tiles": int(tiles.shape[0]),
        },
    )
