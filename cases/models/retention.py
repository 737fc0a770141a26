"""Legal holds (issue 19): a hold with a reason keeps a case from thinning until it is lifted.

The reasons may name people, so they are sealed with the case key like every free text; who placed or lifted a
hold and when are plain. Each placing and each lifting has its entry in the transition log beside the steps
(`placed_seq`, `lifted_seq`): a salted hash of the reason, never its text. A lifted hold stays as a record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base
from cases.types import Sealed

__all__ = ["LegalHold"]


class LegalHold(Base):
    """One legal hold on a case, from when it was placed until it was lifted (`lifted_at` None: it holds)."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_case_id_lifted_at", "case_id", "lifted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    reason: Mapped[bytes] = mapped_column(Sealed)
    placed_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    placed_at: Mapped[datetime]
    placed_seq: Mapped[int] = mapped_column(Integer)
    lifted_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    lifted_at: Mapped[datetime | None]
    lifted_seq: Mapped[int | None] = mapped_column(Integer)
    lift_reason: Mapped[bytes | None] = mapped_column(Sealed)
