"""Fixtures for the reference-check tests: a few real listing photos at a small size (fast)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from proofdesk.checks.base import CheckContext, Finding
from proofdesk.checks.reference import ReferenceCheck
from proofdesk.evidence import Evidence, evidence_from_array

#: Long side of the test references: large enough for real texture, small enough for ~0.3 s per run.
SIDE = 720
#: A product with several views (main/back/alt1) and a strongly textured one (Debian-like photo stand-in).
MAIN = "mh02-black_main.jpg"
OTHER_VIEWS = ("mh02-black_back.jpg", "mh02-black_alt1.jpg")
DISTRACTORS = ("wj08-purple_main.jpg", "luma-yoga-kit-2.jpg", "mb03-black-0.jpg")
TEXTURED = "luma-yoga-kit-2.jpg"


def load_small(listings_dir: Path, name: str, side: int = SIDE) -> np.ndarray:
    rgb = np.asarray(Image.open(listings_dir / name).convert("RGB"))
    h, w = rgb.shape[:2]
    f = side / max(h, w)
    return np.ascontiguousarray(cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="session")
def main_rgb(listings_dir: Path) -> np.ndarray:
    return load_small(listings_dir, MAIN)


@pytest.fixture(scope="session")
def textured_rgb(listings_dir: Path) -> np.ndarray:
    return load_small(listings_dir, TEXTURED)


@pytest.fixture(scope="session")
def references(listings_dir: Path) -> dict[str, Evidence]:
    names = (MAIN, *DISTRACTORS)
    return {n: evidence_from_array(load_small(listings_dir, n), name=n, fmt="JPEG", quality=95) for n in names}


@pytest.fixture(scope="session")
def check() -> ReferenceCheck:
    # One instance for the session, as in production: reference features are cached across claims.
    return ReferenceCheck()


def run_check(
    check: ReferenceCheck, claim_rgb: np.ndarray, refs: list[Evidence], *, fmt: str = "PNG", quality: int = 95
) -> Finding:
    claim = evidence_from_array(claim_rgb, name=f"claim.{fmt.lower()}", fmt=fmt, quality=quality)
    return check.run(claim, CheckContext(references=tuple(refs)))


def f1(pred: np.ndarray | None, truth: np.ndarray) -> float:
    t = truth > 127
    p = pred > 127 if pred is not None else np.zeros_like(t)
    denom = int(p.sum()) + int(t.sum())
    return 2.0 * float((p & t).sum()) / denom if denom else 1.0
