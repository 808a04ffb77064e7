"""Local features: extraction, storage round trip, matching (proofdesk.signals.features)."""

from __future__ import annotations

import numpy as np
import pytest

from proofdesk.evidence import evidence_from_array
from proofdesk.signals.features import (
    FEATURES_VERSION,
    LocalFeatures,
    extract_features,
    extract_features_array,
    ratio_matches,
)
from tests.conftest import photo_like


def test_extract_reduces_and_maps_scale() -> None:
    evidence = evidence_from_array(photo_like(600, 1600, seed=1), fmt="JPEG", quality=92)
    feats = extract_features(evidence, max_side=800, max_features=500)
    assert (feats.width, feats.height) == (800, 300)
    assert feats.scale == pytest.approx(2.0)
    assert 50 <= len(feats) <= 500
    assert feats.descriptors.dtype == np.uint8
    assert (feats.points[:, 0] < 800).all() and (feats.points[:, 1] < 300).all()


def test_round_trip_through_arrays() -> None:
    feats = extract_features_array(photo_like(200, 300, seed=2), max_features=300)
    back = LocalFeatures.from_arrays(feats.to_arrays())
    assert np.array_equal(back.keypoints, feats.keypoints)
    assert np.array_equal(back.descriptors, feats.descriptors)
    assert (back.width, back.height, back.full_width, back.full_height) == (300, 200, 300, 200)


def test_outdated_or_broken_storage_is_refused() -> None:
    arrays = extract_features_array(photo_like(120, 160, seed=3)).to_arrays()
    stale = dict(arrays, meta=np.array([160, 120, 160, 120, FEATURES_VERSION + 1]))
    with pytest.raises(ValueError, match="version"):
        LocalFeatures.from_arrays(stale)
    with pytest.raises(ValueError, match="lack"):
        LocalFeatures.from_arrays({"meta": arrays["meta"]})


def test_flat_image_has_no_features_and_no_matches() -> None:
    flat = extract_features_array(np.full((100, 100, 3), 255, np.uint8))
    assert len(flat) == 0
    other = extract_features_array(photo_like(200, 200, seed=4))
    assert ratio_matches(flat, other).shape == (0, 2)


def test_matches_same_image_more_than_other_image() -> None:
    a = extract_features_array(photo_like(300, 400, seed=5))
    b = extract_features_array(np.ascontiguousarray(photo_like(300, 400, seed=5)[20:280, 30:380]))
    c = extract_features_array(photo_like(300, 400, seed=6))
    same = ratio_matches(b, a)
    assert len(same) > 5 * max(1, len(ratio_matches(c, a)))
    # A correct match maps a crop point back by the crop offset.
    offset = a.points[same[:, 1]] - b.points[same[:, 0]]
    assert np.median(np.abs(offset - np.array([30, 20])), axis=0).max() < 1.0


def test_shrunk_detection_keeps_working_coordinates() -> None:
    img = photo_like(600, 800, seed=7)
    full = extract_features_array(img)
    fast = extract_features_array(img, detect_scale=0.5)
    assert (fast.width, fast.height) == (full.width, full.height) == (800, 600)
    assert len(fast) > 0
    # Keypoints found at half size land on the same working pixels as full-detail ones (within a pixel).
    pairs = ratio_matches(fast, full)
    assert len(pairs) > 20
    err = np.linalg.norm(fast.points[pairs[:, 0]] - full.points[pairs[:, 1]], axis=1)
    assert np.median(err) < 1.0
    with pytest.raises(ValueError, match="detect_scale"):
        extract_features_array(img, detect_scale=0.0)


def test_ratio_matches_are_remembered_per_query() -> None:
    a = extract_features_array(photo_like(300, 400, seed=8))
    b = extract_features_array(photo_like(300, 400, seed=8)[10:290, 10:390])
    first = ratio_matches(a, b)
    assert ratio_matches(a, b) is first
    assert ratio_matches(a, b, ratio=0.7) is not first
    assert not first.flags.writeable
