"""``proofdesk index build``: a folder becomes a catalogue; a stale index is not used."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofdesk.cli.index import INDEX_DIRNAME, cached_catalogue
from proofdesk.cli.main import inner_main
from tests.conftest import encode, photo_like


def test_build_indexes_images_skips_bad_files_and_detects_staleness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.jpg").write_bytes(encode(photo_like(seed=1), "JPEG", quality=90))
    (tmp_path / "sub" / "b.png").write_bytes(encode(photo_like(seed=2), "PNG"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")

    assert inner_main(["index", "build", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "indexed 2 reference(s)" in out.out
    assert "skipped broken.jpg" in out.err

    catalogue = cached_catalogue(tmp_path)
    assert catalogue is not None
    assert sorted(catalogue) == ["a.jpg", "sub/b.png"]
    assert (tmp_path / INDEX_DIRNAME / "catalogue.json").is_file()

    (tmp_path / "c.webp").write_bytes(encode(photo_like(seed=3), "WEBP"))
    assert cached_catalogue(tmp_path) is None  # a new file: the index no longer describes the folder


def test_build_on_missing_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert inner_main(["index", "build", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
