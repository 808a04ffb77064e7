"""The evidence report: one case as HTML and PDF, with a manifest that ``proofdesk report verify`` checks.

Last step of a dispute: a merchant (or the platform) hands the report to an arbitrator. It carries the photos
and references (as sized derivatives with overlays), each finding in a plain sentence with its measured value
and threshold, the sha256 of every stored file, timestamps and an excerpt of the audit trail. The manifest
(``proofdesk.evidence-report/1``) is embedded in both files — a JSON ``<script>`` in the HTML, the PDF's
Subject field — so the report alone is enough to check it against the evidence store: every listed file must
still be stored and still hash to the listed sha256, every listed report must still hash the same.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from jinja2 import Environment, PackageLoader, select_autoescape

from proofdesk.dossier import overlays
from proofdesk.dossier.i18n import Translator, finding_sentence
from proofdesk.dossier.model import BlobReader, CaseFile, PhotoResult
from proofdesk.errors import IntegrityError, NotFound, UserInputError
from proofdesk.report import Report

__all__ = [
    "MANIFEST_SCHEMA",
    "ManifestCheck",
    "build_manifest",
    "read_manifest",
    "render_html",
    "render_pdf",
    "report_digest",
    "verify_manifest",
]

MANIFEST_SCHEMA: Final = "proofdesk.evidence-report/1"
_PDF_TAG: Final = "proofdesk-manifest:"
_REPORT_SIDE: Final = 720  # derivative size embedded in reports: readable, and a report stays a few MB


def report_digest(report: Report) -> str:
    """sha256 of a stored check report in canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(report.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_manifest(case: CaseFile, *, generated_at: datetime | None = None) -> dict[str, Any]:
    """What the report asserts about the stored evidence, in a form a machine can re-check."""
    when = (generated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "schema": MANIFEST_SCHEMA,
        "case_id": case.case_id,
        "generated_at": when,
        "files": [
            {
                "sha256": item.sha256,
                "name": item.name,
                "role": item.role,
                "size": item.size,
                "content_type": item.content_type,
                "stored_at": item.stored_at.isoformat(timespec="seconds") if item.stored_at else None,
            }
            for item in case.all_files()
        ],
        "reports": [
            {
                "photo_sha256": p.photo.sha256,
                "report_sha256": report_digest(p.report),
                "verdict": p.report.verdict,
                "risk": round(p.report.risk, 4),
            }
            for p in case.photos
            if p.report is not None
        ],
        "audit": [
            {"at": line.at.isoformat(timespec="seconds"), "action": line.action, "event_hash": line.event_hash}
            for line in case.audit
        ],
    }


@dataclass(frozen=True)
class ManifestCheck:
    """Outcome of verifying one report against the store: every problem found, by file."""

    case_id: str
    checked_files: int
    checked_reports: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every listed file and report still matches."""
        return not self.problems


def verify_manifest(
    manifest: Mapping[str, Any],
    store: BlobReader,
    *,
    current_reports: Callable[[str], Iterable[Report]] | None = None,
) -> ManifestCheck:
    """Re-hash every listed file from ``store``; compare listed report digests with ``current_reports``.

    ``current_reports(case_id)`` returns the reports stored for the case now (from the case service); without
    it only the files are checked, and the result says so by counting zero checked reports.
    """
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise UserInputError(f"not a {MANIFEST_SCHEMA} manifest (schema={manifest.get('schema')!r})")
    problems: list[str] = []
    for entry in manifest.get("files", []):
        sha = str(entry.get("sha256", ""))
        name = entry.get("name", sha[:12])
        try:
            data = store.get(sha)
        except (NotFound, FileNotFoundError, KeyError):
            problems.append(f"{name}: sha256 {sha} is not in the evidence store")
            continue
        except IntegrityError as exc:
            problems.append(f"{name}: stored bytes no longer match sha256 {sha} ({exc})")
            continue
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            problems.append(f"{name}: listed sha256 {sha}, stored bytes hash to {actual}")
        elif entry.get("size") is not None and int(entry["size"]) != len(data):
            problems.append(f"{name}: listed size {entry['size']}, stored size {len(data)}")
    checked_reports = 0
    if current_reports is not None:
        now = {report.claim.sha256: report_digest(report) for report in current_reports(str(manifest["case_id"]))}
        for entry in manifest.get("reports", []):
            checked_reports += 1
            photo = entry.get("photo_sha256")
            if photo not in now:
                problems.append(f"report of photo {photo}: no stored report now")
            elif now[photo] != entry.get("report_sha256"):
                problems.append(f"report of photo {photo}: stored report changed since the evidence report was made")
    return ManifestCheck(
        case_id=str(manifest.get("case_id")),
        checked_files=len(manifest.get("files", [])),
        checked_reports=checked_reports,
        problems=tuple(problems),
    )


def read_manifest(data: bytes) -> dict[str, Any]:
    """The manifest embedded in a report file (HTML or PDF), or a bare manifest JSON file."""
    manifest: Any
    if data.startswith(b"%PDF"):
        found = re.search(rb"proofdesk-manifest:([A-Za-z0-9+/=]+)", data)
        if found is None:
            raise UserInputError("this PDF carries no Proofdesk manifest")
        manifest = json.loads(base64.b64decode(found.group(1)))
    elif data.lstrip().startswith(b"{"):
        manifest = json.loads(data)
    else:
        found = re.search(
            rb'<script type="application/json" id="proofdesk-manifest">(.*?)</script>', data, re.DOTALL
        )
        if found is None:
            raise UserInputError("not a Proofdesk evidence report (no embedded manifest)")
        manifest = json.loads(found.group(1))
    if not isinstance(manifest, dict):
        raise UserInputError("the manifest is not a JSON object")
    return manifest


# --------------------------------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _PhotoView:
    result: PhotoResult
    outline: bytes | None
    reference: bytes | None
    aligned: bool
    mask: bytes | None
    sentences: list[str]


def _edit_regions(result: PhotoResult) -> list[tuple[Any, bool]]:
    if result.report is None:
        return []
    return [
        (region, finding.check in ("reference", "pixels"))
        for finding in result.report.findings
        if finding.score > 0
        for region in finding.regions
    ]


def _views(case: CaseFile, store: BlobReader, t: Translator) -> list[_PhotoView]:
    out: list[_PhotoView] = []
    for result in case.photos:
        claim = store.get(result.photo.sha256) if result.photo.is_image else None
        outline = reference = mask = None
        aligned = False
        if claim is not None:
            outline = overlays.outlined(claim, _edit_regions(result), max_side=_REPORT_SIDE)
            regions = [r for r, edit in _edit_regions(result) if edit]
            if regions or result.mask_sha256:
                mask = overlays.mask_overlay(
                    claim,
                    mask_png=store.get(result.mask_sha256) if result.mask_sha256 else None,
                    regions=regions,
                    max_side=_REPORT_SIDE,
                )
            if result.reference is not None:
                reference, aligned = overlays.aligned_reference(
                    store.get(result.reference.sha256), claim, result.homography(), max_side=_REPORT_SIDE
                )
        sentences = [finding_sentence(f, t) for f in (result.report.findings if result.report else [])]
        out.append(_PhotoView(result, outline, reference, aligned, mask, sentences))
    return out


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("proofdesk.dossier", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    return env


def _manifest_json(manifest: Mapping[str, Any]) -> str:
    # "</" would close the script element early; JSON allows the escaped form.
    return json.dumps(manifest, ensure_ascii=False, indent=1).replace("</", "<\\/")


def render_html(case: CaseFile, store: BlobReader, t: Translator, *, manifest: Mapping[str, Any]) -> bytes:
    """A single self-contained HTML file (images embedded) with the manifest inside."""
    template = _environment().get_template("report.html")
    html = template.render(
        case=case,
        views=_views(case, store, t),
        manifest=manifest,
        manifest_json=_manifest_json(manifest),
        t=t,
        lang=t.lang,
    )
    return html.encode("utf-8")


def render_pdf(case: CaseFile, store: BlobReader, t: Translator, *, manifest: Mapping[str, Any]) -> bytes:
    """The same content as a PDF (reportlab; CJK text in the built-in STSong-Light CID font, no font files)."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=9, leading=13, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=13, leading=18, spaceBefore=8, spaceAfter=4)
    title = ParagraphStyle("title", parent=body, fontSize=17, leading=22, spaceAfter=6)
    mono = ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=7, leading=9, wordWrap="CJK")

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), style)

    def picture(data: bytes, width: float) -> Image:
        reader = ImageReader(io.BytesIO(data))
        w, h = reader.getSize()
        return Image(io.BytesIO(data), width=width, height=width * h / w)

    story: list[Any] = [para(t("report.title", case=case.case_id), title)]
    facts = [
        (t("case.status"), t(f"status.{case.status}") if t.has(f"status.{case.status}") else case.status),
        (t("case.claim_type"), t(f"claim_type.{case.claim_type}")),
        (t("case.reason"), t(f"reason.{case.reason}")),
        (t("case.merchant"), case.merchant),
        (t("case.buyer"), case.buyer),
        (t("case.order"), case.order_ref),
        (t("case.created"), case.created_at.isoformat(timespec="seconds")),
        (t("report.generated"), str(manifest["generated_at"])),
    ]
    table = Table([[para(k), para(v)] for k, v in facts], colWidths=[40 * mm, 130 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [table, Spacer(1, 4 * mm)]
    for index, view in enumerate(_views(case, store, t), start=1):
        result = view.result
        story.append(para(t("report.photo_heading", n=index, name=result.photo.name), head))
        if result.report is not None:
            story.append(para(t("report.verdict_line", verdict=t(f"verdict.{result.report.verdict}"),
                                risk=f"{result.report.risk:.2f}", explanation=result.report.explanation)))
        cells: list[Any] = []
        captions: list[Any] = []
        if view.outline is not None:
            cells.append(picture(view.outline, 82 * mm))
            captions.append(para(t("report.caption_claim")))
        if view.reference is not None:
            cells.append(picture(view.reference, 82 * mm))
            captions.append(para(t("report.caption_reference_aligned" if view.aligned
                                   else "report.caption_reference_unaligned", name=result.reference.name
                                   if result.reference else "")))
        if cells:
            story.append(Table([cells, captions], colWidths=[86 * mm] * len(cells)))
        if view.mask is not None:
            story += [picture(view.mask, 60 * mm), para(t("report.caption_mask"))]
        for sentence in view.sentences:
            story.append(para("• " + sentence))
        story.append(Spacer(1, 3 * mm))
    story.append(para(t("report.files_heading"), head))
    rows = [[para(t("report.file")), para(t("report.role")), para("sha256"), para(t("report.stored"))]]
    for entry in manifest["files"]:
        rows.append([para(str(entry["name"])), para(str(entry["role"])), Paragraph(entry["sha256"], mono),
                     para(str(entry["stored_at"] or ""))])
    files = Table(rows, colWidths=[40 * mm, 25 * mm, 75 * mm, 30 * mm], repeatRows=1)
    files.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(files)
    if case.audit:
        story.append(para(t("report.audit_heading"), head))
        audit_rows = [[para(line.at.isoformat(timespec="seconds")), para(line.actor), para(line.action),
                       para(line.summary), Paragraph(line.event_hash[:16], mono)] for line in case.audit]
        audit = Table(audit_rows, colWidths=[32 * mm, 25 * mm, 30 * mm, 58 * mm, 25 * mm])
        audit.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
        story.append(audit)
    story += [Spacer(1, 4 * mm), para(t("report.verify_hint", case=case.case_id))]

    buffer = io.BytesIO()
    payload = base64.b64encode(json.dumps(manifest, ensure_ascii=False).encode("utf-8")).decode("ascii")
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=t("report.title", case=case.case_id), author="Proofdesk", subject=_PDF_TAG + payload,
    )
    doc.build(story)
    return buffer.getvalue()


def file_rows(manifest: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The manifest's file list (for templates)."""
    files: Sequence[Mapping[str, Any]] = manifest.get("files", [])
    return files
