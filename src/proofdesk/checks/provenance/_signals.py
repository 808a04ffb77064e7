"""What every provenance reader returns: a :class:`Signal` naming the field and the value it read.

Each reader (C2PA, China AIGC label, XMP, generator metadata, vendor EXIF, watermark, visible label) turns one
place in the file into zero or more signals; ``_check`` keeps them all in the finding's details and lets the
strongest one decide the label and score. Scores are fixed per kind of evidence (see the README table), not
tuned on fixtures: they encode how directly the field states AI involvement, and how hard it is to fake by
accident.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: Provenance labels (DESIGN.md §4), strongest claim first; ties in score are broken in this order.
LABEL_ORDER: Final = (
    "ai_generated",
    "ai_edited",
    "tampered_credential",
    "ai_possible",
    "signed_edit",
    "signed_capture",
    "none",
)

#: Fixed scores per kind of evidence. Positive-only: nothing here is ever below 0 or lowers another signal.
SCORE_AI_DECLARED: Final = 0.95  # a signed or standard label says "AI generated/edited" (C2PA, TC260 Label 1)
SCORE_AI_EDIT_DECLARED: Final = 0.9  # a signed or standard label says "AI-edited composite"
SCORE_AI_METADATA: Final = 0.9  # generator parameters/workflow, IPTC trainedAlgorithmicMedia
SCORE_AI_VENDOR: Final = 0.85  # vendor-specific trace (Grok signature, Samsung genAIType, ByteDance aigc_info)
SCORE_TAMPERED: Final = 0.8  # a content credential whose bytes changed after signing
SCORE_VISIBLE_LABEL: Final = 0.8  # "AI生成"-style text read by OCR near an edge
SCORE_WATERMARK: Final = 0.8  # open DWT-DCT watermark at or above the strict bit-match threshold
SCORE_AI_POSSIBLE: Final = 0.6  # TC260 Label 2/3 ("possibly"/"suspected"), AI beauty flags
SCORE_EDITOR: Final = 0.15  # an editing application named in EXIF/XMP: worth a look, not evidence of AI
SCORE_SIGNED_EDIT: Final = 0.05  # a valid credential recording non-AI edits
SCORE_INFO: Final = 0.0  # a fact worth showing that raises nothing (signed capture, remote manifest pointer)
SCORE_MALFORMED: Final = 0.1  # a metadata block that could not be parsed safely (entity attack, bad JSON)

_MAX_VALUE_CHARS: Final = 300


def clip(value: object, limit: int = _MAX_VALUE_CHARS) -> str:
    """A printable, bounded rendering of a field value for reports."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Signal:
    """One trace read from one place in the file."""

    #: Which reader: c2pa, aigc_label, iptc, generator, vendor, editor, watermark, visible_label, malformed.
    kind: str
    #: The provenance label this trace supports (one of LABEL_ORDER).
    label: str
    score: float
    #: Where it was read, e.g. "XMP TC260:AIGC", "PNG tEXt parameters", "EXIF 0x010E ImageDescription".
    source: str
    #: The value read there (clipped), so a reviewer can see it.
    value: str
    #: One line a reviewer can read.
    summary: str
    #: Parsed fields (producer, tool, validation codes, ...).
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Serialise for ``Finding.details``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "label": self.label,
            "score": round(self.score, 4),
            "source": self.source,
            "value": self.value,
            "summary": self.summary,
        }
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


def strongest(signals: list[Signal]) -> Signal | None:
    """The signal that decides the finding: highest score, then the stronger label."""
    if not signals:
        return None
    return max(signals, key=lambda s: (s.score, -LABEL_ORDER.index(s.label)))
