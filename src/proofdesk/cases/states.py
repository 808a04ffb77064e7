"""The case state machine: :class:`CaseStatus`, the :data:`TRANSITIONS` table and one :func:`transition`.

Anchored on Netflix/dispatch ``case/enums.py`` + ``case/flows.py``, simplified: the allowed steps are data,
and every status change in the service goes through :func:`transition`, which refuses anything not in the
table with :class:`~proofdesk.errors.InvalidTransition` (HTTP 409). There is no step from ``checking`` to
``denied``: nothing denies automatically; only a reviewer's decision does.

::

    submitted ─► checking ─┬─► approved                       (policy: low risk, low value, good standing)
                           ├─► needs_evidence ─► checking      (policy or reviewer asks the buyer for more)
                           └─► awaiting_merchant ─► in_review  (merchant answers, or the window expires)
                                      │                 │
                                      └─► needs_evidence ◄┤ (clock paused while the buyer is asked)
                                                        ├─► approved
                                                        └─► denied ─► appealed ─┬─► approved   (2nd reviewer)
                                                                                └─► closed     (denial upheld)
    any open status ─► withdrawn (by the buyer)

Re-checks (new references, merchant counter-evidence, appeal evidence) store new report versions without a
status change; only a case in ``checking`` is routed by the policy when its checks finish.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from proofdesk.errors import InvalidTransition


class CaseStatus(StrEnum):
    """Where a case is."""

    SUBMITTED = "submitted"
    CHECKING = "checking"
    NEEDS_EVIDENCE = "needs_evidence"
    AWAITING_MERCHANT = "awaiting_merchant"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    DENIED = "denied"
    APPEALED = "appealed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class ClaimType(StrEnum):
    """What the buyer asks for."""

    REFUND_ONLY = "refund_only"
    RETURN_REFUND = "return_refund"
    EXCHANGE = "exchange"
    REPAIR = "repair"


_OPEN: Final = (
    CaseStatus.SUBMITTED,
    CaseStatus.CHECKING,
    CaseStatus.NEEDS_EVIDENCE,
    CaseStatus.AWAITING_MERCHANT,
    CaseStatus.IN_REVIEW,
)

#: Every allowed (from, to) step. Reviewer decisions, policy routing and window expiry all use it.
TRANSITIONS: Final[frozenset[tuple[CaseStatus, CaseStatus]]] = frozenset(
    {
        (CaseStatus.SUBMITTED, CaseStatus.CHECKING),
        (CaseStatus.CHECKING, CaseStatus.APPROVED),
        (CaseStatus.CHECKING, CaseStatus.NEEDS_EVIDENCE),
        (CaseStatus.CHECKING, CaseStatus.AWAITING_MERCHANT),
        (CaseStatus.CHECKING, CaseStatus.IN_REVIEW),
        (CaseStatus.NEEDS_EVIDENCE, CaseStatus.CHECKING),
        (CaseStatus.AWAITING_MERCHANT, CaseStatus.IN_REVIEW),
        (CaseStatus.AWAITING_MERCHANT, CaseStatus.NEEDS_EVIDENCE),
        (CaseStatus.IN_REVIEW, CaseStatus.NEEDS_EVIDENCE),
        (CaseStatus.IN_REVIEW, CaseStatus.APPROVED),
        (CaseStatus.IN_REVIEW, CaseStatus.DENIED),
        (CaseStatus.DENIED, CaseStatus.APPEALED),
        (CaseStatus.APPEALED, CaseStatus.APPROVED),
        (CaseStatus.APPEALED, CaseStatus.CLOSED),
        *((status, CaseStatus.WITHDRAWN) for status in _OPEN),
    }
)

#: Statuses in which a case is finished (no transition leaves them except ``denied`` -> ``appealed``).
TERMINAL: Final = frozenset({CaseStatus.APPROVED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN})


def allowed_next(current: CaseStatus) -> frozenset[CaseStatus]:
    """The statuses reachable in one step."""
    return frozenset(to for frm, to in TRANSITIONS if frm is current)


def transition(current: CaseStatus | str, target: CaseStatus | str) -> CaseStatus:
    """Validate one step and return the new status; InvalidTransition if the table does not allow it."""
    frm, to = CaseStatus(current), CaseStatus(target)
    if (frm, to) not in TRANSITIONS:
        allowed = ", ".join(sorted(s.value for s in allowed_next(frm))) or "none"
        raise InvalidTransition(f"a case cannot go from {frm.value} to {to.value} (allowed: {allowed})")
    return to
