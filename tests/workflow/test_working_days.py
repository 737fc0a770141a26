"""Working days in Sweden on known dates: Easter, Ascension, National Day, Midsummer, Christmas and New Year
2026/2027, from the `holidays` library (public holidays and the three de facto eves), and the reminder arithmetic
counted back over them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from workflow.working_days.arithmetic import is_working_day, latest_due_reminded, reminder_day
from workflow.working_days.sweden import SwedishCalendar

SE = SwedishCalendar()

DAYS_OFF = [
    date(2026, 1, 1), date(2026, 1, 6),  # New Year's Day, Epiphany
    date(2026, 4, 3), date(2026, 4, 6),  # Good Friday, Easter Monday
    date(2026, 5, 1), date(2026, 5, 14),  # May Day, Ascension Day (a Thursday)
    date(2025, 6, 6),  # National Day on a Friday (in 2026 it is a Saturday)
    date(2026, 6, 19),  # Midsummer Eve (de facto)
    date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31),  # Christmas Eve, Christmas Day, New Year's Eve
    date(2027, 1, 1), date(2027, 1, 6),
    date(2027, 3, 26), date(2027, 3, 29),  # Good Friday, Easter Monday 2027
    date(2027, 5, 6),  # Ascension Day 2027
    date(2027, 6, 25),  # Midsummer Eve 2027
    date(2027, 12, 24), date(2027, 12, 31),
]
WORKING = [
    date(2026, 4, 2), date(2026, 4, 7),  # Maundy Thursday (a half-day at most), the Tuesday after Easter
    date(2026, 5, 15),  # the squeeze day after Ascension: the library's optional category, a working day here
    date(2026, 6, 18), date(2026, 6, 22),  # around Midsummer
    date(2026, 12, 23), date(2026, 12, 28), date(2026, 12, 30),
    date(2027, 3, 25), date(2027, 3, 30), date(2027, 6, 24), date(2027, 6, 28), date(2027, 12, 27),
]


@pytest.mark.parametrize("day", DAYS_OFF, ids=str)
def test_public_holidays_and_the_three_eves_are_no_working_days(day):
    assert day.weekday() < 5 and not is_working_day(day, SE)


@pytest.mark.parametrize("day", WORKING, ids=str)
def test_the_days_around_them_are_working_days(day):
    assert is_working_day(day, SE)


def test_national_day_and_midsummer_day_are_holidays_whatever_the_weekday():
    assert SE.is_holiday(date(2026, 6, 6)) and SE.is_holiday(date(2027, 6, 6))  # a Saturday, a Sunday
    assert SE.is_holiday(date(2026, 6, 20)) and SE.is_holiday(date(2027, 6, 26))  # Midsummer Day


def test_weekends_are_no_working_days():
    assert not is_working_day(date(2026, 11, 28), SE) and not is_working_day(date(2026, 11, 29), SE)
    assert is_working_day(date(2026, 11, 30), SE)


@pytest.mark.parametrize(("due_on", "before", "remind_on"), [
    (date(2026, 12, 10), 3, date(2026, 12, 7)),  # a plain week: Thursday less three is Monday
    (date(2026, 12, 10), 0, date(2026, 12, 10)),
    (date(2026, 4, 7), 2, date(2026, 4, 1)),  # back over Easter Monday, the weekend and Good Friday
    (date(2026, 12, 28), 1, date(2026, 12, 23)),  # back over Christmas: 27, 26, 25 and the 24th
    (date(2026, 12, 25), 0, date(2026, 12, 23)),  # due on a holiday: the last working day before it
    (date(2027, 1, 7), 2, date(2027, 1, 4)),  # 6 January, then the New Year weekend
    (date(2026, 6, 22), 1, date(2026, 6, 18)),  # back over Midsummer
    (date(2027, 6, 28), 1, date(2027, 6, 24)),
    (date(2026, 11, 29), 0, date(2026, 11, 27)),  # a Sunday: the Friday before
])
def test_the_reminder_day_counts_working_days_back_from_the_due_day(due_on, before, remind_on):
    assert reminder_day(due_on, before, SE) == remind_on


@pytest.mark.parametrize(("today", "before", "latest"), [
    (date(2026, 12, 23), 1, date(2026, 12, 28)),  # the day before Christmas Eve reminds what is due on the 28th
    (date(2026, 12, 23), 0, date(2026, 12, 27)),  # and, with no lead time, what falls due over the holidays
    (date(2026, 12, 7), 3, date(2026, 12, 10)),
    (date(2026, 11, 27), 0, date(2026, 11, 29)),  # a Friday covers the weekend
])
def test_the_latest_due_day_reminded_is_the_end_of_an_interval(today, before, latest):
    assert latest_due_reminded(today, before, SE) == latest
    assert reminder_day(latest, before, SE) <= today < reminder_day(latest + timedelta(days=1), before, SE)


def test_latest_due_reminded_agrees_with_reminder_day_over_two_years():
    """The query's bound and the per-deadline rule may never disagree: every due day in 2026–2027 is reminded
    on a day `today` exactly when it is within the bound for that day."""
    start = date(2026, 1, 1)
    for before in (0, 1, 3, 10):
        for offset in range(0, 730, 7):
            today = start + timedelta(days=offset)
            latest = latest_due_reminded(today, before, SE)
            for due in (today + timedelta(days=n) for n in range(40)):
                assert (due <= latest) == (reminder_day(due, before, SE) <= today), (today, due, before)


def test_a_negative_lead_time_is_refused():
    with pytest.raises(ValueError, match="negative"):
        reminder_day(date(2026, 12, 10), -1, SE)


class Closed:
    """A plain fake calendar: the days given are holidays, nothing else."""

    def __init__(self, *days: date) -> None:
        self.days = set(days)

    def is_holiday(self, day: date) -> bool:
        return day in self.days


def test_the_arithmetic_takes_any_calendar():
    """A municipality's own closing day (or a new holiday the library does not know yet) is skipped too."""
    assert reminder_day(date(2026, 12, 10), 3, Closed()) == date(2026, 12, 7)
    assert reminder_day(date(2026, 12, 10), 3, Closed(date(2026, 12, 8))) == date(2026, 12, 4)
    assert latest_due_reminded(date(2026, 12, 4), 3, Closed(date(2026, 12, 8))) == date(2026, 12, 10)
