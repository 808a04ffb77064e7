"""The report contract ``proofdesk.report/1``: what one verification concluded about one claim image.

Produced by :func:`proofdesk.verify.verify`, printed by ``proofdesk check --json``, stored with each check run
and served by the API. Adding optional keys is compatible; renaming or removing one needs ``report/2``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np

from proofdesk.checks.base import Finding, Mask, Region

__all__ = ["SCHEMA", "ClaimInfo", "Report", "Verdict"]

SCHEMA: Final = "proofdesk.report/1"
Verdict = Literal["likely_genuine", "needs_review", "likely_forged"]


@dataclass(frozen=True)
class ClaimInfo:
    """The claim image as identified in the report."""

    name: str
    sha256: str
    width: int
    height: int
    format: str

    def to_json(self) -> dict[str, Any]:
        """Serialise."""
        return {"name": self.name, "sha256": self.sha256, "width": self.width, "height": self.height,
                "format": self.format}


@dataclass(frozen=True)
class Report:
    """Verdict, risk and the findings behind them."""

    claim: ClaimInfo
    verdict: Verdict
    risk: float
    findings: Sequence[Finding]
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    #: Which finding set the risk ("check:label"), and why the verdict is what it is, in one sentence.
    decided_by: str | None = None
    explanation: str = ""

    def to_json(self) -> dict[str, Any]:
        """Serialise as ``proofdesk.report/1``."""
        return {
            "schema": SCHEMA,
            "claim": self.claim.to_json(),
            "verdict": self.verdict,
            "risk": round(float(self.risk), 4),
            "decided_by": self.decided_by,
            "explanation": self.explanation,
            "findings": [f.to_json() for f in self.findings],
            "timings_ms": {k: round(float(v), 1) for k, v in self.timings_ms.items()},
            "versions": dict(self.versions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        """Load a stored report (masks and heat maps are not stored in JSON)."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document: schema={data.get('schema')!r}")
        findings = [
            Finding(
                check=f["check"],
                version=f["version"],
                label=f["label"],
                score=float(f["score"]),
                summary=f["summary"],
                reference=f.get("reference"),
                measurements=f.get("measurements", {}),
                thresholds=f.get("thresholds", {}),
                regions=[Region(**r) for r in f.get("regions", [])],
                details=f.get("details", {}),
            )
            for f in data["findings"]
        ]
        return cls(
            claim=ClaimInfo(**data["claim"]),
            verdict=data["verdict"],
            risk=float(data["risk"]),
            findings=findings,
            timings_ms=data.get("timings_ms", {}),
            versions=data.get("versions", {}),
            decided_by=data.get("decided_by"),
            explanation=data.get("explanation", ""),
        )

    def finding(self, check: str) -> Finding | None:
        """The finding of one check, if it ran."""
        return next((f for f in self.findings if f.check == check), None)

    def edit_mask(self) -> Mask:
        """Where the report localizes an edit, at claim size: 255 edited, 0 elsewhere.

        When the reference check found the claim derived from a reference *and edited*, its mask is the
        localization: it is measured against the original pixels, so adding the no-reference localizers'
        guesses (noise and JPEG-grid statistics of the ``pixels`` check) would only add false area. Otherwise
        the union of the masks of findings that localize edits. Regions of other checks (a visible AI label,
        say) are not edits and are never drawn here.
        """
        size = (self.claim.height, self.claim.width)
        for finding in self.findings:
            derived = finding.check == "reference" and finding.label == "derived_and_edited"
            if derived and finding.mask is not None and finding.mask.shape == size:
                return finding.mask.copy()
        mask = np.zeros(size, dtype=np.uint8)
        for finding in self.findings:
            if finding.score > 0 and finding.mask is not None and finding.mask.shape == size:
                np.maximum(mask, finding.mask, out=mask)
        return mask
