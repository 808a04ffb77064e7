"""Messages in English and Simplified Chinese for the console and the evidence report.

One catalogue per language (``messages/en.json``, ``messages/zh.json``), keyed by a dotted name. A missing
key in Chinese falls back to English, and a key missing from both is shown as the key itself, so a gap is
visible on the page instead of crashing it; ``tests/unit/console`` asserts both catalogues have the same keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

from proofdesk.checks.base import Finding

__all__ = ["LANGUAGES", "Lang", "Translator", "catalogue", "finding_sentence", "negotiate", "translator"]

Lang = Literal["en", "zh"]
LANGUAGES: Final[tuple[Lang, ...]] = ("en", "zh")


@cache
def catalogue(lang: Lang) -> Mapping[str, str]:
    """The messages of one language."""
    text = resources.files("proofdesk.dossier").joinpath("messages", f"{lang}.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


class Translator:
    """``t("queue.title")`` or ``t("case.deadline", hours=3)`` in one language."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang
        self._own = catalogue(lang)
        self._fallback = catalogue("en")

    def __call__(self, key: str, /, **values: Any) -> str:
        text = self._own.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether either catalogue knows ``key`` (for optional labels such as check labels)."""
        return key in self._own or key in self._fallback


def translator(lang: str) -> Translator:
    """A translator for ``lang`` (anything that is not Chinese gets English)."""
    return Translator("zh" if lang.lower().startswith("zh") else "en")


def negotiate(accept_language: str | None, chosen: str | None = None) -> Lang:
    """The language to use: an explicit choice (cookie or ?lang=) wins, else the best Accept-Language match."""
    if chosen:
        return "zh" if chosen.lower().startswith("zh") else "en"
    best: tuple[float, Lang] = (0.0, "en")
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        tag = tag.strip().lower()
        lang: Lang | None = "zh" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if lang is not None and quality > best[0]:
            best = (quality, lang)
    return best[1]


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def finding_sentence(finding: Finding, t: Translator) -> str:
    """One plain sentence: which check, what it concluded, what it measured against which threshold.

    Measurements with a threshold of the same name come first, each as "value (threshold t)", so the reader
    sees at a glance how far over or under the line the photo was.
    """
    check = t(f"check.{finding.check}") if t.has(f"check.{finding.check}") else finding.check
    label = t(f"label.{finding.label}") if t.has(f"label.{finding.label}") else finding.label.replace("_", " ")
    pairs: list[str] = []
    for key, value in finding.measurements.items():
        if key in finding.thresholds:
            limit = _value(finding.thresholds[key])
            pairs.append(t("finding.measure_vs", name=key, value=_value(value), threshold=limit))
    for key, value in finding.measurements.items():
        if key not in finding.thresholds and len(pairs) < 4:
            pairs.append(t("finding.measure", name=key, value=_value(value)))
    for key, value in finding.thresholds.items():
        if key not in finding.measurements and len(pairs) < 5:
            pairs.append(t("finding.threshold_only", name=key, threshold=_value(value)))
    measured = t("finding.separator").join(pairs) if pairs else t("finding.nothing_measured")
    return t(
        "finding.sentence",
        check=check,
        label=label,
        summary=finding.summary.rstrip("."),
        measured=measured,
        score=f"{finding.score:.2f}",
    )
