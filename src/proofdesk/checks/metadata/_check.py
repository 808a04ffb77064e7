"""The ``metadata`` check: does the capture trace fit the order timeline and the claim's other photos?

Flow: EXIF tags already extracted by ``proofdesk.evidence`` -> capture time, device and software ->
compared with ``CheckContext.timeline`` (shipped/delivered/filed) and ``CheckContext.siblings`` (the other
photos of the same claim). Scores stay modest: clocks are wrong, phones are shared, and messaging apps
strip EXIF; a person decides. Labels are documented in README.md beside this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, Final, Self

from proofdesk.checks.base import CheckContext, Finding, JSONScalar
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence

TAG_MAKE: Final = 0x010F
TAG_MODEL: Final = 0x0110
TAG_SOFTWARE: Final = 0x0131
TAG_DATETIME: Final = 0x0132
TAG_DATETIME_ORIGINAL: Final = 0x9003
TAG_OFFSET_ORIGINAL: Final = 0x9011
TAG_LENS_MODEL: Final = 0xA434

_DEFAULTS: Final[dict[str, Any]] = {
    # Capture times without a UTC offset could be in any zone from UTC-12 to UTC+14.
    "unknown_offset_tolerance_hours": 14.0,
    # With an offset, allow this much clock drift before calling a photo early.
    "clock_tolerance_hours": 2.0,
    # Long side (px) from which a JPEG/HEIF looks like a straight-from-the-phone photo.
    "phone_min_long_side": 3000,
}
SCORE_BEFORE_SHIPPING: Final = 0.6
SCORE_BEFORE_DELIVERY: Final = 0.5
SCORE_INCONSISTENT: Final = 0.3
SCORE_STRIPPED_AMONG_SIBLINGS: Final = 0.3
SCORE_STRIPPED: Final = 0.2
SCORE_AFTER_FILING: Final = 0.1


@dataclass(frozen=True)
class CaptureTrace:
    """What the EXIF says about how the photo was made."""

    make: str | None
    model: str | None
    software: str | None
    lens: str | None
    taken: datetime | None  # timezone-aware if the offset was recorded, else naive local time
    taken_raw: str | None
    offset_known: bool

    @property
    def device(self) -> str | None:
        """'Make Model', if either is known."""
        parts = [p for p in (self.make, self.model) if p]
        return " ".join(parts) if parts else None

    @property
    def is_camera(self) -> bool:
        """Make, Model and an original capture time: what a phone or camera writes."""
        return bool(self.make and self.model and self.taken_raw)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.replace("\x00", "").strip()
        return value or None
    return None


def _parse_time(raw: str | None, offset: str | None) -> tuple[datetime | None, bool]:
    if not raw:
        return None, False
    try:
        taken = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, False
    if offset:
        try:
            sign = -1 if offset.strip().startswith("-") else 1
            hours, minutes = offset.strip().lstrip("+-").split(":")
            delta = timedelta(hours=int(hours), minutes=int(minutes)) * sign
            return taken.replace(tzinfo=timezone(delta)), True
        except (ValueError, TypeError):
            pass
    return taken, False


def capture_trace(evidence: Evidence) -> CaptureTrace:
    """Read the capture trace from the evidence's EXIF tags (never raises)."""
    tags = evidence.metadata.exif_tags
    raw = _text(tags.get(TAG_DATETIME_ORIGINAL))
    taken, offset_known = _parse_time(raw, _text(tags.get(TAG_OFFSET_ORIGINAL)))
    return CaptureTrace(
        make=_text(tags.get(TAG_MAKE)),
        model=_text(tags.get(TAG_MODEL)),
        software=_text(tags.get(TAG_SOFTWARE)),
        lens=_text(tags.get(TAG_LENS_MODEL)),
        taken=taken,
        taken_raw=raw,
        offset_known=offset_known,
    )


@dataclass(frozen=True)
class _Signal:
    label: str
    score: float
    summary: str


