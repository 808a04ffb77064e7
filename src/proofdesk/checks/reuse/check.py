"""The ``reuse`` check: has this photo (or a near-duplicate) been seen in other claims or listings?

Where it sits: one of the checks ``proofdesk.verify`` runs (DESIGN.md §3). It asks the
:class:`~proofdesk.checks.base.HashBank` in the context (the application layer's reuse banks, scoped to this
claim's buyer and merchant) for stored photos within a PDQ distance, and turns the strongest hit into one
explained finding. Without a bank it says so (``no_bank``) and raises nothing. See README.md here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Self

from proofdesk.checks.base import CheckContext, Finding, ReuseHit
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence
from proofdesk.signals.pdq import MATCH_DISTANCE, pdq_hash

__all__ = ["LABEL_SCORES", "ReuseCheck"]

#: Prior belief that the claim is misleading, per kind of hit. Not calibrated on outcomes yet (no labelled
#: reuse cases exist); ordered by how hard an innocent explanation is. See README.md "Scores".
LABEL_SCORES: Final[Mapping[str, float]] = {
    "reused_other_buyer": 0.9,  # another buyer's claim photo: shared or stolen evidence
    "matches_listing_other_merchant": 0.85,  # a photo taken from another shop's listing
    "matches_own_listing": 0.8,  # the merchant's own product photo sent back as "damage" evidence
    "reused_same_buyer": 0.6,  # the buyer's own earlier claim photo: may be a follow-up claim, a reviewer decides
    "reused": 0.6,  # a banked photo whose owner is unknown to this lookup
    "suppressed": 0.0,  # only hits on known stock images (negative bank)
    "none": 0.0,
    "no_bank": 0.0,
}
_PRIORITY: Final = (
    "reused_other_buyer",
    "matches_listing_other_merchant",
    "matches_own_listing",
    "reused_same_buyer",
    "reused",
)
_DEFAULTS: Final[Mapping[str, Any]] = {
    "max_distance": MATCH_DISTANCE,  # PDQ match threshold used by Meta's HMA
    "near_distance": 16,  # at or below: the same photo beyond doubt (re-encode/resize move it < 16 bits)
    "far_factor": 0.8,  # score multiplier for hits between near_distance and max_distance
    "max_hits_listed": 10,
}


def _label(hit: ReuseHit) -> str:
    if hit.source == "listing":
        return "matches_own_listing" if hit.same_merchant else "matches_listing_other_merchant"
    if hit.same_buyer is True:
        return "reused_same_buyer"
    if hit.same_buyer is False:
        return "reused_other_buyer"
    return "reused"


def _describe(label: str, hit: ReuseHit) -> str:
    what = {
        "reused_other_buyer": f"another buyer's claim {hit.ref}",
        "reused_same_buyer": f"this buyer's earlier claim {hit.ref}",
        "matches_listing_other_merchant": f"listing image {hit.ref} of another merchant",
        "matches_own_listing": f"the merchant's own listing image {hit.ref}",
        "reused": f"banked photo {hit.ref} ({hit.source})",
    }[label]
    turned = f", {hit.transform}" if hit.transform and hit.transform != "original" else ""
    return f"{what} (PDQ distance {hit.distance}/256{turned})"


class ReuseCheck:
    """Finds the claim photo in the reuse banks; labels in :data:`LABEL_SCORES`."""

    name: ClassVar[str] = "reuse"
    version: ClassVar[str] = "1"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.max_distance = int(config["max_distance"])
        self.near_distance = int(config["near_distance"])
        self.far_factor = float(config["far_factor"])
        self.max_hits_listed = int(config["max_hits_listed"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Validate overrides against the defaults above."""
        unknown = set(config) - set(_DEFAULTS)
        if unknown:
            raise InvalidSettings(f"reuse: unknown option(s) {', '.join(sorted(unknown))}")
        merged = {**_DEFAULTS, **config}
        for key in ("max_distance", "near_distance", "max_hits_listed"):
            value = merged[key]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 256:
                raise InvalidSettings(f"reuse: {key} must be an integer in [0, 256]")
        if merged["near_distance"] > merged["max_distance"]:
            raise InvalidSettings("reuse: near_distance must not exceed max_distance")
        factor = merged["far_factor"]
        if not isinstance(factor, int | float) or isinstance(factor, bool) or not 0 <= factor <= 1:
            raise InvalidSettings("reuse: far_factor must be a number in [0, 1]")
        return cls(merged)

    def _score(self, label: str, hit: ReuseHit) -> float:
        base = LABEL_SCORES[label]
        return base if hit.distance <= self.near_distance else base * self.far_factor

    def run(self, claim: Evidence, context: CheckContext) -> Finding:
        """Look the claim photo up in ``context.hash_bank``."""
        thresholds = {"max_distance": self.max_distance, "near_distance": self.near_distance}
        if context.hash_bank is None:
            return Finding(
                self.name,
                self.version,
                "no_bank",
                0.0,
                "No reuse bank was given: not checked against earlier claims or listings",
                thresholds=thresholds,
            )
        own = pdq_hash(claim)
        hits: Sequence[ReuseHit] = context.hash_bank.lookup(claim, max_distance=self.max_distance)
        active = [h for h in hits if not h.suppressed]
        suppressed = [h for h in hits if h.suppressed]
        measurements: dict[str, str | int | float | bool | None] = {
            "pdq_quality": own.quality,
            "hits": len(active),
            "suppressed_hits": len(suppressed),
            "nearest_distance": min((h.distance for h in hits), default=None),
        }
        details = {
            "pdq": own.hex,
            "hits": [self._hit_json(h) for h in list(hits)[: self.max_hits_listed]],
        }
        if not active:
            if suppressed:
                first = suppressed[0]
                summary = (
                    f"Matches only known image(s) in the negative bank ({first.suppressed_by or 'known image'}, "
                    f"distance {first.distance}); {len(suppressed)} hit(s) suppressed"
                )
                return Finding(
                    self.name,
                    self.version,
                    "suppressed",
                    0.0,
                    summary,
                    reference=first.ref,
                    measurements=measurements,
                    thresholds=thresholds,
                    details=details,
                )
            summary = f"Not found in the reuse banks (no stored photo within PDQ distance {self.max_distance})"
            if own.quality < 50:
                summary = f"Photo too flat to compare (PDQ quality {own.quality} < 50): reuse not checked"
            return Finding(
                self.name,
                self.version,
                "none",
                0.0,
                summary,
                measurements=measurements,
                thresholds=thresholds,
                details=details,
            )
        scored = [(self._score(_label(h), h), -_PRIORITY.index(_label(h)), -h.distance, h) for h in active]
        score, _, _, best = max(scored, key=lambda t: t[:3])
        label = _label(best)
        others = len(active) - 1
        summary = f"Same photo as {_describe(label, best)}" + (f"; {others} more hit(s)" if others else "")
        measurements["distance"] = best.distance
        return Finding(
            self.name,
            self.version,
            label,
            round(score, 4),
            summary,
            reference=best.ref,
            measurements=measurements,
            thresholds=thresholds,
            details=details,
        )

    @staticmethod
    def _hit_json(hit: ReuseHit) -> dict[str, Any]:
        return {
            "label": "suppressed" if hit.suppressed else _label(hit),
            "source": hit.source,
            "ref": hit.ref,
            "distance": hit.distance,
            "same_buyer": hit.same_buyer,
            "same_merchant": hit.same_merchant,
            "suppressed": hit.suppressed,
            "suppressed_by": hit.suppressed_by,
            "transform": hit.transform,
            "added_at": hit.added_at,
        }
