"""Registration: find the projective transform that maps a reference onto the claim (step 1 of the check).

Keypoint matches (RootSIFT, Lowe ratio test) -> USAC_MAGSAC homography -> sanity checks on the geometry.
A mirrored claim is registered by matching the features of the horizontally flipped claim and un-flipping
the matched positions, so the homography itself carries the mirror (negative determinant).

All coordinates here are in the working images (``LocalFeatures`` coordinates); ``to_full`` converts a
homography to full-resolution pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from proofdesk.signals.features import LocalFeatures, ratio_matches

__all__ = ["Registration", "Transform", "describe_transform", "register", "to_full"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Registration:
    """A verified geometric match of one reference onto the claim."""

    #: 3x3 homography, claim_working <- reference_working.
    homography: F64
    mirrored: bool
    matches: int
    inliers: int
    #: (K, 2) inlier positions in claim and reference working pixels.
    claim_points: F32
    reference_points: F32

    @property
    def inlier_ratio(self) -> float:
        """Inliers over ratio-test matches."""
        return self.inliers / self.matches if self.matches else 0.0


@dataclass(frozen=True)
class Transform:
    """What was done to the reference geometrically, in words a reviewer can check."""

    scale: float  # claim px per reference px (full resolution), geometric mean of the two axes
    rotation_deg: float  # counter-clockwise, in (-180, 180]
    mirrored: bool
    perspective: float  # 0 for a similarity/affine; grows with keystone (photo of a screen)
    reference_shown: float  # fraction of the reference's area visible in the claim
    claim_covered: float  # fraction of the claim's area covered by the reference

    def words(self) -> list[str]:
        """Short phrases: "cropped to 62%", "rotated 90°", "mirrored", "scaled 0.5x", "perspective"."""
        out: list[str] = []
        if self.reference_shown < 0.97:
            out.append(f"cropped to {self.reference_shown:.0%}")
        rot = self.rotation_deg
        nearest = 90.0 * round(rot / 90.0)
        if abs(rot - nearest) <= 1.5:
            if int(nearest) % 360 != 0:
                out.append(f"rotated {int(nearest) % 360}°")
        else:
            out.append(f"rotated {rot:.0f}°")
        if self.mirrored:
            out.append("mirrored")
        if not 0.9 <= self.scale <= 1.1:
            out.append(f"scaled {self.scale:.2f}x")
        if self.perspective > 0.05:
            out.append("perspective (photo of a screen or print?)")
        if self.claim_covered < 0.9:
            out.append(f"inside a larger image ({self.claim_covered:.0%} of the claim)")
        return out


def _flip_x(points: F32, width: int) -> F32:
    out = points.copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


def _plausible(h: F64, ref: LocalFeatures, claim_size: tuple[int, int]) -> bool:
    """Reject degenerate or folded homographies that MAGSAC can return on a few chance matches."""
    if not np.isfinite(h).all() or abs(h[2, 2]) < 1e-12:
        return False
    corners = np.array([[0, 0], [ref.width, 0], [ref.width, ref.height], [0, ref.height]], dtype=np.float64).reshape(
        -1, 1, 2
    )
    warped = cv2.perspectiveTransform(corners, h).reshape(-1, 2)
    # The reference's corners must stay on the same side of the horizon line (w > 0) ...
    w = (np.c_[corners.reshape(-1, 2), np.ones(4)] @ h[2]).ravel()
    if (w <= 0).any():
        return False
    # ... and form a convex quadrilateral (no fold), with every corner turning the same way.
    edges = np.roll(warped, -1, axis=0) - warped
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    if not ((cross > 0).all() or (cross < 0).all()):
        return False
    area = 0.5 * abs(float(np.sum(warped[:, 0] * np.roll(warped[:, 1], -1) - np.roll(warped[:, 0], -1) * warped[:, 1])))
    ref_area = float(ref.width * ref.height)
    claim_area = float(claim_size[0] * claim_size[1])
    # Scale 0.2x-3x (and crops) stays well inside these bounds; beyond them a match is chance.
    if not 0.002 * claim_area <= area <= 400.0 * claim_area or area < 1e-3 * ref_area:
        return False
    singular = np.linalg.svd(h[:2, :2] / h[2, 2], compute_uv=False)
    return bool(singular[1] > 1e-6 and singular[0] / singular[1] < 6.0)


def _estimate(claim_pts: F32, ref_pts: F32, *, reproj: float) -> tuple[F64, npt.NDArray[np.bool_]] | None:
    if len(claim_pts) < 6:
        return None
    h, inlier_mask = cv2.findHomography(
        ref_pts.reshape(-1, 1, 2),
        claim_pts.reshape(-1, 1, 2),
        cv2.USAC_MAGSAC,
        reproj,
        maxIters=5000,
        confidence=0.999,
    )
    if h is None or inlier_mask is None:
        return None
    return np.asarray(h, dtype=np.float64), inlier_mask.ravel().astype(bool)


def register(
    claim: LocalFeatures,
    reference: LocalFeatures,
    *,
    claim_mirrored: LocalFeatures | None = None,
    skip_direct: bool = False,
    ratio: float = 0.8,
    reproj_px: float = 4.0,
) -> Registration | None:
    """Best plausible registration of ``reference`` onto ``claim`` (or its mirror image), or ``None``.

    ``claim_mirrored`` are the features of the horizontally flipped claim; ``skip_direct`` tries only them.
    """
    best: Registration | None = None
    attempts: list[tuple[LocalFeatures, bool]] = [] if skip_direct else [(claim, False)]
    if claim_mirrored is not None:
        attempts.append((claim_mirrored, True))
    for feats, mirrored in attempts:
        pairs = ratio_matches(feats, reference, ratio=ratio)
        if len(pairs) < 6:
            continue
        claim_pts = feats.points[pairs[:, 0]]
        ref_pts = reference.points[pairs[:, 1]]
        # Reprojection tolerance scales with the claim's working size (features at ≤ 1024 px).
        tol = reproj_px * max(claim.width, claim.height) / 1024.0
        # USAC rejects orientation-reversing samples, so a mirrored claim is registered in the flipped
        # frame and the flip is composed afterwards: H = F @ H_flipped.
        found = _estimate(claim_pts, ref_pts, reproj=max(2.0, tol))
        if found is None:
            continue
        h, mask = found
        if not _plausible(h, reference, (claim.width, claim.height)):
            continue
        if mirrored:
            flip = np.array([[-1.0, 0.0, feats.width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
            h = flip @ h
            claim_pts = _flip_x(claim_pts, feats.width)
        candidate = Registration(
            homography=h,
            mirrored=mirrored,
            matches=len(pairs),
            inliers=int(mask.sum()),
            claim_points=np.ascontiguousarray(claim_pts[mask]),
            reference_points=np.ascontiguousarray(ref_pts[mask]),
        )
        if best is None or candidate.inliers > best.inliers:
            best = candidate
    return best


def alignment_residual(reg: Registration) -> float:
    """Median distance (px) between the inliers and where the homography puts them, measured in whichever
    image shows the matched content at the lower resolution.

    A copy is one homography away from its source, however it was scaled, re-saved, blurred, noised or
    shown on a screen: its inliers sit a fraction of a pixel from their predicted places (tuning run: median
    <= 0.85 px in every transform family, <= 0.25 px in most). A separate exposure of the same scene (a
    close-up taken in the same studio session) is not: the garment sags, the lens and the viewpoint differ,
    and its inliers scatter across the whole tolerance. The coarser image is used because a magnified
    copy scales its keypoints' sub-pixel error up with it.
    """
    if reg.inliers == 0:
        return 0.0
    h = reg.homography
    ref_pts = reg.reference_points.reshape(-1, 1, 2).astype(np.float64)
    claim_pts = reg.claim_points.reshape(-1, 1, 2).astype(np.float64)
    in_claim = np.linalg.norm(cv2.perspectiveTransform(ref_pts, h) - claim_pts, axis=2)
    in_reference = np.linalg.norm(cv2.perspectiveTransform(claim_pts, np.linalg.inv(h)) - ref_pts, axis=2)
    return float(min(np.median(in_claim), np.median(in_reference)))


def to_full(h: F64, claim: LocalFeatures, reference: LocalFeatures) -> F64:
    """The homography in full-resolution pixels: claim_full <- reference_full."""
    s_claim = np.diag([claim.scale, claim.scale, 1.0])
    s_ref_inv = np.diag([1.0 / reference.scale, 1.0 / reference.scale, 1.0])
    full = s_claim @ h @ s_ref_inv
    return np.asarray(full / full[2, 2], dtype=np.float64)


def _polygon_area(points: npt.NDArray[np.float64]) -> float:
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)))


def describe_transform(h_full: F64, ref_size: tuple[int, int], claim_size: tuple[int, int]) -> Transform:
    """Decompose a full-resolution homography (claim <- reference) into scale, rotation, mirror, crop."""
    rw, rh = ref_size
    cw, ch = claim_size
    cx, cy = rw / 2.0, rh / 2.0
    # Local affine approximation at the reference centre (exact for a similarity).
    centre = np.array([cx, cy, 1.0])
    w = float(h_full[2] @ centre)
    p = (h_full[:2] @ centre) / w
    jac = (h_full[:2, :2] - np.outer(p, h_full[2, :2])) / w
    det = float(np.linalg.det(jac))
    mirrored = det < 0
    scale = math.sqrt(abs(det))
    a = jac.copy()
    if mirrored:
        a[:, 0] = -a[:, 0]
    # Image y points down; report counter-clockwise rotation as a viewer sees it.
    rotation = -math.degrees(math.atan2(a[1, 0], a[0, 0]))
    if rotation <= -180.0:
        rotation += 360.0
    perspective = float(np.hypot(h_full[2, 0] * rw, h_full[2, 1] * rh) / abs(h_full[2, 2]))
    ref_quad = np.array([[0, 0], [rw, 0], [rw, rh], [0, rh]], dtype=np.float64).reshape(-1, 1, 2)
    warped = cv2.perspectiveTransform(ref_quad, h_full).reshape(-1, 2).astype(np.float32)
    claim_quad = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    inter_area, _ = cv2.intersectConvexConvex(warped, claim_quad)
    warped_area = _polygon_area(warped.astype(np.float64))
    shown = float(inter_area) / warped_area if warped_area > 0 else 0.0
    covered = float(inter_area) / float(cw * ch)
    return Transform(
        scale=scale,
        rotation_deg=rotation,
        mirrored=mirrored,
        perspective=perspective,
        reference_shown=min(1.0, shown),
        claim_covered=min(1.0, covered),
    )
