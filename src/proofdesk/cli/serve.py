"""``proofdesk serve``: migrate, start the local check workers, serve the API and console (DESIGN.md §5).

One command for the embedded default: SQLite and evidence under ``--data-dir`` (created if missing);
``PROOFDESK_DATABASE_URL`` selects PostgreSQL. With ``job_backend=local`` the check workers run as child
processes of this one and stop with it; with ``dramatiq`` they are started separately
(``dramatiq proofdesk.workers.dramatiq_actors``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proofdesk.config import Settings


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="SQLite file and evidence folder")] = None,
    workers: Annotated[int | None, typer.Option(help="local check worker processes (default: settings)")] = None,
) -> None:
    """Start the API and the console on the embedded default (or the configured database)."""
    import uvicorn

    from proofdesk.api import create_app
    from proofdesk.db import migrate

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if workers is not None:
        overrides["local_workers"] = workers
    settings = Settings.from_env(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings)
    app = create_app(settings, start_workers=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
