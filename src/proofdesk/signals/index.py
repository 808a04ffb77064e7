"""Hash indexes: find stored 256-bit hashes within a Hamming distance of a query (library layer).

Where it sits: the reuse banks (``proofdesk.banks``) and reference catalogues put every PDQ hash they know
into a :class:`HashIndex` with an integer id, then ask :meth:`HashIndex.query` for the ids near a claim
photo's hash. The flow, as in ThreatExchange ``signal_type/index.py``:

1. ``index = make_index("faiss_flat")`` (or ``BruteForceIndex()``), ``index.add(hashes, ids)``;
2. ``index.query(hash, max_distance=31)`` -> :class:`IndexMatch` list, nearest first (range search);
   ``index.query_many(hashes, max_distance=31)`` for several at once (the eight dihedral variants);
3. ``index.knn(hash, k)`` -> the k nearest whatever their distance (for explanations, "closest was 58");
4. ``index.save(path)`` / ``load_index(path)``: an explicit versioned ``.npz`` file (never pickle).

Three implementations behind one interface:

* :class:`BruteForceIndex`: numpy XOR + ``bitwise_count`` over uint64 words. The reference: exact, simple,
  no extra dependency; O(N) per query (tens of ms at 10 M).
* :class:`FaissFlatIndex`: ``faiss.IndexBinaryFlat``: exact too, SIMD popcount; 32 bytes per hash.
* :class:`FaissIVFIndex`: ``faiss.IndexBinaryIVF``: inverted lists over a trained coarse quantizer, probing
  ``nprobe`` of ``nlist`` cells. Approximate (a near-duplicate in an unprobed cell is missed); its recall is
  measured in ``bench/banks_bench.py``. For catalogues of millions where a query must stay under 10 ms.

Ids are int64 chosen by the caller (row ids of a bank); the index never interprets them.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

from proofdesk.errors import IntegrityError, UserInputError
from proofdesk.signals.pdq import HASH_BITS, HASH_BYTES, InvalidHash

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "BruteForceIndex",
    "CorruptIndex",
    "FaissFlatIndex",
    "FaissIVFIndex",
    "HashIndex",
    "IndexMatch",
    "as_hash_matrix",
    "load_index",
    "make_index",
]

FORMAT_NAME: Final = "proofdesk.hashindex"
FORMAT_VERSION: Final = 1
_WORDS: Final = HASH_BYTES // 8

HashMatrix = npt.NDArray[np.uint8]  # (N, 32)
IdArray = npt.NDArray[np.int64]


class CorruptIndex(IntegrityError):
    """An index file is unreadable, fails its checksum, or has an unknown format version."""

    code = "corrupt_index"


@dataclass(frozen=True, order=True)
class IndexMatch:
    """One stored hash near the query: its distance (bits) and the caller's id."""

    distance: int
    id: int


def as_hash_matrix(hashes: bytes | Sequence[bytes] | npt.ArrayLike) -> HashMatrix:
    """Coerce one hash, a sequence of 32-byte hashes or an (N, 32) uint8 array to an (N, 32) uint8 matrix."""
    if isinstance(hashes, bytes | bytearray):
        hashes = [bytes(hashes)]
    if isinstance(hashes, list | tuple) and (not hashes or isinstance(hashes[0], bytes | bytearray)):
        if any(len(h) != HASH_BYTES for h in hashes):
            raise InvalidHash(f"every hash must be {HASH_BYTES} bytes")
        joined = b"".join(bytes(h) for h in hashes)
        return np.frombuffer(joined, dtype=np.uint8).reshape(-1, HASH_BYTES).copy()
    array = np.asarray(hashes)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != HASH_BYTES:
        raise InvalidHash(f"expected an (N, {HASH_BYTES}) uint8 array, got {array.shape} {array.dtype}")
    return np.ascontiguousarray(array)


def _as_ids(ids: npt.ArrayLike | None, count: int, start: int) -> IdArray:
    if ids is None:
        return np.arange(start, start + count, dtype=np.int64)
    array = np.asarray(ids, dtype=np.int64).reshape(-1)
    if array.shape[0] != count:
        raise UserInputError(f"{count} hashes but {array.shape[0]} ids", code="invalid_index_input")
    return array


