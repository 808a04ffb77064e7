"""Warranty periods, extension, lookup by serial, maintenance plans."""

from __future__ import annotations

import datetime as dt

import pytest

from proofdesk.errors import UserInputError
from proofdesk.repair.warranty import MaintenancePlan, Warranty, WarrantyTerms, add_months, callback_due, lookup


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 5, 15), 12) == dt.date(2027, 5, 15)


def test_parts_and_labour_expire_separately() -> None:
    w = Warranty.issue(
        unit_serial="SAFE-001",
        repair_id="r1",
        completed=dt.date(2026, 11, 24),
        parts=[("lock motor", "LM-9")],
        terms=WarrantyTerms(labour_months=3, parts_months=12),
    )
    assert w.status(dt.date(2027, 2, 24)).labour_covered
    mid = w.status(dt.date(2027, 3, 1))
    assert not mid.labour_covered and mid.parts_covered == ("LM-9",) and mid.covered
    assert not w.status(dt.date(2027, 11, 25)).covered
    assert w.status(dt.date(2026, 12, 1)).expires == dt.date(2027, 11, 24)


def test_extension_covers_parts_and_labour_after_the_base_period() -> None:
    w = Warranty.issue(
        unit_serial="SAFE-001", repair_id="r1", completed=dt.date(2026, 11, 24), parts=[("lock motor", "LM-9")]
    ).extend(12, price_fen=9900)
    late = w.status(dt.date(2028, 6, 1))
    assert late.extended and late.labour_covered and late.parts_covered == ("LM-9",)
    assert late.expires == dt.date(2028, 11, 24)
    with pytest.raises(UserInputError):
        w.extend(0, price_fen=0)


def test_lookup_by_serial_lists_current_first() -> None:
    old = Warranty.issue(unit_serial="U1", repair_id="old", completed=dt.date(2024, 1, 1))
    new = Warranty.issue(unit_serial="U1", repair_id="new", completed=dt.date(2026, 11, 1))
    other = Warranty.issue(unit_serial="U2", repair_id="x", completed=dt.date(2026, 11, 1))
    found = lookup([old, other, new], " U1 ", dt.date(2026, 11, 24))
    assert [s.repair_id for s in found] == ["new", "old"]
    assert found[0].covered and not found[1].covered
    assert lookup([old], "nope", dt.date(2026, 11, 24)) == []


def test_maintenance_plan_dates() -> None:
    plan = MaintenancePlan("U1", dt.date(2026, 1, 31), interval_months=6, visits=3)
    assert list(plan.due_dates()) == [dt.date(2026, 1, 31), dt.date(2026, 7, 31), dt.date(2027, 1, 31)]
    assert plan.next_due(dt.date(2026, 8, 1)) == dt.date(2027, 1, 31)
    assert plan.next_due(dt.date(2027, 2, 1)) is None
    with pytest.raises(UserInputError):
        MaintenancePlan("U1", dt.date(2026, 1, 1), interval_months=0)


def test_callback_three_days_after_completion() -> None:
    done = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
    assert callback_due(done) == done + dt.timedelta(days=3)
