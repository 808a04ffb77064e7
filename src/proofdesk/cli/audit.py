"""``proofdesk audit verify``: prove the audit chain untouched or name the first broken event."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proofdesk.config import Settings
from proofdesk.errors import UserInputError

audit_app = typer.Typer(help="Audit log commands.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder of the embedded default")] = None,
) -> int:
    """Recompute the hash chain; exit 0 when intact, 1 naming the first broken event."""
    from proofdesk.audit import verify_chain
    from proofdesk.db import make_engine, make_session_factory, session_scope

    overrides: dict[str, object] = {} if data_dir is None else {"data_dir": data_dir}
    settings = Settings.from_env(**overrides)
    if settings.database_url is None and not (settings.data_dir / "proofdesk.sqlite3").is_file():
        raise UserInputError(f"no Proofdesk database in {settings.data_dir} (use --data-dir)")
    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            result = verify_chain(session)
    finally:
        engine.dispose()
    typer.echo(result.describe())
    return 0 if result.ok else 1
