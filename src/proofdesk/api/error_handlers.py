"""The one place where Proofdesk errors become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from proofdesk import errors

#: Most specific first: the first matching class decides the status.
STATUS: tuple[tuple[type[errors.ProofdeskError], int], ...] = (
    (errors.UnsupportedFormat, 415),
    (errors.EvidenceTooLarge, 413),
    (errors.CorruptEvidence, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidTransition, 409),
    (errors.UserInputError, 400),
    (errors.PermissionDenied, 403),
    (errors.NotAuthenticated, 401),
    (errors.DependencyUnavailable, 503),
    (errors.IntegrityError, 500),
    (errors.ProofdeskError, 500),
)


class ErrorBody(BaseModel):
    """Machine-readable error."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body."""

    error: ErrorBody


def status_for(error: errors.ProofdeskError) -> int:
    """HTTP status of an error."""
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error body."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _http_code(status: int) -> str:
    return {
        400: "bad_request",
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        415: "unsupported_media_type",
    }.get(status, "http_error")


async def _proofdesk_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ProofdeskError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems: list[str] = []
    for item in exc.errors():
        where = ".".join(str(part) for part in item.get("loc", ()))
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(problems) or "invalid request")


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail
    headers = dict(exc.headers) if exc.headers else None
    code = _http_code(exc.status_code)
    if exc.status_code == 400 and "parsing the body" in str(detail):
        code = "bad_multipart"  # Starlette could not parse the multipart/form body
    return error_response(exc.status_code, code, str(detail), headers)


def install(app: FastAPI) -> None:
    """Register the handlers."""
    app.add_exception_handler(errors.ProofdeskError, _proofdesk_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


#: For ``responses=`` in route declarations: the documented error statuses.
def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the given error statuses, all with :class:`ErrorResponse` bodies."""
    text = {
        400: "Bad request",
        401: "Missing or invalid API token",
        403: "Role or scope does not allow this",
        404: "Not found or not visible to the caller",
        409: "Conflict or invalid state transition",
        413: "Upload too large",
        415: "Unsupported file type",
        422: "Invalid request or corrupt file",
        503: "A dependency is unavailable",
    }
    return {s: {"model": ErrorResponse, "description": text.get(s, "Error")} for s in statuses}
