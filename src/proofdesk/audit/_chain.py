"""Implementation of :mod:`proofdesk.audit` (see its docstring)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from proofdesk.audit._models import AuditEvent
from proofdesk.db import utcnow

GENESIS_HASH: Final = "0" * 64
_LOCK_KEY: Final = 0x5052_4F4F_4644_4B31 & 0x7FFF_FFFF_FFFF_FFFF  # "PROOFDK1", a fixed advisory-lock key


def _canonical_time(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, no spaces, UTF-8)."""
    body = {
        "seq": seq,
        "at": _canonical_time(at),
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def append(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one event at the end of the chain, in the caller's transaction (committed with it).

    ``data`` must be JSON-serialisable and must not contain personal data in clear (ids and masked values
    only): the log is kept forever.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    session.flush()  # earlier appends of this session must be visible to the query below
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    # Round-trip through JSON so what we hash is exactly what the database will give back.
    payload: dict[str, Any] = json.loads(json.dumps(dict(data or {}), default=str))
    at = utcnow()
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=payload,
        prev_hash=prev,
        hash=event_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            data=payload,
            prev_hash=prev,
        ),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainResult:
    """Outcome of :func:`verify_chain`."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head_hash: str = GENESIS_HASH

    def describe(self) -> str:
        """One line for humans."""
        if self.ok:
            return f"audit chain intact: {self.checked} events, head {self.head_hash[:16]}"
        return f"audit chain broken at event {self.first_broken_seq}: {self.reason} ({self.checked} checked)"


def verify_chain(session: Session, *, batch: int = 1000) -> ChainResult:
    """Recompute every hash and link in order; report the first event that does not verify."""
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for event in session.scalars(stmt):
        if event.seq != expected_seq:
            return ChainResult(
                False, checked, expected_seq, f"event {expected_seq} is missing (next is {event.seq})", prev
            )
        if event.prev_hash != prev:
            return ChainResult(False, checked, event.seq, "link to the previous event does not match", prev)
        recomputed = event_hash(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainResult(False, checked, event.seq, "content does not match its stored hash", prev)
        prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return ChainResult(True, checked, head_hash=prev)


def events_for(session: Session, subject_type: str, subject_id: str) -> Sequence[AuditEvent]:
    """The events about one subject, oldest first (audit-trail excerpts for reports and the console)."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.seq)
    )
    return list(session.scalars(stmt))
