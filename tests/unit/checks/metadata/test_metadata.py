"""The metadata check on real JPEG files written with EXIF (Pillow), against known timelines and siblings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PIL import Image

from proofdesk.checks.base import CheckContext, OrderTimeline
from proofdesk.checks.metadata import MetadataCheck, capture_trace
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence, read_evidence
from tests.conftest import PROVENANCE, encode, photo_like

CHECK = MetadataCheck.from_config({})
TIMELINE = OrderTimeline(
    shipped_at=datetime(2026, 11, 10, 8, 0, tzinfo=UTC),
    delivered_at=datetime(2026, 11, 12, 15, 0, tzinfo=UTC),
    filed_at=datetime(2026, 11, 13, 9, 0, tzinfo=UTC),
)


def _photo(
    *, make: str | None = "Xiaomi", model: str | None = "23127PN0CC", taken: str | None = "2026:11:12 20:30:00",
    offset: str | None = "+08:00", size: tuple[int, int] = (320, 240), seed: int = 0,
) -> Evidence:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    sub = exif.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    data = encode(photo_like(size[1], size[0], seed=seed), "JPEG", quality=90, exif=exif.tobytes())
    return read_evidence(data, name="claim.jpg")


def test_capture_trace_reads_exif() -> None:
    trace = capture_trace(_photo())
    assert trace.device == "Xiaomi 23127PN0CC"
    assert trace.taken == datetime(2026, 11, 12, 20, 30, tzinfo=trace.taken.tzinfo)  # type: ignore[union-attr]
    assert trace.offset_known and trace.is_camera


def test_taken_after_delivery_is_consistent() -> None:
    # 23:30 at +08:00 is 15:30 UTC, half an hour after delivery.
    finding = CHECK.run(_photo(taken="2026:11:12 23:30:00"), CheckContext(timeline=TIMELINE))
    assert finding.label == "consistent"
    assert finding.score == 0.0


def test_taken_before_delivery() -> None:
    finding = CHECK.run(_photo(taken="2026:11:11 10:00:00"), CheckContext(timeline=TIMELINE))
    assert finding.label == "taken_before_delivery"
    assert finding.score == 0.5
    assert finding.measurements["hours_before_delivery"] == pytest.approx(37.0)  # 02:00 UTC, 37 h early
    assert finding.measurements["exif_datetime_original"] == "2026:11:11 10:00:00"


def test_taken_before_shipping_scores_higher() -> None:
    finding = CHECK.run(_photo(taken="2026:11:01 10:00:00"), CheckContext(timeline=TIMELINE))
    assert finding.label == "taken_before_delivery"
    assert finding.score == 0.6
    assert "before the parcel was shipped" in finding.summary


def test_unknown_offset_widens_the_margin() -> None:
    # 10 h before delivery in naive local time could be a timezone effect: no alarm without an offset...
    naive = CHECK.run(_photo(taken="2026:11:12 05:00:00", offset=None), CheckContext(timeline=TIMELINE))
    assert naive.label == "consistent"
    assert naive.thresholds["margin_hours"] == 16.0
    # ...but with a recorded UTC offset it is 10 h early.
    aware = CHECK.run(_photo(taken="2026:11:12 05:00:00", offset="+00:00"), CheckContext(timeline=TIMELINE))
    assert aware.label == "taken_before_delivery"


def test_inconsistent_devices_across_siblings() -> None:
    siblings = (_photo(make="Apple", model="iPhone 15", seed=1), _photo(make="Apple", model="iPhone 15", seed=2))
    finding = CHECK.run(_photo(), CheckContext(siblings=siblings))
    assert finding.label == "inconsistent_devices"
    assert "Apple iPhone 15" in finding.summary
    same = CHECK.run(_photo(make="Apple", model="iPhone 15"), CheckContext(siblings=siblings))
    assert same.label == "consistent"


def test_stripped_among_siblings_with_exif() -> None:
    siblings = (_photo(seed=1),)
    finding = CHECK.run(_photo(make=None, model=None, taken=None, offset=None), CheckContext(siblings=siblings))
    assert finding.label == "stripped"
    assert finding.score == 0.3


def test_stripped_phone_resolution_photo() -> None:
    finding = CHECK.run(_photo(make=None, model=None, taken=None, offset=None, size=(3200, 2400)), CheckContext())
    assert finding.label == "stripped"
    small = CHECK.run(_photo(make=None, model=None, taken=None, offset=None), CheckContext())
    assert small.label == "no_metadata"
    assert small.score == 0.0


def test_garbage_datetime_is_not_a_crash() -> None:
    finding = CHECK.run(_photo(taken="not a date at all"), CheckContext(timeline=TIMELINE))
    assert finding.label == "consistent"
    assert finding.measurements["exif_datetime_original"] == "not a date at all"


def test_real_fixture_with_camera_exif() -> None:
    finding = CHECK.run(read_evidence(PROVENANCE / "c2pa" / "A.jpg"), CheckContext())
    assert finding.label in ("consistent", "no_metadata")


def test_config_validation() -> None:
    with pytest.raises(InvalidSettings):
        MetadataCheck.from_config({"clock_tolerance_hours": -1})
    with pytest.raises(InvalidSettings):
        MetadataCheck.from_config({"nope": 1})
