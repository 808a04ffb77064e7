"""Persistence foundation: the SQLAlchemy ``Base``, engines, sessions and migrations (application layer).

Every table of the application layer (cases, audit, security, repair, credit, banks) is declared on
:class:`Base`, whose naming convention gives constraints stable names so Alembic migrations are reproducible
on SQLite and PostgreSQL alike.

Where it sits: delivery (``proofdesk.api``, ``proofdesk.console``, ``proofdesk.cli serve``, workers) builds one
engine with :func:`make_engine` from :class:`~proofdesk.config.Settings`, one session factory with
:func:`make_session_factory`, and runs :func:`migrate` at start-up. Services receive sessions; nothing here
creates an engine at import time.

Embedded default: a SQLite file ``proofdesk.sqlite3`` in ``settings.data_dir`` (WAL mode, foreign keys on,
``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing on a lock upgrade).
Production: PostgreSQL through ``settings.database_url`` (``postgresql+psycopg://...``).

Migrations live inside the package (``proofdesk/db/migrations``, ``versions/`` there) so they work from an
installed wheel; the Alembic configuration is built in code (:func:`alembic_config`), no ``alembic.ini``
needed. To add a migration, put a file in ``src/proofdesk/db/migrations/versions/`` whose ``down_revision`` is
the current head (``alembic_config(settings)`` + ``alembic.command.revision`` or copy an existing file).
:func:`migrate` upgrades to *all* heads, so two engineers adding revisions in parallel never block start-up.

Column helpers: :class:`UTCDateTime` (timezone-aware in, timezone-aware UTC out, also on SQLite),
:func:`new_id` (32-hex random ids used as primary keys), :func:`utcnow`.
"""

from __future__ import annotations

from proofdesk.db._core import (
    NAMING_CONVENTION,
    Base,
    UTCDateTime,
    alembic_config,
    make_engine,
    make_session_factory,
    migrate,
    new_id,
    session_scope,
    utcnow,
)

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "UTCDateTime",
    "alembic_config",
    "make_engine",
    "make_session_factory",
    "migrate",
    "new_id",
    "session_scope",
    "utcnow",
]
