"""Decisions of the reference check that earlier versions got wrong, on real listing photos.

Each case failed before the rule it tests was added (see the check's README, "Thresholds"): the true source
among recoloured variants of one photograph, a cut-out whose new scene is textured, a heavily blurred copy,
chance feature matches between different products, a copy whose contrast was crushed, and a close-up
from the same studio session.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from proofdesk.checks.base import CheckContext
from proofdesk.checks.reference import ReferenceCheck
from proofdesk.checks.reference._register import Registration, alignment_residual
from proofdesk.evidence import Evidence, evidence_from_array, read_evidence
from tests.unit.checks.reference import _synth as S
from tests.unit.checks.reference.conftest import MAIN, load_small, run_check

#: One photograph published in three colours (the merchant recoloured the garment).
VARIANTS = ("wh08-purple_main.jpg", "wh08-orange_main.jpg", "wh08-white_main.jpg")
#: A garment photo textured all over (no studio background to cut along).
PIECE_SOURCE = "wj08-purple_main.jpg"


@pytest.fixture(scope="module")
def variants(listings_dir: Path) -> dict[str, Evidence]:
    return {
        name: evidence_from_array(load_small(listings_dir, name), name=name, fmt="JPEG", quality=92)
        for name in VARIANTS
    }


@pytest.mark.parametrize("source", VARIANTS)
def test_names_the_true_source_among_colour_variants(
    source: str, listings_dir: Path, variants: dict[str, Evidence], check: ReferenceCheck
) -> None:
    edited, _ = S.stain(load_small(listings_dir, source), seed=4, area=0.02)
    finding = run_check(check, edited, list(variants.values()), fmt="JPEG", quality=85)
    assert finding.label == "derived_and_edited", finding.summary
    assert finding.reference == source, finding.summary


def _textured_scene(listings_dir: Path, size: tuple[int, int]) -> np.ndarray:
    """A busy background: another product photo's fabric, tiled and blurred a little (no white studio)."""
    fabric = load_small(listings_dir, "mb03-black-0.jpg")
    h, w = fabric.shape[:2]
    tile = fabric[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    reps = (size[1] // tile.shape[0] + 1, size[0] // tile.shape[1] + 1, 1)
    scene = np.tile(tile, reps)[: size[1], : size[0]]
    tinted = scene.astype(np.float32) * np.array([1.1, 0.9, 0.7]) + 30
    return np.clip(cv2.GaussianBlur(tinted, (0, 0), 0.8), 0, 255).astype(np.uint8)


def test_piece_pasted_into_a_textured_scene_is_derived_and_edited(
    listings_dir: Path, check: ReferenceCheck
) -> None:
    # An oval piece of the reference (no studio background to cut along) pasted at 0.6x into a textured
    # scene: most of the reference's footprint now shows other *textured* content, so the footprint-wide
    # agreement is low; the rigid-piece rule (many inliers, high inlier share, agreement next to them) holds.
    source = load_small(listings_dir, PIECE_SOURCE, side=1024)
    reference = evidence_from_array(source, name=PIECE_SOURCE, fmt="JPEG", quality=95)
    h, w = source.shape[:2]
    oval = np.zeros((h, w), np.uint8)
    cv2.ellipse(oval, (w // 2, h // 2), (int(w * 0.25), int(h * 0.25)), 0, 0, 360, 255, -1)
    f = 0.75
    piece = cv2.resize(source, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(oval, (piece.shape[1], piece.shape[0]), interpolation=cv2.INTER_LINEAR)[..., None] / 255.0
    claim = _textured_scene(listings_dir, (w, h)).astype(np.float32)
    y0, x0 = int(0.2 * h), int(0.15 * w)
    window = claim[y0 : y0 + piece.shape[0], x0 : x0 + piece.shape[1]]
    claim[y0 : y0 + piece.shape[0], x0 : x0 + piece.shape[1]] = window * (1 - alpha) + piece * alpha
    finding = run_check(check, claim.astype(np.uint8), [reference], fmt="JPEG", quality=90)
    assert finding.label == "derived_and_edited", finding.summary
    assert finding.reference == PIECE_SOURCE
    # The footprint-wide agreement alone (even the pasted-piece bars) would not have called it a copy.
    assert float(finding.measurements["agreement_coarse"]) < check.config.pasted_coarse, finding.measurements


@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_heavily_blurred_copy_is_not_an_edit(
    sigma: float, main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    claim = S.blur(main_rgb, sigma)
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=90)
    assert finding.label == "derived_unedited", finding.summary
    assert finding.reference == MAIN


def test_chance_matches_with_another_product_are_not_same_item(
    listings_dir: Path, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    claim = load_small(listings_dir, "ws09-red_main.jpg")
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=90)
    # Precondition that makes this test meaningful: the ratio test alone finds enough matches to have
    # called it "same_item" under the old rule (>= same_item_matches).
    assert int(finding.measurements["best_matches"]) >= check.config.same_item_matches, finding.measurements
    assert finding.label == "unrelated", finding.summary
    assert finding.score == 0.0


def _crushed(rgb: np.ndarray, contrast: float) -> np.ndarray:
    """A dark, flat re-edit: every tone pulled towards a dim grey (what a "night" or "fog" filter does)."""
    return np.clip(96.0 + (rgb.astype(np.float32) - 128.0) * contrast, 0, 255).astype(np.uint8)


def test_crushed_contrast_copy_is_registered_and_derived(
    main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    # At 8% contrast SIFT's default contrast threshold finds no keypoint at all (the low-contrast retry in
    # proofdesk.signals.features finds them), and the variance floors of the comparison would see every
    # pixel as flat (anchor_textured ~0: "same_item") unless they shrink with the contrast the fit removed.
    claim = _crushed(main_rgb, 0.08)
    gray = cv2.cvtColor(claim, cv2.COLOR_RGB2GRAY)
    assert len(cv2.SIFT.create(2000, contrastThreshold=0.03).detect(gray, None)) < 20  # precondition
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=90)
    assert finding.label == "derived_unedited", finding.summary
    assert finding.reference == MAIN


def test_crack_on_a_crushed_contrast_copy_is_found(
    main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    edited, truth = S.crack(main_rgb, seed=2)
    finding = run_check(check, _crushed(edited, 0.15), list(references.values()), fmt="JPEG", quality=90)
    assert finding.label == "derived_and_edited", finding.summary
    assert finding.mask is not None
    hit = (finding.mask > 127) & (truth > 127)
    assert hit.sum() >= 0.3 * (truth > 127).sum(), "the crack is not where the mask is"


def test_close_up_from_the_same_studio_session_is_not_a_copy(listings_dir: Path, check: ReferenceCheck) -> None:
    # Two exposures of one studio session, the garment unmoved: the side view agrees with the main shot's
    # torso almost as well as a crop of it would (the pasted-piece rule called it derived_and_edited, with
    # the parts that moved as "edits"). Its matched points scatter around the alignment and its pixels
    # differ beyond sensor noise; a copy does neither.
    claim = read_evidence(listings_dir / "mt02-white_main.jpg")
    reference = read_evidence(listings_dir / "mt02-white_sideb.jpg")
    finding = check.run(claim, CheckContext(references=[reference]))
    assert finding.label == "same_item", finding.summary
    assert "another exposure" in finding.summary
    assert float(finding.measurements["alignment_residual_px"]) >= check.config.exposure_residual_px
    assert float(finding.measurements["noise_level"]) >= check.config.exposure_noise


def test_alignment_residual_is_subpixel_for_a_homography_and_grows_with_scatter() -> None:
    rng = np.random.default_rng(3)
    h = np.array([[1.8, 0.1, 20.0], [-0.05, 1.7, 8.0], [1e-4, 0.0, 1.0]])
    ref = rng.uniform(0, 500, size=(200, 2)).astype(np.float32)
    exact = cv2.perspectiveTransform(ref.reshape(-1, 1, 2).astype(np.float64), h).reshape(-1, 2).astype(np.float32)

    def reg(claim_points: np.ndarray) -> Registration:
        return Registration(h, False, 200, 200, claim_points.astype(np.float32), ref)

    assert alignment_residual(reg(exact)) < 0.01
    # Scatter of 2 px in the claim (magnified 1.75x): the coarser image, the reference, sees ~2/1.75 px.
    scattered = exact + rng.normal(0, 2.0, exact.shape)
    assert 0.6 < alignment_residual(reg(scattered)) < 2.0
