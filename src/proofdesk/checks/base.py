"""The check contract: evidence + context -> :class:`Finding`.

Second step of the flow: after evidence is read (``proofdesk.evidence``), every registered check looks at
the claim photo with what is known around it (:class:`CheckContext`: merchant references, the order
timeline, the other photos of the claim, the reuse banks) and returns one explained :class:`Finding`.
``proofdesk.verify`` then combines the findings into a :class:`~proofdesk.report.Report`.

A finding's ``score`` is the check's calibrated belief, in [0, 1], that the claim photo is forged or
misleading *because of what this check saw*. A check that has nothing to say (no reference given, no
provenance found) returns score 0 with label ``none``/``no_reference``: absence of a signal never lowers
risk, it only fails to raise it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from proofdesk.evidence import Evidence

__all__ = [
    "Check",
    "CheckContext",
    "Finding",
    "HashBank",
    "OrderTimeline",
    "ReferenceCatalogue",
    "Region",
    "ReuseHit",
]

JSONScalar = str | int | float | bool | None
Mask = npt.NDArray[np.uint8]
HeatMap = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Region:
    """An axis-aligned box in claim-image pixels (display orientation) with the check's score for it."""

    x: int
    y: int
    w: int
    h: int
    score: float
    #: What was seen there, in a few words ("crack drawn", "noise level differs"), optional.
    cue: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Serialise as in the report contract."""
        out: dict[str, Any] = {"x": self.x, "y": self.y, "w": self.w, "h": self.h, "score": round(self.score, 4)}
        if self.cue:
            out["cue"] = self.cue
        return out


@dataclass(frozen=True)
class Finding:
    """What one check concluded about one claim image, with everything needed to follow its reasoning."""

    check: str
    version: str
    label: str
    score: float
    summary: str
    reference: str | None = None
    measurements: Mapping[str, JSONScalar] = field(default_factory=dict)
    thresholds: Mapping[str, JSONScalar] = field(default_factory=dict)
    regions: Sequence[Region] = ()
    #: Check-specific structured detail (e.g. the provenance fields read, the transform found).
    details: Mapping[str, Any] = field(default_factory=dict)
    #: Binary mask (H, W) of the claim image, 255 where this check localizes an edit; not serialised.
    mask: Mask | None = field(default=None, repr=False, compare=False)
    #: Heat map (h, w) float32 in [0, 1], any resolution (scaled to the claim for display); not serialised.
    heatmap: HeatMap | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"{self.check}: score {self.score} outside [0, 1]")

    def to_json(self) -> dict[str, Any]:
        """Serialise as in ``proofdesk.report/1``."""
        out: dict[str, Any] = {
            "check": self.check,
            "version": self.version,
            "label": self.label,
            "score": round(float(self.score), 4),
            "summary": self.summary,
            "reference": self.reference,
            "measurements": dict(self.measurements),
            "thresholds": dict(self.thresholds),
            "regions": [r.to_json() for r in self.regions],
        }
        if self.details:
            out["details"] = dict(self.details)
        return out


@dataclass(frozen=True)
class OrderTimeline:
    """When the goods moved; any may be unknown. All timezone-aware."""

    ordered_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    filed_at: datetime | None = None


@runtime_checkable
class ReferenceCatalogue(Protocol):
    """A merchant's indexed reference images (see ``proofdesk.signals``): retrieval of candidates."""

    def candidates(self, claim: Evidence, *, limit: int) -> Sequence[Evidence]:
        """The references most likely to be the source of ``claim``, best first."""
        ...


@dataclass(frozen=True)
class ReuseHit:
    """A stored photo whose perceptual hash is close to the claim's."""

    distance: int
    source: str  # "claim" | "listing"
    ref: str  # opaque id: claim id / listing image id
    same_buyer: bool | None = None
    same_merchant: bool | None = None
    suppressed: bool = False  # matched the negative bank (known stock photo)
    #: Why it was suppressed (the negative-bank entry's label), when ``suppressed``.
    suppressed_by: str | None = None
    #: Which rotation/flip of the claim matched (PDQ dihedral name, "original" when none was needed).
    transform: str | None = None
    #: When the stored photo entered the bank (ISO 8601), for the reviewer's timeline.
    added_at: str | None = None


@runtime_checkable
class HashBank(Protocol):
    """Perceptual-hash banks of earlier claims and listings (application layer implements it)."""

    def lookup(self, claim: Evidence, *, max_distance: int) -> Sequence[ReuseHit]:
        """Stored photos close to ``claim``."""
        ...


@dataclass(frozen=True)
class CheckContext:
    """Everything known around one claim image. Every field is optional; checks say what they lacked."""

    references: Sequence[Evidence] = ()
    catalogue: ReferenceCatalogue | None = None
    timeline: OrderTimeline | None = None
    #: The other photos of the same claim (for cross-photo consistency).
    siblings: Sequence[Evidence] = ()
    hash_bank: HashBank | None = None
    #: Per-check configuration overrides (``Settings.checks``), keyed by check name.
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def config_for(self, check_name: str) -> Mapping[str, Any]:
        """The overrides for one check (empty if none)."""
        return self.config.get(check_name, {})


class Check(Protocol):
    """One question about a claim image. Implementations live in ``proofdesk.checks.<name>/``."""

    name: ClassVar[str]
    version: ClassVar[str]

    def run(self, claim: Evidence, context: CheckContext) -> Finding:
        """Look at ``claim`` and return one finding. Must not raise on valid evidence."""
        ...
