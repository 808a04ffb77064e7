"""Evidence storage: content-addressed, write-once, verified on read (application layer, DESIGN.md §6).

Every uploaded photo, video and derived frame is stored once under the SHA-256 of its bytes. ``put`` returns
that address; storing the same bytes again is a no-op that returns the same address; a stored object is
never overwritten. ``get`` re-hashes what it reads and raises :class:`~proofdesk.errors.IntegrityError` when
the bytes no longer match their address, so a tampered or bit-rotten file can never reach a check or a
reviewer unnoticed. Content types are recorded by the caller (the evidence rows in the database);
:class:`LocalBlobStore` stores bytes only.

- :class:`BlobStore`: the protocol services depend on.
- :class:`LocalBlobStore`: the embedded default, ``settings.evidence_dir`` with two levels of fan-out folders
  (``ab/cd/abcd…``); writes go to a temporary file in the same folder, are fsynced and renamed into place
  (atomic), so a crash never leaves a half-written object under a valid address. Addresses are validated
  as 64 lowercase hex characters before any path is built, which rules out path tricks (``..``, ``/``).
- :func:`make_blob_store` builds the store configured in Settings (only the local folder is implemented;
  an S3-compatible store is future work and ``blob_url`` values other than a folder are refused).
"""

from __future__ import annotations

from proofdesk.store._local import BlobStore, LocalBlobStore, is_sha256, make_blob_store

__all__ = ["BlobStore", "LocalBlobStore", "is_sha256", "make_blob_store"]
