"""Implementation of :mod:`proofdesk.credit` (see its docstring)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol, runtime_checkable

from proofdesk.errors import Conflict, InvalidSettings, InvalidTransition, NotFound, UserInputError

__all__ = [
    "BuyerPseudonymizer",
    "CreditPolicy",
    "CreditReport",
    "CreditService",
    "MemoryOutcomeStore",
    "Outcome",
    "OutcomeRecord",
    "OutcomeStore",
    "Standing",
    "compute_credit",
]

_PSEUDONYM_CONTEXT: Final = b"proofdesk.credit.buyer-pseudonym/1"


class Outcome(StrEnum):
    """How a claim ended, as decided by people (never a raw check score)."""

    #: A reviewer confirmed the evidence was forged or misleading. The only outcome that lowers credit.
    CONFIRMED_FORGED = "confirmed_forged"
    #: The claim was accepted as genuine.
    UPHELD = "upheld"
    #: An earlier adverse decision was reversed on appeal; replaces it, counts like ``upheld``.
    OVERTURNED_ON_APPEAL = "overturned_on_appeal"
    #: Declined for a reason that says nothing about honesty (out of warranty, outside the return window).
    DECLINED_OTHER = "declined_other"


class Standing(StrEnum):
    """Coarse band of the score, what the routing policy reads."""

    GOOD = "good"
    WATCH = "watch"
    POOR = "poor"


@dataclass(frozen=True)
class CreditPolicy:
    """How outcomes turn into a score. Versioned: every report names the version it was computed with."""

    version: str = "1"
    #: A confirmed-forged outcome weighs half as much after this many days (exponential decay).
    half_life_days: float = 90.0
    #: The window the explanation counts in ("2 confirmed forged claims in 90 days").
    window_days: int = 90
    #: Points one fresh confirmed-forged outcome takes off the score of 100.
    forged_penalty: float = 35.0
    good_min: float = 80.0
    watch_min: float = 50.0

    def __post_init__(self) -> None:
        if self.half_life_days <= 0 or self.window_days <= 0 or self.forged_penalty < 0:
            raise InvalidSettings("credit policy: half_life_days and window_days must be > 0, forged_penalty >= 0")
        if not 0 <= self.watch_min <= self.good_min <= 100:
            raise InvalidSettings("credit policy: need 0 <= watch_min <= good_min <= 100")


@dataclass(frozen=True)
class OutcomeRecord:
    """One decided outcome of one claim. Replaced, never edited: corrections add a new record."""

    id: str
    claim_id: str
    buyer: str  # pseudonym (BuyerPseudonymizer), never the raw buyer id
    merchant_id: str
    outcome: Outcome
    decided_at: datetime
    actor: str
    reason_code: str | None = None
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The record this one replaced (an appeal or a correction), if any.
    supersedes: str | None = None
    #: Set on the old record when a newer one replaces it; superseded records do not count.
    superseded_at: datetime | None = None

    @property
    def current(self) -> bool:
        """Whether this record counts (it has not been replaced)."""
        return self.superseded_at is None


@dataclass(frozen=True)
class CreditReport:
    """A buyer's credit in one scope, with the reasons in words. Contains no claim data of other merchants."""

    scope: str  # "merchant:<id>" or "platform"
    score: float  # 0..100, 100 = nothing against the buyer
    standing: Standing
    forged_in_window: int
    forged_total: int
    upheld_total: int
    overturned_total: int
    explanation: tuple[str, ...]
    computed_at: datetime
    policy_version: str

    def to_json(self) -> dict[str, object]:
        """Serialise for the API and stored decisions."""
        return {
            "scope": self.scope,
            "score": round(self.score, 1),
            "standing": self.standing.value,
            "forged_in_window": self.forged_in_window,
            "forged_total": self.forged_total,
            "upheld_total": self.upheld_total,
            "overturned_total": self.overturned_total,
            "explanation": list(self.explanation),
            "computed_at": self.computed_at.isoformat(),
            "policy_version": self.policy_version,
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def compute_credit(
    records: Sequence[OutcomeRecord], *, at: datetime, scope: str, policy: CreditPolicy | None = None
) -> CreditReport:
    """Score from the current outcome records of one buyer in one scope (pure; the service fetches them).

    score = 100 - forged_penalty * sum(0.5 ** (age_days / half_life_days)) over confirmed-forged outcomes,
    clamped to [0, 100]. Upheld and overturned outcomes never lower it; they are reported for context.
    Outcomes decided after ``at`` are ignored, so a report can be recomputed for any past moment.
    """
    policy = policy or CreditPolicy()
    if at.tzinfo is None:
        raise UserInputError("credit time must be timezone-aware", code="invalid_time")
    live = [r for r in records if r.current and r.decided_at <= at]
    forged = [r for r in live if r.outcome is Outcome.CONFIRMED_FORGED]
    window_start = at - timedelta(days=policy.window_days)
    in_window = [r for r in forged if r.decided_at >= window_start]
    weight = sum(math.pow(0.5, (at - r.decided_at).total_seconds() / 86400 / policy.half_life_days) for r in forged)
    score = max(0.0, min(100.0, 100.0 - policy.forged_penalty * weight))
    standing = (
        Standing.GOOD if score >= policy.good_min else Standing.WATCH if score >= policy.watch_min else Standing.POOR
    )
    upheld = sum(r.outcome is Outcome.UPHELD for r in live)
    overturned = sum(r.outcome is Outcome.OVERTURNED_ON_APPEAL for r in live)
    lines: list[str] = []
    if in_window:
        lines.append(f"{_plural(len(in_window), 'confirmed forged claim')} in {policy.window_days} days")
    older = len(forged) - len(in_window)
    if older:
        lines.append(
            f"{_plural(older, 'older confirmed forged claim')} (weight halves every {policy.half_life_days:g} days)"
        )
    if not forged:
        lines.append("no confirmed forged claims")
    if upheld:
        lines.append(f"{_plural(upheld, 'claim')} upheld as genuine")
    if overturned:
        lines.append(f"{_plural(overturned, 'decision')} overturned on appeal (not counted against the buyer)")
    return CreditReport(
        scope=scope,
        score=score,
        standing=standing,
        forged_in_window=len(in_window),
        forged_total=len(forged),
        upheld_total=upheld,
        overturned_total=overturned,
        explanation=tuple(lines),
        computed_at=at,
        policy_version=policy.version,
    )


class BuyerPseudonymizer:
    """Keyed HMAC-SHA256 of a buyer id: the same buyer gets the same pseudonym across merchants.

    Without the platform key nobody can tell which buyer a pseudonym belongs to, nor test a guessed id
    (unlike a plain hash). Rotating the key unlinks all history, on purpose.
    """

    def __init__(self, platform_key: bytes) -> None:
        if len(platform_key) < 16:
            raise InvalidSettings("the platform pseudonym key must be at least 16 bytes")
        # A key for this purpose only, so the secret is never used raw for two jobs.
        self._key = hmac.new(platform_key, _PSEUDONYM_CONTEXT, hashlib.sha256).digest()

    @classmethod
    def from_secret(cls, secret: str) -> BuyerPseudonymizer:
        """From the platform secret (``Settings.secret_key``)."""
        return cls(secret.encode("utf-8"))

    def pseudonym(self, buyer_id: str) -> str:
        """``bp_`` + 32 hex digits (128 bits)."""
        if not buyer_id:
            raise UserInputError("empty buyer id", code="invalid_buyer")
        return "bp_" + hmac.new(self._key, buyer_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


@runtime_checkable
class OutcomeStore(Protocol):
    """Durable outcome records (``MemoryOutcomeStore`` here, ``proofdesk.credit.sql.SQLOutcomeStore``)."""

    def add(self, record: OutcomeRecord, *, supersede: str | None = None) -> None:
        """Insert ``record``; if ``supersede`` names a current record, mark it superseded in the same unit."""
        ...

    def current_for_claim(self, claim_id: str) -> OutcomeRecord | None:
        """The counting record of a claim, if any."""
        ...

    def history(self, claim_id: str) -> list[OutcomeRecord]:
        """Every record of a claim, oldest first (superseded ones included)."""
        ...

    def for_buyer(self, buyer: str, *, merchant_id: str | None = None) -> list[OutcomeRecord]:
        """Current records of a buyer pseudonym, optionally of one merchant."""
        ...


class MemoryOutcomeStore:
    """:class:`OutcomeStore` in memory (tests, library use)."""

    def __init__(self) -> None:
        self._records: list[OutcomeRecord] = []
        self._lock = threading.Lock()

    def add(self, record: OutcomeRecord, *, supersede: str | None = None) -> None:
        """Insert, superseding atomically."""
        with self._lock:
            if supersede is not None:
                for i, old in enumerate(self._records):
                    if old.id == supersede:
                        if not old.current:
                            raise Conflict(f"outcome {supersede} was already replaced")
                        self._records[i] = replace(old, superseded_at=record.recorded_at)
                        break
                else:
                    raise NotFound(f"no outcome record {supersede}")
            self._records.append(record)

    def current_for_claim(self, claim_id: str) -> OutcomeRecord | None:
        """The counting record of a claim."""
        with self._lock:
            return next((r for r in self._records if r.claim_id == claim_id and r.current), None)

    def history(self, claim_id: str) -> list[OutcomeRecord]:
        """All records of a claim."""
        with self._lock:
            return [r for r in self._records if r.claim_id == claim_id]

    def for_buyer(self, buyer: str, *, merchant_id: str | None = None) -> list[OutcomeRecord]:
        """Current records of a buyer."""
        with self._lock:
            return [
                r
                for r in self._records
                if r.buyer == buyer and r.current and (merchant_id is None or r.merchant_id == merchant_id)
            ]


class CreditService:
    """Record outcomes, correct them on appeal, and compute a buyer's credit per merchant and platform-wide."""

    def __init__(
        self,
        store: OutcomeStore,
        *,
        policy: CreditPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.policy = policy or CreditPolicy()
        self._clock = clock

    def record_outcome(
        self,
        *,
        claim_id: str,
        buyer: str,
        merchant_id: str,
        outcome: Outcome,
        actor: str,
        decided_at: datetime | None = None,
        reason_code: str | None = None,
    ) -> OutcomeRecord:
        """The first decided outcome of a claim. A second one is a :class:`Conflict`: use :meth:`correct`."""
        if self.store.current_for_claim(claim_id) is not None:
            raise Conflict(f"claim {claim_id} already has an outcome; correct it instead")
        if outcome is Outcome.OVERTURNED_ON_APPEAL:
            raise UserInputError(
                "overturned_on_appeal replaces an earlier outcome: use appeal()", code="invalid_outcome"
            )
        record = self._new(claim_id, buyer, merchant_id, outcome, actor, decided_at, reason_code, None)
        self.store.add(record)
        return record

    def appeal(
        self,
        *,
        claim_id: str,
        overturned: bool,
        actor: str,
        decided_at: datetime | None = None,
        reason_code: str | None = None,
    ) -> OutcomeRecord:
        """Result of the buyer's appeal. If overturned, the old outcome stops counting; both stay in history."""
        current = self._current(claim_id)
        if current.outcome not in (Outcome.CONFIRMED_FORGED, Outcome.DECLINED_OTHER):
            raise InvalidTransition(f"claim {claim_id} is {current.outcome.value}: nothing adverse to appeal")
        if not overturned:
            return current
        return self.correct(
            claim_id=claim_id,
            outcome=Outcome.OVERTURNED_ON_APPEAL,
            actor=actor,
            decided_at=decided_at,
            reason_code=reason_code,
        )

    def correct(
        self,
        *,
        claim_id: str,
        outcome: Outcome,
        actor: str,
        decided_at: datetime | None = None,
        reason_code: str | None = None,
    ) -> OutcomeRecord:
        """Replace a claim's outcome (appeal, or a correction the buyer asked for); history is kept."""
        current = self._current(claim_id)
        record = self._new(
            claim_id, current.buyer, current.merchant_id, outcome, actor, decided_at, reason_code, current.id
        )
        self.store.add(record, supersede=current.id)
        return record

    def history(self, claim_id: str) -> list[OutcomeRecord]:
        """Every outcome of a claim, oldest first."""
        return self.store.history(claim_id)

    def credit(self, buyer: str, *, merchant_id: str | None = None, at: datetime | None = None) -> CreditReport:
        """Credit of a buyer pseudonym with one merchant, or platform-wide when ``merchant_id`` is None."""
        records = self.store.for_buyer(buyer, merchant_id=merchant_id)
        scope = f"merchant:{merchant_id}" if merchant_id is not None else "platform"
        return compute_credit(records, at=at or self._clock(), scope=scope, policy=self.policy)

    def _current(self, claim_id: str) -> OutcomeRecord:
        current = self.store.current_for_claim(claim_id)
        if current is None:
            raise NotFound(f"claim {claim_id} has no outcome to replace")
        return current

    def _new(
        self,
        claim_id: str,
        buyer: str,
        merchant_id: str,
        outcome: Outcome,
        actor: str,
        decided_at: datetime | None,
        reason_code: str | None,
        supersedes: str | None,
    ) -> OutcomeRecord:
        now = self._clock()
        decided = decided_at or now
        if decided.tzinfo is None:
            raise UserInputError("decided_at must be timezone-aware", code="invalid_time")
        if not claim_id or not buyer or not merchant_id or not actor:
            raise UserInputError("claim_id, buyer, merchant_id and actor are required", code="invalid_outcome")
        return OutcomeRecord(
            id=secrets.token_hex(16),
            claim_id=claim_id,
            buyer=buyer,
            merchant_id=merchant_id,
            outcome=Outcome(outcome),
            decided_at=decided,
            actor=actor,
            reason_code=reason_code,
            recorded_at=now,
            supersedes=supersedes,
        )