class MetadataCheck:
    """Capture time vs order timeline, device consistency across the claim, stripped phone photos."""

    name: ClassVar[str] = "metadata"
    version: ClassVar[str] = "1"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Validate overrides against the defaults."""
        unknown = set(config) - set(_DEFAULTS)
        if unknown:
            raise InvalidSettings(f"metadata: unknown option(s) {', '.join(sorted(unknown))}")
        merged = {**_DEFAULTS, **config}
        for key, value in merged.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise InvalidSettings(f"metadata: {key} must be a non-negative number")
        return cls(merged)

    def _margin(self, trace: CaptureTrace) -> timedelta:
        hours = self.config["clock_tolerance_hours"]
        if not trace.offset_known:
            hours += self.config["unknown_offset_tolerance_hours"]
        return timedelta(hours=hours)

    def _as_utc(self, trace: CaptureTrace) -> datetime | None:
        if trace.taken is None:
            return None
        # Without an offset we compare as if UTC and widen the margin by the largest possible zone offset.
        return trace.taken if trace.offset_known else trace.taken.replace(tzinfo=UTC)

    def run(self, claim: Evidence, context: CheckContext) -> Finding:
        """Compare the claim's capture trace with the timeline and siblings."""
        trace = capture_trace(claim)
        siblings = [capture_trace(s) for s in context.siblings]
        measurements: dict[str, JSONScalar] = {
            "exif_make": trace.make,
            "exif_model": trace.model,
            "exif_software": trace.software,
            "exif_datetime_original": trace.taken_raw,
            "offset_known": trace.offset_known,
            "siblings": len(siblings),
        }
        thresholds: dict[str, JSONScalar] = {}
        found: list[_Signal] = []
        taken = self._as_utc(trace)
        timeline = context.timeline
        if taken is not None and timeline is not None:
            margin = self._margin(trace)
            thresholds["margin_hours"] = margin.total_seconds() / 3600
            if timeline.shipped_at is not None and taken < timeline.shipped_at - margin:
                early = timeline.shipped_at - taken
                measurements["hours_before_shipping"] = round(early.total_seconds() / 3600, 1)
                found.append(_Signal("taken_before_delivery", SCORE_BEFORE_SHIPPING,
                                     f"photo taken {trace.taken_raw} (EXIF DateTimeOriginal), "
                                     f"{early.total_seconds() / 3600:.0f} h before the parcel was shipped"))
            elif timeline.delivered_at is not None and taken < timeline.delivered_at - margin:
                early = timeline.delivered_at - taken
                measurements["hours_before_delivery"] = round(early.total_seconds() / 3600, 1)
                found.append(_Signal("taken_before_delivery", SCORE_BEFORE_DELIVERY,
                                     f"photo taken {trace.taken_raw} (EXIF DateTimeOriginal), "
                                     f"{early.total_seconds() / 3600:.0f} h before delivery"))
            if timeline.filed_at is not None and taken > timeline.filed_at + margin:
                late = taken - timeline.filed_at
                measurements["hours_after_filing"] = round(late.total_seconds() / 3600, 1)
                found.append(_Signal("taken_after_filing", SCORE_AFTER_FILING,
                                     f"EXIF capture time {trace.taken_raw} is after the claim was filed "
                                     "(camera clock wrong, or the metadata was edited)"))
        camera_siblings = [s for s in siblings if s.is_camera]
        if trace.device and camera_siblings:
            devices = Counter(s.device for s in camera_siblings)
            measurements["sibling_devices"] = ", ".join(f"{d} x{n}" for d, n in devices.most_common())
            if trace.device not in devices:
                found.append(_Signal("inconsistent_devices", SCORE_INCONSISTENT,
                                     f"this photo says {trace.device}; the claim's other photos say "
                                     f"{', '.join(str(d) for d in devices)}"))
        if not trace.is_camera and camera_siblings:
            found.append(_Signal("stripped", SCORE_STRIPPED_AMONG_SIBLINGS,
                                 f"no camera EXIF, while {len(camera_siblings)} other photo(s) of the claim carry "
                                 "it: this one was re-saved or passed through an app"))
        elif not trace.is_camera and claim.format in ("JPEG", "HEIF") and (
            max(claim.width, claim.height) >= self.config["phone_min_long_side"]
        ):
            thresholds["phone_min_long_side"] = self.config["phone_min_long_side"]
            found.append(_Signal("stripped", SCORE_STRIPPED,
                                 f"{claim.width}x{claim.height} {claim.format} at phone resolution but without "
                                 "camera EXIF (Make/Model/DateTimeOriginal): metadata removed or re-saved"))
        details: dict[str, Any] = {
            "signals": [{"label": s.label, "score": s.score, "summary": s.summary} for s in found],
            "read": {"lens": trace.lens, "siblings_with_camera_exif": len(camera_siblings)},
        }
        if found:
            top = max(found, key=lambda s: s.score)
            more = len(found) - 1
            summary = top.summary + (f" (+{more} more)" if more else "")
            return Finding(self.name, self.version, top.label, top.score, summary, measurements=measurements,
                           thresholds=thresholds, details=details)
        if not trace.device and trace.taken_raw is None:
            return Finding(self.name, self.version, "no_metadata", 0.0,
                           "no capture metadata (nothing to compare; absence alone proves nothing)",
                           measurements=measurements, thresholds=thresholds, details=details)
        what = [trace.device or "unknown device", trace.taken_raw or "no capture time"]
        return Finding(self.name, self.version, "consistent", 0.0,
                       f"capture trace fits what is known ({'; '.join(what)})",
                       measurements=measurements, thresholds=thresholds, details=details)



