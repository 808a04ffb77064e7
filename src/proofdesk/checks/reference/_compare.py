"""Comparison: where does the claim differ from the registered reference (step 2 of the check)?

The reference is warped into the claim's working frame, then made to look like the claim *globally*, so
that what a phone or a filter does to a whole photo is not counted as an edit:

1. anti-aliasing: the reference is shrunk with area averaging before a downscaling warp;
2. colour: a robust per-channel polynomial of the three channels (brightness, contrast, gamma, saturation,
   tint, sepia-like filters) plus a smooth spatial term (vignette), fitted by least squares on the overlap
   and refitted on the best-agreeing 60% of pixels so that the edited area does not bend the fit;
3. blur: the sharper of the two images is blurred by the Gaussian that best matches the other (blur,
   resampling, JPEG smoothing, heavy noise).

Then two per-pixel cues, each normalised by the residual level measured on this very pair (so JPEG q40
blocking or sensor noise raises the bar instead of firing everywhere):

* ``colour``: smoothed absolute colour difference (catches flat stains, colour blotches, content pasted on
  the white studio background where there is no texture to compare);
* ``structure``: the contrast-structure term of SSIM in a Gaussian window (catches drawn cracks, tears,
  removed objects, text; invariant to any local affine intensity change).

Their maximum, divided by the threshold, is the heat map (1.0 = at threshold). Only pixels covered by the
warped reference count: app chrome, borders and a new scene *outside* the reference are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Comparison", "compare"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

_BLUR_STEPS = (0.0, 0.7, 1.2, 2.0, 3.0, 4.5)


@dataclass(frozen=True)
class Comparison:
    """Per-pixel comparison of the claim with the warped reference, in claim working pixels."""

    #: Where the warped reference covers the claim (the only pixels compared).
    overlap: Bool
    #: Heat: max of the normalised cues; 1.0 = at the edit threshold. 0 outside the overlap.
    heat: F32
    #: Binary edit mask after morphology and the size filter.
    edited: Bool
    #: Fraction of the overlap's *textured* reference pixels whose structure agrees with the claim, at the
    #: working scale (``fine``) and at 1/4 scale (``coarse``). Derived copies agree at both; another photo
    #: of the same product agrees at neither; a whole-image regeneration keeps the coarse layout only.
    agreement_fine: float
    agreement_coarse: float
    textured_fraction: float
    colour_fit_rms: float
    blur_sigma: float  # > 0: reference blurred to match the claim; < 0: claim blurred to match the reference
    noise_level: float
    #: The fitted colour model (see ``_apply_colour``) and the colour cue's threshold, for refinement.
    colour_model: F32 | None = None
    colour_threshold: float = 0.0
    #: ``agreement_fine`` on the textured pixels near the registration inliers only (content the claim
    #: certainly shares with the reference). A pasted cut-out agrees there as fully as a whole copy, however
    #: much new scene surrounds it; another shot of the same product does not.
    agreement_anchor: float = 0.0
    #: Share of the zone next to the inliers that is textured (what ``agreement_anchor`` is measured on).
    anchor_textured: float = 0.0
    #: Mean colour distance (absolute difference over R, G, B, 0-255) between the claim and the
    #: warped reference *before* the colour fit, near the inliers: how much recolouring the reference
    #: needs. Merchants publish colour variants that are one photograph recoloured; all of them register
    #: as copies, and the true source is the one that needs the least recolouring.
    colour_shift: float = 0.0

    @cached_property
    def components(self) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32], F64]:
        """``cv2.connectedComponentsWithStats`` of ``edited`` (8-connected): count, labels, stats, centroids.

        Computed once and shared by the refinement and the finding's regions, which both need it.
        """
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(self.edited.astype(np.uint8), connectivity=8)
        return int(n), np.asarray(labels, np.int32), np.asarray(stats, np.int32), np.asarray(centroids, np.float64)


def _warp(ref: U8, h: F64, size: tuple[int, int]) -> tuple[F32, Bool, F64]:
    """Warp ``ref`` into a frame of ``size`` (w, h); shrink it first if the warp downscales."""
    jac_scale = float(np.sqrt(abs(np.linalg.det(h[:2, :2] / h[2, 2]))))
    if jac_scale < 0.7:
        f = max(jac_scale, 0.05)
        small = np.asarray(cv2.resize(ref, None, fx=f, fy=f, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        sx = small.shape[1] / ref.shape[1]
        sy = small.shape[0] / ref.shape[0]
        h = h @ np.diag([1.0 / sx, 1.0 / sy, 1.0])
        ref = small
    warped = cv2.warpPerspective(
        ref.astype(np.float32), h, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    ones = np.ones(ref.shape[:2], dtype=np.float32)
    cover = cv2.warpPerspective(ones, h, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    # Drop a thin band along the reference's border: interpolation there mixes in the replicated edge.
    # The band is ~1% of the frame: homography error grows towards the reference's border, far from the
    # inliers, and a border edit narrower than that is below the 0.3% edit size anyway.
    band = max(5, 2 * round(0.005 * max(size)) + 1)
    overlap = cv2.erode((cover > 0.999).astype(np.uint8), np.ones((band, band), np.uint8)) > 0
    return np.asarray(warped, dtype=np.float32), overlap, h


def _source_window(ref: U8, h: F64, size: tuple[int, int], margin: int = 3) -> tuple[U8, F64]:
    """The part of ``ref`` that ``h`` (frame <- ref) maps onto a frame of ``size``, and ``h`` for that part.

    ``_warp`` converts its whole input to float and warps a mask of it as large: for a small window of a
    large reference (refinement boxes) most of that work is thrown away. The window's corners are mapped
    back (a homography maps the rectangle to a convex quadrilateral, so their bounding box holds every
    source position) and ``margin`` px added for bilinear interpolation; the warp of the part is then the
    same as the warp of the whole. Returns ``ref``, ``h`` unchanged when the window is not wholly in front
    of the horizon or when ``_warp`` would shrink the reference first (its resampling grid starts at the
    reference's corner, so a part would not resample identically).
    """
    jac_scale = float(np.sqrt(abs(np.linalg.det(h[:2, :2] / h[2, 2]))))
    if jac_scale < 0.7 or not np.isfinite(h).all():
        return ref, h
    w, hgt = size
    corners = np.array([[-1.0, -1.0, 1.0], [w, -1.0, 1.0], [w, hgt, 1.0], [-1.0, hgt, 1.0]])
    try:
        back = corners @ np.linalg.inv(h).T
    except np.linalg.LinAlgError:
        return ref, h
    if not (np.isfinite(back).all() and ((back[:, 2] > 1e-12).all() or (back[:, 2] < -1e-12).all())):
        return ref, h
    pts = back[:, :2] / back[:, 2:3]
    rh, rw = ref.shape[:2]
    x0 = max(0, int(np.floor(pts[:, 0].min())) - margin)
    y0 = max(0, int(np.floor(pts[:, 1].min())) - margin)
    x1 = min(rw, int(np.ceil(pts[:, 0].max())) + margin + 1)
    y1 = min(rh, int(np.ceil(pts[:, 1].max())) + margin + 1)
    if x1 - x0 < 2 or y1 - y0 < 2 or (x1 - x0) * (y1 - y0) >= rw * rh:
        return ref, h
    return ref[y0:y1, x0:x1], h @ np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])


_DEGREE = 3
_N_COLOUR = 1 + 3 * _DEGREE
_N_SPATIAL = 5


def _terms(rgb: F32, xy: F32) -> F32:
    """Regressors of (N, 3) colours at (N, 2) [0, 1] positions.

    Colour: 1 and r, r², r³, g, g², g³, b, b², b³ (an additive per-channel cubic: tone curves, gamma,
    contrast, and through the cross-channel terms saturation, tint and sepia). Spatial: x, y, x², y², xy
    (vignette and gradient filters).
    """
    c = rgb / 255.0
    cols = [np.ones(len(c), np.float32)]
    for k in range(3):
        ch = c[:, k]
        cols += [ch, ch * ch, ch * ch * ch]
    x, y = xy[:, 0], xy[:, 1]
    cols += [x, y, x * x, y * y, x * y]
    return np.stack(cols, axis=1).astype(np.float32)


def _solve(a: F32, b: F32, prior: F32) -> F32:
    """Least squares through the (tiny) normal equations, shrunk towards ``prior`` (the identity map).

    Product photos are often nearly grey (r = g = b), which makes the three per-channel polynomials
    collinear; without the shrinkage the fit explodes on the few saturated colours it never saw.
    """
    ata = (a.T @ a).astype(np.float64)
    lam = 1e-4 * max(1.0, float(np.trace(ata)) / len(ata))
    rhs = (a.T @ b).astype(np.float64) + lam * prior.astype(np.float64)
    return np.asarray(np.linalg.solve(ata + lam * np.eye(len(ata)), rhs), dtype=np.float32)


def _sample(mask: Bool, points: F32 | None, count: int, rng: np.random.Generator) -> tuple[npt.NDArray[np.int64], ...]:
    """About ``count`` random pixel coordinates inside ``mask`` (near ``points`` if given)."""
    hgt, wid = mask.shape
    if points is not None and len(points) > 0:
        radius = max(6, round(0.015 * max(hgt, wid)))
        centre = points[rng.integers(len(points), size=count)]
        ys = np.clip(np.rint(centre[:, 1] + rng.integers(-radius, radius + 1, count)), 0, hgt - 1).astype(np.int64)
        xs = np.clip(np.rint(centre[:, 0] + rng.integers(-radius, radius + 1, count)), 0, wid - 1).astype(np.int64)
    else:
        ys = rng.integers(0, hgt, size=count * 3)
        xs = rng.integers(0, wid, size=count * 3)
    keep = mask[ys, xs]
    return ys[keep][:count], xs[keep][:count]


def _fit_colour(
    warped: F32, claim: F32, overlap: Bool, points: F32, rng: np.random.Generator
) -> tuple[F32 | None, float, F32]:
    """Robust global colour transfer reference -> claim; returns (model to apply, rms, model to report).

    The model to apply (with ``_apply_colour``) is ``None`` when there were too few pixels to fit: the
    reference is then used as it is, and the identity is reported.

    Seeded on pixels around the registration inliers (content the two images share for certain), then
    refitted on every overlap pixel that agrees with the seed fit. This stays right even when most of the
    overlap was replaced (a product pasted into another scene), where a plain trimmed fit on the whole
    overlap would model the new scene instead.
    """
    hgt, wid = overlap.shape
    ay, ax = _sample(overlap, points, 4000, rng)
    oy, ox = _sample(overlap, None, 12000, rng)
    if len(ay) < 50:
        ay, ax = oy, ox
    identity = np.zeros((_N_COLOUR + _N_SPATIAL, 3), np.float32)
    for k in range(3):
        identity[1 + 3 * k, k] = 255.0
    if len(ay) < 50:
        return None, 0.0, identity
    ys = np.concatenate([ay, oy])
    xs = np.concatenate([ax, ox])
    xy = np.stack([xs / wid, ys / hgt], axis=1).astype(np.float32)
    design = _terms(warped[ys, xs], xy)
    target = claim[ys, xs]
    seed_rows = np.arange(len(ys)) < len(ay)
    coef = _solve(design[seed_rows, :_N_COLOUR], target[seed_rows], identity[:_N_COLOUR])
    resid = _max3(np.abs(design[:, :_N_COLOUR] @ coef - target))
    rms = float(np.sqrt(np.mean(resid[seed_rows] ** 2)))
    keep = seed_rows | (resid <= max(12.0, 3.0 * rms))
    full = np.zeros((design.shape[1], 3), dtype=np.float32)
    for _ in range(2):
        if int(keep.sum()) < 50:
            break
        full = _solve(design[keep], target[keep], identity)
        resid = _max3(np.abs(design @ full - target))
        rms = float(np.sqrt(np.mean(resid[keep] ** 2)))
        keep = resid <= max(12.0, 3.0 * rms)
    if not full.any():
        full[:_N_COLOUR] = coef if coef.any() else identity[:_N_COLOUR]
    return full, rms, full


def _apply_colour(warped: F32, coef: F32, frame: tuple[int, int, int, int]) -> F32:
    """Apply a fitted colour model to ``warped``, a window ``frame`` = (x0, y0, frame_w, frame_h) of the frame.

    Colour part: one 256-entry table per (output, input) channel pair, summed (cv2.LUT on the rounded
    warped reference). Spatial part: a smooth field on a coarse grid of the window, resized. Positions are
    fractions of the whole frame, so a window of a larger (refinement) frame gets the same field.
    """
    hgt, wid = warped.shape[:2]
    out = _colour_part(warped, coef)
    out += _spatial_field(coef, frame, wid, hgt)
    return np.clip(out, 0.0, 255.0, out=out)


def _colour_part(warped: F32, coef: F32) -> F32:
    """The colour part of ``_apply_colour``: per pixel, so the same for any array of pixels (H, W, 3)."""
    levels = np.arange(256, dtype=np.float32) / 255.0
    powers = np.stack([levels, levels**2, levels**3], axis=1)  # (256, 3)
    # Rounded to levels as np.clip(np.rint(.), 0, 255) would (OpenCV rounds half to even too); ``warped`` is
    # never negative (a bilinear warp, maybe blurred, of 0-255 pixels), so the absolute value changes nothing.
    ref_u8 = cv2.convertScaleAbs(np.ascontiguousarray(warped))
    planes = []
    for c in range(3):
        tables = np.stack([powers @ coef[1 + 3 * k : 4 + 3 * k, c] for k in range(3)], axis=1)  # (256, 3)
        mapped = cv2.LUT(ref_u8, tables.reshape(256, 1, 3).astype(np.float32))
        # Sum of the three tables plus the constant term, in one pass.
        planes.append(cv2.transform(mapped, np.array([[1.0, 1.0, 1.0, coef[0, c]]], np.float32)))
    return np.asarray(cv2.merge(planes), dtype=np.float32).reshape(warped.shape)


def _spatial_field(coef: F32, frame: tuple[int, int, int, int], wid: int, hgt: int) -> F32:
    """The spatial part of ``_apply_colour`` for a ``wid`` x ``hgt`` window at ``frame``."""
    x0, y0, frame_w, frame_h = frame
    gw, gh = max(2, wid // 8), max(2, hgt // 8)
    gx, gy = np.meshgrid(
        np.linspace(x0 / frame_w, (x0 + wid) / frame_w, gw, dtype=np.float32),
        np.linspace(y0 / frame_h, (y0 + hgt) / frame_h, gh, dtype=np.float32),
    )
    spatial = np.stack([gx, gy, gx * gx, gy * gy, gx * gy], axis=2) @ coef[_N_COLOUR:]
    return np.asarray(cv2.resize(spatial.astype(np.float32), (wid, hgt), interpolation=cv2.INTER_LINEAR), np.float32)


def _gray(rgb: F32) -> F32:
    return np.asarray(rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32), dtype=np.float32)


def _blur(img: F32, sigma: float) -> F32:
    if sigma <= 0:
        return img
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), dtype=np.float32)


_BLUR_HALF = 24


def _patches(img: F32, centres: npt.NDArray[np.int64], half: int = _BLUR_HALF) -> F32:
    """Square patches (2*half+1) around ``centres`` (K, 2) x/y, stacked vertically into one strip."""
    size = 2 * half + 1
    out = np.empty((len(centres) * size, size, *img.shape[2:]), dtype=np.float32)
    for i, (x, y) in enumerate(centres):
        out[i * size : (i + 1) * size] = img[y - half : y + half + 1, x - half : x + half + 1]
    return out


def _blur_centres(points: F32, shape: tuple[int, ...]) -> npt.NDArray[np.int64] | None:
    """The patch centres ``_match_blur`` measures on (up to ~150 inliers), or None if fewer than 5."""
    half = _BLUR_HALF
    hgt, wid = shape[:2]
    pts = np.rint(points).astype(np.int64)
    ok = (pts[:, 0] >= half) & (pts[:, 0] < wid - half) & (pts[:, 1] >= half) & (pts[:, 1] < hgt - half)
    pts = pts[ok][:: max(1, int(ok.sum()) // 150)]
    return pts if len(pts) >= 5 else None


def _match_blur(strip_r: F32, strip_c: F32) -> float:
    """Signed Gaussian sigma that best equalises sharpness (> 0 blur reference, < 0 blur claim).

    Measured on patches (``_patches``, gray) of the reference and the claim around the registration
    inliers (textured, shared content; ``_blur_centres``), so flat studio background and edited areas do
    not vote. Each patch is blurred as part of one strip; only its centre, farther than 3 sigma from the
    neighbouring patches, is scored.
    """
    half, inner = _BLUR_HALF, 8
    size = 2 * half + 1
    n_patches = len(strip_r) // size

    def centres(strip: F32) -> F32:
        """The scored centres of the patches, in the strip's row-major order (what a mask would select)."""
        sub = strip.reshape(n_patches, size, size)[:, half - inner : half + inner + 1, half - inner : half + inner + 1]
        return np.ascontiguousarray(sub).reshape(-1)

    sharp_r, sharp_c = centres(strip_r), centres(strip_c)

    def blurred_centres(strip: F32, sigma: float) -> F32:
        """``centres(_blur(strip, sigma))``, blurring only what the scored centres depend on.

        OpenCV's Gaussian for float images reaches ``radius`` = (round(8 sigma + 1) | 1) // 2 px. When the
        centres plus that reach stay inside each patch, the scored values do not depend on anything further
        out (neither the rest of the patch nor the strip's border), so each patch is cut to its centre and
        ``radius`` + 1 px around it before blurring (up to ~3x fewer pixels at small sigmas), the same
        numbers (checked bit for bit on every sigma the search can reach). Cut patches laid out in a square
        grid instead of a strip blur faster still but not bit-identically (OpenCV's row filter is not
        position-independent), so the strip stays.
        """
        radius = (round(8.0 * sigma + 1.0) | 1) // 2
        reach = inner + radius + 1
        # Kernels under 7 taps (sigma < ~0.56) take another OpenCV code path whose results depend on the
        # image width, so those are blurred whole.
        if radius < 3 or reach > half:
            return centres(_blur(strip, sigma))
        cut = np.ascontiguousarray(
            strip.reshape(n_patches, size, size)[:, half - reach : half + reach + 1, half - reach : half + reach + 1]
        )
        side = 2 * reach + 1
        blurred = _blur(cut.reshape(n_patches * side, side), sigma).reshape(n_patches, side, side)
        core = blurred[:, reach - inner : reach + inner + 1, reach - inner : reach + inner + 1]
        return np.ascontiguousarray(core).reshape(-1)

    def error(signed: float) -> float:
        r = blurred_centres(strip_r, signed) if signed > 0 else sharp_r
        c = blurred_centres(strip_c, -signed) if signed < 0 else sharp_c
        return float(np.mean((r - c) ** 2))

    best, best_err = 0.0, np.inf
    for sigma in _BLUR_STEPS:
        for sign in (1.0, -1.0) if sigma > 0 else (1.0,):
            err = error(sign * sigma)
            # Prefer no blur unless it clearly helps: blurring both always lowers the error a little.
            if err < best_err * 0.97:
                best, best_err = sign * sigma, err
    if best != 0.0:
        # The grid is coarse (steps of ~40%); a blur between two steps leaves a residual along every
        # high-contrast colour edge, which the cues then report as many small "edits". Refine around it.
        for factor in (0.75, 0.87, 1.15, 1.3):
            err = error(best * factor)
            if err < best_err:
                best, best_err = best * factor, err
    return best


def _ssim_structure(a: F32, b: F32, window: float, c: float) -> tuple[F32, F32, F32]:
    """SSIM contrast-structure term ``(2 cov + C) / (var_a + var_b + C)`` and both local variances."""
    mu_a = _blur(a, window)
    mu_b = _blur(b, window)
    var_a = np.maximum(_blur(a * a, window) - mu_a * mu_a, 0.0)
    var_b = np.maximum(_blur(b * b, window) - mu_b * mu_b, 0.0)
    cov = _blur(a * b, window) - mu_a * mu_b
    s = (2.0 * cov + c) / (var_a + var_b + c)
    return np.asarray(s, dtype=np.float32), var_a, var_b


def _agreement(
    s: F32, var_ref: F32, overlap: Bool, *, min_var: float, agree_at: float, core: int = 5
) -> tuple[float, float]:
    """Share of the reference's textured pixels whose structure agrees, and the textured share.

    Only the *core* of textured areas counts (eroded by ``core`` px): the band along an object's outline
    is textured only because it touches the background, and when the object was cut out and pasted onto
    another background that band disagrees although the object itself is a copy.
    """
    raw = (var_ref > min_var).astype(np.uint8)
    textured = (cv2.erode(raw, np.ones((core, core), np.uint8)) > 0) & overlap
    n = int(textured.sum())
    if n == 0:
        return 0.0, 0.0
    return float((s[textured] > agree_at).sum()) / n, n / max(1, int(overlap.sum()))


def _illumination(resid: F32, overlap: Bool, *, cell: int = 16, cap: float = 20.0) -> F32:
    """Smooth, low-amplitude residual (glare, uneven light on a photographed screen) to discount.

    A 5x5 median over 16 px cells (an 80 px window at the working size) keeps what varies slowly and
    ignores local edits smaller than the window; the cap keeps a large stain or a pasted scene from being
    explained away as "lighting" (only up to ``cap`` levels are absorbed).
    """
    hgt, wid = overlap.shape
    small = (max(1, wid // cell), max(1, hgt // cell))
    weight = cv2.resize(overlap.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    # The residual inside the overlap, 0 outside: a masked copy, several times cheaper than np.where's
    # broadcast of the (H, W, 1) mask over three channels, with the same values.
    masked = np.zeros(resid.shape, np.float32)
    cv2.copyTo(np.ascontiguousarray(resid, dtype=np.float32), np.ascontiguousarray(overlap).view(np.uint8), masked)
    mean = np.asarray(cv2.resize(masked, small, interpolation=cv2.INTER_AREA), np.float32)
    low: F32 = np.where(weight[..., None] > 0.5, mean / np.maximum(weight, 1e-3)[..., None], 0.0).astype(np.float32)
    if min(small) >= 5:
        low = np.asarray(cv2.medianBlur(low, 5), np.float32)
    low = np.clip(low, -cap, cap)
    return np.asarray(cv2.resize(low, (wid, hgt), interpolation=cv2.INTER_LINEAR), dtype=np.float32)


def _anchor(points: F32, overlap: Bool) -> Bool:
    """Pixels near the registration inliers: content the claim certainly shares with the reference."""
    hgt, wid = overlap.shape
    radius = max(6, round(0.015 * max(hgt, wid)))
    canvas = np.zeros((hgt, wid), dtype=np.uint8)
    for x, y in np.rint(points).astype(np.int64):
        cv2.circle(canvas, (int(x), int(y)), radius, 1, -1)
    return (canvas > 0) & overlap


def _outside(claim: F32, ref: F32, box: U8) -> F32:
    """How far ``claim`` lies outside the ``box`` min/max envelope of ``ref`` (0 inside), per channel.

    Above the maximum and below the minimum cannot both hold (the maximum is never below the minimum), so the
    larger of the two signed distances, floored at 0, equals their floored sum up to the sign of zero, which
    the squared distance the cues take does not see; one pass fewer over the image.
    """
    over: F32 = np.maximum(claim - cv2.dilate(ref, box), cv2.erode(ref, box) - claim)
    np.maximum(over, 0.0, out=over)
    return over


def _pixels(img: F32, mask: Bool) -> F32:
    """``img[mask]`` for an (H, W, C) image and an (H, W) mask: the same rows in the same order, gathered by
    flat index, which numpy does ~3x faster than a 2-D boolean index into a 3-D array."""
    return img.reshape(-1, img.shape[2])[np.flatnonzero(mask)]


def _max3(values: F32) -> F32:
    """Row-wise maximum of an (N, 3) array: ``values.max(axis=1)``, element for element, without numpy's slow
    reduction over a length-3 axis."""
    return np.maximum(np.maximum(values[:, 0], values[:, 1]), values[:, 2])


def _robust_spread(values: F32) -> tuple[float, float]:
    if len(values) == 0:
        return 0.0, 0.0
    med = float(np.median(values))
    return med, float(np.median(np.abs(values - med))) * 1.4826


def compare(
    claim: U8,
    reference: U8,
    homography: F64,
    claim_points: F32,
    *,
    colour_k: float = 6.0,
    colour_floor: float = 14.0,
    structure_threshold: float = 0.35,
    min_region_fraction: float = 0.0004,
    seed: int = 0,
) -> Comparison:
    """Compare the claim working image with the reference warped by ``homography`` (claim <- reference).

    ``claim_points`` are the registration inliers in claim working pixels. ``colour_k``/``colour_floor``:
    the colour cue fires above ``max(floor, median + k * 1.4826 MAD)`` of the smoothed residual measured
    around the inliers. ``structure_threshold``: the structure cue fires where SSIM's structure term falls
    below it. ``min_region_fraction``: connected edit regions smaller than this fraction of the overlap are
    dropped (registration or compression noise, well below the 0.3% edit size).
    """
    rng = np.random.default_rng(seed)
    hgt, wid = claim.shape[:2]
    warped, overlap, _ = _warp(reference, homography, (wid, hgt))
    anchor = _anchor(claim_points, overlap)
    claim_f = claim.astype(np.float32)
    shift_at = anchor if int(anchor.sum()) >= 200 else overlap
    colour_shift = 0.0
    if shift_at.any():
        colour_shift = float(np.abs(_pixels(claim_f, shift_at) - _pixels(warped, shift_at)).mean())
    model, rms, colour_model = _fit_colour(warped, claim_f, overlap, claim_points, rng)

    claim_gray = _gray(claim_f)
    blur_sigma = 0.0
    centres = _blur_centres(claim_points, claim_gray.shape)
    if centres is not None:
        # Blur matching looks only at patches around the inliers: the colour model is applied to those
        # (it is per pixel, plus the frame's spatial field) rather than to the whole warped reference,
        # which is needed only if no blur is matched.
        strip = _patches(warped, centres)
        if model is not None:
            strip = _colour_part(strip, model)
            strip += _patches(_spatial_field(model, (0, 0, wid, hgt), wid, hgt), centres)
            np.clip(strip, 0.0, 255.0, out=strip)
        blur_sigma = _match_blur(_gray(strip), _patches(claim_gray, centres))
    if blur_sigma != 0.0:
        # Refit the colours on the sharpness-matched pair: a fit between a sharp and a blurred image maps
        # texture to its local average, which flattens contrast; shadows and dark folds of a blurred copy
        # then come out as "changed".
        if blur_sigma > 0:
            warped = _blur(warped, blur_sigma)
        else:
            claim_f = _blur(claim_f, -blur_sigma)
            claim_gray = _gray(claim_f)
        model, rms, colour_model = _fit_colour(warped, claim_f, overlap, claim_points, rng)
    fitted = warped if model is None else _apply_colour(warped, model, (0, 0, wid, hgt))
    ref_gray = _gray(fitted)
    # Contrast the colour fit took away (1 = kept or raised): a claim whose contrast was crushed (a dark or
    # misty re-edit) keeps its structure at a smaller amplitude, so the absolute variance floors below (what
    # counts as texture, SSIM's constant) shrink with it; otherwise every pixel looks flat and "agrees".
    contrast = 1.0
    if overlap.any():
        before = float(_gray(warped)[overlap].std())
        if before > 0.0:
            contrast = min(1.0, float(ref_gray[overlap].std()) / before)
    floor = contrast * contrast

    if not overlap.any():
        empty = np.zeros((hgt, wid), dtype=bool)
        return Comparison(overlap, np.zeros((hgt, wid), np.float32), empty, 0.0, 0.0, 0.0, rms, blur_sigma, 0.0)
    stats_at = anchor if int(anchor.sum()) >= 200 else overlap
    # Colour cue: smoothed per-pixel colour distance, normalised by this pair's residual around the inliers.
    # The claim is compared with the 3x3 min/max envelope of the reference, so the sub-pixel registration
    # error along strong edges (a dark garment on white) is not a difference; a stain or a crack leaves
    # the envelope.
    ref_s, claim_s = _blur(fitted, 1.5), _blur(claim_f, 1.5)
    claim_s = claim_s - _illumination(claim_s - ref_s, overlap)
    box = np.ones((3, 3), np.uint8)
    over = _outside(claim_s, ref_s, box)
    diff = np.sqrt(cv2.transform(over * over, np.ones((1, 3), np.float32)))
    med, spread = _robust_spread(diff[stats_at])
    colour_t = max(colour_floor, med + colour_k * spread)

    # Structure cue. C is tied to the residual noise so that noise on a flat background cannot look like
    # structure; the unsmoothed residual around the inliers estimates it (JPEG, sensor noise, resampling).
    _, noise = _robust_spread((ref_gray - claim_gray)[stats_at])
    c = max(25.0 * floor, 6.0 * noise * noise)
    s, var_ref, _ = _ssim_structure(ref_gray, claim_gray, 2.0, c)
    structure_heat = (1.0 - s) / (1.0 - structure_threshold)
    heat = np.maximum(diff / colour_t, structure_heat).astype(np.float32)
    heat[~overlap] = 0.0
    # Trust fades towards the reference's border: the homography extrapolates there (no keypoints on a
    # white studio background) and the claim's own frame (screen bezel, app chrome) blurs into it.
    dist = cv2.distanceTransform(overlap.astype(np.uint8), cv2.DIST_L2, 3)
    heat *= np.clip(dist / (0.02 * max(hgt, wid)), 0.0, 1.0)

    raw = (heat > 1.0) & overlap
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    opened = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    # Components only inside the box around what survived the morphology: the labelling of a box holding every
    # set pixel finds the same components in the same (raster) order, with the same areas, and the frame
    # outside it stays unedited, so the whole-frame labelling and membership test are not needed.
    edited = np.zeros((hgt, wid), dtype=bool)
    bx, by, bw, bh = cv2.boundingRect(closed)
    if bw > 0 and bh > 0:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(closed[by : by + bh, bx : bx + bw], connectivity=8)
        min_area = max(12, int(min_region_fraction * int(overlap.sum())))
        keep_ids = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
        if keep_ids:
            edited[by : by + bh, bx : bx + bw] = np.isin(labels, keep_ids) & overlap[by : by + bh, bx : bx + bw]

    min_var = max(20.0 * floor, 4.0 * noise * noise)
    agree_fine, textured = _agreement(s, var_ref, overlap, min_var=min_var, agree_at=0.6)
    agree_anchor, anchor_textured = _agreement(s, var_ref, anchor, min_var=min_var, agree_at=0.6)
    # Coarse: 1/4 scale, where resampling, JPEG and noise no longer matter but the layout does.
    small = (max(8, wid // 4), max(8, hgt // 4))
    rg = np.asarray(cv2.resize(ref_gray, small, interpolation=cv2.INTER_AREA), np.float32)
    cg = np.asarray(cv2.resize(claim_gray, small, interpolation=cv2.INTER_AREA), np.float32)
    ov = cv2.resize(overlap.astype(np.uint8), small, interpolation=cv2.INTER_NEAREST) > 0
    s_c, var_c, _ = _ssim_structure(rg, cg, 1.5, c)
    agree_coarse, _ = _agreement(s_c, var_c, ov, min_var=min_var, agree_at=0.6, core=3)
    return Comparison(
        overlap=overlap,
        heat=heat,
        edited=edited,
        agreement_fine=agree_fine,
        agreement_coarse=agree_coarse,
        textured_fraction=textured,
        colour_fit_rms=rms,
        blur_sigma=blur_sigma,
        noise_level=noise,
        colour_model=colour_model,
        colour_threshold=colour_t,
        agreement_anchor=agree_anchor,
        anchor_textured=anchor_textured,
        colour_shift=colour_shift,
    )


def _nearest_index(src: int, dst: int) -> npt.NDArray[np.int64]:
    """Source index of each of ``dst`` output positions in cv2.resize's INTER_NEAREST (floor(x * src / dst))."""
    step = 1.0 / (dst / src)  # OpenCV's ifx = 1 / inv_scale_x, in double precision
    index: npt.NDArray[np.int64] = np.minimum(np.floor(np.arange(dst) * step).astype(np.int64), src - 1)
    return index


def refine(
    claim_hi: U8,
    reference_hi: U8,
    homography_hi: F64,
    comparison: Comparison,
    *,
    colour_floor: float = 14.0,
    colour_k: float = 6.0,
    structure_threshold: float = 0.35,
) -> Bool:
    """The edit mask redrawn at a higher resolution, inside the regions the working-scale pass found.

    The working-scale cues are smoothed over ~2 px, so a thin crack's mask comes out several times wider
    than the line. Here each region's box is compared again at ``claim_hi`` resolution (the reference warped
    by ``homography_hi``: claim_hi <- reference_hi) with the same colour model and blur match, barely
    smoothed; a pixel stays in the mask if its difference from the reference's 3x3 envelope exceeds a
    threshold measured on the unchanged ring around the region. A region whose refinement keeps under a
    fifth of it (a texture change with little colour change) keeps its working-scale shape.
    """
    hgt, wid = claim_hi.shape[:2]
    work_w = comparison.edited.shape[1]
    edited = comparison.edited.astype(np.uint8)
    if comparison.colour_model is None or not edited.any():
        return cv2.resize(edited, (wid, hgt), interpolation=cv2.INTER_NEAREST) > 0
    n, labels, stats, _ = comparison.components
    # The labels' nearest-neighbour upsampling is needed only inside each region's box: the source row and
    # column of every refinement row and column are computed once, as cv2.resize(INTER_NEAREST) computes them,
    # and each box is read off the working-scale labels through them (the same labels as the whole upsampled
    # image, without upsampling and scanning the whole frame).
    xs = _nearest_index(work_w, wid)
    ys = _nearest_index(edited.shape[0], hgt)
    out = np.zeros((hgt, wid), dtype=bool)
    if not edited[np.ix_(np.unique(ys), np.unique(xs))].any():
        return out
    factor = wid / float(work_w)
    pad = max(4, round(4 * factor))
    sigma = abs(comparison.blur_sigma) * factor
    box_kernel = np.ones((3, 3), np.uint8)
    for i in range(1, n):
        x, y, w, h, _area = (int(v) for v in stats[i])
        x0 = max(0, int(x * factor) - pad)
        y0 = max(0, int(y * factor) - pad)
        x1 = min(wid, int((x + w) * factor) + pad)
        y1 = min(hgt, int((y + h) * factor) + pad)
        zone = labels[np.ix_(ys[y0:y1], xs[x0:x1])] == i
        shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
        piece, h_piece = _source_window(reference_hi, shift @ homography_hi, (x1 - x0, y1 - y0))
        warped, overlap, _ = _warp(piece, h_piece, (x1 - x0, y1 - y0))
        crop = claim_hi[y0:y1, x0:x1].astype(np.float32)
        # Same order as in ``compare``: sharpness matched first, the colour model (fitted on the matched
        # pair) applied after.
        if comparison.blur_sigma > 0:
            warped = _blur(warped, sigma)
        elif comparison.blur_sigma < 0:
            crop = _blur(crop, sigma)
        fitted = _apply_colour(warped, comparison.colour_model, (x0, y0, wid, hgt))
        fitted, crop = _blur(fitted, 0.7), _blur(crop, 0.7)
        over = _outside(crop, fitted, box_kernel)
        diff = np.sqrt(cv2.transform(over * over, np.ones((1, 3), np.float32)))
        grown = cv2.dilate(zone.astype(np.uint8), np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)) > 0
        ring = grown & ~cv2.dilate(zone.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & overlap
        if int(ring.sum()) >= 30:
            med, spread = _robust_spread(diff[ring])
            threshold = max(colour_floor, med + colour_k * spread)
        else:
            threshold = max(colour_floor, comparison.colour_threshold)
        # Texture changes (an object inpainted away, a smoothed area) barely move the colour: keep the
        # pixels where the structure disagrees at this resolution too (small window, same noise constant).
        c = max(25.0, 6.0 * comparison.noise_level**2)
        struct, _, _ = _ssim_structure(_gray(fitted), _gray(crop), 1.0, c)
        fine = ((diff > threshold) | (struct < structure_threshold)) & grown & overlap
        fine = cv2.morphologyEx(fine.astype(np.uint8), cv2.MORPH_CLOSE, box_kernel) > 0
        keep = fine if int(fine.sum()) >= 0.2 * int(zone.sum()) else zone
        out[y0:y1, x0:x1] |= keep
    return out
