"""After-sales cases (application layer, issue 5): the marketplace catalogue and the claim/case service.

- :mod:`~proofdesk.cases.states`: :class:`CaseStatus`, :data:`TRANSITIONS`, :func:`transition`.
- :mod:`~proofdesk.cases.models`: the tables; :mod:`~proofdesk.cases.schemas`: what the services return.
- :class:`CatalogService`: merchants, shops, listings with reference images, buyers (contact encrypted,
  masked on output), orders with shipment evidence (packing video -> keyframes job).
- :class:`CaseService`: filing claims (validated uploads, idempotency key), checks as durable jobs with
  versioned reports, policy routing, the merchant response window, review queue, decisions, appeal.
- :mod:`~proofdesk.cases.media`: upload validation and PyAV keyframes.

Build them through :func:`proofdesk.services.build_services`, which wires the dependencies
(:class:`CaseDeps`).
"""

from __future__ import annotations

from proofdesk.cases._deps import CaseDeps
from proofdesk.cases.catalog import CatalogService
from proofdesk.cases.media import Upload
from proofdesk.cases.service import CaseService
from proofdesk.cases.states import TRANSITIONS, CaseStatus, ClaimType, transition

__all__ = [
    "TRANSITIONS",
    "CaseDeps",
    "CaseService",
    "CaseStatus",
    "CatalogService",
    "ClaimType",
    "Upload",
    "transition",
]
