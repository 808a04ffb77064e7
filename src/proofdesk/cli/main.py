"""The ``proofdesk`` command.

Flow: ``main()`` -> ``inner_main(argv)`` -> Typer parses the verb -> the verb module calls the library or an
application service -> output. Errors travel as :mod:`proofdesk.errors` exceptions and are turned into exit
codes here and nowhere else: 0 ok (whatever the verdict), 1 internal error or failed verification,
2 bad usage or unreadable input (with a one-line reason on stderr), 3 a dependency is down.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from typer.exceptions import TyperException

from proofdesk.cli import audit as audit_cmd
from proofdesk.cli import check as check_cmd
from proofdesk.cli import demo as demo_cmd
from proofdesk.cli import index as index_cmd
from proofdesk.cli import report as report_cmd
from proofdesk.cli import serve as serve_cmd
from proofdesk.cli import tokens as tokens_cmd
from proofdesk.errors import DependencyUnavailable, IntegrityError, ProofdeskError, UserInputError

app = typer.Typer(
    name="proofdesk",
    help="Proofdesk: check after-sales evidence photos and run after-sales cases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Proofdesk: check after-sales evidence photos and run after-sales cases."""


app.command(name="check")(check_cmd.check)
app.command(name="serve")(serve_cmd.serve)
app.add_typer(audit_cmd.audit_app, name="audit")
app.add_typer(tokens_cmd.token_app, name="token")
app.add_typer(index_cmd.index_app, name="index")
app.command(name="demo")(demo_cmd.demo)
app.add_typer(report_cmd.report_app, name="report")


def exit_code_for(error: BaseException) -> int:
    """Map an exception to the documented exit code."""
    if isinstance(error, UserInputError):
        return 2
    if isinstance(error, DependencyUnavailable):
        return 3
    if isinstance(error, IntegrityError | ProofdeskError):
        return 1
    return 1


def inner_main(argv: Sequence[str]) -> int:
    """Run one command; return its exit code instead of exiting (tests call this)."""
    try:
        result = app(list(argv), standalone_mode=False, prog_name="proofdesk")
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        print("proofdesk: aborted", file=sys.stderr)  # noqa: T201
        return 1
    except TyperException as usage:  # Typer's parse errors (bad option, missing argument, ...)
        show = getattr(usage, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            print(f"proofdesk: {usage}", file=sys.stderr)  # noqa: T201
        return int(getattr(usage, "exit_code", 2))
    except ProofdeskError as error:
        print(f"proofdesk: error: {error}", file=sys.stderr)  # noqa: T201
        return exit_code_for(error)
    return int(result) if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    try:
        code = inner_main(sys.argv[1:])
    except Exception as exc:  # noqa: BLE001 - last resort: one line, exit 1, no traceback for users
        print(f"proofdesk: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)  # noqa: T201
        code = 1
    raise SystemExit(code)
