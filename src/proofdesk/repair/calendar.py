"""Working time: official holidays, 调休 make-up workdays, shift hours, and arithmetic in working minutes.

Where this sits in the repair flow: the response promise ("on site within N working hours") and every
technician's availability are computed here. Whether a date is a workday comes from the ``chinesecalendar``
package (State Council holiday notices, including weekend days that become workdays); a date outside the years
that package knows (it only knows a year once the notice is published) falls back to Monday–Friday and is
reported by :meth:`WorkCalendar.known` so callers can say the promise is provisional.

All datetimes are timezone-aware; China has one time zone without daylight saving, so a fixed UTC+8 offset is
exact and needs no tz database.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import chinese_calendar

from proofdesk.errors import InvalidSettings, UserInputError

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


@functools.lru_cache(maxsize=4096)
def _official_workday(day: dt.date) -> bool | None:
    # Cached: chinese_calendar validates every date against min/max of its whole table (~0.2 ms a call), and
    # dispatch asks about the same few days thousands of times.
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None  # year not published yet


@dataclass(frozen=True)
class WorkCalendar:
    """A shift (``start``–``end`` local time) on official workdays, minus personal days off.

    ``weekends`` = True means the shift also runs on rest days and public holidays (many repair services work
    seven days); ``days_off`` are personal leave days.
    """

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)
    weekends: bool = False
    days_off: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidSettings(f"shift must end after it starts ({self.start}–{self.end})")

    @staticmethod
    def known(day: dt.date) -> bool:
        """True when the official calendar for ``day``'s year is published in the installed package."""
        return _official_workday(day) is not None

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.days_off:
            return False
        if self.weekends:
            return True
        official = _official_workday(day)
        return official if official is not None else day.weekday() < 5

    def _bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (dt.datetime.combine(day, self.start, CHINA_TZ), dt.datetime.combine(day, self.end, CHINA_TZ))

    def next_working_moment(self, when: dt.datetime) -> dt.datetime:
        """``when`` itself if inside a shift, else the start of the next shift."""
        _aware(when)
        local = when.astimezone(CHINA_TZ)
        day = local.date()
        for _ in range(60):  # Spring Festival plus leave never exceeds two months
            if self.is_working_day(day):
                start, end = self._bounds(day)
                if local < start:
                    return start
                if local < end:
                    return local
            day += dt.timedelta(days=1)
            local = dt.datetime.combine(day, dt.time(0, 0), CHINA_TZ)
        raise InvalidSettings("no working day within 60 days; check the days off")

    def add_working_minutes(self, when: dt.datetime, minutes: float) -> dt.datetime:
        """The moment ``minutes`` of shift time after ``when`` (time outside shifts does not count)."""
        if minutes < 0:
            raise UserInputError("cannot add negative working time")
        cur = self.next_working_moment(when)
        left = dt.timedelta(minutes=minutes)
        while True:
            _, end = self._bounds(cur.date())
            room = end - cur
            if left <= room:
                return cur + left
            left -= room
            cur = self.next_working_moment(end)

    def working_minutes_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Shift minutes in [a, b); negative when b < a."""
        if b < a:
            return -self.working_minutes_between(b, a)
        total = 0.0
        cur = self.next_working_moment(a)
        while cur < b:
            _, end = self._bounds(cur.date())
            total += (min(end, b) - cur).total_seconds() / 60.0
            cur = self.next_working_moment(end)
        return total


def _aware(when: dt.datetime) -> None:
    if when.tzinfo is None:
        raise UserInputError("datetimes must be timezone-aware")
