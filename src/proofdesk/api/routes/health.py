"""``GET /healthz``: 200 when the database answers, 503 otherwise."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from proofdesk.api.deps import ServicesDep
from proofdesk.api.error_handlers import error_responses
from proofdesk.errors import DependencyUnavailable

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Readiness."""

    status: str
    database: str


@router.get("/healthz", summary="Readiness probe", response_model=Health, responses=error_responses(503))
def healthz(services: ServicesDep) -> Health:
    """200 when the database answers a query."""
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise DependencyUnavailable(f"database unavailable: {type(exc).__name__}") from exc
    return Health(status="ok", database=services.engine.dialect.name)
