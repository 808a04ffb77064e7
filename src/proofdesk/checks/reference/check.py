"""The ``reference`` check: is the claim photo made from one of the merchant's own images, and where was it changed?

Where it sits: one of the checks ``proofdesk.verify`` runs on every claim image. It reads the references
from :class:`~proofdesk.checks.base.CheckContext` (``references``: the order's images; ``catalogue``: a
merchant's indexed catalogue, asked for its best candidates) and returns one :class:`Finding`.

Flow for one claim (README.md in this folder explains each step and its thresholds):

1. SIFT features of the claim at a working resolution (``proofdesk.signals.features``); references'
   features come from the catalogue's store or this check's cache, so each reference is read once.
2. Candidates ranked by ratio-test matches; the best few registered (``_register``: MAGSAC homography).
3. The best registration compared pixel by pixel (``_compare``); if it is not a copy, the mirrored claim
   is tried too.
4. Decision: derived (layout and texture agree on the reference's textured pixels) or not; edited if the
   changed regions cover enough of the compared area; labels and scores as in DESIGN.md §4.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proofdesk.checks.base import CheckContext, Finding, Region
from proofdesk.checks.reference._compare import Comparison, compare, refine
from proofdesk.checks.reference._register import (
    Registration,
    alignment_residual,
    describe_transform,
    register,
    to_full,
)
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence
from proofdesk.signals.features import (
    LocalFeatures,
    extract_features,
    extract_features_array,
    ratio_matches,
    working_side,
)

__all__ = ["FeatureSource", "ReferenceCheck", "ReferenceConfig"]

Label = str  # derived_and_edited | derived_unedited | same_item | unrelated | no_reference


class ReferenceConfig(BaseModel):
    """Settings of the reference check. Defaults and where they come from: README.md, "Thresholds"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_side: int = Field(default=1024, ge=256, le=4096, description="working resolution (long side, px)")
    max_features: int = Field(default=2000, ge=100, le=10000)
    claim_detect_scale: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="< 1: SIFT on the claim (working side >= 768 px) runs on a copy shrunk by this factor; "
        "0.7 halves its time but loses fine keypoints (README, 'Speed')",
    )
    max_candidates: int = Field(default=5, ge=1, le=50, description="references registered per claim")
    ratio: float = Field(default=0.8, gt=0.0, lt=1.0, description="Lowe ratio test")
    min_inliers: int = Field(default=12, ge=6, description="homography inliers to consider a registration")
    pasted_coarse: float = Field(default=0.45, ge=0.0, le=1.0, description="layout agreement of a pasted piece")
    pasted_fine: float = Field(default=0.4, ge=0.0, le=1.0, description="texture agreement of a pasted piece")
    derived_coarse: float = Field(default=0.75, ge=0.0, le=1.0, description="layout agreement for 'derived'")
    derived_fine: float = Field(default=0.5, ge=0.0, le=1.0, description="texture agreement for 'derived'")
    derived_anchor: float = Field(
        default=0.7, ge=0.0, le=1.0, description="texture agreement near the inliers needed for any 'derived'"
    )
    anchor_min_textured: float = Field(
        default=0.05, ge=0.0, le=1.0, description="textured share next to the inliers for the anchor agreement to count"
    )
    regenerated_fine: float = Field(
        default=0.85, ge=0.0, le=1.0, description="below this texture agreement a derived copy was redrawn"
    )
    edited_fraction: float = Field(
        default=0.003, ge=0.0, le=1.0, description="changed share of the claim image that makes an edit (issue: 0.3%)"
    )
    colour_k: float = Field(default=6.0, gt=0.0)
    colour_floor: float = Field(default=14.0, ge=0.0)
    structure_threshold: float = Field(default=0.35, ge=-1.0, lt=1.0)
    min_region_fraction: float = Field(default=0.0004, ge=0.0, lt=1.0)
    pasted_inliers: int = Field(default=48, ge=6, description="inliers of a rigidly copied piece (pasted pattern)")
    pasted_inlier_ratio: float = Field(default=0.5, ge=0.0, le=1.0, description="inlier share of a copied piece")
    pasted_anchor: float = Field(
        default=0.9, ge=0.0, le=1.0, description="texture agreement near the inliers of a copied piece"
    )
    exposure_residual_px: float = Field(
        default=0.7, ge=0.0, description="median inlier residual (px) from which a match may be another exposure"
    )
    exposure_noise: float = Field(
        default=5.0, ge=0.0, description="pixel residual after alignment from which a match may be another exposure"
    )
    exposure_framing: float = Field(
        default=0.9, ge=0.0, le=1.0, description="shown/covered share below which two photos frame a scene differently"
    )
    same_item_matches: int = Field(default=12, ge=1, description="ratio matches needed for 'same_item'")
    same_item_inliers: int = Field(default=24, ge=6, description="registration inliers needed for 'same_item'")
    same_item_inlier_ratio: float = Field(default=0.5, ge=0.0, le=1.0, description="inlier share for 'same_item'")
    score_edited: float = Field(default=0.98, ge=0.0, le=1.0)
    score_edited_weak: float = Field(default=0.9, ge=0.0, le=1.0, description="regenerated, or few inliers")
    score_unedited: float = Field(default=0.55, ge=0.0, le=1.0)
    cache_size: int = Field(default=512, ge=0, description="reference feature sets kept in memory")


