"""Visual words: a SIFT vocabulary and an inverted file, for retrieving references by shared local features.

Where it sits: inside the reference catalogue (``proofdesk.signals.catalogue``). A whole-image hash (PDQ)
finds a claim that shows the whole reference, but not one cropped to 30% of it, pasted into another scene
or photographed on a screen. Local features survive those, so each reference's SIFT descriptors
(``proofdesk.signals.features``, cached anyway for registration) are quantised to visual words and the
claim's words vote for the references that share them (tf-idf, Sivic & Zisserman 2003; the vocabulary is a
two-level hierarchical k-means, Nistér & Stewénius 2006, so quantising 2,000 descriptors costs ~2 ms).

Design choices, and why:

* The vocabulary is trained on the catalogue's own reference descriptors (never on claims), when the
  catalogue is built. No model file ships with Proofdesk, and the words fit the merchant's products.
* Postings are binary (a word counts once per image): repeated textures (fabric, grass) would otherwise
  dominate the score ("burstiness").
* Scores are cosine similarities of idf-weighted binary vectors; a reference's norm is precomputed, so a
  query touches only the postings of its own words.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["InvertedFile", "Vocabulary", "train_vocabulary"]

Float32Array = npt.NDArray[np.float32]
WordArray = npt.NDArray[np.uint32]

#: Cap on the words of one side: 256 x 256 leaves.
MAX_BRANCH: Final = 256
#: Words in more than this share of the images are stop words (never vote), unless in fewer than STOP_MIN_DF.
STOP_FRACTION: Final = 0.05
STOP_MIN_DF: Final = 50
#: Below this many descriptors per word the leaves are mostly noise; the vocabulary is made smaller instead.
_MIN_POINTS_PER_WORD: Final = 6


def root_sift(descriptors: npt.NDArray[np.generic]) -> Float32Array:
    """RootSIFT (L1-normalise, square root): L2 on it behaves like the Hellinger kernel on SIFT."""
    desc = np.asarray(descriptors, dtype=np.float32)
    desc = desc / (desc.sum(axis=1, keepdims=True) + 1e-7)
    return np.asarray(np.sqrt(desc), dtype=np.float32)


def _kmeans(points: Float32Array, k: int, seed: int) -> Float32Array:
    """k-means centres (OpenCV, k-means++ init, deterministic through ``cv2.setRNGSeed``)."""
    k = max(1, min(k, points.shape[0]))
    if k == points.shape[0]:
        return points.copy()
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 12, 1e-3)
    labels = np.zeros((points.shape[0], 1), dtype=np.int32)
    _, _, centres = cv2.kmeans(points, k, labels, criteria, 1, cv2.KMEANS_PP_CENTERS)
    return np.asarray(centres, dtype=np.float32)


def _half_norms(centres: Float32Array) -> Float32Array:
    return np.asarray(0.5 * np.einsum("...j,...j->...", centres, centres), dtype=np.float32)


def _nearest(
    points: Float32Array, centres: Float32Array, half_norms: Float32Array | None = None
) -> npt.NDArray[np.int64]:
    # ||p - c||^2 = ||p||^2 - 2 p.c + ||c||^2; the ||p||^2 term does not change the argmin.
    scores = points @ centres.T
    scores -= (half_norms if half_norms is not None else _half_norms(centres))[None, :]
    return np.asarray(scores.argmax(axis=1), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """A two-level vocabulary: ``coarse`` (B1, 128) centres, each with up to B2 ``fine`` (B1, B2, 128) centres.

    Word id = coarse * B2 + fine. Cells with fewer than B2 children pad with copies of their first child
    (never nearest-unique, so padded ids simply never occur).
    """

    coarse: Float32Array
    fine: Float32Array
    _norms: tuple[Float32Array, Float32Array] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.coarse.ndim != 2 or self.fine.ndim != 3 or self.fine.shape[0] != self.coarse.shape[0]:
            raise ValueError(f"vocabulary shapes do not match: {self.coarse.shape} / {self.fine.shape}")

    @property
    def size(self) -> int:
        """Number of word ids (coarse x fine)."""
        return int(self.fine.shape[0] * self.fine.shape[1])

    @property
    def digest(self) -> str:
        """sha256 of the centres: postings made with another vocabulary are meaningless."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.coarse).tobytes())
        digest.update(np.ascontiguousarray(self.fine).tobytes())
        return digest.hexdigest()

    def quantize(self, descriptors: npt.NDArray[np.generic]) -> WordArray:
        """Word id of every SIFT descriptor row (raw SIFT in, RootSIFT inside)."""
        if len(descriptors) == 0:
            return np.zeros(0, dtype=np.uint32)
        if self._norms is None:  # computed once per vocabulary: ~1/3 of the quantising time otherwise
            object.__setattr__(self, "_norms", (_half_norms(self.coarse), _half_norms(self.fine)))
        coarse_norms, fine_norms = self._norms  # type: ignore[misc]
        points = root_sift(descriptors)
        top = _nearest(points, self.coarse, coarse_norms)
        words = np.empty(points.shape[0], dtype=np.int64)
        branch = self.fine.shape[1]
        order = np.argsort(top, kind="stable")
        cells, starts = np.unique(top[order], return_index=True)
        ends = np.append(starts[1:], order.size)
        for cell, start, end in zip(cells.tolist(), starts.tolist(), ends.tolist(), strict=True):
            rows = order[start:end]
            words[rows] = cell * branch + _nearest(points[rows], self.fine[cell], fine_norms[cell])
        return words.astype(np.uint32)

    def words_of(self, descriptors: npt.NDArray[np.generic]) -> WordArray:
        """The distinct words of one image, sorted (binary bag of words)."""
        return np.unique(self.quantize(descriptors))


