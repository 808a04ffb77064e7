"""The reference catalogue: retrieval under crop, on-disk round trip, version and corruption checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from proofdesk.errors import UserInputError
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.signals.catalogue import FORMAT_VERSION, ReferenceIndex
from proofdesk.signals.index import CorruptIndex
from proofdesk.signals.words import InvertedFile, train_vocabulary
from tests.conftest import encode, photo_like


def _refs(count: int = 4) -> list[Evidence]:
    return [read_evidence(encode(photo_like(seed=10 + i), "JPEG", quality=92), name=f"ref-{i}") for i in range(count)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Evidence]]:
    folder = tmp_path_factory.mktemp("catalogue")
    refs = _refs()
    index = ReferenceIndex(folder, hash_index_kind="bruteforce")
    for ref in refs:
        index.add(ref, ref.name)
    index.save()
    return folder, refs


def _crop_claim(ref: Evidence, fraction: float = 0.35) -> Evidence:
    rgb = ref.pixels()
    h, w = rgb.shape[:2]
    side_h, side_w = int(h * fraction**0.5), int(w * fraction**0.5)
    crop = np.ascontiguousarray(rgb[h // 5 : h // 5 + side_h, w // 4 : w // 4 + side_w])
    return read_evidence(encode(crop, "JPEG", quality=80), name="claim")


def test_whole_copy_is_found_by_hash_first(built: tuple[Path, list[Evidence]]) -> None:
    folder, refs = built
    index = ReferenceIndex.open(folder)
    claim = read_evidence(encode(np.ascontiguousarray(refs[2].pixels()[:, ::-1]), "WEBP", quality=70))
    best = index.retrieve(claim, 3)[0]
    assert best.ref_id == "ref-2"
    assert best.pdq_distance is not None and best.pdq_distance <= 31  # mirrored: found by a dihedral hash


def test_heavy_crop_is_found_by_visual_words(built: tuple[Path, list[Evidence]]) -> None:
    folder, refs = built
    index = ReferenceIndex.open(folder)
    found = index.retrieve(_crop_claim(refs[1]), 4)
    assert found[0].ref_id == "ref-1"
    assert found[0].pdq_distance is None or found[0].pdq_distance > 31  # the hash alone would not have it
    assert found[0].word_score > 2 * max((c.word_score for c in found[1:]), default=0.0)


def test_candidates_are_the_stored_references_with_cached_features(built: tuple[Path, list[Evidence]]) -> None:
    folder, refs = built
    index = ReferenceIndex.open(folder)
    candidates = index.candidates(_crop_claim(refs[3]), limit=2)
    assert candidates[0].name == "ref-3"
    assert candidates[0].sha256 == refs[3].sha256
    features = index.features(candidates[0])
    assert features is not None and len(features) > 100
    assert index.features(read_evidence(encode(photo_like(seed=99), "PNG"))) is None


def test_round_trip_keeps_retrieval_identical(built: tuple[Path, list[Evidence]], tmp_path: Path) -> None:
    folder, refs = built
    in_memory = ReferenceIndex(None, hash_index_kind="bruteforce")
    for ref in refs:
        in_memory.add(ref, ref.name)
    claim = _crop_claim(refs[0], 0.5)
    reopened = ReferenceIndex.open(folder, hash_index_kind="faiss_flat")
    assert [c.ref_id for c in in_memory.retrieve(claim, 4)] == [c.ref_id for c in reopened.retrieve(claim, 4)]
    assert len(reopened) == 4 and "ref-0" in reopened


def test_duplicate_ref_id_is_refused() -> None:
    index = ReferenceIndex(None, hash_index_kind="bruteforce")
    ref = _refs(1)[0]
    index.add(ref, "a")
    with pytest.raises(UserInputError, match="already in the index"):
        index.add(ref, "a")


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    for path in folder.rglob("*"):
        if path.is_file():
            out = target / path.relative_to(folder)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(path.read_bytes())
    return target


def test_other_format_version_is_refused_with_a_clear_error(built: tuple[Path, list[Evidence]], tmp_path: Path) -> None:
    folder = _copy(built[0], tmp_path)
    header = json.loads((folder / "catalogue.json").read_text())
    header["version"] = FORMAT_VERSION + 1
    (folder / "catalogue.json").write_text(json.dumps(header))
    with pytest.raises(CorruptIndex, match="not supported") as info:
        ReferenceIndex.open(folder)
    assert info.value.code == "unsupported_index_version"


@pytest.mark.parametrize("damage", ["truncate_hashes", "drop_words", "garble_header", "alter_words"])
def test_corrupt_folder_is_refused(built: tuple[Path, list[Evidence]], tmp_path: Path, damage: str) -> None:
    folder = _copy(built[0], tmp_path)
    if damage == "truncate_hashes":
        data = (folder / "hashes.npz").read_bytes()
        (folder / "hashes.npz").write_bytes(data[: len(data) // 2])
    elif damage == "drop_words":
        (folder / "words.npz").unlink()
    elif damage == "garble_header":
        (folder / "catalogue.json").write_bytes(b"{not json")
    else:
        data = bytearray((folder / "words.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / "words.npz").write_bytes(bytes(data))
    with pytest.raises(CorruptIndex):
        ReferenceIndex.open(folder)


def test_reference_file_changed_after_indexing_is_skipped(tmp_path: Path) -> None:
    refs = _refs(2)
    index = ReferenceIndex(tmp_path / "idx", hash_index_kind="bruteforce")
    paths = []
    for ref in refs:
        path = tmp_path / f"{ref.name}.jpg"
        path.write_bytes(ref.data)
        paths.append(path)
        index.add(ref, ref.name, path=path)
    index.save()
    paths[0].write_bytes(encode(photo_like(seed=77), "JPEG"))  # same name, other picture
    reopened = ReferenceIndex.open(tmp_path / "idx")
    names = [c.name for c in reopened.candidates(_crop_claim(refs[0], 0.6), limit=2)]
    assert "ref-0" not in names  # never the new picture under the old reference's name


def test_vocabulary_is_deterministic_and_inverted_file_ranks_itself_first() -> None:
    rng = np.random.default_rng(0)
    descriptors = rng.integers(0, 120, size=(3000, 128), dtype=np.uint8)
    first, second = train_vocabulary(descriptors, seed=3), train_vocabulary(descriptors, seed=3)
    assert first.digest == second.digest
    words = [first.words_of(descriptors[i * 500 : (i + 1) * 500]) for i in range(6)]
    inverted = InvertedFile(first.size)
    inverted.extend(words)
    for row, own in enumerate(words):
        assert inverted.search(own, 1)[0][0] == row
    with pytest.raises(ValueError, match="outside the vocabulary"):
        inverted.add(np.array([first.size], dtype=np.uint32))
