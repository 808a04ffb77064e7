"""Typed dependencies for routes: the services bundle and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from proofdesk.errors import NotAuthenticated
from proofdesk.security import Principal, authenticate
from proofdesk.services import Services

_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer pd_…`")


def get_services(request: Request) -> Services:
    """The bundle built by ``create_app``."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("missing API token (Authorization: Bearer pd_…)")
    with services.session() as session:
        return authenticate(session, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
