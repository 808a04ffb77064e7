"""The reference check end to end on real listing photos: invariance, edits, negatives, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from proofdesk.checks.base import CheckContext
from proofdesk.checks.reference import ReferenceCheck, ReferenceConfig
from proofdesk.config import VerdictPolicy
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence, evidence_from_array
from proofdesk.verify import verify
from tests.unit.checks.reference import _synth as S
from tests.unit.checks.reference.conftest import MAIN, OTHER_VIEWS, f1, load_small, run_check

Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

# Every transform family the check must see through. Each maps (image, mask) -> (image, mask).
GEOMETRY: dict[str, Transform] = {
    "identity": lambda im, m: (im, m),
    "crop30": lambda im, m: S.crop(im, m, area=0.3, seed=1),
    "scale0.25": lambda im, m: S.scale(im, m, factor=0.25),
    "scale2.5": lambda im, m: S.scale(im, m, factor=2.5),
    "rot90": lambda im, m: S.rotate(im, m, degrees=90),
    "rot180": lambda im, m: S.rotate(im, m, degrees=180),
    "rot270": lambda im, m: S.rotate(im, m, degrees=270),
    "rot+20": lambda im, m: S.rotate(im, m, degrees=20),
    "rot-15": lambda im, m: S.rotate(im, m, degrees=-15),
    "mirror": S.mirror,
    "mirror+rot90": lambda im, m: S.rotate(*S.mirror(im, m), degrees=90),
    "screen_photo": lambda im, m: S.screen_photo(im, m, seed=2),
    "screenshot": S.screenshot,
}
PHOTOMETRIC: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "jpeg40": lambda im: S.encode(im, "JPEG", 40),
    "webp60": lambda im: S.encode(im, "WEBP", 60),
    "colour": S.colour,
    "filter": S.warm_filter,
    "blur": lambda im: S.blur(im, 1.5),
    "sharpen": S.sharpen,
    "noise": lambda im: S.noise(im, sigma=8),
}


def _zero(rgb: np.ndarray) -> np.ndarray:
    return np.zeros(rgb.shape[:2], np.uint8)


@pytest.mark.parametrize("name", list(GEOMETRY))
def test_unedited_copy_survives_geometry(
    name: str, main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    claim, _ = GEOMETRY[name](main_rgb, _zero(main_rgb))
    finding = run_check(check, claim, list(references.values()))
    assert finding.label == "derived_unedited", finding.summary
    assert finding.reference == MAIN
    assert finding.mask is not None and not finding.mask.any()


@pytest.mark.parametrize("name", list(PHOTOMETRIC))
def test_global_changes_are_not_edits(
    name: str, main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    finding = run_check(check, PHOTOMETRIC[name](main_rgb), list(references.values()))
    assert finding.label == "derived_unedited", finding.summary
    assert finding.reference == MAIN


@pytest.mark.parametrize("name", ["identity", "crop30", "rot90", "rot-15", "mirror", "scale2.5", "screen_photo"])
def test_stain_is_found_through_geometry(
    name: str, main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    edited, truth = S.stain(main_rgb, seed=3, area=0.015)
    claim, moved = GEOMETRY[name](edited, truth)
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=85)
    assert finding.label == "derived_and_edited", finding.summary
    assert finding.reference == MAIN
    assert finding.score >= VerdictPolicy().forged_at
    # Stated bound for a soft-edged stain: pixel F1 >= 0.6 (the soft rim is a judgement call).
    assert f1(finding.mask, moved) >= 0.6
    ys, xs = np.nonzero(moved)
    cx, cy = xs.mean(), ys.mean()
    assert any(r.x <= cx <= r.x + r.w and r.y <= cy <= r.y + r.h for r in finding.regions)


@pytest.mark.parametrize("name", ["jpeg40", "colour", "filter", "noise"])
def test_stain_is_found_through_photometric_changes(
    name: str, main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    edited, truth = S.stain(main_rgb, seed=4, area=0.01)
    finding = run_check(check, PHOTOMETRIC[name](edited), list(references.values()))
    assert finding.label == "derived_and_edited", finding.summary
    assert f1(finding.mask, truth) >= 0.6


@pytest.mark.parametrize(
    "edit",
    [
        lambda im: S.crack(im, seed=5, width=4),
        lambda im: S.patch(im, seed=6, area=0.02),
        lambda im: S.inpaint_removal(im, seed=7, area=0.02),
        lambda im: S.text_sticker(im, seed=8),
    ],
    ids=["crack", "patch", "inpaint", "sticker"],
)
def test_each_edit_kind_is_derived_and_edited(
    edit: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    textured_rgb: np.ndarray,
    listings_dir: Path,
    check: ReferenceCheck,
) -> None:
    ref = evidence_from_array(textured_rgb, name="textured.jpg", fmt="JPEG", quality=95)
    edited, truth = edit(textured_rgb)
    assert (truth > 0).mean() >= 0.003, "the generated edit must be at least 0.3% of the image"
    finding = run_check(check, edited, [ref], fmt="JPEG", quality=90)
    assert finding.label == "derived_and_edited", finding.summary
    assert f1(finding.mask, truth) >= 0.4


def test_pasted_piece_is_derived_and_edited(
    main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    claim, _ = S.paste_into_scene(main_rgb, _zero(main_rgb), seed=9)
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=90)
    assert finding.label == "derived_and_edited", finding.summary
    assert finding.reference == MAIN
    assert "piece" in finding.summary


def test_regenerated_copy_is_derived_and_edited(textured_rgb: np.ndarray, check: ReferenceCheck) -> None:
    ref = evidence_from_array(textured_rgb, name="textured.jpg", fmt="JPEG", quality=95)
    claim, _ = S.regenerate(textured_rgb, seed=10)
    finding = run_check(check, claim, [ref], fmt="JPEG", quality=90)
    assert finding.label == "derived_and_edited", finding.summary


@pytest.mark.parametrize("other", OTHER_VIEWS)
def test_other_view_of_same_product_is_not_derived(
    other: str, listings_dir: Path, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    claim = load_small(listings_dir, other)
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=90)
    assert finding.label in ("same_item", "unrelated"), finding.summary
    assert finding.score == 0.0


def test_unrelated_photo_is_unrelated(references: dict[str, Evidence], check: ReferenceCheck) -> None:
    rng = np.random.default_rng(11)
    base = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    claim = np.asarray(S.scale(base, np.zeros((30, 40), np.uint8), factor=16)[0])
    finding = run_check(check, claim, list(references.values()))
    assert finding.label == "unrelated"
    assert finding.score == 0.0 and finding.reference is None


def test_names_the_right_reference_among_several(
    listings_dir: Path, references: dict[str, Evidence], check: ReferenceCheck
) -> None:
    target = "wj08-purple_main.jpg"
    claim = np.ascontiguousarray(load_small(listings_dir, target)[40:-40, 30:-30])
    finding = run_check(check, claim, list(references.values()), fmt="JPEG", quality=80)
    assert finding.reference == target
    assert finding.label == "derived_unedited"


def test_no_reference(main_rgb: np.ndarray, check: ReferenceCheck) -> None:
    finding = run_check(check, main_rgb, [])
    assert (finding.label, finding.score, finding.reference) == ("no_reference", 0.0, None)


def test_flat_claim_and_flat_reference_do_not_crash(check: ReferenceCheck) -> None:
    flat = evidence_from_array(np.full((40, 60, 3), 255, np.uint8), name="white.png")
    finding = check.run(flat, CheckContext(references=(flat,)))
    assert finding.label == "unrelated"


def test_mask_and_heatmap_shapes(main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck) -> None:
    edited, _ = S.stain(main_rgb, seed=13, area=0.02)
    big, _ = S.scale(edited, _zero(edited), factor=2.0)
    finding = run_check(check, big, list(references.values()), fmt="JPEG", quality=90)
    assert finding.mask is not None and finding.mask.shape == big.shape[:2] and finding.mask.dtype == np.uint8
    assert set(np.unique(finding.mask)) <= {0, 255}
    assert finding.heatmap is not None and finding.heatmap.dtype == np.float32
    assert float(finding.heatmap.min()) >= 0.0 and float(finding.heatmap.max()) <= 1.0
    for region in finding.regions:
        assert region.x >= 0 and region.x + region.w <= big.shape[1]
        assert region.y >= 0 and region.y + region.h <= big.shape[0]


def test_explains_itself(main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck) -> None:
    edited, _ = S.stain(main_rgb, seed=14, area=0.02)
    claim, _ = S.rotate(edited, _zero(edited), degrees=90)
    finding = run_check(check, claim, list(references.values()))
    doc = finding.to_json()
    assert doc["reference"] == MAIN
    assert "rotated 90°" in doc["summary"] and "changed" in doc["summary"]
    for key in ("inliers", "coverage", "edited_fraction", "agreement_fine", "agreement_coarse"):
        assert key in doc["measurements"]
    for key in ("edited_fraction", "derived_coarse", "min_inliers"):
        assert key in doc["thresholds"]
    transform = doc["details"]["transform"]
    assert abs(abs(transform["rotation_deg"]) - 90) < 2 and transform["mirrored"] is False


def test_verdicts_through_verify(main_rgb: np.ndarray, references: dict[str, Evidence], check: ReferenceCheck) -> None:
    refs = list(references.values())
    edited, _ = S.stain(main_rgb, seed=15, area=0.02)
    forged = verify(evidence_from_array(edited), refs, checks=[check])
    copied = verify(evidence_from_array(main_rgb), refs, checks=[check])
    assert forged.verdict == "likely_forged"
    # An unedited copy of the merchant's photo goes to a person, never waved through nor called forged.
    assert copied.verdict == "needs_review"


def test_config_is_validated() -> None:
    with pytest.raises(InvalidSettings):
        ReferenceCheck.from_config({"no_such_key": 1})
    with pytest.raises(InvalidSettings):
        ReferenceCheck.from_config({"ratio": 1.5})
    assert ReferenceCheck.from_config({"max_candidates": 3}).config == ReferenceConfig(max_candidates=3)
