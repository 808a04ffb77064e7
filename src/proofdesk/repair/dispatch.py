"""Technicians, the response promise, and automatic dispatch (pure Python, no database).

Where this sits in the repair flow: after intake resolved the address to a county, :class:`Dispatcher` picks a
technician; :class:`PromisePolicy` fixes the deadlines the customer was promised; :func:`due_alerts` is asked
periodically (by the service layer's timer sweep) which reminders and escalations are due, and a late or
declined assignment goes back through :meth:`Dispatcher.reassign`.

How a technician is chosen (every choice is explained in :class:`Assignment.reason` and ``alternatives``):

1. **Coverage**: only technicians whose coverage contains the request's county and who have the product
   category at all. Technicians are indexed by (covered county, category), so this is one dict lookup instead
   of a scan of every technician (the benchmark compares both).
2. **Skill**: level for the product category at least the level the fault needs.
3. **Capacity**: visits already booked that day below the technician's daily capacity (else the next day).
4. **Arrival estimate**: the technician's next free moment in their own shift calendar, plus travel from where
   they will be (their last booked job, else home) to the county; travel is estimated from the division
   centroids that the division data ships (:func:`~proofdesk.repair.regions.travel_minutes`).
5. **Cost**: technicians who can arrive within the promise come first; among them, the lowest of
   arrival minutes + 60 × load ratio − 15 × spare skill levels − 10 × (rating − 4).
6. **Priority**: a normal job goes after a technician's booked visits. An urgent or high-priority job that
   would miss its promise there may go before the visits not yet under way, but only if every visit pushed
   later still keeps the promise it was keeping (the moved visits are returned so their ETAs can be updated).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from proofdesk.errors import Conflict, InvalidSettings, NotFound, UserInputError
from proofdesk.repair.calendar import WorkCalendar
from proofdesk.repair.regions import Coverage, DivisionCatalog, OutsideCoverage, travel_minutes


class Priority(enum.StrEnum):
    """How urgent the customer's problem is (a safe that will not open is urgent; a noisy fan is low)."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class NoTechnicianAvailable(UserInputError):
    """The county is covered, but nobody with the skill and capacity can be booked in the horizon."""

    code = "no_technician_available"


@dataclass
class Visit:
    """A booked visit in a technician's day. ``fixed`` visits (under way) are never moved."""

    job_id: str
    county: str
    eta: dt.datetime
    duration_minutes: int
    deadline: dt.datetime
    fixed: bool = False

    @property
    def end(self) -> dt.datetime:
        return self.eta + dt.timedelta(minutes=self.duration_minutes)


@dataclass
class Technician:
    """A field technician: skills per product category (level 1–5), coverage, shift, capacity and load."""

    id: str
    name: str
    home: str
    coverage: Coverage
    skills: Mapping[str, int]
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    daily_capacity: int = 6
    active: bool = True
    rating: float = 4.5
    ratings: int = 0
    # load: the booked visits in arrival order, and visits booked per day (completed ones count too)
    schedule: list[Visit] = field(default_factory=list)
    booked: dict[dt.date, int] = field(default_factory=dict)

    @property
    def location(self) -> str | None:
        """Where the technician will be after the last booked visit."""
        return self.schedule[-1].county if self.schedule else None

    @property
    def available_from(self) -> dt.datetime | None:
        return self.schedule[-1].end if self.schedule else None

    def __post_init__(self) -> None:
        if self.daily_capacity < 1:
            raise InvalidSettings(f"technician {self.id}: daily capacity must be at least 1")
        for cat, level in self.skills.items():
            if not 1 <= level <= 5:
                raise InvalidSettings(f"technician {self.id}: skill level for {cat} must be 1..5, got {level}")

    def level(self, category: str) -> int:
        return self.skills.get(category, 0)

    def add_rating(self, stars: int) -> None:
        if not 1 <= stars <= 5:
            raise UserInputError("a rating is 1 to 5 stars")
        self.rating = (self.rating * self.ratings + stars) / (self.ratings + 1) if self.ratings else float(stars)
        self.ratings += 1


@dataclass(frozen=True)
class Job:
    """What dispatch needs to know about one repair request."""

    id: str
    county: str
    category: str
    priority: Priority
    created_at: dt.datetime
    min_level: int = 1
    duration_minutes: int = 90
    excluded: frozenset[str] = frozenset()  # technicians who declined or were late on this request


