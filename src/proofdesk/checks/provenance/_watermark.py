"""The open DWT-DCT ("dwtDct") invisible watermark of SD 1.x, SDXL and FLUX reference code: positive only.

A faithful, vectorised re-implementation of the decoder in ``invisible-watermark`` (``imwatermark/maxDct.py``,
MIT): the PyPI package hard-requires torch for an unrelated model, so we do not depend on it. Algorithm:
BGR -> YUV, take only U (scales [0, 36, 36], ``range(2)``), one-level Haar DWT, cut the LL band into 4x4
blocks in row-major order, and in each block read the largest-magnitude coefficient other than the first:
bit = ``(|v| mod 36) > 18``. Bits repeat cyclically over the blocks and each is decided by the mean vote.

A match needs a strict bit agreement (reference/provenance.md §3.1: unmarked images score 20-27/48, clean
marks 46-48/48, a q85 re-save 41/48): SDXL >= 44/48, FLUX >= 42/46, SD1 >= 125/136. SD2's 32-bit payload is
not decoded: its clean round-trip already fails (26/32), so it cannot carry a strict threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt
import pywt  # type: ignore[import-untyped]

_SCALE: Final = 36.0
_BLOCK: Final = 4


def _bits(value: int, length: int) -> tuple[int, ...]:
    return tuple(int(b) for b in format(value, f"0{length}b"))


def _byte_bits(payload: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(payload, dtype=np.uint8)))


@dataclass(frozen=True)
class Payload:
    """A known payload and its strict match threshold (number of equal bits)."""

    name: str
    bits: tuple[int, ...]
    threshold: int


#: Known payloads. FLUX's constant loses its two leading zeros through ``bin()[2:]``, hence 46 bits.
PAYLOADS: Final = (
    Payload("SDXL (StableDiffusionXLWatermarker)", _bits(0b101100111110110010010000011110111011000110011110, 48), 44),
    Payload("FLUX reference code", tuple(int(b) for b in bin(0b001010101111111010000111100111001111010100101110)[2:]),
            42),
    Payload("Stable Diffusion 1.x (StableDiffusionV1)", _byte_bits(b"StableDiffusionV1"), 125),
)


def block_bits(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The raw bit of every 4x4 LL block of the U channel, in the encoder's row-major block order."""
    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb[:rows, :cols]), cv2.COLOR_RGB2YUV)
    ll, _ = pywt.dwt2(yuv[:, :, 1].astype(np.float64), "haar")
    nr, nc = ll.shape[0] // _BLOCK, ll.shape[1] // _BLOCK
    blocks = ll[: nr * _BLOCK, : nc * _BLOCK].reshape(nr, _BLOCK, nc, _BLOCK).transpose(0, 2, 1, 3)
    flat = blocks.reshape(nr * nc, _BLOCK * _BLOCK)
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1
    val = np.abs(flat[np.arange(flat.shape[0]), pos])
    out: npt.NDArray[np.uint8] = ((val % _SCALE) > 0.5 * _SCALE).astype(np.uint8)
    return out


def decode(bits_per_block: npt.NDArray[np.uint8], length: int) -> npt.NDArray[np.uint8]:
    """Mean vote of the blocks carrying each of ``length`` cyclic bits."""
    index = np.arange(bits_per_block.size) % length
    ones = np.bincount(index, weights=bits_per_block, minlength=length)
    counts = np.bincount(index, minlength=length)
    return (ones / np.maximum(counts, 1) * 255 > 127).astype(np.uint8)


def encode(rgb: npt.NDArray[np.uint8], bits: tuple[int, ...]) -> npt.NDArray[np.uint8]:
    """Embed ``bits`` exactly as the reference encoder does (used to make test and benchmark positives)."""
    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV)
    ll, (h1, v1, d1) = pywt.dwt2(yuv[:rows, :cols, 1].astype(np.float64), "haar")
    nr, nc = ll.shape[0] // _BLOCK, ll.shape[1] // _BLOCK
    for num in range(nr * nc):
        i, j = divmod(num, nc)
        block = ll[i * _BLOCK : (i + 1) * _BLOCK, j * _BLOCK : (j + 1) * _BLOCK]
        flat = block.flatten()
        pos = int(np.argmax(np.abs(flat[1:]))) + 1
        bi, bj = divmod(pos, _BLOCK)
        bit = bits[num % len(bits)]
        v = block[bi, bj]
        block[bi, bj] = np.sign(v or 1.0) * ((abs(v) // _SCALE + 0.25 + 0.5 * bit) * _SCALE)
    # The reference passes (v1, h1, d1) back in swapped order; for the LL-only edit this is what it writes.
    channel = pywt.idwt2((ll, (v1, h1, d1)), "haar")
    yuv[:rows, :cols, 1] = np.clip(channel, 0, 255).astype(np.uint8)  # truncation, as numpy does there
    return np.asarray(cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB), dtype=np.uint8)


@dataclass(frozen=True)
class Match:
    """The best payload agreement found."""

    payload: Payload
    matching_bits: int

    @property
    def detected(self) -> bool:
        """At or above the payload's strict threshold."""
        return self.matching_bits >= self.payload.threshold


def best_match(rgb: npt.NDArray[np.uint8]) -> Match:
    """Decode every known payload length and return the closest payload."""
    per_block = block_bits(rgb)
    results = []
    for payload in PAYLOADS:
        decoded = decode(per_block, len(payload.bits))
        same = int(np.sum(decoded == np.asarray(payload.bits, dtype=np.uint8)))
        results.append(Match(payload, same))
    return max(results, key=lambda m: (m.detected, m.matching_bits / len(m.payload.bits)))
