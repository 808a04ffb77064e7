"""``create_app(settings)``: the FastAPI application (see :mod:`proofdesk.api`)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response

from proofdesk.api import error_handlers
from proofdesk.api.routes import admin, cases, catalog, health, repair
from proofdesk.config import Settings
from proofdesk.services import Services, build_services
from proofdesk.workers import JobBackend, Maintenance, make_job_backend


def _routers() -> list[APIRouter]:
    # One line per router; other engineers add theirs here.
    return [health.router, admin.router, catalog.router, cases.router, repair.router]


def _mount_console(app: FastAPI, services: Services) -> None:
    try:
        console = importlib.import_module("proofdesk.console")
    except ModuleNotFoundError as exc:
        if exc.name != "proofdesk.console":
            raise
        return
    mount = getattr(console, "mount_console", None)
    if mount is not None:
        mount(app, services)


def _limit_body(app: FastAPI, max_body: int) -> None:
    """Refuse a request whose declared body is larger than any valid upload, before reading it."""

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return error_handlers.error_response(413, "request_too_large", f"request body larger than {max_body} bytes")
        return await call_next(request)


def create_app(
    settings: Settings, *, services: Services | None = None, start_workers: bool = False, console: bool = True
) -> FastAPI:
    """Build the API for ``settings`` (or around an existing services bundle). Does not run migrations.

    ``start_workers``: run the configured job backend (local process pool, or Dramatiq sending) and the
    maintenance thread (window expiry, job recovery) for the app's lifetime, as ``proofdesk serve`` does.
    Without it, jobs are dispatched by whatever dispatcher ``services`` has (tests use inline execution).
    """
    bundle = services or build_services(settings)
    owned = services is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        backend: JobBackend | None = None
        maintenance: Maintenance | None = None
        if start_workers:
            backend = make_job_backend(settings)
            backend.start()
            bundle.use_dispatcher(backend)
            maintenance = Maintenance(bundle, backend)
            maintenance.start()
        try:
            yield
        finally:
            if maintenance is not None:
                maintenance.stop()
            if backend is not None:
                backend.stop()
            if owned:
                bundle.close()

    app = FastAPI(
        title="Proofdesk",
        version="0.1.0",
        summary="After-sales cases: claims, evidence checks, merchant responses, review and appeals.",
        description="Authenticate with `Authorization: Bearer pd_…` API tokens (see `proofdesk token issue`). "
        'Every error is `{"error": {"code", "message"}}` with a stable machine-readable code.',
        lifespan=lifespan,
    )
    app.state.services = bundle
    app.state.settings = settings
    error_handlers.install(app)
    _limit_body(app, settings.evidence.max_bytes * 12)
    for router in _routers():
        app.include_router(router)
    if console:
        _mount_console(app, bundle)
    return app
