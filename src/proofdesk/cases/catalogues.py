"""Each merchant's listing images as an indexed reference catalogue (``proofdesk.signals.catalogue``).

Listing images are indexed once (PDQ hashes, visual words, SIFT features) by an ``index_listing`` job when
the listing is created; the ``reference`` check of every later claim against that merchant then asks the
catalogue for its best candidates among *all* the merchant's listings (a claim photo taken from another of
the shop's listings is found too), while the order's own listing images and packing-video keyframes are
still passed directly as ``context.references``.

Storage: one :class:`~proofdesk.signals.catalogue.ReferenceIndex` folder per merchant under
``data_dir/catalogues/<merchant_id>/``. Writers (index jobs, possibly in several worker processes) take an
exclusive ``flock`` on ``<merchant_id>.lock``; readers a shared one while opening. Opened catalogues are
cached per thread and reopened when ``catalogue.json`` changes. Limit: the folder is local to the machine,
so with workers on several machines it must live on shared storage (or be rebuilt per machine).
"""

from __future__ import annotations

import fcntl
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from proofdesk.evidence import Evidence
from proofdesk.signals.catalogue import ReferenceIndex
from proofdesk.signals.index import CorruptIndex

_ID = re.compile(r"[0-9a-f]{32}")


class MerchantCatalogues:
    """Per-merchant reference catalogues in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()

    def folder(self, merchant_id: str) -> Path:
        """The catalogue folder of a merchant (ids are validated: no path tricks)."""
        if not _ID.fullmatch(merchant_id):
            raise ValueError(f"not a merchant id: {merchant_id!r}")
        return self.root / merchant_id

    @contextmanager
    def _locked(self, merchant_id: str, *, exclusive: bool) -> Iterator[Path]:
        folder = self.folder(merchant_id)
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f"{merchant_id}.lock").open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield folder
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def add(self, merchant_id: str, references: Sequence[tuple[str, Evidence]]) -> int:
        """Index references not yet in the merchant's catalogue (idempotent); returns how many were added."""
        with self._locked(merchant_id, exclusive=True) as folder:
            index = ReferenceIndex.open(folder) if (folder / "catalogue.json").is_file() else ReferenceIndex(folder)
            added = 0
            for ref_id, evidence in references:
                if ref_id not in index:
                    index.add(evidence, ref_id)
                    added += 1
            if added:
                # Small catalogues retrain the vocabulary as they grow (cheap, and better words); large ones
                # keep theirs and only add the new references' words.
                index.build_words(retrain=len(index) <= 200)
                index.save()
            return added

    def open(self, merchant_id: str) -> ReferenceIndex | None:
        """The merchant's catalogue as last saved, or None if it has none (or it cannot be read)."""
        folder = self.folder(merchant_id)
        header = folder / "catalogue.json"
        try:
            stamp = header.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        cache: dict[str, tuple[int, ReferenceIndex]] = getattr(self._local, "cache", None) or {}
        self._local.cache = cache
        hit = cache.get(merchant_id)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        with self._locked(merchant_id, exclusive=False):
            try:
                stamp = header.stat().st_mtime_ns
                index = ReferenceIndex.open(folder)
            except (CorruptIndex, FileNotFoundError):
                return None  # the check still has the order's own references; a re-index repairs it
        cache[merchant_id] = (stamp, index)
        return index
