"""What the case services share: settings, sessions, blob store, cipher, job dispatcher, policy, hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from proofdesk.cases.catalogues import MerchantCatalogues
from proofdesk.checks.base import HashBank
from proofdesk.config import Settings
from proofdesk.db import session_scope
from proofdesk.jobs import JobDispatcher
from proofdesk.policy import Policy
from proofdesk.security import PersonalDataCipher
from proofdesk.store import BlobStore


@dataclass
class CaseDeps:
    """Dependencies of :class:`~proofdesk.cases.CatalogService` and :class:`~proofdesk.cases.CaseService`."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: BlobStore
    cipher: PersonalDataCipher
    dispatcher: JobDispatcher
    policy: Policy
    #: Per-merchant reference catalogues (listing images indexed for retrieval); optional.
    catalogues: MerchantCatalogues | None = None
    #: Reuse banks (engineer D2's ``proofdesk.banks``) as the checks' HashBank, built per claim; optional.
    hash_bank_for: Callable[[Session, str], HashBank | None] | None = None
    #: Buyer standing for the policy ("good", "new", "unknown", "poor") and its explanation; optional.
    standing_for: Callable[[Session, str, str], tuple[str, str]] | None = None
    #: Called in the transaction of every outcome: (session, case_id, outcome, reason_code, actor), where
    #: outcome is auto_approved | approved | denied | appeal_approved | appeal_denied_upheld (buyer credit).
    outcome_hooks: list[Callable[[Session, str, str, str | None, str], None]] = field(default_factory=list)
    #: Called in the transaction that stores a buyer photo: (session, case_id, evidence) (reuse banks).
    photo_hooks: list[Callable[[Session, str, Any], None]] = field(default_factory=list)
    #: Called in the transaction that stores a listing image: (session, listing_image_id, merchant_id, evidence).
    listing_hooks: list[Callable[[Session, str, str, Any], None]] = field(default_factory=list)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work."""
        with session_scope(self.sessions) as session:
            yield session

    def dispatch(self, job_ids: Sequence[str]) -> None:
        """Send committed jobs to the workers (after the commit, never inside it)."""
        if job_ids:
            self.dispatcher.dispatch(list(job_ids))
