"""``proofdesk report build|verify``: the evidence report of a case, and checking one against the store.

``build`` writes ``case-<id>.html`` and ``case-<id>.pdf`` (see :mod:`proofdesk.dossier.report`). ``verify``
reads the manifest embedded in a report (HTML, PDF or the bare manifest JSON), re-hashes every listed file
from the evidence store and compares the listed check reports with the ones stored now: exit 0 when all
match, 1 naming each mismatch, 2 when the file is not a Proofdesk report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proofdesk.config import Settings
from proofdesk.errors import UserInputError

report_app = typer.Typer(help="Evidence reports: build one for a case, verify one against the stored evidence.",
                         no_args_is_help=True)


def _settings(data_dir: Path | None) -> Settings:
    overrides: dict[str, object] = {} if data_dir is None else {"data_dir": data_dir}
    settings = Settings.from_env(**overrides)
    if settings.database_url is None and not (settings.data_dir / "proofdesk.sqlite3").is_file():
        raise UserInputError(f"no Proofdesk database in {settings.data_dir} (use --data-dir)")
    return settings


@report_app.command("build")
def build(
    case_id: Annotated[str, typer.Argument(help="case id")],
    out: Annotated[Path, typer.Option("--out", help="folder to write the report into")] = Path("."),
    lang: Annotated[str, typer.Option("--lang", help="en or zh")] = "en",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder of the embedded default")] = None,
) -> int:
    """Write the HTML and PDF evidence report of one case."""
    from proofdesk.dossier import build_manifest, render_html, render_pdf, translator
    from proofdesk.dossier.from_db import load_case_file
    from proofdesk.security import Principal, Role
    from proofdesk.services import build_services

    services = build_services(_settings(data_dir))
    try:
        with services.session() as session:
            admin = Principal(Role.ADMIN, None, None, "report-cli")
            case = load_case_file(session, admin, case_id, store=services.store)
        t = translator(lang)
        manifest = build_manifest(case)
        out.mkdir(parents=True, exist_ok=True)
        html = out / f"case-{case_id}.html"
        pdf = out / f"case-{case_id}.pdf"
        html.write_bytes(render_html(case, services.store, t, manifest=manifest))
        pdf.write_bytes(render_pdf(case, services.store, t, manifest=manifest))
    finally:
        services.close()
    typer.echo(f"{html}\n{pdf}")
    return 0


@report_app.command("verify")
def verify(
    report: Annotated[Path, typer.Argument(help="an evidence report: .html, .pdf or manifest .json")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder of the embedded default")] = None,
) -> int:
    """Check a report against the stored evidence: exit 0 when every hash matches, 1 otherwise."""
    from proofdesk.dossier import read_manifest, verify_manifest
    from proofdesk.dossier.from_db import latest_reports
    from proofdesk.report import Report
    from proofdesk.services import build_services

    try:
        data = report.read_bytes()
    except OSError as exc:
        raise UserInputError(f"cannot read {report}: {exc.strerror}") from exc
    manifest = read_manifest(data)
    services = build_services(_settings(data_dir))
    try:
        with services.session() as session:

            def current(case_id: str) -> list[Report]:
                return [Report.from_json(row.report) for row in latest_reports(session, case_id).values()]

            result = verify_manifest(manifest, services.store, current_reports=current)
    finally:
        services.close()
    if result.ok:
        typer.echo(f"ok: case {result.case_id}: {result.checked_files} files and {result.checked_reports} check "
                   "reports match the stored evidence")
        return 0
    for problem in result.problems:
        typer.echo(f"MISMATCH: {problem}", err=True)
    typer.echo(f"case {result.case_id}: {len(result.problems)} mismatch(es)", err=True)
    return 1