@runtime_checkable
class FeatureSource(Protocol):
    """A catalogue that stores reference features (so the check need not decode references again)."""

    def features(self, reference: Evidence) -> LocalFeatures | None:
        """Stored features of ``reference`` extracted with ``proofdesk.signals.features``, or None."""
        ...


@dataclass(frozen=True)
class _Attempt:
    reference: Evidence
    features: LocalFeatures
    registration: Registration
    comparison: Comparison
    derived: bool
    #: ``alignment_residual`` of the registration (px).
    residual: float = 0.0
    #: The geometry and the pixels both say "another exposure of the same scene" (see ``_attempt``).
    separate_exposure: bool = False


_VERTICAL = ("upper", "middle", "lower")
_HORIZONTAL = ("left", "centre", "right")


def _where(cx: float, cy: float) -> str:
    """A 3x3-grid name for a point given as fractions of the claim's width and height."""
    v = _VERTICAL[min(2, int(cy * 3))]
    h = _HORIZONTAL[min(2, int(cx * 3))]
    return "centre" if (v, h) == ("middle", "centre") else f"{v} {h}"


def _refine_side(width: int, height: int, max_side: int) -> int:
    """Long side of the refinement copy: ``working_side(.., max_side)``, or the 1/2-scale JPEG decode when
    that lies just below it.

    ``working_side`` keeps ``max_side`` for photos under twice its size, so a 4000 px claim was asked for
    2048 px, one step above its 1/2-scale draft (2000 px): a full 12 MP decode plus a resize (~100 ms) for
    2% more pixels. A half-size decode of at least 90% of ``max_side`` is used instead (12 MP: 4000 or
    4032 px -> 2000 or 2016 px).
    """
    side = working_side(width, height, max_side)
    half = -(-max(width, height) // 2)
    return half if 0.9 * max_side <= half < side else side


def _full_mask(edited: npt.NDArray[np.bool_], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """``edited`` as 0/255, resized bilinearly to ``size`` (w, h) and thresholded at 127: the finding's mask.

    When the size is a whole multiple of the mask's on both axes (a 12 MP claim: 4x the working image, 2x the
    refinement), only the box around the set pixels, 2 px wider, is resized: each output pixel is computed
    from the same source pixels with the same weights as in the whole resize (the scale is the same exact
    integer), pixels clamped at the box's edge are 0 like their neighbours outside it, and everything
    outside the box comes out 0. A 12 MP claim's mask otherwise costs a 12-megapixel resize and threshold.
    """
    width, height = size
    src_h, src_w = edited.shape
    kx, ky = width // src_w, height // src_h
    if kx < 1 or ky < 1 or kx * src_w != width or ky * src_h != height:
        full = cv2.resize(edited.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.asarray(cv2.threshold(full, 127, 255, cv2.THRESH_BINARY)[1], dtype=np.uint8)
    out = np.zeros((height, width), np.uint8)
    bx, by, bw, bh = cv2.boundingRect(np.ascontiguousarray(edited).view(np.uint8))
    if bw == 0 or bh == 0:
        return out
    x0, y0 = max(0, bx - 2), max(0, by - 2)
    x1, y1 = min(src_w, bx + bw + 2), min(src_h, by + bh + 2)
    part = cv2.resize(
        edited[y0:y1, x0:x1].astype(np.uint8) * 255, ((x1 - x0) * kx, (y1 - y0) * ky), interpolation=cv2.INTER_LINEAR
    )
    out[y0 * ky : y1 * ky, x0 * kx : x1 * kx] = cv2.threshold(part, 127, 255, cv2.THRESH_BINARY)[1]
    return out


class ReferenceCheck:
    """Claim vs the merchant's references: derived (edited or not), same item, unrelated."""

    name: ClassVar[str] = "reference"
    version: ClassVar[str] = "1"

    def __init__(self, config: ReferenceConfig | None = None) -> None:
        self.config = config or ReferenceConfig()
        self._cache: OrderedDict[tuple[str, int, int], LocalFeatures] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReferenceCheck:
        """Build from ``Settings.checks["reference"]``; unknown or out-of-range keys are an error."""
        try:
            return cls(ReferenceConfig.model_validate(dict(config)))
        except ValidationError as exc:
            raise InvalidSettings(f"checks.reference: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc

    # ------------------------------------------------------------------ features

    def reference_features(self, reference: Evidence, context: CheckContext | None = None) -> LocalFeatures:
        """Features of a reference: from the catalogue's store, this check's cache, or extracted now."""
        if context is not None and isinstance(context.catalogue, FeatureSource):
            stored = context.catalogue.features(reference)
            if stored is not None and len(stored) > 0:
                return stored
        key = (reference.sha256, self.config.max_side, self.config.max_features)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        feats = extract_features(reference, max_side=self.config.max_side, max_features=self.config.max_features)
        if self.config.cache_size > 0:
            with self._lock:
                self._cache[key] = feats
                while len(self._cache) > self.config.cache_size:
                    self._cache.popitem(last=False)
        return feats

    @staticmethod
    def _working(evidence: Evidence, features: LocalFeatures) -> npt.NDArray[np.uint8]:
        """The evidence at exactly the features' working size."""
        img = evidence.reduced(max(features.width, features.height))
        if (img.shape[1], img.shape[0]) != (features.width, features.height):
            img = np.asarray(
                cv2.resize(img, (features.width, features.height), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        return img

    # ------------------------------------------------------------------ run

    def _candidates(self, claim: Evidence, context: CheckContext) -> list[Evidence]:
        refs: list[Evidence] = list(context.references)
        if context.catalogue is not None:
            refs += list(context.catalogue.candidates(claim, limit=self.config.max_candidates))
        seen: set[str] = set()
        unique = []
        for ref in refs:
            if ref.sha256 not in seen:
                seen.add(ref.sha256)
                unique.append(ref)
        return unique

    def _attempt(
        self,
        claim_img: npt.NDArray[np.uint8],
        claim_feats: LocalFeatures,
        mirrored: LocalFeatures | None,
        ref: Evidence,
        ref_feats: LocalFeatures,
    ) -> _Attempt | None:
        cfg = self.config
        reg = register(
            claim_feats, ref_feats, claim_mirrored=mirrored, skip_direct=mirrored is not None, ratio=cfg.ratio
        )
        if reg is None or reg.inliers < cfg.min_inliers:
            return None
        ref_img = self._working(ref, ref_feats)
        comp = compare(
            claim_img,
            ref_img,
            reg.homography,
            reg.claim_points,
            colour_k=cfg.colour_k,
            colour_floor=cfg.colour_floor,
            structure_threshold=cfg.structure_threshold,
            min_region_fraction=cfg.min_region_fraction,
        )
        copy = comp.agreement_coarse >= cfg.derived_coarse and comp.agreement_fine >= cfg.derived_fine
        # A cut-out pasted into another scene agrees less (its outline now meets another background), so a
        # lower bar applies, but only to that pattern: the reference sits inside a larger claim and much of
        # its footprint shows other content. Another shot of the same session (a slightly different pose)
        # agrees as little but covers the whole claim.
        overlap = float(comp.overlap.mean())
        changed = float(comp.edited.sum()) / max(1.0, float(comp.overlap.sum()))
        # The same pattern is also shown by the geometry alone: a rigid copy of a textured piece gives many
        # inliers, most matches are inliers, and the texture next to them agrees; another shot of the product
        # (another pose) gives few inliers among many chance matches. This catches cut-outs whose footprint
        # is mostly new scene *textured* (a natural photo), where the footprint-wide agreement is low.
        # Agreement measured on almost no textured pixels is no evidence (a claim blurred to match a close-up
        # keeps 0.2% of the zone textured, and those few pixels "agree" fully).
        anchor = comp.agreement_anchor if comp.anchor_textured >= cfg.anchor_min_textured else 0.0
        rigid_piece = (
            reg.inliers >= cfg.pasted_inliers
            and reg.inlier_ratio >= cfg.pasted_inlier_ratio
            and anchor >= cfg.pasted_anchor
        )
        pasted = overlap < 0.9 and (
            (changed >= 0.3 and comp.agreement_coarse >= cfg.pasted_coarse and comp.agreement_fine >= cfg.pasted_fine)
            or rigid_piece
        )
        # Whatever the footprint-wide numbers say, a copy agrees next to its own inliers. Without this, a
        # blurry other shot whose claim was blurred further to match "agrees" on the few textured pixels left
        # (tuning run: every derived copy >= 0.93, every registered negative <= 0.83).
        # A wide shot and a close-up of one studio session (the garment did not move) agree almost as well
        # as a crop of the wide shot, because SSIM's constant grows with the residual it is told to ignore.
        # They are told apart by what a copy cannot do: its inliers sit on one homography to a fraction of a
        # pixel, and its pixels match to sensor-noise level. Another exposure misses on both at once. So does
        # a whole-image regeneration by an AI editor (every keypoint redrawn), which must stay derived; it
        # keeps the reference's framing, while a close-up and a wide shot frame the scene differently.
        residual = alignment_residual(reg)
        separate_exposure = (
            residual >= cfg.exposure_residual_px
            and comp.noise_level >= cfg.exposure_noise
            and self._reframed(reg, claim_feats, ref_feats)
        )
        derived = (copy or pasted) and anchor >= cfg.derived_anchor and not separate_exposure
        return _Attempt(ref, ref_feats, reg, comp, derived, residual, separate_exposure)

    def _reframed(self, reg: Registration, claim_feats: LocalFeatures, ref_feats: LocalFeatures) -> bool:
        """The two photos frame the scene differently: one shows only part of the other."""
        framing = describe_transform(
            reg.homography, (ref_feats.width, ref_feats.height), (claim_feats.width, claim_feats.height)
        )
        return min(framing.reference_shown, framing.claim_covered) < self.config.exposure_framing

    def _pass(
        self,
        claim_img: npt.NDArray[np.uint8],
        claim_feats: LocalFeatures,
        mirrored: LocalFeatures | None,
        order: Sequence[int],
        references: Sequence[Evidence],
        ref_feats: Sequence[LocalFeatures],
        counts: Sequence[int],
    ) -> list[_Attempt]:
        """Register the ranked candidates (directly, or through the mirrored claim) until a copy is found."""
        attempts: list[_Attempt] = []
        first_derived: int | None = None
        for i in order:
            # After a copy is found, only a close rival is tried: the same shot in another colour (merchants
            # publish recoloured variants of one photograph), where the right one needs the least recolouring.
            if first_derived is not None and counts[i] < 0.5 * counts[first_derived]:
                break
            att = self._attempt(claim_img, claim_feats, mirrored, references[i], ref_feats[i])
            if att is not None:
                attempts.append(att)
            if att is not None and att.derived:
                if first_derived is not None:
                    break
                first_derived = i
        return attempts

    def run(self, claim: Evidence, context: CheckContext) -> Finding:
        """Compare ``claim`` with the references in ``context`` and return one explained finding."""
        cfg = self.config
        thresholds: dict[str, float | int] = {
            "min_inliers": cfg.min_inliers,
            "derived_coarse": cfg.derived_coarse,
            "derived_fine": cfg.derived_fine,
            "pasted_coarse": cfg.pasted_coarse,
            "pasted_fine": cfg.pasted_fine,
            "pasted_inliers": cfg.pasted_inliers,
            "pasted_inlier_ratio": cfg.pasted_inlier_ratio,
            "pasted_anchor": cfg.pasted_anchor,
            "derived_anchor": cfg.derived_anchor,
            "anchor_min_textured": cfg.anchor_min_textured,
            "regenerated_fine": cfg.regenerated_fine,
            "exposure_residual_px": cfg.exposure_residual_px,
            "exposure_noise": cfg.exposure_noise,
            "exposure_framing": cfg.exposure_framing,
            "edited_fraction": cfg.edited_fraction,
        }
        references = self._candidates(claim, context)
        if not references:
            return Finding(
                self.name, self.version, "no_reference", 0.0,
                "No reference images were given: the claim could not be compared with the merchant's photos.",
                thresholds=thresholds,
            )  # fmt: skip
        side = working_side(claim.width, claim.height, cfg.max_side)
        scale = cfg.claim_detect_scale
        claim_feats = extract_features(claim, max_side=side, max_features=cfg.max_features, detect_scale=scale)
        claim_img = self._working(claim, claim_feats)
        ref_feats = [self.reference_features(r, context) for r in references]
        # Rank by ratio-test matches (cheap), register only the best few (MAGSAC + comparison cost more).
        counts = [len(ratio_matches(claim_feats, f, ratio=cfg.ratio)) for f in ref_feats]
        order = sorted(range(len(references)), key=lambda i: -counts[i])[: cfg.max_candidates]

        attempts = self._pass(claim_img, claim_feats, None, order, references, ref_feats, counts)
        if not any(a.derived for a in attempts):
            # A mirrored copy registers only against the flipped claim; extract it only when needed.
            flipped = np.ascontiguousarray(claim_img[:, ::-1])
            mirrored = extract_features_array(
                flipped, full_size=(claim.width, claim.height), max_features=cfg.max_features, detect_scale=scale
            )
            attempts += self._pass(claim_img, claim_feats, mirrored, order, references, ref_feats, counts)
        best_count = max(counts) if counts else 0
        derived = [a for a in attempts if a.derived]
        if derived:
            # Of several copies (colour variants of one photograph) name the one that needs the least
            # recolouring: the true source.
            best = min(derived, key=lambda a: (a.comparison.colour_shift, float(a.comparison.edited.mean())))
            return self._derived_finding(claim, claim_feats, best, thresholds, len(references))
        return self._not_derived_finding(attempts, references, counts, best_count, thresholds)

    # ------------------------------------------------------------------ findings

    def _refined(self, claim: Evidence, claim_feats: LocalFeatures, att: _Attempt) -> npt.NDArray[np.bool_]:
        """The edit mask at up to twice the working resolution (``_compare.refine``)."""
        hi_side = 2 * self.config.max_side
        claim_hi = claim.reduced(_refine_side(claim.width, claim.height, hi_side))
        ref_hi = att.reference.reduced(_refine_side(att.reference.width, att.reference.height, hi_side))
        a = claim_hi.shape[1] / float(claim_feats.width)
        b = ref_hi.shape[1] / float(att.features.width)
        h_hi = np.diag([a, a, 1.0]) @ att.registration.homography @ np.diag([1.0 / b, 1.0 / b, 1.0])
        return refine(
            claim_hi,
            ref_hi,
            h_hi,
            att.comparison,
            colour_floor=self.config.colour_floor,
            colour_k=self.config.colour_k,
            structure_threshold=self.config.structure_threshold,
        )

    def _regions(
        self, claim: Evidence, comp: Comparison, fine: npt.NDArray[np.bool_] | None = None
    ) -> tuple[list[Region], npt.NDArray[np.uint8], list[str]]:
        work_h, work_w = comp.edited.shape
        n, labels, stats, centroids = comp.components
        sx, sy = claim.width / work_w, claim.height / work_h
        regions: list[tuple[int, Region, str]] = []
        heat_sum: npt.NDArray[np.float64] = np.zeros(n)
        if n > 1:
            # Summed only over the box holding every component: bincount adds each label's weights in raster
            # order, which inside the box is the same sequence as over the whole frame (label 0 is not read).
            x0, y0 = int(stats[1:, 0].min()), int(stats[1:, 1].min())
            x1 = int((stats[1:, 0] + stats[1:, 2]).max())
            y1 = int((stats[1:, 1] + stats[1:, 3]).max())
            box = (slice(y0, y1), slice(x0, x1))
            heat_sum = np.asarray(
                np.bincount(labels[box].ravel(), weights=comp.heat[box].ravel(), minlength=n), np.float64
            )
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            heat = float(heat_sum[i]) / max(1, area)
            where = _where(centroids[i][0] / work_w, centroids[i][1] / work_h)
            x0, y0 = int(np.floor(x * sx)), int(np.floor(y * sy))
            x1, y1 = min(claim.width, int(np.ceil((x + w) * sx))), min(claim.height, int(np.ceil((y + h) * sy)))
            region = Region(x0, y0, x1 - x0, y1 - y0, min(1.0, 0.5 + 0.25 * heat), cue=f"changed ({where})")
            regions.append((area, region, where))
        regions.sort(key=lambda t: -t[0])
        source = fine if fine is not None else comp.edited
        mask = _full_mask(source, (claim.width, claim.height))
        places: list[str] = []
        for _, _, where in regions:
            if where not in places:
                places.append(where)
        return [r for _, r, _ in regions], mask, places

    def _derived_finding(
        self,
        claim: Evidence,
        claim_feats: LocalFeatures,
        att: _Attempt,
        thresholds: dict[str, float | int],
        n_refs: int,
    ) -> Finding:
        cfg = self.config
        reg, comp = att.registration, att.comparison
        h_full = to_full(reg.homography, claim_feats, att.features)
        transform = describe_transform(h_full, (att.reference.width, att.reference.height), (claim.width, claim.height))
        overlap_px = int(comp.overlap.sum())
        edited_px = int(comp.edited.sum())
        edited_of_overlap = edited_px / overlap_px if overlap_px else 0.0
        edited_of_claim = edited_px / float(comp.edited.size)
        regenerated = comp.agreement_fine < cfg.regenerated_fine
        # Refine the mask at a higher resolution unless most of the footprint changed (a pasted scene: the
        # working-scale mask is already right, and refining it would only cost time).
        fine = self._refined(claim, claim_feats, att) if 0 < edited_of_overlap <= 0.35 else None
        regions, mask, places = self._regions(claim, comp, fine)
        edited = edited_of_claim >= cfg.edited_fraction or regenerated
        words = transform.words()
        how = f" ({', '.join(words)})" if words else ""
        measurements: dict[str, float | int | bool | str | None] = {
            "inliers": reg.inliers,
            "matches": reg.matches,
            "inlier_ratio": round(reg.inlier_ratio, 4),
            "coverage": round(transform.claim_covered, 4),
            "reference_shown": round(transform.reference_shown, 4),
            "edited_fraction": round(edited_of_claim, 5),
            "edited_fraction_of_overlap": round(edited_of_overlap, 5),
            "agreement_coarse": round(comp.agreement_coarse, 4),
            "agreement_fine": round(comp.agreement_fine, 4),
            "agreement_anchor": round(comp.agreement_anchor, 4),
            "anchor_textured": round(comp.anchor_textured, 4),
            "alignment_residual_px": round(att.residual, 3),
            "colour_shift": round(comp.colour_shift, 2),
            "textured_fraction": round(comp.textured_fraction, 4),
            "colour_fit_rms": round(comp.colour_fit_rms, 2),
            "blur_sigma": round(comp.blur_sigma, 2),
            "noise_level": round(comp.noise_level, 2),
            "references_checked": n_refs,
        }
        details = {
            "transform": {
                "scale": round(transform.scale, 4),
                "rotation_deg": round(transform.rotation_deg, 2),
                "mirrored": transform.mirrored,
                "perspective": round(transform.perspective, 4),
                "reference_shown": round(transform.reference_shown, 4),
                "claim_covered": round(transform.claim_covered, 4),
                "homography": [[round(float(v), 6) for v in row] for row in h_full],
            }
        }
        heatmap = np.clip(comp.heat / 2.0, 0.0, 1.0).astype(np.float32)
        if not edited:
            summary = (
                f"Claim photo is {att.reference.name}{how} with no local change: it shows the merchant's own "
                f"photo, not a photo of the delivered item"
            )
            return Finding(
                self.name, self.version, "derived_unedited", cfg.score_unedited, summary,
                reference=att.reference.name, measurements=measurements, thresholds=thresholds,
                details=details, mask=np.zeros((claim.height, claim.width), np.uint8), heatmap=heatmap,
            )  # fmt: skip
        weak = regenerated or reg.inliers < 2 * cfg.min_inliers
        score = cfg.score_edited_weak if weak else cfg.score_edited
        where = ", ".join(places[:3]) if places else "throughout"
        if regenerated and edited_of_claim < cfg.edited_fraction:
            summary = (
                f"Claim photo follows the layout of {att.reference.name}{how} but its texture was redrawn "
                f"everywhere (texture agreement {comp.agreement_fine:.2f} < {cfg.regenerated_fine:.2f}): "
                f"regenerated by an image editor"
            )
        elif transform.claim_covered < 0.9 and edited_of_overlap > 0.3:
            summary = (
                f"Claim photo contains a piece of {att.reference.name}{how}; {edited_of_overlap:.0%} of the "
                f"reference's area shows other content: cut out and placed in another scene"
            )
        else:
            summary = f"Claim photo is {att.reference.name}{how}; {edited_of_claim:.1%} of it was changed: {where}"
            if regenerated:
                summary += f"; texture redrawn everywhere (agreement {comp.agreement_fine:.2f})"
        return Finding(
            self.name, self.version, "derived_and_edited", score, summary,
            reference=att.reference.name, measurements=measurements, thresholds=thresholds,
            regions=regions, details=details, mask=mask, heatmap=heatmap,
        )  # fmt: skip

    def _not_derived_finding(
        self,
        attempts: Sequence[_Attempt],
        references: Sequence[Evidence],
        counts: Sequence[int],
        best_count: int,
        thresholds: dict[str, float | int],
    ) -> Finding:
        cfg = self.config
        best = max(attempts, key=lambda a: a.registration.inliers) if attempts else None
        measurements: dict[str, float | int | bool | str | None] = {
            "best_matches": best_count,
            "references_checked": len(references),
        }
        if best is not None:
            measurements |= {
                "inliers": best.registration.inliers,
                "agreement_coarse": round(best.comparison.agreement_coarse, 4),
                "agreement_fine": round(best.comparison.agreement_fine, 4),
                "agreement_anchor": round(best.comparison.agreement_anchor, 4),
                "anchor_textured": round(best.comparison.anchor_textured, 4),
                "alignment_residual_px": round(best.residual, 3),
                "noise_level": round(best.comparison.noise_level, 2),
                "inlier_ratio": round(best.registration.inlier_ratio, 4),
                "overlap": round(float(best.comparison.overlap.mean()), 4),
                "changed_of_overlap": round(
                    float(best.comparison.edited.sum()) / max(1.0, float(best.comparison.overlap.sum())), 4
                ),
            }
        thresholds = {
            **thresholds,
            "same_item_matches": cfg.same_item_matches,
            "same_item_inliers": cfg.same_item_inliers,
            "same_item_inlier_ratio": cfg.same_item_inlier_ratio,
        }
        # "Same item" needs a consistent alignment with real support. Ratio-test matches alone do not show
        # it: unrelated textured photos give as many chance matches (tuning run: 5-96 for unrelated photos,
        # 3-47 for other views of the same product), and MAGSAC finds weak "alignments" (18-44 inliers at
        # 28-70% of the matches) between different products too.
        supported = (
            best is not None
            and best_count >= cfg.same_item_matches
            and best.registration.inliers >= cfg.same_item_inliers
            and best.registration.inlier_ratio >= cfg.same_item_inlier_ratio
        )
        if best is not None and supported:
            comp = best.comparison
            agree = f"layout {comp.agreement_coarse:.2f}, texture {comp.agreement_fine:.2f}"
            if best.separate_exposure:
                summary = (
                    f"Claim photo aligns with {best.reference.name} ({best.registration.inliers} consistent "
                    f"matches; {agree}) but is another exposure of the same scene, not a copy: its matched points "
                    f"sit {best.residual:.2f} px from one alignment (a copy: under {cfg.exposure_residual_px:.2f}) "
                    f"and its pixels differ by {comp.noise_level:.1f} grey levels after alignment (a copy: under "
                    f"{cfg.exposure_noise:.1f}); compare them by eye"
                )
            elif comp.anchor_textured < cfg.anchor_min_textured:
                # Say which rule held it back: "its pixels disagree" next to agreements of 1.00 would be false.
                summary = (
                    f"Claim photo aligns with {best.reference.name} ({best.registration.inliers} consistent "
                    f"matches; {agree}) but only {comp.anchor_textured:.1%} of the pixels next to the matched points "
                    f"are textured (a copy needs {cfg.anchor_min_textured:.0%} to be told from another photo of a "
                    "smooth subject): a copy or a separate photo of the same scene; compare them by eye"
                )
            else:
                why = (
                    f"texture next to the matched points agrees {comp.agreement_anchor:.2f}, a copy needs "
                    f"{cfg.derived_anchor:.2f}"
                    if comp.agreement_anchor < cfg.derived_anchor
                    else f"its pixels disagree after alignment ({agree})"
                )
                summary = (
                    f"Claim photo aligns in part with {best.reference.name} ({best.registration.inliers} consistent "
                    f"matches) but is a different photo ({why}): probably the same product photographed separately"
                )
            return Finding(
                self.name, self.version, "same_item", 0.0, summary, reference=best.reference.name,
                measurements=measurements, thresholds=thresholds,
            )  # fmt: skip
        if best_count >= cfg.same_item_matches:
            ref = best.reference if best is not None else references[int(np.argmax(counts))]
            summary = (
                f"Claim photo is not a copy of any of the {len(references)} reference image(s); it shares "
                f"{best_count} local features with {ref.name}, too few or too inconsistent to show the same product"
            )
            return Finding(
                self.name, self.version, "unrelated", 0.0, summary, measurements=measurements, thresholds=thresholds
            )  # fmt: skip
        summary = f"Claim photo matches none of the {len(references)} reference image(s) (best: {best_count} matches)"
        return Finding(
            self.name, self.version, "unrelated", 0.0, summary, measurements=measurements, thresholds=thresholds
        )
