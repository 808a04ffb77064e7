"""The CLI contract: exit codes and error lines (DESIGN.md §5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proofdesk.cli.main import inner_main
from tests.conftest import encode, photo_like


def test_unreadable_claim_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "claim.jpg"
    bad.write_bytes(b"not an image at all")
    assert inner_main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an accepted image format" in err[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    assert inner_main(["check", str(tmp_path / "nope.jpg")]) == 2


def test_bad_usage_exits_2() -> None:
    assert inner_main(["check", "--no-such-option"]) == 2


def test_time_without_zone_is_refused(tmp_path: Path) -> None:
    claim = tmp_path / "c.png"
    claim.write_bytes(encode(photo_like(64, 64), "PNG"))
    assert inner_main(["check", str(claim), "--order-delivered", "2026-01-01T10:00"]) == 2


def test_json_output_is_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claim = tmp_path / "c.png"
    claim.write_bytes(encode(photo_like(64, 80), "PNG"))
    mask = tmp_path / "mask.png"
    assert inner_main(["check", str(claim), "--json", "--mask-out", str(mask)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "proofdesk.report/1"
    assert document["claim"]["width"] == 80
    from PIL import Image

    with Image.open(mask) as written:
        assert written.size == (80, 64)
