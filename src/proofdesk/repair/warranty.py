"""Warranty after a repair, extensions, lookup by unit serial, and preventive-maintenance schedules.

Where this sits in the repair flow: completing a visit issues a :class:`Warranty` (labour for the repair, each
replaced part by its serial); a new request for the same unit serial asks :func:`lookup` what is still covered,
so the agent can tell the customer whether the visit is free. :class:`MaintenancePlan` yields the dates of
recurring preventive visits, and :func:`callback_due` when the follow-up call is scheduled.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from proofdesk.errors import InvalidSettings, UserInputError


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months; the 31st becomes the month's last day (2026-01-31 + 1 → 2026-02-28)."""
    idx = day.month - 1 + months
    year, month = day.year + idx // 12, idx % 12 + 1
    return dt.date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


@dataclass(frozen=True)
class WarrantyTerms:
    """Default periods; parts under the national 三包 rules for appliances are commonly 3–12 months."""

    labour_months: int = 3
    parts_months: int = 12

    def __post_init__(self) -> None:
        if self.labour_months < 0 or self.parts_months < 0:
            raise InvalidSettings("warranty months cannot be negative")


@dataclass(frozen=True)
class PartLine:
    name: str
    serial: str
    months: int


@dataclass(frozen=True)
class Warranty:
    """The warranty of one completed repair on one unit."""

    unit_serial: str
    repair_id: str
    start: dt.date
    labour_until: dt.date
    parts: tuple[tuple[PartLine, dt.date], ...]
    extended_until: dt.date | None = None
    extensions: tuple[tuple[int, int], ...] = field(default=())  # (months, price in fen)

    @classmethod
    def issue(
        cls,
        *,
        unit_serial: str,
        repair_id: str,
        completed: dt.date,
        parts: Iterable[tuple[str, str]] = (),
        terms: WarrantyTerms | None = None,
    ) -> Warranty:
        terms = terms or WarrantyTerms()
        if not unit_serial.strip():
            raise UserInputError("a warranty needs the unit serial")
        lines = tuple(
            (PartLine(name, serial, terms.parts_months), add_months(completed, terms.parts_months))
            for name, serial in parts
        )
        return cls(unit_serial.strip(), repair_id, completed, add_months(completed, terms.labour_months), lines)

    def extend(self, months: int, *, price_fen: int) -> Warranty:
        """Optional paid extension of parts and labour, counted from the latest current end."""
        if months <= 0:
            raise UserInputError("an extension is at least one month")
        base = max([self.labour_until, *(until for _, until in self.parts), self.extended_until or self.start])
        return replace(
            self, extended_until=add_months(base, months), extensions=(*self.extensions, (months, price_fen))
        )

    def status(self, on: dt.date) -> WarrantyStatus:
        ext = self.extended_until is not None and on <= self.extended_until
        labour = on <= self.labour_until or ext
        parts = tuple(p.serial for p, until in self.parts if on <= until or ext)
        ends = [self.labour_until, *(u for _, u in self.parts)] + ([self.extended_until] if self.extended_until else [])
        return WarrantyStatus(self.unit_serial, self.repair_id, labour, parts, max(ends), ext)


@dataclass(frozen=True)
class WarrantyStatus:
    unit_serial: str
    repair_id: str
    labour_covered: bool
    parts_covered: tuple[str, ...]
    expires: dt.date
    extended: bool

    @property
    def covered(self) -> bool:
        return self.labour_covered or bool(self.parts_covered)

    def to_dict(self) -> dict[str, object]:
        return {
            "unit_serial": self.unit_serial,
            "repair_id": self.repair_id,
            "labour_covered": self.labour_covered,
            "parts_covered": list(self.parts_covered),
            "expires": self.expires.isoformat(),
            "extended": self.extended,
            "covered": self.covered,
        }


def lookup(warranties: Iterable[Warranty], unit_serial: str, on: dt.date) -> list[WarrantyStatus]:
    """Every warranty on this unit, current ones first."""
    found = [w.status(on) for w in warranties if w.unit_serial == unit_serial.strip()]
    return sorted(found, key=lambda s: (not s.covered, s.expires), reverse=False)


@dataclass(frozen=True)
class MaintenancePlan:
    """Preventive visits every ``interval_months`` from ``start`` (for ``visits`` visits, or open-ended)."""

    unit_serial: str
    start: dt.date
    interval_months: int
    visits: int | None = None

    def __post_init__(self) -> None:
        if self.interval_months < 1:
            raise UserInputError("a maintenance interval is at least one month")

    def due_dates(self) -> Iterator[dt.date]:
        n = 0
        while self.visits is None or n < self.visits:
            yield add_months(self.start, n * self.interval_months)
            n += 1

    def next_due(self, after: dt.date) -> dt.date | None:
        return next((d for d in self.due_dates() if d > after), None)


# A call-back three days after completion catches problems that show only in use, and is early enough that the
# customer still remembers the visit.
CALLBACK_AFTER_DAYS = 3


def callback_due(completed_at: dt.datetime) -> dt.datetime:
    return completed_at + dt.timedelta(days=CALLBACK_AFTER_DAYS)
