"""Proofdesk: after-sales evidence checking. The public library API.

>>> from proofdesk import read_evidence, verify
>>> report = verify(read_evidence("claim.jpg"), [read_evidence("listing.jpg")])  # doctest: +SKIP
>>> report.verdict, report.risk  # doctest: +SKIP
"""

from proofdesk.checks import Check, CheckContext, Finding, OrderTimeline, Region, build_checks
from proofdesk.config import EvidenceLimits, Settings, VerdictPolicy
from proofdesk.errors import (
    CorruptEvidence,
    EvidenceError,
    EvidenceTooLarge,
    ProofdeskError,
    UnsupportedFormat,
)
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.report import Report
from proofdesk.verify import verify

__all__ = [
    "Check",
    "CheckContext",
    "CorruptEvidence",
    "Evidence",
    "EvidenceError",
    "EvidenceLimits",
    "EvidenceTooLarge",
    "Finding",
    "OrderTimeline",
    "ProofdeskError",
    "Region",
    "Report",
    "Settings",
    "UnsupportedFormat",
    "VerdictPolicy",
    "build_checks",
    "read_evidence",
    "verify",
]
