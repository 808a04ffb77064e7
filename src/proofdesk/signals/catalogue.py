"""A merchant's reference catalogue on disk: PDQ hashes + visual words for retrieval, cached local features.

Where it sits: library layer, between evidence reading and the ``reference`` check. A merchant's listing
photos (and packing-video frames, earlier photos) are added once; a claim photo then asks
:meth:`ReferenceIndex.candidates` for the few references it most likely came from, and the check registers
only those (``CheckContext.catalogue`` implements :class:`~proofdesk.checks.base.ReferenceCatalogue`).

Retrieval has two arms, because each fails where the other works:

* **PDQ** of the claim and its 8 rotations/flips against every reference hash (``signals.pdq`` +
  ``signals.index``): exact for whole-image copies, re-saves, resizes, rotations by 90°, mirrors and mild
  colour changes, whatever the catalogue size; blind to heavy crops, screenshots and pasted cut-outs.
* **Visual words** (``signals.words``): the claim's SIFT descriptors vote for the references sharing them.
  Survives crops to 30%, screenshots, perspective and cut-outs; the same SIFT features the check needs.

Hash matches within :data:`PDQ_MATCH` come first (nearest first), then references by word score plus a
bonus for a moderately close hash. What was measured (recall@k per transform, time at 100,000 references)
is in BENCHMARKS.md, section "Reference retrieval".

On-disk layout (a folder, format :data:`FORMAT_NAME` version :data:`FORMAT_VERSION`)::

    catalogue.json        header + one record per reference (written last, atomically)
    hashes.npz            signals.index file: the PDQ hash of each reference, id = row
    words.npz             vocabulary centres + each reference's distinct word ids
    features/<sha256>.npz cached SIFT features (signals.features ``to_arrays``)
    images/<sha256>       the reference bytes, unless the reference was added by path

A missing, truncated or edited file raises :class:`~proofdesk.signals.index.CorruptIndex` on open, never a
half-loaded catalogue.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from proofdesk.errors import CorruptEvidence, UserInputError
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.signals.features import FEATURES_VERSION, LocalFeatures, extract_features
from proofdesk.signals.index import CorruptIndex, HashIndex, load_index, make_index
from proofdesk.signals.pdq import HASH_BYTES, MATCH_DISTANCE, pdq_dihedral
from proofdesk.signals.words import InvertedFile, Vocabulary, train_vocabulary

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PDQ_MATCH",
    "PDQ_NEAR",
    "Candidate",
    "ReferenceIndex",
    "default_hash_index_kind",
]

FORMAT_NAME: Final = "proofdesk.catalogue"
FORMAT_VERSION: Final = 1
#: A hash this close (bits of 256) is the same picture: ranked before any word score.
PDQ_MATCH: Final = MATCH_DISTANCE
#: Hashes up to this far still add a bonus (crops of 10-20% and strong filters land here); random pairs sit
#: at 128 ± 8, distinct real photos rarely below 70 (reference notes §1: natural pairs 84-148).
PDQ_NEAR: Final = 64
#: Hashes stored per reference: its own PDQ only. The claim is queried with its 8 rotations/flips, which
#: finds a rotated or mirrored copy just as well as storing the references' 8 variants would, at 1/8 the
#: index size and query time. (Folders written with 8 per reference are still read.)
_STORED_VARIANTS: Final = 1
_CACHE: Final = 64
#: Descriptors of one reference that become visual words (a seeded sample when it has more). Bounds the
#: inverted file at 100,000 references (postings ~ N x this) and the time a claim's words take to score.
WORDS_PER_REFERENCE: Final = 1000


@dataclass(frozen=True)
class Candidate:
    """One retrieved reference with why it was retrieved."""

    ref_id: str
    row: int
    #: Smallest PDQ distance over the claim's 8 dihedral variants, ``None`` if above :data:`PDQ_NEAR`.
    pdq_distance: int | None
    #: Cosine similarity of visual words (0 when not among the word arm's results).
    word_score: float
    score: float


@dataclass
class _Record:
    ref_id: str
    sha256: str
    width: int
    height: int
    quality: int
    #: Absolute path of the reference file when added by path; else the bytes live under images/.
    path: str | None = None
    has_features: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref_id": self.ref_id,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "quality": self.quality,
            "has_features": self.has_features,
        }
        if self.path is not None:
            out["path"] = self.path
        return out


def default_hash_index_kind() -> str:
    """``faiss_flat`` when FAISS is installed (SIMD popcount), else the numpy ``bruteforce`` index."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return "bruteforce"
    return "faiss_flat"


