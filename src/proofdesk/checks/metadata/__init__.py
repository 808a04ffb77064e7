"""The ``metadata`` check (DESIGN.md §3): capture time, device and software against the order and the claim.

See README.md in this folder for the labels and what they mean.
"""

from proofdesk.checks.metadata._check import CaptureTrace, MetadataCheck, capture_trace

__all__ = ["CaptureTrace", "MetadataCheck", "capture_trace"]
