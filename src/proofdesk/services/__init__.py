"""The application services, wired once from Settings (application layer; the thing delivery holds).

:func:`build_services` turns a :class:`~proofdesk.config.Settings` into a :class:`Services` bundle: the engine,
the session factory, the blob store and the personal-data cipher, plus the domain services built on them.
The API (``create_app``), the console, the CLI and the workers each build one bundle at start-up and pass it
down; no module keeps a global one. Call :meth:`Services.close` on shutdown.

Usage::

    services = build_services(settings)
    with services.session() as session:      # one unit of work: commit on success, rollback on error
        ...
"""

from __future__ import annotations

from proofdesk.services._bundle import Services, build_services

__all__ = ["Services", "build_services"]
