"""The one list of checks.

Built-in checks are named here once, as ``module:Class`` paths imported on first use (so that importing
Proofdesk does not pull in OCR or C2PA libraries nobody asked for). Third-party checks register under the
entry-point group ``proofdesk.checks``. Names must be unique; a clash is an error at load time, not a
silent override.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any, Protocol

from proofdesk.checks.base import Check
from proofdesk.errors import InvalidSettings

__all__ = ["BUILTIN_CHECKS", "CheckFactory", "available_checks", "build_checks", "load_check_class"]

#: Built-in checks in the order they run and are shown.
BUILTIN_CHECKS: tuple[str, ...] = (
    "proofdesk.checks.reference:ReferenceCheck",
    "proofdesk.checks.provenance:ProvenanceCheck",
    "proofdesk.checks.metadata:MetadataCheck",
    "proofdesk.checks.pixels:PixelsCheck",
    "proofdesk.checks.reuse:ReuseCheck",
)

ENTRY_POINT_GROUP = "proofdesk.checks"


class CheckFactory(Protocol):
    """A check class: carries ``name``/``version`` and builds itself from a config mapping."""

    name: str
    version: str

    def from_config(self, config: Mapping[str, Any]) -> Check:
        """Build the check, validating ``config`` (raise InvalidSettings on bad values)."""
        ...


def load_check_class(path: str) -> CheckFactory:
    """Import ``module:Class``."""
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    factory: CheckFactory = getattr(module, attr)
    return factory


def available_checks() -> dict[str, CheckFactory]:
    """All check classes by name: built-ins, then entry points. Raises on duplicate names."""
    found: dict[str, CheckFactory] = {}
    sources: Iterable[tuple[str, str]] = [(p, "built-in") for p in BUILTIN_CHECKS]
    sources = list(sources) + [(ep.value, f"entry point {ep.name}") for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for path, origin in sources:
        factory = load_check_class(path)
        if factory.name in found:
            raise InvalidSettings(f"check name {factory.name!r} registered twice ({origin}: {path})")
        found[factory.name] = factory
    return found


def build_checks(
    names: Iterable[str] | None = None, *, config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Check]:
    """Instantiate the named checks (all by default) with their config overrides."""
    config = config or {}
    factories = available_checks()
    unknown_config = set(config) - set(factories)
    if unknown_config:
        raise InvalidSettings(f"configuration for unknown check(s): {', '.join(sorted(unknown_config))}")
    wanted = list(factories) if names is None else list(names)
    checks: list[Check] = []
    for name in wanted:
        if name not in factories:
            raise InvalidSettings(f"unknown check {name!r}; known: {', '.join(factories)}")
        checks.append(factories[name].from_config(config.get(name, {})))
    return checks
