"""The web console (delivery layer): reviewer, merchant and buyer pages over the case service.

``proofdesk.api.create_app`` calls :func:`mount_console`, which puts the pages under ``/console`` and the
static files under ``/console/static``. Pages are rendered on the server (Jinja2), in English or Simplified
Chinese (``proofdesk.dossier.i18n``), and work without JavaScript; see ``app.py`` for the request flow and
``service_backend.py`` for how they reach the case service.
"""

from proofdesk.console.app import COOKIE, ConsoleConfig, build_router, demo_tokens_path, install, mount_console

__all__ = ["COOKIE", "ConsoleConfig", "build_router", "demo_tokens_path", "install", "mount_console"]
