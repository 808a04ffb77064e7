"""Cue: JPEG grid alignment and (double-)quantization consistency, block by block.

Why it works: a photo that was a JPEG at some point keeps, in every untouched 8x8 block of its luma, DCT
coefficients that sit on the lattice of that first quantization table (``q1``), whatever happened after (a
lossless save keeps them within rounding noise; a finer JPEG re-save keeps them within half its own step).
Pixels an editor synthesised (inpainting, drawn strokes, a patch pasted with another grid or scale) were
never quantized on that lattice, so their coefficients fall anywhere. We estimate ``q1`` per frequency from
the whole image (edits are a minority), then score each block by how far its coefficients sit from the
lattice. Where it fails: a photo that was never a JPEG (no lattice), a re-save coarser than or equal to the
first compression (JPEG q75 over a q75-q85 original puts every block on the new lattice), resizing after the
edit (destroys the grid), flat or clipped areas (no coefficient carries information).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from proofdesk.checks.pixels._common import F32, ZIGZAG, CueResult, block_dct, weighted_smooth

__all__ = ["analyze_jpeg_traces", "coarse_table", "grid_offset"]

#: Number of zig-zag frequencies (DC first) examined: low frequencies carry most non-zero coefficients.
_N_FREQ = 15
_MAX_Q = 40
_EST_SAMPLE = 10_000
_MIN_FAR = 25
#: Share of the photo added to the off-lattice blocks in the image-level statistic (so one speck in a clean photo
#: does not count as dominant), per mode: lattice fit (PNG / fine JPEG re-save) and double quantization. Chosen
#: by two-fold cross-validation on tuning photos with seeded edits (fit: 0.0005-0.02 tried, F1 best from 0.002
#: down; DQ: 0.005-0.02 tried, best at 0.01-0.02, smaller floors lose q75 edits).
_FLOOR = {"fit": 0.002, "dq": 0.01}


def coarse_table(table: Sequence[int] | None) -> bool:
    """Whether a JPEG's last luma table is coarse (median step >= 3 over the frequencies we use).

    Then the cue reads double-quantization gaps instead of fitting a lattice, a noisier test that gets its own
    threshold (``jpeg_dq`` in the calibration).
    """
    if table is None:
        return False
    return float(np.median([table[u * 8 + v] for u, v in ZIGZAG[:_N_FREQ]])) >= 3.0


def grid_offset(y: F32) -> tuple[tuple[int, int], float]:
    """Position (dy, dx) of the 8x8 JPEG grid from the blockiness of row/column differences, and its strength.

    Strength is the boundary-to-interior ratio of mean absolute differences (about 1.0: no visible grid).
    """
    step = max(1, y.shape[0] // 512)
    sub = y[::step]
    dh = np.abs(np.diff(sub, axis=1)).mean(axis=0)
    stepx = max(1, y.shape[1] // 512)
    dv = np.abs(np.diff(y[:, ::stepx], axis=0)).mean(axis=1)
    offs: list[int] = []
    ratios: list[float] = []
    for d in (dh, dv):
        n = d.shape[0] // 8 * 8
        if n < 16:
            offs.append(0)
            ratios.append(1.0)
            continue
        per = d[:n].reshape(-1, 8).mean(axis=0)
        k = int(np.argmax(per))
        offs.append((k + 1) % 8)
        ratios.append(float(per[k] / max(np.median(per), 1e-6)))
    return (offs[1], offs[0]), float(min(ratios))


def _lattice_scores(vals: npt.NDArray[np.float32], q: int) -> tuple[float, float, int]:
    """(score over all non-zero values, score over values beyond 0.75 q, count beyond) for lattice step q."""
    nz = vals[np.abs(vals) > 0.6]
    if nz.size == 0:
        return 0.0, 0.0, 0
    c = np.cos(2.0 * np.pi * nz / q)
    far = np.abs(nz) > 0.75 * q
    n_far = int(far.sum())
    far_score = float(c[far].mean()) if n_far else 0.0
    return float(c.mean()), far_score, n_far


def _estimate_q1(vals: npt.NDArray[np.float32], *, q_min: int, threshold: float) -> tuple[int | None, float]:
    """Largest step whose lattice the values follow (both near zero and far from it), with its quality."""
    best: tuple[int | None, float] = (None, 0.0)
    scores = {q: _lattice_scores(vals, q) for q in range(max(2, q_min - 1), _MAX_Q + 2)}
    for q in range(q_min, _MAX_Q + 1):
        all_score, far_score, n_far = scores[q]
        # A real lattice fits clearly better than its neighbours; a few discrete levels (flat graphics)
        # fit many steps about equally and must not count.
        neighbours = max(scores.get(q - 1, (0.0, 0.0, 0))[1], scores[q + 1][1])
        if n_far >= _MIN_FAR and far_score >= threshold and all_score >= threshold and far_score - neighbours >= 0.2:
            best = (q, far_score)
    return best


def _attainable(q1: int, q2: int, kmax: int) -> npt.NDArray[np.bool_]:
    """Which quantization indices 0..kmax of step ``q2`` a value first quantized with step ``q1`` can land on."""
    out = np.zeros(kmax + 1, dtype=bool)
    m = np.arange(0, kmax * q2 // q1 + 2)
    k = np.floor(m * q1 / q2 + 0.5).astype(int)
    out[k[k <= kmax]] = True
    return out


def _estimate_q1_double(ks: npt.NDArray[np.int64], q2: int) -> tuple[int | None, float, npt.NDArray[np.bool_] | None]:
    """First step q1 > q2 from the histogram of |k| (the re-save's indices): empty bins between attainable ones.

    The score compares counts in bins that q1 cannot reach with the counts of their reachable neighbours
    (1 = those bins are empty, as double quantization makes them; 0 = no periodic gaps).
    """
    a = np.abs(ks)
    a = a[a >= 1]
    if a.size < 200:
        return None, 0.0, None
    hist = np.bincount(a, minlength=2).astype(np.float64)
    kmax = int(min(30, np.max(np.flatnonzero(hist >= 5)) if np.any(hist >= 5) else 1))
    if kmax < 2:
        return None, 0.0, None
    hist = hist[: kmax + 1]
    best: tuple[int | None, float, npt.NDArray[np.bool_] | None] = (None, 0.0, None)
    for q1 in range(q2 + 1, _MAX_Q + 1):
        att = _attainable(q1, q2, kmax)
        gaps = np.flatnonzero(~att[1:]) + 1
        if gaps.size == 0:
            continue
        reach = np.flatnonzero(att[1:]) + 1
        # Interpolate in the log domain: coefficient histograms fall off exponentially, and a linear
        # interpolation over such a convex curve invents "missing" counts in every gap.
        logh = np.log(hist[reach] + 1.0)
        expected = np.exp(np.interp(gaps, reach, logh)) - 1.0 if reach.size else np.zeros(gaps.size)
        support = float(expected.sum())
        if support < 40:
            continue
        score = 1.0 - float(hist[gaps].sum()) / support
        if score > best[1]:
            best = (q1, score, att)
    if best[0] is None or best[1] < 0.7:
        return None, best[1], None
    return best


def analyze_jpeg_traces(
    rgb: npt.NDArray[np.uint8],
    y: F32,
    *,
    last_table: Sequence[int] | None,
    seed: int = 0,
) -> CueResult:
    """Score every 8x8 block for consistency with the image's first JPEG quantization.

    ``last_table`` is the file's own luma table (64 values in natural order) when the claim is a JPEG,
    else None. Returns a block-resolution heat map (1 = off the lattice, 0 = consistent or no information).
    """
    if min(y.shape) < 64:
        return CueResult("jpeg", None, skipped="image smaller than 64 px")
    (dy, dx), strength = grid_offset(y)
    if strength < 1.02:
        dy, dx = 0, 0
    coefs = block_dct(y, (dy, dx), keep=5)  # the first 15 zig-zag frequencies all lie in the 5x5 corner
    bh, bw = coefs.shape[:2]
    # Blocks with clipped pixels in any channel leave the lattice for a reason unrelated to editing.
    h, w = bh * 8, bw * 8
    crop = np.ascontiguousarray(rgb[dy : dy + h, dx : dx + w])
    hi = np.maximum(np.maximum(crop[..., 0], crop[..., 1]), crop[..., 2])
    lo = np.minimum(np.minimum(crop[..., 0], crop[..., 1]), crop[..., 2])
    # 8x8 max/min by morphology sampled at block anchors (much faster than a 5-D reshape reduction).
    kernel = np.ones((8, 8), np.uint8)
    bmax = cv2.dilate(hi, kernel, anchor=(0, 0))[::8, ::8][:bh, :bw]
    bmin = cv2.erode(lo, kernel, anchor=(0, 0))[::8, ::8][:bh, :bw]
    valid = (bmax < 254) & (bmin > 1)
    n_valid = int(valid.sum())
    measurements: dict[str, float | int | str | bool | None] = {
        "grid_offset": f"{dy},{dx}",
        "grid_strength": round(strength, 3),
        "valid_blocks": n_valid,
        "mode": "dq" if coarse_table(last_table) else "fit",
    }
    if n_valid < 64:
        return CueResult("jpeg", None, measurements=measurements, skipped="too few unclipped 8x8 blocks")
    freqs = ZIGZAG[:_N_FREQ]
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(valid.ravel())
    if idx.size > _EST_SAMPLE:
        idx = rng.choice(idx, _EST_SAMPLE, replace=False)
    flat = coefs.reshape(bh * bw, 5, 5)
    q1: list[int] = []
    quality: list[float] = []
    used: list[tuple[int, int]] = []
    reach: list[npt.NDArray[np.bool_] | None] = []
    for u, v in freqs:
        vals = flat[idx, u, v]
        q2 = int(last_table[u * 8 + v]) if last_table is not None else 1
        if q2 <= 2:
            # A lossless or very fine last save leaves continuous values: fit the lattice directly.
            q, qual = _estimate_q1(vals, q_min=max(2, q2 + 1), threshold=0.25 if q2 > 1 else 0.4)
            att = None
        else:
            # A coarser last save: values sit on its own lattice; look for the gaps a first step leaves.
            q, qual, att = _estimate_q1_double(np.rint(vals / q2).astype(np.int64), q2)
        if q is not None:
            q1.append(q)
            quality.append(qual)
            used.append((u, v))
            reach.append(att)
    measurements["lattice_frequencies"] = len(used)
    measurements["q1_dc"] = q1[0] if used and used[0] == (0, 0) else None
    if len(used) < 3:
        return CueResult(
            "jpeg",
            None,
            measurements=measurements,
            skipped="no first-JPEG lattice found (never a JPEG, or re-saved coarser)",
        )
    num = np.zeros((bh, bw), dtype=np.float32)
    mass = np.zeros((bh, bw), dtype=np.float32)
    for (u, v), q, g, att in zip(used, q1, quality, reach, strict=True):
        c = coefs[:, :, u, v]
        if att is None:
            s = np.asarray(1.0 - np.cos(2.0 * np.pi * c / q), dtype=np.float32)
            # Near zero says little (zero is on every lattice); near or beyond half a step says a lot.
            wgt = np.asarray(np.minimum(1.0, np.abs(c) / (0.5 * q)) * g, dtype=np.float32)
        else:
            q2 = int(last_table[u * 8 + v]) if last_table is not None else 1
            k = np.abs(np.rint(c / q2)).astype(np.int64)
            inside = (k >= 1) & (k < att.size)
            off = inside & ~att[np.minimum(k, att.size - 1)]
            rate = 1.0 - float(att[1:].mean())  # share of unreachable bins: what a random value scores
            s = np.asarray(off, dtype=np.float32) / max(rate, 0.1)
            wgt = np.asarray(inside, dtype=np.float32) * (g * rate)
        num += (s * wgt).astype(np.float32)
        mass += wgt.astype(np.float32)
    mass *= valid
    p = (num / np.maximum(mass, 1e-6)).astype(np.float32)
    sm, smass = weighted_smooth(p, mass, sigma=1.5)
    good = smass > 0.25 * float(np.median(smass[valid])) if n_valid else smass > 0
    base = float(np.median(sm[good & valid])) if np.any(good & valid) else float(np.median(sm))
    heat = np.clip((sm - base) / max(1.0 - base, 0.2), 0.0, 1.0).astype(np.float32)
    heat[~good] = 0.0
    # Image-level evidence: the heat of the largest connected off-lattice region, relative to all off-lattice
    # blocks of the photo plus a floor (0.2% of the photo; 1% in DQ mode), in percent. A real edit is one
    # compact region that dominates; texture in an untouched photo leaves many scattered specks, none dominant.
    # Measured on the tuning split, this finds small edits (0.5%-2% of the photo) that the region's share of
    # the whole photo (the previous statistic) missed, at the same false-alarm rate: a small region counts when
    # little else in the photo is off the lattice.
    hot = heat >= 0.5
    n_comp, labels = cv2.connectedComponents(hot.astype(np.uint8), connectivity=8)
    sums = np.bincount(labels.ravel(), weights=heat.ravel(), minlength=n_comp)[1:] if n_comp > 1 else np.zeros(1)
    largest = float(sums.max())
    floor = _FLOOR[str(measurements["mode"])]
    raw = float(100.0 * largest / (floor * heat.size + float(np.count_nonzero(hot))))
    measurements["largest_region_heat_pct"] = round(100.0 * largest / heat.size, 3)
    measurements["off_lattice_blocks_pct"] = round(100.0 * float(np.count_nonzero(hot)) / heat.size, 3)
    measurements["lattice_baseline"] = round(base, 4)
    measurements["lattice_quality"] = round(float(np.mean(quality)), 3)
    # Map block grid back onto the pixel grid: pad for the offset and the partial blocks at the edges.
    full = np.zeros(((y.shape[0] + 7) // 8 + 1, (y.shape[1] + 7) // 8 + 1), dtype=np.float32)
    full[: heat.shape[0], : heat.shape[1]] = heat
    full = full[: int(np.ceil(y.shape[0] / 8)), : int(np.ceil(y.shape[1] / 8))]
    if dy or dx:
        full = np.asarray(np.roll(full, (int(dy > 0), int(dx > 0)), axis=(0, 1)), dtype=np.float32)
    return CueResult("jpeg", raw, heatmap=np.ascontiguousarray(full), measurements=measurements)
