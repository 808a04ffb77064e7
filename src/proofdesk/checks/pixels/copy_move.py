"""Cue: copy-move (clone stamp) by keypoint self-matching with geometric verification.

Why it works: a region copied within the same photo brings its keypoints along, so matching the image
against itself finds pairs of near-identical descriptors a fixed offset apart. We match ORB descriptors
of a reduced copy against themselves (skipping each point's own match), keep pairs that are far apart and
pass a ratio test, and ask RANSAC for one similarity transform that many pairs share. The match is then
grown into a dense map by comparing the image with its transformed self. Where it fails: flat or
low-texture clones (no keypoints; a clone of plain fabric is invisible here), genuinely repeated objects
(two identical buttons, a pair of shoes, printed patterns) look like clones, and heavy scaling or
recompression of the clone weakens the descriptors.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from proofdesk.checks.pixels._common import F32, CueResult

__all__ = ["analyze_copy_move", "reduce_gray"]

_MAX_SIDE = 1024
_MIN_SHIFT = 24  # pixels of the reduced copy: closer pairs are the same structure, not a clone
_MAX_HAMMING = 40


def analyze_copy_move(gray_small: npt.NDArray[np.uint8], full: F32 | None = None) -> CueResult:
    """Copy-move on a reduced grey copy; heat map at that copy's resolution (both copies marked).

    ``full`` (full-resolution luma) lets each matched pair be verified pixel by pixel: a clone is a near
    copy of its source (small mean difference at the best integer shift), a genuinely repeated pattern (two
    buttons, a knit) differs by noise and detail. The raw statistic counts verified pairs.
    """
    h, w = gray_small.shape
    if min(h, w) < 64:
        return CueResult("copy_move", None, skipped="image smaller than 64 px")
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=3000, fastThreshold=10, edgeThreshold=15, patchSize=15
    )
    kps, des = orb.detectAndCompute(gray_small, None)
    measurements: dict[str, float | int | str | bool | None] = {"keypoints": len(kps)}
    if des is None or len(kps) < 20:
        return CueResult("copy_move", 0.0, heatmap=np.zeros((h, w), np.float32), measurements=measurements)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    knn = matcher.knnMatch(des, des, k=3)
    pts = np.array([kp.pt for kp in kps], dtype=np.float32)
    src: list[int] = []
    dst: list[int] = []
    for group in knn:
        others = [m for m in group if m.trainIdx != m.queryIdx]
        if len(others) < 1:
            continue
        best = others[0]
        second = others[1].distance if len(others) > 1 else 256.0
        if best.distance > _MAX_HAMMING or best.distance > 0.7 * second:
            continue
        a, b = best.queryIdx, best.trainIdx
        if a > b:  # each pair once
            continue
        if float(np.hypot(*(pts[a] - pts[b]))) < _MIN_SHIFT:
            continue
        src.append(a)
        dst.append(b)
    measurements["candidate_pairs"] = len(src)
    heat = np.zeros((h, w), np.float32)
    if len(src) < 6:
        return CueResult("copy_move", float(len(src)) / 2.0, heatmap=heat, measurements=measurements)
    p1, p2 = pts[src], pts[dst]
    # The pair order is arbitrary; orient every pair along the dominant displacement so one transform fits.
    disp = p2 - p1
    ref = np.median(disp, axis=0)
    flip = (disp @ ref) < 0
    p1[flip], p2[flip] = p2[flip].copy(), p1[flip].copy()
    model, inliers = cv2.estimateAffinePartial2D(p1, p2, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    n_in = int(inliers.sum()) if inliers is not None else 0
    measurements["inliers"] = n_in
    if model is None or n_in < 6:
        return CueResult("copy_move", float(n_in) / 2.0, heatmap=heat, measurements=measurements)
    shift = float(np.hypot(model[0, 2], model[1, 2]))
    measurements["shift_px"] = round(shift, 1)
    ok = inliers.ravel().astype(bool)
    verified = _verified_pairs(p1[ok], p2[ok], gray_small, full) if full is not None else n_in
    measurements["verified_pairs"] = verified
    # Dense verification: where the image equals its transformed self (and has texture), a copy sits.
    g = gray_small.astype(np.float32)
    warped = cv2.warpAffine(g, model, (w, h), flags=cv2.INTER_LINEAR, borderValue=-1000.0)
    diff = np.abs(g - warped)
    texture = cv2.GaussianBlur(np.abs(cv2.Laplacian(g, cv2.CV_32F)), (7, 7), 2.0)
    same = ((cv2.GaussianBlur(diff, (7, 7), 2.0) < 3.0) & (texture > 2.0)).astype(np.uint8)
    inv = cv2.invertAffineTransform(model)
    back = cv2.warpAffine(same, inv, (w, h), flags=cv2.INTER_NEAREST)
    both = np.maximum(same, back)
    # Keep only the parts around verified keypoints, so chance equality elsewhere is not marked.
    near = np.zeros((h, w), np.uint8)
    for x, y in np.concatenate([p1[ok], p2[ok]]):
        cv2.circle(near, (int(x), int(y)), 40, 1, -1)
    both = cv2.morphologyEx(both * near, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    heat = both.astype(np.float32)
    measurements["cloned_fraction"] = round(float(heat.mean()), 5)
    return CueResult("copy_move", float(verified), heatmap=heat, measurements=measurements)


def _verified_pairs(
    p1: npt.NDArray[np.float32], p2: npt.NDArray[np.float32], small: npt.NDArray[np.uint8], full: F32
) -> int:
    """Pairs whose 16x16 full-resolution patches match within 2 grey levels at the best shift of +-2 px."""
    scale = full.shape[1] / small.shape[1]
    fh, fw = full.shape
    r = 8
    count = 0
    for a, b in zip(p1 * scale, p2 * scale, strict=True):
        ax, ay, bx, by = (int(np.rint(v)) for v in (*a, *b))
        if not (
            r + 2 <= ax < fw - r - 2
            and r + 2 <= ay < fh - r - 2
            and r + 2 <= bx < fw - r - 2
            and r + 2 <= by < fh - r - 2
        ):
            continue
        pa = full[ay - r : ay + r, ax - r : ax + r]
        if float(pa.std()) < 3.0:  # flat patches match anything
            continue
        best = min(
            float(np.abs(pa - full[by - r + dy : by + r + dy, bx - r + dx : bx + r + dx]).mean())
            for dy in range(-2, 3)
            for dx in range(-2, 3)
        )
        count += best < 2.0
    return count


def reduce_gray(rgb: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
    """Grey copy with the longer side at most ``_MAX_SIDE`` and the factor back to full resolution."""
    h, w = rgb.shape[:2]
    scale = min(1.0, _MAX_SIDE / max(h, w))
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray), 1.0 / scale
