"""What the deadline job has told (issue 19): one row per reminder, escalation and acute alert it has made.

A row is claimed before anyone is told, in the same transaction as the notifications, and its primary key makes
a second claim do nothing: running the job twice, or on two servers at once, tells nobody twice. The job's
queries leave out what already has a row, so each run reads only what is new. Codes and ids only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base
from cases.models.case import Case, Deadline

__all__ = ["DeadlineNotice"]


class DeadlineNotice(Base):
    """A notice made once: `kind` reminder, passed (escalation) or acute; `subject` the deadline's or case's id."""

    __tablename__ = "deadline_notices"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(36), primary_key=True)
    made_at: Mapped[datetime]


# The job's two scans of the existing tables, through indexes: the running deadlines by due day (a partial index:
# the stopped ones, nearly all of them, are not in it), and the acute concerns by when they arrived.
Index("ix_deadlines_running_due_on", Deadline.due_on,
      sqlite_where=Deadline.stopped_at.is_(None), postgresql_where=Deadline.stopped_at.is_(None))
Index("ix_cases_acute_received_at", Case.acute_danger, Case.received_at)
