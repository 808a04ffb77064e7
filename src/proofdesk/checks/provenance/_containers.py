"""Cheap structural walks of JPEG / PNG / WebP containers, so the gates never scan a 10 MB file byte by byte.

A substring search over a 12-MP JPEG costs milliseconds per marker; walking the JPEG header segments (stop at
SOS), the PNG chunk list or the RIFF chunk list touches a few hundred bytes. Every walk is bounded and
tolerant: a broken length ends the walk, it never raises.
"""

from __future__ import annotations

from typing import Final

_HEIF_C2PA_UUID: Final = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
_MAX_STEPS: Final = 100_000


def jpeg_header_end(data: bytes) -> int:
    """Offset of the first SOS segment (or of the last readable header byte): APPn and COM live before it."""
    pos, steps = 2, 0
    size = len(data)
    while pos + 4 <= size and steps < _MAX_STEPS:
        steps += 1
        if data[pos] != 0xFF:
            return pos
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xDA:
            return pos
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return pos
        pos += 2 + length
    return min(pos, size)


def jpeg_segments(data: bytes, wanted: int) -> list[bytes]:
    """Payloads of every header segment with marker ``wanted`` (e.g. 0xEB for APP11)."""
    out: list[bytes] = []
    pos, end = 2, jpeg_header_end(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            break
        if marker == wanted:
            out.append(data[pos + 4 : pos + 2 + length])
        pos += 2 + length
    return out


def png_chunk_types(data: bytes) -> list[bytes]:
    """The chunk types of a PNG, in order, up to IEND (or the first broken length)."""
    types: list[bytes] = []
    pos, size = 8, len(data)
    while pos + 8 <= size and len(types) < _MAX_STEPS:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        types.append(kind)
        if kind == b"IEND":
            break
        pos += 12 + length
    return types


def riff_chunk_types(data: bytes) -> list[bytes]:
    """Top-level chunk types of a RIFF/WebP file."""
    types: list[bytes] = []
    pos, size = 12, len(data)
    while pos + 8 <= size and len(types) < _MAX_STEPS:
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        types.append(kind)
        pos += 8 + length + (length & 1)
    return types


def has_c2pa(data: bytes, fmt: str) -> bool:
    """Could the file embed a C2PA manifest store? JPEG APP11 JUMBF, PNG caBX, WebP C2PA, HEIF/TIFF by scan."""
    if fmt == "JPEG":
        return any(b"c2pa" in segment[:64] or b"jumb" in segment[:64] for segment in jpeg_segments(data, 0xEB))
    if fmt == "PNG":
        return b"caBX" in png_chunk_types(data)
    if fmt == "WEBP":
        return b"C2PA" in riff_chunk_types(data)
    return _HEIF_C2PA_UUID in data or b"c2pa" in data
