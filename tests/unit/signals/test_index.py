"""Hash indexes: brute force vs FAISS equivalence, edge distances, persistence, corrupt files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from proofdesk.errors import IntegrityError, UserInputError
from proofdesk.signals.index import (
    BruteForceIndex,
    CorruptIndex,
    FaissFlatIndex,
    FaissIVFIndex,
    HashIndex,
    IndexMatch,
    load_index,
    make_index,
)

RNG_SEED = 20261122


def _flip_bits(h: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(h)
    idx = rng.choice(256, size=n, replace=False)
    bits[idx] ^= 1
    return np.packbits(bits)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, list[tuple[bytes, int, int]]]:
    """5,000 random hashes plus planted copies of 40 of them at exact distances 0..40 (edge values incl. 31, 32)."""
    rng = np.random.default_rng(RNG_SEED)
    hashes = rng.integers(0, 256, size=(5000, 32), dtype=np.uint8)
    ids = rng.permutation(np.arange(10_000, 15_000, dtype=np.int64))
    queries = []
    for d in range(41):
        target = int(rng.integers(0, 5000))
        queries.append((_flip_bits(hashes[target], d, rng).tobytes(), int(ids[target]), d))
    return hashes, ids, queries


_BITS: dict[int, np.ndarray] = {}


def _reference(hashes: np.ndarray, ids: np.ndarray, q: bytes, max_distance: int) -> list[IndexMatch]:
    """Bit-by-bit distances (unpackbits), independent of both implementations under test."""
    bits = _BITS.setdefault(id(hashes), np.unpackbits(hashes, axis=1))
    qbits = np.unpackbits(np.frombuffer(q, dtype=np.uint8))
    d = (bits != qbits).sum(axis=1)
    keep = np.flatnonzero(d <= max_distance)
    return sorted(IndexMatch(int(d[k]), int(ids[k])) for k in keep)


@pytest.mark.parametrize("kind", ["bruteforce", "faiss_flat"])
def test_exact_indexes_equal_reference(kind: str, data) -> None:  # type: ignore[no-untyped-def]
    hashes, ids, queries = data
    index = make_index(kind)
    index.add(hashes[:3000], ids[:3000])
    index.add(hashes[3000:], ids[3000:])  # two batches: ids must stay aligned
    assert len(index) == 5000
    for q, target_id, d in queries:
        for radius in (d - 1, d, 31, 32, 80):
            if radius < 0:
                continue
            got = index.query(q, max_distance=radius)
            assert got == _reference(hashes, ids, q, radius), (kind, d, radius)
            assert (IndexMatch(d, target_id) in got) == (d <= radius)
    many = index.query_many([q for q, _t, _d in queries], max_distance=31)
    assert many == [index.query(q, max_distance=31) for q, _t, _d in queries]


def test_bruteforce_and_faiss_agree_on_knn(data) -> None:  # type: ignore[no-untyped-def]
    hashes, ids, queries = data
    brute = BruteForceIndex.build(hashes, ids)
    flat = FaissFlatIndex.build(hashes, ids)
    for q, target_id, d in queries:
        b, f = brute.knn(q, 5), flat.knn(q, 5)
        assert [m.distance for m in b] == [m.distance for m in f]
        assert b[0] == IndexMatch(d, target_id)  # random 256-bit hashes are ~128 apart: planted one is nearest
    assert len(brute.knn(queries[0][0], 10_000)) == 5000


def test_ivf_finds_planted_near_duplicates(data) -> None:  # type: ignore[no-untyped-def]
    hashes, ids, queries = data
    ivf = FaissIVFIndex.build(hashes, ids, nlist=16, nprobe=16)  # probing every cell: must be exact
    for q, _target, d in queries:
        assert ivf.query(q, max_distance=32) == _reference(hashes, ids, q, 32), d
    kmeans = FaissIVFIndex.build(hashes, ids, nlist=16, nprobe=16, train="kmeans")
    for q, _target, d in queries[::5]:
        assert kmeans.query(q, max_distance=32) == _reference(hashes, ids, q, 32), d
    partial = FaissIVFIndex.build(hashes, ids, nlist=16, nprobe=2)
    found = sum(IndexMatch(d, t) in partial.query(q, max_distance=31) for q, t, d in queries if d <= 31)
    assert 0 < found <= 32  # approximate: recall is measured in bench/banks_bench.py, not promised here


def test_empty_index_and_bad_input() -> None:
    index = BruteForceIndex()
    assert index.query(bytes(32), max_distance=31) == []
    assert index.knn(bytes(32), 3) == []
    with pytest.raises(UserInputError):
        index.query(bytes(32), max_distance=-1)
    with pytest.raises(UserInputError):
        index.query(bytes(31), max_distance=3)
    with pytest.raises(UserInputError):
        index.add(np.zeros((2, 32), dtype=np.uint8), [1])
    with pytest.raises(UserInputError):
        make_index("annoy")
    with pytest.raises(UserInputError):
        FaissIVFIndex(nlist=64).add(np.zeros((10, 32), dtype=np.uint8))
    with pytest.raises(UserInputError):
        FaissIVFIndex(nlist=4).add(np.zeros((10, 32), dtype=np.uint8))  # 10 hashes but only 1 distinct
    with pytest.raises(UserInputError):
        FaissIVFIndex(train="magic")


def test_single_bytes_hash_and_default_ids() -> None:
    index = FaissFlatIndex()
    index.add(b"\x01" * 32)
    index.add([b"\x02" * 32, b"\x03" * 32])
    assert list(index.ids) == [0, 1, 2]
    assert index.query(b"\x01" * 32, max_distance=0) == [IndexMatch(0, 0)]


@pytest.mark.parametrize(
    ("kind", "params"), [("bruteforce", {}), ("faiss_flat", {}), ("faiss_ivf", {"nlist": 8, "nprobe": 8})]
)
def test_round_trip(kind: str, params: dict, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hashes, ids, queries = data
    index = make_index(kind, **params)
    index.add(hashes, ids)
    path = tmp_path / "bank.npz"
    index.save(path)
    loaded = load_index(path)
    assert type(loaded) is type(index)
    assert len(loaded) == len(index)
    np.testing.assert_array_equal(loaded.hashes(), hashes)
    np.testing.assert_array_equal(loaded.ids, ids)
    for q, _t, _d in queries[:10]:
        assert loaded.query(q, max_distance=31) == index.query(q, max_distance=31)
    other = load_index(path, kind="bruteforce")  # same file, another implementation
    assert isinstance(other, BruteForceIndex)
    assert other.query(queries[5][0], max_distance=31) == index.query(queries[5][0], max_distance=31)


def _rewrite(path: Path, **changes: object) -> None:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: np.asarray(npz[k]) for k in npz.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header.update(changes.pop("header", {}))  # type: ignore[call-overload]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    arrays.update(changes)  # type: ignore[arg-type]
    np.savez(path, **arrays)


def test_corrupt_and_unknown_files_are_refused(data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hashes, ids, _ = data
    good = tmp_path / "good.npz"
    BruteForceIndex.build(hashes[:100], ids[:100]).save(good)
    raw = good.read_bytes()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(CorruptIndex):
        load_index(truncated)
    with pytest.raises(CorruptIndex):
        load_index(garbage)
    with pytest.raises(CorruptIndex):
        load_index(tmp_path / "missing.npz")

    future = tmp_path / "future.npz"
    future.write_bytes(raw)
    _rewrite(future, header={"version": 99})
    with pytest.raises(CorruptIndex) as info:
        load_index(future)
    assert info.value.code == "unsupported_index_version"
    assert "99" in str(info.value)

    tampered = tmp_path / "tampered.npz"
    tampered.write_bytes(raw)
    edited = hashes[:100].copy()
    edited[0, 0] ^= 1
    _rewrite(tampered, hashes=edited)
    with pytest.raises(CorruptIndex, match="checksum"):
        load_index(tampered)

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, header=np.array([{"format": "x"}], dtype=object), hashes=hashes[:1], ids=ids[:1])
    with pytest.raises(CorruptIndex):
        load_index(pickled)  # object arrays need pickle, which we never allow

    wrong = tmp_path / "wrong.npz"
    with zipfile.ZipFile(wrong, "w") as zf:
        zf.writestr("other.npy", b"")
    with pytest.raises(CorruptIndex):
        load_index(wrong)
    assert issubclass(CorruptIndex, IntegrityError)


def test_every_kind_is_a_hash_index() -> None:
    for kind in ("bruteforce", "faiss_flat", "faiss_ivf"):
        assert isinstance(make_index(kind), HashIndex)
