"""Working calendar, promise terms, timers and technician choice."""

from __future__ import annotations

import datetime as dt

import pytest

from proofdesk.errors import InvalidTransition, NotFound, UserInputError
from proofdesk.repair.calendar import CHINA_TZ, WorkCalendar
from proofdesk.repair.dispatch import (
    AlertKind,
    Dispatcher,
    Job,
    NoTechnicianAvailable,
    Priority,
    PromisePolicy,
    Technician,
    due_alerts,
    naive_candidates,
)
from proofdesk.repair.lifecycle import TRANSITIONS, VisitStatus, allowed, transition
from proofdesk.repair.regions import Coverage, DivisionCatalog, OutsideCoverage


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def catalog() -> DivisionCatalog:
    return DivisionCatalog.load()


# -- calendar ----------------------------------------------------------------------------------------------


def test_official_holidays_and_make_up_workdays() -> None:
    cal = WorkCalendar()
    assert not cal.is_working_day(dt.date(2026, 10, 1))  # 国庆
    assert cal.is_working_day(dt.date(2026, 9, 20))  # Sunday made a workday (调休) for 国庆 2026
    assert not cal.is_working_day(dt.date(2026, 11, 22))  # ordinary Sunday
    assert WorkCalendar(weekends=True).is_working_day(dt.date(2026, 10, 1))
    assert not WorkCalendar(days_off=frozenset({dt.date(2026, 11, 24)})).is_working_day(dt.date(2026, 11, 24))


def test_working_minutes_skip_nights_weekends_and_holidays() -> None:
    cal = WorkCalendar(dt.time(9), dt.time(18))
    # Friday 17:00 + 2 h: one hour Friday, the rest Monday morning
    assert cal.add_working_minutes(at(2026, 11, 20, 17), 120) == at(2026, 11, 23, 10)
    # 30 Sep 2026 17:00 + 2 h: 国庆 1–7 Oct is off, 8 Oct is a workday
    assert cal.add_working_minutes(at(2026, 9, 30, 17), 120) == at(2026, 10, 8, 10)
    assert cal.working_minutes_between(at(2026, 11, 20, 17), at(2026, 11, 23, 10)) == 120
    assert cal.next_working_moment(at(2026, 11, 24, 7)) == at(2026, 11, 24, 9)
    with pytest.raises(UserInputError):
        cal.add_working_minutes(dt.datetime(2026, 11, 24, 10), 10)  # naive datetime


def test_unpublished_year_falls_back_to_weekdays_and_says_so() -> None:
    cal = WorkCalendar()
    assert not WorkCalendar.known(dt.date(2031, 1, 6))
    assert cal.is_working_day(dt.date(2031, 1, 6)) and not cal.is_working_day(dt.date(2031, 1, 5))


# -- promise and timers ------------------------------------------------------------------------------------


def test_promise_depends_on_priority_region_and_hours() -> None:
    policy = PromisePolicy()
    t = at(2026, 11, 24, 21, 50)  # Tuesday evening
    urgent = policy.terms(Priority.URGENT, "420202", t)
    normal = policy.terms(Priority.NORMAL, "420202", t)
    tibet = policy.terms(Priority.NORMAL, "540102", t)
    assert urgent.contact_by == at(2026, 11, 25, 8, 5)  # desk closes at 22:00: 10 min tonight, 5 tomorrow
    assert urgent.on_site_by == at(2026, 11, 25, 12)  # 4 field hours from 08:00 next day
    assert normal.on_site_by > urgent.on_site_by
    assert tibet.on_site_by > normal.on_site_by
    assert urgent.calendar_known


def test_timers_remind_then_escalate_once() -> None:
    policy = PromisePolicy()
    created = at(2026, 11, 24, 10)
    terms = policy.terms(Priority.HIGH, "420202", created)
    assert due_alerts(terms, created_at=created, now=created, contacted_at=None, on_site_at=None) == []
    early = due_alerts(terms, created_at=created, now=at(2026, 11, 24, 10, 21), contacted_at=None, on_site_at=None)
    assert [a.kind for a in early] == [AlertKind.REMIND_CONTACT]
    late = due_alerts(
        terms,
        created_at=created,
        now=at(2026, 11, 24, 10, 31),
        contacted_at=None,
        on_site_at=None,
        sent=[AlertKind.REMIND_CONTACT],
    )
    assert [a.kind for a in late] == [AlertKind.ESCALATE_CONTACT]
    missed = due_alerts(
        terms,
        created_at=created,
        now=terms.on_site_by,
        contacted_at=created,
        on_site_at=None,
        sent=[AlertKind.REMIND_CONTACT, AlertKind.ESCALATE_CONTACT],
    )
    assert [a.kind for a in missed] == [AlertKind.REMIND_ON_SITE, AlertKind.ESCALATE_ON_SITE]
    assert missed[-1].reassign
    assert due_alerts(terms, created_at=created, now=terms.on_site_by, contacted_at=created, on_site_at=created) == []


