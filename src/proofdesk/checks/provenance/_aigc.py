"""China's implicit AI label (GB 45438-2025 Annex E) in every placement seen in real files.

Placements read here (reference/provenance.md §1.4): XMP ``TC260:AIGC`` (element or attribute form), a PNG
text chunk whose keyword contains ``AIGC``, EXIF UserComment / ImageDescription holding ``{"AIGC": {...}}``
(also the Tencent Cloud variant), and a bare ``AIGC{...}`` segment found by scanning the head and tail of the
file. The JSON is parsed leniently (real files break the ASCII rule) but bounded: at most 16 KB per object.
The standard allows one label per file; when several placements carry one, each is reported and the
strongest decides.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from proofdesk.checks.provenance._signals import (
    SCORE_AI_DECLARED,
    SCORE_AI_POSSIBLE,
    SCORE_MALFORMED,
    Signal,
    clip,
)

KEYS: Final = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
#: Keys of the Tencent Cloud ImageDescription variant.
_TENCENT_KEYS: Final = ("ServiceProvider", "ServiceUser", "Time", "ContentId")
#: 统一社会信用代码 (USCC) inside the 27-character provider code -> service, as seen in real files.
PRODUCERS_BY_USCC: Final = {
    "91110102MACQD9K640": "Doubao (豆包, ByteDance)",
    "9144030008867405X2": "Jimeng (即梦, ByteDance/Faceu)",
    "91440101MA9Y9T4H7A": "Qwen (千问, Alibaba)",
    "91110108335469089C": "Kling (可灵, Kuaishou)",
    "91440300708461136T": "Tencent (元宝/Hunyuan)",
    "91110000802100433B": "Baidu (文心)",
    "91110105MACJ6K1C8A": "LiblibAI",
    "91340100MAEB4N8H76": "RunningHub",
    "91330106MA2CFLDG4R": "Alibaba Tongyi (通义)",
}
#: Producers that write a bare name instead of a code.
_PRODUCER_NAMES: Final = {
    "doubao": "Doubao (豆包, ByteDance)",
    "kling": "Kling (可灵, Kuaishou)",
    "picwish": "PicWish",
    "minimax": "MiniMax",
    "minimax agent ai": "MiniMax",
    "jimeng": "Jimeng (即梦, ByteDance/Faceu)",
}
_LABEL_MEANING: Final = {"1": "AI generated (属于)", "2": "possibly AI (可能)", "3": "suspected AI (疑似)"}
_MAX_OBJECT: Final = 16 * 1024
_SCAN_WINDOW: Final = 512 * 1024
_TAIL_WINDOW: Final = 256 * 1024


def producer_name(code: str) -> str | None:
    """Name the service behind a ContentProducer/ContentPropagator value, where its code is known."""
    value = code.strip()
    if not value:
        return None
    for uscc, name in PRODUCERS_BY_USCC.items():
        if uscc in value.upper():
            return name
    return _PRODUCER_NAMES.get(value.lower())


def _balanced_object(text: str, start: int) -> str | None:
    """The JSON object starting at ``text[start] == '{'``, honouring strings; None if unbalanced or huge."""
    depth = 0
    in_string = False
    escaped = False
    end_limit = min(len(text), start + _MAX_OBJECT)
    for i in range(start, end_limit):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def parse_label(raw: str) -> dict[str, Any] | None:
    """The label object from a field value: wrapped ``{"AIGC":{...}}``, bare ``{...}`` or ``AIGC{...}``.

    Returns None when the value holds no object with at least one known key; raises ValueError with the
    reason when it looks like a label but its JSON is broken (a malformed label is itself a finding).
    """
    text = html.unescape(raw).strip().lstrip("\ufeff")
    brace = text.find("{")
    if brace < 0:
        return None
    candidate = _balanced_object(text, brace)
    if candidate is None:
        raise ValueError("unterminated or oversized JSON object")
    try:
        obj = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at {exc.pos})") from exc
    if not isinstance(obj, dict):
        return None
    inner = obj.get("AIGC", obj)
    if isinstance(inner, str):  # some writers double-encode the inner object
        try:
            inner = json.loads(inner)
        except json.JSONDecodeError:
            return None
    if not isinstance(inner, dict):
        return None
    if any(k in inner for k in KEYS) or any(k in inner for k in _TENCENT_KEYS):
        return {str(k): v for k, v in inner.items()}
    return None


def label_signal(fields: Mapping[str, Any], source: str, raw: str) -> Signal:
    """Turn parsed label fields into a signal with the producer named where known."""
    label_value = str(fields.get("Label", "")).strip()
    producer_code = str(fields.get("ContentProducer", "") or fields.get("ServiceProvider", "")).strip()
    propagator_code = str(fields.get("ContentPropagator", "")).strip()
    producer = producer_name(producer_code)
    propagator = producer_name(propagator_code)
    detail: dict[str, Any] = {k: clip(fields[k], 120) for k in (*KEYS, *_TENCENT_KEYS) if k in fields}
    detail["producer_name"] = producer
    detail["propagator_name"] = propagator
    who = producer or (producer_code and f"producer {clip(producer_code, 40)}") or "unnamed producer"
    if label_value == "1":
        label, score = "ai_generated", SCORE_AI_DECLARED
        summary = f"China AIGC label: Label 1 = AI generated, by {who}"
    elif label_value in ("2", "3"):
        label, score = "ai_possible", SCORE_AI_POSSIBLE
        summary = f"China AIGC label: Label {label_value} = {_LABEL_MEANING[label_value]}, by {who}"
    elif "ServiceProvider" in fields or label_value.upper() == "AIGC":
        # Tencent Cloud variant and MiniMax's non-standard "Label":"AIGC": written only on generated content.
        label, score = "ai_generated", SCORE_AI_DECLARED - 0.05
        summary = f"China AIGC label (non-standard form) by {who}"
    else:
        label, score = "ai_possible", SCORE_AI_POSSIBLE
        summary = f"China AIGC label with unknown Label value {label_value!r}, by {who}"
    detail["label_meaning"] = _LABEL_MEANING.get(label_value, "non-standard")
    return Signal("aigc_label", label, score, source, clip(raw), summary, detail)


def _from_value(raw: str, source: str) -> list[Signal]:
    try:
        fields = parse_label(raw)
    except ValueError as exc:
        return [
            Signal("malformed", "none", SCORE_MALFORMED, source, clip(raw),
                   f"AIGC label present but unreadable: {exc}")
        ]
    return [label_signal(fields, source, raw)] if fields is not None else []


def read_labels(
    *,
    xmp_values: Iterable[tuple[str, str]],
    text_chunks: Mapping[str, str],
    exif_strings: Iterable[tuple[str, str]],
    data: bytes,
    head_end: int | None = None,
) -> list[Signal]:
    """Every AIGC label in the file. ``xmp_values``/``exif_strings`` are (source, value) pairs.

    ``head_end`` bounds the head scan (for JPEG: the end of the header segments, where APPn segments live).
    """
    signals: list[Signal] = []
    for source, value in xmp_values:
        signals += _from_value(value, source)
    for key, value in text_chunks.items():
        if "AIGC" in key.upper():
            signals += _from_value(value, f"PNG text chunk {key}")
    for source, value in exif_strings:
        if "AIGC" in value:
            signals += _from_value(value, source)
    if not signals:
        signals += scan_bytes(data, head_end=head_end)
    return signals


# ``AIGC{``, ``"AIGC":{``, and the XMP forms ``AIGC>{`` / ``AIGC="{`` when the packet itself was refused.
_BARE = re.compile(rb"AIGC\"?\s*[:=>]?\s*\"?(\{)")


def scan_bytes(data: bytes, *, head_end: int | None = None) -> list[Signal]:
    """Bare ``AIGC{...}`` (or ``"AIGC":{...}``) in the head and the last 512 KB, for placements no parser reads.

    One ``find`` of ``AIGC`` per window (every marker contains it) keeps this under a millisecond on 12 MP.
    """
    head_size = min(_SCAN_WINDOW, head_end) if head_end is not None else _SCAN_WINDOW
    head = data[:head_size]
    tail = data[-_TAIL_WINDOW:] if len(data) > head_size + _TAIL_WINDOW else data[head_size:]
    signals: list[Signal] = []
    for where, chunk in (("head", head), ("tail", tail)):
        if chunk.find(b"AIGC") < 0:
            continue
        for match in _BARE.finditer(chunk):
            start = match.start(1)
            text = chunk[start : start + _MAX_OBJECT].decode("utf-8", "replace")
            found = _from_value(text, f"bare AIGC segment in file {where} at byte "
                                f"{start if where == 'head' else len(data) - len(chunk) + start}")
            if found:
                signals += found
                break
    return signals
