"""The signal contract: evidence -> a short comparable string (a perceptual hash), and how to compare two.

Where it sits: a check (``reuse``, ``reference``) or a bank turns evidence into a signal with
:meth:`SignalType.hash`, stores or indexes it (``proofdesk.signals.index``) and later compares signals with
:meth:`SignalType.compare`. Shape taken from ThreatExchange ``signal_type/signal_base.py``.

Why signals are plain ``str``: they travel through JSON reports, databases and HTTP unchanged, and the
signal type (``name``) says how to read them. Indexes work on the packed ``bytes`` form for speed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from proofdesk.evidence import Evidence

__all__ = ["Comparison", "SignalType"]


@dataclass(frozen=True)
class Comparison:
    """Result of comparing two signals: whether they match under the threshold used, and how far apart."""

    match: bool
    distance: int
    threshold: int


class SignalType(ABC):
    """One kind of signal (PDQ, ...). Stateless; all methods are class-level."""

    #: Stable name used in stored rows and reports; never change it for an existing type.
    name: ClassVar[str]
    #: Default match threshold (inclusive) on :meth:`compare`'s distance.
    default_threshold: ClassVar[int]

    @classmethod
    @abstractmethod
    def hash(cls, evidence: Evidence) -> str:
        """The signal of one evidence image."""

    @classmethod
    @abstractmethod
    def validate(cls, signal: str) -> str:
        """Return the canonical form of ``signal`` or raise :class:`~proofdesk.errors.UserInputError`."""

    @classmethod
    @abstractmethod
    def distance(cls, a: str, b: str) -> int:
        """Distance between two valid signals (0 = identical)."""

    @classmethod
    def compare(cls, a: str, b: str, *, threshold: int | None = None) -> Comparison:
        """Compare two signals; ``match`` when the distance is at most ``threshold`` (default per type)."""
        limit = cls.default_threshold if threshold is None else threshold
        dist = cls.distance(cls.validate(a), cls.validate(b))
        return Comparison(match=dist <= limit, distance=dist, threshold=limit)
