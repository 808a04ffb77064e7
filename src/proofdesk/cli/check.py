"""``proofdesk check``: verify claim images against references and print explained reports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from PIL import Image
from rich.console import Console
from rich.table import Table

from proofdesk.checks.base import CheckContext, OrderTimeline, ReferenceCatalogue
from proofdesk.config import Settings
from proofdesk.errors import UserInputError
from proofdesk.evidence import Evidence, read_evidence
from proofdesk.report import Report
from proofdesk.verify import verify

_VERDICT_STYLE = {"likely_forged": "bold red", "needs_review": "bold yellow", "likely_genuine": "bold green"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff"}


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UserInputError(f"{option}: not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise UserInputError(f"{option}: give a timezone, e.g. {value}+08:00")
    return parsed


def _references_from_dir(directory: Path, settings: Settings) -> tuple[list[Evidence], ReferenceCatalogue | None]:
    """A folder of reference images, or a saved reference catalogue (``catalogue.json`` inside).

    A catalogue is asked for its best candidates per claim (cached features, no re-decoding). A folder that
    ``proofdesk index build`` indexed is served from its index while the index still describes the folder;
    otherwise the folder is read whole and every image is a reference (fine for an order's handful of
    listing photos).
    """
    from proofdesk.cli.index import INDEX_DIRNAME, cached_catalogue  # the index command's own freshness rule

    if not directory.is_dir():
        raise UserInputError(f"--reference-dir: {directory} is not a folder")
    if (directory / "catalogue.json").is_file():
        from proofdesk.signals.catalogue import ReferenceIndex  # imported only when a catalogue is used

        return [], ReferenceIndex.open(directory)
    index_dir = directory / INDEX_DIRNAME
    if index_dir.is_dir():
        cached = cached_catalogue(directory)
        if cached is not None:
            typer.echo(f"proofdesk check: using the index {index_dir} ({len(cached)} references)", err=True)
            return [], cached
        typer.echo(
            f"proofdesk check: the index {index_dir} no longer matches the folder (files added, removed or "
            f"changed); reading every image instead. Rebuild it: proofdesk index build {directory}",
            err=True,
        )
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and index_dir not in p.parents
    )
    if not files:
        raise UserInputError(f"--reference-dir: no images in {directory}")
    return [read_evidence(p, limits=settings.evidence) for p in files], None


def _transform_line(transform: Mapping[str, Any]) -> str:
    """The geometric transform a check found, in one line (scale, rotation, mirror, crop, perspective)."""
    parts = [
        f"scale {float(transform.get('scale', 1.0)):.2f}x",
        f"rotation {float(transform.get('rotation_deg', 0.0)):.0f}°",
    ]
    if transform.get("mirrored"):
        parts.append("mirrored")
    parts.append(f"reference shown {float(transform.get('reference_shown', 1.0)):.0%}")
    parts.append(f"claim covered {float(transform.get('claim_covered', 1.0)):.0%}")
    if float(transform.get("perspective", 0.0)) > 0.05:
        parts.append("perspective")
    return ", ".join(parts)


def _mask_path(base: Path, claim: Path, many: bool) -> Path:
    return base.with_name(f"{base.stem}-{claim.stem}{base.suffix or '.png'}") if many else base


def render(report: Report, console: Console) -> None:
    """Print a report for a person: verdict first, then each finding in one line with its evidence."""
    style = _VERDICT_STYLE.get(report.verdict, "bold")
    console.print(
        f"[bold]{report.claim.name}[/] {report.claim.width}x{report.claim.height} "
        f"{report.claim.format} sha256 {report.claim.sha256[:16]}…"
    )
    console.print(f"  verdict: [{style}]{report.verdict}[/]  risk {report.risk:.2f}")
    console.print(f"  why: {report.explanation}", highlight=False)
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    for column in ("check", "label", "score", "summary"):
        table.add_column(column, overflow="fold")
    for finding in report.findings:
        table.add_row(finding.check, finding.label, f"{finding.score:.2f}", finding.summary)
    console.print(table)
    for finding in report.findings:
        if finding.reference:
            console.print(f"  {finding.check}: reference [bold]{finding.reference}[/]", highlight=False)
        transform = finding.details.get("transform") if finding.details else None
        if isinstance(transform, dict):
            console.print(f"  {finding.check}: transform {_transform_line(transform)}", highlight=False)
        for region in finding.regions[:8]:
            cue = f" ({region.cue})" if region.cue else ""
            console.print(
                f"  {finding.check}: region x={region.x} y={region.y} w={region.w} h={region.h} "
                f"score {region.score:.2f}{cue}",
                highlight=False,
            )
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in report.timings_ms.items())
    console.print(f"  time: {timing}", highlight=False)


def check(
    claims: Annotated[list[Path], typer.Argument(help="claim image file(s)", show_default=False)],
    reference: Annotated[
        list[Path] | None, typer.Option("--reference", "-r", help="a reference image (repeatable)")
    ] = None,
    reference_dir: Annotated[
        Path | None,
        typer.Option("--reference-dir", help="a folder of reference images, or a saved reference catalogue"),
    ] = None,
    order_shipped: Annotated[str | None, typer.Option(help="when the order shipped (ISO 8601 with zone)")] = None,
    order_delivered: Annotated[str | None, typer.Option(help="when it was delivered (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print proofdesk.report/1 JSON")] = False,
    mask_out: Annotated[Path | None, typer.Option("--mask-out", help="write the edit mask PNG (255 = edited)")] = None,
) -> int:
    """Check claim photo(s) and print an explained verdict for each."""
    settings = Settings.from_env()
    timeline = OrderTimeline(
        shipped_at=_parse_time(order_shipped, "--order-shipped"),
        delivered_at=_parse_time(order_delivered, "--order-delivered"),
    )
    references = [read_evidence(p, limits=settings.evidence) for p in reference or []]
    catalogue: ReferenceCatalogue | None = None
    if reference_dir is not None:
        from_dir, catalogue = _references_from_dir(reference_dir, settings)
        references += from_dir
    claim_evidence = [read_evidence(p, limits=settings.evidence) for p in claims]
    console = Console(highlight=False, soft_wrap=False, width=120)
    documents = []
    for index, (path, claim) in enumerate(zip(claims, claim_evidence, strict=True)):
        siblings = tuple(e for i, e in enumerate(claim_evidence) if i != index)
        context = CheckContext(
            references=tuple(references),
            catalogue=catalogue,
            timeline=timeline,
            siblings=siblings,
            config=settings.checks,
        )
        report = verify(claim, context=context, policy=settings.verdict)
        if mask_out is not None:
            target = _mask_path(mask_out, path, len(claims) > 1)
            Image.fromarray(report.edit_mask()).save(target, format="PNG")
        if as_json:
            documents.append(report.to_json())
        else:
            render(report, console)
    if as_json:
        payload = documents[0] if len(documents) == 1 else documents
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    return 0