@dataclass(frozen=True)
class PromiseTerms:
    """What the customer was promised: contact by ``contact_by``, technician on site by ``on_site_by``."""

    priority: Priority
    contact_minutes: int
    on_site_working_hours: float
    contact_by: dt.datetime
    on_site_by: dt.datetime
    calendar_known: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "priority": self.priority.value,
            "contact_minutes": self.contact_minutes,
            "on_site_working_hours": self.on_site_working_hours,
            "contact_by": self.contact_by.isoformat(),
            "on_site_by": self.on_site_by.isoformat(),
            "calendar_known": self.calendar_known,
        }


DEFAULT_CONTACT_MINUTES = {Priority.URGENT: 15, Priority.HIGH: 30, Priority.NORMAL: 30, Priority.LOW: 60}
DEFAULT_ON_SITE_HOURS = {Priority.URGENT: 4.0, Priority.HIGH: 8.0, Priority.NORMAL: 18.0, Priority.LOW: 36.0}
# Sparsely served regions get more time, keyed by code prefix (a province "54", a city "6523", a county "420202").
DEFAULT_REGION_EXTRA_HOURS = {"54": 18.0, "63": 9.0, "65": 9.0, "15": 4.5}


@dataclass(frozen=True)
class PromisePolicy:
    """Response promise per priority and region.

    The contact window runs in the service desk's hours (a request at 23:00 is called back after the desk
    opens); the on-site window counts field working hours, so a weekend or 国庆 does not eat it.
    """

    desk: WorkCalendar = field(default_factory=lambda: WorkCalendar(dt.time(8, 0), dt.time(22, 0), weekends=True))
    field_hours: WorkCalendar = field(default_factory=lambda: WorkCalendar(dt.time(8, 0), dt.time(20, 0)))
    contact_minutes: Mapping[Priority, int] = field(default_factory=lambda: dict(DEFAULT_CONTACT_MINUTES))
    on_site_hours: Mapping[Priority, float] = field(default_factory=lambda: dict(DEFAULT_ON_SITE_HOURS))
    region_extra_hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_REGION_EXTRA_HOURS))

    def terms(self, priority: Priority, county: str, created_at: dt.datetime) -> PromiseTerms:
        extra = max((h for p, h in self.region_extra_hours.items() if county.startswith(p)), default=0.0)
        hours = self.on_site_hours[priority] + extra
        contact = self.contact_minutes[priority]
        return PromiseTerms(
            priority=priority,
            contact_minutes=contact,
            on_site_working_hours=hours,
            contact_by=self.desk.add_working_minutes(created_at, contact),
            on_site_by=self.field_hours.add_working_minutes(created_at, hours * 60),
            calendar_known=WorkCalendar.known(created_at.date()),
        )


@dataclass(frozen=True)
class Candidate:
    technician_id: str
    eta: dt.datetime
    travel_minutes: float
    load: float
    level: int
    meets_promise: bool
    cost: float
    position: int | None = None  # None: after the last booked visit; else inserted before visit ``position``
    moved: tuple[tuple[str, dt.datetime], ...] = ()  # visits pushed later by the insertion (all still on time)

    def to_dict(self) -> dict[str, object]:
        return {
            "technician_id": self.technician_id,
            "inserted": self.position is not None,
            "moves": len(self.moved),
            "eta": self.eta.isoformat(),
            "travel_minutes": round(self.travel_minutes, 1),
            "load": round(self.load, 2),
            "level": self.level,
            "meets_promise": self.meets_promise,
            "cost": round(self.cost, 1),
        }


@dataclass(frozen=True)
class Assignment:
    """The chosen technician and why, with the runners-up a dispatcher can pick instead."""

    job_id: str
    technician_id: str
    eta: dt.datetime
    travel_minutes: float
    meets_promise: bool
    manual: bool
    reason: str
    considered: int
    alternatives: tuple[Candidate, ...] = ()
    moved: tuple[tuple[str, dt.datetime], ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "job_id": self.job_id,
            "technician_id": self.technician_id,
            "eta": self.eta.isoformat(),
            "travel_minutes": round(self.travel_minutes, 1),
            "meets_promise": self.meets_promise,
            "manual": self.manual,
            "reason": self.reason,
            "considered": self.considered,
            "alternatives": [c.to_dict() for c in self.alternatives],
            "moved": [{"job_id": j, "eta": e.isoformat()} for j, e in self.moved],
        }


