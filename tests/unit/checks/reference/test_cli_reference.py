"""`proofdesk check` end to end: a listing photo with a drawn-on crack (issue 2, "Done when")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from proofdesk.cli.main import inner_main
from tests.unit.checks.reference import _synth as S
from tests.unit.checks.reference.conftest import MAIN, f1

#: Stated bound for the crack mask: a 7 px line is found with a mask about two working pixels wider than
#: the line on each side (the cues are smoothed), so pixel-F1 sits near 0.6-0.8; 0.5 leaves room for
#: JPEG variation without letting a wrong or empty mask through.
CRACK_F1_BOUND = 0.5

# Full-size listing photos through every registered check: several seconds each.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cracked(listings_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    rgb = np.asarray(Image.open(listings_dir / MAIN).convert("RGB"))
    edited, truth = S.crack(rgb, seed=21, width=7, length=0.5)
    assert (truth > 0).mean() >= 0.003
    path = tmp_path_factory.mktemp("cli") / "IMG_0412.jpg"
    Image.fromarray(edited).save(path, format="JPEG", quality=88)
    return path, truth


def _reference_folder(folder: Path, listings_dir: Path) -> None:
    """A reference folder: the source among other listing photos (symlinks, no copies)."""
    for name in (MAIN, "mh02-black_alt1.jpg", "wj08-purple_main.jpg", "mb03-black-0.jpg"):
        (folder / name).symlink_to(listings_dir / name)


def test_cracked_listing_photo_is_likely_forged(
    cracked: tuple[Path, np.ndarray], listings_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim, truth = cracked
    mask_path = tmp_path / "mask.png"
    refs = [listings_dir / MAIN, listings_dir / "mh02-black_back.jpg", listings_dir / "wj08-purple_main.jpg"]
    argv = ["check", str(claim), "--mask-out", str(mask_path)]
    for ref in refs:
        argv += ["--reference", str(ref)]
    assert inner_main(argv) == 0
    out = capsys.readouterr().out
    assert "likely_forged" in out
    assert f"reference: reference {MAIN}" in out
    assert "reference: region x=" in out
    assert "reference: transform scale 1.00x" in out
    assert "time:" in out and "reference" in out.split("time:")[1]
    mask = np.asarray(Image.open(mask_path))
    assert mask.shape == truth.shape
    assert f1(mask, truth) >= CRACK_F1_BOUND


def test_json_names_reference_and_region(
    cracked: tuple[Path, np.ndarray], listings_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim, truth = cracked
    _reference_folder(tmp_path, listings_dir)
    assert inner_main(["check", str(claim), "--json", "--reference-dir", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    finding = next(f for f in doc["findings"] if f["check"] == "reference")
    assert finding["label"] == "derived_and_edited"
    assert finding["reference"] == MAIN
    ys, xs = np.nonzero(truth)
    box = finding["regions"][0]
    # The largest region overlaps the crack's bounding box.
    assert box["x"] < xs.max() and box["x"] + box["w"] > xs.min()
    assert box["y"] < ys.max() and box["y"] + box["h"] > ys.min()
    assert doc["verdict"] == "likely_forged"


def test_indexed_reference_dir_is_served_from_its_index_while_fresh(
    cracked: tuple[Path, np.ndarray], listings_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claim, _ = cracked
    _reference_folder(tmp_path, listings_dir)
    assert inner_main(["index", "build", str(tmp_path)]) == 0
    capsys.readouterr()

    assert inner_main(["check", str(claim), "--json", "--reference-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "using the index" in out.err and "(4 references)" in out.err
    finding = next(f for f in json.loads(out.out)["findings"] if f["check"] == "reference")
    assert (finding["label"], finding["reference"]) == ("derived_and_edited", MAIN)

    # A file added after indexing: the index no longer describes the folder, so the folder is read whole.
    (tmp_path / "mh02-black_back.jpg").symlink_to(listings_dir / "mh02-black_back.jpg")
    assert inner_main(["check", str(claim), "--json", "--reference-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "no longer matches the folder" in out.err and "using the index" not in out.err
    finding = next(f for f in json.loads(out.out)["findings"] if f["check"] == "reference")
    assert (finding["label"], finding["reference"]) == ("derived_and_edited", MAIN)


def test_unedited_listing_photo_needs_review(listings_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert inner_main(["check", str(listings_dir / MAIN), "--reference", str(listings_dir / MAIN), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    finding = next(f for f in doc["findings"] if f["check"] == "reference")
    assert finding["label"] == "derived_unedited"
    assert doc["verdict"] in ("needs_review", "likely_forged")  # other checks may add to it, never lower it


def test_reference_dir_must_hold_images(tmp_path: Path, listings_dir: Path) -> None:
    assert inner_main(["check", str(listings_dir / MAIN), "--reference-dir", str(tmp_path)]) == 2
