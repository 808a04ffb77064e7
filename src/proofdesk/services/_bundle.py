"""Implementation of :mod:`proofdesk.services` (see its docstring)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from proofdesk.config import Settings
from proofdesk.db import make_engine, make_session_factory, session_scope
from proofdesk.security import PersonalDataCipher
from proofdesk.store import BlobStore, make_blob_store


@dataclass
class Services:
    """Everything a request, a console page or a worker needs."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    cipher: PersonalDataCipher

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work (commit on success, rollback on error)."""
        with session_scope(self.sessions) as session:
            yield session

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    """Wire the services for ``settings`` (does not migrate; see :func:`proofdesk.db.migrate`)."""
    engine = make_engine(settings)
    return Services(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        store=make_blob_store(settings),
        cipher=PersonalDataCipher.from_settings(settings),
    )