@dataclass(frozen=True)
class _Booking:
    technician_id: str
    day: dt.date


class Dispatcher:
    """Chooses technicians for jobs and keeps their load current.

    Holds the technicians in memory, indexed by covered county; the service layer rebuilds it from the database
    (cheap: 1,000 technicians index in milliseconds) and writes bookings back.
    """

    HORIZON_DAYS = 7
    ALTERNATIVES = 3

    def __init__(
        self, catalog: DivisionCatalog, technicians: Iterable[Technician], *, policy: PromisePolicy | None = None
    ) -> None:
        self.catalog = catalog
        self.policy = policy or PromisePolicy()
        self.technicians: dict[str, Technician] = {}
        self._by_county: dict[str, list[str]] = defaultdict(list)
        self._by_county_skill: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._bookings: dict[str, _Booking] = {}
        for tech in technicians:
            self.add(tech)

    def add(self, tech: Technician) -> None:
        if tech.id in self.technicians:
            raise Conflict(f"technician {tech.id} is already registered")
        self.catalog.get(tech.home)
        self.technicians[tech.id] = tech
        for county in tech.coverage.leaves:
            self._by_county[county].append(tech.id)
            for category in tech.skills:
                self._by_county_skill[(county, category)].append(tech.id)

    def covered(self, county: str) -> bool:
        return any(self.technicians[t].active for t in self._by_county.get(county, ()))

    def candidates(self, job: Job, now: dt.datetime, *, terms: PromiseTerms | None = None) -> list[Candidate]:
        """Technicians who could take ``job``, best first (coverage via the county index)."""
        ids = self._by_county.get(job.county)
        if not ids:
            raise OutsideCoverage(
                f"no service team covers {self._path(job.county)}; the request cannot be scheduled here"
            )
        terms = terms or self.policy.terms(job.priority, job.county, job.created_at)
        skilled = self._by_county_skill.get((job.county, job.category), ())
        return self._rank((self.technicians[i] for i in skilled), job, now, terms)

    def _rank(self, techs: Iterable[Technician], job: Job, now: dt.datetime, terms: PromiseTerms) -> list[Candidate]:
        target = self.catalog.divisions[job.county]
        out: list[Candidate] = []
        for tech in techs:
            if not tech.active or tech.id in job.excluded:
                continue
            level = tech.level(job.category)
            if level < job.min_level:
                continue
            origin = self.catalog.divisions[tech.location or tech.home]
            travel = travel_minutes(origin, target)
            start = max(now, tech.available_from) if tech.available_from else now
            eta, day = self._eta(tech, start, travel)
            position: int | None = None
            moved: tuple[tuple[str, dt.datetime], ...] = ()
            if (eta is None or eta > terms.on_site_by) and job.priority in (Priority.URGENT, Priority.HIGH):
                jump = self._insertion(tech, job, now, terms)
                if jump is not None and (eta is None or jump[0] < eta):
                    eta, day, travel, position, moved = jump
            if eta is None or day is None:
                continue
            load = tech.booked.get(day, 0) / tech.daily_capacity
            meets = eta <= terms.on_site_by
            arrival = (eta - now).total_seconds() / 60.0
            cost = arrival + 60.0 * load - 15.0 * (level - job.min_level) - 10.0 * (tech.rating - 4.0)
            out.append(Candidate(tech.id, eta, travel, load, level, meets, cost, position, moved))
        out.sort(key=lambda c: (not c.meets_promise, c.cost, c.technician_id))
        return out

    def _insertion(
        self, tech: Technician, job: Job, now: dt.datetime, terms: PromiseTerms
    ) -> tuple[dt.datetime, dt.date, float, int, tuple[tuple[str, dt.datetime], ...]] | None:
        """An urgent or high-priority job may go before the visits not yet under way, if every visit it pushes
        later still keeps the promise it kept before (first-come first-served would leave it behind them)."""
        sched = tech.schedule
        p = len(sched)
        while p > 0 and not sched[p - 1].fixed and sched[p - 1].eta > now:
            p -= 1
        if p == len(sched):
            return None  # nothing to jump
        prev = sched[p - 1] if p > 0 else None
        start = max(now, prev.end) if prev else now
        origin = self.catalog.divisions[prev.county if prev else tech.home]
        target = self.catalog.divisions[job.county]
        travel = travel_minutes(origin, target)
        eta, day = self._eta(tech, start, travel)
        if eta is None or day is None or eta > terms.on_site_by:
            return None
        end, loc = eta + dt.timedelta(minutes=job.duration_minutes), target
        moved: list[tuple[str, dt.datetime]] = []
        for visit in sched[p:]:
            here = self.catalog.divisions[visit.county]
            arrive = tech.calendar.add_working_minutes(end, travel_minutes(loc, here))
            new = max(visit.eta, arrive)
            if new > visit.deadline >= visit.eta:
                return None  # would break a promise that was being kept
            if new != visit.eta:
                moved.append((visit.job_id, new))
            end, loc = new + dt.timedelta(minutes=visit.duration_minutes), here
        return eta, day, travel, p, tuple(moved)

    @staticmethod
    def _eta(tech: Technician, start: dt.datetime, travel: float) -> tuple[dt.datetime | None, dt.date | None]:
        for _ in range(Dispatcher.HORIZON_DAYS):
            begin = tech.calendar.next_working_moment(start)
            day = begin.date()
            if tech.booked.get(day, 0) < tech.daily_capacity:
                eta = tech.calendar.add_working_minutes(begin, travel)
                if eta.date() == day:
                    return eta, day
            start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), begin.tzinfo)
        return None, None

    def assign(self, job: Job, now: dt.datetime) -> Assignment:
        """Pick and book the best technician for ``job``."""
        terms = self.policy.terms(job.priority, job.county, job.created_at)
        ranked = self.candidates(job, now, terms=terms)
        if not ranked:
            raise NoTechnicianAvailable(
                f"{self._path(job.county)} is covered, but no technician with {job.category} level ≥ {job.min_level} "
                f"and free capacity in the next {self.HORIZON_DAYS} days"
            )
        best = ranked[0]
        reason = (
            f"{len(ranked)} eligible in {self._path(job.county)}; best arrival {best.eta:%m-%d %H:%M} "
            f"({best.travel_minutes:.0f} min travel, load {best.load:.0%}, level {best.level})"
            + ("" if best.meets_promise else "; nobody can arrive within the promise: escalate")
        )
        return self._book(job, best, manual=False, reason=reason, ranked=ranked)

    def override(self, job: Job, technician_id: str, now: dt.datetime, *, reason: str) -> Assignment:
        """A dispatcher's manual choice; allowed outside the ranking but never outside coverage or skill."""
        tech = self.technicians.get(technician_id)
        if tech is None:
            raise NotFound(f"no technician {technician_id}")
        if not tech.coverage.covers(job.county):
            raise OutsideCoverage(f"{tech.name} does not cover {self._path(job.county)}")
        terms = self.policy.terms(job.priority, job.county, job.created_at)
        ranked = self._rank([tech], Job(**{**job.__dict__, "excluded": frozenset()}), now, terms)
        if not ranked:
            raise NoTechnicianAvailable(f"{tech.name} lacks the skill or has no free capacity for this job")
        return self._book(job, ranked[0], manual=True, reason=f"manual: {reason}", ranked=ranked)

    def _book(self, job: Job, cand: Candidate, *, manual: bool, reason: str, ranked: list[Candidate]) -> Assignment:
        if job.id in self._bookings:
            self.release(job.id)
        tech = self.technicians[cand.technician_id]
        day = cand.eta.date()
        self._bookings[job.id] = _Booking(tech.id, day)
        tech.booked[day] = tech.booked.get(day, 0) + 1
        terms = self.policy.terms(job.priority, job.county, job.created_at)
        visit = Visit(job.id, job.county, cand.eta, job.duration_minutes, terms.on_site_by)
        if cand.position is None:
            tech.schedule.append(visit)
        else:
            new_eta = dict(cand.moved)
            for v in tech.schedule[cand.position :]:
                v.eta = new_eta.get(v.job_id, v.eta)
            tech.schedule.insert(cand.position, visit)
        return Assignment(
            job_id=job.id,
            technician_id=tech.id,
            eta=cand.eta,
            travel_minutes=cand.travel_minutes,
            meets_promise=cand.meets_promise,
            manual=manual,
            reason=reason,
            considered=len(ranked),
            alternatives=tuple(c for c in ranked if c.technician_id != tech.id)[: self.ALTERNATIVES],
            moved=cand.moved,
        )

    def release(self, job_id: str) -> None:
        """Undo a booking (decline, cancellation, reassignment); the technician's slot is freed."""
        booking = self._bookings.pop(job_id, None)
        if booking is None:
            return
        tech = self.technicians[booking.technician_id]
        tech.booked[booking.day] = max(0, tech.booked.get(booking.day, 0) - 1)
        tech.schedule[:] = [v for v in tech.schedule if v.job_id != job_id]

    def eta_of(self, job_id: str) -> dt.datetime | None:
        """The current arrival estimate of a booked job (insertions may have moved it)."""
        booking = self._bookings.get(job_id)
        if booking is None:
            return None
        return next((v.eta for v in self.technicians[booking.technician_id].schedule if v.job_id == job_id), None)

    def reassign(self, job: Job, now: dt.datetime, *, reason: str) -> tuple[Job, Assignment]:
        """The current technician declined or is late: exclude them and assign again."""
        booking = self._bookings.get(job.id)
        excluded = job.excluded | ({booking.technician_id} if booking else set())
        self.release(job.id)
        again = Job(**{**job.__dict__, "excluded": frozenset(excluded)})
        result = self.assign(again, now)
        return again, Assignment(**{**result.__dict__, "reason": f"reassigned ({reason}): {result.reason}"})

    def _path(self, county: str) -> str:
        if county not in self.catalog.divisions:
            return county
        return "/".join(d.name for d in self.catalog.chain(county))


