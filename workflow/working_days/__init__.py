"""Working days: the arithmetic over any holiday calendar (`arithmetic`), and Sweden's calendar (`sweden`)."""

from workflow.working_days.arithmetic import HolidayCalendar, is_working_day, latest_due_reminded, reminder_day
from workflow.working_days.sweden import SwedishCalendar

__all__ = ["HolidayCalendar", "SwedishCalendar", "is_working_day", "latest_due_reminded", "reminder_day"]
