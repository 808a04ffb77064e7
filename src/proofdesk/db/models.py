"""Which modules declare tables on :class:`~proofdesk.db.Base`.

The db layer sits below the modules that declare tables, so it names them here as strings and imports them
on demand (:func:`import_all_models`): Alembic autogenerate and tests that need the complete metadata call
it. A module that adds tables (repair, credit, banks, ...) adds its name to :data:`MODEL_MODULES`.
"""

from __future__ import annotations

import importlib

MODEL_MODULES: tuple[str, ...] = (
    "proofdesk.audit._models",
    "proofdesk.security._models",
    "proofdesk.cases.models",
    "proofdesk.jobs._models",
    "proofdesk.repair.models",
    "proofdesk.banks.sql",
    "proofdesk.credit.sql",
)


def import_all_models() -> list[str]:
    """Import every table module that is installed; return the names imported."""
    loaded: list[str] = []
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a missing dependency inside the module is a real error
                raise
            continue
        loaded.append(name)
    return loaded