def train_vocabulary(
    descriptors: npt.NDArray[np.generic], *, max_words: int = MAX_BRANCH * MAX_BRANCH, seed: int = 0
) -> Vocabulary:
    """Hierarchical k-means over SIFT descriptors (uint8 or float, any count >= 1).

    The size adapts to the data: about one word per :data:`_MIN_POINTS_PER_WORD` descriptors, split evenly
    between the two levels, at most ``max_words``.
    """
    points = root_sift(descriptors)
    if points.shape[0] == 0:
        raise ValueError("cannot train a vocabulary without descriptors")
    words = max(1, min(max_words, points.shape[0] // _MIN_POINTS_PER_WORD))
    branch = max(1, min(MAX_BRANCH, math.isqrt(words)))
    coarse = _kmeans(points, branch, seed)
    top = _nearest(points, coarse)
    fine = np.empty((coarse.shape[0], branch, points.shape[1]), dtype=np.float32)
    for cell in range(coarse.shape[0]):
        members = points[top == cell]
        if members.shape[0] == 0:
            members = coarse[cell : cell + 1]
        centres = _kmeans(np.ascontiguousarray(members), branch, seed + 1 + cell)
        fine[cell, : centres.shape[0]] = centres
        fine[cell, centres.shape[0] :] = centres[0]
    return Vocabulary(coarse=coarse, fine=fine)


class InvertedFile:
    """Word -> images postings with idf weights; images are rows 0..N-1 in insertion order.

    Add images with :meth:`add` (their distinct words); :meth:`search` rebuilds the postings lazily after
    additions (one argsort over all postings; ~1 s per 10 M postings).
    """

    def __init__(self, vocabulary_size: int) -> None:
        self._size = vocabulary_size
        self._rows: list[WordArray] = []
        self._df = np.zeros(vocabulary_size, dtype=np.int64)
        self._postings: npt.NDArray[np.uint32] | None = None
        self._offsets: npt.NDArray[np.int64] | None = None
        self._norms: Float32Array | None = None
        self._idf: Float32Array | None = None

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def vocabulary_size(self) -> int:
        """Number of word ids this file accepts."""
        return self._size

    def words(self, row: int) -> WordArray:
        """The stored distinct words of image ``row``."""
        return self._rows[row]

    def add(self, words: npt.ArrayLike) -> int:
        """Append one image's words (duplicates removed); return its row."""
        distinct = np.unique(np.asarray(words, dtype=np.uint32))
        if distinct.size and int(distinct[-1]) >= self._size:
            raise ValueError(f"word id {int(distinct[-1])} outside the vocabulary of {self._size}")
        self._rows.append(distinct)
        self._df[distinct] += 1
        self._postings = None
        return len(self._rows) - 1

    def extend(self, rows: Sequence[WordArray]) -> None:
        """Append many images' (already distinct, sorted) words at once."""
        for words in rows:
            if words.size and int(words.max()) >= self._size:
                raise ValueError(f"word id {int(words.max())} outside the vocabulary of {self._size}")
        self._rows.extend(np.asarray(w, dtype=np.uint32) for w in rows)
        if rows:
            self._df += np.bincount(np.concatenate(rows).astype(np.int64), minlength=self._size)
        self._postings = None

    def _build(self) -> None:
        count = len(self._rows)
        lengths = np.fromiter((r.size for r in self._rows), dtype=np.int64, count=count)
        flat = np.concatenate(self._rows) if count else np.zeros(0, np.uint32)
        owners = np.repeat(np.arange(count, dtype=np.uint32), lengths)
        order = np.argsort(flat, kind="stable")
        self._postings = owners[order]
        self._offsets = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=self._size))]).astype(np.int64)
        idf = np.log((count + 1) / (self._df + 1)).astype(np.float32)
        self._idf = idf
        weights = (idf**2)[flat]
        row_sum = np.bincount(np.repeat(np.arange(count), lengths), weights=weights, minlength=count)
        self._norms = np.sqrt(row_sum).astype(np.float32) + 1e-6

    def search(self, words: npt.ArrayLike, k: int, *, max_words: int = 800) -> list[tuple[int, float]]:
        """The ``k`` best rows by cosine similarity of idf-weighted binary word vectors, best first.

        Only the query's ``max_words`` most distinctive words (highest idf) vote, and words found in more
        than :data:`STOP_FRACTION` of the images never do: they carry almost no information but have the
        longest posting lists, so this bounds the time per query at large catalogues.
        """
        if self._postings is None:
            self._build()
        assert self._postings is not None and self._offsets is not None
        assert self._idf is not None and self._norms is not None
        count = len(self._rows)
        query = np.unique(np.asarray(words, dtype=np.int64))
        query = query[(query >= 0) & (query < self._size)]
        if query.size == 0 or count == 0:
            return []
        df = self._df[query]
        query = query[(df > 0) & (df <= max(STOP_MIN_DF, STOP_FRACTION * count))]
        if query.size > max_words:
            query = query[np.argsort(-self._idf[query], kind="stable")[:max_words]]
        if query.size == 0:
            return []
        starts, ends = self._offsets[query], self._offsets[query + 1]
        owners = np.concatenate([self._postings[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])
        weights = np.repeat(self._idf[query] ** 2, ends - starts)
        scores = np.bincount(owners, weights=weights, minlength=count).astype(np.float32)
        query_norm = float(np.sqrt(np.sum(self._idf[query] ** 2))) + 1e-6
        scores /= self._norms * query_norm
        k = min(k, scores.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