def _corrupt(folder: Path, why: str) -> CorruptIndex:
    return CorruptIndex(f"reference index {folder}: {why}")


class ReferenceIndex:
    """A merchant's references, indexed for retrieval; implements ``ReferenceCatalogue``.

    Use ``ReferenceIndex(folder)`` for a new (or in-memory, ``folder=None``) catalogue,
    :meth:`open` to load a saved one, :meth:`add` per reference, :meth:`save` to persist.
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        hash_index_kind: str | None = None,
        words_per_reference: int = WORDS_PER_REFERENCE,
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.words_per_reference = words_per_reference
        self._stride = _STORED_VARIANTS
        self._kind = hash_index_kind or default_hash_index_kind()
        self._hashes: HashIndex = make_index(self._kind)
        self._records: list[_Record] = []
        self._by_ref: dict[str, int] = {}
        self._by_sha: dict[str, int] = {}
        self._vocabulary: Vocabulary | None = None
        self._words: InvertedFile | None = None
        self._pending: list[int] = []  # rows with features but no words yet (no vocabulary when added)
        self._features: OrderedDict[int, LocalFeatures] = OrderedDict()
        self._evidence: OrderedDict[int, Evidence] = OrderedDict()
        self._unsaved_features: dict[int, LocalFeatures] = {}
        self._unsaved_bytes: dict[int, bytes] = {}

    # -- building --------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._by_ref

    def __iter__(self) -> Iterator[str]:
        return (r.ref_id for r in self._records)

    @property
    def vocabulary(self) -> Vocabulary | None:
        """The visual vocabulary, once trained."""
        return self._vocabulary

    def add(
        self, evidence: Evidence, ref_id: str, *, path: str | Path | None = None, features: LocalFeatures | None = None
    ) -> int:
        """Index one reference: hash it, extract (or take) its features; return its row.

        ``path``: the reference stays in that file (checked by sha256 when loaded) instead of being copied
        into the index folder. Adding the same ``ref_id`` twice is a :class:`UserInputError`; the same
        bytes under another id are stored once and both ids are kept.
        """
        if ref_id in self._by_ref:
            raise UserInputError(f"reference {ref_id!r} is already in the index", code="duplicate_reference")
        hashes = pdq_dihedral(evidence)
        feats = features if features is not None else extract_features(evidence)
        row = len(self._records)
        self._records.append(
            _Record(
                ref_id=ref_id,
                sha256=evidence.sha256,
                width=evidence.width,
                height=evidence.height,
                quality=hashes[0].quality,
                path=str(Path(path).resolve()) if path is not None else None,
            )
        )
        self._by_ref[ref_id] = row
        self._by_sha.setdefault(evidence.sha256, row)
        self._hashes.add(
            [h.value for h in hashes[: self._stride]], np.arange(row * self._stride, (row + 1) * self._stride)
        )
        self._unsaved_features[row] = feats
        if path is None:
            self._unsaved_bytes[row] = evidence.data
        self._remember(self._features, row, feats)
        self._remember(self._evidence, row, evidence)
        if self._vocabulary is not None and self._words is not None:
            self._words.add(self._reference_words(row))
        else:
            self._pending.append(row)
        return row

    def add_signatures(
        self, ref_ids: Sequence[str], hashes: npt.NDArray[np.uint8], words: Sequence[npt.NDArray[np.uint32]]
    ) -> None:
        """Import precomputed signatures (PDQ hashes ``(N, 32)`` and word ids per reference).

        For references indexed elsewhere (and the retrieval benchmark's synthetic distractors): they can be
        retrieved but have no features or pixels here, so :meth:`candidates` skips them. Needs a vocabulary.
        """
        if self._vocabulary is None or self._words is None:
            raise UserInputError("train the vocabulary before importing signatures", code="invalid_index_input")
        if hashes.shape != (len(ref_ids), HASH_BYTES) or len(words) != len(ref_ids) or self._stride != 1:
            raise UserInputError("signatures: shapes do not match the ids", code="invalid_index_input")
        start = len(self._records)
        for i, ref_id in enumerate(ref_ids):
            if ref_id in self._by_ref:
                raise UserInputError(f"reference {ref_id!r} is already in the index", code="duplicate_reference")
            self._by_ref[ref_id] = start + i
            self._records.append(_Record(ref_id, "", 0, 0, 0, has_features=False))
        ids = np.arange(start, start + len(ref_ids), dtype=np.int64)
        self._hashes.add(hashes.reshape(-1, HASH_BYTES), ids.reshape(-1))
        self._words.extend([np.unique(np.asarray(w, dtype=np.uint32)) for w in words])

    def build_words(self, *, retrain: bool = False, max_descriptors: int = 400_000, seed: int = 0) -> None:
        """Train the vocabulary (first time, or ``retrain``) on the references' features and index their words.

        Trained on at most ``max_descriptors`` descriptors sampled evenly over the references; claims are
        never used. Retraining re-quantises every reference (features are read back from disk).
        """
        rows = [i for i, r in enumerate(self._records) if r.has_features]
        if not rows:
            return
        if self._vocabulary is None or retrain:
            per_ref = max(32, max_descriptors // len(rows))
            rng = np.random.default_rng(seed)
            samples = []
            for row in rows:
                desc = self._row_features(row).descriptors
                if desc.shape[0] > per_ref:
                    desc = desc[np.sort(rng.choice(desc.shape[0], per_ref, replace=False))]
                samples.append(desc)
            self._vocabulary = train_vocabulary(np.concatenate(samples), seed=seed)
            self._words = None
            self._pending = []
        vocabulary = self._vocabulary
        if self._words is None:
            self._words = InvertedFile(vocabulary.size)
            self._words.extend([self._row_words(row) for row in range(len(self._records))])
        else:
            for row in self._pending:
                # rows are appended in order, so pending rows are exactly the newest ones
                assert row == len(self._words)
                self._words.add(self._reference_words(row))
        self._pending = []

    def _row_words(self, row: int) -> npt.NDArray[np.uint32]:
        if not self._records[row].has_features:
            raise UserInputError("cannot retrain a catalogue holding imported signatures", code="invalid_index_input")
        return self._reference_words(row)

    def _reference_words(self, row: int) -> npt.NDArray[np.uint32]:
        """Distinct words of a reference from at most ``words_per_reference`` descriptors (seeded by sha256)."""
        assert self._vocabulary is not None
        desc = self._row_features(row).descriptors
        if desc.shape[0] > self.words_per_reference:
            rng = np.random.default_rng(int(self._records[row].sha256[:16], 16))
            desc = desc[np.sort(rng.choice(desc.shape[0], self.words_per_reference, replace=False))]
        return self._vocabulary.words_of(desc)

    # -- retrieval -------------------------------------------------------------------------------------------
    def retrieve(
        self, claim: Evidence, limit: int, *, claim_features: LocalFeatures | None = None, word_pool: int = 50
    ) -> list[Candidate]:
        """The ``limit`` best references for ``claim`` with their retrieval evidence, best first."""
        if limit <= 0 or not self._records:
            return []
        if self._pending or self._words is None:
            self.build_words()
        pdq_best: dict[int, int] = {}
        variants = [variant.value for variant in pdq_dihedral(claim)]
        for matches in self._hashes.query_many(variants, max_distance=PDQ_NEAR):  # one scan for all 8
            for match in matches:
                row = match.id // self._stride
                if match.distance < pdq_best.get(row, PDQ_NEAR + 1):
                    pdq_best[row] = match.distance
        word_scores: dict[int, float] = {}
        if self._words is not None and self._vocabulary is not None:
            feats = claim_features if claim_features is not None else extract_features(claim)
            words = self._vocabulary.words_of(feats.descriptors)
            word_scores = dict(self._words.search(words, max(word_pool, limit)))
        scored = []
        for row in set(pdq_best) | set(word_scores):
            distance = pdq_best.get(row)
            words_score = word_scores.get(row, 0.0)
            bonus = 0.0 if distance is None else max(0.0, 1.0 - distance / PDQ_NEAR)
            tier = 0 if distance is not None and distance <= PDQ_MATCH else 1
            score = words_score + 0.5 * bonus
            scored.append((tier, -score if tier else distance or 0, row, distance, words_score, score))
        scored.sort(key=lambda item: (item[0], item[1], item[2]))
        return [
            Candidate(self._records[row].ref_id, row, distance, round(ws, 6), round(score, 6))
            for _, _, row, distance, ws, score in scored[:limit]
        ]

    def candidates(self, claim: Evidence, *, limit: int) -> Sequence[Evidence]:
        """``ReferenceCatalogue``: the references most likely to be the source of ``claim``, best first.

        Each is a full :class:`Evidence` named by its ref id, loaded lazily from the stored bytes or file;
        :meth:`features` returns its cached features. References whose file has gone or changed are
        skipped (never a wrong image under a right name).
        """
        out: list[Evidence] = []
        for candidate in self.retrieve(claim, limit * 2):
            if len(out) >= limit:
                break
            evidence = self._load_evidence(candidate.row)
            if evidence is not None:
                out.append(evidence)
        return out

    def features(self, reference: Evidence) -> LocalFeatures | None:
        """Cached features of a reference in this index (matched by sha256), else ``None``.

        The ``reference`` check's ``FeatureSource``: it registers candidates without re-extracting them.
        """
        row = self._by_sha.get(reference.sha256)
        return None if row is None or not self._records[row].has_features else self._row_features(row)

    features_for = features

    def ref_id_of(self, evidence: Evidence) -> str | None:
        """The ref id of a reference in this index (by sha256)."""
        row = self._by_sha.get(evidence.sha256)
        return None if row is None else self._records[row].ref_id

    def _row_features(self, row: int) -> LocalFeatures:
        """Features of reference ``row`` (memory cache, else the folder)."""
        cached = self._features.get(row)
        if cached is not None:
            self._features.move_to_end(row)
            return cached
        unsaved = self._unsaved_features.get(row)
        if unsaved is not None:
            return unsaved
        record = self._records[row]
        if not record.has_features or self.folder is None:
            raise UserInputError(f"reference {record.ref_id!r} has no stored features", code="invalid_index_input")
        file = self.folder / "features" / f"{record.sha256}.npz"
        try:
            with np.load(file, allow_pickle=False) as npz:
                feats = LocalFeatures.from_arrays({k: np.asarray(npz[k]) for k in npz.files})
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise _corrupt(self.folder, f"features of {record.ref_id!r} unreadable: {exc}") from exc
        self._remember(self._features, row, feats)
        return feats

    def _load_evidence(self, row: int) -> Evidence | None:
        cached = self._evidence.get(row)
        if cached is not None:
            self._evidence.move_to_end(row)
            return cached
        record = self._records[row]
        if not record.has_features:
            return None
        source: bytes | Path | None = self._unsaved_bytes.get(row)
        if source is None:
            if record.path is not None:
                source = Path(record.path)
            elif self.folder is not None:
                source = self.folder / "images" / record.sha256
        if source is None:
            return None
        try:
            evidence = read_evidence(source, name=record.ref_id)
        except (CorruptEvidence, UserInputError):
            return None
        if evidence.sha256 != record.sha256:
            return None  # the file changed since indexing: its features and hashes no longer describe it
        self._remember(self._evidence, row, evidence)
        return evidence

    @staticmethod
    def _remember(cache: OrderedDict[int, Any], row: int, value: Any) -> None:
        cache[row] = value
        cache.move_to_end(row)
        while len(cache) > _CACHE:
            cache.popitem(last=False)

    # -- persistence -----------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write everything new to the folder; ``catalogue.json`` last, so a crash leaves the old one valid."""
        if self.folder is None:
            raise UserInputError("this reference index has no folder", code="invalid_index_input")
        if any(not r.has_features for r in self._records):
            raise UserInputError("imported signatures are not persisted", code="invalid_index_input")
        self.build_words()
        folder = self.folder
        (folder / "features").mkdir(parents=True, exist_ok=True)
        (folder / "images").mkdir(parents=True, exist_ok=True)
        for row, feats in self._unsaved_features.items():
            _atomic_npz(folder / "features" / f"{self._records[row].sha256}.npz", feats.to_arrays())
        for row, data in self._unsaved_bytes.items():
            _atomic_bytes(folder / "images" / self._records[row].sha256, data)
        self._hashes.save(folder / "hashes.npz")
        words_arrays: dict[str, npt.NDArray[Any]] = {}
        if self._vocabulary is not None and self._words is not None:
            rows = [self._words.words(i) for i in range(len(self._words))]
            words_arrays = {
                "coarse": self._vocabulary.coarse,
                "fine": self._vocabulary.fine,
                "indptr": np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int64),
                "words": np.concatenate(rows).astype(np.uint32) if rows else np.zeros(0, np.uint32),
            }
            _atomic_npz(folder / "words.npz", words_arrays)
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "features_version": FEATURES_VERSION,
            "hash_index": self._hashes.kind,
            "words_per_reference": self.words_per_reference,
            "hashes_per_reference": self._stride,
            "hashes_sha256": _file_digest(folder / "hashes.npz"),
            "words_sha256": _file_digest(folder / "words.npz") if words_arrays else None,
            "vocabulary_sha256": self._vocabulary.digest if self._vocabulary is not None else None,
            "references": [r.to_json() for r in self._records],
        }
        _atomic_bytes(folder / "catalogue.json", json.dumps(header, indent=1).encode("utf-8"))
        self._unsaved_features.clear()
        self._unsaved_bytes.clear()

    @classmethod
    def open(cls, folder: str | Path, *, hash_index_kind: str | None = None) -> ReferenceIndex:
        """Load a saved catalogue; :class:`CorruptIndex` if anything is missing, altered or of another version."""
        root = Path(folder)
        try:
            header = json.loads((root / "catalogue.json").read_bytes().decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise _corrupt(root, f"catalogue.json unreadable: {exc}") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise _corrupt(root, f"not a {FORMAT_NAME} folder")
        if header.get("version") != FORMAT_VERSION:
            raise CorruptIndex(
                f"reference index {root}: {FORMAT_NAME} version {header.get('version')!r} is not supported "
                f"(this Proofdesk reads version {FORMAT_VERSION}); rebuild it with `proofdesk index build`",
                code="unsupported_index_version",
            )
        if header.get("features_version") != FEATURES_VERSION:
            raise CorruptIndex(
                f"reference index {root}: built with features version {header.get('features_version')!r}, "
                f"this Proofdesk extracts version {FEATURES_VERSION}; rebuild it",
                code="unsupported_index_version",
            )
        if _file_digest(root / "hashes.npz") != header.get("hashes_sha256"):
            raise _corrupt(root, "hashes.npz missing or altered")
        index = cls(
            root,
            hash_index_kind=hash_index_kind or str(header.get("hash_index", "")) or None,
            words_per_reference=int(header.get("words_per_reference", WORDS_PER_REFERENCE)),
        )
        try:
            records = [
                _Record(
                    ref_id=str(r["ref_id"]),
                    sha256=str(r["sha256"]),
                    width=int(r["width"]),
                    height=int(r["height"]),
                    quality=int(r["quality"]),
                    path=r.get("path"),
                    has_features=bool(r.get("has_features", True)),
                )
                for r in header["references"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(root, f"bad reference record: {exc}") from exc
        index._hashes = load_index(root / "hashes.npz", kind=index._kind)
        index._stride = int(header.get("hashes_per_reference", 8))
        if index._stride not in (1, 8) or len(index._hashes) != len(records) * index._stride:
            raise _corrupt(root, f"hashes.npz holds {len(index._hashes)} hashes for {len(records)} references")
        if index._stride == 8:  # early folders stored all 8 dihedral hashes; the first is the reference's own
            own = make_index(index._kind)
            own.add(index._hashes.hashes()[::8], np.arange(len(records), dtype=np.int64))
            index._hashes, index._stride = own, 1
        index._records = records
        index._by_ref = {r.ref_id: i for i, r in enumerate(records)}
        index._by_sha = {}
        for i, r in enumerate(records):
            index._by_sha.setdefault(r.sha256, i)
        if header.get("words_sha256") is not None:
            if _file_digest(root / "words.npz") != header.get("words_sha256"):
                raise _corrupt(root, "words.npz missing or altered")
            with np.load(root / "words.npz", allow_pickle=False) as npz:
                vocabulary = Vocabulary(coarse=np.asarray(npz["coarse"]), fine=np.asarray(npz["fine"]))
                indptr, words = np.asarray(npz["indptr"]), np.asarray(npz["words"], dtype=np.uint32)
            if vocabulary.digest != header.get("vocabulary_sha256") or indptr.shape != (len(records) + 1,):
                raise _corrupt(root, "words.npz does not match the catalogue")
            index._vocabulary = vocabulary
            index._words = InvertedFile(vocabulary.size)
            index._words.extend([words[indptr[i] : indptr[i + 1]] for i in range(len(records))])
        else:
            index._pending = list(range(len(records)))
        return index


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _atomic_npz(path: Path, arrays: dict[str, npt.NDArray[Any]]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    _atomic_bytes(path, buffer.getvalue())
