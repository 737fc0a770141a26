"""Sweden's holiday calendar: public holidays and the three eves nobody works, from the `holidays` library.

A working day here is a day a social services office is staffed: not a Saturday or Sunday, not a public holiday
(allmän helgdag, lag (1989:253) om allmänna helgdagar), and not Midsummer Eve, Christmas Eve or New Year's Eve.
Those three are no public holidays in law but are de facto days off, and lag (1930:173) om beräkning av
lagstadgad tid 2 § names them beside Saturdays, Sundays and public holidays. The `holidays` library keeps both:
Sweden's public holidays, and the three eves as its "de facto" category (tests/workflow/test_working_days.py
holds it to known dates). Its other categories (bank half-days, Holy Saturday, squeeze days) are working days.
"""

from __future__ import annotations

from datetime import date

__all__ = ["SwedishCalendar"]


class SwedishCalendar:
    """Swedish public holidays and the de facto days off (Midsummer, Christmas and New Year's Eve), from the
    maintained `holidays` library."""

    def __init__(self) -> None:
        import holidays  # loaded when a calendar is made, not when this module is imported

        self._holidays = holidays.country_holidays("SE", include_sundays=False,
                                                   categories=(holidays.PUBLIC, holidays.DE_FACTO))

    def is_holiday(self, day: date) -> bool:
        return day in self._holidays
