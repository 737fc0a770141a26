"""Flags on a case (issue 18): violence in close relationships, honour-related violence (`policies/flags.toml`).

A flag is set with a reason and cleared with one; both reasons are sealed with the case key. The flag's code,
who set or cleared it and when are codes the engine decides on (`workflow.flags`) and the work list marks.
Each set and each clear has its entry in the transition log (`set_seq`, `clear_seq`): the flag's code and a
salted hash of the reason, never its text. A cleared flag stays as a record; a flag set again is a new row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base
from cases.types import Sealed

__all__ = ["CaseFlag"]


class CaseFlag(Base):
    """One flag on a case, from when it was set until it was cleared (`cleared_at` None: it is on the case)."""

    __tablename__ = "case_flags"
    __table_args__ = (Index("ix_case_flags_case_id_cleared_at", "case_id", "cleared_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    flag: Mapped[str] = mapped_column(String(32))
    set_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    set_at: Mapped[datetime]
    set_seq: Mapped[int] = mapped_column(Integer)
    reason: Mapped[bytes] = mapped_column(Sealed)
    cleared_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    cleared_at: Mapped[datetime | None]
    clear_seq: Mapped[int | None] = mapped_column(Integer)
    clear_reason: Mapped[bytes | None] = mapped_column(Sealed)
