"""The HTTP API (delivery layer): a thin FastAPI adapter over :mod:`proofdesk.services`.

:func:`create_app` builds the application for one :class:`~proofdesk.config.Settings` (no module-level app or
engine). Routes live in ``api/routes/`` and contain no business rules: they authenticate the caller
(``Authorization: Bearer pd_…`` API tokens, see :mod:`proofdesk.security`), call a service and shape the
response. Errors from :mod:`proofdesk.errors` become ``{"error": {"code", "message"}}`` with the status in
``api/error_handlers.py`` and nowhere else.

The console (``proofdesk.console``, engineer E) is mounted by ``create_app`` when that package is present:
it must expose ``mount_console(app: FastAPI, services: Services) -> None``. Other routers (e.g. repair) are
added with one ``include_router`` line in ``_routers()`` of ``api/app.py``.
"""

from __future__ import annotations

from proofdesk.api.app import create_app

__all__ = ["create_app"]
