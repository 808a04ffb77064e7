"""Case dossiers: the overlays, the plain-sentence findings and the evidence report (HTML, PDF, verify).

Application layer, between the case service and its two readers: the web console (``proofdesk.console``)
and the ``proofdesk report`` command. It reads a :class:`CaseFile` and stored bytes through a
:class:`BlobReader`; it never touches the database itself.
"""

from proofdesk.dossier.i18n import LANGUAGES, Lang, Translator, finding_sentence, negotiate, translator
from proofdesk.dossier.model import AuditLine, BlobReader, CaseFile, EvidenceItem, PhotoResult
from proofdesk.dossier.report import (
    MANIFEST_SCHEMA,
    ManifestCheck,
    build_manifest,
    read_manifest,
    render_html,
    render_pdf,
    report_digest,
    verify_manifest,
)

__all__ = [
    "LANGUAGES",
    "MANIFEST_SCHEMA",
    "AuditLine",
    "BlobReader",
    "CaseFile",
    "EvidenceItem",
    "Lang",
    "ManifestCheck",
    "PhotoResult",
    "Translator",
    "build_manifest",
    "finding_sentence",
    "negotiate",
    "read_manifest",
    "render_html",
    "render_pdf",
    "report_digest",
    "translator",
    "verify_manifest",
]
