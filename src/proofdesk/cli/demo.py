"""``proofdesk demo``: seed a data dir with demo cases for the console (idempotent; see proofdesk.demo.seed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proofdesk.config import Settings


def demo(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="SQLite file and evidence folder")] = None,
) -> int:
    """Seed demo users, listings, orders and a forged, a genuine, an appealable and a repair case."""
    from proofdesk.demo import seed
    from proofdesk.services import build_services

    overrides: dict[str, object] = {} if data_dir is None else {"data_dir": data_dir}
    settings = Settings.from_env(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(settings)
    try:
        result = seed(settings, services)
    finally:
        services.close()
    typer.echo("demo data " + ("seeded" if result.created else "already present") + f" in {settings.data_dir}")
    for name, case_id in result.cases.items():
        typer.echo(f"  {name}: {case_id}")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    typer.echo("sign in at /console/signin with the demo buttons (tokens in demo-users.json)")
    return 0
