"""SQL storage of buyer-credit outcomes on :class:`proofdesk.db.Base` (application layer).

Table ``credit_outcomes`` (migration ``v0102_credit_outcomes``). Rows are never updated except to set
``superseded_at`` when an appeal or correction replaces them, in the same transaction as the new row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from proofdesk.credit._credit import Outcome, OutcomeRecord
from proofdesk.db import Base, UTCDateTime, session_scope
from proofdesk.errors import Conflict, NotFound

__all__ = ["OutcomeRow", "SQLOutcomeStore"]


class OutcomeRow(Base):
    """One outcome record (see :class:`~proofdesk.credit.OutcomeRecord`)."""

    __tablename__ = "credit_outcomes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(64), index=True)
    buyer: Mapped[str] = mapped_column(String(64), index=True)
    merchant_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes: Mapped[str | None] = mapped_column(String(32), nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def to_record(self) -> OutcomeRecord:
        """The domain object."""
        return OutcomeRecord(
            id=self.id,
            claim_id=self.claim_id,
            buyer=self.buyer,
            merchant_id=self.merchant_id,
            outcome=Outcome(self.outcome),
            decided_at=self.decided_at,
            actor=self.actor,
            reason_code=self.reason_code,
            recorded_at=self.recorded_at,
            supersedes=self.supersedes,
            superseded_at=self.superseded_at,
        )


class SQLOutcomeStore:
    """:class:`~proofdesk.credit.OutcomeStore` over a session factory; :meth:`add_in` joins a caller's session."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @staticmethod
    def add_in(session: Session, record: OutcomeRecord, *, supersede: str | None = None) -> None:
        """Insert in an open session; the supersede is a guarded UPDATE so two concurrent appeals cannot both win."""
        if supersede is not None:
            result = session.execute(
                update(OutcomeRow)
                .where(OutcomeRow.id == supersede, OutcomeRow.superseded_at.is_(None))
                .values(superseded_at=record.recorded_at)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                exists = session.get(OutcomeRow, supersede) is not None
                if exists:
                    raise Conflict(f"outcome {supersede} was already replaced")
                raise NotFound(f"no outcome record {supersede}")
        session.add(
            OutcomeRow(
                id=record.id,
                claim_id=record.claim_id,
                buyer=record.buyer,
                merchant_id=record.merchant_id,
                outcome=record.outcome.value,
                decided_at=record.decided_at,
                actor=record.actor,
                reason_code=record.reason_code,
                recorded_at=record.recorded_at,
                supersedes=record.supersedes,
                superseded_at=record.superseded_at,
            )
        )
        session.flush()

    def add(self, record: OutcomeRecord, *, supersede: str | None = None) -> None:
        """Insert (and supersede) in one transaction."""
        with session_scope(self._sessions) as session:
            self.add_in(session, record, supersede=supersede)

    def current_for_claim(self, claim_id: str) -> OutcomeRecord | None:
        """The counting record of a claim."""
        with session_scope(self._sessions) as session:
            row = session.scalars(
                select(OutcomeRow).where(OutcomeRow.claim_id == claim_id, OutcomeRow.superseded_at.is_(None))
            ).first()
            return row.to_record() if row else None

    def history(self, claim_id: str) -> list[OutcomeRecord]:
        """All records of a claim, oldest first."""
        with session_scope(self._sessions) as session:
            rows = session.scalars(
                select(OutcomeRow).where(OutcomeRow.claim_id == claim_id).order_by(OutcomeRow.recorded_at)
            ).all()
            return [r.to_record() for r in rows]

    def for_buyer(self, buyer: str, *, merchant_id: str | None = None) -> list[OutcomeRecord]:
        """Current records of a buyer pseudonym."""
        query = select(OutcomeRow).where(OutcomeRow.buyer == buyer, OutcomeRow.superseded_at.is_(None))
        if merchant_id is not None:
            query = query.where(OutcomeRow.merchant_id == merchant_id)
        with session_scope(self._sessions) as session:
            return [r.to_record() for r in session.scalars(query.order_by(OutcomeRow.decided_at)).all()]