class _Growable:
    """An append-only 2-D array with amortised O(1) appends (banks add one photo at a time)."""

    def __init__(self, width: int, dtype: type[np.generic]) -> None:
        self._data = np.empty((0, width), dtype=dtype)
        self._size = 0

    def append(self, rows: npt.NDArray[Any]) -> None:
        need = self._size + rows.shape[0]
        if need > self._data.shape[0]:
            capacity = max(need, 2 * self._data.shape[0], 1024)
            grown = np.empty((capacity, self._data.shape[1]), dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : need] = rows
        self._size = need

    @property
    def view(self) -> npt.NDArray[Any]:
        return self._data[: self._size]

    def __len__(self) -> int:
        return self._size


class HashIndex(ABC):
    """Range and k-nearest search over 256-bit hashes, with caller-chosen int64 ids."""

    #: Name stored in the file header and accepted by :func:`make_index`.
    kind: ClassVar[str]

    def __init__(self) -> None:
        self._ids = _Growable(1, np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> IdArray:
        """The ids in insertion order (read-only view)."""
        view: IdArray = self._ids.view[:, 0]
        view.flags.writeable = False
        return view

    @classmethod
    def build(
        cls, hashes: bytes | Sequence[bytes] | npt.ArrayLike, ids: npt.ArrayLike | None = None, **params: Any
    ) -> HashIndex:
        """A new index of this kind holding ``hashes`` (ids default to 0..N-1)."""
        index = cls(**params)
        index.add(hashes, ids)
        return index

    def add(self, hashes: bytes | Sequence[bytes] | npt.ArrayLike, ids: npt.ArrayLike | None = None) -> None:
        """Append hashes with their ids (default: consecutive from the current size)."""
        matrix = as_hash_matrix(hashes)
        id_array = _as_ids(ids, matrix.shape[0], len(self))
        if matrix.shape[0] == 0:
            return
        self._add(matrix)
        self._ids.append(id_array.reshape(-1, 1))

    def query(self, hash_: bytes, *, max_distance: int) -> list[IndexMatch]:
        """Every stored hash within ``max_distance`` bits (inclusive), nearest first, ties by id."""
        if not 0 <= max_distance <= HASH_BITS:
            raise UserInputError(f"max_distance must be in 0..{HASH_BITS}", code="invalid_index_input")
        query = as_hash_matrix(hash_)
        if query.shape[0] != 1:
            raise InvalidHash("query takes exactly one hash")
        if len(self) == 0:
            return []
        positions, distances = self._range(query, max_distance)
        return self._matches(positions, distances)

    def query_many(self, hashes: Sequence[bytes] | npt.ArrayLike, *, max_distance: int) -> list[list[IndexMatch]]:
        """:meth:`query` for several hashes (e.g. the eight dihedral variants); FAISS scans the codes once."""
        if not 0 <= max_distance <= HASH_BITS:
            raise UserInputError(f"max_distance must be in 0..{HASH_BITS}", code="invalid_index_input")
        queries = as_hash_matrix(hashes)
        if len(self) == 0:
            return [[] for _ in range(queries.shape[0])]
        return [self._matches(p, d) for p, d in self._range_many(queries, max_distance)]

    def _range_many(
        self, queries: HashMatrix, max_distance: int
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]:
        return [self._range(queries[i : i + 1], max_distance) for i in range(queries.shape[0])]

    def knn(self, hash_: bytes, k: int) -> list[IndexMatch]:
        """The ``k`` nearest stored hashes (fewer if the index is smaller), nearest first."""
        if k <= 0:
            raise UserInputError("k must be positive", code="invalid_index_input")
        query = as_hash_matrix(hash_)
        if query.shape[0] != 1:
            raise InvalidHash("knn takes exactly one hash")
        if len(self) == 0:
            return []
        positions, distances = self._knn(query, min(k, len(self)))
        return self._matches(positions, distances)[:k]

    def _matches(self, positions: npt.NDArray[np.int64], distances: npt.NDArray[Any]) -> list[IndexMatch]:
        ids = self._ids.view[positions, 0] if positions.size else np.empty(0, dtype=np.int64)
        out = [IndexMatch(int(d), int(i)) for d, i in zip(distances.tolist(), ids.tolist(), strict=True)]
        out.sort()
        return out

    @abstractmethod
    def _add(self, matrix: HashMatrix) -> None: ...

    @abstractmethod
    def _range(self, query: HashMatrix, max_distance: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        """Positions (insertion order) and distances of stored hashes within ``max_distance``."""

    @abstractmethod
    def _knn(self, query: HashMatrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]: ...

    @abstractmethod
    def hashes(self) -> HashMatrix:
        """All stored hashes in insertion order, (N, 32) uint8 (a copy for FAISS indexes)."""

    def _params(self) -> dict[str, Any]:
        return {}

    def _extra_arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {}

    # -- persistence ---------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the index as ``.npz``: ``header`` (JSON bytes), ``hashes``, ``ids`` [, ``faiss``].

        The header carries the format name and version, the kind and its parameters, the count and a sha256
        of the hashes and ids, so a truncated or edited file is refused on load rather than half-read.
        """
        hashes = self.hashes()
        ids = np.ascontiguousarray(self._ids.view[:, 0])
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "bits": HASH_BITS,
            "count": int(hashes.shape[0]),
            "params": self._params(),
            "sha256": _digest(hashes, ids),
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8),
            "hashes": hashes,
            "ids": ids,
            **self._extra_arrays(),
        }
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        tmp.replace(target)  # atomic: a crash mid-save leaves the previous file intact


def _digest(hashes: HashMatrix, ids: IdArray) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(hashes).tobytes())
    digest.update(np.ascontiguousarray(ids, dtype="<i8").tobytes())
    return digest.hexdigest()


class BruteForceIndex(HashIndex):
    """Exact reference index: XOR and popcount over four uint64 words per hash, in numpy."""

    kind: ClassVar[str] = "bruteforce"

    def __init__(self, *, chunk: int = 1 << 20) -> None:
        super().__init__()
        self._words = _Growable(_WORDS, np.uint64)
        self._chunk = chunk  # bounds the temporary XOR array to chunk x 32 bytes

    def _add(self, matrix: HashMatrix) -> None:
        self._words.append(matrix.view(np.uint64).reshape(-1, _WORDS))

    def _distances(self, query: HashMatrix) -> npt.NDArray[np.int64]:
        words = self._words.view
        q = query.view(np.uint64).reshape(_WORDS)
        out = np.empty(words.shape[0], dtype=np.int64)
        for start in range(0, words.shape[0], self._chunk):
            block = np.bitwise_xor(words[start : start + self._chunk], q)
            out[start : start + block.shape[0]] = np.bitwise_count(block).sum(axis=1, dtype=np.int64)
        return out

    def _range(self, query: HashMatrix, max_distance: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        distances = self._distances(query)
        positions = np.flatnonzero(distances <= max_distance).astype(np.int64)
        return positions, distances[positions]

    def _knn(self, query: HashMatrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        distances = self._distances(query)
        positions = np.argpartition(distances, k - 1)[:k] if k < distances.shape[0] else np.arange(distances.shape[0])
        # Ties at the k-th distance: argpartition picks arbitrarily; widen to all tied, sorting by id cuts back.
        kth = int(distances[positions].max())
        positions = np.flatnonzero(distances <= kth).astype(np.int64)
        return positions, distances[positions]

    def hashes(self) -> HashMatrix:
        """All stored hashes, (N, 32) uint8 (a view)."""
        return self._words.view.view(np.uint8).reshape(-1, HASH_BYTES)


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise UserInputError(
            "the FAISS index needs the 'faiss' extra: pip install 'proofdesk[faiss]'", code="missing_extra"
        ) from exc
    return faiss


_default_threads: int | None = None
_threads_lock = threading.Lock()


@contextmanager
def _omp_threads(faiss: Any, threads: int | None) -> Iterator[None]:
    """Run FAISS with ``threads`` OpenMP threads (None: its default), restoring the default afterwards.

    Why: OpenMP threads spin-wait, and on a busy machine a parallel region costs far more than it saves. On
    this 2-core machine under load ~20: a test of 400 single queries took 46 s with 2 threads, 7 s with 1;
    adding 100 k hashes to an IVF index (cell assignment) took 10.9 s with 2 threads, 1.7 s with 1. Pass
    ``threads=None`` to use FAISS's default on a dedicated multi-core machine. OpenMP's setting is
    process-wide, hence the lock.
    """
    global _default_threads
    if threads is None:
        yield
        return
    with _threads_lock:
        if _default_threads is None:
            _default_threads = int(faiss.omp_get_max_threads())
        faiss.omp_set_num_threads(threads)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(_default_threads)


class _FaissIndex(HashIndex):
    """Shared code of the FAISS binary indexes: positions are FAISS's sequential labels."""

    def __init__(self, *, threads: int | None = 1) -> None:
        super().__init__()
        self._faiss = _faiss()
        self._index: Any = None
        #: OpenMP threads for FAISS calls (1 by default, see :func:`_omp_threads`); None = FAISS default.
        self.threads = threads

    def _range(self, query: HashMatrix, max_distance: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        # FAISS binary range search keeps distances strictly below the radius, so radius = max + 1.
        with _omp_threads(self._faiss, self.threads):
            lims, distances, labels = self._index.range_search(query, max_distance + 1)
        labels = labels[lims[0] : lims[1]].astype(np.int64)
        distances = distances[lims[0] : lims[1]]
        keep = labels >= 0
        return labels[keep], distances[keep]

    def _range_many(
        self, queries: HashMatrix, max_distance: int
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[Any]]]:
        with _omp_threads(self._faiss, self.threads):
            lims, distances, labels = self._index.range_search(queries, max_distance + 1)
        out = []
        for i in range(queries.shape[0]):
            lab = labels[lims[i] : lims[i + 1]].astype(np.int64)
            dist = distances[lims[i] : lims[i + 1]]
            keep = lab >= 0
            out.append((lab[keep], dist[keep]))
        return out

    def _knn(self, query: HashMatrix, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        with _omp_threads(self._faiss, self.threads):
            distances, labels = self._index.search(query, k)
        keep = labels[0] >= 0
        return labels[0][keep].astype(np.int64), distances[0][keep]


class FaissFlatIndex(_FaissIndex):
    """Exact search with ``faiss.IndexBinaryFlat`` (SIMD popcount, 32 bytes per hash)."""

    kind: ClassVar[str] = "faiss_flat"

    def __init__(self, *, threads: int | None = 1) -> None:
        super().__init__(threads=threads)
        self._index = self._faiss.IndexBinaryFlat(HASH_BITS)

    def _add(self, matrix: HashMatrix) -> None:
        with _omp_threads(self._faiss, self.threads):
            self._index.add(matrix)

    def hashes(self) -> HashMatrix:
        """All stored hashes, (N, 32) uint8 (a copy of FAISS's storage)."""
        codes = self._faiss.vector_to_array(self._index.xb)
        return np.asarray(codes, dtype=np.uint8).reshape(-1, HASH_BYTES)


class FaissIVFIndex(_FaissIndex):
    """Approximate search with ``faiss.IndexBinaryIVF``: ``nlist`` cells, ``nprobe`` probed per query.

    The coarse quantizer is trained on the first batch added (at least ``nlist`` hashes): ``train="sample"``
    (default) takes ``nlist`` of them at random as cell centres; ``train="kmeans"`` runs FAISS's k-means on a
    random sample of at most ``train_size`` (default 50 per cell; FAISS asks for ~39). Build it with
    :meth:`HashIndex.build` on the whole bank; later adds go into the trained cells. Keep
    :class:`FaissFlatIndex` for small banks: below ~1 M hashes exact search is fast.
    """

    kind: ClassVar[str] = "faiss_ivf"

    def __init__(
        self,
        *,
        nlist: int = 1024,
        nprobe: int = 16,
        train: str = "sample",
        train_size: int | None = None,
        threads: int | None = 1,
    ) -> None:
        super().__init__(threads=threads)
        if nlist <= 0 or not 0 < nprobe <= nlist:
            raise UserInputError("need 0 < nprobe <= nlist", code="invalid_index_input")
        if train not in ("sample", "kmeans"):
            raise UserInputError("train must be 'sample' or 'kmeans'", code="invalid_index_input")
        self.nlist, self.nprobe, self.train = nlist, nprobe, train
        self.train_size = train_size or 50 * nlist
        self._quantizer = self._faiss.IndexBinaryFlat(HASH_BITS)
        self._index = self._faiss.IndexBinaryIVF(self._quantizer, HASH_BITS, nlist)
        self._index.nprobe = nprobe

    def _add(self, matrix: HashMatrix) -> None:
        if not self._index.is_trained:
            if matrix.shape[0] < self.nlist:
                raise UserInputError(
                    f"IVF index with nlist={self.nlist} needs at least {self.nlist} hashes to train, "
                    f"got {matrix.shape[0]}",
                    code="invalid_index_input",
                )
            rng = np.random.default_rng(0)  # deterministic: the same bank trains the same cells
            if self.train == "sample":
                # Cell centres = nlist stored hashes drawn at random. FAISS's binary k-means works on float
                # copies (256-d) and took minutes on this machine for 50 k hashes; for near-duplicate search
                # the cells only need to split the data, and nprobe covers boundary cases (recall measured).
                unique = np.unique(matrix, axis=0)
                if unique.shape[0] < self.nlist:
                    raise UserInputError(
                        f"IVF index with nlist={self.nlist} needs {self.nlist} distinct hashes to train",
                        code="invalid_index_input",
                    )
                centres = unique[np.sort(rng.choice(unique.shape[0], size=self.nlist, replace=False))]
                self._quantizer.add(np.ascontiguousarray(centres))
                self._index.is_trained = True
            else:
                sample = matrix
                if matrix.shape[0] > self.train_size:
                    sample = matrix[np.sort(rng.choice(matrix.shape[0], size=self.train_size, replace=False))]
                with _omp_threads(self._faiss, self.threads):
                    self._index.train(np.ascontiguousarray(sample))
        with _omp_threads(self._faiss, self.threads):
            self._index.add(matrix)

    def hashes(self) -> HashMatrix:
        """All stored hashes in insertion order (reconstructed through FAISS's direct map)."""
        self._index.make_direct_map()
        out = self._index.reconstruct_n(0, self._index.ntotal)
        return np.asarray(out, dtype=np.uint8).reshape(-1, HASH_BYTES)

    def _params(self) -> dict[str, Any]:
        return {"nlist": self.nlist, "nprobe": self.nprobe, "train": self.train, "train_size": self.train_size}

    def _extra_arrays(self) -> dict[str, npt.NDArray[Any]]:
        # FAISS's own binary serialisation (not pickle) keeps the trained quantizer: retraining 10 M takes minutes.
        return {"faiss": np.asarray(self._faiss.serialize_index_binary(self._index), dtype=np.uint8)}

    def _restore(self, blob: npt.NDArray[np.uint8], ids: IdArray) -> None:
        index = self._faiss.deserialize_index_binary(blob)
        index.nprobe = self.nprobe
        self._index = index
        self._quantizer = None
        self._ids = _Growable(1, np.int64)
        self._ids.append(ids.reshape(-1, 1))


_KINDS: Final[dict[str, type[HashIndex]]] = {
    BruteForceIndex.kind: BruteForceIndex,
    FaissFlatIndex.kind: FaissFlatIndex,
    FaissIVFIndex.kind: FaissIVFIndex,
}


def make_index(kind: str, **params: Any) -> HashIndex:
    """An empty index of the named kind: ``bruteforce``, ``faiss_flat`` or ``faiss_ivf``."""
    try:
        cls = _KINDS[kind]
    except KeyError:
        raise UserInputError(
            f"unknown index kind {kind!r}; known: {', '.join(_KINDS)}", code="invalid_index_input"
        ) from None
    return cls(**params)


def load_index(path: str | Path, *, kind: str | None = None) -> HashIndex:
    """Read an index written by :meth:`HashIndex.save`; ``kind`` loads it into another implementation.

    Raises :class:`CorruptIndex` for unreadable files, wrong format or version, or checksum mismatch.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            header = json.loads(bytes(npz["header"]).decode("utf-8"))
            hashes = np.asarray(npz["hashes"])
            ids = np.asarray(npz["ids"])
            blob = np.asarray(npz["faiss"]) if "faiss" in npz.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise CorruptIndex(f"{source.name}: not a readable hash index: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CorruptIndex(f"{source.name}: not a {FORMAT_NAME} file")
    if header.get("version") != FORMAT_VERSION:
        raise CorruptIndex(
            f"{source.name}: {FORMAT_NAME} version {header.get('version')!r} is not supported "
            f"(this Proofdesk reads version {FORMAT_VERSION})",
            code="unsupported_index_version",
        )
    if (
        hashes.dtype != np.uint8
        or hashes.ndim != 2
        or hashes.shape[1] != HASH_BYTES
        or ids.dtype != np.int64
        or ids.shape != (hashes.shape[0],)
        or header.get("count") != hashes.shape[0]
        or header.get("bits") != HASH_BITS
    ):
        raise CorruptIndex(f"{source.name}: arrays do not match the header")
    if _digest(hashes, ids) != header.get("sha256"):
        raise CorruptIndex(f"{source.name}: checksum mismatch (file altered or truncated)")
    stored_kind = str(header.get("kind"))
    target_kind = kind or stored_kind
    if target_kind not in _KINDS:
        raise CorruptIndex(f"{source.name}: unknown index kind {stored_kind!r}")
    params = header.get("params", {}) if target_kind == stored_kind else {}
    index = make_index(target_kind, **params)
    if isinstance(index, FaissIVFIndex) and blob is not None and target_kind == stored_kind:
        try:
            index._restore(blob, ids)
        except RuntimeError as exc:
            raise CorruptIndex(f"{source.name}: FAISS index blob unreadable: {exc}") from exc
        if index._index.ntotal != hashes.shape[0]:
            raise CorruptIndex(
                f"{source.name}: FAISS index holds {index._index.ntotal} hashes, header {hashes.shape[0]}"
            )
        return index
    index.add(hashes, ids)
    return index
