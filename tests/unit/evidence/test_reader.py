"""Evidence reading: every accepted format from real encoders, orientation, limits, hostile input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from proofdesk.config import EvidenceLimits
from proofdesk.errors import CorruptEvidence, EvidenceTooLarge, UnsupportedFormat
from proofdesk.evidence import evidence_from_array, read_evidence, sniff_format
from tests.conftest import encode, photo_like


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("JPEG", {"quality": 90}), ("PNG", {}), ("WEBP", {"quality": 90}), ("TIFF", {}), ("HEIF", {"quality": 90})],
)
def test_reads_every_accepted_format(fmt: str, params: dict[str, object]) -> None:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    rgb = photo_like(240, 320)
    data = encode(rgb, fmt, **params)
    evidence = read_evidence(data, name=f"x.{fmt.lower()}")
    assert evidence.format == fmt
    assert (evidence.width, evidence.height) == (320, 240)
    pixels = evidence.pixels()
    assert pixels.shape == (240, 320, 3) and pixels.dtype == np.uint8
    # Lossy formats stay close to the source; lossless ones are exact.
    error = np.abs(pixels.astype(int) - rgb.astype(int)).mean()
    assert error < (12 if fmt in ("JPEG", "WEBP", "HEIF") else 0.01)


def test_reads_real_heic_and_webp_fixtures(provenance_dir: Path) -> None:
    heic = read_evidence(provenance_dir / "c2pa" / "sample1.heic")
    webp = read_evidence(provenance_dir / "c2pa" / "sample1.webp")
    assert heic.format == "HEIF" and heic.pixels().ndim == 3
    assert webp.format == "WEBP" and webp.pixels().ndim == 3


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation: int) -> None:
    # A marker in the top-left corner of the *displayed* image must end up top-left after reading.
    displayed = np.full((60, 100, 3), 40, dtype=np.uint8)
    displayed[:15, :20] = (250, 20, 20)
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = Image.fromarray(displayed)
    if inverse is not None:
        stored = stored.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    evidence = read_evidence(buffer.getvalue())
    assert (evidence.width, evidence.height) == (100, 60)
    pixels = evidence.pixels()
    assert pixels[5, 5, 0] > 200 and pixels[5, 5, 1] < 80
    assert pixels[50, 90, 0] < 80


def test_reduced_decode_is_close_to_full_resize() -> None:
    rgb = photo_like(1600, 2400)
    evidence = read_evidence(encode(rgb, "JPEG", quality=92))
    small = evidence.reduced(600)
    assert max(small.shape[:2]) == 600
    full_small = evidence_from_array(rgb).reduced(600)
    assert np.abs(small.astype(int) - full_small.astype(int)).mean() < 6


def test_sniffs_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(photo_like(64, 64), "PNG"))
    assert read_evidence(path).format == "PNG"
    assert sniff_format(b"GIF89a....") is None


@pytest.mark.parametrize(
    "payload",
    [b"%PDF-1.7\n...", b"GIF89a" + b"\0" * 100, b"<?xml version='1.0'?><svg/>", b"PK\x03\x04zipzip"],
)
def test_wrong_types_are_refused(payload: bytes) -> None:
    with pytest.raises(UnsupportedFormat, match="not an accepted image format"):
        read_evidence(payload, name="upload")


def test_empty_file_is_corrupt() -> None:
    with pytest.raises(CorruptEvidence, match="empty"):
        read_evidence(b"", name="empty.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_fail_with_a_clear_error(fmt: str) -> None:
    data = encode(photo_like(400, 400), fmt, **({"quality": 90} if fmt != "PNG" else {}))
    with pytest.raises(CorruptEvidence):
        read_evidence(data[: len(data) // 2], name=f"cut.{fmt.lower()}")


def test_garbage_after_valid_magic_is_corrupt() -> None:
    with pytest.raises(CorruptEvidence):
        read_evidence(b"\xff\xd8\xff\xe0" + b"\x13" * 500, name="junk.jpg")


def test_byte_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(encode(photo_like(256, 256), "PNG"))
    with pytest.raises(EvidenceTooLarge, match="bytes exceeds"):
        read_evidence(path, limits=EvidenceLimits(max_bytes=1000))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A 20,000 x 20,000 single-colour PNG compresses to a few hundred KB but would take 1.2 GB to decode.
    bomb = Image.new("L", (20_000, 20_000), 0)
    buffer = io.BytesIO()
    bomb.save(buffer, format="PNG", optimize=False, compress_level=9)
    data = buffer.getvalue()
    assert len(data) < 2_000_000
    with pytest.raises(EvidenceTooLarge, match="pixels exceeds"):
        read_evidence(data, name="bomb.png", limits=EvidenceLimits(max_pixels=50_000_000))


def test_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match="not a regular file"):
        read_evidence(tmp_path)


def test_oversized_metadata_is_dropped_and_recorded() -> None:
    rgb = photo_like(64, 64)
    buffer = io.BytesIO()
    xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b"A" * 50_000 + b"</x:xmpmeta>"
    Image.fromarray(rgb).save(buffer, format="JPEG", xmp=xmp)
    evidence = read_evidence(buffer.getvalue(), limits=EvidenceLimits(max_metadata_bytes=10_000))
    assert evidence.metadata.xmp is None
    assert evidence.metadata.oversized["xmp"] > 10_000


def test_png_text_chunks_are_kept() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a photo of a cracked vase, Steps: 20")
    buffer = io.BytesIO()
    Image.fromarray(photo_like(32, 32)).save(buffer, format="PNG", pnginfo=info)
    evidence = read_evidence(buffer.getvalue())
    assert evidence.metadata.text["parameters"].startswith("a photo of a cracked vase")


def test_sha256_is_of_the_file_bytes() -> None:
    import hashlib

    data = encode(photo_like(32, 32), "PNG")
    assert read_evidence(data).sha256 == hashlib.sha256(data).hexdigest()
