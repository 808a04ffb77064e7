"""Shared fixtures: real files from ../shared/data and generated images (no network, no mocks)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
LISTINGS = SHARED_DATA / "listings"
PROVENANCE = SHARED_DATA / "provenance"


@pytest.fixture(scope="session")
def listings_dir() -> Path:
    if not LISTINGS.is_dir():
        pytest.fail(f"shared data missing: {LISTINGS} (tests read ../shared/data beside the repo)")
    return LISTINGS


@pytest.fixture(scope="session")
def provenance_dir() -> Path:
    if not PROVENANCE.is_dir():
        pytest.fail(f"shared data missing: {PROVENANCE}")
    return PROVENANCE


def photo_like(height: int = 480, width: int = 640, seed: int = 0) -> np.ndarray:
    """A textured RGB image with structure at several scales (so features and hashes are meaningful)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(height // 16 + 1, width // 16 + 1, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.normal(0, 6, size=(height, width, 3))
    return np.clip(big + noise, 0, 255).astype(np.uint8)


def encode(rgb: np.ndarray, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **params)
    return buffer.getvalue()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Debian Chromium for the whole run, shared by every browser test.

    Why shared: Playwright's sync API runs its own event loop; a second ``sync_playwright()`` while the first
    is alive fails ("Sync API inside the asyncio loop"), so browser tests in different folders must share it.
    """
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run scripts/setup-system")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
