"""``proofdesk index build DIR``: index a folder of reference images once, for ``check --reference-dir``.

Flow: the folder's images -> :class:`~proofdesk.signals.catalogue.ReferenceIndex` (PDQ hashes, visual words,
cached SIFT features) -> saved in ``DIR/.proofdesk-index`` (or ``--out``). ``proofdesk check --reference-dir
DIR`` can then ask :func:`cached_catalogue` for that index instead of decoding every reference again; it is
used only while it still describes the folder (same files, sizes and modification times).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from proofdesk.config import Settings
from proofdesk.errors import EvidenceError, UserInputError
from proofdesk.evidence import read_evidence
from proofdesk.signals.catalogue import ReferenceIndex

index_app = typer.Typer(help="Reference catalogue index commands.", no_args_is_help=True)

INDEX_DIRNAME: Final = ".proofdesk-index"
_SOURCES: Final = "sources.json"
_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff"})


def _scan(directory: Path, skip: Path) -> dict[str, list[int]]:
    """Relative path -> [size, mtime_ns] of every image under ``directory`` (the index folder excluded)."""
    out: dict[str, list[int]] = {}
    for path in sorted(directory.rglob("*")):
        if skip in path.parents or path.suffix.lower() not in _SUFFIXES or not path.is_file():
            continue
        stat = path.stat()
        out[path.relative_to(directory).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return out


def build_index(directory: Path, out: Path | None = None, settings: Settings | None = None) -> tuple[Path, int, int]:
    """Index every image under ``directory``; return (index folder, references indexed, files skipped).

    Files that are not readable images are skipped (named on stderr by the caller), never fatal: one bad
    file must not make a whole catalogue unusable.
    """
    settings = settings or Settings()
    if not directory.is_dir():
        raise UserInputError(f"{directory} is not a folder")
    target = out or directory / INDEX_DIRNAME
    files = _scan(directory, target)
    if not files:
        raise UserInputError(f"no images under {directory}")
    target.mkdir(parents=True, exist_ok=True)
    index = ReferenceIndex(target)
    skipped = 0
    for relative in files:
        path = directory / relative
        try:
            evidence = read_evidence(path, name=relative, limits=settings.evidence)
        except EvidenceError as exc:
            typer.echo(f"proofdesk index: skipped {relative}: {exc}", err=True)
            skipped += 1
            continue
        index.add(evidence, relative, path=path)
    if len(index) == 0:
        raise UserInputError(f"no readable images under {directory}")
    index.save()
    (target / _SOURCES).write_text(json.dumps({"directory": str(directory.resolve()), "files": files}), "utf-8")
    return target, len(index), skipped


def cached_catalogue(directory: Path, index_dir: Path | None = None) -> ReferenceIndex | None:
    """The saved index of ``directory`` if it still matches the folder's files, else ``None``.

    A stale index (files added, removed or modified since it was built) is not used: its answers would name
    references that no longer look like that. A corrupt one raises
    :class:`~proofdesk.signals.index.CorruptIndex`.
    """
    target = index_dir or directory / INDEX_DIRNAME
    try:
        recorded: dict[str, Any] = json.loads((target / _SOURCES).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if recorded.get("files") != _scan(directory, target):
        return None
    return ReferenceIndex.open(target)


@index_app.command("build")
def build(
    directory: Annotated[Path, typer.Argument(help="folder of reference images (searched recursively)")],
    out: Annotated[Path | None, typer.Option("--out", help=f"index folder (default DIR/{INDEX_DIRNAME})")] = None,
) -> int:
    """Index a folder of reference images (PDQ hashes, visual words, cached local features)."""
    start = time.perf_counter()
    target, count, skipped = build_index(directory, out, Settings.from_env())
    typer.echo(
        f"indexed {count} reference(s) from {directory} into {target} in {time.perf_counter() - start:.1f} s"
        + (f"; {skipped} file(s) skipped" if skipped else "")
    )
    return 0
