"""Alembic environment: the URL comes from the Settings object that :func:`proofdesk.db.migrate` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from proofdesk.db import Base, make_engine
from proofdesk.db.models import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection if given, else an engine built from the Settings."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = config.attributes["settings"]
    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run proofdesk.db.migrate(settings)")
run_migrations_online()
