"""SIFT feature extraction: the low-contrast retry adds keypoints only where the default finds too few."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from proofdesk.signals.features import LOW_CONTRAST_KEYPOINTS_PER_MP, extract_features_array


def _listing(listings_dir: Path, name: str = "mh02-black_main.jpg", side: int = 800) -> np.ndarray:
    bgr = cv2.imread(str(listings_dir / name))
    f = side / max(bgr.shape[:2])
    small = cv2.resize(bgr, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))


def test_low_contrast_photo_gets_keypoints(listings_dir: Path) -> None:
    rgb = _listing(listings_dir)
    dim = np.clip(96.0 + (rgb.astype(np.float32) - 128.0) * 0.08, 0, 255).astype(np.uint8)
    default = cv2.SIFT.create(2000, contrastThreshold=0.03).detect(cv2.cvtColor(dim, cv2.COLOR_RGB2GRAY), None)
    assert len(default) < 20  # precondition: the default threshold sees an almost empty image
    # At least half of what the same photo gives at full contrast: enough to register it.
    assert len(extract_features_array(dim)) >= 0.5 * len(extract_features_array(rgb))


def test_normal_photo_is_unaffected_by_the_retry(listings_dir: Path) -> None:
    rgb = _listing(listings_dir)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    default = cv2.SIFT.create(2000, contrastThreshold=0.03).detect(gray, None)
    assert len(default) >= LOW_CONTRAST_KEYPOINTS_PER_MP * gray.size / 1e6  # precondition
    feats = extract_features_array(rgb)
    assert len(feats) == len(default)
    np.testing.assert_allclose(feats.keypoints[:, :2], np.array([k.pt for k in default], np.float32), atol=1e-4)
