"""A migrated SQLite data dir and services whose jobs run inline (the worker code path, in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from proofdesk.config import Settings
from proofdesk.db import migrate
from proofdesk.jobs import InlineDispatcher
from proofdesk.services import Services, build_services


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # These tests are about the case flow, not the checks: the visible-label OCR (seconds per photo on these
    # textured test images) is switched off through the ordinary per-check configuration.
    s = Settings(data_dir=tmp_path, environment="test", checks={"provenance": {"ocr": "never"}})
    migrate(s)
    return s


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    bundle = build_services(settings)
    bundle.use_dispatcher(InlineDispatcher(bundle.run_job))
    yield bundle
    bundle.close()
