"""Chinese working days, from the kept calendar library ``chinese-calendar`` (the State Council's
holiday and make-up working day notices, year by year), never from a list written here.

For a year the library does not know yet (its notice is published each November), Monday to Friday
count as working days and the answer says it is an estimate.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar


@dataclass(frozen=True)
class WorkingDay:
    day: date
    estimated: bool  # the calendar of some day counted is not published yet: weekdays were counted


def is_working_day(day):
    """(working?, known?) for one day."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start, n):
    """The n-th working day after ``start`` (``start`` itself not counted)."""
    day, counted, estimated = start, 0, False
    while counted < n:
        day += timedelta(days=1)
        working, known = is_working_day(day)
        estimated = estimated or not known
        counted += working
    return WorkingDay(day, estimated)


def working_days_between(start, end):
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after it)."""
    day, counted = start, 0
    while day < end:
        day += timedelta(days=1)
        counted += is_working_day(day)[0]
    return counted