def naive_candidates(dispatcher: Dispatcher, job: Job, now: dt.datetime) -> list[Candidate]:
    """Baseline for the benchmark: scan every technician and test coverage one by one (no county index)."""
    terms = dispatcher.policy.terms(job.priority, job.county, job.created_at)
    techs = [t for t in dispatcher.technicians.values() if t.coverage.covers(job.county)]
    return dispatcher._rank(techs, job, now, terms)


class AlertKind(enum.StrEnum):
    REMIND_CONTACT = "remind_contact"
    ESCALATE_CONTACT = "escalate_contact"
    REMIND_ON_SITE = "remind_on_site"
    ESCALATE_ON_SITE = "escalate_on_site"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    due_at: dt.datetime
    message: str
    reassign: bool = False


def due_alerts(
    terms: PromiseTerms,
    *,
    created_at: dt.datetime,
    now: dt.datetime,
    contacted_at: dt.datetime | None,
    on_site_at: dt.datetime | None,
    sent: Iterable[str] = (),
) -> list[Alert]:
    """Timers of one request: which reminders/escalations are due at ``now`` and not yet sent.

    Reminders fire when two thirds of a window have passed without the milestone; escalations at the deadline.
    A missed on-site deadline also asks for reassignment (the service layer decides whether to act on it).
    """
    done = set(sent)
    out: list[Alert] = []

    def window(start: dt.datetime, end: dt.datetime) -> dt.datetime:
        return start + (end - start) * 2 / 3

    if contacted_at is None:
        remind = window(created_at, terms.contact_by)
        if now >= remind and AlertKind.REMIND_CONTACT not in done:
            out.append(Alert(AlertKind.REMIND_CONTACT, remind, f"call the customer before {terms.contact_by:%H:%M}"))
        if now >= terms.contact_by and AlertKind.ESCALATE_CONTACT not in done:
            out.append(
                Alert(AlertKind.ESCALATE_CONTACT, terms.contact_by, "contact promise missed: escalate to dispatcher")
            )
    if on_site_at is None:
        remind = window(created_at, terms.on_site_by)
        if now >= remind and AlertKind.REMIND_ON_SITE not in done:
            out.append(Alert(AlertKind.REMIND_ON_SITE, remind, f"be on site before {terms.on_site_by:%m-%d %H:%M}"))
        if now >= terms.on_site_by and AlertKind.ESCALATE_ON_SITE not in done:
            out.append(
                Alert(AlertKind.ESCALATE_ON_SITE, terms.on_site_by, "on-site promise missed: reassign", reassign=True)
            )
    return out
