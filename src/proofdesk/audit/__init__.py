"""The audit log: append-only events in a hash chain (application layer, DESIGN.md §6, issue 5 §6).

Every state change of a case, visit or token, and every read of personal data, calls :func:`append` inside
the same transaction as the change itself, so either both are stored or neither. Each event stores the
SHA-256 of its canonical JSON form together with the hash of the event before it; changing, deleting or
re-ordering any stored event breaks the chain from that point, and :func:`verify_chain` names the first
event whose stored hash or link does not match (``proofdesk audit verify`` prints it and exits 1).

Appends are serialised per database (PostgreSQL: a transaction-scoped advisory lock; SQLite: the
``BEGIN IMMEDIATE`` write lock every transaction takes) so concurrent writers never fork the chain; the
unique constraint on ``prev_hash`` is the last line of defence.

Usage::

    from proofdesk import audit
    audit.append(session, actor="reviewer:ab12", action="case.decided", subject_type="case",
                 subject_id=case.id, data={"outcome": "approved", "reason_code": "R01"})
    result = audit.verify_chain(session)   # result.ok, result.checked, result.first_broken_seq, result.reason
"""

from __future__ import annotations

from proofdesk.audit._chain import GENESIS_HASH, ChainResult, append, event_hash, events_for, verify_chain
from proofdesk.audit._models import AuditEvent

__all__ = ["GENESIS_HASH", "AuditEvent", "ChainResult", "append", "event_hash", "events_for", "verify_chain"]
