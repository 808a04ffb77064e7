"""Optional integrations wired into the case service: buyer credit and reuse banks (engineer D2's modules).

Kept in one place so the case service itself depends only on the small hooks in
:class:`~proofdesk.cases.CaseDeps`. Until those modules provide what is used here, the case service falls
back to its own outcome-based standing and runs without a hash bank (the ``reuse`` check says ``no_bank``).
"""

from __future__ import annotations

from proofdesk.cases import CaseDeps


def wire(deps: CaseDeps) -> None:
    """Attach the integrations that are available."""
    del deps  # nothing wired yet; see module docstring
