"""NovelAI "stealth" metadata: the PNG text fields hidden in the least significant bits of the alpha channel.

Layout (reference/provenance.md §3.3): alpha LSBs read column-major; a 15-byte magic ``stealth_pngcomp``
(gzip) or ``stealth_pnginfo`` (plain), a 32-bit big-endian payload length in bits, then the payload: JSON of
the PNG text fields (``Software``, ``Source``, ``Comment``, ...). It survives metadata strippers that keep
pixels, which is why it is read even when no text chunk is left. Only RGBA/LA files are looked at; the RGB
variants of the A1111 extension are not read.
"""

from __future__ import annotations

import io
import json
import zlib
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from proofdesk.checks.provenance._signals import SCORE_AI_METADATA, Signal, clip

_MAGICS: Final = {b"stealth_pngcomp": True, b"stealth_pnginfo": False}
_MAX_PAYLOAD_BITS: Final = 8 * 1024 * 1024 * 8  # 8 MB of payload at most
_MAX_INFLATED: Final = 4 * 1024 * 1024


def _alpha(data: bytes) -> npt.NDArray[np.uint8] | None:
    with Image.open(io.BytesIO(data)) as image:
        if "A" not in image.getbands():
            return None
        return np.asarray(image.getchannel("A"), dtype=np.uint8)


def _bytes(bits: npt.NDArray[np.uint8]) -> bytes:
    return bytes(np.packbits(bits[: bits.size // 8 * 8]))


def read_stealth(data: bytes) -> dict[str, Any] | None:
    """The hidden JSON object, or None. Raises ValueError when the magic is there but the payload is broken."""
    alpha = _alpha(data)
    if alpha is None or alpha.size < 200:
        return None
    # Column-major: transpose, then the first 120 bits decide whether to read any further.
    column_major = alpha.T.reshape(-1)
    head = (column_major[:152] & 1).astype(np.uint8)
    magic = _bytes(head[:120])
    if magic not in _MAGICS:
        return None
    length = int.from_bytes(_bytes(head[120:152]), "big")
    if length <= 0 or length > min(_MAX_PAYLOAD_BITS, column_major.size - 152):
        raise ValueError(f"payload length {length} bits does not fit the image")
    payload = _bytes((column_major[152 : 152 + length] & 1).astype(np.uint8))
    if _MAGICS[magic]:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        payload = inflater.decompress(payload, _MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise ValueError("gzip payload larger than 4 MB")
    try:
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"payload is not JSON ({type(exc).__name__})") from exc
    return obj if isinstance(obj, dict) else {"value": obj}


def stealth_signals(data: bytes, mode: str) -> list[Signal]:
    """A NovelAI signal if the alpha LSBs carry the stealth metadata."""
    if mode not in ("RGBA", "LA", "PA", "P"):
        return []
    source = "PNG alpha-channel LSB (NovelAI stealth)"
    try:
        obj = read_stealth(data)
    except (ValueError, OSError, zlib.error, EOFError) as exc:
        return [Signal("malformed", "none", 0.1, source, clip(str(exc)), f"stealth metadata magic found but {exc}")]
    if obj is None:
        return []
    tool = str(obj.get("Software") or obj.get("Source") or "NovelAI")
    return [Signal("generator", "ai_generated", SCORE_AI_METADATA, source, clip(obj),
                   f"NovelAI stealth metadata in the alpha channel ({clip(tool, 60)})", {"tool": "NovelAI"})]
