"""Interventions as records of their own (flowchart version 3 on): SIG, exit support, other interventions.

Each has its own lifecycle (`policies.interventions`: proposed, decided, running, ended) and its own version, so
two people changing two interventions of one case do not stop each other, and a stale form on one intervention is
refused. What it is to achieve (`goal`) and the note on its ending are personal text, sealed under the case's key;
the kind, the state, the recipients, the data categories, the origin and the end reason are codes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base
from cases.types import Sealed

__all__ = ["Intervention"]


class Intervention(Base):
    """One intervention of a case, and the decision that granted or declined it."""

    __tablename__ = "interventions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str | None] = mapped_column(String(32))  # a referral's source, e.g. police_exit_programme
    recipients: Mapped[list[str]]
    data_categories: Mapped[list[str]]
    goal: Mapped[bytes] = mapped_column(Sealed)
    proposed_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    proposed_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    end_note: Mapped[bytes | None] = mapped_column(Sealed)

    __mapper_args__ = {"version_id_col": version}
    # A case's interventions, and those in one state (the running ones, for the case's own state and the sweep).
    __table_args__ = (Index("ix_interventions_case_state", "case_id", "state"),
                      Index("ix_interventions_state", "state"))
