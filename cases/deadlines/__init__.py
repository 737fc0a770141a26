"""Statutory deadlines that tell people (issue 19): reminders before them, escalation when they pass, and alerts
on concerns marked as acute danger. `run_deadline_jobs` is the scheduled job; when and whom is
`policies/routines/reminders.toml`, working days are `workflow.working_days`.
"""

from cases.deadlines.jobs import ACUTE, PASSED, REMINDER, Notify, run_deadline_jobs
from cases.deadlines.marks import reminder_due

__all__ = ["ACUTE", "PASSED", "REMINDER", "Notify", "reminder_due", "run_deadline_jobs"]
