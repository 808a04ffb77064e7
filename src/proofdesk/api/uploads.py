"""Reading multipart uploads with limits, before anything reaches a service."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import UploadFile

from proofdesk.cases import Upload
from proofdesk.errors import EvidenceTooLarge

_CHUNK = 1024 * 1024


async def read_uploads(files: Sequence[UploadFile] | None, *, max_bytes: int) -> list[Upload]:
    """Read every file, refusing one larger than ``max_bytes`` without reading it all."""
    out: list[Upload] = []
    for file in files or ():
        size = getattr(file, "size", None)
        name = file.filename or "upload"
        if size is not None and size > max_bytes:
            raise EvidenceTooLarge(f"{name}: {size} bytes exceeds the limit of {max_bytes}")
        parts: list[bytes] = []
        total = 0
        while chunk := await file.read(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise EvidenceTooLarge(f"{name}: more than {max_bytes} bytes")
            parts.append(chunk)
        out.append(Upload(name, b"".join(parts), file.content_type or "application/octet-stream"))
    return out
