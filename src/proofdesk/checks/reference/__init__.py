"""The ``reference`` check: claim photo vs the merchant's own images (see README.md in this folder)."""

from proofdesk.checks.reference.check import FeatureSource, ReferenceCheck, ReferenceConfig

__all__ = ["FeatureSource", "ReferenceCheck", "ReferenceConfig"]
