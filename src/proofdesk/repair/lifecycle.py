"""The visit state machine: one enum, one table of allowed steps, one function that takes a step.

Where this sits in the repair flow: every change of a repair request's status goes through :func:`transition`
(called by the service layer, which also checks the step's evidence: a diagnosis needs a report and a quote,
completion needs a record, photos and a signature). Anything not in :data:`TRANSITIONS` raises
:class:`~proofdesk.errors.InvalidTransition`.

::

    requested ─► assigned ─► contacted ─► en_route ─► on_site ─► diagnosed ─► approved ─► repaired
        ▲           │  ▲         │           │                      │            │            │
        └─ decline ─┘  └reassign─┴───────────┘                      ▼            ▼            ▼
                                                             quote_declined  parts_ordered  completed ─► followed_up
                                                                    │        (en_route again)   ▲
                                                                    └───────────────────────────┘ (no repair)
"""

from __future__ import annotations

import enum

from proofdesk.errors import InvalidTransition


class VisitStatus(enum.StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DIAGNOSED = "diagnosed"
    APPROVED = "approved"
    QUOTE_DECLINED = "quote_declined"
    PARTS_ORDERED = "parts_ordered"
    REPAIRED = "repaired"
    COMPLETED = "completed"
    FOLLOWED_UP = "followed_up"
    CANCELLED = "cancelled"


S = VisitStatus
TRANSITIONS: frozenset[tuple[VisitStatus, VisitStatus]] = frozenset(
    {
        (S.REQUESTED, S.ASSIGNED),
        (S.ASSIGNED, S.CONTACTED),
        (S.ASSIGNED, S.REQUESTED),  # technician declined: back to the queue
        (S.ASSIGNED, S.ASSIGNED),  # reassigned (manual override or lateness)
        (S.CONTACTED, S.ASSIGNED),
        (S.CONTACTED, S.EN_ROUTE),
        (S.EN_ROUTE, S.ASSIGNED),
        (S.EN_ROUTE, S.ON_SITE),
        (S.ON_SITE, S.DIAGNOSED),
        (S.DIAGNOSED, S.APPROVED),  # customer approves report and quote
        (S.DIAGNOSED, S.QUOTE_DECLINED),
        (S.APPROVED, S.REPAIRED),
        (S.APPROVED, S.PARTS_ORDERED),
        (S.PARTS_ORDERED, S.EN_ROUTE),  # parts arrived: second visit
        (S.ON_SITE, S.REPAIRED),  # on that second visit; the service checks the quote was approved
        (S.REPAIRED, S.COMPLETED),
        (S.QUOTE_DECLINED, S.COMPLETED),  # closed without repair; record still required
        (S.COMPLETED, S.FOLLOWED_UP),
    }
    | {(s, S.CANCELLED) for s in (S.REQUESTED, S.ASSIGNED, S.CONTACTED, S.EN_ROUTE)}
)
OPEN_STATUSES = frozenset(
    {S.REQUESTED, S.ASSIGNED, S.CONTACTED, S.EN_ROUTE, S.ON_SITE, S.DIAGNOSED, S.APPROVED, S.PARTS_ORDERED, S.REPAIRED}
)
# States in which a technician holds the job (their booking counts as load).
WITH_TECHNICIAN = frozenset({S.ASSIGNED, S.CONTACTED, S.EN_ROUTE})


def allowed(current: VisitStatus) -> list[VisitStatus]:
    return sorted((b for a, b in TRANSITIONS if a is current), key=list(VisitStatus).index)


def transition(current: VisitStatus, target: VisitStatus) -> VisitStatus:
    """Return ``target`` if the step is allowed, else raise naming the steps that are."""
    if (current, target) not in TRANSITIONS:
        options = ", ".join(s.value for s in allowed(current)) or "none"
        raise InvalidTransition(f"a visit cannot go from {current.value} to {target.value} (allowed: {options})")
    return target
