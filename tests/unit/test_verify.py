"""Combining findings into risk and verdict, and the report contract."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from proofdesk.checks.base import CheckContext, Finding, Region
from proofdesk.config import VerdictPolicy
from proofdesk.evidence import Evidence, evidence_from_array
from proofdesk.report import SCHEMA, Report
from proofdesk.verify import combine, verify
from tests.conftest import photo_like


class FixedCheck:
    """A check whose finding is given (tests the combiner, not a detector)."""

    version: ClassVar[str] = "1"

    def __init__(self, name: str, score: float, label: str = "x") -> None:
        self.name = name  # type: ignore[misc]
        self.score = score
        self.label = label

    def run(self, claim: Evidence, context: CheckContext) -> Finding:
        return Finding(self.name, "1", self.label, self.score, f"{self.name} says {self.score}",
                       regions=[Region(1, 2, 3, 4, self.score)])


class CrashingCheck:
    name: ClassVar[str] = "pixels"
    version: ClassVar[str] = "1"

    def run(self, claim: Evidence, context: CheckContext) -> Finding:
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def claim() -> Evidence:
    return evidence_from_array(photo_like(64, 96), name="claim.png")


def test_strong_reference_finding_makes_it_likely_forged(claim: Evidence) -> None:
    report = verify(claim, checks=[FixedCheck("reference", 0.99, "derived_and_edited"), FixedCheck("pixels", 0.2)])
    assert report.verdict == "likely_forged"
    assert report.risk == pytest.approx(0.99)
    assert report.decided_by == "reference:derived_and_edited"
    assert "reference scored 0.99" in report.explanation


def test_weak_check_alone_never_reaches_forged(claim: Evidence) -> None:
    report = verify(claim, checks=[FixedCheck("pixels", 1.0, "local_edit")])
    policy = VerdictPolicy()
    assert report.risk == pytest.approx(policy.weights["pixels"])
    assert report.verdict == "needs_review"


def test_no_signal_is_likely_genuine(claim: Evidence) -> None:
    report = verify(claim, checks=[FixedCheck("reference", 0.0, "unrelated"), FixedCheck("provenance", 0.0, "none")])
    assert report.verdict == "likely_genuine"
    assert report.decided_by is None


def test_crashing_check_forces_review_and_is_reported(claim: Evidence) -> None:
    report = verify(claim, checks=[CrashingCheck()])
    assert report.verdict == "needs_review"
    finding = report.finding("pixels")
    assert finding is not None and finding.label == "check_error" and "boom" in finding.summary


def test_report_json_round_trip_and_contract_keys(claim: Evidence) -> None:
    report = verify(claim, checks=[FixedCheck("reference", 0.9, "derived_and_edited")])
    document = json.loads(json.dumps(report.to_json()))
    assert document["schema"] == SCHEMA
    assert set(document) >= {"schema", "claim", "verdict", "risk", "findings", "timings_ms", "versions"}
    assert set(document["claim"]) == {"name", "sha256", "width", "height", "format"}
    finding = document["findings"][0]
    assert set(finding) >= {"check", "version", "label", "score", "summary", "reference", "measurements",
                            "thresholds", "regions"}
    again = Report.from_json(document)
    assert again.to_json() == document


def test_policy_rejects_inverted_thresholds() -> None:
    with pytest.raises(ValueError, match="review_at"):
        VerdictPolicy(review_at=0.9, forged_at=0.5)


def test_combine_uses_weights() -> None:
    policy = VerdictPolicy(weights={"metadata": 0.5})
    risk, verdict, decided_by, _ = combine([Finding("metadata", "1", "x", 0.8, "s")], policy)
    assert risk == pytest.approx(0.4) and verdict == "needs_review" and decided_by == "metadata:x"


def test_finding_score_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="outside"):
        Finding("reference", "1", "x", 1.5, "s")
