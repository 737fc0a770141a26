"""Register extracts (GDPR article 15, issue 19): a person's request, its secrecy screening and its release.

The request names the person by the blind index of their identity number only (`identity_index`, as a
`Person` row does): the number itself is never stored here. The cases in scope are fixed when the request is
registered (`case_ids`), so the decision maker decides on the extract that was screened. What is held back is
a map from an item's key (a case reference and a record id: codes, no personal data) to the code of a reason
of `policies/subjects.toml`. The extract itself is made from the records each time it is read, never stored,
but only from the items the decision covered (`released_items`), and not at all if they changed since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.base import Base

__all__ = ["SubjectExtract"]


class SubjectExtract(Base):
    """One register-extract request: registered, screened, decided (released or refused), delivered."""

    __tablename__ = "subject_extracts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identity_index: Mapped[str] = mapped_column(String(64), index=True)
    requested_by: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    requested_at: Mapped[datetime]
    case_ids: Mapped[list[str]]
    held_back: Mapped[dict[str, Any]]  # item key -> reason code (policies/subjects.toml [reasons])
    status: Mapped[str] = mapped_column(String(16))  # screened, released, refused
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    refusal_reason: Mapped[str | None] = mapped_column(String(32))  # a reason code, when refused
    delivered_by: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    delivered_at: Mapped[datetime | None]
    # who of the decision makers read the draft, and a keyed hash of what it said: staff id -> digest (0030)
    draft_read: Mapped[dict[str, Any] | None]
    # at release: the keys of the items screened and released (or held back) and a keyed hash of their content;
    # the extract shows these items only, and is refused if they changed since (0030)
    released_items: Mapped[dict[str, Any] | None]
