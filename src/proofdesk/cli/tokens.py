"""``proofdesk token issue``: the first admin token (and any other) from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from proofdesk.config import Settings

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@token_app.command("issue")
def issue(
    role: Annotated[str, typer.Option(help="buyer, merchant, reviewer, technician, admin, dispatcher, agent")],
    subject: Annotated[str | None, typer.Option(help="buyer/merchant/technician id (scoped roles)")] = None,
    name: Annotated[str, typer.Option(help="a label for the token")] = "",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data folder of the embedded default")] = None,
) -> None:
    """Print a new token (shown once; only its hash is stored). Runs migrations first."""
    from proofdesk.db import make_engine, make_session_factory, migrate, session_scope
    from proofdesk.errors import UserInputError
    from proofdesk.security import Role, issue_token

    try:
        chosen = Role(role)
    except ValueError as exc:
        raise UserInputError(f"unknown role {role!r}") from exc
    settings = Settings.from_env(**({} if data_dir is None else {"data_dir": data_dir}))
    migrate(settings)
    engine = make_engine(settings)
    try:
        with session_scope(make_session_factory(engine)) as session:
            issued = issue_token(session, chosen, subject, name=name, issued_by="cli:token-issue")
    finally:
        engine.dispose()
    typer.echo(issued.token)