# -- dispatch ----------------------------------------------------------------------------------------------


def tech(catalog: DivisionCatalog, tid: str, home: str, cover: list[str], **kw: object) -> Technician:
    return Technician(id=tid, name=tid, home=home, coverage=Coverage.of(catalog, cover), **kw)  # type: ignore[arg-type]


def job(county: str = "420202", **kw: object) -> Job:
    base: dict[str, object] = {
        "id": "r1",
        "county": county,
        "category": "safe",
        "priority": Priority.NORMAL,
        "created_at": at(2026, 11, 24, 10),
    }
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]


def test_picks_the_covering_skilled_nearby_technician(catalog: DivisionCatalog) -> None:
    techs = [
        tech(catalog, "near", "420202", ["420200"], skills={"safe": 3}),
        tech(catalog, "far", "420106", ["420100", "420200"], skills={"safe": 5}),  # Wuhan, 80 km away
        tech(catalog, "unskilled", "420202", ["420200"], skills={"range_hood": 5}),
        tech(catalog, "elsewhere", "110105", ["110000"], skills={"safe": 5}),
    ]
    d = Dispatcher(catalog, techs)
    result = d.assign(job(), at(2026, 11, 24, 10))
    assert result.technician_id == "near"
    assert result.considered == 2 and [c.technician_id for c in result.alternatives] == ["far"]
    assert result.meets_promise and result.eta < at(2026, 11, 24, 11)
    assert "黄石港区" in result.reason
    assert d.technicians["near"].booked == {dt.date(2026, 11, 24): 1}


def test_level_requirement_and_load_change_the_choice(catalog: DivisionCatalog) -> None:
    techs = [
        tech(catalog, "a", "420202", ["420200"], skills={"safe": 2}, daily_capacity=1),
        tech(catalog, "b", "420203", ["420200"], skills={"safe": 4}),
    ]
    d = Dispatcher(catalog, techs)
    assert d.assign(job(min_level=3), at(2026, 11, 24, 10)).technician_id == "b"
    d2 = Dispatcher(catalog, [tech(catalog, "a", "420202", ["420200"], skills={"safe": 2}, daily_capacity=1)])
    first = d2.assign(job(id="r1"), at(2026, 11, 24, 10))
    second = d2.assign(job(id="r2"), at(2026, 11, 24, 10))
    assert first.eta.date() == dt.date(2026, 11, 24)
    assert second.eta.date() == dt.date(2026, 11, 25)  # capacity 1: the next working day


def test_outside_coverage_is_a_clear_answer(catalog: DivisionCatalog) -> None:
    d = Dispatcher(catalog, [tech(catalog, "a", "420202", ["420200"], skills={"safe": 3})])
    with pytest.raises(OutsideCoverage, match="北京市/朝阳区"):
        d.assign(job("110105"), at(2026, 11, 24, 10))
    with pytest.raises(NoTechnicianAvailable):
        d.assign(job(category="air_conditioner"), at(2026, 11, 24, 10))


def test_decline_reassigns_and_frees_the_slot(catalog: DivisionCatalog) -> None:
    techs = [
        tech(catalog, "a", "420202", ["420200"], skills={"safe": 3}),
        tech(catalog, "b", "420203", ["420200"], skills={"safe": 3}),
    ]
    d = Dispatcher(catalog, techs)
    j = job()
    first = d.assign(j, at(2026, 11, 24, 10))
    j2, second = d.reassign(j, at(2026, 11, 24, 10, 5), reason="declined")
    assert second.technician_id != first.technician_id
    assert first.technician_id in j2.excluded
    assert d.technicians[first.technician_id].booked[dt.date(2026, 11, 24)] == 0
    assert "declined" in second.reason
    with pytest.raises(NoTechnicianAvailable):
        d.reassign(j2, at(2026, 11, 24, 10, 10), reason="declined")


def test_manual_override_respects_coverage(catalog: DivisionCatalog) -> None:
    techs = [
        tech(catalog, "a", "420202", ["420200"], skills={"safe": 5}),
        tech(catalog, "b", "420106", ["420100", "420200"], skills={"safe": 1}),
        tech(catalog, "c", "110105", ["110000"], skills={"safe": 5}),
    ]
    d = Dispatcher(catalog, techs)
    manual = d.override(job(), "b", at(2026, 11, 24, 10), reason="customer asked for b")
    assert manual.technician_id == "b" and manual.manual and "customer asked" in manual.reason
    with pytest.raises(OutsideCoverage):
        d.override(job(), "c", at(2026, 11, 24, 10), reason="x")
    with pytest.raises(NotFound):
        d.override(job(), "zz", at(2026, 11, 24, 10), reason="x")


