"""Untrusted upload intake: photo or video, validated before anything is stored; video keyframes (PyAV).

Photos go through :func:`proofdesk.evidence.read_evidence` (format sniffed from bytes, byte/pixel/metadata
limits, full decode), so a wrong type, a truncated file or a decompression bomb is refused with a typed
error before a single byte is written. Videos are recognised by their container signature (MP4/MOV,
Matroska/WebM, AVI) and must open in PyAV with at least one video stream.

:func:`keyframes` samples frames of a packing video (about one per second, at most ``limit``, decoded with
PyAV and re-encoded as JPEG) so they can be indexed as references for the ``reference`` check.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final, Literal

import av
import numpy as np
from PIL import Image

from proofdesk.config import EvidenceLimits
from proofdesk.errors import CorruptEvidence, EvidenceTooLarge, UnsupportedFormat
from proofdesk.evidence import Evidence, read_evidence, sniff_format

_IMAGE_TYPES: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "TIFF": "image/tiff",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "AVIF": "image/avif",
}
MAX_VIDEO_SECONDS: Final = 600.0


@dataclass(frozen=True)
class Upload:
    """One uploaded file as received (name and declared type are untrusted)."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class AcceptedFile:
    """An upload that passed validation."""

    name: str
    data: bytes
    kind: Literal["photo", "video"]
    content_type: str
    evidence: Evidence | None = None


def sniff_video(data: bytes) -> str | None:
    """Container type from the first bytes, or None."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload"
    return "".join(c for c in base if c.isprintable())[:200]


def accept_upload(upload: Upload, limits: EvidenceLimits, *, allow_video: bool = True) -> AcceptedFile:
    """Validate one upload; raises UnsupportedFormat, CorruptEvidence or EvidenceTooLarge."""
    name = _safe_name(upload.name)
    data = upload.data
    if len(data) > limits.max_bytes:
        raise EvidenceTooLarge(f"{name}: {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    if not data:
        raise CorruptEvidence(f"{name}: empty file")
    fmt = sniff_format(data)
    if fmt is not None:
        evidence = read_evidence(data, name=name, limits=limits)
        return AcceptedFile(
            name, data, "photo", _IMAGE_TYPES.get(evidence.format, "application/octet-stream"), evidence
        )
    video_type = sniff_video(data)
    if video_type is None or not allow_video:
        kinds = "a photo or a video (MP4, MOV, WebM, AVI)" if allow_video else "a photo"
        raise UnsupportedFormat(f"{name}: not {kinds}")
    _probe_video(name, data)
    return AcceptedFile(name, data, "video", video_type)


def _probe_video(name: str, data: bytes) -> None:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise CorruptEvidence(f"{name}: the file has no video stream")
            duration = container.duration / 1_000_000 if container.duration else None
            if duration is not None and duration > MAX_VIDEO_SECONDS:
                raise EvidenceTooLarge(f"{name}: {duration:.0f} s of video exceeds {MAX_VIDEO_SECONDS:.0f} s")
            for _frame in container.decode(video=0):
                return  # one decodable frame is enough to accept it
            raise CorruptEvidence(f"{name}: no decodable video frame")
    except av.error.FFmpegError as exc:
        raise CorruptEvidence(f"{name}: cannot read video: {exc}") from exc


@dataclass(frozen=True)
class Keyframe:
    """A frame of a video as JPEG bytes, with its time."""

    time_s: float
    jpeg: bytes


def keyframes(data: bytes, *, every_s: float = 1.0, limit: int = 12, max_side: int = 1280) -> list[Keyframe]:
    """Frames about ``every_s`` apart (the first frame always), at most ``limit``, longer side ``max_side``."""
    frames: list[Keyframe] = []
    next_t = 0.0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else len(frames) * every_s
                if t + 1e-6 < next_t:
                    continue
                image = Image.fromarray(frame.to_ndarray(format="rgb24"))
                image.thumbnail((max_side, max_side))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="JPEG", quality=92)
                frames.append(Keyframe(t, buffer.getvalue()))
                next_t = t + every_s
                if len(frames) >= limit:
                    break
    except av.error.FFmpegError as exc:
        raise CorruptEvidence(f"cannot decode video: {exc}") from exc
    return frames


def encode_video(frames: list[np.ndarray], *, fps: int = 10, codec: str = "mpeg4") -> bytes:
    """Encode RGB frames as an MP4 (tests and demo data make packing videos with it)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        height, width = frames[0].shape[:2]
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
