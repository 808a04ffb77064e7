"""SQL storage of the reuse banks on :class:`proofdesk.db.Base` (application layer).

Tables ``reuse_bank_entries`` (positive banks: claim and listing photos) and ``reuse_bank_negatives``;
migration ``v0101_reuse_banks``. The integer primary key doubles as the hash-index id, so a worker process
catches up with rows banked elsewhere by reading ``id > last_seen`` (an index range scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from proofdesk.banks._bank import BankEntry, BankSource, NegativeEntry
from proofdesk.db import Base, UTCDateTime, session_scope

__all__ = ["BankEntryRow", "NegativeEntryRow", "SQLBankStore"]

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY


class BankEntryRow(Base):
    """One banked photo (see :class:`~proofdesk.banks.BankEntry`)."""

    __tablename__ = "reuse_bank_entries"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str] = mapped_column(String(64), index=True)
    pdq: Mapped[bytes] = mapped_column(LargeBinary(32))
    quality: Mapped[int] = mapped_column(SmallInteger)
    merchant_id: Mapped[str] = mapped_column(String(64))
    buyer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def to_entry(self) -> BankEntry:
        """The domain object."""
        return BankEntry(
            BankSource(self.source),
            self.ref,
            bytes(self.pdq),
            self.quality,
            self.merchant_id,
            buyer=self.buyer,
            evidence_sha256=self.evidence_sha256,
            added_at=self.added_at,
        )


class NegativeEntryRow(Base):
    """One negative-bank image (see :class:`~proofdesk.banks.NegativeEntry`)."""

    __tablename__ = "reuse_bank_negatives"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    pdq: Mapped[bytes] = mapped_column(LargeBinary(32))
    label: Mapped[str] = mapped_column(String(200))
    max_distance: Mapped[int] = mapped_column(SmallInteger)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SQLBankStore:
    """:class:`~proofdesk.banks.BankStore` over a SQLAlchemy session factory (SQLite or PostgreSQL).

    Each call is its own unit of work. To bank photos inside the caller's transaction (together with the
    claim row), use :meth:`add_entries_in` with that session.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @staticmethod
    def add_entries_in(session: Session, entries: Sequence[BankEntry]) -> list[int]:
        """Insert rows in an open session (flushes to get ids; the caller commits)."""
        rows = [
            BankEntryRow(
                source=e.source.value,
                ref=e.ref,
                pdq=e.pdq,
                quality=e.quality,
                merchant_id=e.merchant_id,
                buyer=e.buyer,
                evidence_sha256=e.evidence_sha256,
                added_at=e.added_at,
            )
            for e in entries
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]

    def add_entries(self, entries: Sequence[BankEntry]) -> list[int]:
        """Insert rows in their own transaction."""
        with session_scope(self._sessions) as session:
            return self.add_entries_in(session, entries)

    def entries_after(self, after_id: int, *, limit: int) -> list[tuple[int, BankEntry]]:
        """Rows with id > ``after_id`` in id order."""
        with session_scope(self._sessions) as session:
            rows = session.scalars(
                select(BankEntryRow).where(BankEntryRow.id > after_id).order_by(BankEntryRow.id).limit(limit)
            ).all()
            return [(r.id, r.to_entry()) for r in rows]

    def get_entries(self, ids: Sequence[int]) -> dict[int, BankEntry]:
        """Rows by id."""
        if not ids:
            return {}
        with session_scope(self._sessions) as session:
            rows = session.scalars(select(BankEntryRow).where(BankEntryRow.id.in_(list(ids)))).all()
            return {r.id: r.to_entry() for r in rows}

    def add_negative(self, entry: NegativeEntry) -> int:
        """Insert a negative-bank row."""
        with session_scope(self._sessions) as session:
            row = NegativeEntryRow(
                pdq=entry.pdq,
                label=entry.label,
                max_distance=entry.max_distance,
                added_by=entry.added_by,
                added_at=entry.added_at,
            )
            session.add(row)
            session.flush()
            return row.id

    def negatives(self) -> list[NegativeEntry]:
        """All negative-bank rows."""
        with session_scope(self._sessions) as session:
            rows = session.scalars(select(NegativeEntryRow).order_by(NegativeEntryRow.id)).all()
            return [
                NegativeEntry(
                    bytes(r.pdq), r.label, max_distance=r.max_distance, added_by=r.added_by, added_at=r.added_at
                )
                for r in rows
            ]
