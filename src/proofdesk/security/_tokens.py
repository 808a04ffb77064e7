"""API tokens: issue, authenticate, revoke."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from proofdesk import audit
from proofdesk.db import new_id, utcnow
from proofdesk.errors import NotAuthenticated, NotFound, UserInputError
from proofdesk.security._models import ApiToken
from proofdesk.security._principal import SCOPED_ROLES, Principal, Role

_PREFIX = "pd"


def _digest(secret: str) -> str:
    # The secret has 256 bits of entropy, so a plain SHA-256 (no slow KDF) is enough to make a leaked
    # table useless, and it keeps authentication to one indexed lookup plus a constant-time compare.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown once and never stored."""

    token: str
    principal: Principal


def issue_token(
    session: Session, role: Role, subject_id: str | None, *, name: str = "", issued_by: str = "admin:system"
) -> IssuedToken:
    """Create a token for ``role`` acting for ``subject_id`` (required for buyer, merchant, technician)."""
    role = Role(role)
    if role in SCOPED_ROLES and not subject_id:
        raise UserInputError(f"a {role.value} token must name the {role.value} it acts for", code="missing_subject")
    token_id = new_id()
    secret = secrets.token_urlsafe(32)
    row = ApiToken(
        id=token_id,
        name=name or role.value,
        role=role.value,
        subject_id=subject_id,
        token_hash=_digest(secret),
        created_at=utcnow(),
    )
    session.add(row)
    audit.append(
        session,
        issued_by,
        "token.issued",
        "api_token",
        token_id,
        {"role": role.value, "subject_id": subject_id, "name": row.name},
    )
    return IssuedToken(f"{_PREFIX}_{token_id}_{secret}", Principal(role, subject_id, token_id, row.name))


def authenticate(session: Session, token: str) -> Principal:
    """The principal of a valid, unrevoked token; NotAuthenticated otherwise (same message for every cause)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or len(parts[1]) != 32:
        raise NotAuthenticated("invalid API token")
    row = session.get(ApiToken, parts[1])
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, _digest(parts[2])):
        raise NotAuthenticated("invalid API token")
    return Principal(Role(row.role), row.subject_id, row.id, row.name)


def revoke_token(session: Session, token_id: str, *, revoked_by: str) -> None:
    """Revoke a token (idempotent)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.append(session, revoked_by, "token.revoked", "api_token", token_id, {})
