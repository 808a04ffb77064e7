"""PDQ perceptual hashes of evidence images (library layer).

Where it sits: evidence (``proofdesk.evidence``) -> :func:`pdq_hash` -> a 256-bit hash that the reuse banks
(``proofdesk.banks``) and reference retrieval store in a :class:`~proofdesk.signals.index.HashIndex` and
compare by Hamming distance.

Why a reduced decode: ``pdqhash.compute`` on a 12 MP array takes ~500 ms, on a 512 px array ~2-4 ms, and PDQ
downsamples to 64x64 internally anyway (the hash moves a few bits at most; reference notes
``offline-photos-and-cpu-baselines.md`` §2). We hash the 1024 px copy that :func:`read_evidence` already
decoded and cached (JPEG DCT-scaled draft), shrunk to 512 px with area averaging, so every source of the
same pixels (JPEG, PNG, any size) goes through the same path.

Conventions (match ThreatExchange / the PDQ reference hex): the 256 bits of ``pdqhash`` are packed most
significant bit first, giving 32 bytes; the text form is 64 lowercase hex digits. Match threshold 31 and
minimum quality 50 are the values Meta's HMA uses for PDQ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Final

import cv2
import numpy as np
import numpy.typing as npt
import pdqhash

from proofdesk.errors import UserInputError
from proofdesk.evidence import Evidence
from proofdesk.signals.base import SignalType

__all__ = [
    "DIHEDRAL_NAMES",
    "HASH_BITS",
    "HASH_BYTES",
    "HASH_SIDE",
    "MATCH_DISTANCE",
    "MIN_QUALITY",
    "InvalidHash",
    "PDQHash",
    "PDQSignal",
    "hamming",
    "hash_from_hex",
    "hash_to_hex",
    "pdq_dihedral",
    "pdq_hash",
    "pdq_hash_array",
]

HASH_BITS: Final = 256
HASH_BYTES: Final = 32
#: Long side of the array that is hashed.
HASH_SIDE: Final = 512
#: Inclusive Hamming distance under which two PDQ hashes are "the same photo" (HMA default).
MATCH_DISTANCE: Final = 31
#: Hashes with quality below this carry little information (flat images) and should not be banked.
MIN_QUALITY: Final = 50
#: Names of the eight dihedral variants in the order ``pdqhash.compute_dihedral`` returns them.
DIHEDRAL_NAMES: Final = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)

_HEX_RE: Final = re.compile(r"^[0-9a-f]{64}$")


class InvalidHash(UserInputError):
    """A PDQ hash string or byte string is malformed."""

    code = "invalid_hash"


@dataclass(frozen=True)
class PDQHash:
    """One PDQ hash (32 bytes, MSB first) with its quality (0-100; low = flat, unreliable image)."""

    value: bytes
    quality: int

    def __post_init__(self) -> None:
        if len(self.value) != HASH_BYTES:
            raise InvalidHash(f"PDQ hash must be {HASH_BYTES} bytes, got {len(self.value)}")

    @property
    def hex(self) -> str:
        """64 lowercase hex digits."""
        return self.value.hex()

    def distance(self, other: PDQHash | bytes) -> int:
        """Hamming distance to another hash."""
        return hamming(self.value, other.value if isinstance(other, PDQHash) else other)


def _pack(bits: npt.ArrayLike) -> bytes:
    array = np.asarray(bits, dtype=np.uint8).reshape(-1)
    if array.size != HASH_BITS:
        raise InvalidHash(f"PDQ hash has {array.size} bits, expected {HASH_BITS}")
    return np.packbits(array).tobytes()  # big bit order: bit 0 of the vector is the MSB of byte 0


def _prepare(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    long_side = max(height, width)
    if long_side > HASH_SIDE:
        scale = HASH_SIDE / long_side
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


def pdq_hash_array(rgb: npt.NDArray[np.uint8]) -> PDQHash:
    """PDQ hash of an RGB (H, W, 3) uint8 array (shrunk to :data:`HASH_SIDE` first if larger)."""
    vector, quality = pdqhash.compute(_prepare(rgb))
    return PDQHash(_pack(vector), int(quality))


def _evidence_array(evidence: Evidence) -> npt.NDArray[np.uint8]:
    # 1024 is the copy read_evidence decodes and caches; asking for 512 directly would decode the file again.
    return evidence.reduced(1024)


def pdq_hash(evidence: Evidence) -> PDQHash:
    """PDQ hash of an evidence image, computed on a reduced decode (never full resolution)."""
    return pdq_hash_array(_evidence_array(evidence))


def pdq_dihedral(evidence: Evidence | npt.NDArray[np.uint8]) -> tuple[PDQHash, ...]:
    """The eight hashes of the image's rotations and flips (order: :data:`DIHEDRAL_NAMES`).

    ``pdqhash`` derives them from one DCT, so this costs the same as one hash. Query a bank with all eight to
    find a stored photo that the claim shows rotated or mirrored.
    """
    rgb = evidence if isinstance(evidence, np.ndarray) else _evidence_array(evidence)
    vectors, quality = pdqhash.compute_dihedral(_prepare(rgb))
    return tuple(PDQHash(_pack(v), int(quality)) for v in vectors)


def hamming(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equal-length byte strings."""
    if len(a) != len(b):
        raise InvalidHash(f"cannot compare hashes of {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def hash_to_hex(value: bytes) -> str:
    """32 bytes -> 64 lowercase hex digits."""
    if len(value) != HASH_BYTES:
        raise InvalidHash(f"PDQ hash must be {HASH_BYTES} bytes, got {len(value)}")
    return value.hex()


def hash_from_hex(text: str) -> bytes:
    """64 hex digits (any case, surrounding spaces ignored) -> 32 bytes; :class:`InvalidHash` otherwise."""
    canonical = text.strip().lower()
    if not _HEX_RE.match(canonical):
        raise InvalidHash(f"not a PDQ hash (64 hex digits): {text[:80]!r}")
    return bytes.fromhex(canonical)


class PDQSignal(SignalType):
    """PDQ as a :class:`SignalType`: signals are 64-hex strings, distance is Hamming."""

    name: ClassVar[str] = "pdq"
    default_threshold: ClassVar[int] = MATCH_DISTANCE

    @classmethod
    def hash(cls, evidence: Evidence) -> str:
        """64-hex PDQ hash of ``evidence``."""
        return pdq_hash(evidence).hex

    @classmethod
    def validate(cls, signal: str) -> str:
        """Canonical lowercase form; raises :class:`InvalidHash`."""
        return hash_from_hex(signal).hex()

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Hamming distance between two hex hashes."""
        return hamming(hash_from_hex(a), hash_from_hex(b))
