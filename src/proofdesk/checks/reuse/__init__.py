"""The ``reuse`` check (DESIGN.md §3): the claim photo seen before in other claims or listings.

See README.md in this folder for the labels, scores and limits.
"""

from proofdesk.checks.reuse.check import LABEL_SCORES, ReuseCheck

__all__ = ["LABEL_SCORES", "ReuseCheck"]
