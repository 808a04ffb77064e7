"""Every registered check, built-in or plugin, passes the same contract (STYLE.md habit 8).

New checks get tested here automatically by being in the registry: a finding that is not JSON-serialisable,
a mask of the wrong size, a missing README or a config that silently accepts typos fails here.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from proofdesk.checks.base import CheckContext, Finding
from proofdesk.checks.registry import available_checks, build_checks
from proofdesk.errors import InvalidSettings
from proofdesk.evidence import Evidence, evidence_from_array
from tests.conftest import photo_like

CHECKS = available_checks()


@pytest.fixture(scope="module")
def claims() -> list[Evidence]:
    rgb = photo_like(300, 400, seed=7)
    return [
        evidence_from_array(rgb, name="claim.png"),
        evidence_from_array(rgb, name="claim.jpg", fmt="JPEG", quality=85),
        evidence_from_array(np.full((40, 30, 3), 128, np.uint8), name="flat.png"),
    ]


def test_registry_is_not_empty_and_names_are_unique() -> None:
    assert CHECKS, "no checks registered"
    assert len({f.name for f in CHECKS.values()}) == len(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_identity_and_readme(name: str) -> None:
    factory = CHECKS[name]
    assert factory.name == name and name.isidentifier()
    assert isinstance(factory.version, str) and factory.version
    module = importlib.import_module(type(factory).__module__ if not isinstance(factory, type) else factory.__module__)
    folder = Path(module.__file__ or "").parent
    readme = folder / "README.md"
    assert readme.is_file(), f"{name}: every check folder has a README.md"
    assert len(readme.read_text(encoding="utf-8")) > 400, f"{name}: README says what it detects, how, and its limits"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_config_typos_are_refused(name: str) -> None:
    with pytest.raises(InvalidSettings):
        build_checks([name], config={name: {"definitely_not_an_option": 1}})


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_runs_on_plain_images_with_empty_context(name: str, claims: list[Evidence]) -> None:
    (check,) = build_checks([name])
    for claim in claims:
        finding = check.run(claim, CheckContext())
        assert isinstance(finding, Finding)
        assert finding.check == name and finding.version == CHECKS[name].version
        assert 0.0 <= finding.score <= 1.0
        assert finding.summary.strip()
        json.dumps(finding.to_json())  # serialisable, no numpy scalars
        if finding.mask is not None:
            assert finding.mask.shape == (claim.height, claim.width) and finding.mask.dtype == np.uint8
        if finding.heatmap is not None:
            assert finding.heatmap.ndim == 2
            assert float(finding.heatmap.min()) >= 0.0 and float(finding.heatmap.max()) <= 1.0
        for region in finding.regions:
            assert 0 <= region.x < claim.width and 0 <= region.y < claim.height
            assert region.w > 0 and region.h > 0 and 0.0 <= region.score <= 1.0
