"""Implementation of :mod:`proofdesk.services` (see its docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from proofdesk.cases import CaseDeps, CaseService, CatalogService
from proofdesk.cases.catalogues import MerchantCatalogues
from proofdesk.config import Settings
from proofdesk.db import make_engine, make_session_factory, session_scope
from proofdesk.jobs import Job, JobDispatcher, QueuedOnlyDispatcher, run_job
from proofdesk.policy import default_policy, load_policy
from proofdesk.security import PersonalDataCipher
from proofdesk.services import _integrations
from proofdesk.store import BlobStore, make_blob_store


@dataclass
class Services:
    """Everything a request, a console page or a worker needs."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: BlobStore
    cipher: PersonalDataCipher
    deps: CaseDeps
    catalog: CatalogService
    cases: CaseService

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work (commit on success, rollback on error)."""
        with session_scope(self.sessions) as session:
            yield session

    @property
    def dispatcher(self) -> JobDispatcher:
        """Where committed jobs go."""
        return self.deps.dispatcher

    def use_dispatcher(self, dispatcher: JobDispatcher) -> None:
        """Switch the job transport (the API and workers do this at start-up)."""
        self.deps.dispatcher = dispatcher

    def handlers(self) -> dict[str, Callable[[Job], None]]:
        """Job kind -> handler."""
        return {
            "check_evidence": self.cases.handle_check,
            "extract_keyframes": self.catalog.handle_extract_keyframes,
            "index_listing": self.catalog.handle_index_listing,
        }

    def run_job(self, job_id: str) -> str:
        """Claim and execute one job (what every worker calls)."""
        return run_job(self.sessions, job_id, self.handlers(), on_failure=self.cases.on_job_failed)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_services(settings: Settings, *, dispatcher: JobDispatcher | None = None) -> Services:
    """Wire the services for ``settings`` (does not migrate; see :func:`proofdesk.db.migrate`).

    Jobs stay ``queued`` until a dispatcher is set (``use_dispatcher``) or recovery sends them.
    """
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    store = make_blob_store(settings)
    cipher = PersonalDataCipher.from_settings(settings)
    policy = load_policy(settings.policy_file) if settings.policy_file else default_policy()
    deps = CaseDeps(
        settings=settings,
        sessions=sessions,
        store=store,
        cipher=cipher,
        dispatcher=dispatcher or QueuedOnlyDispatcher(),
        policy=policy,
        catalogues=MerchantCatalogues(settings.data_dir / "catalogues"),
    )
    _integrations.wire(deps)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        cipher=cipher,
        deps=deps,
        catalog=CatalogService(deps),
        cases=CaseService(deps),
    )
