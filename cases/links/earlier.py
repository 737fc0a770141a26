"""The cases linked to a case: the earlier ones about the same person, the later ones linked to it, and a
relative's own matter linked to the subject's case it was opened from (issue 18).

A closed case is not reopened: a new concern about the same person is a new case, with its own protection
assessment and pre-assessment, linked at registration to the earlier cases (LAW.md, the rules found missing).
That two cases are about one person is itself something about the person, so a link is shown only to staff
with a ground on both cases (deny by default), never to a reporter, and showing one is logged as a read. The
same holds for a relative's matter: a reader of one sees the other's pseudonym and kind only with a ground on it
too, and nothing of the other's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.skeleton import case_write
from cases.db import Database
from cases.errors import AccessDenied
from cases.events import operation
from cases.models import Case, CaseLink
from policies.relatives import RELATIVE_LINK
from workflow import AccessEntry, Actor

__all__ = ["EARLIER", "LATER", "RELATIVE_MATTER", "SUBJECT_CASE", "LinkedCase", "linked_cases"]

EARLIER, LATER = "earlier", "later"
# A relative's own matter opened from the case read; the subject's case the relative's matter read was opened from.
RELATIVE_MATTER, SUBJECT_CASE = "relative_matter", "subject_case"


@dataclass(frozen=True)
class LinkedCase:
    """A case linked to the one being read: its pseudonym, state and flowchart version, and which way."""

    ref: str
    # "earlier": the case read was registered after this one; "later": before it; "relative_matter": this is a
    # relative's own matter opened from the case read; "subject_case": the case read is a relative's matter
    # opened from this one
    relation: str
    state: str
    flowchart_version: str
    received_at: datetime


@operation("case_links_read")
def linked_cases(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> tuple[LinkedCase, ...]:
    """The cases linked to `ref` that `actor` may also read, oldest first; the read is logged when any is shown.

    Without a ground on `ref` itself nothing is shown (`AccessDenied`), whatever the links: the server refuses
    what the page hides. A linked case the actor has no ground on is left out, silently.
    """
    now = now or utcnow()
    with case_write(db, actor, ref, now=now, lock=False) as opened:  # a write beside the case: the log entry
        session, case = opened.session, opened.case
        ground = read_ground(session, actor, case)
        if ground is None:  # the retention job passes the skeleton's check; it reads no links
            raise AccessDenied(ref, emergency_possible=False)
        shown = tuple(_visible(session, actor, case))
        if shown:
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=("case_links",)))
        return shown


def _visible(session: Session, actor: Actor, case: Case) -> Iterator[LinkedCase]:
    links = session.scalars(select(CaseLink).where(
        or_(CaseLink.case_id == case.id, CaseLink.earlier_case_id == case.id)))
    for link in links:
        relative = link.kind == RELATIVE_LINK
        other_id, relation = ((link.earlier_case_id, SUBJECT_CASE if relative else EARLIER) if link.case_id == case.id
                              else (link.case_id, RELATIVE_MATTER if relative else LATER))
        other = session.get(Case, other_id)
        if other is not None and read_ground(session, actor, other) is not None:
            yield LinkedCase(ref=other.ref, relation=relation, state=other.state,
                             flowchart_version=other.flowchart_version, received_at=other.received_at)
