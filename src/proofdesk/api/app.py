"""``create_app(settings)``: the FastAPI application (see :mod:`proofdesk.api`)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from proofdesk.api import error_handlers
from proofdesk.api.routes import health, repair
from proofdesk.config import Settings
from proofdesk.services import Services, build_services


def _routers() -> list[APIRouter]:
    # One line per router; other engineers add theirs here.
    return [health.router, repair.router]


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


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """Build the API for ``settings`` (or around an existing services bundle). Does not run migrations."""
    bundle = services or build_services(settings)
    owned = services is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            bundle.close()

    app = FastAPI(
        title="Proofdesk",
        version="0.1.0",
        summary="After-sales cases: claims, evidence checks, merchant responses, review and appeals.",
        lifespan=lifespan,
    )
    app.state.services = bundle
    app.state.settings = settings
    error_handlers.install(app)
    for router in _routers():
        app.include_router(router)
    _mount_console(app, bundle)
    return app
