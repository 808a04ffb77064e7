"""Roles and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from proofdesk.errors import PermissionDenied


class Role(StrEnum):
    """What a token may do. Scoped roles carry a ``subject_id``; staff roles act platform-wide."""

    BUYER = "buyer"
    MERCHANT = "merchant"
    REVIEWER = "reviewer"
    TECHNICIAN = "technician"
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    AGENT = "agent"


#: Roles of platform staff (not scoped to a buyer, merchant or technician).
STAFF_ROLES: Final = frozenset({Role.REVIEWER, Role.ADMIN, Role.DISPATCHER, Role.AGENT})
#: Roles that must name the buyer/merchant/technician they act for.
SCOPED_ROLES: Final = frozenset({Role.BUYER, Role.MERCHANT, Role.TECHNICIAN})


@dataclass(frozen=True)
class Principal:
    """The caller: a role, the id it acts for (buyer/merchant/technician id, None for staff) and its token."""

    role: Role
    subject_id: str | None
    token_id: str | None = None
    name: str = ""

    @property
    def actor(self) -> str:
        """How audit events name this caller: ``role:subject`` or ``role:token`` (never personal data)."""
        return f"{self.role.value}:{self.subject_id or self.token_id or 'system'}"

    @property
    def is_staff(self) -> bool:
        """Reviewer, admin, dispatcher or agent."""
        return self.role in STAFF_ROLES


SYSTEM: Final = Principal(Role.ADMIN, None, None, "system")


def require(principal: Principal, *roles: Role) -> None:
    """Raise PermissionDenied unless ``principal`` has one of ``roles`` (admin always passes)."""
    if principal.role is Role.ADMIN or principal.role in roles:
        return
    allowed = ", ".join(r.value for r in roles)
    raise PermissionDenied(f"role {principal.role.value} may not do this (needs {allowed})")
