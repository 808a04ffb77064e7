"""Implementation of :mod:`proofdesk.store` (see its docstring)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from proofdesk.config import Settings
from proofdesk.errors import IntegrityError, InvalidSettings, NotFound

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    """True for 64 lowercase hex characters."""
    return bool(_SHA256.fullmatch(value))


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed, write-once object store."""

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data``; return its SHA-256 hex address (idempotent)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored at ``sha256``, verified; NotFound or IntegrityError."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether an object is stored at ``sha256``."""
        ...

    def open(self, sha256: str) -> Path:
        """A local path to the stored object (for libraries that want a file, e.g. PyAV); not verified."""
        ...


class LocalBlobStore:
    """Blobs in a local folder: ``root/ab/cd/<sha256>``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise NotFound(f"not a content address: {sha256[:80]!r}", code="bad_address")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, content_type: str = "application/octet-stream") -> str:  # noqa: ARG002
        """Store ``data`` (``content_type`` is kept by the caller's database row, not here)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest  # write-once: same bytes, same address, nothing to do
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o444)
            os.replace(tmp_name, path)  # atomic; a concurrent writer of the same bytes writes the same content
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """Read and verify."""
        path = self._path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"no stored object {sha256}") from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise IntegrityError(f"stored object {sha256} was altered (its bytes now hash to {actual})")
        return data

    def exists(self, sha256: str) -> bool:
        """Whether the object is stored."""
        return self._path(sha256).is_file()

    def open(self, sha256: str) -> Path:
        """Path of the stored object; NotFound if absent."""
        path = self._path(sha256)
        if not path.is_file():
            raise NotFound(f"no stored object {sha256}")
        return path


def make_blob_store(settings: Settings) -> BlobStore:
    """The configured store: ``blob_url`` unset -> ``settings.evidence_dir``; ``file://`` or a path -> that folder."""
    url = settings.blob_url
    if url is None:
        return LocalBlobStore(settings.evidence_dir)
    if url.startswith("file://"):
        return LocalBlobStore(url.removeprefix("file://"))
    if "://" in url:
        raise InvalidSettings(f"unsupported blob_url {url!r}: only local folders (file://) are implemented")
    return LocalBlobStore(url)
