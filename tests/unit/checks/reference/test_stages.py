"""Each stage of the reference check alone: registration, transform description, comparison, refinement."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from proofdesk.checks.reference._compare import compare, refine
from proofdesk.checks.reference._register import describe_transform, register, to_full
from proofdesk.checks.reference.check import _where
from proofdesk.signals.features import extract_features_array
from tests.conftest import photo_like


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return photo_like(360, 480, seed=31)


def _similarity(img: np.ndarray, angle: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    return out, np.vstack([m, [0, 0, 1]])


def test_registration_recovers_a_known_similarity(base: np.ndarray) -> None:
    claim, truth = _similarity(base, 25.0, 0.8)
    ref_f, claim_f = extract_features_array(base), extract_features_array(claim)
    reg = register(claim_f, ref_f)
    assert reg is not None and reg.inliers >= 50 and not reg.mirrored
    corners = np.array([[100, 100], [380, 100], [380, 260], [100, 260]], np.float64).reshape(-1, 1, 2)
    err = cv2.perspectiveTransform(corners, reg.homography) - cv2.perspectiveTransform(corners, truth)
    assert np.abs(err).max() < 1.5
    t = describe_transform(to_full(reg.homography, claim_f, ref_f), (480, 360), (480, 360))
    assert t.rotation_deg == pytest.approx(25.0, abs=0.5)
    assert t.scale == pytest.approx(0.8, abs=0.02)
    assert not t.mirrored
    assert "rotated 25°" in t.words() and "scaled 0.80x" in t.words()


def test_mirror_registers_only_through_flipped_features(base: np.ndarray) -> None:
    claim = np.ascontiguousarray(base[:, ::-1])
    ref_f, claim_f = extract_features_array(base), extract_features_array(claim)
    flipped = extract_features_array(np.ascontiguousarray(claim[:, ::-1]))
    direct = register(claim_f, ref_f)
    assert direct is None or direct.inliers < 20
    reg = register(claim_f, ref_f, claim_mirrored=flipped, skip_direct=True)
    assert reg is not None and reg.mirrored and reg.inliers >= 50
    t = describe_transform(to_full(reg.homography, claim_f, ref_f), (480, 360), (480, 360))
    assert t.mirrored and abs(t.rotation_deg) < 1.0
    # The composed homography maps reference pixels to the mirrored claim's pixels.
    p = cv2.perspectiveTransform(np.array([[[50.0, 60.0]]]), reg.homography)[0, 0]
    assert p == pytest.approx([479 - 50, 60], abs=1.0)


def test_unrelated_images_do_not_register(base: np.ndarray) -> None:
    other = photo_like(360, 480, seed=32)
    assert register(extract_features_array(other), extract_features_array(base)) is None


def test_transform_words_for_crops_and_quarter_turns() -> None:
    # A quarter turn of a 400x300 reference, keeping its left half: shows 50% of it.
    h = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 200.0], [0.0, 0.0, 1.0]])
    t = describe_transform(h, (400, 300), (300, 200))
    assert t.rotation_deg == pytest.approx(90.0)
    assert t.reference_shown == pytest.approx(0.5, abs=0.01)
    assert "rotated 90°" in t.words() and "cropped to 50%" in t.words()


def test_identical_images_compare_clean(base: np.ndarray) -> None:
    feats = extract_features_array(base)
    comp = compare(base, base, np.eye(3), feats.points)
    assert not comp.edited.any()
    assert comp.agreement_fine > 0.98 and comp.agreement_coarse > 0.98
    assert comp.colour_fit_rms < 1.0 and comp.blur_sigma == 0.0


def test_colour_change_is_modelled_not_reported(base: np.ndarray) -> None:
    f = base.astype(np.float32) / 255
    graded = np.clip(np.stack([f[..., 0] ** 0.7, f[..., 1] * 0.9 + 0.05, f[..., 2] ** 1.3], axis=2) * 255, 0, 255)
    claim = graded.astype(np.uint8)
    comp = compare(claim, base, np.eye(3), extract_features_array(base).points)
    assert not comp.edited.any()
    assert comp.colour_fit_rms < 4.0


def test_blur_is_matched(base: np.ndarray) -> None:
    claim = cv2.GaussianBlur(base, (0, 0), 2.0)
    comp = compare(claim, base, np.eye(3), extract_features_array(base).points)
    assert comp.blur_sigma == pytest.approx(2.0, abs=0.8)
    assert not comp.edited.any()


def test_local_change_is_localized_and_refined(base: np.ndarray) -> None:
    claim = base.copy()
    cv2.line(claim, (120, 200), (330, 150), (250, 250, 250), 3)
    truth = np.zeros(base.shape[:2], np.uint8)
    cv2.line(truth, (120, 200), (330, 150), 255, 3)
    comp = compare(claim, base, np.eye(3), extract_features_array(base).points)
    assert comp.edited[truth > 0].mean() > 0.9
    assert comp.edited.sum() < 6 * (truth > 0).sum()
    fine = refine(claim, base, np.eye(3), comp)
    # Refinement hugs the line: at least as much of it, in a smaller mask.
    assert fine[truth > 0].mean() > 0.9
    assert fine.sum() < comp.edited.sum()


def test_where_names_a_3x3_grid() -> None:
    assert _where(0.1, 0.9) == "lower left"
    assert _where(0.5, 0.5) == "centre"
    assert _where(0.99, 0.0) == "upper right"


def test_source_window_warps_like_the_whole_reference(base: np.ndarray) -> None:
    from proofdesk.checks.reference._compare import _source_window, _warp

    _, sim = _similarity(base, 12.0, 1.3)
    persp = sim.copy()
    persp[2, :2] = [1e-4, -5e-5]
    for h in (sim, persp):
        shift = np.array([[1.0, 0.0, -150.0], [0.0, 1.0, -90.0], [0.0, 0.0, 1.0]])
        window = shift @ h
        piece, h_piece = _source_window(base, window, (120, 80))
        assert piece.shape[0] * piece.shape[1] < base.shape[0] * base.shape[1] / 4
        whole = _warp(base, window, (120, 80))
        part = _warp(piece, h_piece, (120, 80))
        assert np.array_equal(whole[1], part[1])
        assert np.allclose(whole[0], part[0], atol=1e-3)
