"""Combine the checks' findings into one explained verdict (third step of the flow).

``risk`` is the largest *weighted* finding score, where each check's weight comes from
:class:`~proofdesk.config.VerdictPolicy`. The maximum (not a sum or noisy-OR) keeps the verdict
explainable: one named finding decides it, and weak cues cannot add up to "forged" behind a reviewer's
back. Weak checks have weights below ``forged_at``, so they can send a claim to review but never mark it
``likely_forged`` alone. A check that crashes is reported as a finding with label ``check_error`` and
forces at least ``needs_review``: an unchecked photo is never waved through.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from proofdesk.checks.base import Check, CheckContext, Finding
from proofdesk.checks.registry import build_checks
from proofdesk.config import VerdictPolicy
from proofdesk.errors import EvidenceError
from proofdesk.evidence import Evidence
from proofdesk.report import ClaimInfo, Report, Verdict

__all__ = ["combine", "verify"]


def _proofdesk_version() -> str:
    try:
        return version("proofdesk")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0+unknown"


def combine(findings: Sequence[Finding], policy: VerdictPolicy) -> tuple[float, Verdict, str | None, str]:
    """Risk, verdict, the deciding finding and a one-sentence explanation."""
    risk = 0.0
    decided_by: str | None = None
    deciding: Finding | None = None
    for finding in findings:
        weighted = policy.weights.get(finding.check, 0.5) * finding.score
        if weighted > risk:
            risk, decided_by, deciding = weighted, f"{finding.check}:{finding.label}", finding
    errored = [f.check for f in findings if f.label == "check_error"]
    verdict: Verdict
    if risk >= policy.forged_at:
        verdict = "likely_forged"
    elif risk >= policy.review_at or errored:
        verdict = "needs_review"
    else:
        verdict = "likely_genuine"
    if deciding is not None:
        weight = policy.weights.get(deciding.check, 0.5)
        explanation = (
            f"{deciding.check} scored {deciding.score:.2f} (weight {weight:.2f}, risk {risk:.2f}; "
            f"review at {policy.review_at:.2f}, forged at {policy.forged_at:.2f}): {deciding.summary}"
        )
    else:
        explanation = "no check found a sign of forgery"
    if errored and verdict == "needs_review" and risk < policy.review_at:
        explanation = f"check(s) {', '.join(errored)} could not run; a person must look at this photo"
    return risk, verdict, decided_by, explanation


def verify(
    claim: Evidence,
    references: Sequence[Evidence] = (),
    context: CheckContext | None = None,
    *,
    checks: Sequence[Check] | None = None,
    policy: VerdictPolicy | None = None,
) -> Report:
    """Run every check on one claim image and combine the findings into a :class:`Report`.

    ``references`` are added to ``context.references``. ``checks`` defaults to every registered check with
    the overrides in ``context.config``.
    """
    context = context or CheckContext()
    if references:
        context = CheckContext(
            references=(*context.references, *references),
            catalogue=context.catalogue,
            timeline=context.timeline,
            siblings=context.siblings,
            hash_bank=context.hash_bank,
            config=context.config,
        )
    policy = policy or VerdictPolicy()
    active = list(checks) if checks is not None else build_checks(config=context.config)
    findings: list[Finding] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for check in active:
        t0 = time.perf_counter()
        try:
            finding = check.run(claim, context)
        except EvidenceError:
            raise
        except Exception as exc:  # noqa: BLE001 - a crashing check must not hide the other findings
            finding = Finding(
                check=check.name,
                version=check.version,
                label="check_error",
                score=0.0,
                summary=f"{check.name} could not run: {type(exc).__name__}: {exc}",
            )
        timings[check.name] = (time.perf_counter() - t0) * 1000.0
        findings.append(finding)
    timings = {"total": (time.perf_counter() - started) * 1000.0, **timings}
    risk, verdict, decided_by, explanation = combine(findings, policy)
    versions = {"proofdesk": _proofdesk_version(), **{f"check.{c.name}": c.version for c in active}}
    return Report(
        claim=ClaimInfo(claim.name, claim.sha256, claim.width, claim.height, claim.format),
        verdict=verdict,
        risk=risk,
        findings=findings,
        timings_ms=timings,
        versions=versions,
        decided_by=decided_by,
        explanation=explanation,
    )
