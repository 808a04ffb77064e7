"""Checks: one folder per check, each with its README. See ``base`` for the contract."""

from proofdesk.checks.base import (
    Check,
    CheckContext,
    Finding,
    HashBank,
    OrderTimeline,
    ReferenceCatalogue,
    Region,
    ReuseHit,
)
from proofdesk.checks.registry import available_checks, build_checks

__all__ = [
    "Check",
    "CheckContext",
    "Finding",
    "HashBank",
    "OrderTimeline",
    "ReferenceCatalogue",
    "Region",
    "ReuseHit",
    "available_checks",
    "build_checks",
]
