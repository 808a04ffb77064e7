"""Local features (SIFT keypoints + descriptors) of an evidence image at a working resolution.

Used by the ``reference`` check (claim vs reference registration) and by the reference index, which
extracts them once per reference image and stores them (``to_arrays`` / ``from_arrays``: plain numpy
arrays, no pickle) so that a claim is registered without re-decoding the catalogue.

Why SIFT and not ORB: the check must register claims scaled 0.2x-3x, rotated by any angle and blurred or
re-compressed; SIFT keeps enough correct matches across that range where ORB's fixed-scale pyramid and
binary tests lose them (research notes, offline-photos-and-cpu-baselines.md §2). Descriptors are stored as
``uint8``: OpenCV saturates SIFT descriptor values to 0..255 integers, so this is lossless and 4x smaller.

Coordinates are in the *working* image (long side at most ``max_side``); ``scale`` maps them to the
full-resolution evidence (display orientation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from proofdesk.evidence import Evidence

__all__ = [
    "COARSE_DETECTION_SIDE",
    "DEFAULT_MAX_FEATURES",
    "DEFAULT_MAX_SIDE",
    "FEATURES_VERSION",
    "LocalFeatures",
    "extract_features",
    "extract_features_array",
    "ratio_matches",
    "working_side",
]

#: Bump when extraction changes so stored features are recomputed.
FEATURES_VERSION = 2
#: A ``detect_scale`` below 1 is applied only to working images with a long side at least this large: a
#: small image (a claim that shows the reference at 0.3x) needs its finest scales to be registered at all.
COARSE_DETECTION_SIDE = 768
DEFAULT_MAX_SIDE = 1024
DEFAULT_MAX_FEATURES = 2000
#: Lower than OpenCV's 0.04: listing photos are mostly white studio background, and the product alone must
#: still give enough keypoints to register a small crop of it.
_CONTRAST_THRESHOLD = 0.03
#: A working image with fewer keypoints per megapixel than this at ``_CONTRAST_THRESHOLD`` is low-contrast
#: (a dark or misty photo gives 1-20 keypoints at 1024 px where a product photo gives hundreds; 25 of the
#: 581 benchmark photos fall below 200 at 1024 x 768, i.e. 250 per megapixel) and is detected again at
#: ``_LOW_CONTRAST_THRESHOLD``. A density, not a count: a small crop has few keypoints because it is
#: small, and weak extrema would only add noise to it. Weaker extrema only add to the strong ones (SIFT
#: keeps the strongest ``max_features``), so an image above the floor is unaffected.
LOW_CONTRAST_KEYPOINTS_PER_MP = 250
_LOW_CONTRAST_THRESHOLD = 0.005
#: Ratio-test results a query keeps (one claim against the references of one check).
_MATCH_MEMO = 16

Float32Array = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class LocalFeatures:
    """Keypoints and SIFT descriptors of one image at a working resolution."""

    #: (N, 4) float32: x, y, size, angle (degrees) in working-image pixels.
    keypoints: Float32Array
    #: (N, 128) uint8 SIFT descriptors.
    descriptors: UInt8Array
    #: Size of the working image the keypoints refer to.
    width: int
    height: int
    #: Size of the full-resolution evidence.
    full_width: int
    full_height: int
    version: int = FEATURES_VERSION
    #: Ratio-test matches of these features (as the query) against a few others: the reference check asks
    #: for each pair twice (to rank the candidates, then to register the best). See ``ratio_matches``.
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] != 4:
            raise ValueError(f"keypoints must be (N, 4), got {self.keypoints.shape}")
        if self.descriptors.shape != (self.keypoints.shape[0], 128) or self.descriptors.dtype != np.uint8:
            raise ValueError(
                f"descriptors must be (N, 128) uint8, got {self.descriptors.shape} {self.descriptors.dtype}"
            )

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def points(self) -> Float32Array:
        """(N, 2) keypoint positions in working-image pixels."""
        return np.ascontiguousarray(self.keypoints[:, :2])

    @property
    def scale(self) -> float:
        """Factor from working-image to full-resolution pixels."""
        return self.full_width / float(self.width)

    def descriptors_float(self) -> Float32Array:
        """RootSIFT descriptors (L1-normalised, square-rooted) as float32, for L2 matching.

        RootSIFT (Arandjelović & Zisserman 2012) makes L2 distance behave like the Hellinger kernel, which
        gives more correct nearest neighbours than raw SIFT at no cost.
        """
        desc = self.descriptors.astype(np.float32)
        desc /= desc.sum(axis=1, keepdims=True) + 1e-7
        return np.sqrt(desc)

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """Plain arrays for storage (``np.savez``); the inverse is :meth:`from_arrays`."""
        meta = np.array([self.width, self.height, self.full_width, self.full_height, self.version], dtype=np.int64)
        return {"keypoints": self.keypoints, "descriptors": self.descriptors, "meta": meta}

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]]) -> LocalFeatures:
        """Rebuild from :meth:`to_arrays` output; raises ``ValueError`` on a bad or outdated layout."""
        try:
            meta = np.asarray(arrays["meta"], dtype=np.int64)
            keypoints = np.asarray(arrays["keypoints"], dtype=np.float32)
            descriptors = np.asarray(arrays["descriptors"])
        except KeyError as exc:
            raise ValueError(f"stored features lack {exc}") from exc
        if meta.shape != (5,):
            raise ValueError("stored features: bad meta block")
        width, height, full_width, full_height, version = (int(v) for v in meta)
        if version != FEATURES_VERSION:
            raise ValueError(f"stored features have version {version}, expected {FEATURES_VERSION}")
        return cls(
            keypoints=keypoints,
            descriptors=descriptors.astype(np.uint8, copy=False),
            width=width,
            height=height,
            full_width=full_width,
            full_height=full_height,
            version=version,
        )


def _to_gray(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if rgb.ndim == 2:
        return rgb
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def extract_features_array(
    rgb: npt.NDArray[np.uint8],
    *,
    full_size: tuple[int, int] | None = None,
    max_features: int = DEFAULT_MAX_FEATURES,
    detect_scale: float = 1.0,
) -> LocalFeatures:
    """SIFT features of an RGB (or gray) array taken as the working image.

    ``full_size`` is the (width, height) of the full-resolution image the array was reduced from; defaults
    to the array's own size. ``detect_scale`` < 1 runs SIFT on a copy shrunk by that factor (area
    averaging) and maps the keypoints back to working pixels, for working images whose long side is at
    least :data:`COARSE_DETECTION_SIDE` (smaller ones are described at full detail whatever the scale).
    Why: OpenCV's SIFT upsamples its input 2x to build its finest octave, ~3/4 of its time; at 0.7 the
    detector costs about half, at 0.5 a quarter. The price: the finest-scale keypoints are lost (fewer
    inliers, slightly less precise homographies; measured in the reference check's README, "Speed").
    References stored in a catalogue are always extracted at full detail.
    """
    if not 0.0 < detect_scale <= 1.0:
        raise ValueError(f"detect_scale must be in (0, 1], got {detect_scale}")
    gray = _to_gray(rgb)
    height, width = gray.shape[:2]
    factor = 1.0
    if detect_scale < 1.0 and max(height, width) >= COARSE_DETECTION_SIDE and min(height, width) * detect_scale >= 32:
        small = (max(1, round(width * detect_scale)), max(1, round(height * detect_scale)))
        gray = np.asarray(cv2.resize(gray, small, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        factor = width / float(small[0])
    sift = cv2.SIFT.create(nfeatures=max_features, contrastThreshold=_CONTRAST_THRESHOLD)
    kps, desc = sift.detectAndCompute(gray, None)
    if len(kps) < min(LOW_CONTRAST_KEYPOINTS_PER_MP * gray.size / 1e6, max_features):
        sift = cv2.SIFT.create(nfeatures=max_features, contrastThreshold=_LOW_CONTRAST_THRESHOLD)
        kps, desc = sift.detectAndCompute(gray, None)
    keypoints: Float32Array = np.zeros((0, 4), dtype=np.float32)
    descriptors: UInt8Array = np.zeros((0, 128), dtype=np.uint8)
    if desc is not None and len(kps) > 0:
        # nfeatures keeps the strongest responses but may return a few more on ties; cap exactly.
        kps = kps[:max_features]
        keypoints = np.array([(k.pt[0], k.pt[1], k.size, k.angle) for k in kps], dtype=np.float32)
        if factor != 1.0:
            # Pixel centres: shrunk pixel i covers working pixels [f*i, f*(i+1)), centre f*(i+0.5) - 0.5.
            keypoints[:, :2] = (keypoints[:, :2] + 0.5) * factor - 0.5
            keypoints[:, 2] *= factor
        descriptors = np.clip(np.rint(desc[: len(kps)]), 0, 255).astype(np.uint8)
    full_w, full_h = full_size if full_size is not None else (width, height)
    return LocalFeatures(keypoints, descriptors, width, height, int(full_w), int(full_h))


def working_side(width: int, height: int, max_side: int = DEFAULT_MAX_SIDE) -> int:
    """A working long side near ``max_side`` that JPEG draft decoding reaches without a resize.

    Draft decoding scales by 1/2, 1/4 or 1/8. For a large photo (4000 px) the best size is the largest
    ``long / 2**k`` not above ``max_side`` (1000 px): decoded directly at that size, no resampling pass
    (which costs more than the decode). If that falls below 3/4 of ``max_side``, ``max_side`` is kept.
    """
    long_side = max(width, height)
    if long_side < 2 * max_side:
        return max_side
    side = long_side
    while side > max_side:
        side = -(-side // 2)  # ceil, as the decoder rounds up
    return side if side >= 0.75 * max_side else max_side


def extract_features(
    evidence: Evidence,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_features: int = DEFAULT_MAX_FEATURES,
    detect_scale: float = 1.0,
) -> LocalFeatures:
    """SIFT features of ``evidence`` at a working resolution (long side ≤ ``max_side``, never upscaled)."""
    reduced = evidence.reduced(max_side)
    return extract_features_array(
        reduced, full_size=(evidence.width, evidence.height), max_features=max_features, detect_scale=detect_scale
    )


def ratio_matches(query: LocalFeatures, train: LocalFeatures, *, ratio: float = 0.8) -> npt.NDArray[np.int32]:
    """Lowe ratio-test matches between two feature sets as (M, 2) int32 ``[query_index, train_index]``.

    Brute force on RootSIFT: at ≤ 2,000 features it is as fast as FLANN and exact.
    """
    if len(query) < 2 or len(train) < 2:
        return np.zeros((0, 2), dtype=np.int32)
    # Remembered on the query (keyed by the train object itself, compared by identity: LocalFeatures has
    # eq=False), so the cache lives exactly as long as the query's features.
    key = (train, ratio)
    hit: npt.NDArray[np.int32] | None = query._memo.get(key)
    if hit is not None:
        return hit
    query_float = query._memo.get("root_sift")
    if query_float is None:
        query_float = query._memo["root_sift"] = query.descriptors_float()
    out = _ratio_pairs(query_float, train.descriptors_float(), ratio)
    out.flags.writeable = False
    if len(query._memo) > _MATCH_MEMO:  # a long-lived query must not keep every train it met alive
        query._memo.clear()
        query._memo["root_sift"] = query_float
    query._memo[key] = out
    return out


#: Squared-distance band (RootSIFT descriptors have unit norm, so squared distances are in [0, 2]) inside
#: which the matrix-product distances (float32 rounding ~1e-6) are not trusted to decide like OpenCV.
_EXACT_BAND = 1e-3


def _cv2_pairs(query: Float32Array, train: Float32Array, ratio: float) -> list[tuple[int, int]]:
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(query, train, k=2)
    return [(m.queryIdx, m.trainIdx) for m, n in (p for p in pairs if len(p) == 2) if m.distance < ratio * n.distance]


def _ratio_pairs(query: Float32Array, train: Float32Array, ratio: float) -> npt.NDArray[np.int32]:
    """Ratio-test pairs exactly as ``cv2.BFMatcher(NORM_L2).knnMatch(k=2)`` + ``m < ratio * n`` gives them.

    The two nearest neighbours come from one matrix product (BLAS), ~25% cheaper than OpenCV's brute force
    here. Rows where that could decide differently from OpenCV (nearest two within ``_EXACT_BAND``, or the
    ratio test within it) are handed to OpenCV itself, so the pairs are the same, ties and rounding included.
    """
    if len(train) < 3:
        good = _cv2_pairs(query, train, ratio)
        return np.array(good, dtype=np.int32) if good else np.zeros((0, 2), dtype=np.int32)
    dist = query @ train.T
    dist *= -2.0
    dist += np.einsum("ij,ij->i", train, train)[None, :]
    dist += np.einsum("ij,ij->i", query, query)[:, None]
    # The two smallest values of each row: the minimum, then the minimum with that entry masked (an argmin and
    # a min, ~3x cheaper than a partial sort). A row whose two nearest are tied is among the unsure rows, so
    # wherever the nearest index is used it is the row's unique minimum.
    rows_all = np.arange(len(dist))
    nearest = np.argmin(dist, axis=1)
    d1 = dist[rows_all, nearest]
    dist[rows_all, nearest] = np.inf
    d2 = dist.min(axis=1)
    unsure = ((d2 - d1) <= _EXACT_BAND) | (np.abs(d1 - (ratio * ratio) * d2) <= _EXACT_BAND)
    keep = ~unsure & (d1 < (ratio * ratio) * d2)
    rows = np.flatnonzero(keep)
    pairs = np.stack([rows, nearest[rows]], axis=1).astype(np.int32)
    unsure_rows = np.flatnonzero(unsure)
    if len(unsure_rows):
        exact = _cv2_pairs(np.ascontiguousarray(query[unsure_rows]), train, ratio)
        if exact:
            extra = np.array(exact, dtype=np.int64)
            extra[:, 0] = unsure_rows[extra[:, 0]]
            pairs = np.concatenate([pairs, extra.astype(np.int32)])
            pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
    return np.ascontiguousarray(pairs, dtype=np.int32)
