"""Administration: API tokens."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from proofdesk.api.deps import PrincipalDep, ServicesDep
from proofdesk.api.error_handlers import error_responses
from proofdesk.security import Role, issue_token, require, revoke_token

router = APIRouter(tags=["admin"])


class TokenIn(BaseModel):
    """A token to issue."""

    role: Role
    subject_id: str | None = Field(default=None, description="buyer / merchant / technician id for scoped roles")
    name: str = Field(default="", max_length=200)


class TokenOut(BaseModel):
    """The new token: shown once, only its hash is stored."""

    id: str
    token: str
    role: Role
    subject_id: str | None


@router.post(
    "/tokens",
    summary="Issue an API token (admin)",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenOut,
    responses=error_responses(400, 401, 403, 422),
)
def create_token(body: TokenIn, principal: PrincipalDep, services: ServicesDep) -> TokenOut:
    """Scoped roles must name the subject they act for."""
    require(principal, Role.ADMIN)
    with services.session() as session:
        issued = issue_token(session, body.role, body.subject_id, name=body.name, issued_by=principal.actor)
    assert issued.principal.token_id is not None
    return TokenOut(id=issued.principal.token_id, token=issued.token, role=body.role, subject_id=body.subject_id)


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
def delete_token(token_id: str, principal: PrincipalDep, services: ServicesDep) -> None:
    """Idempotent."""
    require(principal, Role.ADMIN)
    with services.session() as session:
        revoke_token(session, token_id, revoked_by=principal.actor)
