"""Buyer credit and reuse banks (engineer D2's ``proofdesk.credit`` and ``proofdesk.banks``) wired into cases.

Kept in one place so the case service depends only on the small hooks of :class:`~proofdesk.cases.CaseDeps`:

- Reuse banks: every buyer photo and every listing image is banked (PDQ hash, pseudonymous buyer, merchant)
  *in the transaction that stores it*, so a photo is in the bank exactly when its row exists; the ``reuse``
  check gets a :class:`~proofdesk.banks.ClaimBankView` for its claim as ``context.hash_bank``.
- Buyer credit: reviewer decisions become outcomes (deny for a forgery reason -> ``confirmed_forged``; other
  denials -> ``declined_other``; approvals -> ``upheld``; an appeal that succeeds replaces the outcome with
  ``overturned_on_appeal``). Automatic approvals are not recorded: credit counts only what people decided.
  The policy's ``buyer_standing`` is the platform-wide credit band (``new`` when the buyer has no outcome).

All writes and reads go through the caller's session (never a second connection inside an open
transaction: on SQLite that would wait for our own write lock).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofdesk.banks import BankEntry, BankSource, ReuseBanks
from proofdesk.banks.sql import SQLBankStore
from proofdesk.cases import CaseDeps
from proofdesk.cases.models import Case
from proofdesk.checks.base import HashBank
from proofdesk.credit import BuyerPseudonymizer, CreditService, Outcome, OutcomeRecord, compute_credit
from proofdesk.credit.sql import OutcomeRow, SQLOutcomeStore
from proofdesk.evidence import Evidence
from proofdesk.security import load_or_create_key
from proofdesk.signals.pdq import MIN_QUALITY, pdq_dihedral

#: Denial reasons that mean the evidence itself was forged or misleading (they cost the buyer credit).
FORGERY_REASONS: Final = frozenset({"evidence_altered", "photo_reused", "ai_generated", "not_the_item"})


class _SessionOutcomeStore:
    """D2's OutcomeStore protocol over one open session (so outcomes commit with the decision)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: OutcomeRecord, *, supersede: str | None = None) -> None:
        SQLOutcomeStore.add_in(self.session, record, supersede=supersede)

    def current_for_claim(self, claim_id: str) -> OutcomeRecord | None:
        row = self.session.scalars(
            select(OutcomeRow).where(OutcomeRow.claim_id == claim_id, OutcomeRow.superseded_at.is_(None))
        ).first()
        return row.to_record() if row else None

    def history(self, claim_id: str) -> list[OutcomeRecord]:
        rows = self.session.scalars(
            select(OutcomeRow).where(OutcomeRow.claim_id == claim_id).order_by(OutcomeRow.recorded_at)
        )
        return [r.to_record() for r in rows]

    def for_buyer(self, buyer: str, *, merchant_id: str | None = None) -> list[OutcomeRecord]:
        query = select(OutcomeRow).where(OutcomeRow.buyer == buyer, OutcomeRow.superseded_at.is_(None))
        if merchant_id is not None:
            query = query.where(OutcomeRow.merchant_id == merchant_id)
        return [r.to_record() for r in self.session.scalars(query.order_by(OutcomeRow.decided_at))]


class Integrations:
    """The banks and the credit service of one process, and the hooks that feed them."""

    def __init__(self, deps: CaseDeps) -> None:
        self.pseudonyms = BuyerPseudonymizer.from_secret(load_or_create_key(deps.settings).decode("ascii"))
        self.banks = ReuseBanks(SQLBankStore(deps.sessions))

    # -- reuse banks ----------------------------------------------------------------------------------
    def hash_bank_for(self, session: Session, case_id: str) -> HashBank | None:
        case = session.get(Case, case_id)
        if case is None:
            return None
        return self.banks.for_claim(
            claim_id=case.id, buyer=self.pseudonyms.pseudonym(case.buyer_id), merchant_id=case.merchant_id
        )

    def bank_claim_photo(self, session: Session, case_id: str, evidence: Any) -> None:
        case = session.get(Case, case_id)
        if case is None or not isinstance(evidence, Evidence):
            return
        h = pdq_dihedral(evidence)[0]
        if h.quality < MIN_QUALITY:
            return  # too flat to hash reliably: it would match every other flat photo
        SQLBankStore.add_entries_in(
            session,
            [
                BankEntry(
                    BankSource.CLAIM,
                    case.id,
                    h.value,
                    h.quality,
                    case.merchant_id,
                    buyer=self.pseudonyms.pseudonym(case.buyer_id),
                    evidence_sha256=evidence.sha256,
                )
            ],
        )

    def bank_listing_photo(self, session: Session, image_id: str, merchant_id: str, evidence: Any) -> None:
        if not isinstance(evidence, Evidence):
            return
        h = pdq_dihedral(evidence)[0]
        if h.quality < MIN_QUALITY:
            return
        SQLBankStore.add_entries_in(
            session,
            [BankEntry(BankSource.LISTING, image_id, h.value, h.quality, merchant_id, evidence_sha256=evidence.sha256)],
        )

    # -- buyer credit ---------------------------------------------------------------------------------
    def standing_for(self, session: Session, buyer_id: str, merchant_id: str) -> tuple[str, str]:
        del merchant_id  # the policy reads the platform-wide standing
        records = _SessionOutcomeStore(session).for_buyer(self.pseudonyms.pseudonym(buyer_id))
        if not records:
            return "new", "no decided claims yet"
        report = compute_credit(records, at=datetime.now(UTC), scope="platform")
        return report.standing.value, "; ".join(report.explanation)

    def record_outcome(self, session: Session, case_id: str, outcome: str, reason_code: str | None, actor: str) -> None:
        if outcome == "auto_approved":
            return  # not decided by a person
        case = session.get(Case, case_id)
        if case is None:
            return
        credit = CreditService(_SessionOutcomeStore(session))
        if outcome in ("appeal_approved", "appeal_denied_upheld"):
            credit.appeal(
                claim_id=case_id, overturned=outcome == "appeal_approved", actor=actor, reason_code=reason_code
            )
            return
        if outcome == "approved":
            kind = Outcome.UPHELD
        else:
            kind = Outcome.CONFIRMED_FORGED if reason_code in FORGERY_REASONS else Outcome.DECLINED_OTHER
        credit.record_outcome(
            claim_id=case_id,
            buyer=self.pseudonyms.pseudonym(case.buyer_id),
            merchant_id=case.merchant_id,
            outcome=kind,
            actor=actor,
            reason_code=reason_code,
        )


def wire(deps: CaseDeps) -> Integrations:
    """Attach the banks and credit hooks to ``deps``."""
    integrations = Integrations(deps)
    deps.hash_bank_for = integrations.hash_bank_for
    deps.standing_for = integrations.standing_for
    deps.photo_hooks.append(integrations.bank_claim_photo)
    deps.listing_hooks.append(integrations.bank_listing_photo)
    deps.outcome_hooks.append(integrations.record_outcome)
    return integrations