def test_index_and_naive_scan_rank_identically(catalog: DivisionCatalog) -> None:
    techs = [
        tech(catalog, f"t{i}", "420202", ["420200"] if i % 2 else ["420100"], skills={"safe": 1 + i % 5})
        for i in range(20)
    ]
    d = Dispatcher(catalog, techs)
    j = job()
    assert [c.technician_id for c in d.candidates(j, j.created_at)] == [
        c.technician_id for c in naive_candidates(d, j, j.created_at)
    ]


def test_ratings_average() -> None:
    t = Technician(id="a", name="a", home="420202", coverage=Coverage(frozenset()), skills={})
    t.add_rating(5)
    t.add_rating(3)
    assert t.rating == 4.0 and t.ratings == 2
    with pytest.raises(UserInputError):
        t.add_rating(6)


# -- lifecycle ---------------------------------------------------------------------------------------------


def test_happy_path_is_allowed_and_shortcuts_are_not() -> None:
    path = [
        "requested",
        "assigned",
        "contacted",
        "en_route",
        "on_site",
        "diagnosed",
        "approved",
        "parts_ordered",
        "en_route",
        "on_site",
    ]
    state = VisitStatus.REQUESTED
    for nxt in path[1:]:
        state = transition(state, VisitStatus(nxt))
    assert (VisitStatus.ON_SITE, VisitStatus.DIAGNOSED) in TRANSITIONS
    with pytest.raises(InvalidTransition, match="allowed: approved, quote_declined"):
        transition(VisitStatus.DIAGNOSED, VisitStatus.REPAIRED)  # no repair without the customer's approval
    with pytest.raises(InvalidTransition):
        transition(VisitStatus.COMPLETED, VisitStatus.CANCELLED)
    assert allowed(VisitStatus.FOLLOWED_UP) == []


def test_urgent_job_goes_before_visits_that_can_wait(catalog: DivisionCatalog) -> None:
    d = Dispatcher(catalog, [tech(catalog, "a", "420202", ["420200"], skills={"safe": 3}, daily_capacity=10)])
    for i in range(4):
        d.assign(job(id=f"n{i}", duration_minutes=120, created_at=at(2026, 11, 24, 9)), at(2026, 11, 24, 9))
    before = {v.job_id: v.eta for v in d.technicians["a"].schedule}
    urgent = job(id="u", priority=Priority.URGENT, created_at=at(2026, 11, 24, 9, 30))
    result = d.assign(urgent, at(2026, 11, 24, 9, 30))
    assert result.meets_promise and result.eta == at(2026, 11, 24, 11, 50)  # right after the visit under way
    assert [j for j, _ in result.moved] == ["n1", "n2", "n3"]
    sched = d.technicians["a"].schedule
    assert [v.job_id for v in sched] == ["n0", "u", "n1", "n2", "n3"]
    assert all(v.eta <= v.deadline for v in sched)
    assert all(d.eta_of(j) > before[j] for j in ("n1", "n2", "n3")) and d.eta_of("n0") == before["n0"]


def test_urgent_job_never_breaks_a_promise_that_was_kept(catalog: DivisionCatalog) -> None:
    d = Dispatcher(catalog, [tech(catalog, "a", "420202", ["420200"], skills={"safe": 3}, daily_capacity=10)])
    for i in range(4):  # high priority: on site within 8 field hours, so none of them can be pushed far
        d.assign(
            job(id=f"h{i}", priority=Priority.HIGH, duration_minutes=90, created_at=at(2026, 11, 24, 9)),
            at(2026, 11, 24, 9),
        )
    urgent = job(id="u", priority=Priority.URGENT, duration_minutes=240, created_at=at(2026, 11, 24, 9, 30))
    result = d.assign(urgent, at(2026, 11, 24, 9, 30))
    assert result.moved == () and not result.meets_promise  # appended, and escalated instead
    assert [v.job_id for v in d.technicians["a"].schedule][-1] == "u"
    assert "escalate" in result.reason


def test_second_visit_after_parts_may_end_in_repair() -> None:
    state = VisitStatus.APPROVED
    for nxt in ("parts_ordered", "en_route", "on_site", "repaired", "completed", "followed_up"):
        state = transition(state, VisitStatus(nxt))
    assert state is VisitStatus.FOLLOWED_UP
