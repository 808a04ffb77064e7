"""Implementation of :mod:`proofdesk.banks` (see its docstring)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from proofdesk.checks.base import ReuseHit
from proofdesk.errors import UserInputError
from proofdesk.evidence import Evidence
from proofdesk.signals.index import FaissIVFIndex, HashIndex, load_index, make_index
from proofdesk.signals.pdq import (
    DIHEDRAL_NAMES,
    HASH_BYTES,
    MATCH_DISTANCE,
    MIN_QUALITY,
    PDQHash,
    hamming,
    pdq_dihedral,
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

#: A negative-bank entry suppresses photos within this distance of it (same as the PDQ match threshold).
DEFAULT_NEGATIVE_DISTANCE: Final = MATCH_DISTANCE


class BankSource(StrEnum):
    """Where a banked photo came from."""

    CLAIM = "claim"
    LISTING = "listing"


@dataclass(frozen=True)
class BankEntry:
    """One banked photo: its PDQ hash and the minimum needed to explain a hit (no personal data).

    ``buyer`` is the buyer's platform pseudonym (``proofdesk.credit.BuyerPseudonymizer``), never a raw id,
    because banks are shared across merchants.
    """

    source: BankSource
    ref: str  # claim id (claim photos) or listing image id (listing photos)
    pdq: bytes
    quality: int
    merchant_id: str
    buyer: str | None = None
    evidence_sha256: str | None = None
    added_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if len(self.pdq) != HASH_BYTES:
            raise UserInputError(f"PDQ hash must be {HASH_BYTES} bytes", code="invalid_hash")
        if self.source is BankSource.CLAIM and not self.buyer:
            raise UserInputError("a claim photo is banked with its buyer pseudonym", code="invalid_bank_entry")
        if not self.ref or not self.merchant_id:
            raise UserInputError("bank entries need a ref and a merchant id", code="invalid_bank_entry")


@dataclass(frozen=True)
class NegativeEntry:
    """A known image whose matches are false alarms (a stock photo many shops and buyers use)."""

    pdq: bytes
    label: str
    max_distance: int = DEFAULT_NEGATIVE_DISTANCE
    added_by: str = "system"
    added_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if len(self.pdq) != HASH_BYTES:
            raise UserInputError(f"PDQ hash must be {HASH_BYTES} bytes", code="invalid_hash")
        if not self.label.strip():
            raise UserInputError("a negative-bank entry needs a label saying what it is", code="invalid_bank_entry")


@runtime_checkable
class BankStore(Protocol):
    """Durable storage of bank rows; row ids are increasing integers (they are the index ids).

    Implementations: :class:`MemoryBankStore` (tests, library use) and ``proofdesk.banks.sql.SQLBankStore``.
    """

    def add_entries(self, entries: Sequence[BankEntry]) -> list[int]:
        """Store rows, return their new ids (increasing)."""
        ...

    def entries_after(self, after_id: int, *, limit: int) -> list[tuple[int, BankEntry]]:
        """Rows with id > ``after_id`` in id order, at most ``limit``."""
        ...

    def get_entries(self, ids: Sequence[int]) -> dict[int, BankEntry]:
        """Rows by id (missing ids are left out)."""
        ...

    def add_negative(self, entry: NegativeEntry) -> int:
        """Store a negative-bank row, return its id."""
        ...

    def negatives(self) -> list[NegativeEntry]:
        """All negative-bank rows."""
        ...


class MemoryBankStore:
    """A :class:`BankStore` in a list: for tests, benchmarks and library use without a database."""

    def __init__(self) -> None:
        self._rows: list[BankEntry] = []
        self._negatives: list[NegativeEntry] = []
        self._lock = threading.Lock()

    def add_entries(self, entries: Sequence[BankEntry]) -> list[int]:
        """Append rows; ids are 1-based positions."""
        with self._lock:
            start = len(self._rows)
            self._rows.extend(entries)
            return list(range(start + 1, start + 1 + len(entries)))

    def entries_after(self, after_id: int, *, limit: int) -> list[tuple[int, BankEntry]]:
        """Rows with id > ``after_id``."""
        with self._lock:
            chunk = self._rows[after_id : after_id + limit]
        return [(after_id + 1 + i, e) for i, e in enumerate(chunk)]

    def get_entries(self, ids: Sequence[int]) -> dict[int, BankEntry]:
        """Rows by id."""
        with self._lock:
            return {i: self._rows[i - 1] for i in ids if 0 < i <= len(self._rows)}

    def add_negative(self, entry: NegativeEntry) -> int:
        """Append a negative row."""
        with self._lock:
            self._negatives.append(entry)
            return len(self._negatives)

    def negatives(self) -> list[NegativeEntry]:
        """All negative rows."""
        with self._lock:
            return list(self._negatives)


@dataclass(frozen=True)
class _Hit:
    row_id: int
    distance: int
    transform: str


class ReuseBanks:
    """The positive banks (claim photos, listing photos) and the negative bank, searchable by PDQ.

    One object per process. The hash index lives in memory and is brought up to date from the store before
    every lookup (:meth:`refresh` reads only rows newer than the last one seen), so a photo banked by another
    worker process is found by the next lookup here. Use :meth:`for_claim` to get the
    :class:`~proofdesk.checks.base.HashBank` the ``reuse`` check needs.
    """

    def __init__(
        self,
        store: BankStore,
        *,
        index_kind: str = "auto",
        min_quality: int = MIN_QUALITY,
        dihedral: bool = True,
        refresh_batch: int = 50_000,
        ivf_threshold: int = 1_000_000,
        ivf_params: Mapping[str, int] | None = None,
    ) -> None:
        self.store = store
        self.min_quality = min_quality
        #: Query with all eight rotations/flips of the claim (PDQ computes them in one pass; FAISS scans once).
        self.dihedral = dihedral
        #: "auto": exact FAISS flat until ``ivf_threshold`` hashes, then rebuilt once as FAISS IVF, because a flat
        #: scan of 10 M hashes takes tens of ms per hash (x8 for the dihedral variants; BENCHMARKS.md "banks").
        self._auto = index_kind == "auto"
        self._ivf_threshold = ivf_threshold
        # nprobe 64 of 1,024 cells: at 10 M hashes it found every match exact search finds (recall 1.000 vs 0.993
        # at nprobe 16) for a query p99 of 4.6 ms on an idle 2-core machine (BENCHMARKS.md "banks"). A missed
        # reused photo costs more than 3 ms.
        self._ivf_params = dict(ivf_params) if ivf_params is not None else {"nlist": 1024, "nprobe": 64}
        self._index: HashIndex = make_index("faiss_flat" if self._auto else index_kind)
        self._last_id = 0
        self._batch = refresh_batch
        self._lock = threading.Lock()
        #: Row ids skipped by a refresh (not yet committed when read), with when they were first missed.
        self._gaps: dict[int, float] = {}
        self._max_gaps = 100_000
        #: How long a skipped id is looked for again (longer than any insert transaction stays open).
        self.gap_ttl_s = 600.0

    def __len__(self) -> int:
        return len(self._index)

    # -- writing -------------------------------------------------------------------------------------------
    def add_claim_photo(
        self, evidence: Evidence, *, claim_id: str, buyer: str, merchant_id: str, pdq: PDQHash | None = None
    ) -> int | None:
        """Bank one claim photo. Returns the row id, or None when the photo is too flat to hash reliably."""
        h = pdq or pdq_dihedral(evidence)[0]
        if h.quality < self.min_quality:
            return None
        entry = BankEntry(
            BankSource.CLAIM, claim_id, h.value, h.quality, merchant_id, buyer=buyer, evidence_sha256=evidence.sha256
        )
        return self.store.add_entries([entry])[0]

    def add_listing_photo(
        self, evidence: Evidence, *, listing_image_id: str, merchant_id: str, pdq: PDQHash | None = None
    ) -> int | None:
        """Bank one listing image of a merchant (None when too flat to hash reliably)."""
        h = pdq or pdq_dihedral(evidence)[0]
        if h.quality < self.min_quality:
            return None
        entry = BankEntry(
            BankSource.LISTING, listing_image_id, h.value, h.quality, merchant_id, evidence_sha256=evidence.sha256
        )
        return self.store.add_entries([entry])[0]

    def add_negative(
        self, evidence: Evidence, *, label: str, added_by: str, max_distance: int = DEFAULT_NEGATIVE_DISTANCE
    ) -> int:
        """Put a known false-match image (e.g. a stock photo) in the negative bank."""
        h = pdq_dihedral(evidence)[0]
        return self.store.add_negative(NegativeEntry(h.value, label, max_distance=max_distance, added_by=added_by))

    # -- reading -------------------------------------------------------------------------------------------
    def refresh(self) -> int:
        """Index rows added to the store since the last refresh; returns how many were added.

        Ids skipped over are remembered as gaps and looked up again on later refreshes for
        ``gap_ttl_s``: on PostgreSQL a transaction can take id 7, commit after the one that took id 8, and
        would otherwise never be indexed here. (A rolled-back insert leaves a gap that simply expires.)
        """
        added = 0
        with self._lock:
            added += self._fill_gaps()
            while True:
                rows = self.store.entries_after(self._last_id, limit=self._batch)
                if not rows:
                    return added
                ids = [i for i, _ in rows]
                if rows[-1][0] - self._last_id != len(rows):
                    now = time.monotonic()
                    missing = set(range(self._last_id + 1, rows[-1][0] + 1)).difference(ids)
                    for gap in list(missing)[: self._max_gaps - len(self._gaps)]:
                        self._gaps.setdefault(gap, now)
                self._add_rows(rows)
                self._last_id = rows[-1][0]
                added += len(rows)

    def _add_rows(self, rows: Sequence[tuple[int, BankEntry]]) -> None:
        self._index.add([e.pdq for _, e in rows], [i for i, _ in rows])
        if self._auto and self._index.kind == "faiss_flat" and len(self._index) >= self._ivf_threshold:
            self._index = FaissIVFIndex.build(self._index.hashes(), self._index.ids, **self._ivf_params)

    def _fill_gaps(self) -> int:
        if not self._gaps:
            return 0
        found = self.store.get_entries(sorted(self._gaps))
        if found:
            self._add_rows(sorted(found.items()))
        deadline = time.monotonic() - self.gap_ttl_s
        self._gaps = {i: t for i, t in self._gaps.items() if i not in found and t > deadline}
        return len(found)

    def save_snapshot(self, path: str | Path) -> None:
        """Write the in-memory index (ids are row ids) so a new process starts from it, not from 10 M rows."""
        with self._lock:
            self._index.save(path)

    def load_snapshot(self, path: str | Path) -> None:
        """Start from a snapshot written by :meth:`save_snapshot`; the next refresh reads only newer rows.

        Raises :class:`~proofdesk.signals.index.CorruptIndex` for a damaged or other-version file (then
        simply do not load it: the store is the source of truth and a refresh rebuilds everything).
        """
        index = load_index(path)
        with self._lock:
            self._index = index
            self._last_id = int(index.ids.max()) if len(index) else 0
            self._gaps = {}

    @property
    def index_kind(self) -> str:
        """The kind of the in-memory index right now."""
        return self._index.kind

    def search(self, hashes: Sequence[PDQHash], *, max_distance: int) -> list[_Hit]:
        """Stored rows within ``max_distance`` of any of ``hashes`` (dihedral variants), best per row."""
        self.refresh()
        names = DIHEDRAL_NAMES if len(hashes) == len(DIHEDRAL_NAMES) else ("original",) * len(hashes)
        best: dict[int, _Hit] = {}
        with self._lock:  # never query FAISS while another thread adds to it
            results = self._index.query_many([h.value for h in hashes], max_distance=max_distance)
        for name, matches in zip(names, results, strict=True):
            for m in matches:
                current = best.get(m.id)
                if current is None or m.distance < current.distance:
                    best[m.id] = _Hit(m.id, m.distance, name)
        return sorted(best.values(), key=lambda h: (h.distance, h.row_id))

    def negative_match(self, pdq: bytes, negatives: Sequence[NegativeEntry] | None = None) -> NegativeEntry | None:
        """The closest negative-bank entry that covers ``pdq``, if any."""
        candidates = self.store.negatives() if negatives is None else negatives
        best: tuple[int, NegativeEntry] | None = None
        for entry in candidates:
            d = hamming(entry.pdq, pdq)
            if d <= entry.max_distance and (best is None or d < best[0]):
                best = (d, entry)
        return best[1] if best else None

    def for_claim(self, *, claim_id: str | None, buyer: str | None, merchant_id: str | None) -> ClaimBankView:
        """The :class:`~proofdesk.checks.base.HashBank` for one claim: hits are labelled relative to it."""
        return ClaimBankView(self, claim_id=claim_id, buyer=buyer, merchant_id=merchant_id)


class ClaimBankView:
    """:class:`~proofdesk.checks.base.HashBank` seen from one claim (its buyer, its merchant).

    Photos of the claim itself are never hits (they may already be banked when a check re-runs).
    """

    def __init__(self, banks: ReuseBanks, *, claim_id: str | None, buyer: str | None, merchant_id: str | None) -> None:
        self.banks = banks
        self.claim_id = claim_id
        self.buyer = buyer
        self.merchant_id = merchant_id

    def lookup(self, claim: Evidence, *, max_distance: int) -> Sequence[ReuseHit]:
        """Banked photos within ``max_distance`` of ``claim`` (any rotation/flip), nearest first."""
        variants = pdq_dihedral(claim)
        if variants[0].quality < self.banks.min_quality:
            return []  # a flat image matches everything flat: no evidence either way
        queries = variants if self.banks.dihedral else variants[:1]
        hits = self.banks.search(queries, max_distance=max_distance)
        rows = self.banks.store.get_entries([h.row_id for h in hits])
        negatives = self.banks.store.negatives()
        claim_negative = self.banks.negative_match(variants[0].value, negatives)
        out: list[ReuseHit] = []
        for hit in hits:
            entry = rows.get(hit.row_id)
            if entry is None:
                continue
            if entry.source is BankSource.CLAIM and self.claim_id is not None and entry.ref == self.claim_id:
                continue
            negative = claim_negative or self.banks.negative_match(entry.pdq, negatives)
            out.append(
                ReuseHit(
                    distance=hit.distance,
                    source=entry.source.value,
                    ref=entry.ref,
                    same_buyer=None if self.buyer is None or entry.buyer is None else entry.buyer == self.buyer,
                    same_merchant=None if self.merchant_id is None else entry.merchant_id == self.merchant_id,
                    suppressed=negative is not None,
                    suppressed_by=negative.label if negative else None,
                    transform=hit.transform,
                    added_at=entry.added_at.isoformat(),
                )
            )
        return out
