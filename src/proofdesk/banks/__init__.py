"""Reuse banks: every claim photo and listing photo by PDQ hash, and a negative bank (application layer).

Where it sits: when a claim's evidence arrives, the case service asks ``banks.for_claim(...)`` for the
:class:`~proofdesk.checks.base.HashBank` it puts in :class:`~proofdesk.checks.base.CheckContext`; the
``reuse`` check (``proofdesk.checks.reuse``) looks the photo up there. After the check, the service banks
the claim's photos (:meth:`ReuseBanks.add_claim_photo`); listing ingestion banks listing images
(:meth:`ReuseBanks.add_listing_photo`). Reviewers put known false matches (stock photos) in the negative
bank (:meth:`ReuseBanks.add_negative`); hits on them are still shown but flagged ``suppressed``.

Storage is a small protocol (:class:`BankStore`): :class:`MemoryBankStore` here, ``SQLBankStore`` in
:mod:`proofdesk.banks.sql` on the shared database. Only pseudonymous, minimal data is stored: hash,
quality, claim or listing-image id, merchant id, buyer pseudonym, evidence sha256, time.
"""

from proofdesk.banks._bank import (
    DEFAULT_NEGATIVE_DISTANCE,
    BankEntry,
    BankSource,
    BankStore,
    ClaimBankView,
    MemoryBankStore,
    NegativeEntry,
    ReuseBanks,
)

__all__ = [
    "DEFAULT_NEGATIVE_DISTANCE",
    "BankEntry",
    "BankSource",
    "BankStore",
    "ClaimBankView",
    "MemoryBankStore",
    "NegativeEntry",
    "ReuseBanks",
]
