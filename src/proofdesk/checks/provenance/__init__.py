"""The ``provenance`` check (DESIGN.md §3): AI labels, content credentials and tool traces in the claim file.

See README.md in this folder for what is read, from where, and what each signal proves.
"""

from proofdesk.checks.provenance._check import ProvenanceCheck

__all__ = ["ProvenanceCheck"]
