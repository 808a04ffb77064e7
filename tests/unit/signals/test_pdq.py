"""PDQ signal: golden values, robustness bounds, hex/bytes conventions, dihedral variants."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pdqhash
import pytest
from PIL import Image

from proofdesk.errors import UserInputError
from proofdesk.evidence import evidence_from_array, read_evidence
from proofdesk.signals.pdq import (
    DIHEDRAL_NAMES,
    MATCH_DISTANCE,
    InvalidHash,
    PDQHash,
    PDQSignal,
    hamming,
    hash_from_hex,
    hash_to_hex,
    pdq_dihedral,
    pdq_hash,
    pdq_hash_array,
)
from tests.conftest import encode, photo_like

# Recorded once from this implementation (pdqhash 0.2.x, OpenCV INTER_AREA to 512 px); a change means stored
# bank hashes would no longer be comparable with new ones, which needs a migration, not a silent update.
GOLDEN_PHOTO_LIKE_0 = "741cf0c768711473e834cdbf049c6e5922deea36c6ed089c571bfcd880ee8566"


def test_golden_hash_of_generated_image() -> None:
    h = pdq_hash(evidence_from_array(photo_like(480, 640, seed=0)))
    assert h.hex == GOLDEN_PHOTO_LIKE_0
    assert h.quality == 100


def test_bit_order_matches_pdqhash_vector_msb_first() -> None:
    rgb = photo_like(256, 256, seed=3)
    vector, _ = pdqhash.compute(rgb)
    expected = "".join(str(int(b)) for b in vector)
    got = bin(int(pdq_hash_array(rgb).hex, 16))[2:].zfill(256)
    assert got == expected


def test_hash_uses_reduced_decode_not_full_resolution() -> None:
    # A 2400 px JPEG: hashed from the cached reduced decode, never decoded at full resolution.
    rgb = photo_like(1800, 2400, seed=5)
    evidence = read_evidence(encode(rgb, "JPEG", quality=92))
    h = pdq_hash(evidence)
    assert "full" not in evidence._cache  # never decoded at full resolution
    full = pdq_hash_array(evidence.pixels())
    assert h.distance(full) <= 16  # reduced vs full-resolution hash: a few bits, far under the match threshold


@pytest.mark.parametrize(
    ("name", "transform", "bound"),
    [
        ("jpeg q60", lambda rgb: encode(rgb, "JPEG", quality=60), 16),
        ("webp q70", lambda rgb: encode(rgb, "WEBP", quality=70), 16),
        (
            "resize 50% + jpeg q80",
            lambda rgb: encode(cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2)), "JPEG", quality=80),
            20,
        ),
        (
            "resize 150% png",
            lambda rgb: encode(cv2.resize(rgb, (rgb.shape[1] * 3 // 2, rgb.shape[0] * 3 // 2)), "PNG"),
            16,
        ),
        ("brightness +15", lambda rgb: encode(np.clip(rgb.astype(int) + 15, 0, 255).astype(np.uint8), "PNG"), 16),
    ],
)
def test_invariant_within_bounds(name: str, transform, bound: int, listings_dir) -> None:  # type: ignore[no-untyped-def]
    for path in sorted(listings_dir.glob("*.jpg"))[:4]:
        original = read_evidence(path)
        rgb = np.array(original.reduced(1024))
        base = pdq_hash_array(rgb)
        changed = pdq_hash(read_evidence(transform(rgb)))
        assert base.distance(changed) <= bound, (name, path.name, base.distance(changed))


def test_different_products_are_far_apart(listings_dir) -> None:  # type: ignore[no-untyped-def]
    # One photo per product code. (Colour variants of one product ARE close, 2-16 bits: PDQ hashes luminance
    # structure, and the shop shot them identically; see the README on reuse banks.)
    first: dict[str, Path] = {}
    for path in sorted(listings_dir.glob("*.jpg")):
        first.setdefault(path.name.split("-")[0].split("_")[0], path)
    hashes = [pdq_hash(read_evidence(p)) for p in list(first.values())[:16]]
    distances = [a.distance(b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > MATCH_DISTANCE
    assert 90 < float(np.median(distances)) < 160


def test_dihedral_finds_rotations_and_flips() -> None:
    rgb = photo_like(300, 400, seed=1)
    variants = pdq_dihedral(evidence_from_array(rgb))
    assert len(variants) == len(DIHEDRAL_NAMES) == 8
    assert variants[0] == pdq_hash_array(rgb)
    for arr in (np.rot90(rgb), np.rot90(rgb, 2), np.rot90(rgb, 3), rgb[:, ::-1], rgb[::-1]):
        h = pdq_hash(evidence_from_array(np.ascontiguousarray(arr)))
        assert h.distance(variants[0]) > 64  # the plain hash does not see the rotated copy
        assert min(h.distance(v) for v in variants) <= 16  # one of the eight does


def test_hex_round_trip_and_validation() -> None:
    h = pdq_hash_array(photo_like(64, 64, seed=2))
    assert hash_from_hex(h.hex) == h.value
    assert hash_from_hex("  " + h.hex.upper() + "\n") == h.value
    assert hash_to_hex(h.value) == h.hex
    assert PDQSignal.validate(h.hex.upper()) == h.hex
    for bad in ("", "xyz", h.hex[:-1], h.hex + "0", "g" * 64):
        with pytest.raises(InvalidHash):
            hash_from_hex(bad)
    assert issubclass(InvalidHash, UserInputError)
    with pytest.raises(InvalidHash):
        PDQHash(b"\x00" * 31, 100)
    with pytest.raises(InvalidHash):
        hamming(b"\x00" * 32, b"\x00" * 31)


def test_hamming_counts_bits() -> None:
    zero = bytes(32)
    assert hamming(zero, zero) == 0
    assert hamming(zero, b"\xff" * 32) == 256
    assert hamming(zero, b"\x01" + bytes(31)) == 1
    assert hamming(zero, bytes(31) + b"\x80") == 1


def test_signal_compare_threshold_inclusive() -> None:
    a = bytes(32)
    b = (int.from_bytes(a, "big") ^ ((1 << 31) - 1)).to_bytes(32, "big")  # 31 bits differ
    c = (int.from_bytes(a, "big") ^ ((1 << 32) - 1)).to_bytes(32, "big")  # 32 bits differ
    assert PDQSignal.compare(a.hex(), b.hex()).match is True
    assert PDQSignal.compare(a.hex(), b.hex()).distance == 31
    assert PDQSignal.compare(a.hex(), c.hex()).match is False
    assert PDQSignal.compare(a.hex(), c.hex(), threshold=40).match is True
    assert PDQSignal.name == "pdq"
    assert PDQSignal.hash(evidence_from_array(photo_like(480, 640, seed=0))) == GOLDEN_PHOTO_LIKE_0


def test_flat_image_has_low_quality() -> None:
    flat = np.full((200, 200, 3), 128, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(flat).save(buffer, format="PNG")
    assert pdq_hash(read_evidence(buffer.getvalue())).quality < 50
